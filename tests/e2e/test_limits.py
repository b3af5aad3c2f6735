"""Telegram's limits end to end (issue 6): what Telegram would refuse is never the only copy.

Screens longer than one message are sent as several by design; input that could not be
delivered is refused up front with the limit; config that cannot be shown is refused by
check-config; and nothing assumes a language the deployment does not have.
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, parse_config
from bot.core.clock import FakeClock
from bot.core.i18n import SUPPORTED, use_languages
from bot.core.textlimits import MESSAGE_LIMIT
from bot.reporting.followups import revisions_since
from sandbox import Sandbox, SimUser
from storage import reports as store
from storage.followups import Revision
from tests.e2e.test_weekly_report import confirm_report
from tests.support import ADMIN_ID, ANSWERS_EN, BotEnv, answer_all, make_nfp, next_sent


async def revisions(env: BotEnv) -> list[Revision]:
    now = env.clock.now()
    return await revisions_since(env.svc, now - timedelta(days=1), now + timedelta(seconds=1))


ROOT = Path(__file__).resolve().parents[2]
WEEK = "2026-W47"


def shipped_config(
    tmp_path: Path, change: Callable[[dict[str, Any]], None] | None = None
) -> Config:
    """The shipped config.toml, changed in its TOML data, with the database in ``tmp_path``."""
    data = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    if change is not None:
        change(data)
    cfg = parse_config(
        data, source=ROOT / "config.toml", env={"NFPBOT_DB": str(tmp_path / "nfpbot.sqlite3")}
    )
    return dataclasses.replace(cfg, admins=(ADMIN_ID,))


@asynccontextmanager
async def running(sandbox: Sandbox, config: Config, clock: FakeClock) -> AsyncIterator[BotEnv]:
    env = BotEnv(sandbox, config, clock)
    await env.start()
    try:
        yield env
    finally:
        await env.stop()
        use_languages(SUPPORTED, SUPPORTED[0])  # the languages are process-wide


async def test_a_review_longer_than_one_message_is_split_and_confirms(
    sandbox: Sandbox, clock: FakeClock, tmp_path: Path
) -> None:
    """Valid answers whose review exceeds 4,096 characters: the report can still be confirmed."""

    def long_texts(data: dict[str, Any]) -> None:
        for q in data["questionnaire"]["questions"]:
            if q["type"] == "text":
                q["max_length"] = 2000

    async with running(sandbox, shipped_config(tmp_path, long_texts), clock) as env:
        nfp = await make_nfp(env, 701, "KGZ")
        await nfp.send("/report")
        await next_sent(nfp)
        # a multi-line answer: its bold spans lines, so a cut inside it must close and reopen
        developments = "\n".join(["x" * 396] * 5)
        answers = {**ANSWERS_EN, "training": "😀" * 1000, "developments": developments}
        answers["needs"] = ["Test kits", "Other (please specify)"]
        last = await answer_all(env, nfp, {k: answers[k] for k in list(answers)[:7]})
        assert "describe what is needed" in last.text
        await nfp.send("y" * 999)
        await next_sent(nfp)  # training
        await nfp.send(str(answers["training"]))
        await next_sent(nfp)  # developments
        nfp.drain()
        await nfp.send(str(answers["developments"]))
        first = await next_sent(nfp)
        rest = [await next_sent(nfp)]
        while not rest[-1].buttons:
            rest.append(await next_sent(nfp))
        pieces = [first, *rest]
        assert len(pieces) >= 2 and "Please check your answers" in first.text
        assert all(len(p.text) <= MESSAGE_LIMIT for p in pieces)
        assert all(not p.buttons for p in pieces[:-1])  # the buttons come under the end
        whole = "\n".join(p.text for p in pieces)
        assert "😀" * 1000 in whole and "y" * 999 in whole
        assert whole.count("x" * 396) == 5
        assert any(p.text.startswith("x" * 396) for p in pieces[1:])  # cut inside the answer
        await nfp.press("✅ Confirm and send")
        assert "Thank you" in (await next_sent(nfp)).text
        report = await store.find(env.svc.db, "KGZ", WEEK)
        assert report is not None and report.confirmed


@pytest.mark.parametrize("answer", ["\u200b\u200b\u200b", "\u2060 \ufeff", "\u200d\u200c"])
async def test_an_answer_of_invisible_characters_is_empty(env: BotEnv, answer: str) -> None:
    nfp = await make_nfp(env, 702, "KGZ")
    await nfp.send("/report")
    await next_sent(nfp)
    await answer_all(env, nfp, {k: ANSWERS_EN[k] for k in list(ANSWERS_EN)[:8]})
    refused = await env.say(nfp, answer)
    assert "The answer is empty" in refused.text
    report = await store.find(env.svc.db, "KGZ", WEEK)
    assert report is not None
    assert "developments" not in await store.answers(env.svc.db, report.id)


async def test_a_reply_telegram_refuses_is_logged_as_an_error(
    env: BotEnv, caplog: pytest.LogCaptureFixture
) -> None:
    """BadRequest is a NetworkError in PTB: it must not pass for a network hiccup."""
    nfp = await make_nfp(env, 703, "KGZ")
    env.sandbox.inject(
        "sendMessage", status=400, description="Bad Request: message is too long", chat_id=703
    )
    caplog.set_level(logging.WARNING)
    await nfp.send("/report")
    await env.sandbox.settle()
    refused = [r for r in caplog.records if "message is too long" in r.getMessage().lower()]
    assert refused and all(r.levelno == logging.ERROR for r in refused), [
        (r.levelname, r.getMessage()) for r in refused
    ]


def _russian_only(data: Any) -> None:
    if isinstance(data, dict):
        if "en" in data and "ru" in data:
            del data["en"]
        if "languages" in data:
            data["languages"], data["default_language"] = ["ru"], "ru"
        if data.get("default_language") == "en":
            data["default_language"] = "ru"
        for value in data.values():
            _russian_only(value)
    elif isinstance(data, list):
        for value in data:
            _russian_only(value)


async def test_a_russian_only_deployment_never_needs_english(
    sandbox: Sandbox, clock: FakeClock, tmp_path: Path
) -> None:
    """``languages = ["ru"]`` passes check-config, so it must run: no KeyError 'en'."""
    async with running(sandbox, shipped_config(tmp_path, _russian_only), clock) as env:
        # an NFP whose Telegram app is in English, and a stranger with no language at all
        from bot.people import roles as people

        nfp = env.sandbox.user(704, "Bold", language_code="en")
        invite = await people.create_invite(env.svc, ADMIN_ID, "KGZ", "main")
        await people.redeem_invite(
            env.svc, people.UserInfo(704, "Bold", language_code="en"), invite.code
        )
        first = await env.say(nfp, "/report")
        assert "Кыргызстан" in first.text and "Вопрос 1 из 9" in first.text
        nxt = await env.say(nfp, "12")
        assert "Вопрос 2 из 9" in nxt.text
        stranger = env.sandbox.user(705, "Ann", language_code="en")
        hello = await env.say(stranger, "/start")
        assert "Добро пожаловать" in hello.text or "язык" in hello.text, hello.text


async def _clarification_sent(env: BotEnv, nfp: SimUser) -> None:
    await env.outbox.drain()
    await env.sandbox.settle()


async def test_a_bare_number_after_the_country_is_part_of_the_question(env: BotEnv) -> None:
    nfp = await make_nfp(env, 711, "KGZ", name="Bold")
    await confirm_report(env, nfp)
    admin = env.admin()
    sent = await env.say(admin, "/clarify KGZ 40 deaths: all lab-confirmed?")
    assert "Sent to the NFPs of Kyrgyzstan" in sent.text
    await _clarification_sent(env, nfp)
    assert "week 47" in nfp.inbox[-1].text and "40 deaths: all lab-confirmed?" in nfp.inbox[-1].text
    # an explicit week is still a week; a week with no report is said so, not asked
    sent = await env.say(admin, "/clarify KGZ W40 deaths: all lab-confirmed?")
    assert "no confirmed report for week 40" in sent.text
    sent = await env.say(admin, "/clarify KGZ 2026-W47 why so few tests?")
    assert "Sent to the NFPs" in sent.text
    assert "W47" in (await env.say(admin, "/clarify")).text  # the usage names the form


async def test_overlong_clarification_question_and_answer_are_refused_up_front(
    env: BotEnv,
) -> None:
    nfp = await make_nfp(env, 712, "KGZ", name="Bold")
    await confirm_report(env, nfp)
    admin = env.admin()
    refused = await env.say(admin, "/clarify KGZ " + "q" * 4088)
    assert "4,088 characters long; the limit is" in refused.text
    assert "Nothing was sent" in refused.text
    status = await env.say(admin, "/status")
    assert "clarification asked" not in status.text
    await _clarification_sent(env, nfp)
    assert nfp.drain() == []
    # the largest question that fits is delivered whole
    limit = int(refused.text.split("the limit is ")[1].split(" ")[0].replace(",", ""))
    assert "Sent to the NFPs" in (await env.say(admin, "/clarify KGZ " + "q" * limit)).text
    await _clarification_sent(env, nfp)
    assert "q" * limit in nfp.inbox[-1].text
    nfp.drain()
    await nfp.press("Answer")
    await next_sent(nfp)
    admin.drain()
    assert "The answer is empty" in (await env.say(nfp, "\u200b\u200b")).text
    too_long = await env.say(nfp, "a" * 4090)
    assert "4,090 characters long; the limit is" in too_long.text
    await _clarification_sent(env, nfp)
    assert admin.drain() == []
    status = await env.say(admin, "/status")
    assert "clarification asked" in status.text  # still open: nothing was answered
    # the question stays open for a shorter answer
    assert "sent to the secretariat" in (await env.say(nfp, "a" * 3000)).text
    await _clarification_sent(env, nfp)
    assert "a" * 3000 in admin.inbox[-1].text


async def test_a_revision_reason_over_the_limit_is_refused_not_cut(env: BotEnv) -> None:
    nfp = await make_nfp(env, 713, "KGZ")
    await confirm_report(env, nfp)
    await env.say(nfp, "/revise")
    await nfp.press("week 47, 2026")
    await next_sent(nfp)
    await nfp.press("New COVID-19 deaths this week: 5")
    await next_sent(nfp)
    assert "reason" in (await env.say(nfp, "7")).text
    refused = await env.say(nfp, "r" * 501)
    assert "501 characters long; the limit is 500" in refused.text
    assert await revisions(env) == []
    saved = await env.say(nfp, "r" * 500)
    assert "5 → 7" in saved.text
    [rev] = await revisions(env)
    assert rev.reason == "r" * 500


async def test_the_nfps_own_review_shows_a_revision_made_with_revise(env: BotEnv) -> None:
    nfp = await make_nfp(env, 714, "KGZ")
    await confirm_report(env, nfp)
    await env.say(nfp, "/revise")
    await nfp.press("week 47, 2026")
    await next_sent(nfp)
    await nfp.press("New COVID-19 deaths this week: 5")
    await next_sent(nfp)
    await env.say(nfp, "444")
    assert "5 → 444" in (await env.say(nfp, "Deaths reclassified after review")).text
    review = await env.say(nfp, "/report")
    assert "Please check your answers" in review.text
    line = next(x for x in review.text.splitlines() if x.startswith("New COVID-19 deaths"))
    assert line == (
        "New COVID-19 deaths this week: 5 "
        "(revised to 444 on 24 Nov: Deaths reclassified after review)"
    )
