"""An NFP of two countries picks one; ``/report last`` keeps meaning the previous week."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.clock import FakeClock
from tests.support import BotEnv, make_nfp, next_sent


@pytest.fixture
def clock() -> FakeClock:
    # Monday of ISO week 48, 12:00 UTC: week 47 is the one to report, 46 the previous one
    return FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(("command", "week"), [("/report", 47), ("/report last", 46)])
async def test_the_picked_country_opens_the_asked_week(
    env: BotEnv, command: str, week: int
) -> None:
    nfp = await make_nfp(env, 861, "MNG")
    await make_nfp(env, 861, "TJK")
    await env.quiet(nfp)
    pick = await env.say(nfp, command)
    assert pick.text == "Which country do you want to report for?"
    nfp.drain()
    await nfp.press("Tajikistan")
    screen = await next_sent(nfp)
    assert screen.text.startswith(f"Tajikistan · week {week} (")
    assert "Question 1 of 9" in screen.text
