"""The Pacer alone, on a settable clock: Telegram's windows are never exceeded, replies go first."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.outbox.pacer import Pacer


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


@settings(max_examples=300, deadline=None)
@given(steps=steps, limit=st.integers(min_value=1, max_value=40))
def test_no_one_second_window_ever_exceeds_the_limit(
    steps: list[tuple[float, int, bool]], limit: int
) -> None:
    clock = Clock()
    pacer = Pacer(limit, monotonic=clock)
    taken: list[float] = []
    for dt, chat_id, reply in steps:
        clock.now += dt
        reply = reply and chat_id > 0
        if pacer.wait(chat_id, clock.now, reply=reply) == 0:
            pacer.take(chat_id, clock.now)
            taken.append(clock.now)
    assert max_in_window(taken, 1.0) <= limit
    # bulk sends alone keep the replies' headroom free
    bulk = Pacer(limit, monotonic=clock)
    bulk_taken: list[float] = []
    for dt, chat_id, _ in steps:
        clock.now += dt
        if bulk.wait(chat_id, clock.now) == 0:
            bulk.take(chat_id, clock.now)
            bulk_taken.append(clock.now)
    assert max_in_window(bulk_taken, 1.0) <= limit - bulk.reply_headroom


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
        pacer.take(chat, clock.now)
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
    clock.now += 0.9
    assert pacer.wait(2, clock.now) > 0  # 1.2 s after the reservation, 0.9 s after it left
    clock.now += 0.1
    assert pacer.wait(2, clock.now) == 0


def test_a_reply_finds_a_slot_in_a_storm_and_bulk_yields_while_one_waits() -> None:
    clock = Clock()
    pacer = Pacer(30, monotonic=clock)
    assert pacer.reply_headroom == 1
    chat = 1
    while pacer.wait(chat, clock.now) == 0:  # a storm fills what bulk sends may use
        pacer.take(chat, clock.now)
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


def test_a_429_pauses_replies_and_bulk_sends_alike() -> None:
    clock = Clock()
    pacer = Pacer(30, monotonic=clock)
    pacer.pause(clock.now, 3.0)
    assert pacer.wait(1, clock.now) == 3.0
    assert pacer.wait(2, clock.now, reply=True) == 3.0
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
        pacer.take(chat, clock.now)
        sent += 1
        chat += 1
    rate = sent / 20.0
    assert rate >= (100 - pacer.reply_headroom) / pacer.window * 0.99
    assert rate <= 100
