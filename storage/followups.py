"""Delegations (holiday cover), clarification requests and revisions of earlier weeks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from storage.db import Conn, Database, Row, Tx, fetchall
from storage.timeutil import from_db, from_db_required, to_db

# --- delegations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Delegation:
    id: int
    iso3: str
    from_id: int
    to_id: int
    until: date


def _delegation(r: Row) -> Delegation:
    return Delegation(r["id"], r["iso3"], r["from_id"], r["to_id"], date.fromisoformat(r["until"]))


async def add_delegation(
    tx: Tx, now: datetime, iso3: str, from_id: int, to_id: int, until: date
) -> int:
    await end_delegations(tx, now, iso3, from_id)
    return await tx.execute(
        "INSERT INTO delegations (iso3, from_id, to_id, until, created_at) VALUES (?, ?, ?, ?, ?)",
        (iso3, from_id, to_id, until.isoformat(), to_db(now)),
    )


async def end_delegations(tx: Tx, now: datetime, iso3: str, from_id: int) -> int:
    return await tx.execute_rowcount(
        "UPDATE delegations SET ended_at = ? WHERE iso3 = ? AND from_id = ? AND ended_at IS NULL",
        (to_db(now), iso3, from_id),
    )


async def active_delegations(db: Database | Tx, iso3: str, today: date) -> list[Delegation]:
    rows = await db.fetchall(
        "SELECT * FROM delegations WHERE iso3 = ? AND ended_at IS NULL AND until >= ?",
        (iso3, today.isoformat()),
    )
    return [_delegation(r) for r in rows]


# --- clarifications ---------------------------------------------------------------------


@dataclass(frozen=True)
class Clarification:
    id: int
    report_id: int
    version: int
    asked_by: int
    comment: str
    asked_at: datetime
    answered_by: int | None
    answer: str | None
    answered_at: datetime | None

    @property
    def open(self) -> bool:
        return self.answered_at is None

    @property
    def undelivered(self) -> bool:
        """Closed without an answerer: no NFP ever received it (``answer`` says why)."""
        return self.answered_at is not None and self.answered_by is None


def _clarification(r: Row) -> Clarification:
    return Clarification(
        id=r["id"],
        report_id=r["report_id"],
        version=r["version"],
        asked_by=r["asked_by"],
        comment=r["comment"],
        asked_at=from_db_required(r["asked_at"]),
        answered_by=r["answered_by"],
        answer=r["answer"],
        answered_at=from_db(r["answered_at"]),
    )


async def ask(
    tx: Tx, now: datetime, report_id: int, version: int, asked_by: int, comment: str
) -> int:
    return await tx.execute(
        "INSERT INTO clarifications (report_id, version, asked_by, comment, asked_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (report_id, version, asked_by, comment, to_db(now)),
    )


async def clarification(db: Database | Tx, clarification_id: int) -> Clarification | None:
    row = await db.fetchone("SELECT * FROM clarifications WHERE id = ?", (clarification_id,))
    return None if row is None else _clarification(row)


async def clarifications_of(db: Database | Tx, report_id: int) -> list[Clarification]:
    rows = await db.fetchall(
        "SELECT * FROM clarifications WHERE report_id = ? ORDER BY id", (report_id,)
    )
    return [_clarification(r) for r in rows]


async def answer_clarification(
    tx: Tx, now: datetime, clarification_id: int, by: int, answer: str
) -> bool:
    n = await tx.execute_rowcount(
        "UPDATE clarifications SET answered_by = ?, answer = ?, answered_at = ?"
        " WHERE id = ? AND answered_at IS NULL",
        (by, answer, to_db(now), clarification_id),
    )
    return n == 1


async def mark_undelivered(tx: Tx, now: datetime, clarification_id: int, why: str) -> bool:
    """Close an open question nobody received, so it no longer stands as asked."""
    n = await tx.execute_rowcount(
        "UPDATE clarifications SET answered_by = NULL, answer = ?, answered_at = ?"
        " WHERE id = ? AND answered_at IS NULL",
        (why, to_db(now), clarification_id),
    )
    return n == 1


async def reopen_clarification(tx: Tx, clarification_id: int, answered_by: int) -> bool:
    """Undo an answer the asker never received, so the question is open to answer again."""
    n = await tx.execute_rowcount(
        "UPDATE clarifications SET answered_by = NULL, answer = NULL, answered_at = NULL"
        " WHERE id = ? AND answered_by = ?",
        (clarification_id, answered_by),
    )
    return n == 1


# --- revisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    id: int
    iso3: str
    week: str
    key: str
    old_value: Any
    new_value: Any
    reason: str
    by: int
    at: datetime


def revision_from_row(r: Row) -> Revision:
    """A ``revisions`` row (with the report's iso3 and week joined in) as a Revision."""
    return Revision(
        id=r["id"],
        iso3=r["iso3"],
        week=r["week"],
        key=r["key"],
        old_value=json.loads(r["old_value"]) if r["old_value"] is not None else None,
        new_value=json.loads(r["new_value"]),
        reason=r["reason"],
        by=r["by"],
        at=from_db_required(r["at"]),
    )


async def add_revision(
    tx: Tx,
    now: datetime,
    iso3: str,
    week: str,
    key: str,
    old_value: Any,
    new_value: Any,
    reason: str,
    by: int,
) -> int:
    return await tx.execute(
        "INSERT INTO revisions (iso3, week, key, old_value, new_value, reason, by, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            iso3,
            week,
            key,
            None if old_value is None else json.dumps(old_value),
            json.dumps(new_value),
            reason,
            by,
            to_db(now),
        ),
    )


async def revisions_of(db: Database | Tx, iso3: str, week: str) -> list[Revision]:
    return await db.call(revisions_on, iso3, week)


def revisions_on(c: Conn, iso3: str, week: str) -> list[Revision]:
    """:func:`revisions_of` on the database thread (a part of a step's one call)."""
    rows = fetchall(
        c, "SELECT * FROM revisions WHERE iso3 = ? AND week = ? ORDER BY id", (iso3, week)
    )
    return [revision_from_row(r) for r in rows]


async def revisions_made_between(
    db: Database | Tx, start: datetime, end: datetime
) -> list[Revision]:
    """Revisions recorded in a time window (what a digest reports as "revised since")."""
    rows = await db.fetchall(
        "SELECT * FROM revisions WHERE at >= ? AND at < ? ORDER BY iso3, week, id",
        (to_db(start), to_db(end)),
    )
    return [revision_from_row(r) for r in rows]
