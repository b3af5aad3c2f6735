"""A proactive message as a typed value: text, photo, album or document.

The outbox stores a message as its row's payload (JSON with a ``kind`` field) and the
sender turns it back into a value to send; a payload without ``kind`` (every row written
before schema 4) is a :class:`Text`. Media travel by reference: a :class:`Media` names
bytes by their SHA-256, stored once in ``storage.media`` when the message is queued
(``bot.outbox.queue``), so an album to five chats holds its photos once.

Telegram's limits are checked by :func:`check` when a message is queued, so a message it
would refuse fails the transaction of its cause (a bug there) instead of the send: text up
to 4,096 and captions up to 1,024 characters, measured as ``bot.core.textlimits`` measures
(UTF-16 units of what the reader sees), an album of 2-10 photos, callback data of 1-64
bytes, a photo up to 10 MB and a document up to 50 MB (uploads by the Bot API).
Nothing here knows Telegram's API; it knows its limits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.textlimits import MESSAGE_LIMIT, is_blank, tg_len, visible_len

CAPTION_LIMIT = 1024
ALBUM_MIN, ALBUM_MAX = 2, 10
CALLBACK_DATA_LIMIT = 64  # bytes
PHOTO_BYTES_LIMIT = 10 * 1024 * 1024
DOCUMENT_BYTES_LIMIT = 50 * 1024 * 1024

ButtonRows = tuple[tuple[tuple[str, str], ...], ...]
#: what a message accepts (normalised to :data:`ButtonRows`, so a message stays hashable)
Buttons = Sequence[Sequence[tuple[str, str]]]


def _rows(buttons: Buttons | None) -> ButtonRows:
    """Rows of (label, callback_data) as tuples, whatever sequences (or JSON lists) came in."""
    return tuple(tuple((str(b[0]), str(b[1])) for b in row) for row in buttons or ())


def keyboard_json(rows: Buttons) -> str:
    """``reply_markup`` for an inline keyboard as the JSON text the Bot API reads.

    For raw Bot API calls (the questionnaire's replies, the outbox's texts): building PTB's
    ``InlineKeyboardButton`` objects only for PTB to turn them back into JSON was a
    measurable share of the bot's CPU per message.
    """
    return json.dumps(
        {
            "inline_keyboard": [
                [{"text": label, "callback_data": data} for label, data in row] for row in rows
            ]
        },
        ensure_ascii=False,
    )


@dataclass(frozen=True)
class Media:
    """Bytes to send, named by their SHA-256; ``data`` only while being queued.

    Build one with :meth:`of`. A message read back from the outbox names its media by hash
    only (``data`` None): the sender fetches the bytes, or Telegram's ``file_id`` for them.
    """

    sha256: str
    mime_type: str = "application/octet-stream"
    filename: str = "file"
    data: bytes | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, data: bytes, mime_type: str, filename: str) -> Media:
        return cls(hashlib.sha256(data).hexdigest(), mime_type, filename, data)


@dataclass(frozen=True)
class Text:
    text: str
    parse_mode: str | None = "HTML"
    buttons: Buttons = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "buttons", _rows(self.buttons))


@dataclass(frozen=True)
class Photo:
    media: Media
    caption: str = ""
    parse_mode: str | None = "HTML"
    buttons: Buttons = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "buttons", _rows(self.buttons))


@dataclass(frozen=True)
class Album:
    """2-10 photos shown together; the caption goes on the first (Telegram shows it as the
    album's). Telegram gives an album no buttons."""

    photos: Sequence[Media]
    caption: str = ""
    parse_mode: str | None = "HTML"

    def __post_init__(self) -> None:
        object.__setattr__(self, "photos", tuple(self.photos))


@dataclass(frozen=True)
class Document:
    media: Media
    filename: str = ""  # the name the reader sees; default: the media's
    caption: str = ""
    parse_mode: str | None = "HTML"
    buttons: Buttons = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "buttons", _rows(self.buttons))

    @property
    def shown_name(self) -> str:
        return self.filename or self.media.filename


Message = Text | Photo | Album | Document


def media_of(message: Message) -> tuple[Media, ...]:
    """The media a message sends, in order."""
    if isinstance(message, Photo | Document):
        return (message.media,)
    if isinstance(message, Album):
        return tuple(message.photos)
    return ()


def _length(text: str, parse_mode: str | None) -> int:
    """What Telegram counts: the visible text of HTML, else every character (an upper bound
    for Markdown, whose markup Telegram does not count)."""
    return visible_len(text) if parse_mode and parse_mode.upper() == "HTML" else tg_len(text)


def _check_buttons(buttons: Buttons) -> None:
    for row in buttons:
        for label, data in row:
            if not label:
                raise ValueError("a button has no label")
            if not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise ValueError(
                    f"button {label!r}: callback_data must be 1-{CALLBACK_DATA_LIMIT} bytes,"
                    f" got {len(data.encode())}"
                )


def _check_caption(caption: str, parse_mode: str | None) -> None:
    n = _length(caption, parse_mode)
    if n > CAPTION_LIMIT:
        raise ValueError(f"caption is {n} characters; Telegram allows {CAPTION_LIMIT}")


def _check_media(media: Media, what: str, limit: int) -> None:
    if media.data is not None:
        if hashlib.sha256(media.data).hexdigest() != media.sha256:
            raise ValueError(f"{what}: the bytes do not match their hash")
        if not media.data:
            raise ValueError(f"{what} is empty")
        if len(media.data) > limit:
            raise ValueError(f"{what} is {len(media.data)} bytes; Telegram takes {limit} at most")


def check(message: Message) -> None:
    """Refuse (ValueError, saying which limit) a message Telegram would refuse."""
    if isinstance(message, Text):
        if is_blank(message.text):
            raise ValueError("text is empty")
        n = _length(message.text, message.parse_mode)
        if n > MESSAGE_LIMIT:
            raise ValueError(f"text is {n} characters; Telegram allows {MESSAGE_LIMIT}")
        _check_buttons(message.buttons)
    elif isinstance(message, Photo):
        _check_media(message.media, "photo", PHOTO_BYTES_LIMIT)
        _check_caption(message.caption, message.parse_mode)
        _check_buttons(message.buttons)
    elif isinstance(message, Album):
        if not ALBUM_MIN <= len(message.photos) <= ALBUM_MAX:
            raise ValueError(
                f"an album has {ALBUM_MIN}-{ALBUM_MAX} photos, got {len(message.photos)}"
            )
        for i, media in enumerate(message.photos, 1):
            _check_media(media, f"album photo {i}", PHOTO_BYTES_LIMIT)
        _check_caption(message.caption, message.parse_mode)
    else:
        _check_media(message.media, "document", DOCUMENT_BYTES_LIMIT)
        if not message.shown_name:
            raise ValueError("a document needs a file name")
        _check_caption(message.caption, message.parse_mode)
        _check_buttons(message.buttons)


def _buttons_json(buttons: Buttons) -> list[list[list[str]]]:
    return [[[label, data] for label, data in row] for row in buttons]


def _ref(media: Media) -> dict[str, str]:
    return {"sha256": media.sha256, "mime_type": media.mime_type, "filename": media.filename}


def to_payload(message: Message) -> dict[str, Any]:
    """The JSON-able payload of an outbox row (media by reference, never their bytes)."""
    out: dict[str, Any]
    if isinstance(message, Text):
        out = {"kind": "text", "text": message.text, "parse_mode": message.parse_mode}
    elif isinstance(message, Photo):
        out = {"kind": "photo", "media": _ref(message.media)}
    elif isinstance(message, Album):
        out = {"kind": "album", "photos": [_ref(m) for m in message.photos]}
    else:
        out = {"kind": "document", "media": _ref(message.media), "filename": message.filename}
    if not isinstance(message, Text):
        out["caption"] = message.caption
        out["parse_mode"] = message.parse_mode
    if not isinstance(message, Album) and message.buttons:
        out["buttons"] = _buttons_json(message.buttons)
    return out


def _media(ref: dict[str, Any]) -> Media:
    return Media(str(ref["sha256"]), str(ref["mime_type"]), str(ref["filename"]))


def from_payload(payload: dict[str, Any]) -> Message:
    """The message of an outbox row; a payload without ``kind`` (before schema 4) is text.

    Not checked against the limits: a row queued before is sent as it is, and Telegram's
    refusal is handled like any other (``bot.outbox.delivery``).
    """
    kind = payload.get("kind") or "text"
    parse_mode = payload.get("parse_mode")
    buttons = _rows(payload.get("buttons"))
    caption = str(payload.get("caption") or "")
    if kind == "text":
        return Text(str(payload["text"]), parse_mode, buttons)
    if kind == "photo":
        return Photo(_media(payload["media"]), caption, parse_mode, buttons)
    if kind == "album":
        return Album(tuple(_media(m) for m in payload["photos"]), caption, parse_mode)
    if kind == "document":
        filename = str(payload.get("filename") or "")
        return Document(_media(payload["media"]), filename, caption, parse_mode, buttons)
    raise ValueError(f"unknown message kind {kind!r}")
