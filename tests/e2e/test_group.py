"""The bot's own membership: the secretariat's group (linked when an admin adds the bot,
refused otherwise, freed when the bot leaves, followed when it becomes a supergroup) and a
person blocking the bot in their private chat."""

from __future__ import annotations

from datetime import timedelta

from sandbox import SimGroup
from storage import audit, outbox, people, regions
from tests.support import BotEnv, deliver


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


async def _linked(env: BotEnv, chat_id: int, title: str) -> SimGroup:
    group = env.sandbox.group(chat_id, title, bot_member=False)
    await group.add_bot(by=env.admin())
    assert "weekly regional digest for" in (await group.next_message()).text
    return group


async def test_a_second_group_is_offered_the_digest_and_only_an_admin_moves_it(
    env: BotEnv,
) -> None:
    """The adversary: anyone in the new group can press the offer's button (or forge it)."""
    first = await _linked(env, -100500, "CBRN CoE Central Asia")
    second = env.sandbox.group(-100501, "The new one", bot_member=False)
    await second.add_bot(by=env.admin())
    offer = await second.next_message()
    assert "Central Asia already has its group" in offer.text
    assert offer.button_texts() == [
        "Move the digest for Central Asia here",
        "No, keep it where it is",
    ]
    await env.sandbox.settle()
    assert not env.sandbox.calls_to("leaveChat", chat_id=-100501)

    member = env.sandbox.user(777, "A group member")
    await member.press("Move the digest for Central Asia here", chat=second)
    await env.sandbox.settle()
    assert member.callback_answers[-1]["show_alert"] is True
    assert "Only an administrator" in member.callback_answers[-1]["text"]
    assert await regions.group_chat(env.svc.db, "central-asia") == -100500
    [refusal] = await audit.entries(env.svc.db, action="refused")
    assert (refusal.actor, refusal.target) == (777, "move_group")

    await env.admin().press("Move the digest for Central Asia here", chat=second)
    await env.sandbox.settle()
    assert await regions.group_chat(env.svc.db, "central-asia") == -100501
    assert second.inbox[-1].text.startswith("This group will receive the weekly regional digest")
    await deliver(env)
    assert "now goes to another group" in first.inbox[-1].text
    [moved] = await audit.entries(env.svc.db, action="group_move")
    assert moved.detail == {"chat": -100501, "old": -100500}


async def test_a_group_button_forged_in_a_private_chat_is_stale(env: BotEnv) -> None:
    await _linked(env, -100500, "CBRN CoE Central Asia")
    admin = env.admin()
    msg = await env.say(admin, "/help")
    await admin.press_forged("gm:central-asia", message_id=msg.message_id)
    await env.sandbox.settle()
    assert admin.callback_answers[-1]["show_alert"] is True
    assert await regions.group_chat(env.svc.db, "central-asia") == -100500


async def test_an_admin_keeps_the_digest_where_it_is_and_the_bot_leaves(env: BotEnv) -> None:
    await _linked(env, -100500, "CBRN CoE Central Asia")
    second = env.sandbox.group(-100501, "Another one", bot_member=False)
    await second.add_bot(by=env.admin())
    await second.next_message()
    stranger = env.sandbox.user(778, "Someone")
    await stranger.press("No, keep it where it is", chat=second)
    await env.sandbox.settle()
    assert not env.sandbox.calls_to("leaveChat", chat_id=-100501)
    await env.admin().press("No, keep it where it is", chat=second)
    await env.sandbox.settle()
    assert env.sandbox.calls_to("leaveChat", chat_id=-100501)
    assert await regions.group_chat(env.svc.db, "central-asia") == -100500


async def test_removing_the_bot_frees_the_region_for_another_group(env: BotEnv) -> None:
    first = env.sandbox.group(-100500, "CBRN CoE Central Asia", bot_member=False)
    await first.add_bot(by=env.admin())
    await first.next_message()
    admin = env.admin()
    await env.say(admin, "/start")
    admin.drain()
    await first.remove_bot(by=admin)
    await env.sandbox.settle()
    assert await regions.group_chat(env.svc.db, "central-asia") is None
    await deliver(env)
    [notice] = admin.drain()
    assert "no longer in the group «CBRN CoE Central Asia»" in notice.text
    assert "digest for Central Asia" in notice.text
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
    later = env.svc.clock.now() + timedelta(days=1)
    async with env.svc.db.transaction() as tx:  # a post queued for the old id, not yet sent
        await outbox.enqueue(
            tx,
            env.svc.clock.now(),
            dedup_key="t",
            chat_id=-500,
            kind="t",
            text="queued",
            not_before=later,
        )
    supergroup = await group.upgrade(-1001500, by=env.admin())
    await env.sandbox.settle()
    assert await regions.group_chat(env.svc.db, "central-asia") == -1001500
    queued = await outbox.by_dedup_key(env.svc.db, "t")
    assert queued is not None and queued.chat_id == -1001500
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
