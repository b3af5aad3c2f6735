"""One week title, one way to name a week: the prompt, the questionnaire, /status, the notices.

The unit tests pin the formatter; the end-to-end one checks that what people receive uses
it everywhere (the prompt once said "Mongolia, week 47", the questionnaire "Mongolia · week
47", /status "Central Asia: week 47", and the take-over notice "week 2026-W47"); the source
check keeps a second formatter from growing back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.i18n import translator
from bot.core.week import Week
from bot.reporting import texts
from tests.support import BotEnv, deliver, make_nfp, next_sent

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Mongolia · week 47 (16 Nov – 22 Nov 2026)"


def test_week_title_in_each_language() -> None:
    en, ru = translator("en"), translator("ru")
    assert texts.week_title(en, "Mongolia", "2026-W47") == TITLE
    assert texts.week_title(en, "Mongolia", Week(2026, 47)) == TITLE
    assert (
        texts.week_title(ru, "Монголия", "2026-W47")
        == "Монголия · неделя 47 (16 нояб. – 22 нояб. 2026)"
    )
    # a week across the new year is dated by its own days, numbered in its ISO year
    assert texts.week_title(en, "A & B", "2026-W53") == "A &amp; B · week 53 (28 Dec – 3 Jan 2027)"


def test_week_title_refuses_what_is_not_a_week() -> None:
    with pytest.raises(ValueError):
        texts.week_title(translator("en"), "Mongolia", "2026-W47 ")


def test_one_week_title_formatter_in_the_source() -> None:
    """Only bot/reporting/texts.py formats a week's date range, and nothing slices a week."""
    offenders = []
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]):
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        if rel != "bot/reporting/texts.py" and "({start} – {end})" in source:
            offenders.append(f"{rel}: formats a week title")
        if rel != "bot/core/week.py" and re.search(
            r"week\w*(\.week)?\)?\[-2:\]|\[\"week\"\]\[-2:\]", source
        ):
            offenders.append(f"{rel}: slices a week string")
    assert offenders == []


@pytest.fixture
def clock() -> FakeClock:
    # Monday of ISO week 48, 12:00 UTC: week 47 has been prompted everywhere
    return FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))


async def test_every_message_titles_and_names_the_week_alike(env: BotEnv) -> None:
    main = await make_nfp(env, 851, "MNG", name="Bold")
    alt = await make_nfp(env, 852, "MNG", kind="alternate", name="Saraa")
    await deliver(env)
    prompt = next(m for m in main.inbox if "It is time" in m.text)
    assert TITLE in prompt.text

    main.drain()
    await main.press("Start the report")
    question = await next_sent(main)
    assert question.text.startswith(TITLE)

    status = await env.say(env.admin(), "/status")
    assert status.text.startswith("Central Asia · week 47 (16 Nov – 22 Nov 2026)")

    busy = await env.say(alt, "/report")
    assert "the report for Mongolia, week 47." in busy.text
    main.drain()
    await alt.press("Take over the report")
    await next_sent(alt)
    await env.quiet(alt)
    await deliver(env)
    [notice] = [m for m in main.inbox if "has taken over the report" in m.text]
    assert "Saraa has taken over the report for Mongolia, week 47." in notice.text
    assert "W47" not in notice.text
