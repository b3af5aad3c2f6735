"""Single-use, expiring invitation codes for NFPs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row, Tx
from storage.timeutil import from_db, from_db_required, to_db


@dataclass(frozen=True)
class Invite:
    code: str
    iso3: str
    kind: str
    created_by: int
    created_at: datetime
    expires_at: datetime
    used_by: int | None
    used_at: datetime | None
    revoked_at: datetime | None


def _invite(r: Row) -> Invite:
    return Invite(
        code=r["code"],
        iso3=r["iso3"],
        kind=r["kind"],
        created_by=r["created_by"],
        created_at=from_db_required(r["created_at"]),
        expires_at=from_db_required(r["expires_at"]),
        used_by=r["used_by"],
        used_at=from_db(r["used_at"]),
        revoked_at=from_db(r["revoked_at"]),
    )


async def create(
    tx: Tx, code: str, iso3: str, kind: str, created_by: int, now: datetime, expires_at: datetime
) -> None:
    await tx.execute(
        "INSERT INTO invites (code, iso3, kind, created_by, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (code, iso3, kind, created_by, to_db(now), to_db(expires_at)),
    )


async def get(db: Database | Tx, code: str) -> Invite | None:
    row = await db.fetchone("SELECT * FROM invites WHERE code = ?", (code,))
    return None if row is None else _invite(row)


async def mark_used(tx: Tx, code: str, tg_id: int, now: datetime) -> bool:
    """Claim the code; False if someone else claimed it first (the check and the claim are one)."""
    n = await tx.execute_rowcount(
        "UPDATE invites SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL"
        " AND revoked_at IS NULL",
        (tg_id, to_db(now), code),
    )
    return n == 1


async def revoke(tx: Tx, code: str, now: datetime) -> bool:
    n = await tx.execute_rowcount(
        "UPDATE invites SET revoked_at = ? WHERE code = ?"
        " AND used_by IS NULL AND revoked_at IS NULL",
        (to_db(now), code),
    )
    return n == 1


async def pending(db: Database, now: datetime) -> list[Invite]:
    rows = await db.fetchall(
        "SELECT * FROM invites WHERE used_by IS NULL AND revoked_at IS NULL AND expires_at > ?"
        " ORDER BY iso3, created_at",
        (to_db(now),),
    )
    return [_invite(r) for r in rows]
