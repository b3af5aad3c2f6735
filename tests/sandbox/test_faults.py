"""Failures the bot must survive: blocks, flood control, 5xx, slow or lost answers, bad token."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time

import pytest
from telegram import Bot
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from sandbox import Sandbox, SimUser

USER = 3001


def _seconds(retry_after: int | dtm.timedelta) -> float:
    """RetryAfter.retry_after is an int, or a timedelta with PTB_TIMEDELTA=true."""
    if isinstance(retry_after, dtm.timedelta):
        return retry_after.total_seconds()
    return float(retry_after)


@pytest.fixture
def ann(sb: Sandbox) -> SimUser:
    return sb.user(USER, "Ann")


async def test_blocked_user_gets_403_and_queues_my_chat_member(
    bot: Bot, sb: Sandbox, ann: SimUser
) -> None:
    await bot.send_message(USER, "before")
    ann.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "after")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(USER, "typing")
    updates = await bot.get_updates(timeout=0)
    change = updates[-1].my_chat_member
    assert change is not None
    assert change.old_chat_member.status == "member"
    assert change.new_chat_member.status == "kicked"
    ann.unblock()
    assert (await bot.send_message(USER, "back")).text == "back"
    assert [c.status for c in sb.calls_to("sendMessage")] == [200, 403, 200]


async def test_injected_429_5xx_and_chat_targeting(bot: Bot, sb: Sandbox, ann: SimUser) -> None:
    other = sb.user(USER + 1)
    sb.inject("sendMessage", status=429, retry_after=7, chat_id=USER)
    await bot.send_message(other.chat_id, "not targeted")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "x")
    assert _seconds(info.value.retry_after) == 7
    sb.inject(status=502, times=2)  # any method except getUpdates
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_me()
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "x")
    sb.inject("sendMessage", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER, "x")
    assert (await bot.send_message(USER, "recovered")).text == "recovered"
    statuses = [(c.method, c.status) for c in sb.calls[-6:]]
    assert statuses == [
        ("sendMessage", 200),
        ("sendMessage", 429),
        ("getMe", 502),
        ("sendMessage", 502),
        ("sendMessage", 500),
        ("sendMessage", 200),
    ]
    assert sb.stats["errors"] == {429: 1, 502: 2, 500: 1}
    assert sb.calls_to("sendMessage", chat_id=USER)[0].description == (
        "Too Many Requests: retry after 7"
    )


async def test_slow_and_dropped_answers(bot: Bot, sb: Sandbox, ann: SimUser) -> None:
    sb.inject("sendMessage", delay=0.3)
    t0 = time.perf_counter()
    msg = await bot.send_message(USER, "slow but fine")
    assert time.perf_counter() - t0 >= 0.3 and msg.text == "slow but fine"
    # Slower than the client waits: PTB times out, yet the message was delivered (as in
    # production), so a naive retry would send it twice.
    sb.inject("sendMessage", delay=0.5)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "late", read_timeout=0.15)
    sb.inject("sendMessage", drop=True)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "lost")
    assert (await bot.send_message(USER, "next")).text == "next"
    assert [c.status for c in sb.calls_to("sendMessage")] == [200, 200, 0, 200]
    # the dropped one never landed; the late one did
    assert [m.text for m in ann.inbox] == ["slow but fine", "late", "next"]


async def test_bad_token_is_401_invalid_token(sb: Sandbox) -> None:
    wrong = Bot("123456:WRONG", base_url=sb.base_url, base_file_url=sb.base_file_url)
    try:
        with pytest.raises(InvalidToken):
            await wrong.get_me()
    finally:
        # never initialized, so Bot.shutdown would skip it: its connection would be left
        # open (a ResourceWarning in whichever test the garbage collector runs next)
        await wrong.request.shutdown()
    assert sb.calls[-1].status == 401 and sb.calls[-1].description == "Unauthorized"


async def test_group_rate_limit_20_per_minute(bot: Bot, sb: Sandbox) -> None:
    grp = sb.group(-1009876543210, "Secretariat")
    for i in range(20):
        await bot.send_message(grp.id, f"digest part {i}")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(grp.id, "one too many")
    assert 55 <= _seconds(info.value.retry_after) <= 60
    assert len(grp.inbox) == 20
    # Edits are not message sends; other chats are unaffected.
    await bot.edit_message_text("edited", grp.id, grp.inbox[0].message_id)
    sb.user(USER)
    await bot.send_message(USER, "private is fine")


async def test_global_rate_limit_30_per_second(bot: Bot, sb: Sandbox) -> None:
    users = [sb.user(5000 + i) for i in range(31)]
    results = await asyncio.gather(
        *(bot.send_message(u.chat_id, "broadcast") for u in users), return_exceptions=True
    )
    limited = [r for r in results if isinstance(r, RetryAfter)]
    assert len(limited) == 1 and _seconds(limited[0].retry_after) == 1
    sb.enforce_rate_limits = False
    await asyncio.gather(*(bot.send_message(u.chat_id, "unlimited") for u in users))


async def test_optional_private_chat_limit() -> None:
    async with Sandbox(private_chat_per_second=1) as sb:
        sb.user(USER)
        async with Bot(sb.token, base_url=sb.base_url) as bot:
            await bot.send_message(USER, "one")
            with pytest.raises(RetryAfter):
                await bot.send_message(USER, "two")


async def test_long_poll_holds_until_update_and_conflicts(
    bot: Bot, sb: Sandbox, ann: SimUser
) -> None:
    async def later() -> None:
        await asyncio.sleep(0.2)
        await ann.send("wake up")

    t0 = time.perf_counter()
    _, updates = await asyncio.gather(later(), bot.get_updates(timeout=3))
    assert 0.2 <= time.perf_counter() - t0 < 1.5
    assert updates[0].message is not None and updates[0].message.text == "wake up"

    held = asyncio.create_task(bot.get_updates(offset=updates[0].update_id + 1, timeout=3))
    await asyncio.sleep(0.05)
    # A second bot instance polling (PTB serializes getUpdates within one Bot).
    async with Bot(sb.token, base_url=sb.base_url) as twin:
        assert await twin.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await held

    assert await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://example.org/hook")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()


async def test_a_lost_confirmation_redelivers_the_same_updates(
    bot: Bot, sb: Sandbox, ann: SimUser
) -> None:
    await ann.send("one")
    await ann.send("two")
    first = await bot.get_updates(timeout=0)
    assert [u.message.text if u.message else None for u in first] == ["one", "two"]
    sb.lose_confirmations(1)
    # the call carrying the offset "never arrived": both come back, same update_ids
    again = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert await bot.get_updates(offset=first[-1].update_id + 1, timeout=0) == ()
    # a call that confirms nothing does not use up a lost confirmation
    sb.lose_confirmations(1)
    assert await bot.get_updates(offset=first[-1].update_id + 1, timeout=0) == ()
    await ann.send("three")
    third = await bot.get_updates(timeout=0)
    assert [u.message.text if u.message else None for u in third] == ["three"]
    assert len(await bot.get_updates(offset=third[-1].update_id + 1, timeout=0)) == 1
    assert sb.pending_updates == 1


async def test_random_faults_are_seeded_and_spare_get_updates(sb: Sandbox, ann: SimUser) -> None:
    from sandbox import RandomFaults

    sb.enforce_rate_limits = False  # only the injected 429s here

    async def run(seed: int) -> list[int]:
        sb.chaos = RandomFaults(seed, error_rate=0.3, statuses=(429, 502), retry_after=2)
        statuses = []
        async with Bot(sb.token, base_url=sb.base_url) as b:
            for i in range(40):
                try:
                    await b.send_message(USER, f"m{i}")
                    statuses.append(200)
                except RetryAfter as err:
                    assert _seconds(err.retry_after) == 2
                    statuses.append(429)
                except NetworkError:
                    statuses.append(502)
            await ann.send("poll me")
            updates = await b.get_updates(timeout=0)  # never refused
            last = updates[-1].message
            assert last is not None and last.text == "poll me"
            await b.get_updates(offset=updates[-1].update_id + 1, timeout=0)
            await b.get_me()  # not a reply method
        assert sum(sb.chaos.injected.values()) == sum(s != 200 for s in statuses)
        return statuses

    first = await run(7)
    assert await run(7) == first
    assert {429, 502} <= set(first) and 5 <= first.count(200) <= 38
    assert await run(8) != first
    sb.chaos = RandomFaults(1, unconfirmed_rate=1.0)
    await ann.send("again")
    async with Bot(sb.token, base_url=sb.base_url) as b:
        ids = [u.update_id for u in await b.get_updates(timeout=0)]
        assert [u.update_id for u in await b.get_updates(offset=ids[-1] + 1, timeout=0)] == ids
    assert sb.chaos.unconfirmed == 1
