"""Injected faults: make the next matching calls fail, stall or vanish, as the network does."""

from __future__ import annotations

from dataclasses import dataclass
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
