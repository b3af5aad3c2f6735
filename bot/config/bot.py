"""The ``[bot]`` section: database, languages, deployment-wide admins, invites, logging.

Read first: every other section's texts exist in exactly ``bot.languages``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import babel

from bot.config.reader import Table, is_int, type_name
from bot.config.section import Context, Section
from bot.core.i18n import SUPPORTED as CATALOGS

__all__ = ["ENV_DB", "LANGUAGES", "SECTION", "BotSettings", "cldr_locale", "user_ids"]

LANGUAGES: tuple[str, ...] = ("en", "ru")
ENV_DB = "NFPBOT_DB"
BOT_KEYS = (
    "database",
    "languages",
    "default_language",
    "admins",
    "invite_ttl_days",
    "log_level",
    "messages_per_second",
)
_LANG_RE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class BotSettings:
    """What ``[bot]`` holds; :class:`~bot.config.Config` carries these as its own fields."""

    database: Path
    languages: tuple[str, ...]
    default_language: str
    admins: tuple[int, ...]
    invite_ttl: dt.timedelta
    log_level: str
    # Telegram's flood limit for this bot: messages in any 1-second window, replies and
    # proactive sends together (bot.outbox.pacer); 30 unless Telegram raised it (paid tiers)
    messages_per_second: int = 30


@lru_cache(maxsize=64)
def cldr_locale(lang: str) -> babel.Locale:
    """The CLDR locale of a language code, parsed once (country names, language checks)."""
    return babel.Locale.parse(lang)


def parse_bot(root: Table, context: Context) -> BotSettings:
    bot = root.get_table("bot", BOT_KEYS)
    languages = _languages(bot)
    default_language = bot.get_str("default_language", default=languages[0])
    if default_language not in languages:
        bot.fail("default_language", f"{default_language!r} is not in languages {list(languages)}")
    database = _database(
        bot.get_str("database", default="nfpbot.sqlite3"), context.source, context.env
    )
    admins = user_ids(bot, "admins")
    ttl_days = bot.get_int("invite_ttl_days", default=7)
    if ttl_days < 1:
        bot.fail("invite_ttl_days", f"must be at least 1, got {ttl_days}")
    per_second = bot.get_int("messages_per_second", default=30)
    if not 1 <= per_second <= 1000:
        bot.fail("messages_per_second", f"must be between 1 and 1000, got {per_second}")
    log_level = bot.get_str("log_level", default="INFO").upper()
    if log_level not in _LOG_LEVELS:
        bot.fail("log_level", f"expected one of {', '.join(_LOG_LEVELS)}, got {log_level!r}")
    return BotSettings(
        database=database,
        languages=languages,
        default_language=default_language,
        admins=admins,
        invite_ttl=dt.timedelta(days=ttl_days),
        log_level=log_level,
        messages_per_second=per_second,
    )


SECTION = Section("bot", parse_bot)


def _database(value: str, source: Path | None, env: Mapping[str, str]) -> Path:
    if env.get(ENV_DB):
        return Path(env[ENV_DB]).expanduser()
    path = Path(value).expanduser()
    if value == ":memory:" or path.is_absolute() or source is None:
        return path
    return (Path(source).parent / path).absolute()


def _languages(bot: Table) -> tuple[str, ...]:
    raw = bot.get_list("languages", default=list(LANGUAGES))
    if not raw:
        bot.fail("languages", "at least one language is required")
    languages: list[str] = []
    for i, lang in enumerate(raw):
        key = f"languages[{i}]"
        if not isinstance(lang, str):
            bot.fail(key, f"expected a string, got {type_name(lang)}")
        if not _LANG_RE.fullmatch(lang):
            bot.fail(key, f"expected a language code like 'en' or 'ru', got {lang!r}")
        try:
            cldr_locale(lang)
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


def user_ids(table: Table, key: str) -> tuple[int, ...]:
    """An array of Telegram user ids (positive integers), duplicates dropped."""
    ids: list[int] = []
    for i, value in enumerate(table.get_list(key, default=[])):
        if not is_int(value):
            table.fail(f"{key}[{i}]", f"expected a Telegram user id, got {type_name(value)}")
        if value <= 0:
            table.fail(f"{key}[{i}]", f"Telegram user ids are positive, got {value}")
        if value not in ids:
            ids.append(value)
    return tuple(ids)
