"""A small ISO week value for the digest.

Local to the digest because ``bot.core.week`` did not exist on main when the digest was
written; it has the same surface (``parse``, ``str``, ``year``, ``number``, ``monday``,
``next``, ``previous``) so it can be replaced by that one with an import change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_WEEK = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True, order=True)
class Week:
    """An ISO 8601 week (Monday to Sunday); ordered in time, printed as ``2020-W30``."""

    year: int
    number: int

    def __post_init__(self) -> None:
        date.fromisocalendar(self.year, self.number, 1)  # ValueError for a week that is not

    @classmethod
    def parse(cls, text: str) -> Week:
        """``2020-W30``; ValueError for anything else (including a week 53 that is not)."""
        match = _WEEK.fullmatch(text.strip().upper())
        if not match:
            raise ValueError(f"not an ISO week like 2020-W30: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Week:
        year, number, _ = day.isocalendar()
        return cls(year, number)

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shift(self, weeks: int) -> Week:
        return Week.of(self.monday + timedelta(weeks=weeks))

    def next(self) -> Week:
        return self.shift(1)

    def previous(self) -> Week:
        return self.shift(-1)

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
