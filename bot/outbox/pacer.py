"""One send budget for the whole bot, kept the way Telegram counts it.

Telegram's flood control is a limit of N messages in **any** 1-second window (30 by default;
``bot.messages_per_second`` in the config), about 1 per second in one private chat, and 20
per minute in one group. Replies to people (the main bot, in handlers) and proactive sends
(the outbox) go to the same Telegram and draw from the same budget, so one :class:`Pacer`
per process counts both. It knows nothing of Telegram or asyncio: it is asked "may this send
start now, and if not, when?", told when a send starts, and when a 429 said to pause. Time
is an injected monotonic clock (seconds), so tests check pacing exactly without sleeping.

**The window.** Telegram counts a message when it *arrives*, which the sender never
sees: two requests issued exactly 1.000 s apart arrive 0.99 s apart when the first was
delayed a little more on the way (measured: a 30 ms margin on the issue times still drew
8 429s in a 300-prompt storm on a loaded machine). So a slot is held from the moment its
request goes out while it is in flight, and after its answer until ``answer + window -
min_rtt``: the message arrived before its answer came back, by at least the smallest round
trip seen (a request and its answer each take at least their share of it), so the next send,
which also needs at least that to arrive, reaches Telegram a full ``window`` later. That
holds however uneven the delays are, once the smallest round trip seen is the true one
(the way in at its fastest plus the way back at its fastest): the first ``LEARN_RTT`` sends
are held a full window after their answers, while most requests are fast ones. It costs
only the round trip's variation above its minimum, where a fixed margin costs its whole
size on every send. ``window`` is 1 s plus
``margin`` (10 ms, for clocks and rounding). A slot reserved before the request was
prepared (the outbox claims its row in the database first) starts when the request really
leaves (:meth:`Slot.restart`).

**Replies first.** A reply is someone waiting in a chat; a bulk send is a prompt that can
leave a second later unnoticed. Two rules keep replies ahead of bulk sends:

* bulk sends may fill the window only up to ``limit - reply_headroom`` while replies are
  coming (one went in the last ``REPLIES_RECENT`` seconds), and up to ``limit - 1``
  otherwise: a reply that comes in the middle of a storm finds a free slot at once instead
  of queueing behind it, and a broadcast nobody answers during uses all but one slot;
* while any reply is waiting for a slot (more replies than the headroom in one second),
  bulk sends take none, so the next slot that frees goes to the reply.

Why both: strict priority alone makes every reply during a storm wait up to a second for a
slot (bulk fills each slot as it frees); headroom alone lets a second reply in the same
second wait behind bulk sends. The headroom is ``max(1, limit // 30)`` (1 of 30 slots, 10
of 300); replies fill it when they come, and while none does it shrinks to the one slot.
The waiters are woken rather than left to poll (:meth:`Pacer.listen`): a reply waiting for a
slot when an answer ends one, the outbox when the waiting reply has had its slot.

A 429's ``retry_after``, drawn by a reply or a bulk send, pauses every bulk send
(:meth:`pause`): Telegram's flood control is per bot, not per chat, so the queue that went on
regardless would just draw the next 429. Replies are not held by the pause: the handlers
already wait out a 429 for their own chat (and hand the screen to the outbox past 5 s), as
before the pacer; holding every reply for one chat's refusal would make everyone wait for
it, and the budget they share with the outbox is now mostly free while the outbox pauses.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from collections.abc import Callable

DEFAULT_PER_SECOND = 30
DEFAULT_MARGIN = 0.01  # seconds added to the 1 s window (clocks, rounding)
# A slot whose request never reports back (a caller that died) is freed after this long.
STUCK_SLOT = 120.0
LEARN_RTT = 20  # answers seen before the smallest round trip is trusted
RTT_WEIGHT = 0.1  # of each answer in the running mean round trip (``Pacer.rtt``)
# Replies count as coming while one was sent this recently: bulk sends then leave them the
# whole headroom, otherwise one slot (for the first reply, which then finds it at once).
REPLIES_RECENT = 2.0
BULK_BURST = 10  # bulk sends that may start at once (at least; a tenth of the limit above)
GROUP_WINDOW = 60.0

# Bot API methods that put a message into a chat: only these count against flood control.
MESSAGE_METHODS = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendAudio",
        "sendVoice",
        "sendVideo",
        "sendAnimation",
        "sendVideoNote",
        "sendSticker",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendInvoice",
        "sendPaidMedia",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "sendGame",
    )
)


def counts_against_limit(method: str) -> bool:
    """Whether a Bot API method sends a message (and so draws on the budget)."""
    return method.lower() in MESSAGE_METHODS


class Slot:
    """One send's place in the window: held from when it went out until ``until``."""

    __slots__ = ("at", "until")

    def __init__(self, at: float) -> None:
        self.at = at
        self.until = at + STUCK_SLOT  # in flight: set from the answer by Pacer.finish

    def restart(self, now: float) -> None:
        """The request leaves only now (later than reserved): its slot is held from now."""
        if now > self.at:
            self.until += now - self.at
            self.at = now


class Pacer:
    """Telegram's limits as one budget shared by replies and bulk sends (see the module)."""

    def __init__(
        self,
        per_second: int = DEFAULT_PER_SECOND,
        *,
        margin: float = DEFAULT_MARGIN,
        per_chat_interval: float = 1.0,
        group_per_minute: int = 20,
        reply_headroom: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second < 1:
            raise ValueError(f"per_second must be at least 1, got {per_second}")
        self.limit = per_second
        self.window = 1.0 + margin
        self.per_chat_interval = per_chat_interval
        self.group_per_minute = group_per_minute
        headroom = max(1, per_second // 30) if reply_headroom is None else reply_headroom
        # a limit of 1 leaves bulk sends nothing otherwise
        self.reply_headroom = min(headroom, per_second - 1)
        self.monotonic = monotonic
        self.replies_waiting = 0
        self.paused_until = 0.0
        self.min_rtt: float | None = None  # the smallest request-to-answer time seen
        self.rtt: float | None = None  # running mean request-to-answer time
        # bulk starts are spread at ``per_second`` with bursts of ``bulk_burst``: a token
        # bucket (see :meth:`bulk_spacing`)
        self.bulk_burst = max(BULK_BURST, per_second // 10)
        self._tokens = float(self.bulk_burst)
        self._tokens_at: float | None = None
        self._last_reply = -math.inf
        self._listeners: list[Callable[[], None]] = []
        self._answers = 0
        self._slots: list[Slot] = []
        # no slot ends before this: a lower bound, as a restart only moves an end later
        self._earliest = math.inf
        self._private_next: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}

    # ------------------------------------------------------------------ the global window

    def _live(self, now: float) -> list[Slot]:
        """Slots still held at ``now`` (expired ones are dropped).

        Asked before every send, with a whole window of slots held (300 at 300/s): they are
        looked through only once one may have ended (``_earliest``), not on every question.
        """
        if self._earliest <= now:
            self._slots = [s for s in self._slots if s.until > now]
            self._earliest = min((s.until for s in self._slots), default=math.inf)
        return self._slots

    def cancel(self, slot: Slot) -> None:
        """The send did not happen after all (its row was superseded): free its slot."""
        if slot in self._slots:
            self._slots.remove(slot)

    def finish(self, slot: Slot, now: float) -> None:
        """The send's answer (or failure) came at ``now``: its slot ends a window later,
        less the smallest round trip (the message arrived at least that much earlier)."""
        rtt = max(now - slot.at, 0.0)
        self.min_rtt = rtt if self.min_rtt is None else min(self.min_rtt, rtt)
        self.rtt = rtt if self.rtt is None else self.rtt + RTT_WEIGHT * (rtt - self.rtt)
        self._answers += 1
        early = self._answers <= LEARN_RTT
        slot.until = now + self.window - (0.0 if early else self.min_rtt)
        self._earliest = min(self._earliest, slot.until)
        self.notify()

    # ------------------------------------------------------------------ waking the waiters

    def listen(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever a send may start sooner than its caller was told: an
        answer came (a slot in flight now has its end), or a waiting reply had its slot
        (bulk sends may go on). Plain callables, so the pacer stays free of asyncio."""
        self._listeners.append(callback)

    def notify(self) -> None:
        """Tell the listeners something changed (see :meth:`listen`)."""
        for callback in self._listeners:
            callback()

    def in_window(self, now: float | None = None) -> int:
        """How many sends hold a slot at ``now``."""
        return len(self._live(self.monotonic() if now is None else now))

    def global_wait(self, now: float, *, reply: bool) -> float:
        """Seconds until a send of this kind may start; 0 if it may start now.

        ``math.inf`` for a bulk send that must yield to a waiting reply: it is asked again
        when the reply has gone out.
        """
        if not reply and now < self.paused_until:
            return self.paused_until - now
        cap = self.limit if reply else self.limit - self.headroom(now)
        if not reply and self.replies_waiting > 0:
            return math.inf
        spacing = 0.0 if reply else self.bulk_spacing(now)
        live = self._live(now)
        if len(live) < cap:
            return spacing
        # the slot whose expiry brings the count below the cap (in flight: until its answer,
        # so an estimate; a finished send wakes the caller anyway)
        end = heapq.nsmallest(len(live) - cap + 1, (s.until for s in live))[-1]
        return max(end - now, spacing, 0.0)

    def bulk_spacing(self, now: float) -> float:
        """Seconds until the next bulk send may start by the spread of bulk starts.

        Bulk starts are spread at the limit (a token bucket of ``bulk_burst``): a storm
        that began with every slot taken at once would otherwise free them all at once a
        window later and take them again, in clumps, for as long as it lasts, and a reply
        that came between two clumps would wait up to a window for a slot. Spread out, a
        slot frees every ``1/limit`` s. In steady state the window, not this, bounds the
        rate (each slot is held a little over a second).
        """
        if self._tokens_at is not None:
            self._tokens = min(
                float(self.bulk_burst), self._tokens + (now - self._tokens_at) * self.limit
            )
        self._tokens_at = now
        # (a hair below a whole token counts as one: rounding must not leave a wait so
        # small that waiting it out never reaches the token)
        return 0.0 if self._tokens >= 1.0 - 1e-6 else (1.0 - self._tokens) / self.limit

    def headroom(self, now: float) -> int:
        """Slots bulk sends leave free at ``now``: ``reply_headroom`` while replies are
        coming (one was sent in the last ``REPLIES_RECENT`` s), else one.

        A headroom kept while nobody replies is a share of the limit lost (10 of 300/s);
        one free slot is enough for the first reply to go at once, and from then on the
        whole headroom is kept for the replies that follow it.
        """
        if now - self._last_reply < REPLIES_RECENT:
            return self.reply_headroom
        return min(1, self.reply_headroom)

    # ------------------------------------------------------------------ per chat

    def chat_wait(self, chat_id: int, now: float) -> float:
        """Seconds until this chat may get its next bulk message (1/s private, N/min group)."""
        if chat_id > 0:
            return max(self._private_next.get(chat_id, 0.0) - now, 0.0)
        sends = self._group_sends.get(chat_id)
        if not sends:
            return 0.0
        while sends and sends[0] <= now - GROUP_WINDOW:
            sends.popleft()
        if len(sends) < self.group_per_minute:
            return 0.0
        return max(sends[-self.group_per_minute] + GROUP_WINDOW - now, 0.0)

    def wait(self, chat_id: int, now: float, *, reply: bool = False) -> float:
        """Seconds until a send to ``chat_id`` may start (the larger of both waits).

        Replies are not held by the per-chat limits: they answer what the person just did,
        one or two messages per tap, and Telegram's per-chat limit is a soft one.
        """
        g = self.global_wait(now, reply=reply)
        return g if reply else max(g, self.chat_wait(chat_id, now))

    # ------------------------------------------------------------------ recording

    def take(self, chat_id: int, now: float, *, reply: bool = False) -> Slot:
        """A send to ``chat_id`` starts at ``now``: hold its slot and its chat's spacing.

        The caller asked :meth:`wait` first; taking past the limit is not refused here (a
        reply that could not wait longer still counts), it only delays the others. A reply
        counts against its group's minute (Telegram enforces that one) but does not space
        a private chat: the screen the outbox delivers for a refused reply must not wait a
        second behind the reply before it.
        """
        slot = Slot(now)
        self._live(now).append(slot)
        self._earliest = min(self._earliest, slot.until)
        if reply:
            self._last_reply = max(self._last_reply, now)
        else:
            self.bulk_spacing(now)
            self._tokens -= 1.0
        if chat_id < 0:
            self._group_sends.setdefault(chat_id, deque()).append(now)
        elif not reply:
            self._private_next[chat_id] = max(
                self._private_next.get(chat_id, 0.0), now + self.per_chat_interval
            )
            if len(self._private_next) > 4 * self.limit:
                self._forget_private(now)
        return slot

    def space_chat_from(self, chat_id: int, now: float) -> None:
        """Count the chat's spacing from ``now`` (a send's answer), not from its start.

        Telegram then sees at least the interval between two messages to a chat (and a
        group's minute), however long the first took to reach it. Only for a chat with one
        send in flight, as the outbox keeps it.
        """
        if chat_id > 0:
            self._private_next[chat_id] = max(
                self._private_next.get(chat_id, 0.0), now + self.per_chat_interval
            )
        elif sends := self._group_sends.get(chat_id):
            # the chat's latest send is this one: a chat has one send in flight at most
            sends[-1] = max(sends[-1], now)

    def pause(self, now: float, seconds: float) -> None:
        """A 429 said to wait ``seconds``: no bulk send starts before then."""
        self.paused_until = max(self.paused_until, now + seconds)

    def _forget_private(self, now: float) -> None:
        for chat_id in [c for c, t in self._private_next.items() if t <= now]:
            del self._private_next[chat_id]
        for chat_id in [c for c, q in self._group_sends.items() if not q or q[-1] <= now - 60]:
            del self._group_sends[chat_id]

    def next_change(self, now: float) -> float | None:
        """When the window next frees a slot (absolute), or None if it holds none."""
        live = self._live(now)
        return min(s.until for s in live) if live else None
