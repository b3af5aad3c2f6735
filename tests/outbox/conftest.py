"""What the outbox tests share: a database, the outbox's own Bot against the sandbox, and
senders that are started on demand and always stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from telegram.ext import ExtBot

from bot.config import Config
from bot.core.clock import FakeClock
from bot.core.services import Services
from bot.outbox.sender import OutboxSender, make_outbox_bot
from sandbox import Sandbox
from storage.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "x.sqlite3")
    yield database
    await database.close()


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[ExtBot[Any]]:
    b = make_outbox_bot(sandbox.token, sandbox.base_url)
    await b.initialize()
    yield b
    await b.shutdown()


@pytest.fixture
def svc(db: Database, clock: FakeClock) -> Services:
    return Services(cast(Config, None), db, clock)


@pytest.fixture
async def make_sender(
    bot: ExtBot[Any], svc: Services
) -> AsyncIterator[Callable[..., OutboxSender]]:
    """Started senders (on the fixture database unless told otherwise), each woken by its
    services as the bot's are; stopped, and checked stopped, at the end."""
    senders: list[OutboxSender] = []

    def make(database: Database | None = None, **kwargs: Any) -> OutboxSender:
        services = svc if database is None else Services(cast(Config, None), database, svc.clock)
        sender = OutboxSender(services, bot, **kwargs)
        services.outbox_waker = sender.wake
        sender.start()
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        await sender.stop(timeout=2)
        assert not sender.running
