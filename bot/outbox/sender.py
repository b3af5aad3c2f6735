"""The one sender of proactive messages: drains the outbox table within Telegram's limits.

Domain code only writes outbox rows (in the transaction of their cause) and calls
:meth:`OutboxSender.wake`. This task sends to different chats concurrently (at most
``max_in_flight`` requests at once) and to one chat one message at a time: only a chat's
head is sent, and a chat with a send in flight is not looked at again until that send's
outcome is recorded. A row is marked ``sending`` and committed before its request, ``sent``
with the message id after it; a crash in between re-sends the rows that were in flight:
at most one per chat (and at most ``max_in_flight`` in all), and no other.

Duplicates are bounded to those rows, because Telegram has no idempotency key and a
request is never repeated on a guess:

- An outcome this process got is kept in memory until its row is recorded; if the database
  refuses (locked), only the recordings are retried, and nothing new is sent meanwhile, so
  the unrecorded rows are at most the ones that were in flight then.
- A request that went out and got no answer may have been carried out (the sandbox's slow
  answer does exactly that). The outbox bot waits generously (``ANSWER_TIMEOUT``, far above
  Telegram's usual answer time, so a slow answer still arrives and is recorded); if even
  that passes, the row is finished as ``sent`` without a message id and not sent again: a
  possible loss the log reports, rather than a possible duplicate.
- A 5xx, a 429, a refused or failed connection, a connect or pool timeout: Telegram did not
  do it (the sandbox's dropped connection closes before processing, as a server does on a
  stale keep-alive connection), so the row is retried with backoff.

Order: only a chat's head (its earliest active row) is sent; a head in backoff holds its
chat, so a reminder never overtakes the prompt before it. A row that fails for good runs
its ``on_failure`` instructions (``bot.outbox.delivery``) in the same transaction.

Pacing: a :class:`~bot.outbox.pacer.Pacer` holds Telegram's limits, a rolling 1-second
window of ``bot.messages_per_second`` messages shared with the replies the main bot sends
(which go first, see the pacer's module), 1 message/s per private chat
(``per_chat_interval``) and 20/min per group. A chat that is paced is skipped for the moment
instead of stalling everyone behind it; a 429's ``retry_after`` (the outbox's or a reply's)
pauses every outbox send (Telegram's flood control is per bot). The outbox bot has no PTB
rate limiter: PTB's ``AIORateLimiter`` lets a burst through and then paces on a schedule
of its own, which against Telegram's rolling window draws 429s.

Kinds: a row's payload is a typed message (``bot.outbox.messages``), sent with
sendMessage, sendPhoto, sendMediaGroup or sendDocument. Media go up as bytes the first
time; the ``file_id`` Telegram answers (a photo's largest size, the document's) is recorded
with the row's outcome, and later sends name it instead. Overlapping sends of the same new
bytes wait for the first upload, so a chart to a group and three admins goes up once; a
cached ``file_id`` Telegram refuses (another bot token) is forgotten and the row goes
again, uploading.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import math
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, PhotoSize
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.outbox import delivery, messages
from bot.outbox.delivery import Failure
from bot.outbox.messages import Album, Document, Media, Photo, Text
from bot.outbox.pacer import Pacer, Slot
from bot.wiring.request import AnswerTimedOut, ApiRequest
from storage import media as media_store
from storage import outbox as store
from storage import people
from storage.media import SendAs

if TYPE_CHECKING:
    from bot.core.services import Services
    from storage.db import Conn
    from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

K = TypeVar("K")
R = TypeVar("R")

POLL_INTERVAL = 1.0  # how often rows whose not_before has come are looked for without a wake()
MAX_ATTEMPTS = 8  # network/5xx failures before a row is given up as failed
MAX_BACKOFF = 300.0
# How long the outbox waits for Telegram's answer to a send. A send is never repeated after
# a read timeout (it may have been delivered), so the wait is long: only a connection that
# hangs this long can lose a message, while a slow answer is simply waited for. The sender
# stalls meanwhile, which is what Telegram being that slow means anyway.
ANSWER_TIMEOUT = 60.0
# Requests in flight at once, at most: with the rows claimed and not yet recorded, the
# bound on what a crash can send twice. The sender keeps as many as the configured rate
# needs over the round trip it measures (``limit × RTT``, doubled for the round trip's
# variation and the claim and record around each send), between these two.
MAX_IN_FLIGHT = 64
MIN_IN_FLIGHT = 16  # so that a few sends whose answers are slow do not hold up the rest
RTT_GUESS = 0.1  # seconds, until the pacer has measured a round trip
# While a reply waits for a slot the outbox looks again this often (it yields until then;
# the pacer also wakes it as soon as the reply has its slot).
YIELD_POLL = 0.02
# The chats' heads read ahead of need: a read brings about two seconds' worth of sends (at
# least ``batch``), and the next read comes when less than half a second's is left, or at
# once when the list is empty and something changed (a send finished, a row was queued).
READ_AHEAD_S = 2.0
READ_LOW_S = 0.5
MIN_READ_GAP = 0.01  # seconds between two reads while heads are still at hand


def backoff_seconds(attempts: int) -> float:
    """1 s, 2 s, 4 s … after the 1st, 2nd, 3rd … failed attempt, capped at 5 minutes."""
    return min(2.0 ** max(attempts - 1, 0), MAX_BACKOFF)


class _Urls(TypedDict, total=False):
    """The Bot API URLs given to :func:`make_outbox_bot` (PTB's defaults for the others)."""

    base_url: str
    base_file_url: str


def make_outbox_bot(
    token: str,
    base_url: str | None = None,
    base_file_url: str | None = None,
    *,
    answer_timeout: float = ANSWER_TIMEOUT,
    pool_size: int = MAX_IN_FLIGHT,
) -> ExtBot[Any]:
    """A Bot of its own for the outbox: a connection per send in flight, no PTB limiter.

    Pacing is the sender's (its :class:`Pacer`); a 429 reaches the sender, which pauses
    everything and keeps the row. ``answer_timeout`` is its read timeout (``ANSWER_TIMEOUT``).
    """
    urls: _Urls = {}
    if base_url:
        urls["base_url"] = base_url
    if base_file_url:
        urls["base_file_url"] = base_file_url
    return ExtBot(
        token,
        request=ApiRequest(
            pool_size, read_timeout=answer_timeout, media_read_timeout=max(answer_timeout, 20.0)
        ),
        **urls,
    )


class _Outcome(enum.Enum):
    SENT = "sent"
    PAUSED = "paused"  # 429: nothing new starts, everything waits
    DONE = "done"  # failed, blocked, rescheduled or already taken: go on with others


@dataclass(frozen=True)
class _Verdict:
    """What one request came to, held in memory until the row says so.

    ``action``: ``sent``, ``unconfirmed`` (no answer), ``release`` (429, not the row's
    fault), ``migrated``, ``refile`` (a cached file_id Telegram no longer knows: forget it,
    upload again), ``retry`` (backoff) or ``final`` (``failure`` says why).
    """

    outcome: _Outcome
    action: str
    error: str = ""
    message_id: int | None = None
    retry_at: datetime | None = None
    new_chat_id: int | None = None
    failure: Failure | None = None
    message_ids: tuple[int, ...] = ()  # an album's, first first
    file_ids: tuple[tuple[str, SendAs, str], ...] = ()  # (sha256, sent as, file_id) uploaded
    stale: tuple[tuple[str, SendAs], ...] = ()  # cached file_ids Telegram refused


@dataclass(frozen=True)
class _Sent:
    """What Telegram answered a send: the message id(s), and file_ids of what was uploaded."""

    message_ids: tuple[int, ...]
    file_ids: tuple[tuple[str, SendAs, str], ...] = ()


class _StaleFileId(Exception):
    """Telegram refused a file_id this bot cached (400): e.g. the bot's token changed, and
    file_ids belong to one bot. The row goes again with the bytes uploaded."""

    def __init__(self, refs: tuple[tuple[str, SendAs], ...], message: str) -> None:
        super().__init__(message)
        self.refs = refs


def _largest(sizes: tuple[PhotoSize, ...]) -> str:
    """The file_id of a photo's largest size (the one a resend should show)."""
    return max(sizes, key=lambda s: s.width * s.height).file_id


class _Input:
    """One media argument of a request: a cached file_id, or the bytes to upload.

    ``cacheable``: the file_id Telegram answers for an upload may be reused. Not so for a
    document sent under another name than the one its bytes were stored with: a file_id
    keeps the name it was uploaded under.
    """

    def __init__(
        self, media: Media, send_as: SendAs, value: str | bytes, filename: str, cacheable: bool
    ) -> None:
        self.media = media
        self.send_as: SendAs = send_as
        self.value = value
        self.filename = filename
        self.cacheable = cacheable

    @property
    def key(self) -> tuple[str, SendAs]:
        return (self.media.sha256, self.send_as)

    @property
    def uploaded(self) -> bool:
        return isinstance(self.value, bytes)

    def learnt(self, file_id: str) -> tuple[tuple[str, SendAs, str], ...]:
        if not (self.uploaded and self.cacheable):
            return ()
        return ((self.media.sha256, self.send_as, file_id),)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _retry_after(exc: RetryAfter) -> float:
    """Seconds to wait, whether PTB gives an int (deprecated) or a timedelta (PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return _seconds(exc.retry_after)


def _markup(rows: messages.Buttons) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


class _Batch(Generic[K, R]):
    """Writes asked for while one is on its way go together in the next (a group commit).

    :meth:`submit` queues a key and waits for its result; one task runs ``write`` over
    every key queued since the last write began. Sends that start or finish together are
    claimed or recorded in one transaction and one database round trip, and a single send
    waits for no one: with nothing on its way its write starts at once. A failed write
    fails every submit of its batch (each sender task handles it as before).
    """

    def __init__(self, write: Callable[[list[K]], Awaitable[list[R]]]) -> None:
        self._write = write
        self._queued: list[tuple[K, asyncio.Future[R]]] = []
        self.task: asyncio.Task[None] | None = None

    async def submit(self, key: K) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queued.append((key, future))
        if self.task is None:
            self.task = asyncio.create_task(self._drain(), name="outbox-batch")
        return await future

    async def _drain(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                try:
                    results = await self._write([key for key, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.task = None


class OutboxSender:
    """One background task that sends due outbox rows in order, paced, retrying safely."""

    def __init__(
        self,
        svc: Services,
        bot: Bot,
        *,
        per_chat_interval: float = 1.0,
        group_per_minute: int = 20,
        batch: int = 50,
        max_in_flight: int | None = None,
        pacer: Pacer | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``pacer`` is the budget shared with the main bot's replies (``bot.wiring.app``
        builds one per process); without one the sender keeps its own at Telegram's default
        30/s with ``per_chat_interval``, ``group_per_minute`` and ``monotonic``, the pacing
        clock (seconds): real time by default; a test passes a settable one to check pacing
        exactly, without sleeping and without load making it flaky. ``drain``'s timeout
        stays in real time either way. ``max_in_flight`` fixes the number of sends in
        flight at once; by default it follows the limit and the round trip measured
        (:attr:`max_in_flight`).
        """
        self._svc = svc
        self._pacer = pacer or Pacer(
            per_chat_interval=per_chat_interval,
            group_per_minute=group_per_minute,
            monotonic=monotonic,
        )
        self._monotonic = self._pacer.monotonic
        self._bot = bot
        self.batch = batch
        self._fixed_in_flight = max_in_flight
        self.poll_interval = POLL_INTERVAL
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # pacing state, in self._monotonic() seconds: real time (not svc.clock, which tests
        # move by days), or a test's settable pacing clock
        self._hold_until: float | None = None
        self._busy = False  # the last pass started something: look again at once
        # the chats with a send in flight, and its task: no other row of theirs starts
        self._inflight: dict[int, asyncio.Task[_Outcome]] = {}
        # outcomes Telegram gave that the database has not taken yet (locked): they are
        # recorded before anything new is sent, and their requests are never made again
        self._unrecorded: dict[int, tuple[OutboxItem, _Verdict]] = {}
        # file_ids learnt by this process, usable before their row is recorded, and a lock
        # per media being uploaded: sends of the same new bytes that overlap wait for the
        # first upload and then name its file_id (one entry per distinct media sent)
        self._file_ids: dict[tuple[str, SendAs], str] = {}
        self._uploading: dict[tuple[str, SendAs], asyncio.Lock] = {}
        # the chats' heads read ahead (queue order, no chat in flight among them), when they
        # were read, and whether anything changed since (a row queued, a send finished)
        self._ready: list[OutboxItem] = []
        self._read_at = -math.inf
        self._changed = True
        # claims and records of sends that start or finish together share a transaction
        self._claims: _Batch[OutboxItem, bool] = _Batch(self._claim_batch)
        self._records: _Batch[tuple[int, int, tuple[int, ...]], None] = _Batch(self._record_batch)
        # whether the last pass stopped at the global window (or behind a waiting reply):
        # only then does a change in the pacer (an answer came, a reply had its slot) wake
        # the loop. An idle sender woken by every reply ran a pass for nothing, two per reply.
        self._wants_slot = False
        self._pacer.listen(self._on_pacer)
        self.passes = 0  # passes of the loop so far (what an idle sender costs, for tests)

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    @property
    def max_in_flight(self) -> int:
        """Sends in flight at once (each from its claim to its record).

        Enough to keep the configured rate over the measured round trip:
        ``2 × limit × RTT`` (the variation of the round trip, and the claim and record
        around each request, take the second half), between ``MIN_IN_FLIGHT`` and
        ``MAX_IN_FLIGHT``: 30/s at 50 ms needs 3 (16 are kept, so that a few slow answers
        hold nobody up), 300/s about 35. A constant either caps a high limit (16 in
        flight at 50 ms held 300/s to 180/s) or leaves more rows ``sending`` than a low
        one needs, each a possible duplicate at a crash.
        """
        if self._fixed_in_flight is not None:
            return self._fixed_in_flight
        rtt = self._pacer.rtt if self._pacer.rtt is not None else RTT_GUESS
        need = math.ceil(2 * self._pacer.limit * rtt)
        return max(MIN_IN_FLIGHT, min(MAX_IN_FLIGHT, need))

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Launch the background task (idempotent)."""
        if self.running:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Let the messages in flight finish and their rows be marked, then end the task.

        After ``timeout`` the task is cancelled: like a crash, rows in flight stay ``sending``.
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            log.warning("outbox sender did not stop within %.1f s; cancelling it", timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif not task.cancelled() and task.exception() is not None:
            log.error("outbox sender had crashed: %r", task.exception())

    def wake(self) -> None:
        """Call after enqueueing so new rows go out now rather than at the next poll."""
        self._changed = True
        self._wake.set()

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once no row is due (by the injected clock); TimeoutError after ``timeout``.

        Rows rescheduled for later (backoff, ``not_before``) do not count, nor do rows waiting
        behind their chat's head in backoff. Drives the sending
        itself when the background task is not running.
        """
        deadline = time.monotonic() + timeout
        last_wake = 0.0
        while (left := await store.due_count(self._svc.db, self._svc.clock.now())) > 0:
            now = time.monotonic()
            if now >= deadline:
                raise TimeoutError(f"outbox: {left} message(s) still due after {timeout} s")
            if self.running:
                if now - last_wake >= 0.25:  # in case the clock was moved since the last poll
                    self.wake()
                    last_wake = now
                await asyncio.sleep(min(0.02, deadline - now))
            else:
                await self.send_due_once()
                await asyncio.sleep(min(self._wait_time(), max(deadline - now, 0.0)))

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        try:
            stale = await store.sending_count(self._svc.db)
            if stale:
                log.info("outbox: %d message(s) were in flight at the last stop; resending", stale)
        except Exception:
            log.exception("outbox: could not read the queue")
        try:
            while not self._stopping:
                self._wake.clear()
                wait: float | None = None
                try:
                    await self._start_due()
                except Exception:
                    log.exception("outbox pass failed; retrying in %.0f s", self.poll_interval)
                    wait = self.poll_interval
                if self._stopping:
                    break
                wait = self._wait_time() if wait is None else wait
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
            # the sends in flight finish and are recorded (stop's timeout bounds this)
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        except asyncio.CancelledError:
            for task in self._inflight.values():  # like a crash: their rows stay `sending`
                task.cancel()
            for batch in (self._claims.task, self._records.task):
                if batch is not None:
                    batch.cancel()
            raise
        try:
            await self._record_pending()  # one last try, so a restart need not resend them
        except Exception as exc:
            log.warning("outbox: stopping with an unrecorded outcome: %s", self._describe(exc))

    def _wait_time(self) -> float:
        """Seconds until something could be sendable: end of a 429 pause, a paced chat, a poll.

        A finished send wakes the loop too (its chat is free again, and a slot may be).
        """
        now = self._monotonic()
        if self._pacer.paused_until > now:
            return self._pacer.paused_until - now
        if self._busy:
            return 0.0
        if self._hold_until is not None:
            return max(0.0, min(self._hold_until - now, self.poll_interval))
        return self.poll_interval

    async def send_due_once(self) -> int:
        """One pass: start what may go now, wait for those sends; how many were delivered.

        The background task does not wait (it starts more as sends finish and slots free);
        this is the same pass for ``drain`` without it and for tests that drive it step by
        step. A failure to record an outcome is raised once every send of the pass is done.
        """
        self._changed = True  # a pass asked for reads the queue afresh
        tasks = await self._start_due()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(result is _Outcome.SENT for result in results)

    async def _start_due(self) -> list[asyncio.Task[_Outcome]]:
        """Start a send for each due chat head the limits let go now; the tasks started.

        One row per chat at a time keeps each chat's order and lets a long queue to one chat
        not starve the others; a paced chat is skipped and looked at again when it frees up.
        When the global window is full, no other chat could go either: the pass ends there.
        The heads come from the list read ahead (:meth:`_read_heads`), so a pass started by
        a finished send costs no database read: its slot is refilled at once.
        """
        self.passes += 1
        self._busy = False
        self._hold_until = None
        self._wants_slot = False
        await self._record_pending()
        pacer = self._pacer
        if not self._can_start():
            return []
        await self._read_heads()
        started: list[asyncio.Task[_Outcome]] = []
        ready, kept = self._ready, []
        for n, item in enumerate(ready):
            if self._stopping or not self._can_start():
                kept.extend(ready[n:])
                break
            if item.chat_id in self._inflight:
                continue  # (not read so: its chat's next head comes with a later read)
            now = self._monotonic()
            if (wait := pacer.chat_wait(item.chat_id, now)) > 0:
                self._hold(now + wait)
                kept.append(item)
                continue
            slot = pacer.take(item.chat_id, now)
            task = asyncio.create_task(self._send_one(item, slot), name=f"outbox-{item.id}")
            self._inflight[item.chat_id] = task
            task.add_done_callback(functools.partial(self._finished, item.chat_id))
            started.append(task)
            self._busy = True
        self._ready = kept
        return started

    async def _read_heads(self) -> None:
        """Read the due chat heads ahead of need, in queue order, when few are left.

        A read brings ``READ_AHEAD_S`` seconds' worth of sends at the limit (at least
        ``batch``), so a broadcast reads the queue about once a second, not once a send.
        Chats with a send in flight when the read began are left out: what the read shows
        of them may be the row in flight or, if its record committed meanwhile, the chat's
        next head, which a later read brings once the chat is free.
        """
        now = self._monotonic()
        limit = self._pacer.limit
        if len(self._ready) >= max(self.max_in_flight, math.ceil(limit * READ_LOW_S)):
            return
        if self._ready and now - self._read_at < MIN_READ_GAP:
            return
        if not self._changed and now - self._read_at < self.poll_interval:
            return
        self._changed = False
        self._read_at = now
        busy = set(self._inflight)
        size = max(self.batch, math.ceil(limit * READ_AHEAD_S)) + len(busy)
        items = await store.due(self._svc.db, self._svc.clock.now(), size, one_per_chat=True)
        busy.update(self._inflight)
        self._ready = [i for i in items if i.chat_id not in busy]

    def _can_start(self) -> bool:
        """Whether one more send may start now; if not, note when to look again."""
        if len(self._inflight) >= self.max_in_flight:
            return False  # a finished send wakes the loop
        now = self._monotonic()
        wait = self._pacer.global_wait(now, reply=False)
        if wait > 0:
            # math.inf: a reply is waiting for a slot; look again once it has had it
            self._hold(now + min(wait, YIELD_POLL if wait == math.inf else wait))
            self._busy = False
            self._wants_slot = True
            return False
        return True

    def _on_pacer(self) -> None:
        """The pacer's news (a slot may have freed, a waiting reply had its slot): wake the
        loop if it is waiting for a slot; otherwise nothing it would do changed."""
        if self._wants_slot:
            self._wake.set()

    def _hold(self, until: float) -> None:
        self._hold_until = until if self._hold_until is None else min(self._hold_until, until)

    def _finished(self, chat_id: int, task: asyncio.Task[_Outcome]) -> None:
        if self._inflight.get(chat_id) is task:
            del self._inflight[chat_id]
        self._changed = True  # the chat may have a next row
        if not task.cancelled():
            task.exception()  # retrieved: it was logged where it happened
        self._wake.set()

    # ------------------------------------------------------------------ one message

    def _describe(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}"
        token = getattr(self._bot, "token", "")
        return text.replace(token, "<token>") if token else text

    async def _send_one(self, item: OutboxItem, slot: Slot) -> _Outcome:
        """Claim, send, and record the outcome; the outcome is kept until it is recorded."""
        pacer = self._pacer
        try:
            if not await self._claim(item):
                pacer.cancel(slot)
                return _Outcome.DONE
            slot.restart(self._monotonic())  # the window counts from when the request leaves
            verdict = await self._attempt(item)
        finally:
            pacer.finish(slot, self._monotonic())  # held a window after the answer
        # paced from the answer: Telegram then sees at least the interval between two sends
        # to a chat, however long this request took to reach it
        pacer.space_chat_from(item.chat_id, self._monotonic())
        self._unrecorded[item.id] = (item, verdict)
        try:
            await self._record(item, verdict)
        except Exception as exc:
            log.warning(
                "outbox: #%d (%s) %s, but that could not be recorded (%s); retrying the record"
                " only, nothing new is sent meanwhile",
                item.id,
                item.kind,
                verdict.action,
                self._describe(exc),
            )
            raise
        del self._unrecorded[item.id]
        return verdict.outcome

    async def _claim(self, item: OutboxItem) -> bool:
        """Mark the row ``sending`` (committed) before its request; False: it does not go.

        Rows are claimed together with whatever other sends start at the same moment
        (:class:`_Batch`), a row's ``valid_while`` condition checked in that transaction: a
        broadcast's alerts cost one short write per batch, not one transaction each."""
        return await self._claims.submit(item)

    async def _claim_batch(self, items: list[OutboxItem]) -> list[bool]:
        ids, dropped = await self._svc.db.write(store.claim_many, items, self._valid)
        claimed, superseded = set(ids), set(dropped)
        for item in items:
            if item.id in superseded:
                log.info(
                    "outbox: #%d (%s) superseded before its turn; not sent", item.id, item.kind
                )
        return [i.id in claimed for i in items]

    def _valid(self, conn: Conn, item: OutboxItem) -> bool:
        """On the database thread: the row's ``valid_while`` condition."""
        return delivery.still_valid(conn, self._svc, item)

    async def _record_batch(self, delivered: list[tuple[int, int, tuple[int, ...]]]) -> list[None]:
        await self._svc.db.write(store.mark_sent_many, self._svc.clock.now(), delivered)
        return [None] * len(delivered)

    async def _record_pending(self) -> None:
        """Store outcomes whose recording failed; until then nothing new may be sent."""
        for item_id, (item, verdict) in list(self._unrecorded.items()):
            task = self._inflight.get(item.chat_id)
            if task is not None and not task.done():
                continue  # its own task is still recording it
            await self._record(item, verdict)
            del self._unrecorded[item_id]
            log.info("outbox: #%d (%s) recorded as %s at last", item.id, item.kind, verdict.action)

    async def _media_input(self, media: Media, send_as: SendAs, name: str) -> _Input:
        """The file_id Telegram gave these bytes sent this way, else the bytes (reads only:
        outside any transaction). A document's file_id keeps the name it was uploaded with,
        so it is reused only under the name its bytes were stored with."""
        db = self._svc.db
        info = await media_store.get(db, media.sha256, with_data=False)
        if info is None:
            raise LookupError(f"media {media.sha256[:12]} is not stored")
        cacheable = send_as == "photo" or name == info.filename
        known = self._file_ids.get((media.sha256, send_as)) or info.file_id(send_as)
        if known and cacheable:
            return _Input(media, send_as, known, name, cacheable)
        stored = await media_store.get(db, media.sha256)
        assert stored is not None
        return _Input(media, send_as, stored.data, name, cacheable)

    async def _media_inputs(self, wanted: list[tuple[Media, SendAs, str]]) -> list[_Input]:
        return [await self._media_input(m, send_as, name) for m, send_as, name in wanted]

    async def _deliver(self, item: OutboxItem) -> _Sent:
        """Send the row's message by its kind: one Bot API request."""
        msg = messages.from_payload(item.payload)
        chat = item.chat_id
        if isinstance(msg, Text):
            return await self._send_text(item, msg)
        wanted: list[tuple[Media, SendAs, str]]
        if isinstance(msg, Album):
            wanted = [(m, "photo", m.filename) for m in msg.photos]
        elif isinstance(msg, Photo):
            wanted = [(msg.media, "photo", msg.media.filename)]
        else:
            wanted = [(msg.media, "document", msg.shown_name)]
        inputs = await self._media_inputs(wanted)
        uploads = sorted({i.key for i in inputs if i.uploaded and i.cacheable})
        if not uploads:
            return await self._send_media_once(chat, msg, inputs)
        # New bytes: one upload at a time per media (in one order, so two albums sharing
        # photos cannot wait for each other), then look again: an overlapping send may
        # have uploaded them meanwhile, and its file_id is named instead.
        async with contextlib.AsyncExitStack() as held:
            for key in uploads:
                await held.enter_async_context(self._uploading.setdefault(key, asyncio.Lock()))
            inputs = await self._media_inputs(wanted)
            result = await self._send_media_once(chat, msg, inputs)
        for key in uploads:
            self._uploading.pop(key, None)  # learnt: later sends find the file_id first
        return result

    async def _send_text(self, item: OutboxItem, msg: Text) -> _Sent:
        """A text, or an edit of an earlier message (``edit_message_id``), pinned if asked.

        An edit to the text already shown is Telegram's 400 "message is not modified": the
        message says what it should, so that is success. A pin that fails (the bot is not an
        administrator of the group) leaves the message sent and unpinned: pinning is a
        courtesy, not a reason to send the message again."""
        chat = item.chat_id
        edit = item.payload.get("edit_message_id")
        if edit is not None:
            try:
                await self._bot.edit_message_text(
                    msg.text,
                    chat_id=chat,
                    message_id=int(edit),
                    parse_mode=msg.parse_mode,
                    reply_markup=_markup(msg.buttons),
                )
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    raise
            return _Sent((int(edit),))
        message_id = await self._send_plain_text(chat, msg)
        if item.payload.get("pin"):
            try:
                await self._bot.pin_chat_message(chat, message_id, disable_notification=True)
            except TelegramError as exc:
                log.info("outbox: #%d sent but not pinned: %s", item.id, self._describe(exc))
        return _Sent((message_id,))

    async def _send_plain_text(self, chat: int, msg: Text) -> int:
        """``sendMessage`` as a raw Bot API call; only the new message's id is read back.

        Most of a broadcast's CPU was PTB building a :class:`telegram.Message` from every
        answer (and the keyboard objects before it) that the sender then reads one integer
        of (bench.broadcast, py-spy). ``Bot._post`` keeps PTB's request backend and error
        mapping (``RetryAfter``, ``Forbidden``, ``BadRequest``), as for
        ``handlers.common.api_call``; ``do_api_request``, the public door, warns for methods
        PTB has.
        """
        params: dict[str, object] = {"chat_id": chat, "text": msg.text}
        if msg.parse_mode:
            params["parse_mode"] = msg.parse_mode
        if msg.buttons:
            params["reply_markup"] = messages.keyboard_json(msg.buttons)
        result = await self._bot._post("sendMessage", params)
        if not isinstance(result, dict) or "message_id" not in result:
            raise NetworkError(f"sendMessage answered without a message: {result!r}"[:200])
        return int(result["message_id"])

    async def _send_media_once(
        self, chat: int, msg: Photo | Album | Document, inputs: list[_Input]
    ) -> _Sent:
        """The request; a cached file_id Telegram refuses becomes :class:`_StaleFileId`."""
        try:
            sent = await self._send_media(chat, msg, inputs)
        except BadRequest as exc:
            cached = tuple(i.key for i in inputs if not i.uploaded)
            if cached and "file identifier" in exc.message.lower():
                for key in cached:
                    self._file_ids.pop(key, None)
                raise _StaleFileId(cached, exc.message) from exc
            raise
        for sha, send_as, file_id in sent.file_ids:
            self._file_ids[(sha, send_as)] = file_id
        return sent

    async def _send_media(
        self, chat: int, msg: Photo | Album | Document, inputs: list[_Input]
    ) -> _Sent:
        caption = msg.caption or None
        if isinstance(msg, Photo):
            (one,) = inputs
            sent = await self._bot.send_photo(
                chat,
                one.value,
                caption=caption,
                parse_mode=msg.parse_mode,
                reply_markup=_markup(msg.buttons),
                filename=one.filename,
            )
            return _Sent((sent.message_id,), one.learnt(_largest(sent.photo)))
        if isinstance(msg, Document):
            (one,) = inputs
            sent = await self._bot.send_document(
                chat,
                one.value,
                caption=caption,
                parse_mode=msg.parse_mode,
                reply_markup=_markup(msg.buttons),
                filename=one.filename,
            )
            assert sent.document is not None
            return _Sent((sent.message_id,), one.learnt(sent.document.file_id))
        group = [
            InputMediaPhoto(
                i.value,
                caption=caption if n == 0 else None,
                parse_mode=msg.parse_mode if n == 0 else None,
                filename=i.filename,
            )
            for n, i in enumerate(inputs)
        ]
        album = await self._bot.send_media_group(chat, group)
        learnt = tuple(
            f for i, m in zip(inputs, album, strict=True) for f in i.learnt(_largest(m.photo))
        )
        return _Sent(tuple(m.message_id for m in album), learnt)

    async def _attempt(self, item: OutboxItem) -> _Verdict:
        """One request; what came of it, and what the row becomes (nothing is stored here)."""
        try:
            sent = await self._deliver(item)
        except _StaleFileId as exc:
            log.info(
                "outbox: #%d (%s) Telegram no longer knows a cached file_id (%s); uploading again",
                item.id,
                item.kind,
                exc,
            )
            return _Verdict(_Outcome.DONE, "refile", f"stale file_id: {exc}", stale=exc.refs)
        except RetryAfter as exc:
            pause = _retry_after(exc)
            self._pacer.pause(self._monotonic(), pause)
            log.info("outbox: flood control (429): pausing all sending for %.1f s", pause)
            return _Verdict(_Outcome.PAUSED, "release", self._describe(exc))
        except Forbidden as exc:
            log.info(
                "outbox: #%d (%s) chat %d blocked the bot (403)", item.id, item.kind, item.chat_id
            )
            return _Verdict(_Outcome.DONE, "final", self._describe(exc), failure=Failure("blocked"))
        except ChatMigrated as exc:
            return _Verdict(
                _Outcome.DONE, "migrated", self._describe(exc), new_chat_id=exc.new_chat_id
            )
        except BadRequest as exc:
            log.info(
                "outbox: #%d (%s) to chat %d refused (400): %s",
                item.id,
                item.kind,
                item.chat_id,
                exc.message,
            )
            failure = Failure("refused", exc.message)
            return _Verdict(_Outcome.DONE, "final", self._describe(exc), failure=failure)
        except AnswerTimedOut as exc:
            # Sent, unanswered: resending could deliver it twice. Not sent again.
            error = f"{self._describe(exc)}: no answer, may have been delivered; not sent again"
            log.warning("outbox: #%d (%s) to chat %d: %s", item.id, item.kind, item.chat_id, error)
            return _Verdict(_Outcome.DONE, "unconfirmed", error)
        except TelegramError as exc:  # NetworkError, TimedOut, 5xx: Telegram did not do it
            error = self._describe(exc)
            attempts = item.attempts + 1
            kind = "network error" if isinstance(exc, NetworkError) else "Telegram error"
            log.info(
                "outbox: #%d (%s) %s on attempt %d/%d: %s",
                item.id,
                item.kind,
                kind,
                attempts,
                MAX_ATTEMPTS,
                error,
            )
            if attempts >= MAX_ATTEMPTS:
                failure = Failure("gave_up", attempts=attempts)
                return _Verdict(_Outcome.DONE, "final", error, failure=failure)
            retry_at = self._svc.clock.now() + timedelta(seconds=backoff_seconds(attempts))
            return _Verdict(_Outcome.DONE, "retry", error, retry_at=_ceil_second(retry_at))
        except Exception as exc:  # a bug: keep the row for the record, keep serving others
            log.error(
                "outbox: #%d (%s) failed unexpectedly: %s", item.id, item.kind, self._describe(exc)
            )
            return _Verdict(_Outcome.DONE, "final", self._describe(exc), failure=Failure("bug"))
        return _Verdict(
            _Outcome.SENT,
            "sent",
            message_id=sent.message_ids[0],
            message_ids=sent.message_ids,
            file_ids=sent.file_ids,
        )

    async def _record(self, item: OutboxItem, v: _Verdict) -> None:
        """Store one outcome in one transaction (with the failure's hook and notice, if any).

        A plain delivery (no file_id learnt) is recorded with the others that came at the
        same moment, in one transaction (:class:`_Batch`)."""
        if v.action == "sent" and not v.file_ids:
            assert v.message_id is not None
            await self._records.submit((item.id, v.message_id, v.message_ids))
            return
        svc = self._svc
        now = svc.clock.now()
        async with svc.db.transaction() as tx:
            if v.action == "sent":
                assert v.message_id is not None
                await store.mark_sent(tx, now, item.id, v.message_id, v.message_ids)
                for sha, send_as, file_id in v.file_ids:
                    await media_store.remember_file_id(tx, sha, send_as, file_id)
            elif v.action == "refile":
                for sha, send_as in v.stale:
                    await media_store.forget_file_id(tx, sha, send_as)
                await store.release(tx, item.id, v.error)
            elif v.action == "unconfirmed":
                await store.mark_unconfirmed(tx, now, item.id, v.error)
            elif v.action == "release":
                await store.release(tx, item.id, v.error)
            elif v.action == "migrated":
                assert v.new_chat_id is not None
                moved = await store.retarget(tx, item.chat_id, v.new_chat_id)
                await store.release(tx, item.id, v.error)
                log.info(
                    "outbox: chat %d became supergroup %d; %d row(s) moved",
                    item.chat_id,
                    v.new_chat_id,
                    moved,
                )
            elif v.action == "retry":
                assert v.retry_at is not None
                await store.retry_later(tx, item.id, v.retry_at, v.error)
            else:
                assert v.failure is not None
                if v.failure.status == "blocked":
                    await store.mark_blocked(tx, item.id, v.error)
                    if item.chat_id > 0:
                        await people.mark_blocked(tx, now, item.chat_id)
                else:
                    await store.mark_failed(tx, item.id, v.error)
                await delivery.failed(tx, svc, item, v.failure)


def _ceil_second(when: datetime) -> datetime:
    """Timestamps are stored to the second: round up so a backoff is never shortened."""
    return when if not when.microsecond else when.replace(microsecond=0) + timedelta(seconds=1)
