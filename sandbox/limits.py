"""Telegram's hard limits: text and caption sizes, inline keyboards, uploads, flood control.

Each check raises the SandboxError Telegram would answer with, so code that passes here
does not meet a surprise 400 or 429 in production.
"""

from __future__ import annotations

import math
import struct
import time
from collections import deque
from typing import Any

from .errors import SandboxError, bad_request
from .html import HtmlError, parse_html, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER = 200
MAX_BUTTONS = 100
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
PARSE_MODES = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}

# Methods that put a new message into a chat; only these count against flood control.
SENDING_METHODS = frozenset(
    m.lower()
    for m in [
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendAudio",
        "sendVoice",
        "sendVideo",
        "sendAnimation",
        "sendVideoNote",
        "sendSticker",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendInvoice",
        "sendPaidMedia",
        "sendChecklist",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "sendGame",
    ]
)


def format_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]]]:
    """Visible text and entities after parsing, trimmed of surrounding whitespace like Telegram."""
    mode = normalize_parse_mode(parse_mode)
    if mode == "HTML" and entities is None:
        try:
            plain, ents = parse_html(text)
        except HtmlError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        plain, ents = text, list(entities or [])
    return _trim(plain, ents)


def normalize_parse_mode(parse_mode: str | None) -> str | None:
    """Telegram accepts any case; anything but the three modes is refused."""
    if not parse_mode:
        return None
    mode = PARSE_MODES.get(parse_mode.lower())
    if mode is None:
        raise bad_request("unsupported parse_mode")
    return mode


def _trim(text: str, ents: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    stripped = text.strip()
    if stripped == text:
        return text, ents
    left = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    out = []
    for e in ents:
        start = max(e["offset"] - left, 0)
        end = min(e["offset"] + e["length"] - left, size)
        if end > start:
            out.append({**e, "offset": start, "length": end - start})
    return stripped, out


def check_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]]]:
    """Message text must be 1-4096 characters (code points) after entity parsing.

    Telegram counts code points here, not UTF-16 units (entity offsets are UTF-16): measured
    live in FerroxLabs/wayland#934, 4,096 U+1F600 (8,192 UTF-16 units) were accepted and
    4,097 refused with "message is too long".
    """
    plain, ents = format_text(text, parse_mode, entities)
    if not plain:
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    return plain, ents


def check_caption(
    caption: str | None, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """Captions may be empty but not longer than 1024 UTF-16 units after parsing."""
    if caption is None:
        normalize_parse_mode(parse_mode)
        return None, []
    plain, ents = format_text(caption, parse_mode, entities)
    if utf16_len(plain) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return (plain or None), ents


def check_reply_markup(markup: dict[str, Any] | None) -> None:
    """Inline keyboards: every button has text and exactly one action; callback_data 1-64 bytes."""
    if not markup or "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if not all(isinstance(r, list) for r in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    if sum(len(r) for r in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _check_button(button)


def _check_button(button: dict[str, Any]) -> None:
    if not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [k for k in button if k not in ("text", "icon_custom_emoji_id", "style")]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, found {', '.join(sorted(actions))}"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not url.startswith(("http://", "https://", "tg://")):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def sniff_image(data: bytes) -> tuple[str, int, int] | None:
    """(mime type, width, height) for PNG, JPEG or WebP bytes; None if it is none of these."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return "image/png", w, h
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", *_jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", *_webp_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return 0, 0


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        b = data[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h
    return 0, 0


def check_photo(data: bytes) -> tuple[str, int, int]:
    """Photos: at most 10 MB, a real PNG/JPEG/WebP, width+height <= 10000, ratio <= 20."""
    if len(data) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    sniffed = sniff_image(data)
    if sniffed is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    _, w, h = sniffed
    if w and h and (w + h > 10000 or max(w, h) / min(w, h) > 20):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return sniffed


def check_document(data: bytes) -> None:
    """Bot uploads are capped at 50 MB; Telegram answers 413 for bigger ones."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise SandboxError(413, "Request Entity Too Large")
    if not data:
        raise bad_request("file must be non-empty")


class RateLimiter:
    """Telegram's flood control for message-sending methods, on rolling windows.

    Defaults are the documented limits: 30 messages in any 1-second window overall
    (``global_per_second``: Telegram raises it for some bots, and a benchmark shows a
    sender scales with it) and 20 per minute per group; ``private_chat_per_second`` adds
    the (soft, unenforced by Telegram) per-chat limit when a test wants to prove pacing.
    ``refused`` counts the 429s given, by which limit (``global``, ``group``, ``private``).
    """

    def __init__(
        self,
        *,
        global_per_second: int = 30,
        group_per_minute: int = 20,
        private_chat_per_second: float | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.global_per_second = global_per_second
        self.group_per_minute = group_per_minute
        self.private_chat_per_second = private_chat_per_second
        self._clock = clock
        self._global: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}
        self.refused: dict[str, int] = {"global": 0, "group": 0, "private": 0}

    def reset(self) -> None:
        """Forget past sends and the 429 counts (e.g. between benchmark phases)."""
        self._global.clear()
        self._per_chat.clear()
        self.refused = dict.fromkeys(self.refused, 0)

    def _refuse(self, which: str, wait: float) -> SandboxError:
        self.refused[which] += 1
        return _too_many(wait)

    def check(self, chat_id: int, chat_type: str, count: int = 1) -> None:
        """Record ``count`` messages to ``chat_id`` or raise 429 with retry_after."""
        now = self._clock()
        _expire(self._global, now - 1.0)
        if len(self._global) + count > self.global_per_second:
            raise self._refuse("global", self._global[0] + 1.0 - now if self._global else 1.0)
        per_chat = self._per_chat.setdefault(chat_id, deque())
        if chat_type in ("group", "supergroup"):
            _expire(per_chat, now - 60.0)
            over = len(per_chat) + count - self.group_per_minute
            if over > 0:
                oldest = per_chat[min(over, len(per_chat)) - 1] if per_chat else now
                raise self._refuse("group", oldest + 60.0 - now)
        elif chat_type == "private" and self.private_chat_per_second:
            rate = self.private_chat_per_second
            window = 1.0 if rate >= 1 else 1.0 / rate
            _expire(per_chat, now - window)
            if len(per_chat) + count > max(1.0, rate * window):
                raise self._refuse("private", per_chat[0] + window - now if per_chat else window)
        for _ in range(count):
            self._global.append(now)
            per_chat.append(now)


def _expire(q: deque[float], before: float) -> None:
    while q and q[0] <= before:
        q.popleft()


def _too_many(wait: float) -> SandboxError:
    secs = max(1, math.ceil(wait))
    return SandboxError(429, f"Too Many Requests: retry after {secs}", retry_after=secs)
