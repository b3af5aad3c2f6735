"""The weekly report end to end: prompts in each timezone, the questionnaire, review, reminders.

Real Application ↔ HTTP ↔ sandbox Bot API, real SQLite file, the shipped config; the
injected clock walks through the week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.clock import FakeClock
from sandbox import SimUser
from storage import audit
from storage import reports as store
from tests.support import (
    ANSWERS_EN,
    SKIP,
    BotEnv,
    answer_all,
    deliver,
    make_nfp,
    next_sent,
)

ANSWERS_RU: dict[str, object] = {
    "new_cases": "2\u00a0345",
    "new_deaths": "12",
    "tests": "10 000",
    "hospitalised": SKIP,
    "measures": "Частичный карантин",
    "lab_capacity": "На пределе",
    "needs": ["Средства индивидуальной защиты (СИЗ)"],
    "training": "Биобезопасность лабораторий",
    "developments": SKIP,
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    # Monday of ISO week 48, 12:00 UTC: week 47 has been prompted everywhere
    return FakeClock(at(23, 12, 0))


async def test_a_whole_week_in_three_timezones(env: BotEnv) -> None:
    mng = await make_nfp(env, 801, "MNG", "en", name="Bold")
    kaz = await make_nfp(env, 802, "KAZ", "ru", name="Айгерим")
    afg = await make_nfp(env, 803, "AFG", "en", name="Ahmad")
    admin = env.admin()

    env.clock.set(at(23, 0, 30))
    await deliver(env)  # Monday 00:30 UTC: it is 09:00 nowhere yet
    assert (mng.inbox, kaz.inbox, afg.inbox) == ([], [], [])

    env.clock.set(at(23, 1, 0))  # 09:00 in Ulaanbaatar (+8)
    await deliver(env)
    [prompt] = mng.inbox
    assert "Mongolia · week 47 (16 Nov – 22 Nov 2026)" in prompt.text
    assert "Wednesday 6:00\u202fPM your time" in prompt.text
    assert (kaz.inbox, afg.inbox) == ([], [])

    env.clock.set(at(23, 4, 0))  # 09:00 in Almaty (+5 since 2024)
    await deliver(env)
    [prompt_ru] = kaz.inbox
    assert "Казахстан" in prompt_ru.text and "неделя 47" in prompt_ru.text
    assert afg.inbox == []
    env.clock.set(at(23, 4, 30))  # 09:00 in Kabul (+4:30)
    await deliver(env)
    assert len(afg.inbox) == 1 and len(mng.inbox) == 1 and len(kaz.inbox) == 1
    await env.quiet(mng, kaz, afg)

    # Mongolia reports in English, starting from the prompt's button
    await mng.press("Start the report")
    first = await next_sent(mng)
    assert "Question 1 of 9" in first.text and "New confirmed COVID-19 cases" in first.text
    review = await answer_all(env, mng, ANSWERS_EN)
    assert "Please check your answers" in review.text
    assert "New confirmed COVID-19 cases this week: 1,234" in review.text
    assert "Needs in supplies and consumables: Test kits, Disinfectants" in review.text
    await mng.press("✅ Confirm and send")
    done = await next_sent(mng)
    assert "confirmed and sent" in done.text and "late" not in done.text

    # Kazakhstan in Russian, numbers typed the Russian way
    await kaz.press("Начать отчёт")
    await next_sent(kaz)
    review_ru = await answer_all(env, kaz, ANSWERS_RU, skip_label="Пропустить", done_label="Готово")
    assert "2\u00a0345" in review_ru.text and "10\u00a0000" in review_ru.text
    await kaz.press("✅ Подтвердить и отправить")
    assert "Спасибо" in (await next_sent(kaz)).text

    # Tuesday 09:00 in Kabul: a reminder goes only to the country that has not confirmed
    before = (len(mng.inbox), len(kaz.inbox))
    env.clock.set(at(24, 4, 30))
    await deliver(env)
    assert (len(mng.inbox), len(kaz.inbox)) == before
    assert afg.inbox[-1].text.startswith("Reminder: the weekly report for Afghanistan")

    # the deadline passes in Kabul (Wed 18:00 = 13:30 UTC): the secretariat is told
    env.clock.set(at(25, 13, 31))
    await deliver(env)
    notices = [m.text for m in admin.inbox if "has not confirmed" in m.text]
    assert any(t.startswith("Afghanistan has not confirmed") for t in notices)
    assert not any("Mongolia" in t or "Kazakhstan" in t for t in notices)

    # Afghanistan reports after the deadline: accepted, marked late with its time
    afg.drain()
    await afg.send("/report")
    await next_sent(afg)
    await answer_all(env, afg, ANSWERS_EN)
    await afg.press("✅ Confirm and send")
    assert "marked late" in (await next_sent(afg)).text
    report = await store.find(env.svc.db, "AFG", "2026-W47")
    assert report is not None and report.late and report.first_confirmed_at == at(25, 13, 31)

    status = await env.say(admin, "/status")
    lines = status.text.splitlines()
    assert any(line.startswith("✅ Mongolia: confirmed on time — Bold") for line in lines)
    assert any(line.startswith("✅ Kazakhstan: confirmed on time") for line in lines)
    assert any(line.startswith("🕓 Afghanistan: confirmed late — Ahmad") for line in lines)
    assert any(line.startswith("❌ Kyrgyzstan: missing") for line in lines)
    # each time in the country's own zone, and the zone is named (CLDR)
    assert any(
        line.startswith("🕓 Afghanistan")
        and line.endswith("25 Nov, 6:01\u202fPM (Afghanistan Time)")
        for line in lines
    ), lines
    # Kazakhstan is an observer and Turkmenistan joining: listed apart, not counted
    apart = lines.index("Observers and joining countries (not counted):")
    assert [line.split(":")[0] for line in lines[apart + 1 : apart + 3]] == [
        "✅ Kazakhstan",
        "❌ Turkmenistan",
    ]
    assert "2 of 6 countries reported" in status.text


async def test_bad_input_is_explained_and_loses_nothing(env: BotEnv) -> None:
    nfp = await make_nfp(env, 811, "KGZ")
    await nfp.send("/report")
    await next_sent(nfp)
    for bad, expected in [
        ("12a", "not a whole number"),
        ("-5", "cannot be negative"),
        ("12.5", "without decimals"),
        ("99999999999", "more than 10,000,000"),
    ]:
        reply = await env.say(nfp, bad)
        assert expected in reply.text, reply.text
        assert "Question 1 of 9" in reply.text  # the same question again
    await env.say(nfp, "1,234")
    await env.say(nfp, "3")
    await env.say(nfp, "100")
    measures = await env.say(nfp, "40")
    assert "Public health measures" in measures.text
    # text where a button is expected
    reply = await env.say(nfp, "partial lockdown")
    assert "Please answer with the buttons" in reply.text
    # a sticker and an unknown command mid-questionnaire: refused, the draft is kept
    await nfp.send_sticker()
    assert "draft is saved" in (await next_sent(nfp)).text
    assert "draft is saved" in (await env.say(nfp, "/frobnicate")).text
    # a button from an older screen, then a double tap: stale, nothing changes
    await nfp.press("Targeted measures")
    lab = await next_sent(nfp)
    assert "Laboratory capacity" in lab.text
    await nfp.press("Adequate", message_id=lab.message_id)
    await nfp.press("Adequate", message_id=lab.message_id)
    needs = await next_sent(nfp)
    await env.sandbox.settle()
    assert "Needs in supplies" in needs.text
    assert "earlier question" in nfp.callback_answers[-1]["text"]
    report = await store.find(env.svc.db, "KGZ", "2026-W47")
    assert report is not None
    answers = await store.answers(env.svc.db, report.id)
    assert answers == {
        "new_cases": 1234,
        "new_deaths": 3,
        "tests": 100,
        "hospitalised": 40,
        "measures": "targeted",
        "lab_capacity": "adequate",
    }
    # "other" needs its text; a developments text over the limit is refused
    await nfp.press("▫️ Other (please specify)")
    await nfp.next_message()
    await nfp.press("Done")
    assert "describe what is needed" in (await next_sent(nfp)).text
    training = await env.say(nfp, "Oxygen concentrators")
    assert "Training topics" in training.text
    await nfp.press("Skip")
    developments = await next_sent(nfp)
    too_long = await env.say(nfp, "x" * 1001)
    assert "1,001 characters long; the limit is 1,000" in too_long.text
    assert developments.text.split("\n")[-1] in too_long.text


async def test_restart_mid_questionnaire_resumes_at_the_next_question(env: BotEnv) -> None:
    nfp = await make_nfp(env, 821, "UZB")
    await nfp.send("/report")
    await next_sent(nfp)
    await env.say(nfp, "10")
    await env.say(nfp, "0")
    await env.restart()  # a new Application on the same database file
    reply = await env.say(nfp, "77")
    assert "Question 4 of 9" in reply.text and "Patients currently in hospital" in reply.text
    report = await store.find(env.svc.db, "UZB", "2026-W47")
    assert report is not None
    assert await store.answers(env.svc.db, report.id) == {
        "new_cases": 10,
        "new_deaths": 0,
        "tests": 77,
    }


async def test_two_nfps_of_one_country_take_over_explicitly(env: BotEnv) -> None:
    main = await make_nfp(env, 831, "TJK", name="Firuz")
    alt = await make_nfp(env, 832, "TJK", kind="alternate", name="Nigora")
    await main.send("/report")
    await next_sent(main)
    await env.say(main, "50")
    busy = await env.say(alt, "/report")
    assert "Firuz is already filling in the report for Tajikistan" in busy.text
    await alt.press("Take over the report")
    resumed = await next_sent(alt)
    assert "Question 2 of 9" in resumed.text  # the main NFP's answer is kept
    await env.say(alt, "1")
    taken = await env.say(main, "7")
    assert "Nigora has taken over this report" in taken.text
    await env.outbox.drain()
    await env.sandbox.settle()
    assert any("Nigora has taken over the report" in m.text for m in main.inbox)
    report = await store.find(env.svc.db, "TJK", "2026-W47")
    assert report is not None
    assert await store.answers(env.svc.db, report.id) == {"new_cases": 50, "new_deaths": 1}
    [entry] = await audit.entries(env.svc.db, action="take_over")
    assert entry.actor == 832


async def confirm_report(
    env: BotEnv, nfp: SimUser, answers: dict[str, object] = ANSWERS_EN
) -> None:
    await nfp.send("/report")
    await next_sent(nfp)
    await answer_all(env, nfp, answers)
    await nfp.press("✅ Confirm and send")
    assert "Thank you" in (await next_sent(nfp)).text


async def test_amendments_before_and_after_the_digest_are_versioned(env: BotEnv) -> None:
    nfp = await make_nfp(env, 841, "PAK")
    await confirm_report(env, nfp)
    review = await env.say(nfp, "/report")
    assert "Please check your answers" in review.text
    await nfp.press("✏️ New confirmed COVID-19 cases this week")
    await next_sent(nfp)
    back = await env.say(nfp, "1300")
    assert "Please check your answers" in back.text and "1,300" in back.text
    await nfp.press("✅ Confirm the amendment")
    assert "amendment is saved (version 2)" in (await next_sent(nfp)).text

    async with env.svc.db.transaction() as tx:
        await store.mark_digest_posted(tx, env.clock.now(), "central-asia", "2026-W47")
    await env.say(nfp, "/report")
    await nfp.press("✏️ New COVID-19 deaths this week")
    await next_sent(nfp)
    await env.say(nfp, "6")
    await nfp.press("✅ Confirm the amendment")
    assert "digest was already posted" in (await next_sent(nfp)).text
    report = await store.find(env.svc.db, "PAK", "2026-W47")
    assert report is not None
    versions = await store.versions(env.svc.db, report.id)
    assert [(v.version, v.after_digest) for v in versions] == [(1, False), (2, False), (3, True)]
    assert [v.answers["new_cases"] for v in versions] == [1234, 1300, 1300]
    assert versions[-1].answers["new_deaths"] == 6 and versions[-1].confirmed_by == 841
    # the latest confirmed version is the report
    assert (await store.confirmed_answers(env.svc.db, "PAK", "2026-W47") or {})["new_deaths"] == 6


async def test_no_change_shortcut_and_plausibility_warning(env: BotEnv) -> None:
    nfp = await make_nfp(env, 851, "KGZ")
    await nfp.send("/report last")  # week 46 first
    first = await next_sent(nfp)
    assert "week 46" in first.text
    await answer_all(env, nfp, ANSWERS_EN)
    await nfp.press("✅ Confirm and send")
    await next_sent(nfp)

    await nfp.send("/report")
    first = await next_sent(nfp)
    assert "week 47" in first.text and "Last week: 1,234" in first.text
    await nfp.press("Same as last week for measures, laboratories and needs")
    await next_sent(nfp)
    numbers = {"new_cases": "20000", "new_deaths": "30000", "tests": SKIP, "hospitalised": "9"}
    after_numbers = await answer_all(env, nfp, numbers)
    assert "Training topics" in after_numbers.text  # measures, lab and needs were copied
    review = await answer_all(env, nfp, {"training": SKIP, "developments": SKIP})
    assert "🔸 New confirmed COVID-19 cases this week: 20,000" in review.text
    assert "🔸 Public health measures" not in review.text  # unchanged, copied
    await nfp.press("✅ Confirm and send")
    warning = await next_sent(nfp)
    assert "New deaths (30,000) are higher than new cases (20,000)" in warning.text
    assert "more than 10 times last week's figure (1,234)" in warning.text
    await nfp.press("The figures are right: confirm")
    assert "Thank you" in (await next_sent(nfp)).text
    report = await store.find(env.svc.db, "KGZ", "2026-W47")
    assert report is not None
    [version] = await store.versions(env.svc.db, report.id)
    assert set(version.warnings) == {"deaths_above_cases", "cases_jump"}
    assert version.answers["measures"] == "targeted"


async def test_non_nfp_cannot_report(env: BotEnv) -> None:
    user = env.sandbox.user(861, "Curious")
    await env.say(user, "/start")
    reply = await env.say(user, "/report")
    assert "Only the National Focal Points" in reply.text
    [entry] = await audit.entries(env.svc.db, action="refused")
    assert entry.target == "report"


async def test_reminders_escalate_and_follow_delegation(env: BotEnv) -> None:
    main = await make_nfp(env, 871, "TKM", name="Merdan")
    alt = await make_nfp(env, 872, "TKM", kind="alternate", name="Ogulgerek")
    env.clock.set(at(23, 4, 0))  # Monday 09:00 in Ashgabat (+5): both are prompted
    await deliver(env)
    assert len(main.inbox) == 1 and len(alt.inbox) == 1
    env.clock.set(at(24, 4, 0))  # Tuesday 09:00: reminder, within 24 h of the prompt → main only
    await deliver(env)
    assert len(main.inbox) == 2 and len(alt.inbox) == 1
    # the main NFP goes on holiday and delegates to the alternate
    main.drain()
    await env.say(main, "/delegate")
    await main.press("Ogulgerek")
    await next_sent(main)
    await main.press("1 week")
    assert "your colleague receives the prompts" in (await next_sent(main)).text
    env.clock.set(at(25, 11, 0))  # Wednesday 16:00, two hours before the deadline
    await deliver(env)
    reminders = [m for m in alt.inbox if m.text.startswith("Reminder")]
    assert len(reminders) == 1
    assert not any(m.text.startswith("Reminder") for m in main.inbox[2:])
    assert any("asked you to handle the weekly reports" in m.text for m in alt.inbox)
    [entry] = await audit.entries(env.svc.db, action="delegate")
    assert entry.detail["to"] == 872


async def test_secretariat_asks_for_clarification(env: BotEnv) -> None:
    nfp = await make_nfp(env, 881, "MNG", name="Bold")
    await confirm_report(env, nfp)
    admin = env.admin()
    sent = await env.say(admin, "/clarify MNG Why did hospitalisations rise?")
    assert "Sent to the NFPs of Mongolia" in sent.text
    status = await env.say(admin, "/status")
    assert "❓ clarification asked" in status.text
    await env.outbox.drain()
    await env.sandbox.settle()
    question = nfp.inbox[-1]
    assert "Why did hospitalisations rise?" in question.text
    nfp.drain()
    await nfp.press("Answer")
    await next_sent(nfp)
    thanks = await env.say(nfp, "A new variant reached the capital.")
    assert "sent to the secretariat" in thanks.text
    await env.outbox.drain()
    await env.sandbox.settle()
    assert "A new variant reached the capital." in admin.inbox[-1].text
    admin.drain()
    status = await env.say(admin, "/status")
    assert "💬 clarification answered" in status.text


async def test_revision_of_an_earlier_week_is_kept_beside_the_original(env: BotEnv) -> None:
    nfp = await make_nfp(env, 891, "KGZ")
    await confirm_report(env, nfp)
    await env.say(nfp, "/revise")
    await nfp.press("week 47, 2026")
    fields = await next_sent(nfp)
    assert "New COVID-19 deaths this week: 5" in [b[0] for row in fields.buttons for b in row]
    await nfp.press("New COVID-19 deaths this week: 5")
    ask = await next_sent(nfp)
    assert "currently 5" in ask.text
    assert "not a whole number" in (await env.say(nfp, "many")).text
    assert "reason" in (await env.say(nfp, "444")).text
    saved = await env.say(nfp, "Deaths reclassified after the July review")
    assert "5 → 444" in saved.text
    assert (await store.confirmed_answers(env.svc.db, "KGZ", "2026-W47") or {})["new_deaths"] == 5
    from bot.reporting.followups import current_value, revisions_since

    assert await current_value(env.svc, "KGZ", "2026-W47", "new_deaths") == 444
    [rev] = await revisions_since(
        env.svc, env.clock.now() - timedelta(days=1), env.clock.now() + timedelta(seconds=1)
    )
    assert (rev.old_value, rev.new_value, rev.by) == (5, 444, 891)
    assert rev.reason == "Deaths reclassified after the July review"


async def test_jobs_are_scheduled_at_each_countrys_local_time(env: BotEnv) -> None:
    assert env.app is not None and env.app.job_queue is not None
    jobs = {job.name: job for job in env.app.job_queue.jobs()}
    kabul = jobs["AFG:prompt"]
    assert kabul.next_t is not None
    local = kabul.next_t.astimezone(env.config.country("AFG")[1].tz)
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    assert kabul.next_t.astimezone(UTC).strftime("%H:%M") == "04:30"
    mng, kaz = jobs["MNG:prompt"].next_t, jobs["KAZ:reminder:1"].next_t
    assert mng is not None and kaz is not None
    assert mng.astimezone(UTC).strftime("%a %H:%M") == "Mon 01:00"
    assert kaz.astimezone(UTC).strftime("%a %H:%M") == "Wed 11:00"
    assert "tick" in jobs


async def test_a_prompt_missed_while_stopped_is_sent_on_start_exactly_once(env: BotEnv) -> None:
    nfp = await make_nfp(env, 895, "PAK", name="Sana")
    await env.stop()
    env.clock.set(at(23, 0, 0))  # before 09:00 in Karachi (+5): week 46's window is closed
    await env.start()
    await env.sandbox.settle()
    assert nfp.inbox == []
    await env.stop()  # the bot is down over Monday 09:00 …
    env.clock.set(at(23, 7, 0))  # … and comes back at 12:00 local
    await env.start()
    prompt = await next_sent(nfp, timeout=10)  # sent by the start-up catch-up, no tick by hand
    assert "Pakistan · week 47" in prompt.text
    await env.restart()
    await deliver(env)
    assert len(nfp.inbox) == 1  # neither lost nor repeated


async def test_forged_buttons_cannot_reach_another_countrys_report(env: BotEnv) -> None:
    mng = await make_nfp(env, 901, "MNG", name="Bold")
    await confirm_report(env, mng)
    intruder = await make_nfp(env, 902, "KGZ", name="Intruder")
    msg = await env.say(intruder, "/help")
    for data in (
        "rs:MNG:2026-W47",  # open Mongolia's report
        "rt:MNG:2026-W47",  # take it over
        "rvw:MNG:2026-W47",  # read its figures for a revision
        "rvf:MNG:2026-W47:new_deaths",  # revise one
        "rs:KGZ:2027-W01",  # a week that has not happened
        "rs:KGZ:banana",
    ):
        await intruder.press_forged(data, message_id=msg.message_id)
        await env.sandbox.settle()
        assert intruder.callback_answers[-1]["text"] == "This button is no longer valid.", data
    assert [m for m in intruder.drain() if m.kind == "sent"] == []
    assert await store.find(env.svc.db, "KGZ", "2027-W01") is None
    report = await store.find(env.svc.db, "MNG", "2026-W47")
    assert report is not None and report.editor is None and report.version == 1


async def test_a_failed_reply_loses_no_answer(env: BotEnv) -> None:
    nfp = await make_nfp(env, 905, "AFG")
    await nfp.send("/report")
    await next_sent(nfp)
    env.sandbox.inject("sendMessage", status=429, retry_after=1, chat_id=905)
    await nfp.send("321")
    # Telegram refused the reply: it is sent again after retry_after, and no apology
    second = await next_sent(nfp, timeout=10)
    assert "Question 2 of 9" in second.text
    await env.sandbox.settle()
    assert [m for m in nfp.drain() if m.kind == "sent"] == []
    report = await store.find(env.svc.db, "AFG", "2026-W47")
    assert report is not None
    assert await store.answers(env.svc.db, report.id) == {"new_cases": 321}
    resumed = await env.say(nfp, "/report")
    assert "Question 2 of 9" in resumed.text
