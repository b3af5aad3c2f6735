"""What every domain function needs: config, database, clock. Built once at start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.core.clock import Clock, SystemClock

if TYPE_CHECKING:
    from bot.config import Config
    from storage.db import Database


@dataclass
class Services:
    config: Config
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    bot_username: str = ""
    outbox_waker: Callable[[], None] | None = None
    #: the guidance channel's numeric id, resolved from config at start (None: no channel)
    guidance_channel: int | None = None

    def wake_outbox(self) -> None:
        """Tell the outbox sender new rows are waiting (no-op before it runs)."""
        if self.outbox_waker is not None:
            self.outbox_waker()
