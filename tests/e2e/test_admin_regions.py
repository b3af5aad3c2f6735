"""Administrators scoped to their regions (issue 6, item 12), with two regions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.config import Config
from bot.core.clock import FakeClock
from bot.people import roles as people
from storage import people as people_store
from storage import regions
from tests.support import BotEnv, make_nfp


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))


CENTRAL_ADMIN = 7501
SOUTH_ADMIN = 7502


@pytest.fixture
def config(config: Config) -> Config:
    """The shipped region split in two: AFG and PAK in "south-asia", each with its admin."""
    [central] = config.regions
    south_iso3 = {"AFG", "PAK"}
    south = dataclasses.replace(
        central,
        key="south-asia",
        name={"en": "South Asia", "ru": "Южная Азия"},
        group_chat_id=None,
        admins=(SOUTH_ADMIN,),
        countries=tuple(c for c in central.countries if c.iso3 in south_iso3),
    )
    central = dataclasses.replace(
        central,
        admins=(CENTRAL_ADMIN,),
        countries=tuple(c for c in central.countries if c.iso3 not in south_iso3),
    )
    return dataclasses.replace(config, regions=(central, south))


async def test_region_admins_administer_only_their_region(env: BotEnv) -> None:
    central = env.sandbox.user(CENTRAL_ADMIN, "Central", language_code="en")
    south = env.sandbox.user(SOUTH_ADMIN, "South", language_code="en")
    await make_nfp(env, 7511, "KGZ", name="Kyrgyz")
    await make_nfp(env, 7512, "AFG", name="Afghan")

    refused = await env.say(central, "/invite AFG")
    assert "not in a region you administer" in refused.text
    assert "https://t.me/" in (await env.say(central, "/invite KGZ")).text
    menu = await env.say(central, "/invite")
    labels = [b[0] for row in menu.buttons for b in row]
    assert "Kyrgyzstan" in labels and "Afghanistan" not in labels

    listing = await env.say(central, "/nfps")
    assert "Kyrgyz" in listing.text and "Afghan" not in listing.text
    assert "Afghan" in (await env.say(south, "/nfps")).text
    status = await env.say(central, "/status")
    assert "Central Asia" in status.text and "South Asia" not in status.text
    assert "not in a region you administer" in (await env.say(central, "/remind AFG")).text
    clarify = await env.say(central, "/clarify AFG why?")
    assert "not in a region you administer" in clarify.text

    revoke = await env.say(central, "/revoke")
    assert all("AFG" not in b[0] for row in revoke.buttons for b in row)
    [afghan] = await people_store.assignments_of(env.svc.db, 7512)
    await central.press_forged(f"rvy:a:{afghan.id}", message_id=revoke.message_id)
    await env.sandbox.settle()
    assert await people_store.assignments_of(env.svc.db, 7512) != []
    with pytest.raises(people.NotAllowed):
        await people.revoke_assignment(env.svc, CENTRAL_ADMIN, afghan.id)

    # the deployment-wide admin sees both regions
    both = await env.say(env.admin(), "/status")
    assert "Central Asia" in both.text and "South Asia" in both.text

    # without a group, a region's notices go to its own admins and the deployment-wide ones
    from bot.reporting.schedule import secretariat_chats
    from tests.support import ADMIN_ID

    async with env.svc.db.transaction() as tx:
        south_chats = await secretariat_chats(tx, env.svc, env.config.region("south-asia"))
        central_chats = await secretariat_chats(tx, env.svc, env.config.region("central-asia"))
    assert {c for c, _ in south_chats} == {ADMIN_ID, SOUTH_ADMIN}
    assert {c for c, _ in central_chats} == {ADMIN_ID, CENTRAL_ADMIN}

    # a region admin adding the bot to a group links it to their own region
    group = env.sandbox.group(-1007513, "South secretariat", bot_member=False)
    await group.add_bot(by=south)
    assert "South Asia" in (await group.next_message()).text
    assert await regions.group_chat(env.svc.db, "south-asia") == group.id
    assert await regions.group_chat(env.svc.db, "central-asia") is None
