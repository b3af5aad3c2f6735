"""Guidance broadcasts seen by the secretariat (issue 10, items 3 and 4, admin side): the
weekly digest's unacknowledged items, /guidance status with progress and its buttons, the
group's completion line, and the optional channel post."""

from __future__ import annotations

from datetime import timedelta

from bot.guidance import library
from storage import guidance as gstore
from tests.support import BotEnv, make_nfp

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
