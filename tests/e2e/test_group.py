"""The bot's own membership: the secretariat's group (linked when an admin adds the bot,
refused otherwise, freed when the bot leaves, followed when it becomes a supergroup) and a
person blocking the bot in their private chat."""

from __future__ import annotations

from storage import audit, people, regions
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


async def test_a_second_group_of_a_region_is_refused_and_the_first_kept(env: BotEnv) -> None:
    first = env.sandbox.group(-100500, "CBRN CoE Central Asia", bot_member=False)
    await first.add_bot(by=env.admin())
    await first.next_message()
    second = env.sandbox.group(-100501, "Another one", bot_member=False)
    await second.add_bot(by=env.admin())
    msg = await second.next_message()
    assert "Central Asia already has its group" in msg.text
    await env.sandbox.settle()
    assert env.sandbox.calls_to("leaveChat", chat_id=-100501)
    assert await regions.group_chat(env.svc.db, "central-asia") == -100500
    [entry] = await audit.entries(env.svc.db, action="refused")
    assert (entry.target, entry.detail["reason"]) == ("add_to_group", "no_free_region")


async def test_removing_the_bot_frees_the_region_for_another_group(env: BotEnv) -> None:
    first = env.sandbox.group(-100500, "CBRN CoE Central Asia", bot_member=False)
    await first.add_bot(by=env.admin())
    await first.next_message()
    await first.remove_bot(by=env.admin())
    await env.sandbox.settle()
    assert await regions.group_chat(env.svc.db, "central-asia") is None
    second = env.sandbox.group(-100501, "The new one", bot_member=False)
    await second.add_bot(by=env.admin())
    assert "weekly regional digest for Central Asia" in (await second.next_message()).text
    assert await regions.group_chat(env.svc.db, "central-asia") == -100501


async def test_the_region_follows_its_group_upgraded_to_a_supergroup(env: BotEnv) -> None:
    """Telegram sends two service messages (migrate_to in the old group, migrate_from in
    the new supergroup); both are understood, and neither gets an error reply."""
    group = env.sandbox.group(-500, "CBRN CoE Central Asia", type="group", bot_member=False)
    await group.add_bot(by=env.admin())
    await group.next_message()
    supergroup = await group.upgrade(-1001500, by=env.admin())
    await env.sandbox.settle()
    assert await regions.group_chat(env.svc.db, "central-asia") == -1001500
    assert supergroup.inbox == [] and group.inbox[-1].text.startswith("This group will")
    await env.restart()
    assert await regions.group_chat(env.svc.db, "central-asia") == -1001500


async def test_blocking_the_bot_is_recorded_and_unblocking_clears_it(env: BotEnv) -> None:
    user = env.sandbox.user(4242, "Ann")
    await env.say(user, "/start")
    user.block()
    await env.sandbox.settle()
    person = await people.get(env.svc.db, 4242)
    assert person is not None and person.blocked_at == env.svc.clock.now()
    user.unblock()
    await env.sandbox.settle()
    person = await people.get(env.svc.db, 4242)
    assert person is not None and person.blocked_at is None
