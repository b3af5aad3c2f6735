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
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.config import Config, parse_config
from bot.i18n import SUPPORTED, use_languages
from bot.sandbox import Sandbox
from bot.textlimits import MESSAGE_LIMIT
from storage import reports as store
from tests.support import ADMIN_ID, ANSWERS_EN, BotEnv, answer_all, make_nfp, next_sent

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
        answers = {**ANSWERS_EN, "training": "x" * 2000, "developments": "😀" * 1000}
        answers["needs"] = ["Test kits", "Other (please specify)"]
        last = await answer_all(env, nfp, {k: answers[k] for k in list(answers)[:7]})
        assert "describe what is needed" in last.text
        await nfp.send("y" * 999)
        await next_sent(nfp)  # training
        await nfp.send(answers["training"])
        await next_sent(nfp)  # developments
        nfp.drain()
        await nfp.send(answers["developments"])
        first = await next_sent(nfp)
        rest = [await next_sent(nfp)]
        while not rest[-1].buttons:
            rest.append(await next_sent(nfp))
        pieces = [first, *rest]
        assert len(pieces) >= 2 and "Please check your answers" in first.text
        assert all(len(p.text) <= MESSAGE_LIMIT for p in pieces)
        assert all(not p.buttons for p in pieces[:-1])  # the buttons come under the end
        whole = "\n".join(p.text for p in pieces)
        assert "x" * 2000 in whole and "😀" * 1000 in whole and "y" * 999 in whole
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
        from bot import people

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
