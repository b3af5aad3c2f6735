"""The weekly cycle as pure functions of time: which week is reported, and when each step falls.

The reporting period is the ISO week just ended; its prompt, reminders and deadline fall in
the following week at wall times of the country's own timezone (zoneinfo, never fixed
offsets: Kazakhstan changed its offset in 2024), its digest at the region's time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Country, Region, WeeklyTime

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(week: str) -> date:
    match = _WEEK.match(week)
    if not match:
        raise ValueError(f"not an ISO week: {week!r}")
    return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)


def shift_week(week: str, weeks: int) -> str:
    return week_of(week_monday(week) + timedelta(weeks=weeks))


def parse_week(text: str, current: str) -> str | None:
    """``2026-W47``, ``W47`` / ``47`` (the most recent such week), or ``last``; None if it is
    not a week or is later than ``current`` (no report can exist for it yet)."""
    text = text.strip().upper()
    if text in {"LAST", "PREVIOUS"}:
        return shift_week(current, -1)
    if _WEEK.match(text):
        try:
            week_monday(text)
        except ValueError:
            return None
        return text if text <= current else None
    digits = text.removeprefix("W")
    if digits.isdigit() and 1 <= int(digits) <= 53:
        year = int(current[:4])
        for y in (year, year - 1):
            candidate = f"{y}-W{int(digits):02d}"
            try:
                week_monday(candidate)
            except ValueError:
                continue
            if candidate <= current:
                return candidate
    return None


def _at(week: str, when: WeeklyTime, tz: ZoneInfo) -> datetime:
    """The instant of ``when`` in the week *after* ``week``, in ``tz``, as UTC."""
    day = week_monday(week) + timedelta(days=7 + when.weekday)
    local = datetime.combine(day, when.time, tzinfo=tz)
    return local.astimezone(UTC)


@dataclass(frozen=True)
class CountryCycle:
    """Every instant of one country's cycle for one reporting week (all UTC)."""

    iso3: str
    week: str
    prompt: datetime
    reminders: tuple[datetime, ...]
    deadline: datetime
    digest: datetime
    alternates_from: datetime
    secretariat_at: datetime


def cycle_for(region: Region, country: Country, week: str) -> CountryCycle:
    s = region.schedule
    tz = country.tz
    deadline = _at(week, s.deadline, tz)
    reminders = tuple(
        sorted(deadline - r if isinstance(r, timedelta) else _at(week, r, tz) for r in s.reminders)
    )
    prompt = _at(week, s.prompt, tz)
    return CountryCycle(
        iso3=country.iso3,
        week=week,
        prompt=prompt,
        reminders=reminders,
        deadline=deadline,
        digest=_at(week, s.digest, region.tz),
        alternates_from=prompt + s.alternates_after,
        secretariat_at=deadline + s.secretariat_after,
    )


def current_week(region: Region, country: Country, now: datetime) -> str:
    """The newest week whose prompt time has come for this country (the one to report now)."""
    local_today = now.astimezone(country.tz).date()
    candidate = week_of(local_today - timedelta(days=7))
    if now < cycle_for(region, country, candidate).prompt:
        candidate = shift_week(candidate, -1)
    return candidate


def region_week(region: Region, now: datetime) -> str:
    """The week the secretariat is looking at: the newest one prompted in any country."""
    return max(current_week(region, c, now) for c in region.countries)


def week_range(week: str) -> tuple[date, date]:
    monday = week_monday(week)
    return monday, monday + timedelta(days=6)


def local_date(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()
