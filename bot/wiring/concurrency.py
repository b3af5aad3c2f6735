"""Process updates concurrently while keeping each chat's updates in order.

With a real Telegram round trip (~50 ms) PTB's default one-at-a-time processing caps near
1/RTT replies per second for everyone together. Here up to ``max_concurrent_updates`` updates
run at once, but two updates of one chat never overlap: the second waits for the first, so
an NFP's answers are applied in the order they were typed.

Each update is also marked as the one being processed (:func:`storage.db.processing_update`),
so its first write transaction records its id with its effect: an update Telegram delivers
again is recognised (:class:`AlreadyProcessed`) instead of applied twice.

And what is fetched is kept before Telegram can forget it (:class:`DurablePolling`): PTB's
Updater confirms a batch with its very next getUpdates, before any of it is processed, so a
crash then would lose the update (an answer neither stored nor replied to). Kept until
processed, applied at most once: exactly once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telegram import Bot, Update
from telegram.ext import BaseUpdateProcessor

from bot.wiring.request import UpdatesRequest
from storage import updates as updates_store
from storage.db import AlreadyProcessed, done_processing, processing_update, write_failure

if TYPE_CHECKING:
    from bot.core.services import Services

# AlreadyProcessed and write_failure are storage's, re-exported for the error handler: what a
# failed update means is decided here, and handlers/ do not import storage (tests/test_layers)
__all__ = ["AlreadyProcessed", "DurablePolling", "PerChatUpdateProcessor", "write_failure"]

log = logging.getLogger(__name__)

# How long keeping a fetched batch may wait for another process's write lock before the
# batch is processed unkept: well under a reply's patience, above any healthy write.
INBOX_BUSY_TIMEOUT_MS = 250


class DurablePolling:
    """The Bot as PTB's Updater sees it: fetched updates are kept before they are confirmed.

    PTB confirms a batch with its very next getUpdates, before processing it; a crash then
    would lose an answer that was neither stored nor replied to. Here each fetched batch is
    written to the inbox (:mod:`storage.updates`) before it is handed to PTB, so it is on
    disk before Telegram can forget it, and :meth:`recover` processes what a crash left
    there at the next start. Everything but ``get_updates`` goes to the real bot.
    """

    def __init__(
        self,
        bot: Bot,
        processor: PerChatUpdateProcessor,
        services: Callable[[], Services | None],
        fetched: UpdatesRequest | None = None,
    ) -> None:
        self._bot = bot
        self._processor = processor
        self._services = services
        self._recovered: set[int] = set()
        self._replaying: set[int] = set()  # queued by recover() and not processed yet
        self._replayed = asyncio.Event()
        self._replayed.set()
        processor.on_finished = self._finished_one
        # the getUpdates backend: each update's JSON as Telegram sent it (None: rebuilt)
        self._fetched = fetched

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bot, name)

    async def get_updates(
        self, offset: int | None = None, *args: Any, **kwargs: Any
    ) -> tuple[Update, ...]:
        while True:
            updates = await self._bot.get_updates(offset, *args, **kwargs)
            raw = self._fetched.take_fetched() if self._fetched is not None else {}
            fresh = tuple(u for u in updates if u.update_id not in self._recovered)
            if fresh or not updates:
                break
            # only updates recovered from the inbox came again: confirm them (they are kept
            # here) rather than hand PTB nothing and be sent them again at once
            offset = updates[-1].update_id + 1
        svc = self._services()
        if svc is not None and (fresh or self._processor.has_finished):
            # raising here keeps PTB's offset: the batch is fetched again, not confirmed
            finished = self._processor.take_finished()
            try:
                async with svc.db.transaction(
                    claim=False, busy_timeout_ms=INBOX_BUSY_TIMEOUT_MS
                ) as tx:
                    await updates_store.keep(
                        tx,
                        svc.clock.now(),
                        [(u.update_id, raw.get(u.update_id) or _as_json(u)) for u in fresh],
                        finished,
                    )
            except BaseException as err:
                self._processor.give_back(finished)
                failure = write_failure(err)
                if failure is None:
                    raise
                # another process holds the database (or it turned read-only): waiting here
                # would hold up every reply, /help included; processed as fetched instead,
                # not kept (their effects cannot be stored either, and each handler says so)
                log.warning(
                    "database %s: %d fetched update(s) processed without being kept",
                    failure,
                    len(fresh),
                )
        return fresh

    def lean(self, update: dict[str, Any]) -> dict[str, Any]:
        """A kept update as PTB is handed a fetched one (``UpdatesRequest.lean``)."""
        return self._fetched.lean(update) if self._fetched is not None else update

    async def recover(self, queue: asyncio.Queue[object]) -> int:
        """Queue the updates a crash left in the inbox (before polling starts)."""
        svc = self._services()
        if svc is None:
            return 0
        kept = [
            (update_id, Update.de_json(self.lean(json.loads(payload)), self._bot), applied)
            for update_id, payload, applied in await updates_store.unfinished(svc.db)
        ]
        # an applied update is replayed only to re-show its chat's screen: once per chat, and
        # only when nothing unapplied of that chat follows (that one brings the fresh screen;
        # re-showing the older one first would offer buttons already out of date)
        last_of_chat = {_chat_key(u): i for i, u, _ in kept}
        replay = [u for i, u, applied in kept if not applied or last_of_chat[_chat_key(u)] == i]
        for update_id, _, _ in kept:
            self._recovered.add(update_id)  # Telegram may deliver it too: processed once
        self._replaying = {u.update_id for u in replay}
        if self._replaying:
            self._replayed.clear()
        for update in replay:
            await queue.put(update)
        return len(replay)

    def is_recovered(self, update_id: int) -> bool:
        """Whether the update was kept from before the last stop (queued by :meth:`recover`)."""
        return update_id in self._recovered

    def _finished_one(self, update_id: int) -> None:
        self._replaying.discard(update_id)
        if not self._replaying:
            self._replayed.set()

    async def replayed(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until what :meth:`recover` queued has been processed; False after ``timeout``.

        The outbox waits for this at a start after a crash: a screen it still holds (the one
        in flight at the crash) may already be answered by an update waiting in the inbox,
        and sent first it would show a question the person has answered, whose buttons the
        replay then turns stale. Processed first, the answer makes that screen out of date,
        and the outbox drops it (its ``screen_current`` condition).
        """
        try:
            await asyncio.wait_for(self._replayed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def forget_finished(self) -> None:
        """At a clean stop: the processed updates leave the inbox."""
        svc = self._services()
        finished = self._processor.take_finished()
        if svc is not None and finished:
            async with svc.db.transaction(claim=False) as tx:
                await updates_store.forget(tx, finished)


def _as_json(update: Update) -> str:
    """An update's JSON rebuilt from PTB's object (when the raw answer is not at hand)."""
    return json.dumps(update.to_dict())


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
        self._finished: set[int] = set()
        self.on_finished: Callable[[int], None] | None = None

    @property
    def has_finished(self) -> bool:
        return bool(self._finished)

    def take_finished(self) -> set[int]:
        """Ids of the updates processed to the end since the last call."""
        finished, self._finished = self._finished, set()
        return finished

    def give_back(self, finished: set[int]) -> None:
        self._finished |= finished

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
                self._finished.add(update.update_id)
                if self.on_finished is not None:
                    self.on_finished(update.update_id)

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
