"""The live status board in the secretariat's group: posted and pinned once per week, edited
in place as reports arrive, never more often than the group's limit allows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from bot.digest import board
from sandbox import SimGroup, SimUser
from storage import boards
from tests.support import ANSWERS_EN, BotEnv, answer_all, make_nfp, next_sent


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


async def _group(env: BotEnv, admin_pins: bool = True) -> SimGroup:
    group = env.sandbox.group(-100500, "CBRN CoE Central Asia", bot_member=False)
    await group.add_bot(by=env.admin())
    await group.next_message()
    if admin_pins:
        group.promote_bot()
    return group


async def _refresh(env: BotEnv) -> int:
    queued = await board.refresh(env.svc)
    sender = env.outbox
    await sender.drain(timeout=20)
    await env.sandbox.settle()
    return queued


async def _confirm(env: BotEnv, nfp: SimUser) -> None:
    await nfp.send("/report")
    await next_sent(nfp)
    await answer_all(env, nfp, ANSWERS_EN)
    await nfp.press("✅ Confirm and send")
    assert "confirmed and sent" in (await next_sent(nfp)).text


def _edits(env: BotEnv, chat_id: int) -> list[float]:
    calls = env.sandbox.calls_to("editMessageText", chat_id=chat_id)
    assert all(c.ok for c in calls), [c.description for c in calls]
    return [c.at for c in calls]


async def test_the_board_is_posted_pinned_and_edited_as_reports_arrive(env: BotEnv) -> None:
    env.clock.set(at(23, 12))  # Monday: every country has had its prompt
    group = await _group(env)
    assert await _refresh(env) == 1
    [post] = [m for m in group.inbox if "Reports: Central Asia · week 47" in m.text]
    assert group.pinned == [post.message_id]
    lines = post.text.splitlines()
    assert "❌ Mongolia: missing" in lines and "0 of 6 countries reported" in lines
    assert "Observers and joining countries (not counted):" in lines
    assert await _refresh(env) == 0  # nothing changed: nothing queued

    mng = await make_nfp(env, 101, "MNG", name="Bold")
    await _confirm(env, mng)
    assert await _refresh(env) == 1
    [shown] = [m.text for m in group.inbox if m.message_id == post.message_id]
    assert "✅ Mongolia: confirmed on time, 23 Nov 20:00" in shown.splitlines()
    assert "1 of 6 countries reported" in shown
    assert len(_edits(env, -100500)) == 1
    record = await boards.get(env.svc.db, "central-asia", "2026-W47")
    assert record is not None and record.message_id == post.message_id


async def test_a_burst_of_reports_is_coalesced_within_the_group_limit(env: BotEnv) -> None:
    """The adversary: six countries confirming minutes apart, the board refreshed every
    five seconds. Edits stay at most one per EDIT_INTERVAL, and the last one is current."""
    env.clock.set(at(23, 12))
    group = await _group(env)
    await _refresh(env)
    nfps = [
        await make_nfp(env, 200 + i, iso3, name=f"NFP {iso3}")
        for i, iso3 in enumerate(["AFG", "KGZ", "MNG", "PAK", "TJK", "UZB"])
    ]
    queued_at: list[datetime] = []
    for nfp in nfps:
        await _confirm(env, nfp)
        for _ in range(2):  # two refreshes 5 s apart per report: 10 s between reports
            if await _refresh(env):
                queued_at.append(env.clock.now())
            env.clock.advance(board.REFRESH_INTERVAL)
    for _ in range(4):  # let the last change through
        if await _refresh(env):
            queued_at.append(env.clock.now())
        env.clock.advance(board.REFRESH_INTERVAL)
    assert len(queued_at) < len(nfps), "changes were coalesced"
    gaps = [b - a for a, b in itertools.pairwise(queued_at)]
    assert all(g >= board.EDIT_INTERVAL for g in gaps), gaps
    assert 60 / board.EDIT_INTERVAL.total_seconds() <= 20  # within Telegram's 20/min a group
    [current] = [m for m in group.inbox if "Reports: Central Asia · week 47" in m.text]
    assert "6 of 6 countries reported" in current.text


async def test_a_new_week_gets_a_new_board_and_the_old_one_stays(env: BotEnv) -> None:
    env.clock.set(at(23, 12))
    group = await _group(env)
    await _refresh(env)
    env.clock.set(at(30, 12))
    assert await _refresh(env) == 1
    boards_posted = [m for m in group.inbox if "Reports: Central Asia · week" in m.text]
    assert [("week 47 " in m.text, "week 48 " in m.text) for m in boards_posted] == [
        (True, False),
        (False, True),
    ]
    assert group.pinned == [m.message_id for m in boards_posted]
    old = await boards.get(env.svc.db, "central-asia", "2026-W47")
    assert old is not None and old.message_id == boards_posted[0].message_id


async def test_a_board_deleted_in_the_group_is_posted_again(env: BotEnv) -> None:
    env.clock.set(at(23, 12))
    group = await _group(env)
    await _refresh(env)
    [post] = [m for m in group.inbox if "Reports: Central Asia · week 47" in m.text]
    group.delete(post.message_id)  # an administrator of the group deleted it
    await _confirm(env, await make_nfp(env, 101, "MNG", name="Bold"))
    await _refresh(env)  # the edit fails: the board is forgotten
    env.clock.advance(timedelta(seconds=1))
    assert await _refresh(env) == 1
    reposted = [m for m in group.inbox if "Reports: Central Asia · week 47" in m.text]
    assert (
        len(reposted) == 1
        and reposted[0].message_id != post.message_id
        and "1 of 6 countries reported" in reposted[-1].text
    )


async def test_without_pin_rights_the_board_is_posted_unpinned(env: BotEnv) -> None:
    env.clock.set(at(23, 12))
    group = await _group(env, admin_pins=False)
    await _refresh(env)
    assert [m for m in group.inbox if "Reports: Central Asia · week 47" in m.text]
    assert group.pinned == []
    [pin] = env.sandbox.calls_to("pinChatMessage", chat_id=-100500)
    assert not pin.ok and "not enough rights" in (pin.description or "")
