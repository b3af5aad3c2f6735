"""Telegram-HTML parser: the visible text and entities, or the reason Telegram would refuse it.

Modelled on tdlib's ``parse_html`` (same tag set, same error wording), with one deliberate
difference: a bare ``&`` or an unknown named entity such as ``&nbsp;`` is rejected, where
Telegram keeps it literally.  Both nearly always mean a value was not passed through
``html.escape``, and the next value might contain a ``<`` that real Telegram does reject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_ALL_TAGS = {*_SIMPLE_TAGS, "a", "span", "blockquote", "tg-emoji", "tg-time"}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,7})|([A-Za-z][A-Za-z0-9]*));")
_ATTR_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")


class HtmlError(ValueError):
    """Why the text is not valid Telegram HTML (the part after "can't parse entities: ")."""


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the output
    attrs: dict[str, str] = field(default_factory=dict)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8"))


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Return (visible text, MessageEntity dicts) or raise HtmlError with Telegram's reason."""
    out: list[str] = []
    pos16 = 0  # UTF-16 length of what has been emitted so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            ch, i = _entity(text, i)
            out.append(ch)
            pos16 += utf16_len(ch)
            continue
        if c != "<":
            out.append(c)
            pos16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            i = _end_tag(text, begin, stack, entities, pos16)
        else:
            opened, i = _start_tag(text, begin)
            opened.start = pos16
            stack.append(opened)
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _entity(text: str, i: int) -> tuple[str, int]:
    m = _ENTITY_RE.match(text, i)
    if m is None:
        raise HtmlError(
            f'Character "&" at byte offset {_byte_offset(text, i)} must be escaped as "&amp;"'
        )
    dec, hexa, name = m.groups()
    if name is not None:
        if name not in _NAMED:
            raise HtmlError(
                f'Unsupported HTML entity "&{name};" at byte offset {_byte_offset(text, i)}'
            )
        return _NAMED[name], m.end()
    code = int(dec) if dec is not None else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlError(f"Invalid character reference at byte offset {_byte_offset(text, i)}")
    return chr(code), m.end()


def _start_tag(text: str, begin: int) -> tuple[_Open, int]:
    n = len(text)
    i = begin + 1
    while i < n and not text[i].isspace() and text[i] not in "<>/&\"'=":
        i += 1
    tag = text[begin + 1 : i].lower()
    if tag not in _ALL_TAGS:
        raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
    attrs: dict[str, str] = {}
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] == ">":
            i += 1
            break
        m = _ATTR_NAME_RE.match(text, i)
        if m is None:
            raise HtmlError(
                f'Unexpected character in the tag "{tag}" at byte offset {_byte_offset(text, i)}'
            )
        name = m.group(0).lower()
        i = m.end()
        if i < n and text[i] == "=":
            value, i = _attr_value(text, i + 1, tag, begin)
        elif tag == "blockquote" and name == "expandable":
            value = ""
        else:
            raise HtmlError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        attrs[name] = value
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlError('Tag "span" must have class "tg-spoiler"')
    if tag == "tg-emoji" and not attrs.get("emoji-id"):
        raise HtmlError('Tag "tg-emoji" must have attribute "emoji-id"')
    if tag == "tg-time" and not re.fullmatch(r"\d+", attrs.get("unix", "")):
        raise HtmlError('Tag "tg-time" must have attribute "unix" with a Unix timestamp')
    return _Open(tag, 0, attrs), i


def _attr_value(text: str, i: int, tag: str, begin: int) -> tuple[str, int]:
    n = len(text)
    if i < n and text[i] in "\"'":
        quote = text[i]
        end = text.find(quote, i + 1)
        if end == -1:
            raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        raw, i = text[i + 1 : end], end + 1
    else:
        start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        raw = text[start:i]
    value, j = [], 0
    while j < len(raw):
        if raw[j] == "&":
            ch, j2 = _entity(raw, j)
            value.append(ch)
            j = j2
        else:
            value.append(raw[j])
            j += 1
    return "".join(value), i


def _end_tag(
    text: str, begin: int, stack: list[_Open], entities: list[dict[str, Any]], pos16: int
) -> int:
    n = len(text)
    if not stack:
        raise HtmlError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
    i = begin + 2
    while i < n and not text[i].isspace() and text[i] != ">":
        i += 1
    name = text[begin + 2 : i].lower()
    while i < n and text[i].isspace():
        i += 1
    top = stack[-1]
    if i >= n or text[i] != ">":
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{top.tag}"')
    if name != top.tag:
        raise HtmlError(
            f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
            f'expected "</{top.tag}>", found "</{name}>"'
        )
    stack.pop()
    _close(top, stack, entities, pos16)
    return i + 1


def _close(top: _Open, stack: list[_Open], entities: list[dict[str, Any]], pos16: int) -> None:
    length = pos16 - top.start
    if length == 0:
        return  # Telegram drops empty entities
    ent: dict[str, Any] = {"offset": top.start, "length": length}
    tag, attrs = top.tag, top.attrs
    if tag == "a":
        url = attrs.get("href", "")
        if not url:
            return
        if url.startswith("tg://user?id="):
            ent.update(type="text_mention", user={"id": int(url.split("=", 1)[1] or 0)})
        else:
            ent.update(type="text_link", url=url)
    elif tag == "span":
        ent["type"] = "spoiler"
    elif tag == "blockquote":
        ent["type"] = "expandable_blockquote" if "expandable" in attrs else "blockquote"
    elif tag == "tg-emoji":
        ent.update(type="custom_emoji", custom_emoji_id=attrs["emoji-id"])
    elif tag == "tg-time":
        ent.update(type="date_time", unix_time=int(attrs["unix"]))
        if attrs.get("format"):
            ent["date_time_format"] = attrs["format"]
    elif (
        tag == "code"
        and stack
        and stack[-1].tag == "pre"
        and attrs.get("class", "").startswith("language-")
    ):
        stack[-1].attrs["language"] = attrs["class"][len("language-") :]
        return  # becomes the language of the enclosing pre entity
    else:
        ent["type"] = _SIMPLE_TAGS[tag]
        if tag == "pre" and attrs.get("language"):
            ent["language"] = attrs["language"]
    entities.append(ent)
