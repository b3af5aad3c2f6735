"""Process updates concurrently while keeping each chat's updates in order.

With a real Telegram round trip (~50 ms) PTB's default one-at-a-time processing caps near
1/RTT replies per second for everyone together. Here up to ``max_concurrent_updates`` updates
run at once, but two updates of one chat never overlap: the second waits for the first, so
an NFP's answers are applied in the order they were typed.

Each update is also marked as the one being processed (:func:`storage.db.processing_update`),
so its first write transaction records its id with its effect: an update Telegram delivers
again is recognised (:class:`AlreadyProcessed`) instead of applied twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from storage.db import AlreadyProcessed, done_processing, processing_update

__all__ = ["AlreadyProcessed", "PerChatUpdateProcessor"]


def _chat_key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Bounded concurrency across chats, strict order within one chat."""

    def __init__(self, max_concurrent_updates: int = 32) -> None:
        super().__init__(max_concurrent_updates)
        self._tails: dict[int, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's previous update, then run this one.

        PTB starts one task per update in arrival order and its semaphore admits them in that
        order, so registering the chain link here, before the first ``await``, fixes the
        per-chat order.
        """
        token = processing_update(update.update_id) if isinstance(update, Update) else None
        try:
            await self._in_chat_order(update, coroutine)
        finally:
            if token is not None:
                done_processing(token)

    async def _in_chat_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await coroutine
            return
        previous = self._tails.get(key)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = done
        try:
            if previous is not None:
                await asyncio.shield(previous)
            await coroutine
        finally:
            done.set_result(None)
            if self._tails.get(key) is done:
                del self._tails[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
