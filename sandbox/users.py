"""Simulated users and groups: they queue updates as Telegram clients do and read replies."""

from __future__ import annotations

import asyncio
import copy
import re
import struct
import time
import zlib
from typing import TYPE_CHECKING, Any

from .html import utf16_len
from .store import ChatState, SentMessage

if TYPE_CHECKING:
    from .server import Sandbox

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{1,32})?(?=\s|$)")


def make_png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid solid-colour PNG, so photo tests need no image library."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def command_entities(text: str) -> list[dict[str, Any]]:
    """A bot_command entity at offset 0 when the text starts with one (CommandHandler needs it)."""
    m = _COMMAND_RE.match(text)
    if not m:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))}]


class _SimChat:
    """What users and groups share: a chat in the sandbox and a cursor over its events."""

    def __init__(self, sandbox: Sandbox, chat: ChatState) -> None:
        self._sb = sandbox
        self._chat = chat
        self._cursor = 0

    @property
    def inbox(self) -> list[SentMessage]:
        """The bot's messages in this chat, current state (edits applied, deletions removed)."""
        return self._chat.inbox()

    @property
    def events(self) -> list[SentMessage]:
        """Every sent/edited event so far, oldest first; unlike :meth:`drain`, consumes nothing."""
        return list(self._chat.events)

    def drain(self) -> list[SentMessage]:
        """Every sent/edited event not yet returned, consumed now."""
        events = self._chat.events[self._cursor :]
        self._cursor = len(self._chat.events)
        return events

    async def next_message(self, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """The next new or edited bot message in this chat, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self._cursor < len(self._chat.events):
                event = self._chat.events[self._cursor]
                self._cursor += 1
                return event
            left = deadline - time.monotonic()
            if left <= 0:
                recent = [(m.message_id, m.kind, (m.text or "")[:80]) for m in self.inbox[-5:]]
                raise TimeoutError(
                    f"no new message in chat {self._chat.id} within {timeout}s; "
                    f"recent inbox: {recent}"
                )
            await self._chat.changed.wait(left)


class SimUser(_SimChat):
    """A Telegram user in a private chat with the bot."""

    def __init__(
        self,
        sandbox: Sandbox,
        chat: ChatState,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        super().__init__(sandbox, chat)
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code

    def __repr__(self) -> str:
        return f"SimUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def chat_id(self) -> int:
        """A private chat's id is the user's id."""
        return self.id

    @property
    def blocked(self) -> bool:
        """True while the user has the bot blocked."""
        return self._chat.bot_status == "kicked"

    def user_dict(self) -> dict[str, Any]:
        """The ``User`` object for ``from`` fields."""
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d

    def _check_can_write(self) -> None:
        if self.blocked:
            raise RuntimeError(f"user {self.id} has blocked the bot; call unblock() first")

    async def send(self, text: str) -> dict[str, Any]:
        """Queue a private text message; a leading /command gets its bot_command entity."""
        self._check_can_write()
        msg = self._sb._queue_message(self._chat, self.user_dict(), text=text)
        await asyncio.sleep(0)
        return msg

    async def edit(self, message_id: int, text: str) -> dict[str, Any]:
        """Edit one of this user's sent text messages; the bot gets an ``edited_message``."""
        self._check_can_write()
        msg = self._sb._queue_edit(self._chat, self.user_dict(), message_id, text)
        await asyncio.sleep(0)
        return msg

    async def send_photo(self, caption: str | None = None) -> dict[str, Any]:
        """Queue a photo message (a real tiny PNG, downloadable with getFile)."""
        self._check_can_write()
        msg = self._sb._queue_media(self._chat, self.user_dict(), "photo", caption=caption)
        await asyncio.sleep(0)
        return msg

    async def send_sticker(self) -> dict[str, Any]:
        """Queue a sticker message."""
        self._check_can_write()
        msg = self._sb._queue_media(self._chat, self.user_dict(), "sticker")
        await asyncio.sleep(0)
        return msg

    async def send_voice(self) -> dict[str, Any]:
        """Queue a voice message."""
        self._check_can_write()
        msg = self._sb._queue_media(self._chat, self.user_dict(), "voice")
        await asyncio.sleep(0)
        return msg

    async def press(
        self, button: str, *, message_id: int | None = None, chat: SimGroup | None = None
    ) -> dict[str, Any]:
        """Press an inline button on the newest bot message that has it; queue the callback_query.

        Matches the label first, then callback_data.  ``chat`` presses in a group instead of
        the private chat.
        """
        self._check_can_write()
        state = chat._chat if chat is not None else self._chat
        candidates = [
            s
            for mid, s in sorted(state.messages.items(), reverse=True)
            if s.sent is not None and (message_id is None or mid == message_id)
        ]
        for index in (0, 1):
            for stored in candidates:
                for row in stored.message.get("reply_markup", {}).get("inline_keyboard", []):
                    for b in row:
                        key = b.get("text") if index == 0 else b.get("callback_data")
                        if key != button:
                            continue
                        if "callback_data" not in b:
                            raise LookupError(f"button {button!r} has no callback_data: {b}")
                        query = self._sb._queue_callback(
                            state, self.user_dict(), copy.deepcopy(stored.message), b
                        )
                        await asyncio.sleep(0)
                        return query
        available = [m.button_texts() for m in (s.sent for s in candidates) if m and m.buttons]
        raise LookupError(
            f"no button {button!r} in chat {state.id}"
            + (f" message {message_id}" if message_id else "")
            + f"; available: {available}"
        )

    async def press_forged(
        self, data: str, *, message_id: int, chat: SimGroup | None = None
    ) -> dict[str, Any]:
        """Send ``data`` as if a button of that message carried it.

        Telegram does not check callback data against the message's buttons (a modified
        client can send anything through MTProto), so bots must not trust it; this lets a
        test prove that. ``chat`` presses on a message of a group instead of the private chat.
        """
        self._check_can_write()
        state = chat._chat if chat is not None else self._chat
        stored = state.messages[message_id]
        button = {"text": "forged", "callback_data": data}
        query = self._sb._queue_callback(
            state, self.user_dict(), copy.deepcopy(stored.message), button
        )
        await asyncio.sleep(0)
        return query

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        """answerCallbackQuery parameters for this user's queries, in order."""
        return [params for uid, params in self._sb._callback_answers if uid == self.id]

    def block(self) -> None:
        """Block the bot: later sends get 403, and the bot hears a my_chat_member update."""
        if not self.blocked:
            self._chat.bot_status = "kicked"
            self._sb._queue_member_change(self._chat, self.user_dict(), "member", "kicked")

    def unblock(self) -> None:
        """Unblock the bot (the "Restart" button); the bot hears kicked -> member."""
        if self.blocked:
            self._chat.bot_status = "member"
            self._sb._queue_member_change(self._chat, self.user_dict(), "kicked", "member")


class SimGroup(_SimChat):
    """A group or supergroup containing the bot and some simulated users."""

    def __init__(self, sandbox: Sandbox, chat: ChatState) -> None:
        super().__init__(sandbox, chat)

    def __repr__(self) -> str:
        return f"SimGroup(id={self.id}, title={self.title!r}, type={self.type!r})"

    @property
    def id(self) -> int:
        """The (negative) chat id."""
        return self._chat.id

    @property
    def chat_id(self) -> int:
        """Same as ``id``, for symmetry with SimUser."""
        return self._chat.id

    @property
    def title(self) -> str:
        """The group's title."""
        return self._chat.title or ""

    @property
    def type(self) -> str:
        """ "group" or "supergroup"."""
        return self._chat.type

    @property
    def bot_status(self) -> str:
        """The bot's membership: "member", "left" or "kicked"."""
        return self._chat.bot_status

    async def add_bot(self, by: SimUser) -> None:
        """``by`` adds the bot: my_chat_member left -> member plus a new_chat_members message."""
        old = self._chat.bot_status
        self._chat.bot_status = "member"
        self._chat.members[by.id] = by.user_dict()
        was = old if old != "member" else "left"
        self._sb._queue_member_change(self._chat, by.user_dict(), was, "member")
        self._sb._queue_message(self._chat, by.user_dict(), new_chat_members=[self._sb._bot_user()])
        await asyncio.sleep(0)

    def delete(self, message_id: int) -> None:
        """An administrator of the group deletes one of the bot's messages (no update)."""
        if self._chat.messages.pop(message_id, None) is None:
            raise KeyError(message_id)
        self._chat.changed.notify()

    def promote_bot(self) -> None:
        """Make the bot an administrator of the group (it may pin messages)."""
        self._chat.bot_admin = True

    @property
    def pinned(self) -> list[int]:
        """The ids of the pinned messages, the newest last."""
        return list(self._chat.pinned)

    async def remove_bot(self, by: SimUser) -> None:
        """``by`` removes the bot: my_chat_member member -> kicked; later sends get 403."""
        self._chat.bot_status = "kicked"
        self._sb._queue_member_change(self._chat, by.user_dict(), "member", "kicked")
        await asyncio.sleep(0)

    async def upgrade(self, new_id: int, by: SimUser) -> SimGroup:
        """``by`` upgrades this basic group to a supergroup, which has a new id ``new_id``.

        As Telegram does it: the old group gets a service message with
        ``migrate_to_chat_id``, the new supergroup one with ``migrate_from_chat_id``, and
        sends to the old id get 400 with ``parameters.migrate_to_chat_id`` from then on.
        """
        if self.type != "group":
            raise ValueError("only a basic group is upgraded to a supergroup")
        sb = self._sb
        if new_id in sb._chats:
            raise ValueError(f"chat {new_id} exists already")
        new = sb.group(new_id, self.title, type="supergroup", bot_member=False)
        new._chat.bot_status = self._chat.bot_status
        new._chat.members.update(self._chat.members)
        sb._queue_message(self._chat, by.user_dict(), migrate_to_chat_id=new_id)
        self._chat.migrated_to = new_id
        sb._queue_message(new._chat, by.user_dict(), migrate_from_chat_id=self.id)
        await asyncio.sleep(0)
        return new

    async def send(self, user: SimUser, text: str) -> dict[str, Any]:
        """Queue a group message from ``user``; a leading /command gets its entity."""
        if self._chat.bot_status != "member":
            raise RuntimeError(f"the bot is not in group {self.id}; call add_bot() first")
        self._chat.members[user.id] = user.user_dict()
        msg = self._sb._queue_message(self._chat, user.user_dict(), text=text)
        await asyncio.sleep(0)
        return msg
