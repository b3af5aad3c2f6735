"""Deployment configuration: regions, countries, schedule and questionnaire, read from TOML.

Everything here is validated once at start-up so that a typo in ``config.toml`` stops the bot
with one line naming the offending key, instead of surfacing later as a wrong prompt time or
a crash in the middle of a weekly cycle. The objects are frozen: they are shared by every
handler and job and must not change under them.

The key reference is docs/config.md.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
import string
import tomllib
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NoReturn, TypeVar, cast, get_args, overload
from zoneinfo import ZoneInfo

import babel
from babel.core import get_global

from bot.core.i18n import SUPPORTED as CATALOGS
from bot.core.textlimits import MESSAGE_LIMIT, REVISION_REASON_LIMIT, tg_len

__all__ = [
    "CHECK_PLACEHOLDERS",
    "LANGUAGES",
    "Check",
    "CheckKind",
    "Config",
    "ConfigError",
    "Country",
    "CountryStatus",
    "Option",
    "Question",
    "QuestionType",
    "Questionnaire",
    "Region",
    "Schedule",
    "Topic",
    "WeeklyTime",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
    "resolve_config_path",
]

LANGUAGES: tuple[str, ...] = ("en", "ru")
DEFAULT_CONFIG_NAME = "config.toml"
ENV_CONFIG = "NFPBOT_CONFIG"
ENV_DB = "NFPBOT_DB"

QuestionType = Literal["number", "choice", "multi", "text"]
CheckKind = Literal["greater_than", "jump"]
CountryStatus = Literal["partner", "observer", "joining"]

#: Placeholders a check message may use, per check kind. The bot fills them with display
#: text in the reader's language (labels, formatted numbers), so format specs are not allowed.
CHECK_PLACEHOLDERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "greater_than": frozenset({"field", "other", "value", "other_value"}),
        "jump": frozenset({"field", "value", "previous", "factor", "min_base"}),
    }
)

# Keys travel in Telegram callback_data (at most 64 bytes), so they stay short and plain.
_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_REGION_KEY_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_ISO3_RE = re.compile(r"[A-Z]{3}")
_LANG_RE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# CLDR territories that are not countries (unknown, EU, UN, pseudo-locales, private use).
_NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


class ConfigError(Exception):
    """A configuration problem, as one line naming the key, e.g.
    ``regions.central-asia.countries.KGZ.timezone: unknown IANA timezone 'Asia/Bishkekk'``.

    One line because it is what an operator sees when the bot refuses to start.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message


# --------------------------------------------------------------------------- data model


_T = TypeVar("_T")


def _find(items: Sequence[_T], attr: str, key: str) -> _T:
    """The item whose ``attr`` equals ``key``; KeyError otherwise (lists here are short)."""
    for item in items:
        if getattr(item, attr) == key:
            return item
    raise KeyError(key)


def _frozen_map(data: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(data or {}))


def _text_field(*, optional: bool = False) -> Any:
    """A per-language text mapping; left out of the hash because mappings are unhashable."""
    if optional:
        return field(default_factory=_frozen_map, hash=False)
    return field(hash=False)


@dataclass(frozen=True)
class Option:
    """One answer of a choice/multi question; ``with_text`` asks a follow-up free text."""

    key: str
    label: Mapping[str, str] = _text_field()
    with_text: bool = False


@dataclass(frozen=True)
class Question:
    """One question of the weekly questionnaire; ``label``/``hint`` are per language."""

    key: str
    type: QuestionType
    label: Mapping[str, str] = _text_field()
    required: bool = True
    min: int | None = None
    max: int | None = None
    max_length: int = 1000
    options: tuple[Option, ...] = ()
    carry_over: bool = False
    hint: Mapping[str, str] = _text_field(optional=True)

    def option(self, key: str) -> Option:
        """The option with this key; KeyError if the question has none such."""
        return _find(self.options, "key", key)


@dataclass(frozen=True)
class Check:
    """A plausibility rule that warns the NFP but never blocks a submission.

    ``greater_than``: answers[field] > answers[other] (e.g. deaths above cases).
    ``jump``: answers[field] > factor * last_week[field] and last_week[field] >= min_base.
    """

    key: str
    kind: CheckKind
    field: str
    other: str | None = None
    factor: float | None = None
    min_base: int = 0
    message: Mapping[str, str] = _text_field(optional=True)


@dataclass(frozen=True)
class Questionnaire:
    """The versioned list of questions and checks; reports record the version they used."""

    version: int
    questions: tuple[Question, ...]
    checks: tuple[Check, ...] = ()

    def question(self, key: str) -> Question:
        """The question with this key; KeyError if there is none."""
        for question in self.questions:
            if question.key == key:
                return question
        raise KeyError(key)

    @property
    def keys(self) -> tuple[str, ...]:
        """Question keys in the order they are asked."""
        return tuple(q.key for q in self.questions)


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


@lru_cache(maxsize=64)
def _locale(lang: str) -> babel.Locale:
    return babel.Locale.parse(lang)


@dataclass(frozen=True)
class Country:
    """A country of a region; names come from CLDR unless ``names`` overrides a language."""

    iso3: str
    iso2: str
    timezone: str
    status: CountryStatus = "partner"
    population: int | None = None
    names: Mapping[str, str] = _text_field(optional=True)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def name(self, lang: str) -> str:
        """Display name in ``lang``: the configured override, else CLDR, else English."""
        if lang in self.names:
            return self.names[lang]
        for candidate in (lang, "en"):
            try:
                territories = _locale(candidate).territories
            except (ValueError, babel.UnknownLocaleError):
                continue
            if self.iso2 in territories:
                cldr_name: str = territories[self.iso2]
                return cldr_name
        return self.iso3


@dataclass(frozen=True)
class Topic:
    """A guidance topic that subscribers can choose."""

    key: str
    label: Mapping[str, str] = _text_field()


@dataclass(frozen=True)
class Region:
    """One regional secretariat: its countries, group chat, admins (of this region only),
    schedule and questions."""

    key: str
    name: Mapping[str, str] = field(hash=False)  # required: see _text_field
    timezone: str
    default_language: str
    group_chat_id: int | None
    admins: tuple[int, ...]
    countries: tuple[Country, ...]
    schedule: Schedule
    questionnaire: Questionnaire

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def country(self, iso3: str) -> Country:
        """The region's country with this ISO3 code; KeyError if it is not in the region."""
        return _find(self.countries, "iso3", iso3)


@dataclass(frozen=True)
class Config:
    """The whole deployment; ``admins`` are deployment-wide: admins of every region."""

    database: Path
    languages: tuple[str, ...]
    default_language: str
    admins: tuple[int, ...]
    invite_ttl: dt.timedelta
    log_level: str
    regions: tuple[Region, ...]
    topics: tuple[Topic, ...] = ()
    source: Path | None = None
    # Telegram's flood limit for this bot: messages in any 1-second window, replies and
    # proactive sends together (bot.outbox.pacer); 30 unless Telegram raised it (paid tiers)
    messages_per_second: int = 30

    def region(self, key: str) -> Region:
        """The region with this key; KeyError if there is none."""
        return _find(self.regions, "key", key)

    def country(self, iso3: str) -> tuple[Region, Country]:
        """The country with this ISO3 code and its region; KeyError if unknown."""
        return self._countries[iso3]

    @cached_property
    def _countries(self) -> dict[str, tuple[Region, Country]]:
        # looked up several times per update; built once (cached_property works on a frozen
        # dataclass: it writes the instance __dict__ directly)
        return {c.iso3: (r, c) for r in self.regions for c in r.countries}

    @property
    def all_countries(self) -> tuple[tuple[Region, Country], ...]:
        """Every (region, country) pair, in configuration order."""
        return tuple((r, c) for r in self.regions for c in r.countries)

    def region_of(self, iso3: str) -> Region:
        """The region a country belongs to; KeyError if unknown."""
        return self.country(iso3)[0]

    def topic(self, key: str) -> Topic:
        """The guidance topic with this key; KeyError if there is none."""
        return _find(self.topics, "key", key)


# --------------------------------------------------------------------------- loading


def resolve_config_path(cli_path: str | None, env: Mapping[str, str]) -> Path:
    """``--config PATH``, else ``$NFPBOT_CONFIG``, else ``./config.toml``."""
    if cli_path:
        return Path(cli_path).expanduser()
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    return Path(DEFAULT_CONFIG_NAME)


def load_config(path: Path, env: Mapping[str, str] = os.environ) -> Config:
    """Read and validate a TOML file; every problem is a one-line :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path), f"config file not found (give --config PATH or set {ENV_CONFIG})"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read config file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"TOML syntax error: {exc}") from None
    return parse_config(data, source=path, env=env)


def parse_config(
    data: Mapping[str, Any], *, source: Path | None = None, env: Mapping[str, str] = os.environ
) -> Config:
    """Validate already-parsed TOML data (a dict); used by :func:`load_config` and tests.

    A relative database path resolves against ``source``'s folder, so the bot finds its data
    whatever directory it is started from; ``$NFPBOT_DB`` overrides it.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("", f"expected a table at the top level, got {_type_name(data)}")
    root = _Table(data, "", ("bot", "questionnaire", "topics", "regions"))

    bot = root.get_table(
        "bot",
        (
            "database",
            "languages",
            "default_language",
            "admins",
            "invite_ttl_days",
            "log_level",
            "messages_per_second",
        ),
    )
    languages = _languages(bot)
    default_language = bot.get_str("default_language", default=languages[0])
    if default_language not in languages:
        bot.fail("default_language", f"{default_language!r} is not in languages {list(languages)}")
    database = _database(bot.get_str("database", default="nfpbot.sqlite3"), source, env)
    admins = _user_ids(bot, "admins")
    ttl_days = bot.get_int("invite_ttl_days", default=7)
    if ttl_days < 1:
        bot.fail("invite_ttl_days", f"must be at least 1, got {ttl_days}")
    per_second = bot.get_int("messages_per_second", default=30)
    if not 1 <= per_second <= 1000:
        bot.fail("messages_per_second", f"must be between 1 and 1000, got {per_second}")
    log_level = bot.get_str("log_level", default="INFO").upper()
    if log_level not in _LOG_LEVELS:
        bot.fail("log_level", f"expected one of {', '.join(_LOG_LEVELS)}, got {log_level!r}")

    default_questionnaire = None
    if "questionnaire" in data:
        default_questionnaire = _questionnaire(
            root.get_table("questionnaire", _QUESTIONNAIRE_KEYS), languages
        )

    topics: list[Topic] = []
    for item in root.get_tables("topics", ("key", "label")):
        key = item.get_key("key")
        if any(t.key == key for t in topics):
            item.fail("key", f"duplicate topic {key!r}")
        topics.append(Topic(key=key, label=item.get_text("label", languages)))

    regions: list[Region] = []
    seen_countries: dict[str, str] = {}
    region_items = root.get_tables("regions", _REGION_KEYS, name_re=_REGION_KEY_RE)
    if not region_items:
        root.fail("regions", "at least one [[regions]] is required")
    for item in region_items:
        region = _region(item, languages, default_language, default_questionnaire)
        if any(r.key == region.key for r in regions):
            item.fail("key", f"duplicate region {region.key!r}")
        for i, tg_id in enumerate(region.admins):
            if tg_id in admins:  # a region's admins administer that region only
                item.fail(
                    f"admins[{i}]",
                    f"{tg_id} is already a deployment-wide admin (bot.admins); "
                    "list it in one place",
                )
        for country in region.countries:
            if country.iso3 in seen_countries:
                raise ConfigError(
                    f"{item.path}.countries.{country.iso3}.iso3",
                    f"duplicate country {country.iso3!r}, already in region "
                    f"{seen_countries[country.iso3]!r}",
                )
            seen_countries[country.iso3] = region.key
        regions.append(region)

    return Config(
        database=database,
        languages=languages,
        default_language=default_language,
        admins=admins,
        invite_ttl=dt.timedelta(days=ttl_days),
        log_level=log_level,
        regions=tuple(regions),
        topics=tuple(topics),
        source=source,
        messages_per_second=per_second,
    )


_QUESTIONNAIRE_KEYS = ("version", "questions", "checks")
_REGION_KEYS = (
    "key",
    "name",
    "timezone",
    "default_language",
    "group_chat_id",
    "admins",
    "schedule",
    "countries",
    "questionnaire",
)
_SCHEDULE_KEYS = (
    "prompt",
    "reminders",
    "deadline",
    "digest",
    "alternates_after",
    "secretariat_after",
)
_COUNTRY_KEYS = ("iso3", "timezone", "status", "population", "names")
_QUESTION_KEYS = (
    "key",
    "type",
    "label",
    "hint",
    "required",
    "min",
    "max",
    "max_length",
    "options",
    "carry_over",
)
_OPTION_KEYS = ("key", "label", "with_text")
_CHECK_KEYS = ("key", "kind", "field", "other", "factor", "min_base", "message")
_DEFAULT_REMINDERS = ("Tue 09:00", "2h before deadline")


def _database(value: str, source: Path | None, env: Mapping[str, str]) -> Path:
    if env.get(ENV_DB):
        return Path(env[ENV_DB]).expanduser()
    path = Path(value).expanduser()
    if value == ":memory:" or path.is_absolute() or source is None:
        return path
    return (Path(source).parent / path).absolute()


def _languages(bot: _Table) -> tuple[str, ...]:
    raw = bot.get_list("languages", default=list(LANGUAGES))
    if not raw:
        bot.fail("languages", "at least one language is required")
    languages: list[str] = []
    for i, lang in enumerate(raw):
        key = f"languages[{i}]"
        if not isinstance(lang, str):
            bot.fail(key, f"expected a string, got {_type_name(lang)}")
        if not _LANG_RE.fullmatch(lang):
            bot.fail(key, f"expected a language code like 'en' or 'ru', got {lang!r}")
        try:
            _locale(lang)
        except (ValueError, babel.UnknownLocaleError):
            bot.fail(key, f"unknown language {lang!r} (not in CLDR)")
        if lang not in CATALOGS:
            bot.fail(
                key,
                f"no translation catalog for {lang!r}: the bot would speak another language "
                f"(languages with a catalog: {', '.join(CATALOGS)})",
            )
        if lang in languages:
            bot.fail(key, f"duplicate language {lang!r}")
        languages.append(lang)
    return tuple(languages)


def _user_ids(table: _Table, key: str) -> tuple[int, ...]:
    ids: list[int] = []
    for i, value in enumerate(table.get_list(key, default=[])):
        if not _is_int(value):
            table.fail(f"{key}[{i}]", f"expected a Telegram user id, got {_type_name(value)}")
        if value <= 0:
            table.fail(f"{key}[{i}]", f"Telegram user ids are positive, got {value}")
        if value not in ids:
            ids.append(value)
    return tuple(ids)


@lru_cache(maxsize=1)
def _iana_timezones() -> frozenset[str]:
    """Names tzdata knows, minus host-specific entries that are not zones of a place."""
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory", "posixrules"})


def _timezone(table: _Table, key: str) -> str:
    name = table.get_str(key)
    if name not in _iana_timezones():
        table.fail(key, f"unknown IANA timezone {name!r}")
    return name


def _region(
    item: _Table,
    languages: tuple[str, ...],
    bot_language: str,
    default_questionnaire: Questionnaire | None,
) -> Region:
    key = item.get_key("key", _REGION_KEY_RE, "a lowercase slug like 'central-asia'")
    name = item.get_text("name", languages)
    timezone = _timezone(item, "timezone")
    default_language = item.get_str("default_language", default=bot_language)
    if default_language not in languages:
        item.fail("default_language", f"{default_language!r} is not in languages {list(languages)}")
    group_chat_id = item.get_int("group_chat_id", default=0)
    if group_chat_id > 0:
        item.fail("group_chat_id", f"group and channel chat ids are negative, got {group_chat_id}")
    admins = _user_ids(item, "admins")

    countries: list[Country] = []
    country_items = item.get_tables("countries", _COUNTRY_KEYS, name_key="iso3", name_re=_ISO3_RE)
    if not country_items:
        item.fail("countries", "a region needs at least one [[regions.countries]]")
    for country_item in country_items:
        country = _country(country_item, languages)
        if any(c.iso3 == country.iso3 for c in countries):
            country_item.fail("iso3", f"duplicate country {country.iso3!r} in region {key!r}")
        countries.append(country)

    schedule = _schedule(item.get_table("schedule", _SCHEDULE_KEYS))
    _check_digest_after_deadlines(item, schedule, timezone, countries)

    if "questionnaire" in item.data:
        questionnaire = _questionnaire(
            item.get_table("questionnaire", _QUESTIONNAIRE_KEYS), languages
        )
    elif default_questionnaire is not None:
        questionnaire = default_questionnaire
    else:
        item.fail("questionnaire", "missing: define [questionnaire] or [regions.questionnaire]")
    return Region(
        key=key,
        name=name,
        timezone=timezone,
        default_language=default_language,
        group_chat_id=group_chat_id or None,
        admins=admins,
        countries=tuple(countries),
        schedule=schedule,
        questionnaire=questionnaire,
    )


@lru_cache(maxsize=1)
def _iso3_to_iso2() -> Mapping[str, str]:
    """ISO 3166 alpha-3 -> alpha-2 from CLDR's territory aliases (only real countries)."""
    countries = _locale("en").territories
    result = {}
    for alias, targets in get_global("territory_aliases").items():
        if not _ISO3_RE.fullmatch(alias) or len(targets) != 1:
            continue
        iso2 = targets[0]
        if len(iso2) == 2 and iso2 in countries and iso2 not in _NOT_COUNTRIES:
            result[alias] = iso2
    return MappingProxyType(result)


def _country(item: _Table, languages: tuple[str, ...]) -> Country:
    iso3 = item.get_key("iso3", _ISO3_RE, "an ISO 3166 alpha-3 code like 'KGZ'")
    iso2 = _iso3_to_iso2().get(iso3)
    if iso2 is None:
        item.fail("iso3", f"unknown ISO3 code {iso3!r}")
    timezone = _timezone(item, "timezone")
    statuses = get_args(CountryStatus)
    status = item.get_str("status", default="partner")
    if status not in statuses:
        item.fail("status", f"expected one of {', '.join(statuses)}, got {status!r}")
    population = item.get_int("population", default=None)
    if population is not None and population <= 0:
        item.fail("population", f"must be positive, got {population}")
    names = item.get_text("names", languages, partial=True, default={})
    return Country(
        iso3=iso3,
        iso2=iso2,
        timezone=timezone,
        status=cast(CountryStatus, status),
        population=population,
        names=names,
    )


def _schedule(table: _Table) -> Schedule:
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
                f"{_type_name(text)}",
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


def _check_digest_after_deadlines(
    item: _Table, schedule: Schedule, timezone: str, countries: Sequence[Country]
) -> None:
    """Posting a digest before a country's deadline would list it as missing, not late.

    Compared as real instants (region vs country timezones) in a winter and a summer week, so
    daylight saving time is covered.
    """
    for monday in (dt.date(2024, 1, 8), dt.date(2024, 7, 8)):
        digest = _instant(monday, schedule.digest, timezone)
        for country in countries:
            if digest < _instant(monday, schedule.deadline, country.timezone):
                item.fail(
                    "schedule.digest",
                    f"{schedule.digest} ({timezone}) is before the deadline in {country.iso3} "
                    f"({schedule.deadline} {country.timezone})",
                )


def _instant(monday: dt.date, when: WeeklyTime, timezone: str) -> dt.datetime:
    day = monday + dt.timedelta(days=when.weekday)
    return dt.datetime.combine(day, when.time, tzinfo=ZoneInfo(timezone))


def _questionnaire(table: _Table, languages: tuple[str, ...]) -> Questionnaire:
    version = table.get_int("version", default=1)
    if version < 1:
        table.fail("version", f"must be at least 1, got {version}")
    questions: list[Question] = []
    items = table.get_tables("questions", _QUESTION_KEYS)
    if not items:
        table.fail("questions", "at least one [[...questions]] is required")
    for item in items:
        question = _question(item, languages)
        if any(q.key == question.key for q in questions):
            item.fail("key", f"duplicate question {question.key!r}")
        questions.append(question)

    by_key = {q.key: q for q in questions}
    checks: list[Check] = []
    for item in table.get_tables("checks", _CHECK_KEYS):
        check = _check(item, languages, by_key)
        if any(c.key == check.key for c in checks):
            item.fail("key", f"duplicate check {check.key!r}")
        checks.append(check)
    _check_screens_fit(items, questions, table.get_tables("checks", _CHECK_KEYS), checks)
    return Questionnaire(version=version, questions=tuple(questions), checks=tuple(checks))


#: Room kept on a screen line for the bot's own words around a configured text (the "🔸 "
#: mark and ": " of a review line, "Last week: " in any language, an icon, a figure).
LINE_RESERVE = 64
_LINE_LIMIT = MESSAGE_LIMIT - LINE_RESERVE


def _check_screens_fit(
    items: Sequence[_Table],
    questions: Sequence[Question],
    check_items: Sequence[_Table],
    checks: Sequence[Check],
) -> None:
    """Every line a screen can show must fit one Telegram message, at the largest answers.

    Screens are split at line breaks into as many messages as they need, so only one line
    can be too long: a question's label with its longest answer (review, "last week"), a
    hint, a warning. Lengths are :func:`~bot.core.textlimits.tg_len` (UTF-16 units), the count
    that is safe whatever Telegram counts; answers are limited in the same unit.
    """
    for item, question in zip(items, questions, strict=True):
        for lang, label in question.label.items():
            longest = _longest_answer(question, lang)
            if tg_len(label) + longest > _LINE_LIMIT:
                item.fail(
                    f"label.{lang}",
                    f"{tg_len(label)} characters, {tg_len(label) + longest} with the longest "
                    f"answer shown after it, do not fit one line of a screen ({_LINE_LIMIT}): "
                    f"keep it within {max(_LINE_LIMIT - longest, 0)} characters"
                    + (" or lower max_length" if question.type == "text" else ""),
                )
        for lang, hint in question.hint.items():
            if tg_len(hint) > _LINE_LIMIT:
                item.fail(
                    f"hint.{lang}",
                    f"{tg_len(hint)} characters do not fit one screen: keep it within "
                    f"{_LINE_LIMIT}",
                )
    by_key = {q.key: q for q in questions}
    for item, check in zip(check_items, checks, strict=True):
        for lang, message in check.message.items():
            labels = sum(
                tg_len(by_key[k].label[lang]) for k in (check.field, check.other) if k in by_key
            )
            if tg_len(message) + labels > _LINE_LIMIT:
                item.fail(
                    f"message.{lang}",
                    f"{tg_len(message)} characters with the labels it names ({labels}) do not "
                    f"fit one line of a screen: keep the total within {_LINE_LIMIT}",
                )


def _longest_answer(question: Question, lang: str) -> int:
    """The longest an answer to ``question`` can be when shown after its label."""
    if question.type == "text":
        return question.max_length
    if question.type == "choice":
        return max(tg_len(o.label[lang]) for o in question.options)
    if question.type == "multi":
        # every option ticked, joined by ", ", plus the "other" text in brackets
        labels = sum(tg_len(o.label[lang]) + 2 for o in question.options)
        other = question.max_length + 3 if any(o.with_text for o in question.options) else 0
        return labels + other
    # a number: the figure, and a /revise of it with its reason, shown on the review line
    return REVISION_REASON_LIMIT + 2 * len(f"{question.max or 10**15:,}")


_TYPE_ONLY_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "min": ("number",),
        "max": ("number",),
        "max_length": ("text",),
        "options": ("choice", "multi"),
    }
)


def _question(item: _Table, languages: tuple[str, ...]) -> Question:
    key = item.get_key("key")
    types = get_args(QuestionType)
    qtype = item.get_str("type")
    if qtype not in types:
        item.fail("type", f"unknown question type {qtype!r} (use {', '.join(types)})")
    for only, allowed in _TYPE_ONLY_KEYS.items():
        if only in item.data and qtype not in allowed:
            item.fail(only, f"only allowed for {'/'.join(allowed)} questions, not {qtype}")
    label = item.get_text("label", languages)
    hint = item.get_text("hint", languages, default={})
    required = item.get_bool("required", default=True)
    carry_over = item.get_bool("carry_over", default=False)
    minimum = item.get_int("min", default=None)
    maximum = item.get_int("max", default=None)
    if minimum is not None and maximum is not None and minimum > maximum:
        item.fail("min", f"min {minimum} is greater than max {maximum}")
    max_length = item.get_int("max_length", default=1000)
    if not 1 <= max_length <= _LINE_LIMIT:
        item.fail(
            "max_length",
            f"must be between 1 and {_LINE_LIMIT} (an answer and its label share one line of "
            f"a {MESSAGE_LIMIT}-character Telegram message), got {max_length}",
        )
    options: list[Option] = []
    option_items = item.get_tables("options", _OPTION_KEYS)
    if qtype in ("choice", "multi") and not option_items:
        item.fail("options", f"a {qtype} question needs at least one option")
    for option_item in option_items:
        option_key = option_item.get_key("key")
        if any(o.key == option_key for o in options):
            option_item.fail("key", f"duplicate option {option_key!r}")
        options.append(
            Option(
                key=option_key,
                label=option_item.get_text("label", languages),
                with_text=option_item.get_bool("with_text", default=False),
            )
        )
    return Question(
        key=key,
        type=cast(QuestionType, qtype),
        label=label,
        required=required,
        min=minimum,
        max=maximum,
        max_length=max_length,
        options=tuple(options),
        carry_over=carry_over,
        hint=hint,
    )


def _check(item: _Table, languages: tuple[str, ...], questions: Mapping[str, Question]) -> Check:
    key = item.get_key("key")
    kinds = get_args(CheckKind)
    kind = item.get_str("kind")
    if kind not in kinds:
        item.fail("kind", f"unknown check kind {kind!r} (use {', '.join(kinds)})")

    def number_question(name: str) -> str:
        ref = item.get_str(name)
        if ref not in questions:
            item.fail(name, f"unknown question {ref!r}")
        if questions[ref].type != "number":
            item.fail(name, f"question {ref!r} is a {questions[ref].type} question, not a number")
        return ref

    checked = number_question("field")
    other: str | None = None
    factor: float | None = None
    min_base = 0
    if kind == "greater_than":
        for unused in ("factor", "min_base"):
            if unused in item.data:
                item.fail(unused, "only used by 'jump' checks")
        other = number_question("other")
        if other == checked:
            item.fail("other", "must name a different question than field")
    else:
        if "other" in item.data:
            item.fail("other", "only used by 'greater_than' checks")
        factor = item.get_float("factor")
        if not 1 < factor < math.inf:  # also rejects nan
            item.fail("factor", f"must be a finite number greater than 1, got {factor}")
        min_base = item.get_int("min_base", default=0)
        if min_base < 0:
            item.fail("min_base", f"must be 0 or more, got {min_base}")
    message = item.get_text("message", languages)
    for lang, text in message.items():
        problem = _placeholder_problem(text, CHECK_PLACEHOLDERS[kind])
        if problem:
            item.fail(f"message.{lang}", problem)
    return Check(
        key=key,
        kind=cast(CheckKind, kind),
        field=checked,
        other=other,
        factor=factor,
        min_base=min_base,
        message=message,
    )


def _placeholder_problem(text: str, allowed: frozenset[str]) -> str | None:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"bad placeholder syntax ({exc}); write a literal brace as {{{{ or }}}}"
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed:
            return f"unknown placeholder {{{name}}} (use {', '.join(sorted(allowed))})"
        if spec or conversion:
            return f"placeholder {{{name}}} takes no format spec or conversion"
    return None


# --------------------------------------------------------------------------- TOML reader


_REQUIRED: Any = object()


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, dt.date | dt.time):
        return f"date/time {value}"
    return type(value).__name__


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Table:
    """A TOML table being read: typed getters whose errors name the full key path.

    Keys outside ``allowed`` are rejected as soon as the table is opened, before anything
    else is checked, so a typo (``reqired``, ``[questionaire]``) is reported as itself
    rather than as the missing key it was meant to be.
    """

    def __init__(self, data: Mapping[str, Any], path: str, allowed: Sequence[str]) -> None:
        self.data = data
        self.path = path
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(allowed)}"
                self.fail(key, f"unknown key ({hint})")

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> NoReturn:
        raise ConfigError(self.sub(key), message)

    def _get(self, key: str, default: Any, expected: str, ok: Any) -> Any:
        if key not in self.data:
            if default is _REQUIRED:
                self.fail(key, f"missing required key ({expected})")
            return default
        value = self.data[key]
        if not ok(value):
            self.fail(key, f"expected {expected}, got {_type_name(value)}")
        return value

    @overload
    def get_str(self, key: str) -> str: ...
    @overload
    def get_str(self, key: str, default: _T) -> str | _T: ...
    def get_str(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default, "a string", lambda v: isinstance(v, str))
        if key in self.data and not value.strip():
            self.fail(key, "must not be empty")
        return value

    def get_int(self, key: str, default: Any = _REQUIRED) -> Any:
        return self._get(key, default, "an integer", _is_int)

    def get_float(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default, "a number", _is_number)
        return float(value) if key in self.data else value

    def get_bool(self, key: str, default: Any = _REQUIRED) -> Any:
        return self._get(key, default, "true or false", lambda v: isinstance(v, bool))

    def get_list(self, key: str, default: Any = _REQUIRED) -> Any:
        return self._get(key, default, "an array", lambda v: isinstance(v, list))

    def get_table(self, key: str, allowed: Sequence[str]) -> _Table:
        """A sub-table; an absent one reads as empty, so all its keys take their defaults."""
        value = self._get(key, {}, "a table", lambda v: isinstance(v, Mapping))
        return _Table(value, self.sub(key), allowed)

    def get_tables(
        self,
        key: str,
        allowed: Sequence[str],
        *,
        name_key: str = "key",
        name_re: re.Pattern[str] = _KEY_RE,
    ) -> list[_Table]:
        """An array of tables; items are named by their key when it is valid, else by index."""
        items = self._get(key, [], "an array of tables ([[...]])", lambda v: isinstance(v, list))
        result = []
        for i, value in enumerate(items):
            if not isinstance(value, Mapping):
                self.fail(f"{key}[{i}]", f"expected a table, got {_type_name(value)}")
            name = value.get(name_key)
            if isinstance(name, str) and name_re is _ISO3_RE:
                name = name.upper()
            valid = isinstance(name, str) and name_re.fullmatch(name)
            result.append(
                _Table(value, self.sub(f"{key}.{name}" if valid else f"{key}[{i}]"), allowed)
            )
        return result

    def get_key(
        self,
        key: str,
        pattern: re.Pattern[str] = _KEY_RE,
        what: str = "a lowercase key like 'new_cases' (a-z, 0-9, _; at most 32 characters)",
    ) -> Any:
        value = self.get_str(key)
        if pattern is _ISO3_RE:
            value = value.upper()
        if not pattern.fullmatch(value):
            self.fail(key, f"expected {what}, got {value!r}")
        return value

    def get_text(
        self,
        key: str,
        languages: tuple[str, ...],
        *,
        partial: bool = False,
        default: Any = _REQUIRED,
    ) -> Mapping[str, str]:
        """A per-language text table like ``{ en = "...", ru = "..." }``."""
        example = ", ".join(f'{lang} = "..."' for lang in languages)
        value = self._get(
            key,
            default,
            f"a table of texts per language like {{ {example} }}",
            lambda v: isinstance(v, Mapping),
        )
        for lang, text in value.items():
            if lang not in languages:
                self.fail(
                    f"{key}.{lang}",
                    f"unknown language {lang!r} (languages are {', '.join(languages)})",
                )
            if not isinstance(text, str):
                self.fail(f"{key}.{lang}", f"expected a string, got {_type_name(text)}")
            if not text.strip():
                self.fail(f"{key}.{lang}", "must not be empty")
        if not partial and (value or default is _REQUIRED):
            for lang in languages:
                if lang not in value:
                    self.fail(key, f"missing language {lang!r}")
        return _frozen_map(value)
