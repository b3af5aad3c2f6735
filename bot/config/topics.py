"""Guidance topics (``[[topics]]``): what subscribers can choose to be alerted about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.config.bot import SECTION as BOT
from bot.config.reader import Table, text_field
from bot.config.section import Context, Section

__all__ = ["SECTION", "Topic"]


@dataclass(frozen=True)
class Topic:
    """A guidance topic that subscribers can choose."""

    key: str
    label: Mapping[str, str] = text_field()


def parse_topics(root: Table, context: Context) -> tuple[Topic, ...]:
    languages = context.get(BOT).languages
    topics: list[Topic] = []
    for item in root.get_tables("topics", ("key", "label")):
        key = item.get_key("key")
        if any(t.key == key for t in topics):
            item.fail("key", f"duplicate topic {key!r}")
        topics.append(Topic(key=key, label=item.get_text("label", languages)))
    return tuple(topics)


SECTION = Section("topics", parse_topics)
