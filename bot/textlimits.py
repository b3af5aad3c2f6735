"""How long a text is for Telegram, and how to cut a long one into messages that fit.

Telegram refuses a message longer than 4,096 characters "after entities parsing". Which
characters it counts is not documented: a live measurement (FerroxLabs/wayland#934: 4,096
U+1F600 accepted, 4,097 refused) says code points, while entity offsets are UTF-16 units.
The product must never depend on which is right, so it measures in UTF-16 units: that count
is never below the code-point count, so a text that fits here fits under either rule.

Every length check of the product (config limits, input refused up front, screens split into
messages) goes through :func:`tg_len` / :func:`visible_len`, so there is one rule to trust.
Nothing here knows Telegram's API; it only knows its limits.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = [
    "MESSAGE_LIMIT",
    "REVISION_REASON_LIMIT",
    "is_blank",
    "split_html",
    "tg_len",
    "visible_len",
]

#: Longest message text, after HTML parsing (what the reader sees).
MESSAGE_LIMIT = 4096
#: Longest revision reason (/revise): shown beside the revised figure on one review line.
REVISION_REASON_LIMIT = 500

_TAG = re.compile(r"<[^>]*>")


def tg_len(text: str) -> int:
    """Length in UTF-16 code units: an upper bound of what Telegram may count."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def visible_len(html_text: str) -> int:
    """:func:`tg_len` of an HTML text as the reader sees it (tags dropped, entities decoded).

    The product's HTML only uses simple tags and :func:`html.escape`, so this is exact for it;
    the source length would overcount a text full of ``&`` fivefold and refuse valid answers.
    """
    return tg_len(html.unescape(_TAG.sub("", html_text)))


def is_blank(text: str) -> bool:
    """True if nothing visible remains: only whitespace and format characters (category Cf).

    A message of zero-width spaces (U+200B), joiners or direction marks looks empty on every
    phone, so it must be refused as empty rather than stored as an answer.
    """
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut an HTML text at line breaks into pieces whose visible length is within ``limit``.

    Screens keep every tag within one line, so whole lines are always valid HTML. A single
    line longer than the limit (which config checks and input limits are there to prevent)
    is cut as plain text, so no cut ever falls inside a tag or an ``&...;`` entity.
    """
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for part in _cut_line(line, limit):
            n = visible_len(part)
            extra = n + (1 if current else 0)
            if current and size + extra > limit:
                pieces.append("\n".join(current))
                current, size = [], 0
                extra = n
            current.append(part)
            size += extra
    if current:
        pieces.append("\n".join(current))
    return [p for p in pieces if p.strip()] or pieces[:1]


def _cut_line(line: str, limit: int) -> list[str]:
    if visible_len(line) <= limit:
        return [line]
    plain = html.unescape(_TAG.sub("", line))
    parts: list[str] = []
    chunk: list[str] = []
    size = 0
    for ch in plain:
        n = tg_len(ch)
        if size + n > limit:
            parts.append(html.escape("".join(chunk), quote=False))
            chunk, size = [], 0
        chunk.append(ch)
        size += n
    if chunk:
        parts.append(html.escape("".join(chunk), quote=False))
    return parts
