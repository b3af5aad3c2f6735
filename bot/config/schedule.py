"""The weekly schedule of a region (``[regions.schedule]``) and its value types.

Weekday times and durations are parsed here once, so the cycle (bot/reporting/schedule.py)
works with values, never with the strings an operator wrote.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.config.reader import Table, type_name

__all__ = [
    "DEFAULT_SCHEDULE",
    "SCHEDULE_KEYS",
    "Schedule",
    "WeeklyTime",
    "format_duration",
    "parse_duration",
    "parse_schedule",
]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_NAMES = {
    name: i
    for i, day in enumerate(_WEEKDAYS)
    for name in (
        day.lower(),
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[i],
    )
}
_WEEKLY_RE = re.compile(r"\s*([A-Za-z]+)\s+(\d{1,2}):(\d{2})\s*")


@dataclass(frozen=True, order=True)
class WeeklyTime:
    """A weekday and a naive wall-clock time; the timezone comes from where it is used."""

    weekday: int  # 0 = Monday ... 6 = Sunday, as datetime.weekday()
    time: dt.time

    @classmethod
    def parse(cls, text: str) -> WeeklyTime:
        """Parse ``"Mon 09:00"`` (full day names and any case accepted); ValueError if bad."""
        match = _WEEKLY_RE.fullmatch(text)
        if not match:
            raise ValueError(f"expected a weekday and a time like 'Mon 09:00', got {text!r}")
        day, hour, minute = match.group(1).lower(), int(match.group(2)), int(match.group(3))
        if day not in _WEEKDAY_NAMES:
            raise ValueError(f"unknown weekday {match.group(1)!r} (use {', '.join(_WEEKDAYS)})")
        if hour > 23 or minute > 59:
            raise ValueError(f"invalid time of day in {text!r} (use 00:00 to 23:59)")
        return cls(_WEEKDAY_NAMES[day], dt.time(hour, minute))

    @property
    def offset(self) -> dt.timedelta:
        """Time since Monday 00:00 of the same week, to order and place times within a week."""
        return dt.timedelta(days=self.weekday, hours=self.time.hour, minutes=self.time.minute)

    def __str__(self) -> str:
        return f"{_WEEKDAYS[self.weekday]} {self.time:%H:%M}"


_DURATION_RE = re.compile(r"\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*")
_BEFORE_DEADLINE_RE = re.compile(r"\s*(.+?)\s+before\s+deadline\s*", re.IGNORECASE)


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``"24h"``, ``"30m"``, ``"1d"``, ``"1h30m"``; ValueError if bad."""
    match = _DURATION_RE.fullmatch(text)
    if not match or not any(match.groups()):
        raise ValueError(f"expected a duration like '24h', '30m' or '1d', got {text!r}")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return dt.timedelta(days=days, hours=hours, minutes=minutes)


def format_duration(delta: dt.timedelta) -> str:
    """Inverse of :func:`parse_duration` in hours and minutes (``"24h"``, ``"1h30m"``)."""
    minutes = round(delta.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    if minutes and hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m" if minutes else f"{hours}h"


@dataclass(frozen=True)
class Schedule:
    """The weekly cycle, run in the week after the reporting (ISO) week.

    prompt, reminders and deadline are wall times in each country's own timezone; the digest
    is in the region's (secretariat's) timezone. A timedelta reminder means "this long before
    the deadline".
    """

    prompt: WeeklyTime
    reminders: tuple[WeeklyTime | dt.timedelta, ...]
    deadline: WeeklyTime
    digest: WeeklyTime
    alternates_after: dt.timedelta = dt.timedelta(hours=24)
    secretariat_after: dt.timedelta = dt.timedelta(0)


DEFAULT_SCHEDULE = Schedule(
    prompt=WeeklyTime(0, dt.time(9, 0)),
    reminders=(WeeklyTime(1, dt.time(9, 0)), dt.timedelta(hours=2)),
    deadline=WeeklyTime(2, dt.time(18, 0)),
    digest=WeeklyTime(3, dt.time(10, 0)),
)


SCHEDULE_KEYS = (
    "prompt",
    "reminders",
    "deadline",
    "digest",
    "alternates_after",
    "secretariat_after",
)
_DEFAULT_REMINDERS = ("Tue 09:00", "2h before deadline")


def parse_schedule(table: Table) -> Schedule:
    """A region's schedule; an absent key takes its default from :data:`DEFAULT_SCHEDULE`."""
    default = DEFAULT_SCHEDULE

    def weekly(key: str, fallback: WeeklyTime) -> WeeklyTime:
        text = table.get_str(key, default=None)
        if text is None:
            return fallback
        try:
            return WeeklyTime.parse(text)
        except ValueError as exc:
            table.fail(key, str(exc))

    def duration(key: str, fallback: dt.timedelta) -> dt.timedelta:
        text = table.get_str(key, default=None)
        if text is None:
            return fallback
        try:
            return parse_duration(text)
        except ValueError as exc:
            table.fail(key, str(exc))

    prompt = weekly("prompt", default.prompt)
    deadline = weekly("deadline", default.deadline)
    digest = weekly("digest", default.digest)
    if deadline <= prompt:
        table.fail(
            "deadline",
            f"{deadline} is not after the prompt {prompt} (both fall in the week after the "
            "reporting week, Monday to Sunday)",
        )

    given = table.get_list("reminders", default=None)
    reminders: list[WeeklyTime | dt.timedelta] = []
    times: list[dt.timedelta] = []
    for i, text in enumerate(_DEFAULT_REMINDERS if given is None else given):
        key = f"reminders[{i}]"
        if not isinstance(text, str):
            table.fail(
                key,
                f"expected a string like 'Tue 09:00' or '2h before deadline', got "
                f"{type_name(text)}",
            )
        reminder: WeeklyTime | dt.timedelta
        before = _BEFORE_DEADLINE_RE.fullmatch(text)
        try:
            reminder = parse_duration(before.group(1)) if before else WeeklyTime.parse(text)
        except ValueError as exc:
            table.fail(key, f"{exc} (or '<duration> before deadline')")
        if isinstance(reminder, dt.timedelta):
            if reminder <= dt.timedelta(0):
                table.fail(key, f"must be a positive duration before the deadline, got {text!r}")
            at = deadline.offset - reminder
        else:
            at = reminder.offset
        if not prompt.offset < at < deadline.offset:
            if given is None:
                continue  # a default that does not fit a custom prompt/deadline is dropped
            table.fail(
                key, f"{text!r} is not between the prompt {prompt} and the deadline {deadline}"
            )
        if at in times:
            table.fail(key, f"{text!r} falls at the same time as an earlier reminder")
        reminders.append(reminder)
        times.append(at)

    return Schedule(
        prompt=prompt,
        reminders=tuple(reminders),
        deadline=deadline,
        digest=digest,
        alternates_after=duration("alternates_after", default.alternates_after),
        secretariat_after=duration("secretariat_after", default.secretariat_after),
    )
