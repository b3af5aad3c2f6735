"""The main bot's replies draw from the budget the outbox shares (``bot.outbox.pacer``).

PTB calls :meth:`ReplyLimiter.process_request` for every request of the Application's bot.
A message-sending request waits only for the global window (never behind queued bulk
sends: while it waits, the outbox yields, see the pacer); edits,
callback answers and the rest do not count against Telegram's message limit and pass
straight through. A 429 a reply draws pauses the outbox, then reaches the handler as
before (no retry here: the handler waits it out for its chat, or hands the screen to the
outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.outbox.pacer import Pacer, counts_against_limit

# A reply waits at most this long for a slot, then goes anyway: a person is waiting, and a
# rare 429 (which pauses everyone) is better than a reply that never comes.
MAX_REPLY_WAIT = 5.0
POLL = 0.01


class ReplyLimiter(BaseRateLimiter[None]):
    """Paces the main bot's message sends on the shared :class:`Pacer`, ahead of the outbox."""

    __slots__ = ("_changed", "_pacer")

    def __init__(self, pacer: Pacer) -> None:
        self._pacer = pacer
        # set by the pacer when a slot may have freed (an answer came): a waiting reply
        # looks again at once instead of at its next poll
        self._changed = asyncio.Event()
        pacer.listen(self._changed.set)

    async def initialize(self) -> None:
        """Nothing to set up: the pacer is plain state."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | JSONDict | list[JSONDict]:
        chat_id = data.get("chat_id")
        if not counts_against_limit(endpoint) or not isinstance(chat_id, int):
            return await callback(*args, **kwargs)
        pacer = self._pacer
        pacer.replies_waiting += 1
        try:
            give_up = pacer.monotonic() + MAX_REPLY_WAIT
            while (now := pacer.monotonic()) < give_up:
                wait = pacer.wait(chat_id, now, reply=True)
                if wait <= 0:
                    break
                # a slot in flight frees at its answer (the pacer then wakes us); a finished
                # one at its known end; POLL is the fallback
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(wait, POLL, give_up - now))
            slot = pacer.take(chat_id, pacer.monotonic(), reply=True)
        finally:
            pacer.replies_waiting -= 1
            pacer.notify()  # the outbox, which yielded while this reply waited, may go on
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            pacer.pause(pacer.monotonic(), _seconds(exc))
            raise
        finally:
            pacer.finish(slot, pacer.monotonic())


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
