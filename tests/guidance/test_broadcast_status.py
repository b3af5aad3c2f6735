"""Guidance broadcasts seen by the secretariat (issue 10, items 3 and 4, admin side): the
weekly digest's unacknowledged items, /guidance status with progress and its buttons, the
group's completion line, and the optional channel post."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

import pytest

from bot.config import Config, ConfigError, parse_config
from bot.config import guidance as guidance_config
from bot.config.guidance import Guidance
from bot.core.clock import FakeClock
from bot.guidance import library, subscriptions
from bot.guidance import status as status_mod
from bot.outbox import broadcasts
from bot.people import roles as people
from handlers.guidance import refresh_panels
from sandbox import Sandbox, SentMessage, SimGroup, SimUser
from storage import guidance as gstore
from storage import regions
from tests.support import BotEnv, make_nfp

ROOT = Path(__file__).resolve().parents[2]
WHO_LINK = "https://www.who.int/publications/i/item/WHO-2019-nCoV-IPC-2020.4"


async def _drain(env: BotEnv) -> None:
    await env.outbox.drain(timeout=30)
    await env.sandbox.settle()


async def _add(env: BotEnv, command: str) -> int:
    """The admin adds an item with one command and the Add button; its id."""
    admin = env.admin()
    draft = await env.say(admin, command)
    assert "New item for the library" in draft.text, draft.text
    admin.drain()
    await admin.press("Add and send alerts")
    saved = await admin.next_message()
    assert "Added as #" in saved.text, saved.text
    return (await gstore.latest(env.svc.db, None, 1, 0))[0][0].id


# --- item 4: the digest's unacknowledged items ------------------------------------------


async def test_unacknowledged_lists_each_countrys_unread_items(env: BotEnv) -> None:
    region = env.config.regions[0]
    kgz = await make_nfp(env, 3301, "KGZ", "en", name="Aida")
    await make_nfp(env, 3302, "TJK", "en", name="Sino")
    since = env.clock.now()
    await _add(env, f"/addguidance {WHO_LINK} Masks #covid19")
    env.clock.advance(timedelta(minutes=1))
    second = await _add(env, "/addguidance https://www.who.int/doc2 Hand hygiene #covid19")
    await _drain(env)
    alerts = [m for m in kgz.drain() if "New guidance" in m.text and "Hand hygiene" in m.text]
    await kgz.press("✓ Read", message_id=alerts[0].message_id)
    await env.sandbox.settle()
    got = await library.unacknowledged(env.svc, region, since)
    # KGZ read the second item; TJK read nothing; countries without NFPs are not listed
    assert got == {"KGZ": ["Masks"], "TJK": ["Masks", "Hand hygiene"]}, got
    # only items added since `since`; a withdrawn item is no longer asked for
    later = env.clock.advance(timedelta(minutes=1))
    assert await library.unacknowledged(env.svc.db, region, later) == {}
    await library.withdraw(env.svc, env.config.admins[0], second)
    assert await library.unacknowledged(env.svc.db, region, since) == {
        "KGZ": ["Masks"],
        "TJK": ["Masks"],
    }


# --- item 3, the admin's side: progress, pause / resume / cancel, the group's line ----------


async def _subscribers(env: BotEnv, first: int, n: int, lang: str = "en") -> list[SimUser]:
    """``n`` people subscribed to every topic in ``lang`` (the domain's own subscribe)."""
    users = []
    for tg_id in range(first, first + n):
        users.append(env.sandbox.user(tg_id, f"S{tg_id}", language_code=lang))
        await people.register(env.svc, people.UserInfo(tg_id, f"S{tg_id}"))
        await people.set_language(env.svc, tg_id, lang)
        await subscriptions.subscribe(env.svc, tg_id)
    return users


async def _secretariat_group(env: BotEnv) -> SimGroup:
    group = env.sandbox.group(-100500, "CBRN CoE Central Asia")
    async with env.svc.db.transaction() as tx:
        await regions.set_group_chat(tx, env.config.regions[0].key, group.id)
    return group


def _panel(admin: SimUser, message_id: int) -> SentMessage:
    """The status message as the admin's chat shows it now (edits applied)."""
    [panel] = [m for m in admin.inbox if m.message_id == message_id]
    return panel


def _alerts(user: SimUser) -> list[SentMessage]:
    return [m for m in user.inbox if "New guidance in the library" in m.text]


async def test_status_shows_progress_and_pause_resume_and_the_group_hears_once(
    env: BotEnv,
) -> None:
    group = await _secretariat_group(env)
    users = await _subscribers(env, 4001, 12)
    # this one blocked the bot without the bot hearing of it: Telegram answers 403
    env.sandbox.inject("sendMessage", status=403, chat_id=users[0].id, times=1)
    await env.outbox.stop()  # nothing drains until the test lets it
    item_id = await _add(env, f"/addguidance {WHO_LINK} Masks #covid19")
    admin = env.admin()
    status = await env.say(admin, "/guidance status")
    assert "░░░░░░░░░░ 0%" in status.text and "sending" in status.text, status.text
    assert "sent 0 · pending 12 · failed 0 · blocked 0" in status.text, status.text
    assert status.button_texts() == [f"⏸ Pause #{item_id}", f"✖ Cancel #{item_id}"]

    await admin.press(f"⏸ Pause #{item_id}", message_id=status.message_id)
    await env.sandbox.settle()
    paused = _panel(admin, status.message_id)
    assert "paused" in paused.text and paused.button_texts()[0] == f"▶ Resume #{item_id}"
    assert "Paused" in (admin.callback_answers[-1].get("text") or "")
    env.outbox.start()
    await _drain(env)
    assert not any(_alerts(u) for u in users)  # a paused broadcast sends nothing

    await admin.press(f"▶ Resume #{item_id}", message_id=status.message_id)
    await env.sandbox.settle()
    await _drain(env)
    assert all(len(_alerts(u)) == 1 for u in users[1:]) and not _alerts(users[0])
    # the panel is edited at most once per EDIT_INTERVAL: the press just edited it
    edits_before = len([m for m in admin.drain() if m.message_id == status.message_id])
    assert await refresh_panels(env.svc, env.app.bot) == 0  # type: ignore[union-attr]
    assert not [m for m in admin.drain() if m.message_id == status.message_id]
    env.clock.advance(status_mod.EDIT_INTERVAL)
    await refresh_panels(env.svc, env.app.bot)  # type: ignore[union-attr]
    await _drain(env)
    final = _panel(admin, status.message_id)
    assert "▓▓▓▓▓▓▓▓▓▓ 100%" in final.text and "done" in final.text, final.text
    assert "sent 11 · pending 0 · failed 0 · blocked 1" in final.text, final.text
    assert final.buttons == [] and edits_before >= 1
    assert await gstore.panels(env.svc.db) == []  # done: no more refreshing

    # the group's one line, exactly once whatever runs again
    for _ in range(3):
        env.clock.advance(status_mod.EDIT_INTERVAL)
        await refresh_panels(env.svc, env.app.bot)  # type: ignore[union-attr]
    await env.restart()
    await refresh_panels(env.svc, env.app.bot)  # type: ignore[union-attr]
    await _drain(env)
    lines = [m.text for m in group.inbox if "Guidance «Masks»" in m.text]
    assert lines == ["Guidance «Masks» sent to 11 subscribers (1 blocked, 0 failed)."], lines


async def test_cancel_sends_nothing_more_and_only_an_admin_may_press(env: BotEnv) -> None:
    group = await _secretariat_group(env)
    users = await _subscribers(env, 4101, 5)
    await env.outbox.stop()
    item_id = await _add(env, f"/addguidance {WHO_LINK} Masks #covid19")
    bid = await gstore.broadcast_of(env.svc.db, item_id)
    assert bid is not None
    # a subscriber forges the admin's Cancel on a message of their own: refused, unchanged
    stranger = users[0]
    refused = await env.say(stranger, "/guidance status")
    assert "administrators only" in refused.text
    await stranger.press_forged(f"gbc:{bid}:cancel", message_id=refused.message_id)
    await env.sandbox.settle()
    assert "administrators only" in (stranger.callback_answers[-1].get("text") or "")
    p = await broadcasts.progress(env.svc, bid)
    assert p is not None and p.broadcast.state == "running"

    admin = env.admin()
    status = await env.say(admin, "/guidance status")
    await admin.press(f"✖ Cancel #{item_id}", message_id=status.message_id)
    await env.sandbox.settle()
    shown = _panel(admin, status.message_id)
    assert "cancelled 5" in shown.text and shown.buttons == [], shown.text
    env.outbox.start()
    await _drain(env)
    assert not any(_alerts(u) for u in users)
    env.clock.advance(status_mod.EDIT_INTERVAL)
    await refresh_panels(env.svc, env.app.bot)  # type: ignore[union-attr]
    await _drain(env)
    assert not [m for m in group.inbox if "Guidance «" in m.text]  # cancelled: not complete
    # a second press on the stale button changes nothing
    await admin.press_forged(f"gbc:{bid}:resume", message_id=status.message_id)
    await env.sandbox.settle()
    assert "Nothing to change" in (admin.callback_answers[-1].get("text") or "")


# --- item 5: the channel ----------------------------------------------------------------


def _with_channel(config: Config, channel: int | str) -> Config:
    sections = {**config.sections, guidance_config.SECTION.key: Guidance(channel)}
    return dataclasses.replace(config, sections=MappingProxyType(sections))


async def test_each_new_item_is_posted_once_to_the_channel(
    sandbox: Sandbox, config: Config, clock: FakeClock
) -> None:
    channel = sandbox.channel(-1001234567890, "CBRN CoE Central Asia", username="cbrn_ca")
    env = BotEnv(sandbox, _with_channel(config, "@cbrn_ca"), clock)
    await env.start()
    try:
        assert env.svc.guidance_channel == channel.id  # the @username, resolved at start
        await _subscribers(env, 4201, 2)
        item_id = await _add(env, f"/addguidance {WHO_LINK} Masks #covid19\nHow to wear them.")
        await _drain(env)
        [post] = channel.inbox
        assert "Masks" in post.text and WHO_LINK in post.text and "How to wear" in post.text
        assert post.buttons == []  # nothing to press in a channel
        # an edit posts nothing again; a restart does not either
        admin_id = env.config.admins[0]
        await library.edit(env.svc, admin_id, item_id)
        assert not (await library.save(env.svc, admin_id)).new
        await env.restart()
        await _drain(env)
        assert len(channel.inbox) == 1
        rows = await env.svc.db.fetchval(
            "SELECT count(*) FROM outbox WHERE dedup_key = ?", (f"guidance-channel:{item_id}",)
        )
        assert rows == 1
    finally:
        await env.stop()


async def test_a_channel_where_the_bot_is_no_admin_gets_no_posts(
    sandbox: Sandbox, config: Config, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    channel = sandbox.channel(-1001234567891, "Not ours", admin=False)
    env = BotEnv(sandbox, _with_channel(config, channel.id), clock)
    await env.start()
    try:
        assert env.svc.guidance_channel is None
        assert any("not an administrator" in r.getMessage() for r in caplog.records)
        await _add(env, f"/addguidance {WHO_LINK} Masks #covid19")
        await _drain(env)
        assert channel.inbox == []
        assert not await env.svc.db.fetchval(
            "SELECT count(*) FROM outbox WHERE kind = 'guidance_channel'"
        )
    finally:
        await env.stop()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("'cbrn_ca'", "guidance.channel: expected the channel's @username, got 'cbrn_ca'"),
        ("12345", "guidance.channel: a channel's id is negative (-100…), got 12345"),
        ("true", "guidance.channel: expected an @username or a numeric id, got boolean true"),
    ],
)
def test_the_channel_key_is_checked(value: str, error: str) -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_config(tomllib.loads(text + f"\n[guidance]\nchannel = {value}\n"), env={})
    assert str(info.value) == error


def test_the_channel_key_is_optional_and_read() -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert guidance_config.of(parse_config(tomllib.loads(text), env={})) == Guidance()
    cfg = parse_config(tomllib.loads(text + '\n[guidance]\nchannel = "@cbrn_ca"\n'), env={})
    assert guidance_config.of(cfg).channel == "@cbrn_ca"
    cfg = parse_config(tomllib.loads(text + "\n[guidance]\nchannel = -1001234\n"), env={})
    assert guidance_config.of(cfg).channel == -1001234
