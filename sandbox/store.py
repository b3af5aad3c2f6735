"""The sandbox's world state: chats and their messages, uploaded files, queued updates."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Update types Telegram leaves out unless they are listed in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class SentMessage:
    """One bot message as a test sees it: visible text, buttons, files; one per send or edit."""

    chat_id: int
    message_id: int
    text: str  # the visible text or caption; "" when there is none (a photo without caption)
    parse_mode: str | None
    buttons: list[list[tuple[str, str | None]]]
    reply_markup: dict[str, Any] | None
    kind: str  # "sent" | "edited"
    method: str
    photo_bytes: bytes | None = None
    document_bytes: bytes | None = None
    filename: str | None = None
    date: int = 0
    params: dict[str, Any] = field(default_factory=dict, repr=False)
    raw_text: str | None = field(default=None, repr=False)  # as sent, markup included
    entities: list[dict[str, Any]] = field(default_factory=list, repr=False)
    media_group_id: str | None = None

    def button_texts(self) -> list[str]:
        """All button labels, row by row (handy in asserts)."""
        return [text for row in self.buttons for text, _ in row]


def buttons_of(markup: dict[str, Any] | None) -> list[list[tuple[str, str | None]]]:
    """(text, callback_data or url) per inline button, keeping the row layout."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [(b.get("text", ""), b.get("callback_data", b.get("url"))) for b in row]
        for row in markup["inline_keyboard"]
    ]


@dataclass
class StoredMessage:
    """A live message in a chat: the Telegram dict, and the test view if the bot sent it."""

    message: dict[str, Any]
    sent: SentMessage | None = None

    @property
    def from_bot(self) -> bool:
        """Only the bot's own messages can be edited by it."""
        return self.sent is not None


@dataclass
class ChatState:
    """One chat as Telegram knows it: identity, the bot's membership, live messages."""

    id: int
    type: str
    title: str | None = None
    user: dict[str, Any] | None = None  # the other party of a private chat
    username: str | None = None
    bot_status: str = "member"  # member | left | kicked
    migrated_to: int | None = None  # a group upgraded to this supergroup: sends get 400
    bot_admin: bool = False  # in a group: may the bot pin messages (an administrator)?
    pinned: list[int] = field(default_factory=list)  # pinned message ids, oldest first
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[SentMessage] = field(default_factory=list)
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1
    # wakes only this chat's readers, so 500 simulated users don't all wake on every message
    changed: Notifier = field(default_factory=lambda: Notifier())

    def chat_dict(self) -> dict[str, Any]:
        """The ``Chat`` object embedded in messages."""
        d: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user:
            for key in ("first_name", "last_name", "username"):
                if self.user.get(key):
                    d[key] = self.user[key]
        else:
            d["title"] = self.title or ""
            if self.username:
                d["username"] = self.username
        return d

    def take_id(self) -> int:
        """Message ids grow per chat and are shared by both sides, as in Telegram."""
        mid = self.next_id
        self.next_id += 1
        return mid

    def see_id(self, message_id: int) -> None:
        """Keep ids increasing after a raw update mentioned ``message_id``."""
        self.next_id = max(self.next_id, message_id + 1)

    def inbox(self) -> list[SentMessage]:
        """The bot's live messages in id order, edits applied, deleted ones gone."""
        return [s.sent for _, s in sorted(self.messages.items()) if s.sent is not None]


@dataclass
class FileRecord:
    """An uploaded or simulated file, reachable by file_id and by its download path."""

    file_id: str
    file_unique_id: str
    path: str
    data: bytes
    kind: str
    filename: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    def file_dict(self) -> dict[str, Any]:
        """The ``File`` object getFile returns."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.path,
        }


class FileStore:
    """Files by id and path; ids look opaque, like Telegram's."""

    _EXT: ClassVar[dict[str, str]] = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}

    def __init__(self) -> None:
        self._by_id: dict[str, FileRecord] = {}
        self._by_path: dict[str, FileRecord] = {}
        self._seq = itertools.count(1)

    def add(
        self,
        data: bytes,
        kind: str,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> FileRecord:
        """Store bytes and give them a fresh file_id and download path."""
        n = next(self._seq)
        digest = hashlib.sha1(data + n.to_bytes(8, "big")).hexdigest()
        ext = self._EXT.get(mime_type or "") or (filename or "").rpartition(".")[2] or "bin"
        rec = FileRecord(
            file_id=f"SBX{kind[:3].upper()}{n:06d}{digest[:24]}",
            file_unique_id=f"U{digest[:15]}",
            path=f"{kind}s/file_{n}.{ext}",
            data=data,
            kind=kind,
            filename=filename,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._by_id[rec.file_id] = rec
        self._by_path[rec.path] = rec
        return rec

    def get(self, file_id: str) -> FileRecord | None:
        """Look a file up by file_id."""
        return self._by_id.get(file_id)

    def by_path(self, path: str) -> FileRecord | None:
        """Look a file up by the path getFile handed out."""
        return self._by_path.get(path)


class Notifier:
    """Wake every waiter when something changes; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        """Wake all current waiters."""
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109
        """Return on the next notify() or after ``timeout`` seconds, whichever comes first."""
        if timeout <= 0:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters.discard(fut)


@dataclass
class _Queued:
    update: dict[str, Any]
    fetched: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def kind(self) -> str:
        return next((k for k in self.update if k != "update_id"), "")


class UpdateQueue:
    """Telegram's per-bot update queue: kept until a getUpdates offset confirms them."""

    def __init__(self) -> None:
        self._items: list[_Queued] = []
        self._history: dict[int, dict[str, Any]] = {}
        self._next_id = 1
        self.allowed: frozenset[str] | None = None
        self.changed = Notifier()
        self.fed = 0

    def put(self, update: dict[str, Any]) -> int:
        """Queue an update, numbering it unless it already has an update_id."""
        if "update_id" not in update:
            update["update_id"] = self._next_id
        self._next_id = max(self._next_id, int(update["update_id"]) + 1)
        self._items.append(_Queued(update))
        self._history[int(update["update_id"])] = update
        self.fed += 1
        self.changed.notify()
        return int(update["update_id"])

    @property
    def last_id(self) -> int:
        """The highest update id queued so far (0 before the first)."""
        return self._next_id - 1

    def history(self, update_id: int) -> dict[str, Any]:
        """Update ``update_id`` as queued; KeyError if it never was."""
        return self._history[update_id]

    def redeliver(self, update_id: int) -> None:
        """Queue an already delivered update again, with its own id.

        Telegram does this when the getUpdates call that would have confirmed the update
        (the next offset) never came, e.g. the bot was killed right after processing it.
        """
        update = self._history.get(update_id)
        if update is None:
            raise KeyError(f"no update {update_id} was ever queued")
        if any(q.update_id == update_id for q in self._items):
            return  # still queued: it will be delivered anyway
        self._items.append(_Queued(update))
        self._items.sort(key=lambda q: q.update_id)
        self.changed.notify()

    def confirm(self, offset: int | None) -> None:
        """Forget updates before ``offset``; a negative offset keeps only the last -offset."""
        if offset is None or offset == 0:
            return
        if offset < 0:
            self._items = self._items[offset:]
        else:
            self._items = [q for q in self._items if q.update_id >= offset]

    def would_confirm(self, offset: int | None) -> bool:
        """Whether ``confirm(offset)`` would forget at least one queued update."""
        if offset is None or offset == 0:
            return False
        if offset < 0:
            return len(self._items) > -offset
        return any(q.update_id < offset for q in self._items)

    def set_allowed(self, allowed: list[str] | None) -> None:
        """allowed_updates persists until changed; an empty list means the default set."""
        if allowed is not None:
            self.allowed = frozenset(allowed) if allowed else None

    def _wanted(self, q: _Queued) -> bool:
        if self.allowed is None:
            return q.kind not in OPT_IN_UPDATES
        return q.kind in self.allowed

    def available(self, limit: int) -> list[_Queued]:
        """Updates a getUpdates may return now; unwanted kinds are dropped for good."""
        self._items = [q for q in self._items if self._wanted(q)]
        return self._items[:limit]

    def clear(self) -> None:
        """deleteWebhook(drop_pending_updates=True)."""
        self._items.clear()

    @property
    def pending(self) -> int:
        """Queued and not yet confirmed by an offset."""
        return len(self._items)

    @property
    def all_fetched(self) -> bool:
        """Every queued update reached the bot at least once."""
        return all(q.fetched or not self._wanted(q) for q in self._items)


@dataclass
class CallbackQuery:
    """A pressed button awaiting answerCallbackQuery (Telegram accepts one within 15 min)."""

    id: str
    user_id: int
    created: float = field(default_factory=time.monotonic)
    answered: bool = False
