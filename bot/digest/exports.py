"""Every confirmed report as a file: CSV, Excel or a DHIS2 ``dataValueSets`` import.

One row per country and week, one column per question, then who submitted it, when, whether
late, and how many times it was amended or revised. Figures are as they stand now: a
``/revise`` correction replaces the confirmed figure (the ``revisions`` column counts them),
so a national system importing the file gets the corrected series. Each function returns
the file's bytes and a file name, for the CLI to write and for a handler to send as a
document.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bot.config import Config, Country, Question, Region
from bot.core.services import Services
from bot.core.week import Week
from bot.reporting import cycle
from storage import digest as store
from storage.db import Database

Format = Literal["csv", "xlsx", "dhis2"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "dhis2")
#: "As of" for an export: everything recorded (no clock needed to read what is there).
EVERYTHING = datetime(9999, 12, 31, tzinfo=UTC)
FIXED_AFTER = ("submitted_by", "submitted_at", "last_confirmed_at", "late", "versions", "revisions")


@dataclass(frozen=True)
class ExportRow:
    region: Region
    country: Country
    week: Week
    answers: dict[str, Any]
    submitted_by: str
    submitted_at: datetime
    last_confirmed_at: datetime
    late: bool
    versions: int
    revisions: int


async def rows(
    db: Database,
    config: Config,
    first: Week,
    last: Week,
    region_keys: Sequence[str] | None = None,
) -> list[ExportRow]:
    """The confirmed reports of ``first``..``last`` (all regions, or these), as they stand."""
    regions = [r for r in config.regions if region_keys is None or r.key in region_keys]
    out: list[ExportRow] = []
    for region in regions:
        iso3s = [c.iso3 for c in region.countries]
        reports = await store.confirmed_reports(db, iso3s, str(first), str(last), EVERYTHING)
        revisions = await store.revisions_of_weeks(db, iso3s, str(first), str(last), EVERYTHING)
        names = await store.person_names(db, [r.confirmed_by for r in reports])
        order = {iso3: i for i, iso3 in enumerate(iso3s)}
        for report in sorted(reports, key=lambda r: (r.week, order[r.iso3])):
            country = region.country(report.iso3)
            answers = dict(report.answers)
            mine = [r for r in revisions if (r.iso3, r.week) == (report.iso3, report.week)]
            for revision in mine:  # oldest first: the last one stands
                answers[revision.key] = revision.new_value
            deadline = cycle.cycle_for(region, country, report.week).deadline
            out.append(
                ExportRow(
                    region=region,
                    country=country,
                    week=Week.parse(report.week),
                    answers=answers,
                    submitted_by=names.get(report.confirmed_by, str(report.confirmed_by)),
                    submitted_at=report.first_confirmed_at,
                    last_confirmed_at=report.confirmed_at,
                    late=report.first_confirmed_at > deadline,
                    versions=report.versions,
                    revisions=len(mine),
                )
            )
    return out


def _questions(export: list[ExportRow], config: Config) -> list[Question]:
    """Every question of the exported regions, in order, each key once."""
    seen: dict[str, Question] = {}
    regions = {r.region.key: r.region for r in export} or {r.key: r for r in config.regions}
    for region in regions.values():
        for question in region.questionnaire.questions:
            seen.setdefault(question.key, question)
    return list(seen.values())


def _cell(question: Question, value: Any) -> str | int | None:
    """A typed cell: numbers stay numbers; a multiple choice is its option keys joined."""
    if value is None:
        return None
    if question.type == "number":
        return value if isinstance(value, int) else None
    if question.type == "multi" and isinstance(value, dict):
        selected = list(value.get("selected") or [])
        other = value.get("other")
        parts = [f"{k}: {other}" if k == "other" and other else k for k in selected]
        return "; ".join(parts)
    return str(value)


def table(export: list[ExportRow], config: Config) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows, typed (int, str, bool, None)."""
    questions = _questions(export, config)
    header = ["region", "iso3", "country", "week", *[q.key for q in questions], *FIXED_AFTER]
    body = []
    for row in export:
        body.append(
            [
                row.region.key,
                row.country.iso3,
                row.country.name("en"),
                str(row.week),
                *[_cell(q, row.answers.get(q.key)) for q in questions],
                row.submitted_by,
                row.submitted_at.isoformat(),
                row.last_confirmed_at.isoformat(),
                row.late,
                row.versions,
                row.revisions,
            ]
        )
    return header, body


def to_csv(export: list[ExportRow], config: Config) -> bytes:
    """UTF-8 with a byte order mark, so Excel opens Cyrillic names and texts correctly."""
    header, body = table(export, config)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for line in body:
        writer.writerow(
            ["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in line]
        )
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(export: list[ExportRow], config: Config) -> bytes:
    """An Excel workbook: a bold header row, frozen below it and after the week; numbers as
    numbers, booleans as booleans."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    header, body = table(export, config)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "reports"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in body:
        sheet.append(line)
    sheet.freeze_panes = "E2"  # header and region/iso3/country/week stay in view
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_dhis2(export: list[ExportRow], config: Config) -> bytes:
    """A DHIS2 ``dataValueSets`` JSON: one data value per mapped figure, country and week.

    Only number questions with a data element and countries with an org unit in
    ``[dhis2]`` are written; a missing figure is left out (DHIS2 reads absent as missing).
    """
    mapping = config.dhis2
    values = []
    for row in export:
        org_unit = mapping.org_units.get(row.country.iso3)
        if org_unit is None:
            continue
        for key, element in mapping.data_elements.items():
            value = row.answers.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                values.append(
                    {
                        "dataElement": element,
                        "period": row.week.dhis2,
                        "orgUnit": org_unit,
                        "value": str(value),
                    }
                )
    document: dict[str, Any] = {"dataValues": values}
    if mapping.data_set:
        document = {"dataSet": mapping.data_set, **document}
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


async def export(
    db: Database,
    config: Config,
    first: Week,
    last: Week,
    fmt: Format,
    region_keys: Sequence[str] | None = None,
) -> tuple[bytes, str]:
    """The export file's bytes and its name (``reports_2020-W10_2020-W30.csv``)."""
    return render(await rows(db, config, first, last, region_keys), config, first, last, fmt)


def render(
    found: list[ExportRow], config: Config, first: Week, last: Week, fmt: Format
) -> tuple[bytes, str]:
    """The rows as a file of ``fmt``, and its name."""
    write = {"csv": to_csv, "xlsx": to_xlsx, "dhis2": to_dhis2}[fmt]
    extension = "json" if fmt == "dhis2" else fmt
    suffix = "_dhis2" if fmt == "dhis2" else ""
    return write(found, config), f"reports_{first}_{last}{suffix}.{extension}"


# --- /export (an admin in Telegram) ---------------------------------------------------------

#: Weeks an ``/export`` without a first week covers, the current one included.
DEFAULT_WEEKS = 12


class ExportUsage(Exception):
    """The ``/export`` arguments could not be read (the handler shows the usage)."""


@dataclass(frozen=True)
class AdminExport:
    data: bytes
    filename: str
    first: Week
    last: Week
    reports: int


def parse_request(args: Sequence[str], current: Week) -> tuple[Week, Week, Format]:
    """``[from-week] [to-week] [csv|xlsx|dhis2]`` in any order of format; weeks as ``/status``
    reads them (``2020-W30``, ``W30``, ``30``, ``last``). Default: the last
    :data:`DEFAULT_WEEKS` weeks to ``current``, as CSV."""
    fmt: Format = "csv"
    weeks: list[Week] = []
    for arg in args:
        word = arg.strip().lower()
        if word in FORMATS:
            fmt = word
            continue
        week = cycle.parse_week(arg, str(current))
        if week is None or len(weeks) == 2:
            raise ExportUsage(arg)
        weeks.append(Week.parse(week))
    if not weeks:
        return current.shift(-(DEFAULT_WEEKS - 1)), current, fmt
    first, last = weeks[0], weeks[1] if len(weeks) == 2 else current
    if last < first:
        raise ExportUsage(str(last))
    return first, last, fmt


async def for_admin(svc: Services, admin_id: int, args: Sequence[str]) -> AdminExport:
    """The file an admin asked for, of the regions they administer (NotAllowed otherwise)."""
    from bot.people.roles import require_admin

    scope = await require_admin(svc, admin_id, "export")
    regions = [r for r in svc.config.regions if scope.covers(r.key)]
    now = svc.clock.now()
    current = max(Week.parse(cycle.region_week(r, now)) for r in regions)
    first, last, fmt = parse_request(args, current)
    keys = [r.key for r in regions]
    found = await rows(svc.db, svc.config, first, last, keys)
    data, name = render(found, svc.config, first, last, fmt)
    return AdminExport(data, name, first, last, len(found))
