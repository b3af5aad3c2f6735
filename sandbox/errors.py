"""The one exception type of the sandbox: a Bot API error as Telegram would send it."""

from __future__ import annotations

from typing import Any


class SandboxError(Exception):
    """A Bot API error answer (``ok: false``), or misuse of the sandbox itself.

    Raised inside the server and turned into Telegram's exact JSON error shape, so a
    single type carries status, description and the optional ``parameters``.
    """

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> dict[str, Any]:
        """Telegram's error body; ``parameters`` only when it carries something."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        params: dict[str, int] = {}
        if self.retry_after is not None:
            params["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            params["migrate_to_chat_id"] = self.migrate_to_chat_id
        if params:
            body["parameters"] = params
        return body


def bad_request(reason: str) -> SandboxError:
    """Shorthand for the most common answer, ``400 Bad Request: <reason>``."""
    return SandboxError(400, f"Bad Request: {reason}")
