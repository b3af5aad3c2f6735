"""A real ``nfpbot run`` killed (SIGKILL) after Telegram confirmed an update it never processed.

PTB confirms a fetched batch with its very next getUpdates, before processing it. Here the
answer waits behind the same chat's previous update (whose reply is slow) when the process
is killed: Telegram has forgotten it, so only what the bot kept can bring it back.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot.config import load_config
from bot.core.clock import SystemClock
from bot.people import roles as people
from bot.wiring.app import open_services
from sandbox import Sandbox, SentMessage, SimUser
from storage import reports as store
from storage.db import Database
from tests.support import next_sent, until_polling
from tests.test_cli import ROOT, start_bot

NFP = 4343


async def _seed(db_path: Path) -> None:
    config = load_config(ROOT / "config.toml", {"NFPBOT_DB": str(db_path)})
    svc = await open_services(config, SystemClock())
    try:
        await people.add_admin(svc, 9001, by=None, source="cli")
        invite = await people.create_invite(svc, 9001, "KGZ")
        await people.redeem_invite(svc, people.UserInfo(NFP, "Aibek"), invite.code)
        await people.set_language(svc, NFP, "en")
    finally:
        await svc.db.close()


async def _question(user: SimUser) -> SentMessage:
    """The next questionnaire screen (the prompt and reminders of the real week aside)."""
    while True:
        message = await next_sent(user, timeout=20)
        if "Question" in (message.text or ""):
            return message


async def _started(tmp_path: Path, sb: Sandbox, user: SimUser) -> asyncio.subprocess.Process:
    """A real ``nfpbot run`` that polls, with the NFP on question 1 of this week's report."""
    proc = await start_bot(tmp_path, sb, sb.token)
    await until_polling(sb)
    await user.send("/report")
    assert "Question 1 of 9" in (await _question(user)).text
    await sb.settle()
    return proc


async def _stop(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    proc.send_signal(sig)
    await asyncio.wait_for(proc.communicate(), 30)


async def _stored_and_confirmed(db_path: Path, sb: Sandbox, key: str | None = None) -> int:
    """Answers stored (to ``key``, or any), once some are and Telegram has no update left
    unconfirmed (10 s at most); -1 if Telegram still had some then."""
    db = await Database.open(db_path, migrate=False)
    try:
        for _ in range(200):
            stored = int(
                await db.fetchval(
                    "SELECT count(*) FROM answers WHERE ? IS NULL OR key = ?", (key, key)
                )
            )
            if stored and sb.pending_updates == 0:
                return stored
            await asyncio.sleep(0.05)
    finally:
        await db.close()
    return stored if sb.pending_updates == 0 else -1


async def _stored_answers(db_path: Path) -> dict[str, object]:
    db = await Database.open(db_path)
    try:
        [row] = await db.fetchall("SELECT id FROM reports WHERE iso3 = 'KGZ'")
        return await store.answers(db, row["id"])
    finally:
        await db.close()


async def test_an_answer_confirmed_then_lost_in_a_kill_is_processed_at_the_next_start(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "cli.sqlite3"
    await _seed(db_path)
    async with Sandbox() as sb:
        user = sb.user(NFP, "Aibek")
        proc = await _started(tmp_path, sb, user)
        try:
            sb.inject("sendMessage", delay=30, chat_id=NFP)  # the next reply hangs
            await user.send("/help")
            await next_sent(user)  # sent, but the bot waits for Telegram's answer
            await user.send("1111")  # queued behind /help in this chat
            for _ in range(200):  # until Telegram forgot it: confirmed by the next poll
                if sb.pending_updates == 0:
                    break
                await asyncio.sleep(0.05)
            assert sb.pending_updates == 0
        finally:
            await _stop(proc, signal.SIGKILL)
        user.drain()
        sb.faults.clear()
        proc = await start_bot(tmp_path, sb, sb.token)
        try:
            assert "Question 2 of 9" in (await _question(user)).text
        finally:
            await _stop(proc, signal.SIGTERM)
    assert await _stored_answers(db_path) == {"new_cases": 1111}  # once, on its own question


async def test_a_kill_after_the_answer_was_stored_but_before_its_reply_still_shows_the_next(
    tmp_path: Path,
) -> None:
    """The answer is committed, the reply to it is in flight, the process dies.

    Telegram has been told the update was received (the next poll confirmed it), so it
    never comes again: what the bot kept must still bring the person their next question.
    """
    db_path = tmp_path / "cli.sqlite3"
    await _seed(db_path)
    async with Sandbox() as sb:
        user = sb.user(NFP, "Aibek")
        proc = await _started(tmp_path, sb, user)
        try:
            # the reply to the answer hangs and would never reach the person
            sb.inject("sendMessage", delay=30, drop=True, chat_id=NFP)
            await user.send("2222")
            # until the answer is stored and Telegram forgot it
            assert await _stored_and_confirmed(db_path, sb) == 1
        finally:
            await _stop(proc, signal.SIGKILL)
        user.drain()
        sb.faults.clear()
        proc = await start_bot(tmp_path, sb, sb.token)
        try:
            assert "Question 2 of 9" in (await _question(user)).text  # without a nudge
        finally:
            await _stop(proc, signal.SIGTERM)
    assert await _stored_answers(db_path) == {"new_cases": 2222}  # once, on its own question


async def test_a_screen_in_flight_at_a_kill_is_not_sent_again_once_the_kept_press_moves_on(
    tmp_path: Path,
) -> None:
    """After a kill, what people said is processed before the outbox sends what it held.

    The outbox had sent question 5 (a choice) and was waiting for Telegram's answer when the
    process died, so that row is still "in flight"; the NFP had already pressed an option on
    it, and the press waits in the inbox. Sent first at the next start, the row would show
    question 5 a second time, whose buttons the replayed press then makes stale: a person
    who answers that copy is told "nothing was changed". Processed first, the press moves
    the NFP on and the outbox drops the screen as out of date.
    """
    db_path = tmp_path / "cli.sqlite3"
    await _seed(db_path)
    async with Sandbox() as sb:
        user = sb.user(NFP, "Aibek")
        proc = await _started(tmp_path, sb, user)
        try:
            # the week's prompt and reminders (real dates) go first: the faults below are the
            # questionnaire's
            await sb.settle(timeout=15, quiet=1.5)
            for n, value in enumerate(["1000", "20", "300"], start=2):
                await user.send(value)
                assert f"Question {n} of 9" in (await _question(user)).text
            # the reply with question 5 is refused, so the outbox delivers it; Telegram's
            # answer to the outbox then never comes back before the kill
            sb.inject("sendMessage", status=502, chat_id=NFP)
            sb.inject("sendMessage", delay=60, chat_id=NFP)
            await user.send("40")
            question5 = await _question(user)
            assert "Question 5 of 9" in question5.text
            # the chat is busy with a reply that hangs, so the press waits, kept, in the inbox
            sb.inject("sendMessage", delay=60, chat_id=NFP)
            await user.send("/help")
            await next_sent(user)
            await user.press("Targeted measures", message_id=question5.message_id)
            for _ in range(200):  # until Telegram forgot the press: confirmed by the next poll
                if sb.pending_updates == 0:
                    break
                await asyncio.sleep(0.05)
            assert sb.pending_updates == 0
        finally:
            await _stop(proc, signal.SIGKILL)
        sb.faults.clear()
        proc = await start_bot(tmp_path, sb, sb.token)
        try:
            assert "Question 6 of 9" in (await _question(user)).text
            await sb.settle(timeout=10, quiet=1.5)  # the outbox had its chance to send
        finally:
            await _stop(proc, signal.SIGTERM)
    copies = [m for m in user.events if m.kind == "sent" and "Question 5 of" in (m.text or "")]
    assert len(copies) == 1, [m.message_id for m in copies]
    assert (await _stored_answers(db_path))["measures"] == "targeted"


async def test_a_double_tap_kept_behind_an_applied_press_still_brings_the_next_question(
    tmp_path: Path,
) -> None:
    """The press was applied, its reply died in the kill, and a second tap on the same button
    waits unprocessed in the inbox. At the next start the applied press is not re-shown
    (something of the chat follows it), and the tap is stale: it used to get only its
    "no longer valid" toast, so the person never saw the next question. A stale press
    processed after a restart shows the current screen with that notice instead.
    """
    db_path = tmp_path / "cli.sqlite3"
    await _seed(db_path)
    async with Sandbox() as sb:
        user = sb.user(NFP, "Aibek")
        proc = await _started(tmp_path, sb, user)
        try:
            await sb.settle(timeout=15, quiet=1.5)  # the week's prompt and reminders first
            for n, value in enumerate(["1000", "20", "300", "40"], start=2):
                await user.send(value)
                question = await _question(user)
                assert f"Question {n} of 9" in question.text
            # the reply with question 6 never arrives, and question 5 keeps its buttons
            sb.inject("sendMessage", delay=30, drop=True, chat_id=NFP)
            sb.inject("editMessageReplyMarkup", status=500, chat_id=NFP)
            await user.press("Targeted measures", message_id=question.message_id)
            await user.press("Targeted measures", message_id=question.message_id)
            # the first press stored, both presses confirmed to Telegram
            assert await _stored_and_confirmed(db_path, sb, "measures") == 1
        finally:
            await _stop(proc, signal.SIGKILL)
        user.drain()
        sb.faults.clear()
        proc = await start_bot(tmp_path, sb, sb.token)
        try:
            assert "Question 6 of 9" in (await _question(user)).text  # without a nudge
        finally:
            await _stop(proc, signal.SIGTERM)
    assert (await _stored_answers(db_path))["measures"] == "targeted"
