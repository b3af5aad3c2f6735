"""Tests for the section mechanism of bot/config/: each section one module, listed once.

A capability that needs configuration (the digest, meetings) adds one module with a
``Section`` and one line in ``SECTIONS``; these tests build such a section here and check
that it needs nothing else: the file may then have its key, its typos are caught with the
reader's one-line errors, it sees the sections read before it, and the bot gets its value.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import (
    SECTIONS,
    Config,
    ConfigError,
    Section,
    load_config,
    parse_config,
    questionnaire,
    regions,
    topics,
)
from bot.config import bot as bot_section
from bot.config.reader import Table
from bot.config.section import Context

SHIPPED = Path(__file__).resolve().parents[2] / "config.toml"


@dataclass(frozen=True)
class Meetings:
    weekday: str
    title: dict[str, str]


def parse_meetings(root: Table, context: Context) -> Meetings:
    table = root.get_table("meetings", ("weekday", "title"))
    languages = context.get(bot_section.SECTION).languages  # an earlier section's result
    return Meetings(
        weekday=table.get_str("weekday", default="Thu"),
        title=dict(table.get_text("title", languages, default={})),
    )


MEETINGS = Section("meetings", parse_meetings)
WITH_MEETINGS = (*SECTIONS, MEETINGS)


def shipped_data(extra: str = "") -> dict[str, object]:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8") + extra)


def test_every_section_is_listed_once_in_reading_order_from_its_own_module() -> None:
    assert [s.key for s in SECTIONS] == [
        "bot",
        "questionnaire",
        "topics",
        "regions",
        "dhis2",
        "guidance",
    ]
    assert [s.parse.__module__ for s in SECTIONS] == [
        "bot.config.bot",
        "bot.config.questionnaire",
        "bot.config.topics",
        "bot.config.regions",
        "bot.config.dhis2",
        "bot.config.guidance",
    ]


def test_config_gives_every_sections_value() -> None:
    config = load_config(SHIPPED, env={})
    assert config.section(regions.SECTION) is config.regions
    assert config.section(topics.SECTION) is config.topics
    assert config.section(bot_section.SECTION).languages == config.languages == ("en", "ru")
    default = config.section(questionnaire.SECTION)
    assert default is not None and default is config.regions[0].questionnaire
    with pytest.raises(KeyError):
        config.section(MEETINGS)  # not listed: the bot did not read it


def test_a_new_section_is_read_once_listed() -> None:
    data = shipped_data(
        '\n[meetings]\nweekday = "Fri"\ntitle = { en = "NFP call", ru = "Звонок" }\n'
    )
    config: Config = parse_config(data, env={}, sections=WITH_MEETINGS)
    assert config.section(MEETINGS) == Meetings("Fri", {"en": "NFP call", "ru": "Звонок"})
    assert [r.key for r in config.regions] == ["central-asia"]  # the others are untouched


def test_a_section_not_listed_is_an_unknown_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(shipped_data('\n[meetings]\nweekday = "Fri"\n'), env={})
    assert (
        str(info.value)
        == "meetings: unknown key (known: bot, questionnaire, topics, regions, dhis2, guidance)"
    )


def test_a_new_sections_typos_get_the_readers_one_line_errors() -> None:
    cases = [
        ('\n[meeting]\nweekday = "Fri"\n', "meeting: unknown key (did you mean 'meetings'?)"),
        (
            '\n[meetings]\nweekdy = "Fri"\n',
            "meetings.weekdy: unknown key (did you mean 'weekday'?)",
        ),
        ("\n[meetings]\nweekday = 5\n", "meetings.weekday: expected a string, got integer 5"),
        (
            '\n[meetings]\ntitle = { en = "Call" }\n',
            "meetings.title: missing language 'ru'",  # the languages of [bot], read before
        ),
    ]
    for extra, expected in cases:
        with pytest.raises(ConfigError) as info:
            parse_config(shipped_data(extra), env={}, sections=WITH_MEETINGS)
        assert str(info.value) == expected
