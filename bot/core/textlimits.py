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
    """Length in UTF-16 code units: an upper bound of what Telegram may count.

    (Encoded rather than counted character by character: this runs on every reply. A lone
    surrogate, which JSON can carry, counts one unit either way.)"""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


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
    """Cut an HTML text into pieces whose visible length is within ``limit``, each valid HTML.

    Cuts fall at line breaks; a single line longer than the limit (which config checks and
    input limits are there to prevent) is cut between characters, never inside a tag or an
    ``&...;`` entity. A tag open across a cut (a multi-line answer in bold) is closed at the
    end of one piece and opened again at the start of the next, so Telegram can parse each.
    """
    if tg_len(text) <= limit:  # the source is never shorter than what it shows
        return [text]
    pieces: list[str] = []
    lines: list[str] = []
    size = 0
    stack: list[str] = []  # tags open after what was added so far
    reopen: list[str] = []  # tags open where the current piece starts

    def flush() -> None:
        nonlocal lines, size, reopen
        if lines:
            closing = "".join(f"</{_tag_name(t)}>" for t in reversed(stack))
            pieces.append("".join(reopen) + "\n".join(lines) + closing)
        lines, size, reopen = [], 0, list(stack)

    for line in text.split("\n"):
        n = visible_len(line)
        if lines and size + 1 + n > limit:
            flush()
        if n <= limit:
            size += n + (1 if lines else 0)
            lines.append(line)
            for tag in _TAG.findall(line):
                _track(stack, tag)
            continue
        chunk: list[str] = []
        width = 0
        for token, w, is_tag in _tokens(line):
            if width + w > limit:
                lines.append("".join(chunk))
                flush()
                chunk, width = [], 0
            chunk.append(token)
            width += w
            if is_tag:
                _track(stack, token)
        lines.append("".join(chunk))
        size = width
    flush()
    visible = [p for p in pieces if html.unescape(_TAG.sub("", p)).strip()]
    return visible or pieces[:1] or [text]


_TOKEN = re.compile(r"(<[^>]*>|&#?\w+;)")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][\w-]*)")


def _tokens(line: str) -> list[tuple[str, int, bool]]:
    """(token, visible width, is a tag): tags and entities whole, other text by character."""
    out: list[tuple[str, int, bool]] = []
    for part in _TOKEN.split(line):
        if not part:
            continue
        if part.startswith("<"):
            out.append((part, 0, True))
        elif part.startswith("&") and part.endswith(";"):
            out.append((part, tg_len(html.unescape(part)), False))
        else:
            out += [(ch, tg_len(ch), False) for ch in part]
    return out


def _tag_name(tag: str) -> str:
    match = _TAG_NAME.match(tag)
    return match.group(1).lower() if match else ""


def _track(stack: list[str], tag: str) -> None:
    """Update the open tags with one tag (a closing tag closes its latest opening)."""
    name = _tag_name(tag)
    if not name or tag.endswith("/>"):
        return
    if tag.startswith("</"):
        for i in range(len(stack) - 1, -1, -1):
            if _tag_name(stack[i]) == name:
                del stack[i]
                break
    else:
        stack.append(tag)
