"""Telegram updates between fetching and processing: the inbox that outlives a crash."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from storage.db import Conn, Database, Tx
from storage.timeutil import to_db


async def keep(
    tx: Tx, now: datetime, fetched: Sequence[tuple[int, str]], finished: Iterable[int] = ()
) -> None:
    """Keep fetched updates (id, JSON) until processed; forget the ``finished`` ones.

    The transaction's last call (one round trip with its BEGIN and COMMIT): nothing of it
    may follow in the same transaction.
    """
    rows = [(update_id, payload, to_db(now)) for update_id, payload in fetched]
    await tx.finish(_keep, rows, [(u,) for u in finished])


def _keep(c: Conn, rows: list[tuple[int, str, str]], finished: list[tuple[int]]) -> None:
    c.executemany(
        "INSERT INTO update_inbox (update_id, payload, at) VALUES (?, ?, ?)"
        " ON CONFLICT (update_id) DO NOTHING",
        rows,
    ).close()
    c.executemany("DELETE FROM update_inbox WHERE update_id = ?", finished).close()


async def forget(tx: Tx, update_ids: Iterable[int]) -> None:
    await tx.executemany("DELETE FROM update_inbox WHERE update_id = ?", [(u,) for u in update_ids])


async def unfinished(db: Database | Tx) -> list[tuple[int, str, bool]]:
    """Updates fetched and not processed to the end (a crash came in between), in order,
    each with whether its effect was already committed (``processed_updates``).

    Those whose effect was committed are included: their reply may have died with the
    process, and replaying them (recognised as already processed) shows the person where
    they stand; nothing is applied twice.
    """
    rows = await db.fetchall(
        "SELECT i.update_id, i.payload,"
        " EXISTS (SELECT 1 FROM processed_updates p WHERE p.update_id = i.update_id)"
        " FROM update_inbox i ORDER BY i.update_id"
    )
    return [(int(r[0]), str(r[1]), bool(r[2])) for r in rows]
