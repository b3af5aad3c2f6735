"""The database thread: round trips of an answer, and the write lock's rule (storage.db).

An answer through the real bot costs 1 call to aiosqlite's thread: BEGIN + the update's
claim + the step's state confirmed (the step the person's previous answer left, loaded
again and compared, ``Tx.expect``) + the answer stored, the session moved, the next step
read and COMMIT. The record of the screen as shown rides along with the next write
transaction (``Database.defer``): the inbox's at the next getUpdates, or the person's
next answer, whichever comes first; it is counted with neither. When the state is not
known (the first answer after a restart) or changed meanwhile, the step reads first: 2.
Measured on the code before the change (4befaaf, counting aiosqlite's
``Connection._execute``): 21; 9ac628b: 3.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from sandbox import SimUser
from storage.db import (
    AwaitInTransaction,
    Conn,
    Database,
    count_round_trips,
    strict_transactions,
)
from tests.support import BotEnv, make_nfp, next_sent

ANSWER_ROUND_TRIPS = 1  # was 21, then 3


async def _trips_of(env: BotEnv, user: SimUser, act: str) -> tuple[int, str]:
    """Round trips of the update ``act`` makes, counted to its very end, and its reply.

    A second message after it waits for it (one chat's updates never overlap), so by its
    reply the first update has finished, the recording of its screen included.
    """
    with count_round_trips() as trips:
        user.drain()
        if act.startswith("/") or act.isdigit():
            await user.send(act)
        else:
            await user.press(act)
        reply = await next_sent(user)
        await user.send("/help")
        await next_sent(user)
    first = min(k for k in trips if k is not None)
    return trips[first], reply.text


async def test_an_answer_through_the_bot_is_one_round_trip(env: BotEnv) -> None:
    user = await make_nfp(env, 801, "MNG")
    await env.say(user, "/report")
    await env.quiet(user)
    typed, text = await _trips_of(env, user, "12")  # question 1: a number, typed
    assert "Question 2 of 9" in text
    assert typed == ANSWER_ROUND_TRIPS
    await env.quiet(user)
    typed, text = await _trips_of(env, user, "3")
    assert "Question 3 of 9" in text
    assert typed == ANSWER_ROUND_TRIPS
    await env.quiet(user)
    pressed, text = await _trips_of(env, user, "Skip")  # question 3: a button
    assert "Question 4 of 9" in text
    assert pressed == ANSWER_ROUND_TRIPS


async def test_an_await_other_than_sql_under_the_write_lock_is_caught(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The suite runs strict (tests/conftest.py): an offending transaction raises and is
    rolled back, wherever in it the await is; SQL alone, however many calls, passes."""
    db = await Database.open(tmp_path / "rule.sqlite3")
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    sql = "INSERT INTO regions (key) VALUES (?)"
    try:
        for where in ("before", "between", "after"):
            with pytest.raises(AwaitInTransaction, match="write lock"):
                async with db.transaction() as tx:
                    if where == "before":
                        await asyncio.sleep(0)
                    await tx.execute(sql, (where,))
                    if where == "between":
                        await asyncio.sleep(0)
                    await tx.fetchval("SELECT count(*) FROM regions")
                    if where == "after":
                        await asyncio.sleep(0)
        with pytest.raises(AwaitInTransaction):  # a network round trip, as a send would be
            async with db.transaction() as tx:
                await tx.execute(sql, ("network",))
                _, writer = await asyncio.open_connection(host, port)
                writer.close()
                await tx.execute(sql, ("network 2",))
        assert await db.fetchval("SELECT count(*) FROM regions") == 0  # all rolled back

        # SQL only: statements, reads through the Database, a call, a one-call write
        async with db.transaction() as tx:
            await tx.execute(sql, ("a",))
            assert await db.fetchval("SELECT count(*) FROM regions") == 1
            await tx.call(lambda c: c.execute(sql, ("b",)).close())
        await db.write(lambda c: c.execute(sql, ("c",)).close())
        assert await db.fetchval("SELECT count(*) FROM regions") == 3

        # not strict (production): told in the log, and the transaction still commits
        with strict_transactions(False), caplog.at_level(logging.WARNING, "storage.db"):
            async with db.transaction() as tx:
                await tx.execute(sql, ("d",))
                await asyncio.sleep(0)
        assert any("write lock" in r.getMessage() for r in caplog.records)
        assert await db.fetchval("SELECT count(*) FROM regions") == 4
    finally:
        server.close()
        await server.wait_closed()
        await db.close()


async def test_a_deferred_write_rides_with_the_next_transaction_and_survives_its_rollback(
    tmp_path: Path,
) -> None:
    """Database.defer: no round trip of its own; committed with the next write transaction
    that commits (queued again when one rolls back, in order); close() commits the rest."""
    path = tmp_path / "defer.sqlite3"
    db = await Database.open(path)
    sql = "INSERT INTO regions (key) VALUES (?)"

    def insert(c: Conn, key: str) -> None:
        c.execute(sql, (key,)).close()

    async def keys() -> list[str]:
        return [r[0] for r in await db.fetchall("SELECT key FROM regions ORDER BY rowid")]

    try:
        with count_round_trips() as trips:
            db.defer(insert, "first")
            db.defer(insert, "second")
        assert sum(trips.values()) == 0 and await keys() == []
        with pytest.raises(RuntimeError, match="boom"):
            async with db.transaction() as tx:
                await tx.execute(sql, ("own",))
                raise RuntimeError("boom")
        assert await keys() == []  # rolled back with it, not lost
        db.defer(insert, "third")
        with count_round_trips() as trips:
            await db.write(lambda c: c.execute(sql, ("own",)).close())
        assert sum(trips.values()) == 1
        assert await keys() == ["first", "second", "third", "own"]
        db.defer(insert, "at close")
    finally:
        await db.close()
    db = await Database.open(path)
    try:
        assert (await keys())[-1] == "at close"
    finally:
        await db.close()
