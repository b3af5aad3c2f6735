"""Deployment configuration: regions, countries, schedule and questionnaire, read from TOML.

Everything here is validated once at start-up so that a typo in ``config.toml`` stops the bot
with one line naming the offending key, instead of surfacing later as a wrong prompt time or
a crash in the middle of a weekly cycle. The objects are frozen: they are shared by every
handler and job and must not change under them.

One module per section, each owning its data model and parser: ``bot`` ([bot]),
``questionnaire``, ``topics``, ``regions`` (with ``schedule``), all read with the generic
typed reader in ``reader``. This module lists the sections (:data:`SECTIONS`), reads a file
and re-exports what callers use, so ``from bot.config import Config, Region`` is the import
everywhere. A new capability adds its section as one module and one line in
:data:`SECTIONS`, and reads it with ``config.section(its_module.SECTION)``.

The reader stays hand-written: msgspec, pydantic v2 and cattrs were measured against it
(docs/config-decision.md). None gives "did you mean" or names array items by their key
(``regions.central-asia``, not ``regions[0]``), and only msgspec imports as fast as the
reader's standard-library modules (pydantic alone, and the cattrs prototype, import slower
than all of bot.config).

The key reference is docs/config.md.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, cast

from bot.config import bot, dhis2, guidance, questionnaire, regions, topics
from bot.config.bot import ENV_DB, LANGUAGES
from bot.config.dhis2 import Dhis2
from bot.config.questionnaire import (
    CHECK_PLACEHOLDERS,
    LINE_RESERVE,
    Check,
    CheckKind,
    Option,
    Question,
    Questionnaire,
    QuestionType,
)
from bot.config.reader import ConfigError, Table, find, type_name
from bot.config.regions import Country, CountryStatus, Region
from bot.config.schedule import (
    DEFAULT_SCHEDULE,
    Schedule,
    WeeklyTime,
    format_duration,
    parse_duration,
)
from bot.config.section import Context, Section
from bot.config.topics import Topic

__all__ = [
    "CHECK_PLACEHOLDERS",
    "DEFAULT_CONFIG_NAME",
    "DEFAULT_SCHEDULE",
    "ENV_CONFIG",
    "ENV_DB",
    "LANGUAGES",
    "LINE_RESERVE",
    "SECTIONS",
    "Check",
    "CheckKind",
    "Config",
    "ConfigError",
    "Country",
    "CountryStatus",
    "Dhis2",
    "Option",
    "Question",
    "QuestionType",
    "Questionnaire",
    "Region",
    "Schedule",
    "Section",
    "Topic",
    "WeeklyTime",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
    "resolve_config_path",
]

DEFAULT_CONFIG_NAME = "config.toml"
ENV_CONFIG = "NFPBOT_CONFIG"

#: The top-level sections, in the order they are read (a section may use any listed before
#: it). Their keys are the only top-level keys a file may have.
SECTIONS: tuple[Section[Any], ...] = (
    bot.SECTION,
    questionnaire.SECTION,
    topics.SECTION,
    regions.SECTION,
    dhis2.SECTION,
    guidance.SECTION,
)

_T = TypeVar("_T")


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
    #: every section's parsed value by its key, for :meth:`section`
    sections: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def section(self, section: Section[_T]) -> _T:
        """A section's parsed value; KeyError if the section is not in :data:`SECTIONS`."""
        return cast(_T, self.sections[section.key])

    @property
    def dhis2(self) -> Dhis2:
        """The DHIS2 mapping (empty when the file has none, or the config was built by hand)."""
        found = self.sections.get(dhis2.SECTION.key)
        return found if isinstance(found, Dhis2) else Dhis2()

    def region(self, key: str) -> Region:
        """The region with this key; KeyError if there is none."""
        return find(self.regions, "key", key)

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
        return find(self.topics, "key", key)


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
    data: Mapping[str, Any],
    *,
    source: Path | None = None,
    env: Mapping[str, str] = os.environ,
    sections: tuple[Section[Any], ...] = SECTIONS,
) -> Config:
    """Validate already-parsed TOML data (a dict); used by :func:`load_config` and tests.

    A relative database path resolves against ``source``'s folder, so the bot finds its data
    whatever directory it is started from; ``$NFPBOT_DB`` overrides it. ``sections`` is for
    tests of the section mechanism; the bot reads :data:`SECTIONS`.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("", f"expected a table at the top level, got {type_name(data)}")
    root = Table(data, "", tuple(s.key for s in sections))
    context = Context(source=source, env=env)
    for section in sections:
        context.results[section.key] = section.parse(root, context)

    settings = context.get(bot.SECTION)
    return Config(
        database=settings.database,
        languages=settings.languages,
        default_language=settings.default_language,
        admins=settings.admins,
        invite_ttl=settings.invite_ttl,
        log_level=settings.log_level,
        messages_per_second=settings.messages_per_second,
        regions=context.get(regions.SECTION),
        topics=context.get(topics.SECTION),
        source=source,
        sections=MappingProxyType(dict(context.results)),
    )
