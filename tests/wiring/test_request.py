"""The aiohttp request backend behaves like PTB's httpx one, over real HTTP to the sandbox."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InputMediaPhoto
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.wiring.request import ApiRequest
from sandbox import Sandbox
from sandbox.users import make_png


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    b = Bot(
        sandbox.token,
        base_url=sandbox.base_url,
        base_file_url=sandbox.base_file_url,
        request=ApiRequest(8, read_timeout=0.5),
        get_updates_request=ApiRequest(1),
    )
    await b.initialize()
    yield b
    await b.shutdown()


async def test_messages_buttons_and_uploads_arrive(sandbox: Sandbox, bot: Bot) -> None:
    user = sandbox.user(71, "Ann")
    sent = await bot.send_message(71, "<b>Привет</b> &amp; welcome", parse_mode="HTML")
    assert sent.message_id == (await user.next_message()).message_id
    png = make_png(4, 4)
    await bot.send_photo(71, png, caption="chart", filename="chart.png")
    photo = await user.next_message()
    assert photo.photo_bytes == png and photo.text == "chart"
    await bot.send_media_group(71, [InputMediaPhoto(png), InputMediaPhoto(make_png(2, 2))])
    assert len([m for m in user.drain() if m.method == "sendMediaGroup"]) == 2


async def test_errors_map_to_ptb_exceptions(sandbox: Sandbox, bot: Bot) -> None:
    sandbox.user(72, "Bob")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999_999, "hello")
    sandbox.inject("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter):
        await bot.send_message(72, "flood")
    sandbox.inject("sendMessage", status=502)
    with pytest.raises(NetworkError):
        await bot.send_message(72, "bad gateway")
    sandbox.inject("sendMessage", drop=True)
    with pytest.raises(NetworkError):
        await bot.send_message(72, "dropped")
    sandbox.inject("sendMessage", delay=1.5)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await bot.send_message(72, "slow")
    assert time.monotonic() - started < 1.4  # the 0.5 s read timeout, not the slow answer
    assert (await bot.send_message(72, "fine again")).text == "fine again"


async def test_urls_are_parsed_once_per_method_and_downloads_do_not_grow_the_cache(
    sandbox: Sandbox,
) -> None:
    """Each Bot API method's URL is parsed once (a few dozen, kept, one pool for all); file
    downloads, one URL each, stop being kept at the bound, so a bot that downloads for years
    holds no more."""
    from bot.wiring import request as req

    backend = ApiRequest(2)
    bot = Bot(sandbox.token, base_url=sandbox.base_url, request=backend)
    await bot.initialize()
    try:
        sandbox.user(73, "Cem")
        for _ in range(3):
            await bot.send_message(73, "hello")
        await bot.get_me()
        assert sorted(u.rsplit("/", 1)[1] for u in backend._routes) == ["getMe", "sendMessage"]
        assert len(backend._pools) == 1
        for i in range(req.MAX_CACHED_URLS + 50):
            url = f"{sandbox.base_file_url}{sandbox.token}/missing-{i}"
            status, _ = await backend.do_request(url, "GET")
            assert status == 404
        assert len(backend._urls) == req.MAX_CACHED_URLS
        await bot.send_message(73, "still")  # cached methods still work
    finally:
        await bot.shutdown()
