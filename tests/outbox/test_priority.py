"""Replies and the outbox share one budget at Telegram; a reply never queues behind bulk sends."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from bot.config import Config
from bot.core.clock import FakeClock
from sandbox import Sandbox
from storage import outbox as store
from tests.support import BotEnv


async def test_a_reply_goes_ahead_of_a_storm_and_nothing_draws_a_429(
    sandbox: Sandbox, config: Config, clock: FakeClock
) -> None:
    limit = 5
    sandbox.limiter.global_per_second = limit  # Telegram's window, made small
    env = BotEnv(sandbox, dataclasses.replace(config, messages_per_second=limit), clock)
    await env.start()
    try:
        crowd = [sandbox.user(40_000 + i, f"N{i}") for i in range(30)]
        async with env.svc.db.transaction() as tx:
            for u in crowd:
                await store.enqueue(
                    tx, clock.now(), dedup_key=f"news:{u.id}", chat_id=u.id, kind="t", text="news"
                )
        env.svc.wake_outbox()
        started = time.monotonic()
        while sum(len(u.inbox) for u in crowd) < 2 * limit:  # the storm is under way
            assert time.monotonic() - started < 10
            await asyncio.sleep(0.02)
        people = [sandbox.user(41_000 + i, f"Someone {i}") for i in range(3)]
        asked = time.monotonic()
        replies = await asyncio.gather(*(env.say(p, "/start") for p in people))
        waited = time.monotonic() - asked
        left = len(crowd) - sum(len(u.inbox) for u in crowd)
        assert all(r.text for r in replies)
        # more replies than the headroom: the outbox yields, so they wait for the next
        # slots that free (about one window), not behind the queue's 4+ s
        assert waited < 1.5, waited
        assert left >= 10  # the storm was still going
        deadline = time.monotonic() + 20
        while sum(len(u.inbox) for u in crowd) < len(crowd):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert sandbox.limiter.refused == {"global": 0, "group": 0, "private": 0}
    finally:
        await env.stop()


async def test_an_idle_outbox_is_not_woken_by_every_reply(env: BotEnv) -> None:
    """The pacer tells its listeners of every reply (twice: its slot taken, its answer):
    the outbox wakes for that only while it waits for a slot. Idle, it ran a pass for
    each, two per reply, on the main bot's loop."""
    people = [env.sandbox.user(42_000 + i, f"P{i}") for i in range(10)]
    await env.outbox.drain()
    await asyncio.sleep(0.1)
    before = env.outbox.passes
    for p in people:
        assert (await env.say(p, "/start")).text
    assert env.outbox.passes - before <= 2, env.outbox.passes - before
