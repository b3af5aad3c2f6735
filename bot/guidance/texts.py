"""What an item and an alert say, in the reader's language (HTML for Telegram)."""

from __future__ import annotations

import html

from bot.config import Config
from bot.core.i18n import N_, Translator
from storage.guidance import Item

SOURCE_LABELS = {
    "who": N_("WHO"),
    "ecdc": N_("ECDC"),
    "secretariat": N_("the secretariat"),
}


def source_label(tr: Translator, source: str) -> str:
    return tr.gettext(SOURCE_LABELS.get(source, source))


def topic_labels(config: Config, topics: tuple[str, ...] | list[str], lang: str) -> str:
    """The topics' configured labels, in config order (a topic gone from config: its key)."""
    labels = []
    for t in config.topics:
        if t.key in topics:
            labels.append(t.label.get(lang) or t.label.get("en") or t.key)
    labels += [k for k in topics if all(t.key != k for t in config.topics)]
    return ", ".join(labels)


def item_text(tr: Translator, config: Config, item: Item, *, with_link: bool = True) -> str:
    """The item as one message: title, source and topics, summary, the link or the file."""
    lines = [f"<b>{html.escape(item.title)}</b>"]
    lines.append(
        tr.gettext("Source: {source} · Topics: {topics} · Language: {language}").format(
            source=html.escape(source_label(tr, item.source)),
            topics=html.escape(topic_labels(config, item.topics, tr.lang)),
            language=html.escape(tr.language_name(item.language)),
        )
    )
    if item.summary:
        lines += ["", html.escape(item.summary)]
    if item.url and with_link:
        lines += ["", html.escape(item.url)]
    elif item.file_name:
        lines += ["", tr.gettext("Document: {name}").format(name=html.escape(item.file_name))]
    return "\n".join(lines)


def alert_text(tr: Translator, config: Config, item: Item) -> str:
    """The alert a subscriber gets: a headline and the item without its link.

    The link (or the document) comes with the alert's Open button, which reads the item as
    it is then: an edited link is the corrected one, a withdrawn item says it was withdrawn.
    """
    return (
        tr.gettext("📄 New guidance in the library:")
        + "\n"
        + item_text(tr, config, item, with_link=False)
    )


def withdrawn_text(tr: Translator, item: Item) -> str:
    return tr.gettext(
        "«{title}» has been withdrawn by the secretariat and is no longer in the library."
    ).format(title=html.escape(item.title))
