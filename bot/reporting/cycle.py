"""The weekly cycle as pure functions of time: which week is reported, and when each step falls.

The reporting period is the ISO week just ended; its prompt, reminders and deadline fall in
the following week at wall times of the country's own timezone (zoneinfo, never fixed
offsets: Kazakhstan changed its offset in 2024), its digest at the region's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Country, Region, WeeklyTime
from bot.core.week import Week


def week_of(day: date) -> str:
    return str(Week.of(day))


def week_monday(week: str) -> date:
    return Week.parse(week).monday()


def shift_week(week: str, weeks: int) -> str:
    return str(Week.parse(week) + weeks)


def parse_week(text: str, current: str) -> str | None:
    """``2026-W47``, ``W47`` / ``47`` (the most recent such week), or ``last``; None if it is
    not a week or is later than ``current`` (no report can exist for it yet)."""
    now = Week.parse(current)
    text = text.strip().upper()
    if text in {"LAST", "PREVIOUS"}:
        return str(now - 1)
    try:
        week = Week.parse(text)
    except ValueError:
        pass
    else:
        return text if week <= now else None
    digits = text.removeprefix("W")
    if digits.isdigit() and 1 <= int(digits) <= 53:
        for year in (now.year, now.year - 1):
            try:
                candidate = Week(year, int(digits))
            except ValueError:
                continue
            if candidate <= now:
                return str(candidate)
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
    w = Week.parse(week)
    return w.monday(), w.sunday()


def local_date(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()
