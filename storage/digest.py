"""Reads for the regional digest and the exports, and the writes of the demo data.

The digest is built as of an instant (its posting time): only versions and revisions
recorded by then count, so a digest rebuilt later from the same database reads the same.
Every read goes through the read connection (no transaction): the digest never waits for a
writer and never sees a half-done report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Tx
from storage.followups import Revision, revision_from_row
from storage.timeutil import from_db_required, to_db


@dataclass(frozen=True)
class ConfirmedReport:
    """A country's report for a week as it stood at an instant.

    ``answers`` are the latest version confirmed by then; ``first_confirmed_at`` the first
    confirmation (what on time is judged by); ``versions`` how many were confirmed by then.
    """

    iso3: str
    week: str
    answers: dict[str, Any]
    first_confirmed_at: datetime
    confirmed_at: datetime
    confirmed_by: int
    versions: int


def _marks(values: Sequence[str]) -> str:
    return ",".join("?" * len(values))


async def confirmed_reports(
    db: Database | Tx, iso3s: Sequence[str], first_week: str, last_week: str, as_of: datetime
) -> list[ConfirmedReport]:
    """Each confirmed report of these countries and weeks (``YYYY-Www`` sorts as text), as it
    stood at ``as_of``; one query for the whole window."""
    if not iso3s:
        return []
    rows = await db.fetchall(
        "SELECT r.iso3, r.week, v.answers, v.confirmed_at, v.confirmed_by, s.first_at, s.n"
        " FROM reports r"
        " JOIN (SELECT report_id, MAX(version) AS latest, MIN(confirmed_at) AS first_at,"
        "       COUNT(*) AS n FROM report_versions WHERE confirmed_at <= ? GROUP BY report_id) s"
        "   ON s.report_id = r.id"
        " JOIN report_versions v ON v.report_id = r.id AND v.version = s.latest"
        f" WHERE r.iso3 IN ({_marks(iso3s)}) AND r.week >= ? AND r.week <= ?"
        " ORDER BY r.iso3, r.week",
        (to_db(as_of), *iso3s, first_week, last_week),
    )
    return [
        ConfirmedReport(
            iso3=r["iso3"],
            week=r["week"],
            answers=json.loads(r["answers"]),
            first_confirmed_at=from_db_required(r["first_at"]),
            confirmed_at=from_db_required(r["confirmed_at"]),
            confirmed_by=r["confirmed_by"],
            versions=r["n"],
        )
        for r in rows
    ]


async def revisions_of_weeks(
    db: Database | Tx, iso3s: Sequence[str], first_week: str, last_week: str, as_of: datetime
) -> list[Revision]:
    """Revisions (``/revise``) of these countries' weeks recorded by ``as_of``, oldest first:
    the last one of a figure is its value."""
    if not iso3s:
        return []
    rows = await db.fetchall(
        f"SELECT * FROM revisions WHERE iso3 IN ({_marks(iso3s)}) AND week >= ? AND week <= ?"
        " AND at <= ? ORDER BY id",
        (*iso3s, first_week, last_week, to_db(as_of)),
    )
    return [revision_from_row(r) for r in rows]


async def revisions_recorded(
    db: Database | Tx, iso3s: Sequence[str], after: datetime, until: datetime
) -> list[Revision]:
    """Revisions of any week of these countries recorded after ``after``, up to ``until``
    included (a digest built as of ``until`` already counts one recorded at that instant)."""
    if not iso3s:
        return []
    rows = await db.fetchall(
        f"SELECT * FROM revisions WHERE iso3 IN ({_marks(iso3s)}) AND at > ? AND at <= ?"
        " ORDER BY id",
        (*iso3s, to_db(after), to_db(until)),
    )
    return [revision_from_row(r) for r in rows]


@dataclass(frozen=True)
class Amendment:
    """A confirmed version after the first: ``answers`` replaced ``previous``."""

    iso3: str
    week: str
    version: int
    answers: dict[str, Any]
    previous: dict[str, Any]
    at: datetime
    by: int


async def amendments_recorded(
    db: Database | Tx, iso3s: Sequence[str], before_week: str, after: datetime, until: datetime
) -> list[Amendment]:
    """Amendments of these countries' weeks before ``before_week``, confirmed after ``after``
    and up to ``until``, with the version each replaced."""
    if not iso3s:
        return []
    rows = await db.fetchall(
        "SELECT r.iso3, r.week, v.version, v.answers, p.answers AS previous, v.confirmed_at,"
        " v.confirmed_by FROM report_versions v JOIN reports r ON r.id = v.report_id"
        " JOIN report_versions p ON p.report_id = v.report_id AND p.version = v.version - 1"
        f" WHERE r.iso3 IN ({_marks(iso3s)}) AND r.week < ? AND v.version > 1"
        " AND v.confirmed_at > ? AND v.confirmed_at <= ? ORDER BY v.confirmed_at",
        (*iso3s, before_week, to_db(after), to_db(until)),
    )
    return [
        Amendment(
            iso3=r["iso3"],
            week=r["week"],
            version=r["version"],
            answers=json.loads(r["answers"]),
            previous=json.loads(r["previous"]),
            at=from_db_required(r["confirmed_at"]),
            by=r["confirmed_by"],
        )
        for r in rows
    ]


async def last_posted_before(db: Database | Tx, region_key: str, week: str) -> datetime | None:
    """When the region's latest digest of an earlier week was posted (None: never)."""
    value = await db.fetchval(
        "SELECT MAX(posted_at) FROM digests WHERE region_key = ? AND week < ?", (region_key, week)
    )
    return None if value is None else from_db_required(value)


async def person_names(db: Database | Tx, ids: Sequence[int]) -> dict[int, str]:
    """Display names of these people (first and last name, @username), by Telegram id."""
    if not ids:
        return {}
    unique = sorted(set(ids))
    rows = await db.fetchall(
        "SELECT tg_id, first_name, last_name, username FROM people"
        f" WHERE tg_id IN ({','.join('?' * len(unique))})",
        unique,
    )
    names = {}
    for r in rows:
        name = " ".join(p for p in (r["first_name"], r["last_name"]) if p) or str(r["tg_id"])
        names[int(r["tg_id"])] = f"{name} (@{r['username']})" if r["username"] else name
    return names


# --- demo data (writes) ------------------------------------------------------------------


async def has_confirmed(tx: Tx, iso3: str, week: str) -> bool:
    return (
        await tx.fetchval(
            "SELECT 1 FROM reports WHERE iso3 = ? AND week = ? AND version > 0", (iso3, week)
        )
        is not None
    )


async def has_revision(tx: Tx, iso3: str, week: str, key: str, reason: str) -> bool:
    return (
        await tx.fetchval(
            "SELECT 1 FROM revisions WHERE iso3 = ? AND week = ? AND key = ? AND reason = ?",
            (iso3, week, key, reason),
        )
        is not None
    )
