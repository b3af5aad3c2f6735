"""Telegram updates between fetching and processing: the inbox that outlives a crash."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from storage.db import Database, Tx
from storage.timeutil import to_db


async def keep(
    tx: Tx, now: datetime, fetched: Sequence[tuple[int, str]], finished: Iterable[int] = ()
) -> None:
    """Keep fetched updates (id, JSON) until processed; forget the ``finished`` ones."""
    await tx.executemany(
        "INSERT INTO update_inbox (update_id, payload, at) VALUES (?, ?, ?)"
        " ON CONFLICT (update_id) DO NOTHING",
        [(update_id, payload, to_db(now)) for update_id, payload in fetched],
    )
    await forget(tx, finished)


async def forget(tx: Tx, update_ids: Iterable[int]) -> None:
    await tx.executemany("DELETE FROM update_inbox WHERE update_id = ?", [(u,) for u in update_ids])


async def unprocessed(db: Database | Tx) -> list[tuple[int, str]]:
    """Updates fetched and not processed to the end (a crash came in between), in order."""
    rows = await db.fetchall(
        "SELECT i.update_id, i.payload FROM update_inbox i"
        " WHERE NOT EXISTS (SELECT 1 FROM processed_updates p WHERE p.update_id = i.update_id)"
        " ORDER BY i.update_id"
    )
    return [(int(r[0]), str(r[1])) for r in rows]
