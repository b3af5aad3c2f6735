"""Two SQLite connections: one for write transactions, one for reads; migrations on open.

aiosqlite runs every call of a connection on one worker thread. Write transactions on one
connection would interleave (an interleaved ``BEGIN ... COMMIT`` from two coroutines would
mix their statements), hence the asyncio lock around each :meth:`Database.transaction`.

Reads outside a transaction go to a second connection: over WAL a reader never waits for a
writer, so a ``/help`` is not queued behind a ``BEGIN IMMEDIATE`` that is waiting out the
busy timeout because another process holds the write lock, and such a read only ever sees
committed data (never another coroutine's half-done transaction). Reads made by the
coroutine that holds a transaction, even through the :class:`Database`, stay on the write
connection and see that transaction's own writes.
"""

from __future__ import annotations

import asyncio
import contextlib
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
BUSY_TIMEOUT_MS = 5000

# The Database whose write transaction the current task is inside (if any): its reads
# through the Database then go to the write connection and see the transaction's writes.
_in_transaction: contextvars.ContextVar[Database | None] = contextvars.ContextVar(
    "nfpbot_in_transaction", default=None
)
# Clean-ups of a BEGIN whose task was cancelled, kept referenced until they are done.
_cleanups: set[asyncio.Task[None]] = set()


class _BeginCancelled(Exception):
    """The task was cancelled during BEGIN; a clean-up task now owns the write lock."""


# Every Database not yet closed, so that an entry point can close them on any path:
# aiosqlite's worker threads are not daemons and keep the interpreter alive otherwise.
_open_databases: set[Database] = set()


def write_failure(err: BaseException) -> str | None:
    """``"busy"``, ``"read-only"`` or ``"unavailable"`` when SQLite could not store
    something (so nothing of it was stored), else ``None``.

    Lets the error handler tell the user the truth (send it again) and the operator the
    cause, by SQLite's result code rather than its message text.
    """
    code = getattr(err, "sqlite_errorcode", None)
    if not isinstance(err, sqlite3.DatabaseError) or code is None:
        return None
    primary = code & 0xFF
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return "busy"
    if primary == sqlite3.SQLITE_READONLY:
        return "read-only"
    if primary in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN):
        return "unavailable"
    return None


async def close_all() -> None:
    """Close every Database still open (last resort for entry points' ``finally``).

    Each is closed even if closing another failed; the first failure is raised afterwards.
    """
    first: BaseException | None = None
    for db in list(_open_databases):
        try:
            await db.close()
        except Exception as err:
            first = first or err
    if first is not None:
        raise first


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

    def _read_conn(self) -> aiosqlite.Connection:
        return self._conn

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        # one hop to aiosqlite's thread instead of three (execute, fetch, close)
        return list(await self._read_conn().execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class Database(_Reads):
    """A write connection with explicit transactions and a read connection beside it.

    Named query functions in the ``storage`` modules take a ``Database`` (for reads) or a
    :class:`Tx` (inside :meth:`transaction`) and are the only place SQL is written.
    """

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, reader: aiosqlite.Connection | None = None
    ) -> None:
        self._conn = conn
        self._reader = reader
        self.path = path
        self._write_lock = asyncio.Lock()
        _open_databases.add(self)

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        """Open (creating if needed) the database file and bring its schema up to date.

        On any failure every connection opened so far is closed again (a leaked aiosqlite
        thread would keep the process from ever exiting).
        """
        path = Path(path)
        memory = str(path) == ":memory:"
        if not memory:
            if path.is_dir():
                raise sqlite3.OperationalError(f"{path} is a directory, not a database file")
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        db = cls(conn, path)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA synchronous=NORMAL")
            if migrate:
                await db.migrate()
            if not memory:  # an in-memory database is private to its one connection
                reader = await aiosqlite.connect(str(path), isolation_level=None)
                db._reader = reader
                reader.row_factory = sqlite3.Row
                await reader.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                await reader.execute("PRAGMA foreign_keys=ON")
                await reader.execute("PRAGMA query_only=ON")
        except BaseException:
            await db.close()
            raise
        return db

    def _read_conn(self) -> aiosqlite.Connection:
        if self._reader is None or _in_transaction.get() is self:
            return self._conn
        return self._reader

    async def close(self) -> None:
        """Close both connections, the second even when closing the first fails."""
        _open_databases.discard(self)
        reader, self._reader = self._reader, None
        try:
            await self._conn.close()
        finally:
            if reader is not None:
                await reader.close()

    async def migrate(self, target: int | None = None) -> int:
        """Apply pending migrations (each in its own transaction); return the new version."""
        async with self._write_lock:
            return await apply_migrations(self._conn, target)

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    @asynccontextmanager
    async def transaction(
        self, *, claim: bool = True, busy_timeout_ms: int | None = None
    ) -> AsyncIterator[Tx]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` under the write lock; rolls back on any error.

        Inside the processing of a Telegram update (:func:`processing_update`), the first
        write transaction also records the update id, in the same commit as its effect; if
        the id is already recorded, the update was applied before (Telegram delivered it
        again after a lost confirmation) and :class:`AlreadyProcessed` is raised before
        anything is written. ``claim=False`` is for writes that are idempotent by nature
        (an upsert of who someone is) and may precede the update's real effect: they must
        not mark the update done before that effect is committed. ``busy_timeout_ms``
        waits less than :data:`BUSY_TIMEOUT_MS` for another process's write lock, for a
        write that has something better to do than wait (the update inbox).
        """
        mark = _current_update.get()
        claim = claim and mark is not None and mark.state == "new"
        await self._lock_write(busy_timeout_ms)
        release = True
        try:
            try:
                await self._begin(busy_timeout_ms)
            except _BeginCancelled as cancelled:
                release = False  # the clean-up holds the lock until the connection is clean
                raise asyncio.CancelledError() from cancelled
            marker = _in_transaction.set(self)
            try:
                if claim:
                    assert mark is not None
                    await self._claim(mark)
                yield Tx(self._conn)
                await self._conn.execute("COMMIT")
            except BaseException:
                # also after a failed COMMIT: a connection left inside a transaction
                # would refuse every later BEGIN
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                if claim and mark is not None and mark.state == "claimed":
                    mark.state = "new"  # nothing was committed: the next transaction claims
                raise
            finally:
                try:
                    _in_transaction.reset(marker)
                except ValueError:  # exited from another context than it was entered in
                    _in_transaction.set(None)
        finally:
            if release:
                self._write_lock.release()

    async def _lock_write(self, busy_timeout_ms: int | None) -> None:
        """Take this process's write lock; with ``busy_timeout_ms``, give up as SQLite would.

        A transaction of this process may itself be waiting out the busy timeout for
        another process's lock: a caller that must not wait that long fails as "busy".
        """
        if busy_timeout_ms is None:
            await self._write_lock.acquire()
            return
        # not asyncio.wait_for: on 3.11 it can lose a lock acquired just as it times out
        acquire = asyncio.ensure_future(self._write_lock.acquire())
        try:
            await asyncio.wait({acquire}, timeout=busy_timeout_ms / 1000)
        except BaseException:  # cancelled while waiting: never keep a lock nobody releases
            acquire.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acquire
            if not acquire.cancelled():
                self._write_lock.release()
            raise
        if not acquire.done():
            acquire.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acquire  # either held after all, or cancelled
        if acquire.cancelled():
            busy = sqlite3.OperationalError("database is locked (by this process's writer)")
            busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
            raise busy

    async def _begin(self, busy_timeout_ms: int | None) -> None:
        """``BEGIN IMMEDIATE``, safe against cancellation.

        The statement runs on aiosqlite's thread, possibly waiting out the busy timeout; a
        task cancelled meanwhile (a stop) must not leave the connection inside a
        transaction nobody will end, so the BEGIN is undone behind it. No extra task or
        shield on the normal path: this runs for every write.
        """
        if busy_timeout_ms is not None:
            await self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        try:
            # aiosqlite queues the statement before its first await: once this is cancelled
            # the BEGIN is on the connection's thread and still runs there
            await self._conn.execute("BEGIN IMMEDIATE")
        except asyncio.CancelledError:
            # a task of its own, which no further cancellation reaches, queues the ROLLBACK
            # behind that BEGIN, restores the busy timeout and only then releases the write
            # lock (nobody else may BEGIN before the connection is clean)
            task = asyncio.get_running_loop().create_task(self._undo_begin(busy_timeout_ms))
            _cleanups.add(task)
            task.add_done_callback(_cleanups.discard)
            raise _BeginCancelled() from None
        except BaseException:
            if busy_timeout_ms is not None:
                await self._restore_busy_timeout()
            raise
        if busy_timeout_ms is not None:
            await self._restore_busy_timeout()

    async def _undo_begin(self, busy_timeout_ms: int | None) -> None:
        try:
            # runs after the BEGIN on the thread (one queue, in order); if the BEGIN failed
            # there is nothing to roll back and SQLite says so, which is fine
            with contextlib.suppress(Exception):
                await self._conn.execute("ROLLBACK")
            if busy_timeout_ms is not None:
                await self._restore_busy_timeout()
        finally:
            self._write_lock.release()

    async def _restore_busy_timeout(self) -> None:
        with contextlib.suppress(Exception):
            await self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

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
        # the update stays in the inbox (storage.updates) until it is processed to the end:
        # a crash between this commit and the reply replays it at the next start, where
        # AlreadyProcessed re-shows the person's screen instead of applying it again
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


class FTS5Unavailable(RuntimeError):
    """This Python's SQLite was built without FTS5: /guidance search cannot work."""


def require_fts5(module: str = "fts5") -> None:
    """Fail at start-up, in one clear line, when SQLite cannot create an FTS5 table.

    Otherwise the migration would stop with SQLite's bare "no such module: fts5".
    ``module`` is only there so that a test can name a module that does not exist.
    """
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE t USING {module}(x)")
    except sqlite3.OperationalError as err:
        raise FTS5Unavailable(
            f"SQLite {sqlite3.sqlite_version} of this Python has no FTS5 ({err}): "
            "use a Python whose sqlite3 includes FTS5 (the python.org and distribution builds do)"
        ) from None
    finally:
        conn.close()
