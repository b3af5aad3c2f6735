"""Broadcasts: one message to many chats, as a row of its own with its fan-out outbox rows.

A broadcast is ``running`` (its rows go out as the sender reaches them), ``paused`` (its
pending rows are neither due nor claimed: ``storage.outbox``), ``cancelled`` (its pending
rows were finished unsent, ``failed`` with a ``cancelled:`` reason, and never go) or
``done`` (the last of its rows finished; set by ``storage.outbox`` as it records it).
Progress is counted from the rows themselves, so it is never out of step with them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage import outbox
from storage.db import Database, Tx
from storage.timeutil import from_db_required, to_db

STATES = ("running", "paused", "cancelled", "done")
# What progress counts, in this order: the outbox statuses, with ``failed`` rows split by
# why (superseded before their turn, cancelled with their broadcast, or really failed).
COUNTED = ("pending", "sending", "sent", "failed", "blocked", "superseded", "cancelled")


@dataclass(frozen=True)
class FanOut:
    """One chat's row of a broadcast: its payload is built (and checked) by the domain."""

    chat_id: int
    payload: dict[str, Any]
    dedup_key: str | None = None  # default: ``broadcast:<id>:<chat_id>``
    not_before: datetime | None = None


@dataclass(frozen=True)
class Broadcast:
    id: int
    kind: str
    label: str
    dedup_key: str | None
    created_at: datetime
    created_by: int | None
    state: str


@dataclass(frozen=True)
class Progress:
    broadcast: Broadcast
    counts: dict[str, int] = field(default_factory=dict)  # every name in COUNTED

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def remaining(self) -> int:
        """Rows that may still go (pending or in flight)."""
        return self.counts["pending"] + self.counts["sending"]


async def create(
    tx: Tx,
    now: datetime,
    *,
    kind: str,
    rows: Sequence[FanOut],
    label: str = "",
    created_by: int | None = None,
    dedup_key: str | None = None,
) -> int | None:
    """Write the broadcast and its fan-out rows in the caller's transaction; its id.

    None if ``dedup_key`` started a broadcast before (then nothing is written). The rows'
    outbox ``kind`` is the broadcast's. All of it is SQL, so the caller's write transaction
    holds the database lock only for the inserts.
    """
    if dedup_key is not None and await exists(tx, dedup_key):
        return None  # (the write transaction is serialised: nobody inserts it meanwhile)
    bid = await tx.execute(
        "INSERT INTO broadcasts (kind, label, dedup_key, created_at, created_by, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (kind, label, dedup_key, to_db(now), created_by, to_db(now)),
    )
    await tx.executemany(
        "INSERT INTO outbox (dedup_key, chat_id, kind, payload, created_at, not_before,"
        " broadcast_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedup_key) DO NOTHING",
        [
            (
                r.dedup_key or f"broadcast:{bid}:{r.chat_id}",
                r.chat_id,
                kind,
                json.dumps(r.payload, ensure_ascii=False),
                to_db(now),
                to_db(r.not_before or now),
                bid,
            )
            for r in rows
        ],
    )
    if not rows:  # nothing to send: done at once, as if its last row had finished
        await tx.execute("UPDATE broadcasts SET state = 'done' WHERE id = ?", (bid,))
    return bid


async def exists(db: Database | Tx, dedup_key: str) -> bool:
    """Whether a broadcast was started for ``dedup_key``."""
    return bool(
        await db.fetchval("SELECT count(*) FROM broadcasts WHERE dedup_key = ?", (dedup_key,))
    )


async def get(db: Database | Tx, broadcast_id: int) -> Broadcast | None:
    r = await db.fetchone(
        "SELECT id, kind, label, dedup_key, created_at, created_by, state FROM broadcasts"
        " WHERE id = ?",
        (broadcast_id,),
    )
    if r is None:
        return None
    return Broadcast(
        id=r["id"],
        kind=r["kind"],
        label=r["label"],
        dedup_key=r["dedup_key"],
        created_at=from_db_required(r["created_at"]),
        created_by=r["created_by"],
        state=r["state"],
    )


async def progress(db: Database | Tx, broadcast_id: int) -> Progress | None:
    """The broadcast and how many of its rows are in each state of :data:`COUNTED`."""
    b = await get(db, broadcast_id)
    if b is None:
        return None
    rows = await db.fetchall(
        "SELECT CASE WHEN status = 'failed' AND last_error LIKE 'superseded:%' THEN 'superseded'"
        " WHEN status = 'failed' AND last_error LIKE 'cancelled:%' THEN 'cancelled'"
        " ELSE status END AS s, count(*) AS n FROM outbox WHERE broadcast_id = ? GROUP BY s",
        (broadcast_id,),
    )
    counts = dict.fromkeys(COUNTED, 0)
    for r in rows:
        counts[r["s"]] = r["n"]
    return Progress(b, counts)


async def _set_state(tx: Tx, now: datetime, broadcast_id: int, new: str, old: str) -> bool:
    n = await tx.execute_rowcount(
        "UPDATE broadcasts SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
        (new, to_db(now), broadcast_id, old),
    )
    return n > 0


async def pause(tx: Tx, now: datetime, broadcast_id: int) -> bool:
    """Hold the rows not yet sent; False unless it was running. A row in flight finishes."""
    return await _set_state(tx, now, broadcast_id, "paused", "running")


async def resume(tx: Tx, now: datetime, broadcast_id: int) -> bool:
    """Let a paused broadcast go on; False unless it was paused."""
    if not await _set_state(tx, now, broadcast_id, "running", "paused"):
        return False
    await tx.execute(  # every row finished while it was paused (e.g. all in flight)
        "UPDATE broadcasts SET state = 'done' WHERE id = ? AND NOT EXISTS (SELECT 1 FROM"
        " outbox WHERE broadcast_id = ? AND status IN ('pending', 'sending'))",
        (broadcast_id, broadcast_id),
    )
    return True


async def cancel(tx: Tx, now: datetime, broadcast_id: int) -> int | None:
    """Finish its pending rows unsent, for good; how many. None unless running or paused.

    A row in flight at that moment (``sending``) is not touched: its request is out, and
    its outcome is recorded as it comes. One left ``sending`` by a crash is finished when
    the sender tries to claim it again (``storage.outbox.mark_sending``).
    """
    n = await tx.execute_rowcount(
        "UPDATE broadcasts SET state = 'cancelled', updated_at = ?"
        " WHERE id = ? AND state IN ('running', 'paused')",
        (to_db(now), broadcast_id),
    )
    if not n:
        return None
    return await tx.execute_rowcount(
        "UPDATE outbox SET status = 'failed', last_error = ?"
        " WHERE broadcast_id = ? AND status = 'pending'",
        (outbox.CANCELLED_ERROR, broadcast_id),
    )
