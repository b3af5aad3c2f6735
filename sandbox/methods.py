"""Bot API methods with real effects: messages, edits, callback answers, commands, chats, files.

Every handler gets parameters already validated against the spec, and either returns the
``result`` value or raises the SandboxError Telegram would answer with.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import limits
from .errors import SandboxError, bad_request
from .spec import MethodSpec, Upload
from .store import (
    ChatState,
    FileRecord,
    SentMessage,
    StoredMessage,
    buttons_of,
)

if TYPE_CHECKING:
    from .server import Sandbox

CALLBACK_QUERY_TTL = 15 * 60
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_MEDIA_KEYS = {
    "photo": "photo",
    "document": "document",
    "audio": "audio",
    "video": "video",
    "animation": "animation",
    "voice": "voice",
    "video_note": "video_note",
    "sticker": "sticker",
}
Handler = Callable[[dict[str, Any]], Any]


class BotApi:
    """The method implementations, bound to one Sandbox's state."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self._album_seq = itertools.count(1)
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.texts: dict[tuple[str, str], str] = {}
        self.webhook_url = ""
        self.uploads: dict[str, Upload] = {}
        self.handlers: dict[str, Handler] = {
            "getme": lambda p: self.sb._bot_user(full=True),
            "sendmessage": self.send_message,
            "sendphoto": self.send_photo,
            "senddocument": self.send_document,
            "sendmediagroup": self.send_media_group,
            "editmessagetext": self.edit_text,
            "editmessagecaption": self.edit_caption,
            "editmessagereplymarkup": self.edit_markup,
            "pinchatmessage": self.pin_message,
            "deletemessage": self.delete_message,
            "deletemessages": self.delete_messages,
            "answercallbackquery": self.answer_callback_query,
            "sendchataction": self.send_chat_action,
            "deletewebhook": self.delete_webhook,
            "setwebhook": self.set_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "getchat": self.get_chat,
            "getchatmember": self.get_chat_member,
            "getchatmembercount": lambda p: 1 + len(self._chat(p).members),
            "setmydescription": self._text_setter("description", 512),
            "setmyshortdescription": self._text_setter("short_description", 120),
            "setmyname": self._text_setter("name", 64),
            "getmydescription": self._text_getter("description"),
            "getmyshortdescription": self._text_getter("short_description"),
            "getmyname": self._text_getter("name"),
            "getfile": self.get_file,
            "close": lambda p: True,
            "logout": lambda p: True,
        }

    # ---------------------------------------------------------------- dispatch

    def call(self, spec: MethodSpec, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        """Run one validated call; unknown-to-us spec methods get a plausible default answer."""
        self.uploads = uploads  # handlers are synchronous, so this cannot leak between calls
        handler = self.handlers.get(spec.name.lower())
        if handler is not None:
            return handler(params)
        sends = spec.name.startswith(("send", "copy", "forward"))
        if sends and "chat_id" in params and {"Message", "MessageId"} & set(spec.returns):
            return self.send_generic(spec, params)
        if "chat_id" in params and spec.name.lower() in limits.SENDING_METHODS:
            self._check_sending(self._chat(params), 1)
        return _default_result(spec.returns)

    # ---------------------------------------------------------------- helpers

    def _chat(self, params: dict[str, Any], key: str = "chat_id") -> ChatState:
        chat_id = params.get(key)
        chat = None
        if isinstance(chat_id, int):
            chat = self.sb._chats.get(chat_id)
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            chat = next(
                (
                    c
                    for c in self.sb._chats.values()
                    if c.type != "private" and (c.username or "").lower() == name
                ),
                None,
            )
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _check_writable(self, chat: ChatState) -> None:
        if chat.migrated_to is not None:
            raise SandboxError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=chat.migrated_to,
            )
        if chat.bot_status == "member":
            if chat.type == "channel" and not chat.bot_admin:
                raise bad_request("need administrator rights in the channel chat")
            return
        if chat.type == "private":
            raise SandboxError(403, "Forbidden: bot was blocked by the user")
        kind = "supergroup chat" if chat.type == "supergroup" else f"{chat.type} chat"
        if chat.bot_status == "kicked":
            raise SandboxError(403, f"Forbidden: bot was kicked from the {kind}")
        raise SandboxError(403, f"Forbidden: bot is not a member of the {kind}")

    def _check_sending(self, chat: ChatState, count: int) -> None:
        self._check_writable(chat)
        if self.sb.enforce_rate_limits:
            self.sb.limiter.check(chat.id, chat.type, count)

    def _check_reply(self, chat: ChatState, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if not reply:
            return None
        target = self.sb._chats.get(reply.get("chat_id"), chat) if "chat_id" in reply else chat
        stored = target.messages.get(reply["message_id"])
        if stored is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return copy.deepcopy(stored.message)

    def _new_message(
        self,
        chat: ChatState,
        method: str,
        params: dict[str, Any],
        content: dict[str, Any],
        *,
        text: str | None,
        raw_text: str | None,
        entities: list[dict[str, Any]],
        reply_to: dict[str, Any] | None = None,
        photo_bytes: bytes | None = None,
        document_bytes: bytes | None = None,
        filename: str | None = None,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a bot message, record its "sent" event, return the Message dict."""
        mid = chat.take_id()
        now = int(time.time())
        msg: dict[str, Any] = {
            "message_id": mid,
            "from": self.sb._bot_user(),
            "chat": chat.chat_dict(),
            "date": now,
            **content,
        }
        if reply_to is not None:
            reply_to.pop("reply_to_message", None)  # Telegram nests one level only
            msg["reply_to_message"] = reply_to
        if media_group_id:
            msg["media_group_id"] = media_group_id
        markup = params.get("reply_markup")
        if markup and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        sent = SentMessage(
            chat_id=chat.id,
            message_id=mid,
            text=text or "",
            parse_mode=limits.normalize_parse_mode(params.get("parse_mode")),
            buttons=buttons_of(markup),
            reply_markup=markup,
            kind="sent",
            method=method,
            photo_bytes=photo_bytes,
            document_bytes=document_bytes,
            filename=filename,
            date=now,
            params=params,
            raw_text=raw_text,
            entities=entities,
            media_group_id=media_group_id,
        )
        chat.messages[mid] = StoredMessage(msg, sent)
        self.sb._record_event(chat, sent)
        return copy.deepcopy(msg)

    def _file_param(
        self, value: Any, kind: str, *, photo: bool = False
    ) -> tuple[FileRecord | None, str | None]:
        """Resolve an InputFile/String value to (stored file, URL); refuse unknown file_ids."""
        if isinstance(value, Upload):
            if photo:
                mime, w, h = limits.check_photo(value.data)
                rec = self.sb.files.add(
                    value.data, kind, filename=value.filename, mime_type=mime, width=w, height=h
                )
            else:
                limits.check_document(value.data)
                rec = self.sb.files.add(
                    value.data, kind, filename=value.filename, mime_type=value.content_type
                )
            return rec, None
        if isinstance(value, str):
            if value.startswith(("http://", "https://")):
                return None, value  # Telegram would fetch it; the sandbox has no network
            known = self.sb.files.get(value)
            if known is not None:
                return known, None
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, rec: FileRecord | None) -> list[dict[str, Any]]:
        if rec is None:
            return [{"file_id": "SBXURL", "file_unique_id": "USBXURL", "width": 800, "height": 600}]
        return [
            {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "width": rec.width or 1,
                "height": rec.height or 1,
                "file_size": len(rec.data),
            }
        ]

    @staticmethod
    def _document(rec: FileRecord | None, url: str | None) -> dict[str, Any]:
        if rec is None:
            name = (url or "").rstrip("/").rpartition("/")[2] or "file"
            return {"file_id": "SBXURL", "file_unique_id": "USBXURL", "file_name": name}
        d: dict[str, Any] = {
            "file_id": rec.file_id,
            "file_unique_id": rec.file_unique_id,
            "file_size": len(rec.data),
        }
        if rec.filename:
            d["file_name"] = rec.filename
        if rec.mime_type:
            d["mime_type"] = rec.mime_type
        return d

    def _caption(
        self, params: dict[str, Any]
    ) -> tuple[str | None, list[dict[str, Any]], dict[str, Any]]:
        caption, ents = limits.check_caption(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        extra: dict[str, Any] = {}
        if caption:
            extra["caption"] = caption
            if ents:
                extra["caption_entities"] = ents
        return caption, ents, extra

    # ---------------------------------------------------------------- sending

    def send_message(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendMessage: text 1-4096 after parsing, a valid keyboard, a writable chat."""
        text, ents = limits.check_text(p["text"], p.get("parse_mode"), p.get("entities"))
        limits.check_reply_markup(p.get("reply_markup"))
        chat = self._chat(p)
        reply_to = self._check_reply(chat, p)
        self._check_sending(chat, 1)
        content: dict[str, Any] = {"text": text}
        if ents:
            content["entities"] = ents
        return self._new_message(
            chat,
            "sendMessage",
            p,
            content,
            text=text,
            raw_text=p["text"],
            entities=ents,
            reply_to=reply_to,
        )

    def send_photo(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendPhoto: a real PNG/JPEG/WebP up to 10 MB, caption up to 1024."""
        caption, ents, extra = self._caption(p)
        limits.check_reply_markup(p.get("reply_markup"))
        chat = self._chat(p)
        reply_to = self._check_reply(chat, p)
        rec, _ = self._file_param(p["photo"], "photo", photo=True)
        self._check_sending(chat, 1)
        content = {"photo": self._photo_sizes(rec), **extra}
        return self._new_message(
            chat,
            "sendPhoto",
            p,
            content,
            text=caption,
            raw_text=p.get("caption"),
            entities=ents,
            reply_to=reply_to,
            photo_bytes=rec.data if rec else None,
            filename=rec.filename if rec else None,
        )

    def send_document(self, p: dict[str, Any]) -> dict[str, Any]:
        """sendDocument: up to 50 MB, caption up to 1024."""
        caption, ents, extra = self._caption(p)
        limits.check_reply_markup(p.get("reply_markup"))
        chat = self._chat(p)
        reply_to = self._check_reply(chat, p)
        rec, url = self._file_param(p["document"], "document")
        self._check_sending(chat, 1)
        content = {"document": self._document(rec, url), **extra}
        return self._new_message(
            chat,
            "sendDocument",
            p,
            content,
            text=caption,
            raw_text=p.get("caption"),
            entities=ents,
            reply_to=reply_to,
            document_bytes=rec.data if rec else None,
            filename=rec.filename if rec else None,
        )

    def send_media_group(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """sendMediaGroup: 2-10 items; documents and audio only with their own kind."""
        media = p["media"]
        if len(media) < 2:
            raise bad_request("not enough media to send as an album: 2-10 items are needed")
        if len(media) > 10:
            raise bad_request("too many media to send as an album: 2-10 items are allowed")
        kinds = {m["type"] for m in media}
        for solo in ("document", "audio"):
            if solo in kinds and len(kinds) > 1:
                raise bad_request(f"{solo} can't be mixed with other media types")
        chat = self._chat(p)
        reply_to = self._check_reply(chat, p)
        prepared = []
        for item in media:
            caption, ents = limits.check_caption(
                item.get("caption"), item.get("parse_mode"), item.get("caption_entities")
            )
            ref = item["media"]
            value: Any = ref
            if isinstance(ref, str) and ref.startswith("attach://"):
                value = self.uploads[ref[len("attach://") :]]
            rec, url = self._file_param(value, item["type"], photo=item["type"] == "photo")
            prepared.append((item, caption, ents, rec, url))
        self._check_sending(chat, len(media))
        group_id = f"{int(time.time())}{next(self._album_seq):06d}"
        out = []
        for item, caption, ents, rec, url in prepared:
            kind = item["type"]
            if kind == "photo":
                content: dict[str, Any] = {"photo": self._photo_sizes(rec)}
            elif kind == "document":
                content = {"document": self._document(rec, url)}
            else:
                content = {kind: {**self._document(rec, url), **_media_defaults(kind, item)}}
            if caption:
                content["caption"] = caption
                if ents:
                    content["caption_entities"] = ents
            out.append(
                self._new_message(
                    chat,
                    "sendMediaGroup",
                    {**p, "media": [item]},
                    content,
                    text=caption,
                    raw_text=item.get("caption"),
                    entities=ents,
                    reply_to=copy.deepcopy(reply_to),
                    photo_bytes=rec.data if rec and kind == "photo" else None,
                    document_bytes=rec.data if rec and kind != "photo" else None,
                    filename=rec.filename if rec else None,
                    media_group_id=group_id,
                )
            )
        return out

    def send_generic(self, spec: MethodSpec, p: dict[str, Any]) -> Any:
        """Any other send*/copy/forward method: a plausible Message with the uploaded content."""
        caption, ents, extra = self._caption(p) if "caption" in spec.fields else (None, [], {})
        limits.check_reply_markup(p.get("reply_markup"))
        chat = self._chat(p)
        reply_to = self._check_reply(chat, p)
        if "from_chat_id" in p and isinstance(p.get("message_id"), int):
            source = self._chat(p, "from_chat_id")
            if p["message_id"] not in source.messages:
                verb = "copy" if spec.name.startswith("copy") else "forward"
                raise bad_request(f"message to {verb} not found")
        content: dict[str, Any] = dict(extra)
        doc_bytes = filename = None
        for key, kind in _MEDIA_KEYS.items():
            if key in p and key in spec.fields:
                rec, url = self._file_param(p[key], kind)
                content[kind] = {**self._document(rec, url), **_media_defaults(kind, p)}
                doc_bytes, filename = (rec.data, rec.filename) if rec else (None, None)
        content.update(_other_content(spec.name, p))
        self._check_sending(chat, 1)
        msg = self._new_message(
            chat,
            spec.name,
            p,
            content,
            text=caption or p.get("text"),
            raw_text=p.get("caption"),
            entities=ents,
            reply_to=reply_to,
            document_bytes=doc_bytes,
            filename=filename,
        )
        if "MessageId" in spec.returns:
            return {"message_id": msg["message_id"]}
        return msg

    # ---------------------------------------------------------------- edits

    def _editable(self, p: dict[str, Any]) -> tuple[ChatState, StoredMessage]:
        if "inline_message_id" in p:
            raise bad_request("MESSAGE_ID_INVALID")
        if "chat_id" not in p or "message_id" not in p:
            raise bad_request("message identifier is not specified")
        chat = self._chat(p)
        self._check_writable(chat)
        stored = chat.messages.get(p["message_id"])
        if stored is None:
            raise bad_request("message to edit not found")
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        return chat, stored

    def _apply_edit(
        self,
        chat: ChatState,
        stored: StoredMessage,
        method: str,
        p: dict[str, Any],
        changes: dict[str, Any],
        text: str | None,
        raw_text: str | None,
        entities: list[dict[str, Any]],
    ) -> dict[str, Any]:
        msg = stored.message
        markup = p.get("reply_markup")
        new_markup = markup if markup and "inline_keyboard" in markup else None
        same = all(msg.get(k) == v for k, v in changes.items())
        if same and msg.get("reply_markup") == new_markup:
            raise bad_request(_NOT_MODIFIED)
        for k, v in changes.items():
            if v is None:
                msg.pop(k, None)
            else:
                msg[k] = v
        if new_markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = int(time.time())
        old = stored.sent
        assert old is not None
        sent = SentMessage(
            chat_id=chat.id,
            message_id=old.message_id,
            text=text or "",
            parse_mode=(
                limits.normalize_parse_mode(p.get("parse_mode"))
                if raw_text is not None
                else old.parse_mode
            ),
            buttons=buttons_of(new_markup),
            reply_markup=new_markup,
            kind="edited",
            method=method,
            photo_bytes=old.photo_bytes,
            document_bytes=old.document_bytes,
            filename=old.filename,
            date=old.date,
            params=p,
            raw_text=raw_text,
            entities=entities,
            media_group_id=old.media_group_id,
        )
        stored.sent = sent
        self.sb._record_event(chat, sent)
        return copy.deepcopy(msg)

    def edit_text(self, p: dict[str, Any]) -> dict[str, Any]:
        """editMessageText: same limits as sendMessage; identical content is a 400."""
        if "text" not in p:
            raise bad_request("text is required")
        text, ents = limits.check_text(p["text"], p.get("parse_mode"), p.get("entities"))
        limits.check_reply_markup(p.get("reply_markup"))
        chat, stored = self._editable(p)
        if "text" not in stored.message:
            raise bad_request("there is no text in the message to edit")
        changes = {"text": text, "entities": ents or None}
        return self._apply_edit(chat, stored, "editMessageText", p, changes, text, p["text"], ents)

    def edit_caption(self, p: dict[str, Any]) -> dict[str, Any]:
        """editMessageCaption: only media messages have captions; 1024 max."""
        caption, ents, _ = self._caption(p)
        limits.check_reply_markup(p.get("reply_markup"))
        chat, stored = self._editable(p)
        if "text" in stored.message:
            raise bad_request("there is no caption in the message to edit")
        changes = {"caption": caption, "caption_entities": ents or None}
        return self._apply_edit(
            chat, stored, "editMessageCaption", p, changes, caption, p.get("caption"), ents
        )

    def edit_markup(self, p: dict[str, Any]) -> dict[str, Any]:
        """editMessageReplyMarkup: no markup removes the keyboard; unchanged is a 400."""
        limits.check_reply_markup(p.get("reply_markup"))
        chat, stored = self._editable(p)
        old = stored.sent
        assert old is not None
        return self._apply_edit(
            chat, stored, "editMessageReplyMarkup", p, {}, old.text, old.raw_text, old.entities
        )

    def pin_message(self, p: dict[str, Any]) -> bool:
        """pinChatMessage: in a group only an administrator bot may pin; the message must exist."""
        chat = self._chat(p)
        self._check_writable(chat)
        if chat.type != "private" and not chat.bot_admin:
            raise bad_request("not enough rights to manage pinned messages in the chat")
        if p["message_id"] not in chat.messages:
            raise bad_request("message to pin not found")
        chat.pinned = [m for m in chat.pinned if m != p["message_id"]] + [p["message_id"]]
        return True

    def delete_message(self, p: dict[str, Any]) -> bool:
        """deleteMessage: unknown ids are a 400, as in Telegram."""
        chat = self._chat(p)
        self._check_writable(chat)
        if chat.messages.pop(p["message_id"], None) is None:
            raise bad_request("message to delete not found")
        chat.changed.notify()
        return True

    def delete_messages(self, p: dict[str, Any]) -> bool:
        """deleteMessages: 1-100 ids; missing ones are skipped silently."""
        ids = p["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 identifiers")
        chat = self._chat(p)
        self._check_writable(chat)
        for mid in ids:
            chat.messages.pop(mid, None)
        return True

    # ---------------------------------------------------------------- callbacks and actions

    def answer_callback_query(self, p: dict[str, Any]) -> bool:
        """One answer per query, within 15 minutes; text up to 200 characters."""
        query = self.sb._queries.get(p["callback_query_id"])
        if query is None or query.answered or time.monotonic() - query.created > CALLBACK_QUERY_TTL:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(p.get("text") or "") > limits.MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        self.sb._callback_answers.append((query.user_id, dict(p)))
        return True

    def send_chat_action(self, p: dict[str, Any]) -> bool:
        """sendChatAction: a known action in a chat the bot can write to."""
        if p["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._check_writable(self._chat(p))
        return True

    # ---------------------------------------------------------------- webhook

    def delete_webhook(self, p: dict[str, Any]) -> bool:
        """deleteWebhook, optionally dropping the pending updates."""
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self.sb._updates.clear()
        return True

    def set_webhook(self, p: dict[str, Any]) -> bool:
        """setWebhook: only stored, so getUpdates answers 409 like Telegram would."""
        url = p["url"]
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if p.get("drop_pending_updates"):
            self.sb._updates.clear()
        return True

    def get_webhook_info(self, p: dict[str, Any]) -> dict[str, Any]:
        """getWebhookInfo for a polling bot."""
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": self.sb._updates.pending,
        }

    # ---------------------------------------------------------------- commands and texts

    @staticmethod
    def _scope_key(p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), p.get("language_code") or ""

    def set_my_commands(self, p: dict[str, Any]) -> bool:
        """setMyCommands: up to 100, names 1-32 of [a-z0-9_], descriptions 1-256."""
        commands = p["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for c in commands:
            name, desc = c["command"], c["description"]
            if not (
                1 <= len(name) <= 32
                and all(ch.islower() or ch.isdigit() or ch == "_" for ch in name)
                and name.isascii()
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise bad_request("command description must be 1-256 characters")
        self.commands[self._scope_key(p)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def get_my_commands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """getMyCommands for exactly this scope and language."""
        return copy.deepcopy(self.commands.get(self._scope_key(p), []))

    def delete_my_commands(self, p: dict[str, Any]) -> bool:
        """deleteMyCommands for this scope and language."""
        self.commands.pop(self._scope_key(p), None)
        return True

    def _text_setter(self, key: str, max_len: int) -> Handler:
        def setter(p: dict[str, Any]) -> bool:
            value = p.get(key) or ""
            if len(value) > max_len:
                raise bad_request(f"{key.replace('_', ' ')} is too long")
            self.texts[(key, p.get("language_code") or "")] = value
            return True

        return setter

    def _text_getter(self, key: str) -> Handler:
        def getter(p: dict[str, Any]) -> dict[str, str]:
            lang = p.get("language_code") or ""
            value = self.texts.get((key, lang), self.texts.get((key, ""), ""))
            if key == "name" and not value:
                value = self.sb._bot_user()["first_name"]
            return {key: value}

        return getter

    # ---------------------------------------------------------------- chats and files

    def get_chat(self, p: dict[str, Any]) -> dict[str, Any]:
        """getChat: a ChatFullInfo with the fields python-telegram-bot requires."""
        chat = self._chat(p)
        if chat.type == "channel" and chat.bot_status == "member":
            pass  # a subscriber reads a channel's info; only posting needs an administrator
        elif chat.type != "private":
            self._check_writable(chat)
        return {
            **chat.chat_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def get_chat_member(self, p: dict[str, Any]) -> dict[str, Any]:
        """getChatMember: the bot, the private chat's user, or a user seen in the group."""
        chat = self._chat(p)
        uid = p["user_id"]
        if uid == self.sb.bot_id:
            status = chat.bot_status if chat.type != "private" else "member"
            member: dict[str, Any] = {"user": self.sb._bot_user(), "status": status}
            if chat.type == "channel" and chat.bot_admin and status == "member":
                member = {"user": self.sb._bot_user(), **_CHANNEL_ADMIN}
        elif chat.type == "private" and chat.user and chat.user["id"] == uid:
            member = {"user": chat.user, "status": "member"}
        elif uid in chat.members:
            member = {"user": chat.members[uid], "status": "member"}
        else:
            raise bad_request("user not found")
        if member["status"] == "kicked":
            member["until_date"] = 0
        return member

    def get_file(self, p: dict[str, Any]) -> dict[str, Any]:
        """getFile: bots may download files up to 20 MB."""
        rec = self.sb.files.get(p["file_id"])
        if rec is None:
            raise bad_request("invalid file_id")
        if len(rec.data) > limits.MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return rec.file_dict()


#: The bot as a channel's administrator (ChatMemberAdministrator: every flag is required).
_CHANNEL_ADMIN: dict[str, Any] = {
    "status": "administrator",
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": False,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_post_messages": True,
    "can_edit_messages": True,
}


def _default_result(returns: tuple[str, ...]) -> Any:
    """A harmless answer for spec methods the sandbox does not model."""
    if not returns or "Boolean" in returns or "True" in returns:
        return True
    first = returns[0]
    if first.startswith("Array of"):
        return []
    return {"Integer": 0, "String": ""}.get(first, True)


def _media_defaults(kind: str, p: dict[str, Any]) -> dict[str, Any]:
    """Fields python-telegram-bot requires on each media type."""
    duration = p.get("duration") or 1
    if kind in ("video", "animation"):
        return {
            "width": p.get("width") or 640,
            "height": p.get("height") or 360,
            "duration": duration,
        }
    if kind in ("audio", "voice"):
        return {"duration": duration}
    if kind == "video_note":
        return {"length": p.get("length") or 240, "duration": duration}
    if kind == "sticker":
        return {
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    return {}


def _other_content(method: str, p: dict[str, Any]) -> dict[str, Any]:
    """Message content for non-file send methods python-telegram-bot will parse."""
    m = method.lower()
    if m == "sendlocation":
        return {"location": {"latitude": p["latitude"], "longitude": p["longitude"]}}
    if m == "sendvenue":
        return {
            "venue": {
                "location": {"latitude": p["latitude"], "longitude": p["longitude"]},
                "title": p["title"],
                "address": p["address"],
            }
        }
    if m == "sendcontact":
        return {"contact": {"phone_number": p["phone_number"], "first_name": p["first_name"]}}
    if m == "senddice":
        return {"dice": {"emoji": p.get("emoji") or "🎲", "value": 1}}
    if m == "sendpoll":
        options = [
            {
                "text": o.get("text", "") if isinstance(o, dict) else str(o),
                "voter_count": 0,
                "persistent_id": str(i),
            }
            for i, o in enumerate(p.get("options", []))
        ]
        return {
            "poll": {
                "id": str(int(time.time() * 1000)),
                "question": p["question"],
                "options": options,
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": p.get("is_anonymous", True),
                "type": p.get("type") or "regular",
                "allows_multiple_answers": bool(p.get("allows_multiple_answers")),
                "allows_revoting": True,
                "members_only": False,
            }
        }
    if m in ("copymessage", "forwardmessage"):
        src = p.get("from_chat_id")
        return {"text": f"(copy of message {p.get('message_id')} from {src})"}
    return {}
