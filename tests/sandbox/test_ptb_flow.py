"""End-to-end: a real python-telegram-bot Application talking to the sandbox."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import ChatMigrated, Forbidden
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox import Sandbox

from .conftest import running_app

KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Yes", callback_data="vote:yes"),
            InlineKeyboardButton("No", callback_data="vote:no"),
        ]
    ]
)


def _handlers(seen: list[str]) -> list[BaseHandler[Any, Any, Any]]:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(f"command:{context.args}")
        assert update.message is not None
        await update.message.reply_text(
            "<b>Welcome</b>, pick one", parse_mode="HTML", reply_markup=KEYBOARD
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        q = update.callback_query
        assert q is not None and q.data is not None
        seen.append(f"callback:{q.data}")
        await q.answer("Noted", show_alert=True)
        await q.edit_message_text(f"You chose {q.data.split(':')[1]}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        seen.append(f"text:{update.message.text}")
        await update.message.reply_text(update.message.text)

    async def other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        kind = "photo" if update.message.photo else "sticker" if update.message.sticker else "voice"
        seen.append(kind)
        if update.message.photo:
            f = await update.message.photo[-1].get_file()
            data = await f.download_as_bytearray()
            is_png = bytes(data[:4]) == b"\x89PNG"
            await update.message.reply_text(f"got {len(data)} bytes, png={is_png}")

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        cm = update.my_chat_member
        assert cm is not None
        seen.append(f"member:{cm.old_chat_member.status}->{cm.new_chat_member.status}")

    return [
        CommandHandler("start", start),
        CallbackQueryHandler(pressed),
        MessageHandler(filters.TEXT & ~filters.COMMAND, echo),
        MessageHandler(filters.PHOTO | filters.Sticker.ALL | filters.VOICE, other),
        ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER),
    ]


async def test_command_button_edit_and_answer(sb: Sandbox) -> None:
    seen: list[str] = []
    ann = sb.user(1001, "Ann", username="ann")
    async with running_app(sb, _handlers(seen)):
        await ann.send("/start hello")
        first = await ann.next_message()
        assert first.kind == "sent" and first.method == "sendMessage"
        assert first.text == "Welcome, pick one"  # visible text, tags parsed away
        assert first.raw_text == "<b>Welcome</b>, pick one" and first.parse_mode == "HTML"
        assert first.buttons == [[("Yes", "vote:yes"), ("No", "vote:no")]]

        query = await ann.press("No")
        assert query["data"] == "vote:no" and query["message"]["message_id"] == first.message_id
        edited = await ann.next_message()
        assert edited.kind == "edited" and edited.message_id == first.message_id
        assert edited.text == "You chose no" and edited.buttons == []  # keyboard removed
        await sb.settle()

    assert seen == ["command:['hello']", "callback:vote:no"]
    assert ann.callback_answers == [
        {"callback_query_id": query["id"], "text": "Noted", "show_alert": True}
    ]
    assert [m.text for m in ann.inbox] == ["You chose no"]
    assert sb.calls_to("getMe")[0].ok
    assert [c.method for c in sb.calls_to(chat_id=ann.chat_id)] == [
        "sendMessage",
        "editMessageText",
    ]
    assert sb.pending_updates == 0
    assert sb.stats["methods"]["sendMessage"] == 1


async def test_command_with_botname_text_and_media(sb: Sandbox) -> None:
    seen: list[str] = []
    bob = sb.user(1002, "Bob")
    async with running_app(sb, _handlers(seen)):
        await bob.send(f"/start@{sb.bot_username}")
        await bob.send("123")  # stays a string end to end
        await bob.send_photo()
        await bob.send_sticker()
        await bob.send_voice()
        await sb.settle()
    assert seen == ["command:[]", "text:123", "photo", "sticker", "voice"]
    texts = [m.text for m in bob.drain()]
    assert texts[1] == "123"
    assert texts[2].startswith("got ") and texts[2].endswith("png=True")
    assert sb.calls_to("getFile")[0].ok
    assert bob.drain() == []  # consumed


async def test_block_unblock_and_group_membership(sb: Sandbox) -> None:
    seen: list[str] = []
    ann = sb.user(1003, "Ann")
    grp = sb.group(-1001234567890, "Secretariat", bot_member=False)
    async with running_app(sb, _handlers(seen)) as app:
        ann.block()
        assert ann.blocked
        await grp.add_bot(by=ann)
        await grp.send(ann, "hello group")
        await sb.settle()
        echo = await grp.next_message()
        assert echo.chat_id == grp.id and echo.text == "hello group"
        await grp.remove_bot(by=ann)
        ann.unblock()
        await sb.settle()
        with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
            await app.bot.send_message(grp.id, "still there?")
    assert seen == [
        "member:member->kicked",
        "member:left->member",
        "text:hello group",
        "member:member->kicked",
        "member:kicked->member",
    ]


async def test_a_group_upgraded_to_a_supergroup_moves_to_its_new_id(sb: Sandbox) -> None:
    """Both service messages arrive, and the old id answers 400 with the new one."""
    seen: list[tuple[int, int | None, int | None]] = []

    async def migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        m = update.effective_message
        assert m is not None
        seen.append((m.chat.id, m.migrate_to_chat_id, m.migrate_from_chat_id))

    ann = sb.user(1005, "Ann")
    grp = sb.group(-4005, "Secretariat", type="group")
    async with running_app(sb, [MessageHandler(filters.StatusUpdate.MIGRATE, migrated)]) as app:
        sup = await grp.upgrade(-1004005, by=ann)
        await sb.settle()
        with pytest.raises(ChatMigrated) as err:
            await app.bot.send_message(grp.id, "still here?")
        assert err.value.new_chat_id == sup.id
        await app.bot.send_message(sup.id, "moved")
    assert seen == [(-4005, -1004005, None), (-1004005, None, -4005)]
    assert sup.type == "supergroup" and [m.text for m in sup.inbox] == ["moved"]


async def test_settle_waits_for_slow_handler_and_times_out_without_bot(sb: Sandbox) -> None:
    done: list[float] = []

    async def slow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await asyncio.sleep(0.02)
        assert update.message is not None
        await update.message.reply_text("slow reply")
        done.append(time.monotonic())

    ann = sb.user(1004)
    async with running_app(sb, [MessageHandler(filters.TEXT, slow)]):
        for i in range(5):
            await ann.send(f"m{i}")
        await sb.settle(timeout=5)
        assert len(done) == 5 and len(ann.inbox) == 5
        assert sb.pending_updates == 0

    await ann.send("nobody polls now")
    with pytest.raises(TimeoutError, match="1 updates pending"):
        await sb.settle(timeout=0.2)


async def test_rtt_adds_latency_to_every_call(sb: Sandbox) -> None:
    ann = sb.user(1005)
    async with running_app(sb, []) as app:
        t0 = time.perf_counter()
        await app.bot.send_message(ann.chat_id, "fast")
        fast = time.perf_counter() - t0
        sb.rtt = 0.15
        t0 = time.perf_counter()
        await app.bot.send_message(ann.chat_id, "slow")
        slow = time.perf_counter() - t0
        sb.rtt = 0.0
    assert fast < 0.1
    assert 0.15 <= slow < 0.6


async def test_next_message_timeout_lists_inbox(sb: Sandbox) -> None:
    ann = sb.user(1006)
    with pytest.raises(TimeoutError, match="no new message in chat 1006"):
        await ann.next_message(timeout=0.05)


async def test_no_token_in_server_logs(sb: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ann = sb.user(1007)
    seen: list[str] = []
    async with running_app(sb, _handlers(seen)):
        await ann.send("/start")
        await ann.next_message()
        await sb.settle()
    # The server's own loggers at any level, everyone at INFO and above (PTB itself logs its
    # base URL at DEBUG, which is the bot's concern, not the server's).
    relevant = [
        r
        for r in caplog.records
        if r.name.startswith(("sandbox", "aiohttp")) or r.levelno >= logging.INFO
    ]
    assert seen and relevant
    assert not [r for r in relevant if sb.token in r.getMessage()]
