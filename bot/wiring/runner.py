"""Run an Application inside an existing event loop (tests, demo, benchmarks).

PTB calls ``post_init``/``post_stop``/``post_shutdown`` only from ``run_polling``; this runs
the same lifecycle, hooks included, without taking over the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application

#: Any Application: the lifecycle is PTB's, whatever the bot and context types.
App = TypeVar("App", bound=Application[Any, Any, Any, Any, Any, Any])


@asynccontextmanager
async def polling(app: App, *, poll_timeout: int = 1) -> AsyncIterator[App]:
    """Initialize, start and poll; on exit stop polling and shut down cleanly."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
        )
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
