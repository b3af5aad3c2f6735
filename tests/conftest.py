"""Fixtures: a real sandbox Bot API server on loopback, a real config, a real SQLite file."""

from __future__ import annotations

import os

# Before telegram is used: RetryAfter.retry_after as a timedelta, PTB's future type, instead
# of an int with a deprecation warning (which filterwarnings = error would turn into a
# failure). The product handles both; test_outbox checks the int form on its own.
os.environ["PTB_TIMEDELTA"] = "1"

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.core.clock import FakeClock
from bot.core.i18n import SUPPORTED, use_languages
from sandbox import Sandbox
from storage.db import strict_transactions
from tests.support import ADMIN_ID, BotEnv

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _all_languages() -> Iterator[None]:
    """The enabled languages are process-wide (bot.core.i18n): each test starts with all of them,
    whatever a test before it on the same worker (pytest-xdist) enabled."""
    use_languages(SUPPORTED, SUPPORTED[0])
    yield
    use_languages(SUPPORTED, SUPPORTED[0])


@pytest.fixture(autouse=True)
def _strict_transactions() -> Iterator[None]:
    """Every test holds the write lock's rule: a transaction that awaits anything but its
    SQL fails (storage.db's module doc), so the real flows the suite drives are checked."""
    with strict_transactions():
        yield


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The shipped config.toml with the database in a temp dir and one bootstrap admin."""
    import dataclasses

    cfg = load_config(ROOT / "config.toml", {"NFPBOT_DB": str(tmp_path / "nfpbot.sqlite3")})
    return dataclasses.replace(cfg, admins=(ADMIN_ID,))


@pytest.fixture
def clock() -> FakeClock:
    # Tuesday 2026-11-24 12:00 UTC: mid-week, nothing due
    return FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as sb:
        yield sb


@pytest.fixture
async def env(sandbox: Sandbox, config: Config, clock: FakeClock) -> AsyncIterator[BotEnv]:
    bot_env = BotEnv(sandbox, config, clock)
    await bot_env.start()
    try:
        yield bot_env
    finally:
        await bot_env.stop()
