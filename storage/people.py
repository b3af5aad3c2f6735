"""People, admins and NFP assignments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row, Tx
from storage.timeutil import from_db, from_db_required, to_db


@dataclass(frozen=True)
class Person:
    tg_id: int
    first_name: str
    last_name: str | None
    username: str | None
    language: str | None
    blocked_at: datetime | None

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p) or str(self.tg_id)
        return f"{name} (@{self.username})" if self.username else name


@dataclass(frozen=True)
class Assignment:
    id: int
    tg_id: int
    iso3: str
    kind: str  # "main" | "alternate"
    created_at: datetime
    person: Person


_PERSON_COLS = "p.tg_id, p.first_name, p.last_name, p.username, p.language, p.blocked_at"


def _person(r: Row) -> Person:
    return Person(
        tg_id=r["tg_id"],
        first_name=r["first_name"],
        last_name=r["last_name"],
        username=r["username"],
        language=r["language"],
        blocked_at=from_db(r["blocked_at"]),
    )


def _assignment(r: Row) -> Assignment:
    return Assignment(
        id=r["id"],
        tg_id=r["tg_id"],
        iso3=r["iso3"],
        kind=r["kind"],
        created_at=from_db_required(r["created_at"]),
        person=_person(r),
    )


async def upsert(
    tx: Tx,
    now: datetime,
    tg_id: int,
    first_name: str,
    last_name: str | None = None,
    username: str | None = None,
) -> None:
    """Create the person or refresh their Telegram name; a message from them means not blocked."""
    await tx.execute(
        "INSERT INTO people (tg_id, first_name, last_name, username, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(tg_id) DO UPDATE SET"
        " first_name = excluded.first_name, last_name = excluded.last_name,"
        " username = excluded.username, updated_at = excluded.updated_at, blocked_at = NULL",
        (tg_id, first_name, last_name, username, to_db(now), to_db(now)),
    )


async def get(db: Database | Tx, tg_id: int) -> Person | None:
    row = await db.fetchone(f"SELECT {_PERSON_COLS} FROM people p WHERE p.tg_id = ?", (tg_id,))
    return None if row is None else _person(row)


async def set_language(tx: Tx, now: datetime, tg_id: int, language: str) -> None:
    await tx.execute(
        "UPDATE people SET language = ?, updated_at = ? WHERE tg_id = ?",
        (language, to_db(now), tg_id),
    )


async def mark_blocked(tx: Tx, now: datetime, tg_id: int) -> None:
    await tx.execute(
        "UPDATE people SET blocked_at = ?, updated_at = ? WHERE tg_id = ?",
        (to_db(now), to_db(now), tg_id),
    )


async def mark_unblocked(tx: Tx, now: datetime, tg_id: int) -> None:
    await tx.execute(
        "UPDATE people SET blocked_at = NULL, updated_at = ? WHERE tg_id = ?", (to_db(now), tg_id)
    )


# --- admins -----------------------------------------------------------------------------


async def add_admin(tx: Tx, now: datetime, tg_id: int, source: str, added_by: int | None) -> bool:
    """Return True when the id was not an admin before."""
    n = await tx.execute_rowcount(
        "INSERT INTO admins (tg_id, source, added_by, added_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(tg_id) DO NOTHING",
        (tg_id, source, added_by, to_db(now)),
    )
    return n > 0


async def admin_source(db: Database | Tx, tg_id: int) -> str | None:
    """How the person became an admin ("config", "cli", "bot"); None if they are not one."""
    source: str | None = await db.fetchval("SELECT source FROM admins WHERE tg_id = ?", (tg_id,))
    return source


async def remove_admin(tx: Tx, tg_id: int) -> bool:
    return await tx.execute_rowcount("DELETE FROM admins WHERE tg_id = ?", (tg_id,)) > 0


async def admins_with_source(db: Database | Tx) -> list[tuple[int, str]]:
    rows = await db.fetchall("SELECT tg_id, source FROM admins ORDER BY tg_id")
    return [(r[0], r[1]) for r in rows]


async def sync_config_admins(tx: Tx, now: datetime, ids: set[int]) -> None:
    """Config is the source of truth for admins it names: add new ones, drop removed ones."""
    for tg_id in ids:
        await add_admin(tx, now, tg_id, "config", None)
    rows = await tx.fetchall("SELECT tg_id FROM admins WHERE source = 'config'")
    for r in rows:
        if r[0] not in ids:
            await remove_admin(tx, r[0])


# --- NFP assignments --------------------------------------------------------------------

_ASSIGNMENT_SELECT = (
    f"SELECT a.id, a.iso3, a.kind, a.created_at, {_PERSON_COLS}"
    " FROM assignments a JOIN people p ON p.tg_id = a.tg_id WHERE a.revoked_at IS NULL"
)


async def assign(
    tx: Tx, now: datetime, tg_id: int, iso3: str, kind: str, invite_code: str | None
) -> int:
    """Make the person an active NFP of the country (re-assigning updates the kind).

    A new *main* NFP demotes the previous main one to alternate: a country has one main NFP.
    """
    if kind == "main":
        await tx.execute(
            "UPDATE assignments SET kind = 'alternate' WHERE iso3 = ? AND kind = 'main'"
            " AND revoked_at IS NULL AND tg_id != ?",
            (iso3, tg_id),
        )
    existing = await tx.fetchval(
        "SELECT id FROM assignments WHERE tg_id = ? AND iso3 = ? AND revoked_at IS NULL",
        (tg_id, iso3),
    )
    if existing is not None:
        await tx.execute("UPDATE assignments SET kind = ? WHERE id = ?", (kind, existing))
        return int(existing)
    return await tx.execute(
        "INSERT INTO assignments (tg_id, iso3, kind, invite_code, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (tg_id, iso3, kind, invite_code, to_db(now)),
    )


async def revoke_assignment(
    tx: Tx, now: datetime, assignment_id: int, by: int
) -> Assignment | None:
    row = await tx.fetchone(f"{_ASSIGNMENT_SELECT} AND a.id = ?", (assignment_id,))
    if row is None:
        return None
    await tx.execute(
        "UPDATE assignments SET revoked_at = ?, revoked_by = ? WHERE id = ?",
        (to_db(now), by, assignment_id),
    )
    return _assignment(row)


async def assignment(db: Database | Tx, assignment_id: int) -> Assignment | None:
    """One active assignment by id; None if there is none (or it was revoked)."""
    row = await db.fetchone(f"{_ASSIGNMENT_SELECT} AND a.id = ?", (assignment_id,))
    return None if row is None else _assignment(row)


async def assignments_of(db: Database | Tx, tg_id: int) -> list[Assignment]:
    rows = await db.fetchall(
        f"{_ASSIGNMENT_SELECT} AND a.tg_id = ? ORDER BY a.kind DESC, a.iso3", (tg_id,)
    )
    return [_assignment(r) for r in rows]


async def nfps_of(db: Database | Tx, iso3: str) -> list[Assignment]:
    """Active NFPs of a country, the main one first."""
    rows = await db.fetchall(
        f"{_ASSIGNMENT_SELECT} AND a.iso3 = ? ORDER BY a.kind DESC, a.created_at", (iso3,)
    )
    return [_assignment(r) for r in rows]


async def all_nfps(db: Database) -> list[Assignment]:
    rows = await db.fetchall(f"{_ASSIGNMENT_SELECT} ORDER BY a.iso3, a.kind DESC, a.created_at")
    return [_assignment(r) for r in rows]
