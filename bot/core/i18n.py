"""Translations (gettext catalogs in ``locales/``) and locale-aware formatting (babel).

Every user-facing string goes through a :class:`Translator`; handlers pick the reader's one
with :func:`translator`. Catalogs are compiled ``.mo`` files loaded once per language.
"""

from __future__ import annotations

import datetime as dt
import gettext
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import locales

LOCALES_DIR = Path(locales.__file__).resolve().parent
DOMAIN = "messages"
#: Languages with a catalog (English is the source language of every msgid).
SUPPORTED = ("en", "ru")
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}

# The deployment's languages (config ``bot.languages``) and its default: every per-language
# text of the config exists in exactly these, so no reader may get another one (a Russian-only
# deployment has no English labels to look up). Set once at start by :func:`use_languages`.
_enabled: tuple[str, ...] = SUPPORTED
_default: str = SUPPORTED[0]


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


class Translator:
    """One language's catalog plus babel formatting in that locale."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._t = gettext.translation(DOMAIN, LOCALES_DIR, languages=[lang], fallback=True)

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def number(self, value: int | float) -> str:
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.lang)

    def percent(self, value: float) -> str:
        from babel.numbers import format_percent

        return format_percent(value, locale=self.lang)

    def date(self, value: date, fmt: str = "medium") -> str:
        from babel.dates import format_date

        return format_date(value, fmt, locale=self.lang)

    def datetime(self, value: datetime, tz: ZoneInfo, fmt: str = "medium") -> str:
        from babel.dates import format_datetime

        return format_datetime(value, fmt, tzinfo=tz, locale=self.lang)

    # ``dt.datetime`` below: inside the class ``datetime`` names the method above
    def zone(self, tz: ZoneInfo, at: dt.datetime) -> str:
        """CLDR's name of ``tz`` at that instant ("Kyrgyzstan Time", «Киргизия»), not its id.

        An aware datetime, not the zone alone: babel names a bare zone in its summer time,
        wrong for zones without daylight saving (Asia/Bishkek).
        """
        from babel.dates import get_timezone_name

        return get_timezone_name(at.astimezone(tz), locale=self.lang)

    def moment(self, value: dt.datetime, tz: ZoneInfo, date_fmt: str = "long") -> str:
        """A date and a time to the minute in ``tz``, labelled with the zone's CLDR name."""
        local = value.astimezone(tz)
        when = f"{self.date(local.date(), date_fmt)}, {self.time(local.time())}"
        return f"{when} ({self.zone(tz, value)})"

    def time(self, value: time) -> str:
        from babel.dates import format_time

        return format_time(value, "short", locale=self.lang)

    def weekday(self, weekday: int) -> str:
        """0 = Monday, as in :meth:`datetime.date.weekday`."""
        from babel.dates import get_day_names

        name: str = get_day_names("wide", locale=self.lang)[weekday]
        return name

    def language_name(self, code: str) -> str:
        """A language's name in its own language (what a language picker shows)."""
        return LANGUAGE_NAMES.get(code, code)


def use_languages(languages: tuple[str, ...], default: str) -> None:
    """Limit readers to the deployment's languages (config checks each has a catalog)."""
    global _enabled, _default
    assert default in languages and all(lang in SUPPORTED for lang in languages)
    _enabled, _default = tuple(languages), default
    translator.cache_clear()


@cache
def translator(lang: str | None) -> Translator:
    """The translator for ``lang``, else for the deployment's default language."""
    return Translator(lang if lang in _enabled else _default)


def pick_language(stored: str | None, telegram_code: str | None) -> str:
    """The person's chosen language, else their Telegram app's, else the default one."""
    if stored is not None and stored in _enabled:
        return stored
    if telegram_code:
        base = telegram_code.split("-")[0].lower()
        if base in _enabled:
            return base
        if base in {"uk", "be", "kk", "ky", "tg", "uz"} and "ru" in _enabled:
            return "ru"  # Russian is the common working language of the region's other speakers
    return _default
