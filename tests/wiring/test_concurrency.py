"""Concurrent update processing keeps each chat's updates in order."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.wiring.concurrency import PerChatUpdateProcessor

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private")
    return Update(update_id, message=Message(update_id, NOW, chat, text="x"))


async def test_chats_run_concurrently_but_each_chat_in_order() -> None:
    processor = PerChatUpdateProcessor(8)
    seen: dict[int, list[int]] = {1: [], 2: [], 3: []}
    running = 0
    peak = 0

    async def handle(u: Update) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(random.uniform(0, 0.01))
        assert u.effective_chat is not None
        seen[u.effective_chat.id].append(u.update_id)
        running -= 1

    updates = [update(i, 1 + i % 3) for i in range(60)]
    await asyncio.gather(*(processor.process_update(u, handle(u)) for u in updates))
    for chat_id, ids in seen.items():
        assert ids == sorted(ids) and len(ids) == 20, chat_id
    assert 1 < peak <= 3  # at most one update per chat at a time, chats in parallel
