"""Nobody acts where they do not belong (issue 6, items 7-12), through the sandbox.

Revoked NFPs, forged callback data, strangers, groups and region-scoped administrators.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.clock import FakeClock
from bot.people import roles as people
from storage import audit, followups, regions
from storage import people as people_store
from storage import reports as store
from tests.e2e.test_weekly_report import confirm_report
from tests.support import ADMIN_ID, ANSWERS_EN, BotEnv, answer_all, make_nfp, next_sent

STALE = "This button is no longer valid."


@pytest.fixture
def clock() -> FakeClock:
    # Monday of ISO week 48, 12:00 UTC: week 47 is the week to report
    return FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))


async def _revoke(env: BotEnv, tg_id: int) -> None:
    [a] = await people_store.assignments_of(env.svc.db, tg_id)
    assert await people.revoke_assignment(env.svc, ADMIN_ID, a.id) is not None


# --- item 7: a revoked NFP is out at once, at every step -----------------------------------


async def test_a_revocation_by_another_process_is_seen_by_the_next_answer(env: BotEnv) -> None:
    """An answer decides on the state the previous one left (one round trip), confirmed
    against the database in that same call: a revocation written by another process (the
    CLI) in between is not missed, and the answer is refused, not stored."""
    from storage.db import Database

    nfp = await make_nfp(env, 7111, "KGZ", name="Elsewhere")
    await nfp.send("/report")
    await next_sent(nfp)
    assert "Question 2 of 9" in (await env.say(nfp, "100")).text
    other = await Database.open(env.config.database)  # another process's connection
    try:
        [a] = await people_store.assignments_of(other, 7111)
        async with other.transaction() as tx:
            await people_store.revoke_assignment(tx, env.clock.now(), a.id, ADMIN_ID)
    finally:
        await other.close()
    reply = await env.say(nfp, "7")  # would be new_deaths
    assert "no longer" in reply.text
    report = await store.find(env.svc.db, "KGZ", "2026-W47")
    assert report is not None
    assert await store.answers(env.svc.db, report.id) == {"new_cases": 100}


async def test_revoked_nfp_can_neither_answer_nor_confirm(env: BotEnv) -> None:
    nfp = await make_nfp(env, 7101, "KGZ", name="Revoked")
    await nfp.send("/report")
    await next_sent(nfp)
    await nfp.send("100")
    await next_sent(nfp)
    await _revoke(env, 7101)
    # the report is free at once: a colleague opens it without a take-over
    colleague = await make_nfp(env, 7103, "KGZ", kind="alternate", name="Colleague")
    assert "Question 2 of 9" in (await env.say(colleague, "/report")).text
    reply = await env.say(nfp, "7")  # would be new_deaths
    assert "no longer" in reply.text
    report = await store.find(env.svc.db, "KGZ", "2026-W47")
    assert report is not None and report.editor == 7103
    assert await store.answers(env.svc.db, report.id) == {"new_cases": 100}

    # a second NFP fills in to the review; revoked there, the confirm button does nothing
    other = await make_nfp(env, 7102, "MNG", name="Other")
    await other.send("/report")
    await next_sent(other)
    review = await answer_all(env, other, ANSWERS_EN)
    assert "Please check your answers" in review.text
    await _revoke(env, 7102)
    other.drain()
    await other.press("✅ Confirm and send")
    await env.sandbox.settle()
    mng = await store.find(env.svc.db, "MNG", "2026-W47")
    assert mng is not None and mng.version == 0 and not mng.confirmed
    assert "no longer" in other.callback_answers[-1]["text"]
    assert all("Thank you" not in m.text for m in other.drain())


async def test_revoked_nfp_cannot_answer_a_clarification(env: BotEnv) -> None:
    nfp = await make_nfp(env, 7111, "MNG", name="Bold")
    await confirm_report(env, nfp)
    admin = env.admin()
    await env.say(admin, "/clarify MNG Why?")
    await env.outbox.drain()
    await env.sandbox.settle()
    nfp.drain()
    await nfp.press("Answer")
    await next_sent(nfp)
    await _revoke(env, 7111)
    reply = await env.say(nfp, "Because.")
    assert "no longer" in reply.text
    report = await store.find(env.svc.db, "MNG", "2026-W47")
    assert report is not None
    [q] = await followups.clarifications_of(env.svc.db, report.id)
    assert q.open


async def test_revoked_nfp_cannot_save_a_revision(env: BotEnv) -> None:
    kgz = await make_nfp(env, 7112, "KGZ", name="Reviser")
    await confirm_report(env, kgz)
    await env.say(kgz, "/revise")
    await kgz.press("week 47, 2026")
    await next_sent(kgz)
    await kgz.press("New COVID-19 deaths this week: 5")
    await next_sent(kgz)
    assert "reason" in (await env.say(kgz, "444")).text
    await _revoke(env, 7112)
    reply = await env.say(kgz, "Deaths reclassified after review")
    assert "no longer" in reply.text
    assert await followups.revisions_of(env.svc.db, "KGZ", "2026-W47") == []


# --- item 8: forged callback data ----------------------------------------------------------


async def test_forged_callback_data_is_refused_and_every_query_answered(env: BotEnv) -> None:
    nfp = await make_nfp(env, 7201, "KGZ", name="Forger")
    alt = await make_nfp(env, 7202, "KGZ", kind="alternate", name="Colleague")
    stranger = env.sandbox.user(7203, "Stranger")
    msg = await env.say(nfp, "/help")
    smsg = await env.say(stranger, "/help")
    forged = [
        (stranger, smsg, "dg:KGZ:7202"),  # a stranger opening the delegation flow
        (nfp, msg, "dgu:KGZ:7202:92"),  # a length never offered
        (nfp, msg, "rs:KGZ:2000-W01"),
        (nfp, msg, "rs:KGZ:1970-W01"),
        (nfp, msg, "rs:KGZ:0001-W01"),  # OverflowError in date arithmetic before
        (nfp, msg, "rs:KGZ:2026-W40"),  # a past week nobody was asked for
        (nfp, msg, "cq:" + "9" * 25),  # OverflowError in SQLite before
        (nfp, msg, "r:" + "9" * 25 + ":ok"),
        (nfp, msg, "rc:ZZZ"),
        (nfp, msg, "lang:xx"),
        (nfp, msg, "zz:whatever"),
    ]
    for user, message, data in forged:
        before = len(user.callback_answers)
        await user.press_forged(data, message_id=message.message_id)
        await env.sandbox.settle()
        answers = user.callback_answers
        assert len(answers) == before + 1, data  # every query is answered
        assert answers[-1]["text"] == STALE, data
    assert [m for m in nfp.drain() + stranger.drain() if m.kind == "sent"] == []
    for week in ("2000-W01", "1970-W01", "2026-W40"):
        assert await store.find(env.svc.db, "KGZ", week) is None
    assert await audit.entries(env.svc.db, action="delegate") == []
    assert alt.drain() == []
    # what the product does offer still works: this week's report from a prompt-like button
    await nfp.press_forged("rs:KGZ:2026-W47", message_id=msg.message_id)
    assert "Question 1 of 9" in (await next_sent(nfp)).text


async def test_admin_forged_ids_are_bounded(env: BotEnv) -> None:
    admin = env.admin()
    msg = await env.say(admin, "/help")
    for data in ("rvy:a:" + "9" * 25, "rv:a:" + "9" * 25, "invc:ZZZ", "inv:KGZ:boss"):
        before = len(admin.callback_answers)
        await admin.press_forged(data, message_id=msg.message_id)
        await env.sandbox.settle()
        assert len(admin.callback_answers) == before + 1, data
        assert admin.callback_answers[-1]["text"] == STALE, data


async def test_forged_report_button_in_a_group_posts_nothing_there(env: BotEnv) -> None:
    nfp = await make_nfp(env, 7211, "MNG", name="Bold")
    await confirm_report(env, nfp)
    group = env.sandbox.group(-1007211, "Secretariat", bot_member=False)
    await group.add_bot(by=env.admin())
    linked = await group.next_message()
    group.drain()
    await nfp.press_forged("rs:MNG:2026-W47", message_id=linked.message_id, chat=group)
    await env.sandbox.settle()
    assert group.drain() == []  # no figures in the group
    assert nfp.callback_answers[-1]["text"]  # answered, politely


# --- item 9: strangers get texts that fit them ---------------------------------------------


async def test_revise_and_delegate_tell_a_stranger_what_they_are(env: BotEnv) -> None:
    stranger = env.sandbox.user(7301, "Stranger")
    user = env.sandbox.user(7302, "User")
    await env.say(user, "/start")
    await env.quiet(user)
    for command in ("/revise", "/delegate", "/delegate off"):
        reply = await env.say(stranger, command)
        assert "I don't know you yet" in reply.text and "invitation link" in reply.text
        reply = await env.say(user, command)
        assert "Only the National Focal Points" in reply.text, reply.text
        assert "invitation link" in reply.text
    refused = await audit.entries(env.svc.db, action="refused")
    assert {(e.actor, e.detail["reason"]) for e in refused} == {
        (7301, "stranger"),
        (7302, "not_nfp"),
    }


# --- item 10: groups ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 429, 500])
async def test_bot_leaves_a_strangers_group_even_when_the_goodbye_fails(
    env: BotEnv, status: int
) -> None:
    stranger = env.sandbox.user(7401, "Eve")
    group = env.sandbox.group(-1007401, "Not ours", bot_member=False)
    env.sandbox.inject(
        "sendMessage", status=status, retry_after=1 if status == 429 else None, chat_id=group.id
    )
    await group.add_bot(by=stranger)
    await env.sandbox.settle()
    assert env.sandbox.calls_to("leaveChat", chat_id=group.id)
    assert await regions.group_chat(env.svc.db, "central-asia") is None


async def test_an_admin_adding_the_bot_to_a_second_group_gets_an_answer(env: BotEnv) -> None:
    first = env.sandbox.group(-1007411, "Secretariat", bot_member=False)
    await first.add_bot(by=env.admin())
    await first.next_message()
    second = env.sandbox.group(-1007412, "Another", bot_member=False)
    await second.add_bot(by=env.admin())
    msg = await second.next_message()
    assert "already" in msg.text and "Move the weekly digest here?" in msg.text
    await env.sandbox.settle()
    # nothing moves until an administrator of the region chooses (tests/e2e/test_group.py)
    assert await regions.group_chat(env.svc.db, "central-asia") == first.id
