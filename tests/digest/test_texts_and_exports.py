"""A long digest split within Telegram's limits as valid HTML; exports read back."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.config import Config
from bot.core.i18n import translator
from bot.core.textlimits import MESSAGE_LIMIT, tg_len
from bot.core.week import Week
from bot.digest import content, exports, texts
from sandbox.html import parse_html
from storage import reports as reports_store
from tests.digest.support import read_truth, seeded

WEEK = "2020-W30"


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_long_digest_splits_within_the_limit_into_valid_html(
    config: Config, tmp_path: Path, lang: str
) -> None:
    """Every country writes the longest developments and training texts, full of characters
    HTML must escape: the digest is several messages, each valid and within 4,096."""
    svc = await seeded(config, tmp_path, keep=lambda r: r["iso_week"] != WEEK)
    region = config.region("central-asia")
    try:
        for country in region.countries:
            at = datetime.combine(Week.parse(WEEK).next().monday(), time(12), tzinfo=country.tz)
            said = (f"<{country.iso3}> & «Ж» " * 200)[:1000]
            async with svc.db.transaction() as tx:
                report = await reports_store.get_or_create(tx, at, country.iso3, WEEK, 1)
                await reports_store.add_version(
                    tx,
                    at,
                    report,
                    {
                        "new_cases": 1234567,
                        "new_deaths": 89,
                        "training": said[:500],
                        "developments": said,
                        "needs": {"selected": ["ppe", "other"], "other": said[:300]},
                    },
                    -1,
                    late=False,
                    after_digest=False,
                    warnings=[],
                )
        digest = await content.build(svc.db, region, Week.parse(WEEK))
    finally:
        await svc.db.close()
    tr = translator(lang)
    whole = texts.text(digest, tr)
    pieces = texts.messages(digest, tr)
    assert len(pieces) >= 3
    seen = []
    for piece in pieces:
        visible, _ = parse_html(piece)  # raises on a broken tag or entity, as Telegram would
        assert 0 < tg_len(visible) <= MESSAGE_LIMIT
        seen += piece.split("\n")
    for line in whole.split("\n"):  # no line (a table row, a quote) was cut
        if line:
            assert line in seen
    for country in region.countries:
        assert f"&lt;{country.iso3}&gt; &amp; «Ж»" in whole


async def test_exports_have_one_row_per_country_and_week_and_read_back(
    config: Config, tmp_path: Path
) -> None:
    svc = await seeded(config, tmp_path)
    truth = read_truth()
    first, last = Week.parse("2020-W10"), Week.parse("2020-W34")
    try:
        made = {
            fmt: await exports.export(svc.db, config, first, last, fmt) for fmt in exports.FORMATS
        }
    finally:
        await svc.db.close()
    weeks = 25
    expected_rows = 8 * weeks

    data, name = made["csv"]
    assert name == "reports_2020-W10_2020-W34.csv"
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == expected_rows
    by_key = {(r["iso3"], r["week"]): r for r in rows}
    for (iso3, week), (cases, deaths) in truth.items():
        if not ("2020-W10" <= week <= "2020-W34"):
            continue
        row = by_key[(iso3, week)]
        assert int(row["new_cases"]) == cases
        if (iso3, week) == ("KGZ", "2020-W29"):
            assert (row["new_deaths"], row["revisions"]) == ("451", "1")
        elif (iso3, week) == ("KGZ", "2020-W34"):
            assert row["new_deaths"] == "0"
        else:
            assert (int(row["new_deaths"]), row["revisions"]) == (deaths, "0")
        assert row["tests"] == "" and row["late"] == "false" and row["versions"] == "1"
        assert row["submitted_by"] == f"Demo NFP {iso3}"

    data, name = made["xlsx"]
    assert name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["region", "iso3", "country", "week", "new_cases", "new_deaths"]
    assert sheet.freeze_panes == "E2"
    assert sheet.max_row == expected_rows + 1
    cases_col, late_col = header.index("new_cases") + 1, header.index("late") + 1
    for r in range(2, sheet.max_row + 1):
        key = (str(sheet.cell(r, 2).value), str(sheet.cell(r, 4).value))
        cell = sheet.cell(r, cases_col)
        assert cell.data_type == "n" and cell.value == truth[key][0]
        assert sheet.cell(r, late_col).value is False

    data, name = made["dhis2"]
    assert name.endswith("_dhis2.json")
    values = json.loads(data)["dataValues"]
    assert len(values) == expected_rows * 2  # cases and deaths; tests and hospital missing
    found = {(v["orgUnit"], v["period"], v["dataElement"]): v["value"] for v in values}
    kgz, deaths_id = config.dhis2.org_units["KGZ"], config.dhis2.data_elements["new_deaths"]
    assert found[(kgz, "2020W29", deaths_id)] == "451"
    assert found[
        (config.dhis2.org_units["PAK"], "2020W10", config.dhis2.data_elements["new_cases"])
    ] == str(truth[("PAK", "2020-W10")][0])
    assert {v["period"] for v in values} >= {"2020W10", "2020W34"}


def test_the_shipped_dhis2_ids_are_marked_as_placeholders(config: Config) -> None:
    ids = [*config.dhis2.data_elements.values(), *config.dhis2.org_units.values()]
    assert ids and all(i.startswith("PLACEHOLD") for i in ids)
    assert set(config.dhis2.org_units) == {c.iso3 for _, c in config.all_countries}


def test_a_bad_dhis2_mapping_is_one_line_naming_the_key() -> None:
    import tomllib

    from bot.config import ConfigError, parse_config
    from tests.digest.support import ROOT

    data = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    data["dhis2"]["org_units"]["XYZ"] = "PLACEHOLD99"
    with pytest.raises(ConfigError, match=r"dhis2\.org_units\.XYZ: is not a configured country"):
        parse_config(data, env={})
    del data["dhis2"]["org_units"]["XYZ"]
    data["dhis2"]["data_elements"]["new_cases"] = "short"
    with pytest.raises(ConfigError, match=r"dhis2\.data_elements\.new_cases: expected a DHIS2"):
        parse_config(data, env={})
