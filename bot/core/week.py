"""An ISO week as a value: ``Week(2026, 47)``, written ``2026-W47``.

The reporting period is an ISO week, and it travels as the string ``YYYY-Www`` through SQLite
rows, callback data and outbox dedup keys (that spelling sorts like the weeks themselves, so
SQL ``ORDER BY week`` and ``MAX(week)`` stay right). Code that needs the week's number, year or
days asks a :class:`Week` instead of slicing that string: ``int(week[-2:])`` silently reads
garbage from anything not exactly in that shape, a :class:`Week` refuses it when parsed.

A Week is always a real ISO week (week 53 only in the years that have one) of a four-digit
year, so every value formats back to the string it was parsed from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Self

# ASCII digits only: ``\d`` would also take Arabic-Indic digits, which int() reads but which
# do not format back to the same string (nor sort among the others)
_SHAPE = re.compile(r"([0-9]{4})-W([0-9]{2})", re.ASCII)
MIN_YEAR = 1000  # four digits, as the string form has
MAX_YEAR = 9999


@dataclass(frozen=True, order=True)
class Week:
    """ISO ``year`` and week ``number`` (1–52 or 53); ordered in time."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValueError(f"year out of range: {self.year}")
        try:
            date.fromisocalendar(self.year, self.number, 1)
        except ValueError:
            raise ValueError(f"{self.year} has no ISO week {self.number}") from None

    @classmethod
    def parse(cls, text: str) -> Self:
        """``2026-W47`` exactly (the stored form); ValueError for anything else."""
        match = _SHAPE.fullmatch(text)
        if match is None:
            raise ValueError(f"not an ISO week: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Self:
        """The ISO week a day falls in (which may be numbered in the neighbouring year)."""
        year, number, _ = day.isocalendar()
        return cls(year, number)

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.number:02d}"

    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    def sunday(self) -> date:
        return self.monday() + timedelta(days=6)

    def __add__(self, weeks: int) -> Week:
        """The week ``weeks`` later (earlier if negative); ValueError past the year range."""
        if not isinstance(weeks, int):
            return NotImplemented
        try:
            return Week.of(self.monday() + timedelta(weeks=weeks))
        except OverflowError:
            raise ValueError(f"{self} + {weeks} weeks is out of range") from None

    def __sub__(self, weeks: int) -> Week:
        if not isinstance(weeks, int):
            return NotImplemented
        return self + -weeks

    def shift(self, weeks: int) -> Week:
        """``self + weeks``, spelt out where a window is built (``week.shift(-11)``)."""
        return self + weeks

    def next(self) -> Week:
        return self + 1

    def previous(self) -> Week:
        return self - 1

    @property
    def dhis2(self) -> str:
        """DHIS2's weekly period id, ``2020W30``."""
        return f"{self.year}W{self.number}"


def weeks_between(first: Week, last: Week) -> list[Week]:
    """Every week from ``first`` to ``last``, both included (empty if last is before first)."""
    out: list[Week] = []
    week = first
    while week <= last:
        out.append(week)
        week = week.next()
    return out
