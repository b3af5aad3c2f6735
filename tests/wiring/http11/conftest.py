"""The Bot API client's tests run on both event loops: asyncio's (the tests' own, the demo's)
and uvloop's (``nfpbot run``'s, where installed). The two differ where it matters here:
uvloop's transports are not ``asyncio.Transport`` subclasses, for one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
        "asyncio": asyncio.new_event_loop
    }
    try:
        import uvloop
    except ImportError:  # no wheels for this platform: the bot runs on asyncio's loop too
        return factories
    factories["uvloop"] = uvloop.new_event_loop
    return factories
