"""The outbox end to end: a real SQLite file, the sandbox Bot API over HTTP, the real sender."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from telegram.ext import ExtBot

from bot.config import Config
from bot.core.clock import FakeClock
from bot.core.services import Services
from bot.outbox import delivery
from bot.outbox.pacer import Pacer
from bot.outbox.sender import MAX_ATTEMPTS, MAX_IN_FLIGHT, OutboxSender, backoff_seconds
from sandbox import Sandbox, SimUser
from storage import outbox as store
from storage import people
from storage.db import Conn, Database, count_round_trips

MakeSender = Callable[..., OutboxSender]


async def put(
    db: Database, clock: FakeClock, key: str, chat_id: int, text: str = "Hello", **kwargs: Any
) -> bool:
    async with db.transaction() as tx:
        return await store.enqueue(
            tx, clock.now(), dedup_key=key, chat_id=chat_id, kind="test", text=text, **kwargs
        )


async def add_people(db: Database, clock: FakeClock, *users: SimUser) -> None:
    async with db.transaction() as tx:
        for u in users:
            await people.upsert(tx, clock.now(), u.id, u.first_name)


def ok_sends(sb: Sandbox, chat_id: int | None = None) -> list[Any]:
    return [c for c in sb.calls_to("sendMessage", chat_id) if c.ok]


def outbox_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.outbox.sender"]


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


# --------------------------------------------------------------------------- storage alone


async def test_storage_rules(db: Database, clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        await put(db, clock, "empty", 1, text="  ")
    with pytest.raises(ValueError):
        await put(db, clock, "long", 1, buttons=[[("x", "d" * 65)]])
    assert await store.pending_count(db) == 0  # the failed transactions left nothing

    later = clock.now() + timedelta(hours=1)
    assert await put(db, clock, "a1", 1, text="a1")
    assert await put(db, clock, "a2", 1, text="a2")
    assert await put(db, clock, "b1", 2, text="b1")
    assert await put(db, clock, "c1", 3, text="c1", not_before=later)
    assert not await put(db, clock, "a1", 1, text="other")

    assert [i.text for i in await store.due(db, clock.now(), 10)] == ["a1", "a2", "b1"]
    heads = await store.due(db, clock.now(), 10, one_per_chat=True)
    assert [i.text for i in heads] == ["a1", "b1"]
    assert await store.pending_count(db) == 4
    assert [i.dedup_key for i in await store.by_kind(db, "test")] == ["a1", "a2", "b1", "c1"]

    assert backoff_seconds(1) == 1 and backoff_seconds(4) == 8 and backoff_seconds(20) == 300


# --------------------------------------------------------------------------- delivery


async def test_dedup_key_delivers_once(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    u = sandbox.user(101, "Aida")
    assert await put(db, clock, "prompt:KAZ:2026-W48", u.id, text="Week <b>48</b>")
    assert not await put(db, clock, "prompt:KAZ:2026-W48", u.id, text="Week <b>48</b>")
    sender = make_sender()
    sender.wake()
    await sender.drain()

    assert [m.text for m in u.inbox] == ["Week 48"]
    assert len(sandbox.calls_to("sendMessage")) == 1
    item = await store.by_dedup_key(db, "prompt:KAZ:2026-W48")
    assert item is not None and item.status == "sent"
    assert item.message_id == u.inbox[0].message_id and item.sent_at == clock.now()
    assert await store.pending_count(db) == 0


async def test_delivery_with_buttons(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    u = sandbox.user(102, "Bek")
    buttons = [[("Start", "start:48"), ("Later", "later:48")], [("Help", "help")]]
    await put(db, clock, "k", u.id, text="Report for week 48 is due", buttons=buttons)
    make_sender().wake()

    msg = await u.next_message()
    assert msg.text == "Report for week 48 is due"
    assert msg.buttons == buttons


async def test_not_before_is_held_until_the_clock_passes_it(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    u = sandbox.user(103, "Cholpon")
    await put(
        db, clock, "later", u.id, text="reminder", not_before=clock.now() + timedelta(hours=1)
    )
    sender = make_sender()
    sender.wake()
    await sender.drain()
    await asyncio.sleep(0.2)
    assert sandbox.calls_to("sendMessage") == []
    later = await store.by_dedup_key(db, "later")
    assert later is not None and later.status == "pending"

    clock.advance(timedelta(minutes=59))
    await sender.drain()
    assert u.inbox == []
    clock.advance(timedelta(minutes=1))
    await sender.drain()
    assert [m.text for m in u.inbox] == ["reminder"]


# --------------------------------------------------------------------------- failures


async def test_429_pauses_everything_then_sends_once(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    a, b = sandbox.user(201, "A"), sandbox.user(202, "B")
    sandbox.inject("sendMessage", status=429, retry_after=1, times=1)
    await put(db, clock, "a", a.id, text="to a")
    await put(db, clock, "b", b.id, text="to b")
    started = time.monotonic()
    # one send at a time, so that b starts after a's 429 (sends already in flight when a 429
    # comes are answered as Telegram decides; the pause holds those that would start)
    sender = make_sender(max_in_flight=1)
    sender.wake()
    await sender.drain()

    refused = [c for c in sandbox.calls_to("sendMessage") if not c.ok]
    assert [(c.status, c.chat_id) for c in refused] == [(429, a.id)]
    delivered = ok_sends(sandbox)
    assert sorted(c.chat_id for c in delivered) == [a.id, b.id]  # b waited too
    assert all(c.at - started >= 1.0 for c in delivered)
    assert [m.text for m in a.inbox] == ["to a"] and [m.text for m in b.inbox] == ["to b"]
    item = await store.by_dedup_key(db, "a")
    assert item is not None and item.status == "sent" and item.attempts == 1  # 429 not counted


async def test_502_twice_backs_off_then_delivers_once(
    sandbox: Sandbox,
    db: Database,
    clock: FakeClock,
    make_sender: MakeSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    u = sandbox.user(203, "C")
    sandbox.inject("sendMessage", status=502, times=2)
    await put(db, clock, "k", u.id)
    sender = make_sender(per_chat_interval=0.01)  # retries go to the same chat
    sender.wake()

    for attempt, wait in ((1, 1), (2, 2)):
        await sender.drain()
        item = await store.by_dedup_key(db, "k")
        assert item is not None and item.status == "pending" and item.attempts == attempt
        assert item.not_before == clock.now() + timedelta(seconds=wait)
        assert "Bad Gateway" in (item.last_error or "")
        clock.advance(timedelta(seconds=wait))
    await sender.drain()

    assert [c.status for c in sandbox.calls_to("sendMessage")] == [502, 502, 200]
    assert len(u.inbox) == 1
    item = await store.by_dedup_key(db, "k")
    assert item is not None and item.status == "sent" and item.attempts == 3
    lines = outbox_lines(caplog)
    assert sum("network error" in line for line in lines) == 2
    assert not any(sandbox.token in line for line in lines)


async def test_gives_up_after_max_attempts(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    u = sandbox.user(204, "D")
    sandbox.inject("sendMessage", status=503, times=MAX_ATTEMPTS, chat_id=u.id)
    await put(db, clock, "k", u.id)
    sender = make_sender(per_chat_interval=0.01)
    for _ in range(MAX_ATTEMPTS):
        await sender.drain()
        clock.advance(timedelta(minutes=5))
    await sender.drain()

    item = await store.by_dedup_key(db, "k")
    assert item is not None and item.status == "failed" and item.attempts == MAX_ATTEMPTS
    assert len(sandbox.calls_to("sendMessage")) == MAX_ATTEMPTS and u.inbox == []


async def test_dropped_connection_is_retried(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    u = sandbox.user(205, "E")
    sandbox.inject("sendMessage", drop=True)
    await put(db, clock, "k", u.id)
    sender = make_sender(per_chat_interval=0.01)
    sender.wake()
    await sender.drain()
    item = await store.by_dedup_key(db, "k")
    assert item is not None and item.status == "pending" and "NetworkError" in str(item.last_error)

    clock.advance(timedelta(seconds=1))
    await sender.drain()
    assert [c.ok for c in sandbox.calls_to("sendMessage")] == [False, True]
    assert len(u.inbox) == 1


async def test_403_marks_row_and_person_blocked_and_serves_the_rest(
    sandbox: Sandbox,
    db: Database,
    clock: FakeClock,
    make_sender: MakeSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    a, b, c = sandbox.user(301, "A"), sandbox.user(302, "B"), sandbox.user(303, "C")
    await add_people(db, clock, a, b, c)
    b.block()
    for u in (a, b, c):
        await put(db, clock, f"alert:{u.id}", u.id, text="Alert")
    sender = make_sender()
    sender.wake()
    await sender.drain()

    assert len(a.inbox) == 1 and len(c.inbox) == 1 and b.inbox == []
    row = await store.by_dedup_key(db, f"alert:{b.id}")
    assert row is not None and row.status == "blocked" and "Forbidden" in str(row.last_error)
    person = await people.get(db, b.id)
    assert person is not None and person.blocked_at == clock.now()
    other = await people.get(db, a.id)
    assert other is not None and other.blocked_at is None
    assert sum("blocked the bot" in line for line in outbox_lines(caplog)) == 1


async def test_400_fails_the_row_and_serves_the_rest(
    sandbox: Sandbox,
    db: Database,
    clock: FakeClock,
    make_sender: MakeSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    a = sandbox.user(401, "A")
    await put(db, clock, "ghost", 999_999, text="nobody")  # a chat the sandbox does not know
    await put(db, clock, "real", a.id, text="somebody")
    sender = make_sender()
    sender.wake()
    await sender.drain()

    ghost = await store.by_dedup_key(db, "ghost")
    assert ghost is not None and ghost.status == "failed" and ghost.attempts == 1
    assert "chat not found" in str(ghost.last_error).lower()
    assert [m.text for m in a.inbox] == ["somebody"]
    assert await store.pending_count(db) == 0
    lines = outbox_lines(caplog)
    assert sum("refused (400)" in line for line in lines) == 1
    assert not any(sandbox.token in line for line in lines)


# --------------------------------------------------------------------------- crash


async def test_crash_mid_broadcast_resends_only_the_messages_in_flight(
    sandbox: Sandbox,
    tmp_path: Path,
    clock: FakeClock,
    make_sender: MakeSender,
) -> None:
    """Sends to different chats run concurrently, so a crash can leave several rows
    ``sending``: at most one per chat (a chat's next row waits for its head's record), and
    only those are sent again, each right where it was in its chat."""
    n, k = 6, 2
    users = [sandbox.user(500 + i, f"U{i}") for i in range(n)]
    path = tmp_path / "crash.sqlite3"
    first = await Database.open(path)
    for part in ("first", "second"):
        for u in users:
            await put(first, clock, f"digest:{u.id}:{part}", u.id, text=part)

    for u in users[k:]:  # their first message is delivered, its answer held past the crash
        sandbox.inject("sendMessage", delay=60.0, chat_id=u.id, times=1)
    sender = make_sender(first, per_chat_interval=0.3)
    sender.wake()
    await until(lambda: all(len(u.inbox) == 1 for u in users[k:]))
    # the k chats whose first was answered get their second, which is held up as well
    await until(lambda: all(len(sandbox.calls_to("sendMessage", u.id)) == 1 for u in users[:k]))
    for u in users[:k]:
        sandbox.inject("sendMessage", delay=60.0, chat_id=u.id, times=1)
    await until(lambda: all(len(u.inbox) == 2 for u in users[:k]))
    await asyncio.sleep(0.5)  # more than the chat interval: nothing else goes
    assert [len(u.inbox) for u in users] == [2] * k + [1] * (n - k)
    await sender.stop(timeout=0.2)  # cancelled mid-step, like a killed process

    rows = await store.by_kind(first, "test")
    by_chat = {u.id: [r.status for r in rows if r.chat_id == u.id] for u in users}
    assert sum(s.count("sending") for s in by_chat.values()) == n  # one in flight per chat
    assert all(s.count("sending") == 1 for s in by_chat.values())
    assert sorted(by_chat.values()) == sorted(
        [["sent", "sending"]] * k + [["sending", "pending"]] * (n - k)
    )
    await first.close()

    second = await Database.open(path)
    restarted = make_sender(second, per_chat_interval=0.01)
    try:
        await restarted.drain()
        for u in users:  # the row in flight came again, in its place; nothing else did
            texts = [m.text for m in u.inbox]
            dup = "second" if by_chat[u.id] == ["sent", "sending"] else "first"
            expected = ["first", "second"]
            expected.insert(expected.index(dup), dup)
            assert texts == expected, (u.id, texts)
        assert len(sandbox.calls_to("sendMessage")) == 2 * n + n
        rows = await store.by_kind(second, "test")
        assert all(r.status == "sent" for r in rows)
    finally:
        await restarted.stop()
        await second.close()


# --------------------------------------------------------------------------- pacing


async def test_one_private_chat_is_paced(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """Real time against the sandbox, loosely (lower bounds only: load cannot break them)."""
    u = sandbox.user(601, "P")
    for i in range(3):
        await put(db, clock, f"m{i}", u.id, text=f"part {i}")
    started = time.monotonic()
    sender = make_sender(per_chat_interval=0.2)
    sender.wake()
    await sender.drain()

    assert time.monotonic() - started >= 0.4
    times = [c.at for c in ok_sends(sandbox, u.id)]
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(times))
    assert [m.text for m in u.inbox] == ["part 0", "part 1", "part 2"]  # order kept


class Ticker:
    """A settable pacing clock (seconds) for ``OutboxSender(monotonic=...)``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def paced(bot: ExtBot[Any], db: Database, clock: FakeClock) -> Callable[..., OutboxSender]:
    """Senders on a settable pacing clock, not started: each pass is driven by the test."""

    def make(ticker: Ticker, **kwargs: Any) -> OutboxSender:
        svc = Services(cast(Config, None), db, clock)
        return OutboxSender(svc, bot, monotonic=ticker, **kwargs)

    return make


async def test_a_private_chat_is_paced_to_the_interval_exactly(
    sandbox: Sandbox, db: Database, clock: FakeClock, paced: Callable[..., OutboxSender]
) -> None:
    u = sandbox.user(611, "P")
    for i in range(3):
        await put(db, clock, f"m{i}", u.id, text=f"part {i}")
    ticker = Ticker()
    sender = paced(ticker, per_chat_interval=1.0)

    assert await sender.send_due_once() == 1
    assert await sender.send_due_once() == 0  # the chat is held, however often it is asked
    ticker.now += 0.999
    assert await sender.send_due_once() == 0
    ticker.now += 0.001
    assert await sender.send_due_once() == 1
    ticker.now += 0.5
    assert await sender.send_due_once() == 0
    ticker.now += 0.5
    assert await sender.send_due_once() == 1
    assert [m.text for m in u.inbox] == ["part 0", "part 1", "part 2"]  # order kept


async def test_many_chats_go_out_in_one_pass_without_waiting_for_each_other(
    sandbox: Sandbox, db: Database, clock: FakeClock, paced: Callable[..., OutboxSender]
) -> None:
    users = [sandbox.user(700 + i, f"N{i}") for i in range(10)]
    for u in users:
        await put(db, clock, f"n:{u.id}", u.id, text="news")
    sender = paced(Ticker(), per_chat_interval=1.0)

    assert await sender.send_due_once() == 10  # no time passes: per-chat pacing only
    assert all(len(u.inbox) == 1 for u in users)


async def test_group_sends_are_counted_per_window(
    sandbox: Sandbox, db: Database, clock: FakeClock, paced: Callable[..., OutboxSender]
) -> None:
    g = sandbox.group(-100_800, "NFP region")
    for i in range(4):
        await put(db, clock, f"g{i}", g.id, text=f"chart {i}")
    ticker = Ticker()
    sender = paced(ticker, group_per_minute=2)  # Telegram's 60 s window, not shrunk

    assert await sender.send_due_once() == 1
    ticker.now += 10.0
    assert await sender.send_due_once() == 1
    assert await sender.send_due_once() == 0  # two in the last minute
    ticker.now += 49.999
    assert await sender.send_due_once() == 0
    ticker.now += 0.001  # the first send left the window
    assert await sender.send_due_once() == 1
    assert await sender.send_due_once() == 0
    ticker.now += 10.0  # and the second
    assert await sender.send_due_once() == 1
    assert [m.text for m in g.inbox] == [f"chart {i}" for i in range(4)]


async def test_429_pauses_every_chat_for_exactly_retry_after(
    sandbox: Sandbox, db: Database, clock: FakeClock, paced: Callable[..., OutboxSender]
) -> None:
    a, b = sandbox.user(211, "A"), sandbox.user(212, "B")
    sandbox.inject("sendMessage", status=429, retry_after=3, times=1)
    await put(db, clock, "a", a.id, text="to a")
    await put(db, clock, "b", b.id, text="to b")
    ticker = Ticker()
    sender = paced(ticker, max_in_flight=1)  # b would start with a otherwise

    assert await sender.send_due_once() == 0  # a drew the 429; b was not tried
    assert [c.status for c in sandbox.calls_to("sendMessage")] == [429]
    ticker.now += 2.999
    assert await sender.send_due_once() == 0
    assert len(sandbox.calls_to("sendMessage")) == 1  # nothing asked during the pause
    ticker.now += 0.001
    assert await sender.send_due_once() == 1  # one in flight at a time here
    assert await sender.send_due_once() == 1
    assert [m.text for m in a.inbox] == ["to a"] and [m.text for m in b.inbox] == ["to b"]


async def test_drain_without_background_task_and_clean_stop(
    sandbox: Sandbox, db: Database, clock: FakeClock, bot: ExtBot[Any]
) -> None:
    u = sandbox.user(901, "S")
    await put(db, clock, "x", u.id, text="one")
    await put(db, clock, "y", u.id, text="two")
    sender = OutboxSender(Services(cast(Config, None), db, clock), bot, per_chat_interval=0.05)
    await sender.drain()  # drives the sending itself
    assert [m.text for m in u.inbox] == ["one", "two"]

    sender.start()
    assert sender.running
    await asyncio.wait_for(sender.stop(), 2)
    assert not sender.running


def test_retry_after_is_read_as_int_or_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    from telegram.error import RetryAfter
    from telegram.warnings import PTBDeprecationWarning

    from bot.outbox.sender import _retry_after

    monkeypatch.delenv("PTB_TIMEDELTA")  # as in production: an int, with a warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)  # PTB's constructor reads it
        exc = RetryAfter(3)
    assert _retry_after(exc) == 3.0  # and reading it here does not warn (filterwarnings)
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    assert _retry_after(RetryAfter(timedelta(seconds=1.5))) == 1.5


# --------------------------------------------------------------------------- issue 6, item 14


async def test_slow_answer_is_waited_for_and_sent_once(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """Telegram carried the send out but answered late: the outbox waits, never resends."""
    u = sandbox.user(1401, "Slow")
    sandbox.inject("sendMessage", delay=6.0, chat_id=u.id)  # past the old 5 s read timeout
    await put(db, clock, "slow", u.id, text="prompt")
    sender = make_sender(per_chat_interval=0.01)
    sender.wake()
    await sender.drain(timeout=20)
    clock.advance(timedelta(minutes=10))  # any backoff would be over by now
    await sender.drain()
    await asyncio.sleep(0.1)

    assert len(sandbox.calls_to("sendMessage")) == 1
    assert [m.text for m in u.inbox] == ["prompt"]
    item = await store.by_dedup_key(db, "slow")
    assert item is not None and item.status == "sent"
    assert item.message_id == u.inbox[0].message_id


async def test_unanswered_send_is_not_repeated(
    sandbox: Sandbox, db: Database, clock: FakeClock
) -> None:
    """No answer within the read timeout: Telegram may have delivered it, so it is not resent."""
    from telegram.ext import AIORateLimiter

    from bot.wiring.request import ApiRequest

    impatient = ExtBot(
        sandbox.token,
        rate_limiter=AIORateLimiter(max_retries=0),
        request=ApiRequest(4, read_timeout=0.2),
        base_url=sandbox.base_url,
    )
    await impatient.initialize()
    u = sandbox.user(1402, "Lost")
    sandbox.inject("sendMessage", delay=1.0, chat_id=u.id)
    await put(db, clock, "a", u.id, text="first")
    await put(db, clock, "b", u.id, text="second")
    sender = OutboxSender(
        Services(cast(Config, None), db, clock), impatient, per_chat_interval=0.01
    )
    sender.start()
    try:
        sender.wake()
        await sender.drain(timeout=10)
        for _ in range(3):
            clock.advance(timedelta(minutes=10))
            await sender.drain(timeout=10)
        await asyncio.sleep(1.2)  # the late answer has come and gone
    finally:
        await sender.stop(timeout=2)
        await impatient.shutdown()

    assert [c.chat_id for c in sandbox.calls_to("sendMessage")] == [u.id, u.id]
    assert [m.text for m in u.inbox] == ["first", "second"]  # once each, in order
    first = await store.by_dedup_key(db, "a")
    assert first is not None and first.status == "sent" and first.message_id is None
    assert "may have been delivered" in str(first.last_error)
    assert await store.pending_count(db) == 0


async def test_failed_mark_is_retried_without_resending(
    sandbox: Sandbox,
    db: Database,
    clock: FakeClock,
    make_sender: MakeSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The send succeeded but the database was locked when it was to be marked: only the
    marking is retried; the message is not sent again."""
    import sqlite3

    caplog.set_level(logging.INFO)
    await db._conn.execute("PRAGMA busy_timeout=100")  # give up on the lock quickly
    u = sandbox.user(1403, "Locked")
    sandbox.inject("sendMessage", delay=0.5, chat_id=u.id)  # time to take the lock meanwhile
    await put(db, clock, "k", u.id, text="once")
    sender = make_sender(per_chat_interval=0.01)
    sender.wake()
    await until(lambda: len(sandbox.calls_to("sendMessage")) == 1)
    other = sqlite3.connect(db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        await until(
            lambda: any(
                r.name == "bot.outbox.sender" and r.levelno >= logging.WARNING
                for r in caplog.records
            )
        )
        other.execute("ROLLBACK")
    finally:
        other.close()
    await sender.drain(timeout=10)
    await asyncio.sleep(0.2)

    assert len(sandbox.calls_to("sendMessage")) == 1
    assert [m.text for m in u.inbox] == ["once"]
    item = await store.by_dedup_key(db, "k")
    assert item is not None and item.status == "sent"
    assert item.message_id == u.inbox[0].message_id


async def test_a_chat_waits_for_its_head_in_backoff(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """After a 5xx on the prompt, the reminder queued behind it must not overtake it."""
    u, other = sandbox.user(1404, "Ordered"), sandbox.user(1405, "Elsewhere")
    sandbox.inject("sendMessage", status=502, times=1, chat_id=u.id)
    await put(db, clock, "prompt", u.id, text="prompt")
    await put(db, clock, "reminder", u.id, text="reminder")
    await put(db, clock, "news", other.id, text="news")
    sender = make_sender(per_chat_interval=0.01)
    sender.wake()
    await sender.drain()
    await asyncio.sleep(0.1)
    assert u.inbox == []  # the head is in backoff: its chat waits
    assert [m.text for m in other.inbox] == ["news"]  # other chats do not

    clock.advance(timedelta(seconds=1))
    await sender.drain()
    assert [m.text for m in u.inbox] == ["prompt", "reminder"]


async def test_a_row_scheduled_for_later_does_not_hold_its_chat(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    u = sandbox.user(1406, "Later")
    await put(db, clock, "later", u.id, text="later", not_before=clock.now() + timedelta(hours=1))
    await put(db, clock, "now", u.id, text="now")
    sender = make_sender(per_chat_interval=0.01)
    sender.wake()
    await sender.drain()
    assert [m.text for m in u.inbox] == ["now"]
    clock.advance(timedelta(hours=1))
    await sender.drain()
    assert [m.text for m in u.inbox] == ["now", "later"]


async def test_a_row_that_fails_for_good_tells_whoever_caused_it(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """Retries exhausted (or 400, or 403): the row's ``on_failure`` names whom to tell."""
    u, asker = sandbox.user(1407, "Unlucky"), sandbox.user(1408, "Asker")
    sandbox.inject("sendMessage", status=503, times=MAX_ATTEMPTS, chat_id=u.id)
    told = {"tell": asker.id, "lang": "en", "text": "Your note to Unlucky was NOT delivered."}
    await put(db, clock, "k", u.id, text="note", on_failure=told)
    sender = make_sender(per_chat_interval=0.01)
    for _ in range(MAX_ATTEMPTS):
        await sender.drain()
        clock.advance(timedelta(minutes=5))
    await sender.drain()

    item = await store.by_dedup_key(db, "k")
    assert item is not None and item.status == "failed" and u.inbox == []
    [notice] = asker.inbox
    assert notice.text.startswith("Your note to Unlucky was NOT delivered.")
    assert f"after {MAX_ATTEMPTS} attempts" in notice.text


# --------------------------------------------------------------------------- the pipeline


async def test_the_sends_in_flight_follow_the_limit_and_the_round_trip(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """At 300/s over a 100 ms round trip a fixed 16 sends in flight would cap the rate at
    160/s: the sender keeps about 2 × limit × RTT in flight, and refills each as it ends."""
    sandbox.limiter.global_per_second = 1000  # the sender's own limit is the one tested
    users = [sandbox.user(8000 + i, f"B{i}") for i in range(150)]
    for u in users:
        await put(db, clock, f"b:{u.id}", u.id, text="news")
    sandbox.inject("sendMessage", delay=0.1, times=len(users))  # answered 0.1 s late
    sender = make_sender(pacer=Pacer(300))
    sender.wake()
    peak, deadline = 0, time.monotonic() + 20
    while sum(len(u.inbox) for u in users) < len(users):
        assert time.monotonic() < deadline
        peak = max(peak, sandbox._inflight)
        await asyncio.sleep(0.002)
    await sender.drain()
    assert peak > 16, peak
    assert sender.max_in_flight <= MAX_IN_FLIGHT
    assert all(len(u.inbox) == 1 for u in users)
    assert sandbox.limiter.refused["global"] == 0


async def test_a_broadcast_costs_about_one_database_round_trip_per_message(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """Heads are read ahead in batches, and sends that start or end together are claimed
    and recorded in one transaction: a pass per finished send reads nothing, and a
    message costs at most its claim and its record, usually shared (it was 5 round trips
    and a read of every queued row per message)."""
    sandbox.limiter.global_per_second = 1000
    users = [sandbox.user(8200 + i, f"C{i}") for i in range(200)]
    for u in users:
        await put(db, clock, f"c:{u.id}", u.id, text="news")
    with count_round_trips() as trips:
        sender = make_sender(pacer=Pacer(1000))
        sender.wake()
        await until(lambda: all(len(u.inbox) == 1 for u in users), timeout=20)
        await sender.drain()
    assert sum(trips.values()) <= 2 * len(users), trips
    assert await store.pending_count(db) == 0


@delivery.condition("test_only_even_chats")
def _only_even_chats(conn: Conn, svc: Services, args: dict[str, Any]) -> bool:
    """A condition that reads in the claim's transaction (the row it guards, not yet
    claimed)."""
    sql = "SELECT chat_id FROM outbox WHERE dedup_key = ? AND status = 'pending'"
    row = conn.execute(sql, (args["key"],)).fetchone()
    return row is not None and row[0] % 2 == 0


@delivery.condition("test_broken")
def _broken(conn: Conn, svc: Services, args: dict[str, Any]) -> bool:
    raise ZeroDivisionError("a bug in a condition")


async def test_conditions_are_checked_in_the_claim_and_a_broken_one_does_not_stall_the_rest(
    sandbox: Sandbox,
    db: Database,
    clock: FakeClock,
    make_sender: MakeSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rows checked and claimed many to a transaction: one whose condition fails is
    finished unsent; a condition that raises (a bug) is logged and its row sent, as an
    unknown one is, instead of failing the batch and with it every other row."""
    users = [sandbox.user(8400 + i, f"V{i}") for i in range(12)]
    for u in users:
        key = f"v:{u.id}"
        hook = "test_broken" if u.id % 4 == 1 else "test_only_even_chats"
        await put(db, clock, key, u.id, valid_while={"hook": hook, "args": {"key": key}})
    with caplog.at_level(logging.INFO, logger="bot.outbox"):
        sender = make_sender(pacer=Pacer(1000))
        sender.wake()
        await sender.drain()
    got = {u.id for u in users if u.inbox}
    assert got == {u.id for u in users if u.id % 2 == 0 or u.id % 4 == 1}
    rows = {r.chat_id: r for r in await store.by_dedup_prefix(db, "v:")}
    assert {c: r.last_error for c, r in rows.items() if c not in got} == dict.fromkeys(
        {u.id for u in users} - got, "superseded: no longer applies"
    )
    assert all(rows[c].status == "sent" for c in got)
    broken = [r for r in caplog.records if "its condition 'test_broken' failed" in r.getMessage()]
    assert len(broken) == 3 and all(r.exc_info for r in broken)


async def test_per_chat_order_and_spacing_hold_in_the_pipeline(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """Many chats with several rows each, all in flight together: each chat still gets its
    rows in order, one at a time, spaced by the interval from the previous answer."""
    sandbox.limiter.global_per_second = 1000
    users = [sandbox.user(8500 + i, f"D{i}") for i in range(40)]
    for part in range(3):
        for u in users:
            await put(db, clock, f"d:{u.id}:{part}", u.id, text=f"part {part}")
    sender = make_sender(pacer=Pacer(300, per_chat_interval=0.2))
    sender.wake()
    await sender.drain(timeout=20)
    for u in users:
        assert [m.text for m in u.inbox] == ["part 0", "part 1", "part 2"]
        times = [c.at for c in ok_sends(sandbox, u.id)]
        assert all(b - a >= 0.19 for a, b in itertools.pairwise(times)), times
