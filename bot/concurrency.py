"""Process updates concurrently while keeping each chat's updates in order.

With a real Telegram round trip (~50 ms) PTB's default one-at-a-time processing caps near
1/RTT replies per second for everyone together. Here up to ``max_concurrent_updates`` updates
run at once, but two updates of one chat never overlap: the second waits for the first, so
an NFP's answers are applied in the order they were typed.

Each update is also marked as the one being processed (:func:`storage.db.processing_update`),
so its first write transaction records its id with its effect: an update Telegram delivers
again is recognised (:class:`AlreadyProcessed`) instead of applied twice.

And an update is confirmed to Telegram only once it was processed (:class:`ConfirmedPolling`):
PTB's Updater confirms a batch with its very next getUpdates, before any of it is processed,
so a crash then would lose the update (an answer neither stored nor replied to). Delivered
at least once, applied at most once: exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from telegram import Bot, Update
from telegram.ext import BaseUpdateProcessor

from storage.db import AlreadyProcessed, done_processing, processing_update

__all__ = ["AlreadyProcessed", "ConfirmedPolling", "PerChatUpdateProcessor", "UpdateLedger"]

HELD_POLL = 0.2  # s between short polls while an unconfirmable update is still in process


class UpdateLedger:
    """Update ids fetched from Telegram and not yet processed to the end.

    ``done`` keeps finished ids until a getUpdates offset past them has been answered:
    until then Telegram may deliver them again (the offset cannot confirm past an open
    update, and a poll sent before one finished may come back after), and they must not
    run again.
    """

    def __init__(self) -> None:
        self._open: set[int] = set()
        self._done: set[int] = set()
        self._highest = 0
        self.generation = 0  # grows with every finished update
        self._progress: asyncio.Event | None = None

    def fetched(self, update_ids: Iterable[int]) -> None:
        ids = set(update_ids)
        self._open.update(ids)
        self._highest = max(ids, default=self._highest)

    def confirm_offset(self) -> int | None:
        """The getUpdates offset that confirms exactly what was processed (None: nothing)."""
        if self._open:
            return min(self._open)
        return self._highest + 1 if self._highest else None

    def known(self, update_id: int) -> bool:
        return update_id in self._open or update_id in self._done

    def finished(self, update_id: int) -> None:
        self._open.discard(update_id)
        self._done.add(update_id)
        self.generation += 1
        if self._progress is not None:
            self._progress.set()

    def confirmed(self, offset: int | None) -> None:
        """A getUpdates with ``offset`` was answered: Telegram forgot every id below it."""
        if offset:
            self._done = {u for u in self._done if u >= offset}

    def lowest_open(self) -> int | None:
        return min(self._open) if self._open else None

    async def wait_progress(self, since: int, timeout: float) -> None:  # noqa: ASYNC109
        """Return once an update finished after ``generation`` was ``since``, or on timeout."""
        if self._progress is None:
            self._progress = asyncio.Event()
        while self.generation == since:
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), timeout)
            except TimeoutError:
                return


class ConfirmedPolling:
    """The Bot as PTB's Updater sees it: getUpdates never confirms an unprocessed update.

    Everything but ``get_updates`` goes to the real bot. The offset PTB asks for is lowered
    to the lowest update still in process; what Telegram then returns again is filtered
    out, and while only such updates come back, short polls wait for progress (at most
    :data:`HELD_POLL`), so new updates from other chats are still fetched meanwhile.
    """

    def __init__(self, bot: Bot, ledger: UpdateLedger) -> None:
        self._bot = bot
        self._ledger = ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bot, name)

    async def get_updates(
        self,
        offset: int | None = None,
        *args: Any,
        timeout: Any = None,  # noqa: ASYNC109 (Telegram's long-poll parameter, passed on)
        **kwargs: Any,
    ) -> tuple[Update, ...]:
        while True:
            lowest = self._ledger.lowest_open()
            held = lowest is not None and bool(offset) and lowest < offset  # type: ignore[operator]
            sent = lowest if held else offset
            generation = self._ledger.generation
            updates = await self._bot.get_updates(
                sent, *args, timeout=0 if held else timeout, **kwargs
            )
            self._ledger.confirmed(sent)
            fresh = tuple(u for u in updates if not self._ledger.known(u.update_id))
            self._ledger.fetched(u.update_id for u in fresh)
            if fresh or not held or not timeout:
                return fresh
            await self._ledger.wait_progress(generation, HELD_POLL)

    async def confirm_processed(self) -> None:
        """At a clean stop, after the last update was processed: confirm what was processed.

        PTB's own last confirmation comes before the updates in process have finished; an
        update left unprocessed is not confirmed and comes again at the next start.
        """
        offset = self._ledger.confirm_offset()
        if offset is not None:
            await self._bot.get_updates(offset, limit=1, timeout=0)


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
        self.ledger = UpdateLedger()

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
            if isinstance(update, Update):
                self.ledger.finished(update.update_id)

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
