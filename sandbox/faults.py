"""Injected faults: make the next matching calls fail, stall or vanish, as the network does."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from .errors import SandboxError

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running",
}


@dataclass
class Fault:
    """One armed fault; ``remaining`` counts down on each matching call."""

    method: str | None
    status: int
    description: str | None
    retry_after: int | None
    remaining: int
    delay: float
    drop: bool
    chat_id: int | str | None

    def matches(self, method: str, chat_id: Any) -> bool:
        """A fault without a method hits every method except getUpdates.

        The polling loop calls getUpdates constantly, so an untargeted fault would almost
        always be swallowed by it instead of by the call the test is about.
        """
        if self.method is None:
            if method.lower() == "getupdates":
                return False
        elif self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)

    @property
    def is_delay_only(self) -> bool:
        """A delay without drop means "answer slowly, then normally"."""
        return self.delay > 0 and not self.drop

    def error(self) -> SandboxError:
        """The error answer this fault stands for."""
        retry = self.retry_after
        if self.status == 429 and retry is None:
            retry = 1
        desc = self.description
        if desc is None:
            if self.status == 429:
                desc = f"Too Many Requests: retry after {retry}"
            elif self.status in _DEFAULT_DESCRIPTIONS:
                desc = _DEFAULT_DESCRIPTIONS[self.status]
            else:
                try:
                    desc = HTTPStatus(self.status).phrase
                except ValueError:
                    desc = "Internal Server Error"
        return SandboxError(self.status, desc, retry_after=retry if self.status == 429 else None)


class FaultList:
    """Armed faults, consumed in the order they were injected."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Arm a fault."""
        self._faults.append(fault)

    def take(self, method: str, chat_id: Any) -> Fault | None:
        """The first armed fault matching this call, counting one use of it."""
        for fault in self._faults:
            if fault.matches(method, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        self._faults.clear()

    def __len__(self) -> int:
        return len(self._faults)


# The calls a bot makes in answer to a user: what a flaky network or a busy Telegram refuses.
REPLY_METHODS = frozenset(
    {
        "sendmessage",
        "editmessagetext",
        "editmessagereplymarkup",
        "answercallbackquery",
        "deletemessage",
        "sendphoto",
        "senddocument",
        "sendmediagroup",
    }
)


@dataclass
class RandomFaults:
    """Seeded random faults for soak and crash tests: the same seed, the same sequence of draws.

    ``error_rate`` of the calls to ``methods`` are refused with one of ``statuses`` (429
    carries ``retry_after``), as Telegram does under load or in an outage; the refusal comes
    before any effect, so the message was not sent. ``unconfirmed_rate`` of the getUpdates
    calls that would confirm updates (their offset is past a queued update) leave them queued
    instead: the queue behaves as if that confirming call had never reached Telegram, so the
    updates come back with their update_ids on the next getUpdates — which is what Telegram
    does when a bot fetched updates and died before its next call carried the offset.

    Each kind of fault draws from its own stream, so changing one rate leaves the other's
    sequence as it was.
    """

    seed: int
    error_rate: float = 0.0
    unconfirmed_rate: float = 0.0
    methods: frozenset[str] = REPLY_METHODS
    statuses: tuple[int, ...] = (429, 500, 502)
    retry_after: int = 1
    injected: Counter[tuple[str, int]] = field(default_factory=Counter)
    unconfirmed: int = 0

    def __post_init__(self) -> None:
        self.methods = frozenset(m.lower() for m in self.methods)
        self._errors = random.Random(f"{self.seed}:errors")
        self._confirms = random.Random(f"{self.seed}:confirms")

    def take(self, method: str, chat_id: Any) -> Fault | None:
        """A fault for this call, or None; getUpdates is never refused here."""
        if self.error_rate <= 0 or method.lower() not in self.methods:
            return None
        if self._errors.random() >= self.error_rate:
            return None
        status = self._errors.choice(self.statuses)
        self.injected[(method, status)] += 1
        retry = self.retry_after if status == 429 else None
        return Fault(method, status, None, retry, 1, 0.0, False, chat_id)

    def keep_unconfirmed(self) -> bool:
        """Whether this confirming getUpdates call is lost (drawn only for such calls)."""
        if self.unconfirmed_rate <= 0 or self._confirms.random() >= self.unconfirmed_rate:
            return False
        self.unconfirmed += 1
        return True
