"""Every answer lands once, on the question it was given for (issue 6, items 1-5 and 16).

Through the sandbox as Telegram behaves: a user edits a sent message, an update is
delivered again after its confirmation was lost, two messages arrive before the bot
answered the first, a reply is refused with 429, the questionnaire changes mid-report.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.clock import FakeClock
from sandbox import SimUser
from storage import followups as followup_store
from storage import reports as store
from storage.db import Database
from tests.support import ANSWERS_EN, SKIP, BotEnv, answer_all, make_nfp, next_sent


@pytest.fixture
def clock() -> FakeClock:
    # Monday of ISO week 48, 12:00 UTC: week 47 is the one to report
    return FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))


async def _answers(env: BotEnv, iso3: str) -> dict[str, object]:
    report = await store.find(env.svc.db, iso3, "2026-W47")
    assert report is not None
    return await store.answers(env.svc.db, report.id)


async def _start(env: BotEnv, user_id: int, iso3: str) -> SimUser:
    nfp = await make_nfp(env, user_id, iso3)
    await nfp.send("/report")
    first = await next_sent(nfp)
    assert "Question 1 of 9" in first.text
    return nfp


# --- item 1: edited messages ------------------------------------------------------------


async def test_an_edited_answer_corrects_the_answer_it_edits(env: BotEnv) -> None:
    nfp = await _start(env, 1101, "KGZ")
    sent = await nfp.send("1234")
    second = await next_sent(nfp)
    assert "Question 2 of 9" in second.text
    await nfp.edit(sent["message_id"], "1243")
    note = await next_sent(nfp)
    assert "1,243" in note.text and "Question 2 of 9" in note.text, note.text
    assert await _answers(env, "KGZ") == {"new_cases": 1243}
    # an invalid edit is refused and changes nothing
    await nfp.edit(sent["message_id"], "12a")
    refused = await next_sent(nfp)
    assert "not a whole number" in refused.text
    assert await _answers(env, "KGZ") == {"new_cases": 1243}
    # the next typed answer still goes to question 2, and the review shows the correction
    await nfp.send("5")
    await next_sent(nfp)
    assert await _answers(env, "KGZ") == {"new_cases": 1243, "new_deaths": 5}
    rest = {k: v for k, v in ANSWERS_EN.items() if k not in ("new_cases", "new_deaths")}
    review = await answer_all(env, nfp, rest)
    assert "New confirmed COVID-19 cases this week: <b>1,243</b>" in (review.raw_text or "")


async def test_an_edit_after_confirmation_offers_an_amendment(env: BotEnv) -> None:
    nfp = await _start(env, 1102, "KAZ")
    sent = await nfp.send("1234")
    await next_sent(nfp)
    rest = {k: v for k, v in ANSWERS_EN.items() if k != "new_cases"}
    await answer_all(env, nfp, rest)
    await nfp.press("✅ Confirm and send")
    assert "Thank you" in (await next_sent(nfp)).text
    await nfp.edit(sent["message_id"], "1243")
    note = await next_sent(nfp)
    assert "already confirmed" in note.text and "/report" in note.text, note.text
    assert note.button_texts() == ["Correct the report"]
    report = await store.find(env.svc.db, "KAZ", "2026-W47")
    assert report is not None
    [version] = await store.versions(env.svc.db, report.id)
    assert version.answers["new_cases"] == 1234
    # an edit of a message that answered nothing is ignored, with a short note
    hello = await nfp.send("hello")
    await next_sent(nfp)
    await nfp.edit(hello["message_id"], "hello again")
    assert "edited" in (await next_sent(nfp)).text


async def test_an_edited_command_is_not_run_again(env: BotEnv) -> None:
    nfp = await _start(env, 1103, "MNG")
    await answer_all(env, nfp, ANSWERS_EN)
    await nfp.press("✅ Confirm and send")
    await next_sent(nfp)
    admin = env.admin()
    admin.drain()
    command = await admin.send("/clarify MNG Why did cases rise?")
    assert "Sent to the NFPs" in (await next_sent(admin)).text
    await admin.edit(command["message_id"], "/clarify MNG Why did cases rise so much?")
    note = await next_sent(admin)
    assert "not run again" in note.text, note.text
    report = await store.find(env.svc.db, "MNG", "2026-W47")
    assert report is not None
    assert len(await followup_store.clarifications_of(env.svc.db, report.id)) == 1


# --- item 2: re-delivered updates -------------------------------------------------------


async def test_a_redelivered_answer_is_applied_once_and_the_next_question_shown(
    env: BotEnv,
) -> None:
    nfp = await _start(env, 1201, "UZB")
    await nfp.send("1111")
    update_id = env.sandbox.last_update_id
    assert "Question 2 of 9" in (await next_sent(nfp)).text
    await env.stop()  # killed before the confirming getUpdates: Telegram delivers it again
    env.sandbox.redeliver(update_id)
    await env.start()
    again = await next_sent(nfp, timeout=10)
    assert "Question 2 of 9" in again.text  # a reply that was lost is not lost for good
    assert await _answers(env, "UZB") == {"new_cases": 1111}
    await nfp.send("7")
    assert "Question 3 of 9" in (await next_sent(nfp)).text
    assert await _answers(env, "UZB") == {"new_cases": 1111, "new_deaths": 7}


async def test_a_redelivered_confirmation_shows_the_confirmation_again(env: BotEnv) -> None:
    """The press that confirmed the report comes again (its reply died with a crash): the
    report is not confirmed twice, and the NFP is told it is confirmed (seen in the SIGKILL
    fault test: the person was left on the review of a report already confirmed)."""
    nfp = await _start(env, 1204, "AFG")
    review = await answer_all(env, nfp, ANSWERS_EN)
    assert "Please check your answers" in review.text
    await nfp.press("✅ Confirm and send")
    update_id = env.sandbox.last_update_id
    assert "Thank you" in (await next_sent(nfp)).text
    await env.stop()
    env.sandbox.redeliver(update_id)
    await env.start()
    again = await next_sent(nfp, timeout=10)
    assert "The report is confirmed" in again.text, again.text
    report = await store.find(env.svc.db, "AFG", "2026-W47")
    assert report is not None and report.version == 1  # confirmed once


async def test_a_refused_confirmation_reply_still_arrives(env: BotEnv) -> None:
    """The reply saying "confirmed" is refused (5xx): it is not a session screen, so the
    outbox sends it without waiting for the session to stay where it was."""
    nfp = await _start(env, 1205, "PAK")
    await answer_all(env, nfp, ANSWERS_EN)
    env.sandbox.inject("sendMessage", status=502, chat_id=1205)
    await nfp.press("✅ Confirm and send")
    sender = env.outbox
    await sender.drain(timeout=10)
    await env.sandbox.settle()
    sent = [m.text for m in nfp.drain() if m.kind == "sent"]
    assert any("The report is confirmed" in t for t in sent), sent


async def test_a_restart_does_not_re_show_a_screen_a_kept_answer_replaces(env: BotEnv) -> None:
    """A crash left two updates of one chat in the inbox: an answer already applied (its
    reply lost) and the next answer, fetched but never processed. At the start only the
    second brings a screen: re-showing the first one's (now out of date) would put a
    question on top that is no longer asked (seen in the SIGKILL fault test: a press on
    such a screen was refused as stale)."""
    import json

    from storage import updates as inbox

    nfp = await _start(env, 1206, "KGZ")
    await nfp.send("11")
    first = env.sandbox.last_update_id
    assert "Question 2 of 9" in (await next_sent(nfp)).text
    await env.sandbox.settle()
    await env.stop()
    applied = env.sandbox.queued_update(first)
    unapplied = json.loads(json.dumps(applied))
    unapplied["update_id"] = first + 1000
    unapplied["message"]["message_id"] += 1000  # typed after question 2 was on screen
    unapplied["message"]["text"] = "22"
    db = await Database.open(env.config.database)
    try:
        async with db.transaction(claim=False) as tx:
            await inbox.keep(
                tx,
                env.clock.now(),
                [(first, json.dumps(applied)), (first + 1000, json.dumps(unapplied))],
            )
    finally:
        await db.close()
    nfp.drain()
    await env.start()
    assert "Question 3 of 9" in (await next_sent(nfp, timeout=10)).text
    await env.sandbox.settle()
    later = [m.text for m in nfp.drain() if m.kind == "sent"]
    assert not [t for t in later if "Question 2 of 9" in t], later
    assert await _answers(env, "KGZ") == {"new_cases": 11, "new_deaths": 22}


async def test_a_queued_confirmation_is_dropped_once_the_person_moved_on(env: BotEnv) -> None:
    """The "confirmed" reply is refused and waits in the outbox (in backoff); the NFP opens
    the report again meanwhile. The late confirmation must not land on top of the screen
    they are at now (seen in the SIGKILL fault test, seed 42)."""
    nfp = await _start(env, 1207, "MNG")
    await answer_all(env, nfp, ANSWERS_EN)
    env.sandbox.inject("sendMessage", status=502, chat_id=1207, times=2)  # reply, outbox try
    await nfp.press("✅ Confirm and send")
    sender = env.outbox
    await sender.drain(timeout=10)
    await env.sandbox.settle()
    nfp.drain()
    review = await env.say(nfp, "/report")  # amend: back on the review
    assert "Please check your answers" in review.text
    env.clock.advance(timedelta(minutes=10))  # the backoff is over
    await sender.drain(timeout=10)
    await env.sandbox.settle()
    late = [m.text for m in nfp.drain() if m.kind == "sent"]
    assert not [t for t in late if "The report is confirmed" in t], late


async def test_a_redelivered_clarify_asks_once(env: BotEnv) -> None:
    nfp = await _start(env, 1202, "TJK")
    await answer_all(env, nfp, ANSWERS_EN)
    await nfp.press("✅ Confirm and send")
    await next_sent(nfp)
    admin = env.admin()
    await admin.send("/clarify TJK Why?")
    update_id = env.sandbox.last_update_id
    await next_sent(admin)
    await env.stop()
    env.sandbox.redeliver(update_id)
    await env.start()
    await env.sandbox.settle()
    report = await store.find(env.svc.db, "TJK", "2026-W47")
    assert report is not None
    assert len(await followup_store.clarifications_of(env.svc.db, report.id)) == 1


# --- item 3: two answers at once --------------------------------------------------------


async def test_an_answer_typed_before_the_question_was_shown_is_not_its_answer(
    env: BotEnv,
) -> None:
    nfp = await _start(env, 1301, "PAK")
    await nfp.send("1111")  # two devices, or a resend on a slow network: both before
    await nfp.send("2222")  # the bot could show question 2
    second = await next_sent(nfp)
    assert "Question 2 of 9" in second.text
    asked = await next_sent(nfp)
    assert "2,222" in asked.text or "2222" in asked.text, asked.text
    assert "Question 2 of 9" in asked.text
    await env.sandbox.settle()
    assert await _answers(env, "PAK") == {"new_cases": 1111}
    await nfp.send("2222")  # typed with question 2 on screen: its answer
    assert "Question 3 of 9" in (await next_sent(nfp)).text
    assert await _answers(env, "PAK") == {"new_cases": 1111, "new_deaths": 2222}


# --- item 4: multi-choice ticks survive /report -----------------------------------------


async def test_multi_choice_ticks_survive_report(env: BotEnv) -> None:
    nfp = await _start(env, 1401, "AFG")
    first_six = dict(list(ANSWERS_EN.items())[:6])
    needs = await answer_all(env, nfp, first_six)
    assert "Needs in supplies" in needs.text
    for label in ("Test kits", "Disinfectants"):
        await nfp.press("▫️ " + label)
        assert (await nfp.next_message()).kind == "edited"
    await nfp.send("/report")
    reopened = await next_sent(nfp)
    assert "Needs in supplies" in reopened.text
    labels = reopened.button_texts()
    assert "✅ Test kits" in labels and "✅ Disinfectants" in labels, labels
    await nfp.press("Done")
    await next_sent(nfp)
    assert (await _answers(env, "AFG"))["needs"] == {
        "selected": ["test_kits", "disinfectants"],
        "other": None,
    }


# --- item 5: a reply refused with 429 ---------------------------------------------------


async def test_a_reply_refused_with_429_still_brings_the_next_question(env: BotEnv) -> None:
    nfp = await _start(env, 1501, "TKM")
    env.sandbox.inject("sendMessage", status=429, retry_after=1, chat_id=1501)
    await nfp.send("321")
    second = await next_sent(nfp, timeout=10)
    assert "Question 2 of 9" in second.text
    assert await _answers(env, "TKM") == {"new_cases": 321}


async def test_a_reply_refused_again_and_again_is_delivered_later(env: BotEnv) -> None:
    nfp = await _start(env, 1502, "KGZ")
    env.sandbox.inject("sendMessage", status=429, retry_after=1, chat_id=1502, times=4)
    await nfp.send("321")
    second = await next_sent(nfp, timeout=20)
    assert "Question 2 of 9" in second.text
    await env.sandbox.settle()
    # the question arrived once; it is the screen answers now go to
    await nfp.send("4")
    assert "Question 3 of 9" in (await next_sent(nfp)).text
    assert await _answers(env, "KGZ") == {"new_cases": 321, "new_deaths": 4}


async def test_a_screen_waiting_in_the_outbox_is_not_sent_once_the_person_moved_on(
    env: BotEnv,
) -> None:
    """The reply with question 2 is refused (5xx) and waits in the outbox, in backoff; the
    NFP meanwhile gets question 2 through /report and answers it. The stale copy must not
    arrive afterwards: its buttons could only be refused, and it shows a question the NFP
    has already answered (seen in the SIGKILL fault test: a stale copy was answered again)."""
    nfp = await _start(env, 1503, "KGZ")
    env.sandbox.inject("sendMessage", status=502, chat_id=1503, times=2)  # reply, outbox try
    await nfp.send("321")
    sender = env.outbox
    await sender.drain(timeout=10)  # its one attempt failed: in backoff now
    await env.sandbox.settle()
    assert not [m for m in nfp.drain() if "Question 2 of 9" in (m.text or "")]
    again = await env.say(nfp, "/report")
    assert "Question 2 of 9" in again.text
    await nfp.send("4")
    assert "Question 3 of 9" in (await next_sent(nfp)).text
    env.clock.advance(timedelta(minutes=10))  # the backoff is over
    await sender.drain(timeout=10)
    await env.sandbox.settle()
    late = [m.text for m in nfp.drain() if m.kind == "sent"]
    assert not [t for t in late if "Question 2 of 9" in (t or "")], late
    assert await _answers(env, "KGZ") == {"new_cases": 321, "new_deaths": 4}


# --- item 16: the questionnaire changes while a report is open --------------------------


async def test_a_questionnaire_changed_mid_report(env: BotEnv) -> None:
    nfp = await _start(env, 1601, "MNG")
    await answer_all(env, nfp, {"new_cases": "10", "new_deaths": "1"})  # now on "tests"
    await env.stop()
    region = env.config.regions[0]
    q = region.questionnaire
    changed = dataclasses.replace(
        q, version=q.version + 1, questions=tuple(x for x in q.questions if x.key != "tests")
    )
    env.config = dataclasses.replace(
        env.config,
        regions=(dataclasses.replace(region, questionnaire=changed), *env.config.regions[1:]),
    )
    await env.start()
    reply = await env.say(nfp, "40")  # typed for "tests", which is gone now
    assert "Patients currently in hospital" in reply.text, reply.text
    assert "Question 3 of 8" in reply.text
    assert await _answers(env, "MNG") == {"new_cases": 10, "new_deaths": 1}
    rest = {k: v for k, v in ANSWERS_EN.items() if k not in ("new_cases", "new_deaths", "tests")}
    review = await answer_all(env, nfp, rest)
    assert "Please check your answers" in review.text
    await nfp.press("✅ Confirm and send")
    assert "Thank you" in (await next_sent(nfp)).text
    report = await store.find(env.svc.db, "MNG", "2026-W47")
    assert report is not None and report.questionnaire_version == changed.version
    [version] = await store.versions(env.svc.db, report.id)
    assert version.questionnaire_version == changed.version
    assert "tests" not in version.answers


async def test_an_old_answer_to_a_removed_question_does_not_break_the_review(
    env: BotEnv,
) -> None:
    nfp = await _start(env, 1602, "KAZ")
    await answer_all(env, nfp, {"new_cases": "10", "new_deaths": "1", "tests": "300"})
    await env.stop()
    region = env.config.regions[0]
    q = region.questionnaire
    changed = dataclasses.replace(
        q, version=q.version + 1, questions=tuple(x for x in q.questions if x.key != "tests")
    )
    env.config = dataclasses.replace(
        env.config,
        regions=(dataclasses.replace(region, questionnaire=changed), *env.config.regions[1:]),
    )
    await env.start()
    rest = {k: v for k, v in ANSWERS_EN.items() if k not in ("new_cases", "new_deaths", "tests")}
    review = await answer_all(env, nfp, rest)
    assert "Please check your answers" in review.text
    assert "Tests performed" not in review.text


# --- smaller: keyboards that no longer apply, the stale-button toast --------------------


async def test_typed_answers_leave_no_keyboards_behind(env: BotEnv) -> None:
    nfp = await _start(env, 1701, "UZB")
    review = await answer_all(env, nfp, ANSWERS_EN)
    await env.sandbox.settle()
    with_buttons = [m.message_id for m in nfp.inbox if m.buttons]
    assert with_buttons == [review.message_id], [
        (m.message_id, (m.text or "")[:40]) for m in nfp.inbox if m.buttons
    ]


async def test_a_stale_button_toast_is_a_whole_sentence(env: BotEnv) -> None:
    nfp = await _start(env, 1702, "TJK")
    await answer_all(env, nfp, {"new_cases": "1", "new_deaths": "1", "tests": SKIP})
    await answer_all(env, nfp, {"hospitalised": "1"})
    measures = nfp.inbox[-1]
    await nfp.press("Targeted measures", message_id=measures.message_id)
    await nfp.press("Targeted measures", message_id=measures.message_id)
    await next_sent(nfp)
    await env.sandbox.settle()
    toast = nfp.callback_answers[-1]["text"]
    assert "earlier question" in toast and not toast.rstrip().endswith(":"), toast


async def test_a_refused_toast_does_not_keep_the_first_question_away(env: BotEnv) -> None:
    from tests.support import deliver

    nfp = await make_nfp(env, 1503, "KGZ")
    await deliver(env)
    assert any(m.button_texts() == ["Start the report"] for m in nfp.inbox)
    nfp.drain()
    env.sandbox.inject("answerCallbackQuery", status=500)
    env.sandbox.inject("editMessageReplyMarkup", status=429, retry_after=1)
    await nfp.press("Start the report")
    first = await next_sent(nfp)
    assert "Question 1 of 9" in first.text


async def test_an_update_kept_and_delivered_again_is_processed_once(env: BotEnv) -> None:
    """Killed after keeping a fetched answer, before Telegram's confirmation: both have it."""
    import asyncio
    import json

    from storage import updates
    from storage.db import Database

    nfp = await _start(env, 1204, "KAZ")
    await env.stop()
    await nfp.send("1111")  # at Telegram, unconfirmed …
    update_id = env.sandbox.last_update_id
    db = await Database.open(env.config.database)
    try:  # … and in the bot's inbox, as the killed process had left it
        async with db.transaction() as tx:
            payload = json.dumps(env.sandbox.queued_update(update_id))
            await updates.keep(tx, env.clock.now(), [(update_id, payload)])
    finally:
        await db.close()
    await env.start()
    assert "Question 2 of 9" in (await next_sent(nfp, timeout=10)).text
    polls = len(env.sandbox.calls_to("getUpdates"))
    await asyncio.sleep(1.5)
    assert len(env.sandbox.calls_to("getUpdates")) - polls <= 4  # long polls, no spinning
    assert [m for m in nfp.drain() if m.kind == "sent"] == []  # answered once
    assert env.sandbox.pending_updates == 0
    assert await _answers(env, "KAZ") == {"new_cases": 1111}


# --- issue 7, item 10: a stop while an answer is being processed -------------------------


async def test_a_stop_mid_answer_finishes_it_and_takes_the_old_buttons_off(
    env: BotEnv, caplog: pytest.LogCaptureFixture
) -> None:
    """The answer's reply comes back after the stop began: nothing of it is left behind.

    Taking the buttons off the previous question is started beside the reply; while the
    Application is stopping, PTB's ``create_task`` would start it untracked (and warn), so
    the stop would not wait for it and the edit could be cut off by the shutdown.
    """
    nfp = await _start(env, 1701, "KAZ")
    first = await answer_all(env, nfp, {"new_cases": "10", "new_deaths": "1"})
    assert "Question 3 of 9" in first.text and first.buttons  # "tests" may be skipped
    await env.sandbox.settle()
    sends = len(env.sandbox.calls_to("sendMessage", nfp.id))
    env.sandbox.inject("sendMessage", delay=0.5, chat_id=nfp.id)  # the reply is slow
    await nfp.send("500")
    for _ in range(500):  # until the slow reply has reached the sandbox
        if len(env.sandbox.calls_to("sendMessage", nfp.id)) > sends:
            break
        await asyncio.sleep(0.01)
    await env.stop()  # while the reply to the answer is still on its way

    assert await _answers_after_stop(env, "KAZ") == {"new_cases": 10, "new_deaths": 1, "tests": 500}
    edits = [c for c in env.sandbox.calls_to("editMessageReplyMarkup", nfp.id) if c.ok]
    assert [c.params["message_id"] for c in edits] == [first.message_id]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def _answers_after_stop(env: BotEnv, iso3: str) -> dict[str, object]:
    from storage.db import Database

    db = await Database.open(env.config.database, migrate=False)
    try:
        report = await store.find(db, iso3, "2026-W47")
        assert report is not None
        return await store.answers(db, report.id)
    finally:
        await db.close()


async def test_the_inbox_keeps_the_update_telegram_sent_and_a_replay_rebuilds_it(
    env: BotEnv,
) -> None:
    """What is kept is the JSON of the getUpdates answer, not a copy made through PTB's
    objects: equal to what Telegram sent (a field PTB would drop included), and the Update
    a restart rebuilds from it is the one PTB built from Telegram's answer."""
    import json

    from telegram import Update

    nfp = await _start(env, 1206, "KAZ")
    env.sandbox.inject("sendMessage", delay=1.0, chat_id=nfp.id)  # held in processing
    sent = await nfp.send("1111")
    update_id = env.sandbox.last_update_id
    raw = env.sandbox.queued_update(update_id)
    assert raw["message"]["message_id"] == sent["message_id"]
    payload = None
    for _ in range(200):  # kept before it is handed to PTB, so well before the reply
        payload = await env.svc.db.fetchval(
            "SELECT payload FROM update_inbox WHERE update_id = ?", (update_id,)
        )
        if payload is not None:
            break
        await asyncio.sleep(0.01)
    assert payload is not None
    assert json.loads(payload) == raw
    assert env.app is not None
    bot = env.app.bot
    assert Update.de_json(json.loads(payload), bot).to_dict() == Update.de_json(raw, bot).to_dict()
    assert "Question 2 of 9" in (await next_sent(nfp)).text


async def test_a_press_reaches_the_handlers_lean_and_the_inbox_keeps_it_whole(
    env: BotEnv,
) -> None:
    """PTB is handed the pressed message without its entities and buttons (building them
    was half the cost of reading a press); the inbox keeps the update as Telegram sent it,
    and a replay from it is made just as lean, so a handler sees the same either way."""
    import json

    from telegram import Update
    from telegram.ext import TypeHandler

    seen: list[Update] = []

    async def record(update: Update, _: object) -> None:
        seen.append(update)

    assert env.app is not None
    env.app.add_handler(TypeHandler(Update, record), group=-100)
    nfp = await _start(env, 1207, "KGZ")
    for typed in ("12", "3"):  # questions 1 and 2: numbers; 3 offers Skip
        await nfp.send(typed)
        await next_sent(nfp)
    assert "Skip" in nfp.inbox[-1].button_texts()
    env.sandbox.inject("answerCallbackQuery", delay=1.0)  # held in processing: still kept
    await nfp.press("Skip")
    update_id = env.sandbox.last_update_id
    raw = env.sandbox.queued_update(update_id)
    pressed = raw["callback_query"]["message"]
    assert pressed["entities"] and pressed["reply_markup"]  # what Telegram sends
    payload = None
    for _ in range(200):
        payload = await env.svc.db.fetchval(
            "SELECT payload FROM update_inbox WHERE update_id = ?", (update_id,)
        )
        if payload is not None:
            break
        await asyncio.sleep(0.01)
    assert payload is not None and json.loads(payload) == raw
    assert "Question 4 of 9" in (await next_sent(nfp)).text
    [handled] = [u for u in seen if u.update_id == update_id]
    query = handled.callback_query
    assert query is not None and query.data == raw["callback_query"]["data"]
    message = query.message
    assert message is not None and message.message_id == pressed["message_id"]
    assert message.chat.id == nfp.id
    assert not getattr(message, "entities", ()) and getattr(message, "reply_markup", None) is None
    replayed = Update.de_json(env.app.bot_data["polling"].lean(json.loads(payload)), env.app.bot)
    assert replayed.to_dict() == handled.to_dict()
