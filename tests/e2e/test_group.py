"""The secretariat's group: linked when an admin adds the bot, refused otherwise."""

from __future__ import annotations

from storage import audit, regions
from tests.support import BotEnv


async def test_an_admin_adds_the_bot_and_the_group_gets_the_region(env: BotEnv) -> None:
    group = env.sandbox.group(-100500, "CBRN CoE Central Asia", bot_member=False)
    await group.add_bot(by=env.admin())
    msg = await group.next_message()
    assert "weekly regional digest for Central Asia" in msg.text
    assert await regions.group_chat(env.svc.db, "central-asia") == -100500
    await env.restart()
    assert await regions.group_chat(env.svc.db, "central-asia") == -100500


async def test_a_stranger_cannot_add_the_bot_to_a_group(env: BotEnv) -> None:
    stranger = env.sandbox.user(666, "Eve")
    group = env.sandbox.group(-100666, "Not ours", bot_member=False)
    await group.add_bot(by=stranger)
    msg = await group.next_message()
    assert "Only an administrator of the secretariat" in msg.text
    await env.sandbox.settle()
    assert env.sandbox.calls_to("leaveChat", chat_id=-100666)
    assert await regions.group_chat(env.svc.db, "central-asia") is None
    [entry] = await audit.entries(env.svc.db, action="refused")
    assert entry.target == "add_to_group" and entry.actor == 666
