"""The Sandbox: an aiohttp Bot API server on loopback plus the handles tests drive it with.

One Sandbox is one bot account on a fake Telegram: a real ``telegram.ext.Application``
points ``base_url``/``base_file_url`` at it and cannot tell the difference, except that
everything is recorded, faults can be injected and simulated users can talk.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

from .errors import SandboxError
from .faults import Fault, FaultList, RandomFaults
from .limits import MAX_UPLOAD_BYTES, RateLimiter
from .methods import BotApi
from .spec import Upload, load_spec
from .store import (
    CallbackQuery,
    ChatState,
    FileStore,
    SentMessage,
    StoredMessage,
    UpdateQueue,
    _Queued,
)
from .users import SimGroup, SimUser, command_entities, make_png

log = logging.getLogger(__name__)

_MAX_POLL_TIMEOUT = 50  # Telegram holds a long poll for at most ~50 s


@dataclass
class Call:
    """One request the bot made, as the sandbox answered it."""

    method: str
    params: dict[str, Any]
    status: int
    ok: bool
    description: str | None
    at: float
    chat_id: int | str | None
    result: Any = None


class Sandbox:
    """A strict local Telegram Bot API server for tests, benchmarks and the demo.

    Use as ``async with Sandbox() as sb:`` and point PTB at ``sb.base_url`` and
    ``sb.base_file_url``.  Everything Telegram would reject is rejected with Telegram's
    status and description.
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "nfpbot_sandbox_bot",
        rtt: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_rate_limits: bool = True,
        *,
        private_chat_per_second: float | None = None,
        global_per_second: int = 30,
        bot_first_name: str = "NFP Bot",
    ) -> None:
        prefix, sep, _ = token.partition(":")
        if not sep or not prefix.isdigit():
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot_id = int(prefix)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.rtt = rtt
        self.host = host
        self.port = port
        self.enforce_rate_limits = enforce_rate_limits
        self.limiter = RateLimiter(
            global_per_second=global_per_second, private_chat_per_second=private_chat_per_second
        )
        self.faults = FaultList()
        # seeded random faults on top of the armed ones (None: off); see RandomFaults
        self.chaos: RandomFaults | None = None
        self._lost_confirmations = 0
        self.files = FileStore()
        self.api = BotApi(self)
        self.calls: list[Call] = []
        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, SimUser] = {}
        self._groups: dict[int, SimGroup] = {}
        self._updates = UpdateQueue()
        self._queries: dict[str, CallbackQuery] = {}
        self._callback_answers: list[tuple[int, dict[str, Any]]] = []
        self._query_seq = itertools.count(4_410_000_000_000_000_001)
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._method_counts: Counter[str] = Counter()
        self._error_counts: Counter[int] = Counter()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> Self:
        """Listen on host:port (port 0 picks a free one)."""
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # access_log=None: aiohttp's access log would print every URL, token included.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self._closing = False
        self.port = runner.addresses[0][1]
        log.debug("sandbox listening on %s:%s", self.host, self.port)
        return self

    async def stop(self) -> None:
        """Release held long polls and close the server."""
        self._closing = True
        self._updates.changed.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends token and method."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"http://{self.host}:{self.port}/file/bot"

    # ------------------------------------------------------------------ test-facing API

    def calls_to(self, method: str | None = None, chat_id: int | str | None = None) -> list[Call]:
        """Recorded calls, optionally only one method (any case) and/or one chat."""
        return [
            c
            for c in self.calls
            if (method is None or c.method.lower() == method.lower())
            and (chat_id is None or str(c.chat_id) == str(chat_id))
        ]

    def feed(self, update: dict[str, Any]) -> int:
        """Queue a raw update (numbered if it has no update_id); chats it mentions become known."""
        self._learn(update)
        return self._updates.put(update)

    def redeliver(self, update_id: int) -> None:
        """Deliver update ``update_id`` again, as Telegram does when its confirmation was lost.

        Call it while the bot is stopped (a crash is what loses a confirmation): a running
        bot's next getUpdates offset would confirm it at once, as it would at Telegram.
        """
        self._updates.redeliver(update_id)

    def queued_update(self, update_id: int) -> dict[str, Any]:
        """A copy of update ``update_id`` as it was queued (e.g. to check what a bot kept)."""
        return copy.deepcopy(self._updates.history(update_id))

    @property
    def last_update_id(self) -> int:
        """The id of the update queued last (e.g. right after a simulated user's send)."""
        return self._updates.last_id

    @property
    def polls_started(self) -> int:
        """getUpdates calls received so far, counted on arrival (a held poll counts at once).

        Recorded calls appear in ``calls`` only when answered, which for a long poll can be
        its whole timeout later; this tells a test the moment a (re)started bot polls.
        """
        return self._poll_generation

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return self._updates.pending

    async def settle(self, timeout: float = 5.0, quiet: float = 0.05) -> None:  # noqa: ASYNC109
        """Wait until the bot fetched every update and has been quiet for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if (
                self._updates.all_fetched
                and self._inflight == 0
                and now - self._last_activity >= quiet
            ):
                return
            if now >= deadline:
                raise TimeoutError(
                    f"sandbox not settled after {timeout}s: {self._updates.pending} updates "
                    f"pending (all fetched: {self._updates.all_fetched}), "
                    f"{self._inflight} requests in flight"
                )
            await asyncio.sleep(min(0.005, quiet / 4 or 0.005))

    def inject(
        self,
        method: str | None = None,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
        drop: bool = False,
        chat_id: int | str | None = None,
    ) -> None:
        """Arm a fault for the next ``times`` matching calls (method None: any but getUpdates).

        ``delay`` alone processes the call normally and answers ``delay`` s late (a client
        that times out meanwhile has still sent the message, as in production); ``drop``
        closes the connection unprocessed and unanswered (after ``delay``, if given);
        otherwise the call is refused with ``status`` (status is ignored for delay-only).
        """
        self.faults.add(
            Fault(method, status, description, retry_after, times, delay, drop, chat_id)
        )

    def lose_confirmations(self, times: int = 1) -> None:
        """The next ``times`` getUpdates calls that would confirm updates leave them queued.

        As if those calls had never reached Telegram: the updates they would have confirmed
        are delivered again, same update_id, on the following getUpdates. This is how a bot
        that died between fetching updates and its next getUpdates sees them after a restart.
        """
        self._lost_confirmations += times

    def _confirmation_lost(self) -> bool:
        if self._lost_confirmations > 0:
            self._lost_confirmations -= 1
            return True
        return self.chaos is not None and self.chaos.keep_unconfirmed()

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> SimUser:
        """The simulated user ``user_id`` (created on first use; same id, same object)."""
        if user_id in self._users:
            return self._users[user_id]
        if user_id <= 0:
            raise ValueError("user ids are positive")
        sim_chat = self._chats.get(user_id) or ChatState(user_id, "private")
        self._chats[user_id] = sim_chat
        sim = SimUser(self, sim_chat, user_id, first_name, last_name, username, language_code)
        sim_chat.user = sim.user_dict()
        self._users[user_id] = sim
        return sim

    def channel(
        self,
        chat_id: int,
        title: str = "Channel",
        *,
        username: str | None = None,
        admin: bool = True,
    ) -> SimGroup:
        """The simulated channel ``chat_id`` (negative, ``@username`` if public).

        As in Telegram, only an administrator may post in a channel: the bot is one unless
        ``admin=False``, when it is a mere subscriber and every post is refused (400 "need
        administrator rights in the channel chat"). Its messages read like a group's.
        """
        if chat_id in self._groups:
            return self._groups[chat_id]
        if chat_id >= 0:
            raise ValueError("channel ids are negative")
        state = self._chats.get(chat_id) or ChatState(
            chat_id, "channel", title=title, username=username
        )
        state.bot_status = "member"
        state.bot_admin = admin
        self._chats[chat_id] = state
        self._groups[chat_id] = SimGroup(self, state)
        return self._groups[chat_id]

    def group(
        self,
        chat_id: int,
        title: str = "Secretariat",
        *,
        type: str = "supergroup",
        bot_member: bool = True,
    ) -> SimGroup:
        """The simulated group ``chat_id`` (negative); the bot is in it unless bot_member=False."""
        if chat_id in self._groups:
            return self._groups[chat_id]
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if type not in ("group", "supergroup"):
            raise ValueError("type must be 'group' or 'supergroup'")
        state = self._chats.get(chat_id) or ChatState(chat_id, type, title=title)
        state.bot_status = "member" if bot_member else "left"
        self._chats[chat_id] = state
        self._groups[chat_id] = SimGroup(self, state)
        return self._groups[chat_id]

    def chat_messages(self, chat_id: int) -> list[SentMessage]:
        """The bot's live messages in a chat (edits applied, deleted removed)."""
        chat = self._chats.get(chat_id)
        return chat.inbox() if chat else []

    @property
    def stats(self) -> dict[str, Any]:
        """Counts for benchmarks: calls per method, errors per status, updates fed."""
        return {
            "calls": len(self.calls),
            "methods": dict(self._method_counts),
            "errors": dict(self._error_counts),
            "updates_fed": self._updates.fed,
            "updates_pending": self._updates.pending,
            "flood_refusals": dict(self.limiter.refused),
        }

    def reset_rate_limits(self) -> None:
        """Forget the flood-control windows (e.g. between benchmark phases)."""
        self.limiter.reset()

    # ------------------------------------------------------------------ helpers for users.py

    def _bot_user(self, *, full: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }
        if full:
            d.update(
                can_join_groups=True,
                can_read_all_group_messages=False,
                supports_inline_queries=False,
                can_connect_to_business=False,
                has_main_web_app=False,
            )
        return d

    def _record_event(self, chat: ChatState, sent: SentMessage) -> None:
        chat.events.append(sent)
        chat.changed.notify()

    def _queue_message(
        self, chat: ChatState, sender: dict[str, Any], **content: Any
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "message_id": chat.take_id(),
            "from": sender,
            "chat": chat.chat_dict(),
            "date": int(time.time()),
            **content,
        }
        if "text" in content:
            entities = command_entities(content["text"])
            if entities:
                msg["entities"] = entities
        chat.messages[msg["message_id"]] = StoredMessage(copy.deepcopy(msg))
        self._updates.put({"message": msg})
        return msg

    def _queue_edit(
        self, chat: ChatState, sender: dict[str, Any], message_id: int, text: str
    ) -> dict[str, Any]:
        """The sender edits their own text message: an ``edited_message`` update, same id."""
        stored = chat.messages.get(message_id)
        if stored is None or stored.from_bot or "text" not in stored.message:
            raise SandboxError(400, "Bad Request: message can't be edited")
        if stored.message.get("from", {}).get("id") != sender["id"]:
            raise SandboxError(400, "Bad Request: message can't be edited")
        msg = copy.deepcopy(stored.message)
        msg["text"] = text
        msg["edit_date"] = max(int(time.time()), int(msg.get("date", 0)))
        msg.pop("entities", None)
        entities = command_entities(text)
        if entities:
            msg["entities"] = entities
        stored.message = copy.deepcopy(msg)
        self._updates.put({"edited_message": msg})
        return msg

    def _queue_media(
        self, chat: ChatState, sender: dict[str, Any], kind: str, caption: str | None = None
    ) -> dict[str, Any]:
        content: dict[str, Any] = {}
        if kind == "photo":
            data = make_png(64, 48)
            rec = self.files.add(data, "photo", mime_type="image/png", width=64, height=48)
            content["photo"] = [
                {
                    "file_id": rec.file_id,
                    "file_unique_id": rec.file_unique_id,
                    "width": 64,
                    "height": 48,
                    "file_size": len(data),
                }
            ]
        elif kind == "voice":
            data = b"OggS" + bytes(60)
            rec = self.files.add(data, "voice", mime_type="audio/ogg")
            content["voice"] = {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "duration": 2,
                "mime_type": "audio/ogg",
                "file_size": len(data),
            }
        else:
            data = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(32)
            rec = self.files.add(data, "sticker", mime_type="image/webp")
            content["sticker"] = {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        if caption:
            content["caption"] = caption
        return self._queue_message(chat, sender, **content)

    def _queue_callback(
        self,
        chat: ChatState,
        sender: dict[str, Any],
        message: dict[str, Any],
        button: dict[str, Any],
    ) -> dict[str, Any]:
        qid = str(next(self._query_seq))
        query = {
            "id": qid,
            "from": sender,
            "message": message,
            "chat_instance": str(int(hashlib.sha1(str(chat.id).encode()).hexdigest()[:15], 16)),
            "data": button["callback_data"],
        }
        self._queries[qid] = CallbackQuery(qid, sender["id"])
        self._updates.put({"callback_query": query})
        return query

    def _queue_member_change(
        self, chat: ChatState, sender: dict[str, Any], old: str, new: str
    ) -> None:
        def member(status: str) -> dict[str, Any]:
            m: dict[str, Any] = {"user": self._bot_user(), "status": status}
            if status == "kicked":
                m["until_date"] = 0
            return m

        self._updates.put(
            {
                "my_chat_member": {
                    "chat": chat.chat_dict(),
                    "from": sender,
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def _learn(self, value: Any) -> None:
        """Chats, messages and callback queries in a raw update become known to the server."""
        if isinstance(value, list):
            for v in value:
                self._learn(v)
            return
        if not isinstance(value, dict):
            return
        chat = value.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int) and "type" in chat:
            state = self._chats.get(chat["id"])
            if state is None:
                state = ChatState(chat["id"], chat["type"], title=chat.get("title"))
                if chat["type"] == "private":
                    state.user = {
                        "id": chat["id"],
                        "is_bot": False,
                        "first_name": chat.get("first_name", ""),
                    }
                self._chats[chat["id"]] = state
            mid = value.get("message_id")
            if isinstance(mid, int):
                state.see_id(mid)
                if mid not in state.messages:
                    state.messages[mid] = StoredMessage(copy.deepcopy(value))
        if isinstance(value.get("id"), str) and "chat_instance" in value:
            sender = value.get("from") or {}
            self._queries[value["id"]] = CallbackQuery(value["id"], int(sender.get("id", 0)))
        for v in value.values():
            if isinstance(v, (dict, list)):
                self._learn(v)

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/file/bot"):
            return self._serve_file(path[len("/file/bot") :])
        if not path.startswith("/bot"):
            return _json(SandboxError(404, "Not Found").payload(), 404)
        token, _, method = path[len("/bot") :].partition("/")
        if token != self.token:
            err = SandboxError(401, "Unauthorized")
            if self.rtt > 0:
                await asyncio.sleep(self.rtt)
            self._record(Call(method, {}, 401, False, err.description, time.monotonic(), None))
            return _json(err.payload(), 401)
        if not method or "/" in method:
            return _json(SandboxError(404, "Not Found").payload(), 404)
        return await self._serve_method(request, method)

    def _serve_file(self, rest: str) -> web.StreamResponse:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return _json(SandboxError(401, "Unauthorized").payload(), 401)
        rec = self.files.by_path(file_path)
        if rec is None:
            return _json(SandboxError(404, "Not Found").payload(), 404)
        return web.Response(body=rec.data, content_type=rec.mime_type or "application/octet-stream")

    async def _serve_method(self, request: web.Request, method: str) -> web.StreamResponse:
        is_poll = method.lower() == "getupdates"
        started = time.monotonic()
        if not is_poll:
            self._inflight += 1
            self._last_activity = started
        spec = load_spec().method(method)
        name = spec.name if spec else method
        raw: dict[str, Any] = {}
        params: dict[str, Any] | None = None
        chat_id: Any = None
        delivered: list[_Queued] = []
        result: Any = None
        fault: Fault | None = None
        try:
            try:
                raw, uploads = await _read_params(request)
                chat_id = _chat_id_of(raw)
                fault = self.faults.take(name, chat_id)
                if fault is None and self.chaos is not None:
                    fault = self.chaos.take(name, chat_id)
                if self.rtt > 0:
                    await asyncio.sleep(self.rtt / 2)
                if fault is not None and fault.drop:
                    await asyncio.sleep(fault.delay)
                    self._record(Call(name, raw, 0, False, "connection dropped", started, chat_id))
                    if request.transport is not None:
                        request.transport.close()  # no status line, no body: a lost answer
                    return web.Response(status=500)
                if fault is not None and not fault.is_delay_only:
                    raise fault.error()
                if spec is None:
                    raise SandboxError(404, "Not Found")
                params = load_spec().decode(spec, raw, uploads)
                chat_id = params.get("chat_id", chat_id)
                if is_poll:
                    delivered = await self._get_updates(params)
                    result = [q.update for q in delivered]
                else:
                    result = self.api.call(spec, params, uploads)
                status, body = 200, {"ok": True, "result": result}
            except SandboxError as exc:
                status, body = exc.status, exc.payload()
            except Exception as exc:  # a sandbox bug: answer like a Telegram outage, loudly
                log.exception("sandbox failed on %s", name)
                err = SandboxError(500, f"Internal Server Error: sandbox bug: {exc!r}")
                status, body = err.status, err.payload()
            ok = status == 200
            call = Call(
                name,
                params if params is not None else raw,
                status,
                ok,
                None if ok else body["description"],
                started,
                _int_if_numeric(chat_id),
                result if ok else None,
            )
            if not is_poll:
                # Recorded now: the effect has happened even if the client gives up waiting.
                self._record(call)
            if fault is not None and fault.is_delay_only:
                await asyncio.sleep(fault.delay)  # slow answer: processed, reply comes late
            if self.rtt > 0:
                await asyncio.sleep(self.rtt / 2)
            if is_poll:
                for q in delivered:
                    q.fetched = True
                self._record(call)
            return _json(body, status)
        finally:
            if not is_poll:
                self._inflight -= 1
            if not is_poll or delivered:
                self._last_activity = time.monotonic()

    async def _get_updates(self, params: dict[str, Any]) -> list[_Queued]:
        """Long polling: confirm by offset, then hold until an update or the timeout."""
        if self.api.webhook_url:
            raise SandboxError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates.changed.notify()  # an older held poll must now answer 409
        offset = params.get("offset")
        if self._updates.would_confirm(offset) and self._confirmation_lost():
            log.debug("sandbox: getUpdates offset %s not applied (confirmation lost)", offset)
        else:
            self._updates.confirm(offset)
        self._updates.set_allowed(params.get("allowed_updates"))
        limit = min(max(params.get("limit") or 100, 1), 100)
        timeout = min(max(params.get("timeout") or 0, 0), _MAX_POLL_TIMEOUT)
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise SandboxError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            ready = self._updates.available(limit)
            left = deadline - time.monotonic()
            if ready or left <= 0 or self._closing:
                return ready
            await self._updates.changed.wait(left)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._method_counts[call.method] += 1
        if not call.ok:
            self._error_counts[call.status] += 1
            if call.method.lower() != "getupdates":
                log.debug("sandbox %s -> %s %s", call.method, call.status, call.description)


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )


def _chat_id_of(raw: dict[str, Any]) -> Any:
    return _int_if_numeric(raw.get("chat_id"))


def _int_if_numeric(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Query string plus body: form-urlencoded, multipart (with files) or JSON, like Telegram."""
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    ctype = request.content_type
    if not request.can_read_body:
        return raw, uploads
    if ctype == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise SandboxError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(body, dict):
            raise SandboxError(400, "Bad Request: request body must be a JSON object")
        raw.update(body)
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(key, value.filename, value.content_type, value.file.read())
            else:
                raw[key] = value
    return raw, uploads
