"""``nfpbot demo-data``, ``nfpbot digest`` and ``nfpbot export`` as real subprocesses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from openpyxl import load_workbook

from sandbox.html import parse_html
from tests.test_cli import env_for, nfpbot


def _counts(db: Path) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [
            int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("reports", "report_versions", "revisions", "people")
        ]
    finally:
        conn.close()


def test_demo_data_is_idempotent_and_the_digest_and_exports_are_written(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    db = Path(env["NFPBOT_DB"])
    first = nfpbot("demo-data", "--region", "central-asia", env=env)
    assert first.returncode == 0, first.stderr
    assert "568 reports and 1 revisions loaded" in first.stdout
    loaded = _counts(db)
    assert loaded == [568, 568, 1, 8]
    again = nfpbot("demo-data", env=env)
    assert again.returncode == 0, again.stderr
    assert "0 reports and 0 revisions loaded" in again.stdout
    assert _counts(db) == loaded  # a second run changes nothing

    out = tmp_path / "out"
    made = nfpbot(
        "digest", "--region", "central-asia", "--week", "2020-W30", "--out", str(out), env=env
    )
    assert made.returncode == 0, made.stderr
    for lang, name in (("en", "Kyrgyzstan"), ("ru", "Кыргызстан")):
        pages = sorted(out.glob(f"digest_central-asia_2020-W30_{lang}_*.html"))
        assert pages, made.stdout
        text = "".join(p.read_text(encoding="utf-8") for p in pages)
        for page in pages:
            parse_html(page.read_text(encoding="utf-8"))
        assert f"<b>{name}</b>: " in text
        assert ("5,670" if lang == "en" else "5\u00a0670") in text  # KGZ's 2020-W30 cases

    xlsx = tmp_path / "reports.xlsx"
    result = nfpbot(
        "export",
        "--from",
        "2020-W10",
        "--to",
        "2020-W30",
        "--format",
        "xlsx",
        "--out",
        str(xlsx),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    sheet = load_workbook(xlsx).active
    assert sheet is not None and sheet.max_row == 1 + 8 * 21


def test_bad_weeks_and_regions_are_one_line_and_exit_2(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    for args in (
        ("digest", "--week", "2020-W54", "--out", str(tmp_path)),
        ("digest", "--week", "2020-W30", "--region", "atlantis", "--out", str(tmp_path)),
        ("export", "--from", "2020-W30", "--to", "2020-W10", "--out", str(tmp_path / "x")),
    ):
        result = nfpbot(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
