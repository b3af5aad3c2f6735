"""The audit log: who did what, kept forever (refusals included)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Conn, Database, Tx
from storage.timeutil import from_db_required, to_db


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: int | None
    action: str
    target: str | None
    detail: dict[str, Any]


async def record(
    tx: Tx,
    now: datetime,
    actor: int | None,
    action: str,
    target: str | None = None,
    **detail: Any,
) -> None:
    await tx.call(record_on, now, actor, action, target, detail)


def record_on(
    c: Conn,
    now: datetime,
    actor: int | None,
    action: str,
    target: str | None,
    detail: dict[str, Any],
) -> None:
    """:func:`record` on the database thread, inside a storage step's one call."""
    c.execute(
        "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (
            to_db(now),
            actor,
            action,
            target,
            json.dumps(detail, ensure_ascii=False) if detail else None,
        ),
    ).close()


async def entries(db: Database, *, action: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """Newest first."""
    rows = await db.fetchall(
        "SELECT at, actor, action, target, detail FROM audit"
        " WHERE (:action IS NULL OR action = :action) ORDER BY id DESC LIMIT :limit",
        {"action": action, "limit": limit},
    )
    return [
        AuditEntry(
            at=from_db_required(r["at"]),
            actor=r["actor"],
            action=r["action"],
            target=r["target"],
            detail=json.loads(r["detail"]) if r["detail"] else {},
        )
        for r in rows
    ]
