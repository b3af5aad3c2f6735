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

Round trips: every hand-off to aiosqlite's thread costs more of the bot's CPU than SQLite's
own work (a future, a thread wake-up and a loop wake-up per call), so a domain step runs its
SQL as *one* call on the database thread: :meth:`Tx.call` / :meth:`Database.call` run a
plain function ``fn(conn, *args)`` against the ``sqlite3.Connection`` there, and the storage
modules compose their synchronous helpers into such functions (e.g.
:func:`storage.reports.load_step`). A transaction's ``BEGIN IMMEDIATE`` (and the claim of
the update being processed) goes in the same call as its first statement, and
:meth:`Tx.finish` runs the last one with the ``COMMIT``: :meth:`Database.write` is a whole
one-step transaction in one call.
:func:`count_round_trips` counts the calls (tests hold the hot path to its number).

A write whose result nobody waits for and that only records what happened (the message id
a screen was shown as) need not cost a round trip of its own: :meth:`Database.defer` queues
it, and it runs inside the next write transaction, in that transaction's first call (and
is queued again if that transaction rolls back). The update inbox's transaction, which
runs at every getUpdates, is such a transaction, and it is the one that lets a processed
update go: a deferred write queued while processing an update is committed at the latest
with that update's removal from the inbox, so a crash before that leaves the update there
to be replayed (as a crash before an undeferred write would).

The rule of the write lock: **nothing but SQL is awaited inside a write transaction.** The
lock is this process's only writer, so a chart render, a send to Telegram or a broadcast
fan-out awaited under it would stall every NFP's answer behind it. A transaction notices
when its task gave the event loop a turn other than while waiting for its own database call
(see :class:`Tx`) and, under :func:`strict_transactions` (the test suite runs that way),
raises :class:`AwaitInTransaction`; otherwise it logs a warning.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from storage.migrate import apply_migrations
from storage.timeutil import to_db

log = logging.getLogger(__name__)

Row = sqlite3.Row
Conn = sqlite3.Connection  # what a function run on the database thread (Tx.call) is given
Params = Sequence[Any] | dict[str, Any]
BUSY_TIMEOUT_MS = 5000

P = ParamSpec("P")
T = TypeVar("T")

# The write transaction the current task is inside (if any), with its Database: reads
# through that Database then go to the transaction and see its writes.
_in_transaction: contextvars.ContextVar[tuple[Database, Tx] | None] = contextvars.ContextVar(
    "nfpbot_in_transaction", default=None
)


# --- round trips to the database thread ------------------------------------------------

# While counting (count_round_trips): calls to a database thread, by the id of the update
# being processed (None: outside any update, e.g. the scheduler, the outbox, polling).
_trips: collections.Counter[int | None] | None = None


@contextlib.contextmanager
def count_round_trips() -> Iterator[collections.Counter[int | None]]:
    """Count every call to a database thread while inside, by update id (see :data:`_trips`).

    Off by default: a branch on a global, nothing else, on the hot path.
    """
    global _trips
    outer, _trips = _trips, collections.Counter()
    try:
        yield _trips
    finally:
        _trips = outer


async def _hop(conn: aiosqlite.Connection, fn: Callable[[Conn], T]) -> T:
    """Run ``fn(sqlite3_connection)`` on ``conn``'s thread: one round trip.

    aiosqlite has no public call for this; ``Connection._execute`` is what each of its own
    methods is made of (queue the function, await its future), kept stable since 0.17.
    """
    if _trips is not None:
        mark = _current_update.get()
        _trips[mark.update_id if mark else None] += 1
    result: T = await conn._execute(_on_thread, conn, fn)  # type: ignore[no-untyped-call]
    return result


def _on_thread(conn: aiosqlite.Connection, fn: Callable[[Conn], T]) -> T:
    return fn(conn._conn)


def _fetchall(conn: Conn, sql: str, params: Params) -> list[Row]:
    cur = conn.execute(sql, params)
    try:
        return cur.fetchall()
    finally:
        cur.close()


def _execute(conn: Conn, sql: str, params: Params) -> tuple[int, int]:
    """Run one statement; (lastrowid, rowcount)."""
    cur = conn.execute(sql, params)
    try:
        return cur.lastrowid or 0, cur.rowcount
    finally:
        cur.close()


def execute(conn: Conn, sql: str, params: Params = ()) -> int:
    """On the database thread: run one statement; ``lastrowid`` (useful after an INSERT)."""
    return _execute(conn, sql, params)[0]


def execute_rowcount(conn: Conn, sql: str, params: Params = ()) -> int:
    return _execute(conn, sql, params)[1]


def fetchall(conn: Conn, sql: str, params: Params = ()) -> list[Row]:
    """On the database thread: the rows of a query."""
    return _fetchall(conn, sql, params)


def fetchone(conn: Conn, sql: str, params: Params = ()) -> Row | None:
    rows = _fetchall(conn, sql, params)
    return rows[0] if rows else None


def fetchval(conn: Conn, sql: str, params: Params = ()) -> Any:
    row = fetchone(conn, sql, params)
    return None if row is None else row[0]


# --- the write lock: nothing but SQL awaited under it ----------------------------------

_strict = False


class AwaitInTransaction(RuntimeError):
    """A write transaction's task awaited something other than its own SQL (see module doc)."""


@contextlib.contextmanager
def strict_transactions(strict: bool = True) -> Iterator[None]:
    """Raise :class:`AwaitInTransaction` at the end of an offending transaction (tests)."""
    global _strict
    outer, _strict = _strict, strict
    try:
        yield
    finally:
        _strict = outer


# Clean-ups of a BEGIN whose task was cancelled, kept referenced until they are done.
_cleanups: set[asyncio.Task[None]] = set()


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


class Changed(Exception):
    """A transaction's expectation (:meth:`Tx.expect`) did not hold: nothing was written.

    The caller decided on data it had at hand instead of reading it first; the data had
    changed meanwhile, so it starts again, reading.
    """


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
    """Read helpers shared by the connection and a transaction (reads see the tx's writes).

    Each is one round trip; a step that needs several queries runs them as one function
    through :meth:`call` instead.
    """

    async def call(
        self, fn: Callable[Concatenate[Conn, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args, **kwargs)`` on the database thread, in one round trip.

        ``fn`` is plain synchronous code given the ``sqlite3.Connection``; it must not keep
        the connection, cursors or rows beyond its return.
        """
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self.call(fetchone, sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self.call(_fetchall, sql, params)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        return await self.call(fetchval, sql, params)


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
        # writes riding along with the next write transaction (see defer), in order
        self._deferred: list[Callable[[Conn], object]] = []
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

    async def call(
        self, fn: Callable[Concatenate[Conn, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, ...)`` on the read connection's thread (one round trip); inside
        this task's write transaction, in that transaction (it sees its writes)."""
        current = _in_transaction.get()
        if current is not None and current[0] is self:
            return await current[1].call(fn, *args, **kwargs)
        conn = self._reader or self._conn
        return await _hop(conn, lambda c: fn(c, *args, **kwargs))

    async def write(
        self,
        fn: Callable[Concatenate[Conn, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """A whole write transaction of one step: ``BEGIN``, the update's claim, ``fn``
        and ``COMMIT`` in one round trip (rolled back there if ``fn`` raises)."""
        async with self.transaction() as tx:
            return await tx.finish(fn, *args, **kwargs)

    def defer(
        self, fn: Callable[Concatenate[Conn, P], object], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Run ``fn(conn, ...)`` in the next write transaction, ahead of its own statements
        and in its first call to the database thread: no round trip of its own.

        For small writes that record what happened and that nobody reads before the next
        write transaction of this process (reads outside a transaction do not see them
        until then): each must stay right when run later, and after writes queued before
        it. Rolled back with that transaction, it is queued again for the next one;
        :meth:`close` commits what is still queued.
        """
        self._deferred.append(lambda c: fn(c, *args, **kwargs))

    def _take_deferred(self) -> list[Callable[[Conn], object]]:
        taken, self._deferred = self._deferred, []
        return taken

    def _give_back_deferred(self, taken: list[Callable[[Conn], object]]) -> None:
        self._deferred[:0] = taken  # ahead of any queued since: the order stays

    async def close(self) -> None:
        """Commit what is deferred, then close both connections (the second even when
        closing the first fails)."""
        if self._deferred:
            try:
                await self.write(_nothing)
            except Exception as err:  # closing anyway: those records are lost, not the file
                log.warning("could not commit %d deferred write(s): %s", len(self._deferred), err)
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

        The ``BEGIN`` and the claim run in the same call to the database thread as the
        transaction's first statement, and a transaction that wrote nothing and claims
        nothing costs no call at all. Nothing but SQL may be awaited inside (module doc).
        """
        mark = _current_update.get()
        claim = claim and mark is not None and mark.state == "new"
        await self._lock_write(busy_timeout_ms)
        tx = Tx(self._conn, mark if claim else None, busy_timeout_ms, self)
        marker = _in_transaction.set((self, tx))
        release = True
        try:
            tx._arm()
            yield tx
            if tx._committed:
                tx._check()  # nothing awaited between the finishing call and here either
            elif tx._attempted or claim or tx._expected:
                # with the BEGIN and the claim if they are still pending
                await tx._call(_nothing, "COMMIT", commit=True)
            tx._disarm()
        except BaseException as err:
            tx._disarm()
            if tx._deferred and not tx._committed:
                self._give_back_deferred(tx._deferred)
                tx._deferred = []
            if tx._attempted and not tx._committed:
                # also after a failed COMMIT: a connection left inside a transaction would
                # refuse every later BEGIN. On the thread, behind whatever call is still
                # running there (one queue, in order), so it is right even when this task
                # was cancelled while a BEGIN or a statement was on its way.
                if isinstance(err, asyncio.CancelledError):
                    # a task of its own, which no further cancellation reaches, rolls back
                    # and only then releases the write lock (nobody else may BEGIN before
                    # the connection is clean)
                    release = False
                    task = asyncio.get_running_loop().create_task(self._roll_back_and_release())
                    _cleanups.add(task)
                    task.add_done_callback(_cleanups.discard)
                else:
                    await _hop(self._conn, _roll_back)
            if mark is not None and claim and mark.state == "claimed" and not tx._committed:
                mark.state = "new"  # nothing was committed: the next transaction claims
            raise
        finally:
            try:
                _in_transaction.reset(marker)
            except ValueError:  # exited from another context than it was entered in
                _in_transaction.set(None)
            if release:
                self._write_lock.release()

    async def _roll_back_and_release(self) -> None:
        try:
            with contextlib.suppress(Exception):
                await _hop(self._conn, _roll_back)
        finally:
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

    async def backup(self, target: str | Path) -> None:
        """Copy the live database with SQLite's online backup API."""
        dest = await aiosqlite.connect(str(target))
        try:
            await self._conn.backup(dest)
        finally:
            await dest.close()


def _nothing(conn: Conn) -> None:
    return None


def _roll_back(conn: Conn) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _begin(conn: Conn, claim: UpdateMark | None, busy_timeout_ms: int | None) -> None:
    """On the thread: ``BEGIN IMMEDIATE`` and the update's claim, ahead of the first
    statement of a transaction; on any failure the connection is left outside a transaction.
    """
    if busy_timeout_ms is not None:
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    else:
        conn.execute("BEGIN IMMEDIATE")
    if claim is None:
        return
    try:
        now = datetime.now(UTC)  # real time: what matters is Telegram's renumbering
        inserted = execute_rowcount(
            conn,
            "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (claim.update_id, to_db(now)),
        )
        if inserted != 1:
            raise AlreadyProcessed(claim.update_id)
        # the update stays in the inbox (storage.updates) until it is processed to the end:
        # a crash between this commit and the reply replays it at the next start, where
        # AlreadyProcessed re-shows the person's screen instead of applying it again
        if claim.update_id % _PRUNE_EVERY == 0:
            before = to_db(now - PROCESSED_KEEP)
            conn.execute("DELETE FROM processed_updates WHERE at < ?", (before,))
    except BaseException:
        if conn.in_transaction:  # some failures (a full disk) have rolled back already
            conn.execute("ROLLBACK")
        raise


class Tx(_Reads):
    """The statements of one write transaction (also readable: reads see its own writes).

    The check of the write lock's rule (nothing but SQL awaited, module doc): whenever the
    transaction's task runs, a callback is scheduled with ``loop.call_soon`` and cancelled
    again when the task next hands a call to the database thread (or commits). The event
    loop only runs that callback if the task gave it a turn in between, i.e. awaited
    something that really suspended (a sleep, a send, a lock, another task) while holding
    the write lock. An await that completes without suspending is not seen, and holds
    nothing up either.
    """

    def __init__(
        self,
        conn: aiosqlite.Connection,
        claim: UpdateMark | None,
        busy_timeout_ms: int | None,
        db: Database | None = None,
    ) -> None:
        self._conn = conn
        self._db = db
        # the Database's deferred writes this transaction took with its BEGIN
        self._deferred: list[Callable[[Conn], object]] = []
        # checks of data the caller had at hand (expect), run with the BEGIN
        self._expected: list[Callable[[Conn], bool]] = []
        self._claim: UpdateMark | None = claim
        self._busy_timeout_ms = busy_timeout_ms
        self._pending_begin = True
        self._attempted = False  # a call went to the thread: it may have begun
        self._committed = False
        self._watch: asyncio.Handle | None = None
        self._yielded = False
        self._last = "the start of the transaction"

    def _arm(self) -> None:
        self._yielded = False
        self._watch = asyncio.get_running_loop().call_soon(self._saw_yield)

    def _saw_yield(self) -> None:
        self._yielded = True
        self._watch = None

    def _disarm(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def _check(self) -> None:
        self._disarm()
        if not self._yielded:
            return
        self._yielded = False
        message = (
            "a write transaction awaited something other than its SQL while holding the"
            f" write lock (after {self._last})"
        )
        if _strict:
            raise AwaitInTransaction(message)
        log.warning("%s", message)

    @property
    def begun(self) -> bool:
        """Whether a call has gone to the database thread (its BEGIN is no longer pending)."""
        return not self._pending_begin

    def expect(self, check: Callable[[Conn], bool]) -> None:
        """Run ``check(conn)`` in this transaction's first call, right after its BEGIN (and
        the update's claim), before anything else: if it is false, that call raises
        :class:`Changed` and the transaction rolls back, nothing written.

        Lets a step decide on data it already has (e.g. the state its previous step left)
        and read it only to confirm, in the same round trip as its writes, instead of in a
        round trip of its own. Only before the first call (see :attr:`begun`).
        """
        if not self._pending_begin:
            raise RuntimeError("expect() after the transaction's first call")
        self._expected.append(check)

    async def call(
        self, fn: Callable[Concatenate[Conn, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in this transaction on the database thread."""
        return await self._call(lambda c: fn(c, *args, **kwargs), fn)

    async def finish(
        self, fn: Callable[Concatenate[Conn, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """The transaction's last call: ``fn`` and ``COMMIT`` in one round trip (rolled back
        there if ``fn`` raises). Nothing more may be run in it."""
        return await self._call(lambda c: fn(c, *args, **kwargs), fn, commit=True)

    async def _call(
        self, fn: Callable[[Conn], T], named: object = None, *, commit: bool = False
    ) -> T:
        """``fn`` on the thread, after the pending BEGIN; ``commit``: and COMMIT there too.

        ``named`` is what the call is named after in a report of the lock's rule."""
        if self._committed:
            raise RuntimeError("the transaction is already committed")
        self._check()
        begin = self._pending_begin
        claim, busy = self._claim, self._busy_timeout_ms
        deferred = self._db._take_deferred() if begin and self._db is not None else []
        expected = self._expected if begin else []

        def run(conn: Conn) -> T:
            if begin:
                _begin(conn, claim, busy)
                try:
                    for write in deferred:
                        write(conn)
                    if not all(check(conn) for check in expected):
                        raise Changed("the data a step decided on changed meanwhile")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            if not commit:
                return fn(conn)
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        self._attempted = True
        self._pending_begin = False
        self._deferred += deferred  # given back to the Database unless this commits
        self._last = named if isinstance(named, str) else getattr(named, "__qualname__", "SQL")
        try:
            result = await _hop(self._conn, run)
        except AlreadyProcessed:
            if claim is not None:
                claim.state = "duplicate"
            raise
        except BaseException:
            if begin:
                self._pending_begin = True  # the BEGIN did not stay (or never ran)
                if deferred and self._db is not None:  # nor what rode along with it
                    self._deferred = self._deferred[: -len(deferred)]
                    self._db._give_back_deferred(deferred)
            raise
        if begin and claim is not None:
            claim.state = "claimed"
        self._committed = commit
        if commit:
            self._deferred = []  # committed with it
        self._arm()  # the lock is held until the transaction's end, committed or not
        return result

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return ``lastrowid`` (useful after an INSERT)."""
        return await self.call(execute, sql, params)

    async def execute_rowcount(self, sql: str, params: Params = ()) -> int:
        return await self.call(execute_rowcount, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self.call(_executemany, sql, list(rows))


def _executemany(conn: Conn, sql: str, rows: list[Params]) -> None:
    conn.executemany(sql, rows).close()


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
