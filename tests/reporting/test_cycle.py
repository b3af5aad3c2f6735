"""The weekly cycle's instants in real timezones (zoneinfo + tzdata)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Config
from bot.reporting.cycle import (
    current_week,
    cycle_for,
    parse_week,
    region_week,
    shift_week,
    week_of,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("iso3", "prompt_utc", "deadline_utc"),
    [
        ("AFG", utc(2026, 11, 23, 4, 30), utc(2026, 11, 25, 13, 30)),  # Kabul +4:30
        ("KAZ", utc(2026, 11, 23, 4, 0), utc(2026, 11, 25, 13, 0)),  # Almaty +5 since 2024
        ("MNG", utc(2026, 11, 23, 1, 0), utc(2026, 11, 25, 10, 0)),  # Ulaanbaatar +8
        ("KGZ", utc(2026, 11, 23, 3, 0), utc(2026, 11, 25, 12, 0)),  # Bishkek +6
    ],
)
def test_prompt_and_deadline_instants(
    config: Config, iso3: str, prompt_utc: datetime, deadline_utc: datetime
) -> None:
    region, country = config.country(iso3)
    c = cycle_for(region, country, "2026-W47")
    assert (c.prompt, c.deadline) == (prompt_utc, deadline_utc)
    # Tue 09:00 local and two hours before the deadline
    assert c.reminders == (
        prompt_utc.replace(day=24),
        deadline_utc.replace(hour=deadline_utc.hour - 2),
    )
    assert c.digest == utc(2026, 11, 26, 5, 0)  # Thursday 10:00 Tashkent (+5)


def test_almaty_before_2024_used_plus_six(config: Config) -> None:
    region, country = config.country("KAZ")
    assert cycle_for(region, country, "2023-W47").prompt == utc(2023, 11, 27, 3, 0)


def test_current_week_turns_at_each_countrys_own_prompt(config: Config) -> None:
    region, mng = config.country("MNG")
    _, afg = config.country("AFG")
    now = utc(2026, 11, 23, 2, 0)  # Monday: 10:00 in Ulaanbaatar, 06:30 in Kabul
    assert current_week(region, mng, now) == "2026-W47"
    assert current_week(region, afg, now) == "2026-W46"
    assert region_week(region, now) == "2026-W47"


def test_week_helpers() -> None:
    assert week_of(datetime(2021, 1, 3).date()) == "2020-W53"
    assert shift_week("2021-W01", -1) == "2020-W53"
    assert parse_week("47", "2026-W47") == "2026-W47"
    assert parse_week("48", "2026-W47") == "2025-W48"
    assert parse_week("last", "2026-W01") == "2025-W52"
    assert parse_week("2026-W99", "2026-W47") is None
    assert parse_week("2026-W48", "2026-W47") is None
    assert parse_week("banana", "2026-W47") is None
