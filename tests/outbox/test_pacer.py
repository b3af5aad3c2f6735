"""The Pacer alone, on a settable clock: Telegram's windows are never exceeded, replies go first."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.outbox.pacer import REPLIES_RECENT, Pacer, Slot


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def max_in_window(times: list[float], window: float) -> int:
    """The most events in any half-open window of ``window`` seconds."""
    times = sorted(times)
    best = 0
    for i, t in enumerate(times):
        best = max(best, bisect_left(times, t + window) - i)
    return best


# a step: time passes, then a send to a chat is asked for (a reply, or a bulk send)
steps = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=0.3),
        st.integers(min_value=-3, max_value=12).filter(lambda c: c != 0),
        st.booleans(),
    ),
    min_size=1,
    max_size=400,
)
# extra delay on the way in and on the way back, per send
jitters = st.lists(
    st.tuples(st.floats(min_value=0.0, max_value=0.2), st.floats(min_value=0.0, max_value=0.2)),
    min_size=400,
    max_size=400,
)


def storm(
    pacer: Pacer,
    clock: Clock,
    steps: list[tuple[float, int, bool]],
    jitter: list[tuple[float, float]],
    way_in: float,
    way_back: float,
    *,
    replies: bool,
) -> list[float]:
    """Sends as a sender would make them; the times they reach Telegram.

    A request takes ``way_in`` plus its jitter to arrive and ``way_back`` plus its jitter
    to be answered; the first one is as fast as the network gets (the round trip the pacer
    learns), the rest anything slower. The pacer is told of each answer when it comes.
    """
    arrived: list[float] = []
    flying: list[tuple[float, int, Slot]] = []
    for i, (dt, chat_id, reply) in enumerate(steps):
        target = clock.now + dt
        for answer, chat, slot in sorted(flying, key=lambda f: f[0]):
            if answer <= target:
                clock.now = max(clock.now, answer)
                pacer.finish(slot, answer)
                pacer.space_chat_from(chat, answer)
        flying = [f for f in flying if f[0] > target]
        clock.now = target
        reply = replies and reply and chat_id > 0
        if not reply and any(c == chat_id for _, c, _ in flying):
            continue  # the outbox has one send per chat in flight at most
        if pacer.wait(chat_id, clock.now, reply=reply) == 0:
            slot = pacer.take(chat_id, clock.now, reply=reply)
            j_in, j_back = (0.0, 0.0) if i == 0 else jitter[i]
            at = clock.now + way_in + j_in
            arrived.append(at)
            flying.append((at + way_back + j_back, chat_id, slot))
    return arrived


@settings(max_examples=300, deadline=None)
@given(
    steps=steps,
    jitter=jitters,
    limit=st.integers(min_value=1, max_value=40),
    way_in=st.floats(min_value=0.0, max_value=0.1),
    way_back=st.floats(min_value=0.0, max_value=0.1),
)
def test_no_one_second_window_at_telegram_ever_exceeds_the_limit(
    steps: list[tuple[float, int, bool]],
    jitter: list[tuple[float, float]],
    limit: int,
    way_in: float,
    way_back: float,
) -> None:
    """Counted where Telegram counts, on arrival, however uneven the delays on the way."""
    clock = Clock()
    pacer = Pacer(limit, monotonic=clock)
    arrived = storm(pacer, clock, steps, jitter, way_in, way_back, replies=True)
    assert max_in_window(arrived, 1.0) <= limit
    # bulk sends alone keep the replies' headroom free
    bulk = Pacer(limit, monotonic=clock)
    arrived = storm(bulk, clock, steps, jitter, way_in, way_back, replies=False)
    assert max_in_window(arrived, 1.0) <= limit - bulk.reply_headroom


def test_a_fixed_margin_on_send_times_would_not_do() -> None:
    """The adversary of the window rule: a send delayed on the way in arrives late, so a
    window counted from send times would let the next one land 0.5 s after it."""
    clock = Clock()
    pacer = Pacer(1, monotonic=clock)
    slow = pacer.take(1, clock.now)  # 0.5 s on the way in, answered 0.01 s after arriving
    assert pacer.wait(2, clock.now + 1.02) > 0  # in flight: held whatever the send time
    pacer.finish(slow, clock.now + 0.51)
    clock.now += 1.02  # a second after the send (and a margin): it arrived only 0.52 s ago
    assert pacer.wait(2, clock.now) > 0
    clock.now += 0.5  # a window after its answer
    assert pacer.wait(2, clock.now) == 0


@settings(max_examples=300, deadline=None)
@given(steps=steps)
def test_bulk_sends_keep_the_per_chat_spacing(steps: list[tuple[float, int, bool]]) -> None:
    clock = Clock()
    pacer = Pacer(30, per_chat_interval=1.0, group_per_minute=3, monotonic=clock)
    per_chat: dict[int, list[float]] = {}
    for dt, chat_id, answer_late in steps:
        clock.now += dt
        if pacer.wait(chat_id, clock.now) == 0:
            slot = pacer.take(chat_id, clock.now)
            answered = clock.now + (0.2 if answer_late else 0.0)
            slot.restart(clock.now)
            pacer.space_chat_from(chat_id, answered)
            per_chat.setdefault(chat_id, []).append(answered)
    for chat_id, times in per_chat.items():
        if chat_id > 0:  # 1/s, counted from each send's answer
            assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
        else:  # a group: 3 per 60 s here
            assert max_in_window(times, 60.0) <= 3


def test_a_window_frees_exactly_when_its_oldest_send_leaves_it() -> None:
    clock = Clock()
    pacer = Pacer(5, margin=0.0, reply_headroom=0, monotonic=clock)
    for chat in range(1, 6):
        assert pacer.wait(chat, clock.now) == 0
        pacer.finish(pacer.take(chat, clock.now), clock.now)  # answered at once
        clock.now += 0.125  # binary fractions: the times are exact
    assert pacer.wait(9, clock.now) == 0.375  # the first left at t0, frees at t0 + 1.0
    clock.now += 0.3125
    assert pacer.wait(9, clock.now) > 0
    clock.now += 0.0625
    assert pacer.wait(9, clock.now) == 0


def test_a_slot_counts_from_when_its_request_really_left() -> None:
    clock = Clock()
    pacer = Pacer(1, margin=0.0, reply_headroom=0, monotonic=clock)
    slot = pacer.take(1, clock.now)  # reserved, then the row is claimed in the database
    clock.now += 0.3
    slot.restart(clock.now)  # the request leaves now
    pacer.finish(slot, clock.now)  # answered at once
    clock.now += 0.9
    assert pacer.wait(2, clock.now) > 0  # 1.2 s after the reservation, 0.9 s after it left
    clock.now += 0.1
    assert pacer.wait(2, clock.now) == 0


def test_a_reply_finds_a_slot_in_a_storm_and_bulk_yields_while_one_waits() -> None:
    clock = Clock()
    pacer = Pacer(30, monotonic=clock)
    assert pacer.reply_headroom == 1
    chat = 1
    # a storm fills what bulk sends may use, its starts spread at the limit (waits of 1/30 s)
    while (wait := pacer.wait(chat, clock.now)) < 0.2:
        if wait > 0:
            clock.now += wait
            continue
        pacer.finish(pacer.take(chat, clock.now), clock.now + 0.05)
        chat += 1
    assert pacer.in_window() == 29
    assert pacer.wait(10_000, clock.now, reply=True) == 0  # the headroom: at once
    pacer.take(10_000, clock.now)
    # a second reply in the same second waits; while it does, bulk sends take nothing
    assert pacer.wait(10_001, clock.now, reply=True) > 0
    pacer.replies_waiting += 1
    clock.now += 1.5
    assert pacer.wait(chat, clock.now) == math.inf
    assert pacer.wait(10_001, clock.now, reply=True) == 0
    pacer.take(10_001, clock.now)
    pacer.replies_waiting -= 1
    assert pacer.wait(chat, clock.now) == 0


def test_a_429_pauses_bulk_sends_but_not_replies() -> None:
    """Replies wait out a 429 in their handler, for their own chat (as before the pacer)."""
    clock = Clock()
    pacer = Pacer(30, monotonic=clock)
    pacer.pause(clock.now, 3.0)
    assert pacer.wait(1, clock.now) == 3.0
    assert pacer.wait(2, clock.now, reply=True) == 0
    clock.now += 3.0
    assert pacer.wait(1, clock.now) == 0 and pacer.wait(2, clock.now, reply=True) == 0


def test_bulk_sends_reach_the_limit_less_the_headroom() -> None:
    """Greedy sending to fresh chats for 20 s: the pacer wastes nothing but margin and headroom."""
    clock = Clock()
    pacer = Pacer(100, monotonic=clock)
    start, sent, chat = clock.now, 0, 1
    while clock.now < start + 20.0:
        wait = pacer.wait(chat, clock.now)
        if wait > 0:
            clock.now += wait
            continue
        pacer.finish(pacer.take(chat, clock.now), clock.now)
        sent += 1
        chat += 1
    rate = sent / 20.0
    assert rate >= (100 - pacer.reply_headroom) / pacer.window * 0.99
    assert rate <= 100


def test_the_headroom_is_kept_only_while_replies_come() -> None:
    """Ten slots of 300 kept free while nobody replies are 3% of a broadcast lost; one
    is enough for the first reply, and the whole headroom is kept once replies come."""
    clock = Clock()
    pacer = Pacer(300, monotonic=clock)
    assert pacer.reply_headroom == 10 and pacer.headroom(clock.now) == 1
    pacer.finish(pacer.take(1, clock.now, reply=True), clock.now + 0.05)
    assert pacer.headroom(clock.now) == 10
    clock.now += REPLIES_RECENT
    assert pacer.headroom(clock.now) == 1


def test_bulk_starts_are_spread_at_the_limit_after_a_burst() -> None:
    """So that slots free evenly a window later, not in clumps a reply would wait between."""
    clock = Clock()
    pacer = Pacer(300, monotonic=clock)
    chat = 1
    while pacer.wait(chat, clock.now) == 0:
        pacer.take(chat, clock.now)
        chat += 1
    assert chat - 1 == pacer.bulk_burst == 30
    assert pacer.wait(chat, clock.now) == pytest.approx(1 / 300)
    assert pacer.wait(chat, clock.now, reply=True) == 0  # replies are not spread
    clock.now += 1 / 300 + 1e-9
    assert pacer.wait(chat, clock.now) == 0
