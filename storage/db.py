"""The one SQLite connection: pragmas, serialized write transactions, migrations on open.

aiosqlite runs every call of a connection on one worker thread, so reads never race each
other; write transactions do (an interleaved ``BEGIN ... COMMIT`` from two coroutines would
mix their statements), hence the asyncio lock around each :meth:`Database.transaction`.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from storage.migrate import apply_migrations
from storage.timeutil import to_db

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]

PROCESSED_KEEP = timedelta(days=7)  # Telegram renumbers updates at random after a quiet week
_PRUNE_EVERY = 256  # update ids: prune the processed-updates table about this often


class AlreadyProcessed(Exception):
    """This update's effect was already committed (Telegram delivered it again)."""

    def __init__(self, update_id: int) -> None:
        super().__init__(f"update {update_id} was already processed")
        self.update_id = update_id


@dataclass
class UpdateMark:
    """The update being processed in this task; its first write transaction claims it.

    ``state``: ``new`` until a transaction claims it, then ``claimed`` (later transactions
    of the same update are its own follow-ups), or ``duplicate`` once the claim found it
    already there (the handler layer then only re-shows where the person stands).
    """

    update_id: int
    state: str = "new"


_current_update: contextvars.ContextVar[UpdateMark | None] = contextvars.ContextVar(
    "nfpbot_current_update", default=None
)


def processing_update(update_id: int) -> contextvars.Token[UpdateMark | None]:
    """Mark the running task as processing ``update_id`` (see :meth:`Database.transaction`)."""
    return _current_update.set(UpdateMark(update_id))


def done_processing(token: contextvars.Token[UpdateMark | None]) -> None:
    _current_update.reset(token)


def current_update() -> UpdateMark | None:
    return _current_update.get()


class _Reads:
    """Read helpers shared by the connection and a transaction (reads see the tx's writes)."""

    _conn: aiosqlite.Connection

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        # one hop to aiosqlite's thread instead of three (execute, fetch, close)
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class Database(_Reads):
    """A single aiosqlite connection with explicit transactions.

    Named query functions in the ``storage`` modules take a ``Database`` (for reads) or a
    :class:`Tx` (inside :meth:`transaction`) and are the only place SQL is written.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        """Open (creating if needed) the database file and bring its schema up to date."""
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.execute("PRAGMA synchronous=NORMAL")
        db = cls(conn, path)
        if migrate:
            try:
                await db.migrate()
            except BaseException:
                await conn.close()
                raise
        return db

    async def close(self) -> None:
        await self._conn.close()

    async def migrate(self, target: int | None = None) -> int:
        """Apply pending migrations (each in its own transaction); return the new version."""
        async with self._write_lock:
            return await apply_migrations(self._conn, target)

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    @asynccontextmanager
    async def transaction(self, *, claim: bool = True) -> AsyncIterator[Tx]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` under the write lock; rolls back on any error.

        Inside the processing of a Telegram update (:func:`processing_update`), the first
        write transaction also records the update id, in the same commit as its effect; if
        the id is already recorded, the update was applied before (Telegram delivered it
        again after a lost confirmation) and :class:`AlreadyProcessed` is raised before
        anything is written. ``claim=False`` is for writes that are idempotent by nature
        (an upsert of who someone is) and may precede the update's real effect: they must
        not mark the update done before that effect is committed.
        """
        mark = _current_update.get()
        claim = claim and mark is not None and mark.state == "new"
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                if claim:
                    assert mark is not None
                    await self._claim(mark)
                yield Tx(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                if claim and mark is not None and mark.state == "claimed":
                    mark.state = "new"  # nothing was committed: the next transaction claims
                raise
            else:
                await self._conn.execute("COMMIT")

    async def _claim(self, mark: UpdateMark) -> None:
        now = datetime.now(UTC)  # real time: what matters is Telegram's renumbering
        cur = await self._conn.execute(
            "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (mark.update_id, to_db(now)),
        )
        if cur.rowcount != 1:
            mark.state = "duplicate"
            raise AlreadyProcessed(mark.update_id)
        mark.state = "claimed"
        # processed now: no longer waiting in the inbox for a restart (storage.updates)
        await self._conn.execute("DELETE FROM update_inbox WHERE update_id = ?", (mark.update_id,))
        if mark.update_id % _PRUNE_EVERY == 0:
            before = to_db(now - PROCESSED_KEEP)
            await self._conn.execute("DELETE FROM processed_updates WHERE at < ?", (before,))

    async def backup(self, target: str | Path) -> None:
        """Copy the live database with SQLite's online backup API."""
        dest = await aiosqlite.connect(str(target))
        try:
            await self._conn.backup(dest)
        finally:
            await dest.close()


class Tx(_Reads):
    """The statements of one write transaction (also readable: reads see its own writes)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return ``lastrowid`` (useful after an INSERT)."""
        cur = await self._conn.execute(sql, params)  # closed when collected: one hop, not two
        return cur.lastrowid or 0

    async def execute_rowcount(self, sql: str, params: Params = ()) -> int:
        cur = await self._conn.execute(sql, params)
        return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)
