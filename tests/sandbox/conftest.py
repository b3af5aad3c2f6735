"""Fixtures: a started Sandbox, a real telegram.Bot on it, and a running PTB Application."""

from __future__ import annotations

import contextlib
import logging
import struct
import zlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder, BaseHandler

from sandbox import Sandbox

TOKEN = "123456:TEST-token"


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    """A valid PNG built by hand (independent of the sandbox's own helper)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    raw = (b"\x00" + b"\x10\x80\xf0" * width) * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(token=TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
async def bot(sb: Sandbox) -> AsyncIterator[Bot]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    async with Bot(sb.token, base_url=sb.base_url, base_file_url=sb.base_file_url) as b:
        yield b


@contextlib.asynccontextmanager
async def running_app(
    sb: Sandbox, handlers: Sequence[BaseHandler[Any, Any, Any]]
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """A real Application polling the sandbox, stopped cleanly on exit."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = (
        ApplicationBuilder()
        .token(sb.token)
        .base_url(sb.base_url)
        .base_file_url(sb.base_file_url)
        .build()
    )
    for h in handlers:
        app.add_handler(h)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
