"""Regions and their countries (``[[regions]]``, ``[[regions.countries]]``).

A region is one secretariat: its countries, group chat, admins, schedule and questionnaire.
Country codes and names come from CLDR and timezones from tzdata, both checked here.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Literal, cast, get_args
from zoneinfo import ZoneInfo

import babel
from babel.core import get_global

from bot.config.bot import SECTION as BOT
from bot.config.bot import cldr_locale, user_ids
from bot.config.questionnaire import QUESTIONNAIRE_KEYS, Questionnaire, parse_questionnaire
from bot.config.questionnaire import SECTION as QUESTIONNAIRE
from bot.config.reader import ConfigError, Table, find, text_field
from bot.config.schedule import SCHEDULE_KEYS, Schedule, WeeklyTime, parse_schedule
from bot.config.section import Context, Section

__all__ = ["SECTION", "Country", "CountryStatus", "Region"]

CountryStatus = Literal["partner", "observer", "joining"]

_REGION_KEY_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_ISO3_RE = re.compile(r"[A-Z]{3}")
# CLDR territories that are not countries (unknown, EU, UN, pseudo-locales, private use).
_NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})
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
_COUNTRY_KEYS = ("iso3", "timezone", "status", "population", "names")


@dataclass(frozen=True)
class Country:
    """A country of a region; names come from CLDR unless ``names`` overrides a language."""

    iso3: str
    iso2: str
    timezone: str
    status: CountryStatus = "partner"
    population: int | None = None
    names: Mapping[str, str] = text_field(optional=True)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def name(self, lang: str) -> str:
        """Display name in ``lang``: the configured override, else CLDR, else English."""
        if lang in self.names:
            return self.names[lang]
        for candidate in (lang, "en"):
            try:
                territories = cldr_locale(candidate).territories
            except (ValueError, babel.UnknownLocaleError):
                continue
            if self.iso2 in territories:
                cldr_name: str = territories[self.iso2]
                return cldr_name
        return self.iso3


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
        return find(self.countries, "iso3", iso3)


def parse_regions(root: Table, context: Context) -> tuple[Region, ...]:
    """Every region, with the checks across regions: a country in one region only, and a
    deployment-wide admin (``bot.admins``) not listed again as a region's."""
    bot = context.get(BOT)
    default_questionnaire = context.get(QUESTIONNAIRE)
    admins = bot.admins
    regions: list[Region] = []
    seen_countries: dict[str, str] = {}
    region_items = root.get_tables("regions", _REGION_KEYS, name_re=_REGION_KEY_RE)
    if not region_items:
        root.fail("regions", "at least one [[regions]] is required")
    for item in region_items:
        region = _region(item, bot.languages, bot.default_language, default_questionnaire)
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
    return tuple(regions)


SECTION = Section("regions", parse_regions)


@lru_cache(maxsize=1)
def _iana_timezones() -> frozenset[str]:
    """Names tzdata knows, minus host-specific entries that are not zones of a place."""
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory", "posixrules"})


def _timezone(table: Table, key: str) -> str:
    name = table.get_str(key)
    if name not in _iana_timezones():
        table.fail(key, f"unknown IANA timezone {name!r}")
    return name


def _region(
    item: Table,
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
    admins = user_ids(item, "admins")

    countries: list[Country] = []
    country_items = item.get_tables(
        "countries", _COUNTRY_KEYS, name_key="iso3", name_re=_ISO3_RE, upper=True
    )
    if not country_items:
        item.fail("countries", "a region needs at least one [[regions.countries]]")
    for country_item in country_items:
        country = _country(country_item, languages)
        if any(c.iso3 == country.iso3 for c in countries):
            country_item.fail("iso3", f"duplicate country {country.iso3!r} in region {key!r}")
        countries.append(country)

    schedule = parse_schedule(item.get_table("schedule", SCHEDULE_KEYS))
    _check_digest_after_deadlines(item, schedule, timezone, countries)

    if "questionnaire" in item.data:
        questionnaire = parse_questionnaire(
            item.get_table("questionnaire", QUESTIONNAIRE_KEYS), languages
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
    countries = cldr_locale("en").territories
    result = {}
    for alias, targets in get_global("territory_aliases").items():
        if not _ISO3_RE.fullmatch(alias) or len(targets) != 1:
            continue
        iso2 = targets[0]
        if len(iso2) == 2 and iso2 in countries and iso2 not in _NOT_COUNTRIES:
            result[alias] = iso2
    return MappingProxyType(result)


def _country(item: Table, languages: tuple[str, ...]) -> Country:
    iso3 = item.get_key("iso3", _ISO3_RE, "an ISO 3166 alpha-3 code like 'KGZ'", upper=True)
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


def _check_digest_after_deadlines(
    item: Table, schedule: Schedule, timezone: str, countries: Sequence[Country]
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
