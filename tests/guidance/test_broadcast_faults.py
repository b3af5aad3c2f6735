"""A guidance broadcast against an unreliable Telegram (issue 10, item 3): nobody skipped,
nobody sent twice. Telegram's answers are injected in the sandbox per chat: 403 (blocked,
without the bot hearing of it), 429 with ``retry_after``, and 500/502; the count of
successful sends per chat comes from the sandbox's own call log."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

from bot.guidance import subscriptions
from bot.outbox import broadcasts
from bot.people import roles as people
from sandbox import Sandbox
from storage import guidance as gstore
from storage import outbox
from tests.support import BotEnv

WHO_LINK = "https://www.who.int/publications/i/item/WHO-2019-nCoV-IPC-2020.4"
N = 60


def sends_per_chat(sb: Sandbox, chats: list[int]) -> Counter[int]:
    """Alerts Telegram accepted, per chat (failed calls are in the log too: not counted)."""
    wanted = set(chats)
    return Counter(
        int(c.chat_id)
        for c in sb.calls_to("sendMessage")
        if c.ok
        and isinstance(c.chat_id, int)
        and c.chat_id in wanted
        and "New guidance" in str(c.params.get("text", ""))
    )


async def test_broadcast_with_blocked_429_and_5xx_skips_nobody_and_sends_nobody_twice(
    env: BotEnv,
) -> None:
    ids = list(range(5001, 5001 + N))
    for tg_id in ids:
        env.sandbox.user(tg_id, f"S{tg_id}")
        await people.register(env.svc, people.UserInfo(tg_id, f"S{tg_id}"))
        await people.set_language(env.svc, tg_id, "en")
        await subscriptions.subscribe(env.svc, tg_id)
    blocked, limited, broken, flaky = ids[0:5], ids[10:20], ids[20:25], ids[30:35]
    sb = env.sandbox
    for chat in blocked:
        sb.inject("sendMessage", status=403, chat_id=chat, times=1)
    for chat in limited:
        sb.inject("sendMessage", status=429, retry_after=1, chat_id=chat, times=1)
    for chat in broken:
        sb.inject("sendMessage", status=500, chat_id=chat, times=2)
    for chat in flaky:
        sb.inject("sendMessage", status=502, chat_id=chat, times=1)

    admin = env.admin()
    await env.say(admin, f"/addguidance {WHO_LINK} Masks #covid19")
    admin.drain()
    await admin.press("Add and send alerts")
    assert "Added as #" in (await admin.next_message()).text
    item = (await gstore.latest(env.svc.db, None, 1, 0))[0][0]
    bid = await gstore.broadcast_of(env.svc.db, item.id)
    assert bid is not None

    # retries are scheduled on the injected clock: move it on until nothing is pending
    deadline = time.monotonic() + 60
    while await outbox.pending_count(env.svc.db):
        assert time.monotonic() < deadline, await broadcasts.progress(env.svc, bid)
        await env.outbox.drain(timeout=30)
        env.clock.advance(timedelta(seconds=10))
        await asyncio.sleep(0.05)
    await sb.settle()

    sent = sends_per_chat(sb, ids)
    assert all(sent[c] == 1 for c in ids if c not in blocked), sent  # nobody skipped, once
    assert not any(sent[c] for c in blocked)
    assert max(sent.values()) == 1
    # every injected failure was met (the faults were really hit, not bypassed)
    refused = Counter(
        (int(c.chat_id), c.status) for c in sb.calls_to("sendMessage") if not c.ok and c.chat_id
    )
    assert all(refused[(c, 403)] == 1 for c in blocked)
    assert all(refused[(c, 429)] == 1 for c in limited)
    assert all(refused[(c, 500)] == 2 for c in broken)
    assert all(refused[(c, 502)] == 1 for c in flaky)
    p = await broadcasts.progress(env.svc, bid)
    assert p is not None and p.broadcast.state == "done"
    assert (p.counts["sent"], p.counts["blocked"], p.remaining) == (N - 5, 5, 0), p.counts
    # the blocked are marked so: the next item does not queue them at all
    left = await gstore.recipients(env.svc.db, "en", ["covid19"], "en")
    assert not {r.tg_id for r in left} & set(blocked)
