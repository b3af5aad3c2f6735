"""The Week value: parses only the stored form, formats back to it, and counts like the calendar."""

from __future__ import annotations

import operator
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.week import MAX_YEAR, MIN_YEAR, Week

days = st.dates(min_value=date(MIN_YEAR, 1, 10), max_value=date(MAX_YEAR, 12, 20))
weeks = days.map(Week.of)


@given(weeks)
def test_str_and_parse_round_trip(week: Week) -> None:
    text = str(week)
    assert len(text) == 8 and text[4:6] == "-W"
    assert Week.parse(text) == week
    assert str(Week.parse(text)) == text


@given(days)
def test_of_agrees_with_the_iso_calendar(day: date) -> None:
    week = Week.of(day)
    year, number, weekday = day.isocalendar()
    assert (week.year, week.number) == (year, number)
    assert week.monday() == day - timedelta(days=weekday - 1)
    assert week.sunday() == week.monday() + timedelta(days=6)
    assert Week.of(week.monday()) == Week.of(week.sunday()) == week


@given(weeks, st.integers(min_value=-200, max_value=200))
def test_adding_weeks_moves_by_seven_days(week: Week, n: int) -> None:
    try:
        moved = week + n
    except ValueError:
        return  # past the year range at either end
    assert moved.monday() == week.monday() + timedelta(weeks=n)
    assert moved - n == week
    assert (moved > week) == (n > 0) and (moved == week) == (n == 0)


@given(weeks, weeks)
def test_order_is_time_order_and_string_order(a: Week, b: Week) -> None:
    """The stored strings sort like the weeks: SQL's ORDER BY / MAX on them stays right."""
    assert (a < b) == (a.monday() < b.monday()) == (str(a) < str(b))


def test_year_boundaries() -> None:
    assert Week.of(date(2021, 1, 3)) == Week(2020, 53)
    assert Week(2021, 1) - 1 == Week(2020, 53)
    assert Week(2026, 52) + 1 == Week(2026, 53)
    assert Week(2026, 53) + 1 == Week(2027, 1)
    assert Week.parse("2026-W47").monday() == date(2026, 11, 16)


@pytest.mark.parametrize(
    "text",
    [
        "2026-W00",
        "2026-W54",
        "2025-W53",  # 2025 has 52 ISO weeks (2026 has 53)
        "2026-w47",
        "2026-W7",
        "26-W47",
        " 2026-W47",
        "2026-W47\n",
        "٢٠٢٦-W47",  # Arabic-Indic digits: int() reads them, str() would not give them back
        "2026-W٤٧",
        "0999-W01",
        "",
    ],
)
def test_parse_refuses_what_is_not_a_stored_week(text: str) -> None:
    with pytest.raises(ValueError):
        Week.parse(text)


def test_construction_checks_the_range() -> None:
    for year, number in [(2026, 0), (2025, 53), (2026, 54), (999, 1), (10000, 1)]:
        with pytest.raises(ValueError):
            Week(year, number)
    assert Week(2020, 53).number == 53
    with pytest.raises(ValueError):
        Week(MAX_YEAR, 52) + 1


def test_a_week_is_not_its_string() -> None:
    """Mixing the two is a mistake to catch, not a comparison to guess at."""
    assert operator.ne(Week(2026, 47), "2026-W47")
    with pytest.raises(TypeError):
        operator.lt(Week(2026, 47), "2026-W48")
