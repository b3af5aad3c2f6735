"""PTB's network layer on aiohttp instead of httpx.

Measured in ``bench/`` on this project's workload: httpx/httpcore spends 0.6–1.5 ms of CPU per
Bot API call once a few dozen calls are in flight (its pool scans every connection on every
request), aiohttp 0.2–0.3 ms; with concurrent update processing that was half of the bot's
CPU. aiohttp is already a dependency (the sandbox server), so this swaps the client, not the
library count. Behaviour follows ``telegram.request.HTTPXRequest``: form-encoded parameters,
multipart when files are attached, per-call timeouts, and errors mapped to PTB's
``TimedOut`` / ``NetworkError`` so PTB's retry and error handling work unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON = {"Content-Type": "application/json"}


class AnswerTimedOut(TimedOut):
    """The request was sent but its answer did not come within the read timeout.

    Unlike a connect or pool timeout (nothing reached Telegram), Telegram may have carried
    it out: a caller that must not act twice (the outbox) tells the two apart by this type.
    """


class AiohttpRequest(BaseRequest):
    """A PTB request backend with one aiohttp session and a bounded connection pool.

    aiohttp has no separate write timeout; a slow upload is bounded by ``read_timeout``
    (which starts after the request is sent) and by the pool/connect limits.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_read_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
    )

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_read_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_read_timeout = media_read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = (
            request_data.multipart_data if request_data and request_data.contains_files else None
        )
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._media_read_timeout if files else self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        timeout = aiohttp.ClientTimeout(
            # aiohttp's "connect" covers waiting for a pooled connection and connecting
            connect=None
            if connect_timeout is None or pool_timeout is None
            else connect_timeout + pool_timeout,
            sock_connect=connect_timeout,
            sock_read=read_timeout,
        )
        data: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData(quote_fields=False)
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
            else:
                # a JSON body, as the Bot API accepts: one json.dumps instead of aiohttp's
                # form encoding (FormData and urlencode were ~4% of an answer's CPU)
                data = request_data.json_payload
                headers = _JSON
        try:
            # the Bot API never redirects; following one would send the token elsewhere
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout, allow_redirects=False
            ) as resp:
                if 300 <= resp.status < 400:
                    raise NetworkError(
                        f"the server answered with a redirect (HTTP {resp.status}), "
                        "not as a Bot API server does"
                    )
                return resp.status, await resp.read()
        except aiohttp.ConnectionTimeoutError as err:  # no connection: nothing was sent
            raise TimedOut from err
        except TimeoutError as err:  # sent, and no answer in time: it may have been done
            raise AnswerTimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {_describe(err)}") from err


def _describe(err: aiohttp.ClientError) -> str:
    """The error without the request URL: that URL holds the token (``…/bot<token>/…``)."""
    if isinstance(err, aiohttp.InvalidURL):
        return "the Bot API URL is not usable"
    if isinstance(err, aiohttp.ClientResponseError):
        return f"HTTP {err.status} {err.message}".strip()
    return str(err)


class UpdatesRequest(AiohttpRequest):
    """The request backend of ``getUpdates``: also keeps each update as Telegram sent it.

    The inbox (:class:`bot.wiring.concurrency.DurablePolling`) stores every fetched update
    before PTB confirms it; rebuilding that JSON from PTB's objects (``to_dict``) cost about
    a tenth of the bot's CPU per answer (bench.report_throughput). Here the answer's body is
    read once more, as plain JSON, so the inbox keeps what Telegram sent, not a copy of it
    made through PTB, and a replay rebuilds the Update from the very same data.
    """

    __slots__ = ("_fetched",)

    def __init__(self, connection_pool_size: int = 1, **kwargs: Any) -> None:
        super().__init__(connection_pool_size, **kwargs)
        self._fetched: dict[int, str] = {}

    def take_fetched(self) -> dict[int, str]:
        """The updates of the answers since the last call, by id: each as JSON text."""
        fetched, self._fetched = self._fetched, {}
        return fetched

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(*args, **kwargs)
        if status == 200:
            try:
                result = json.loads(body).get("result")
            except (ValueError, AttributeError):
                result = None  # PTB reports a body it cannot read
            if isinstance(result, list):
                for update in result:
                    if isinstance(update, dict) and isinstance(update.get("update_id"), int):
                        self._fetched[update["update_id"]] = json.dumps(
                            update, ensure_ascii=False, separators=(",", ":")
                        )
        return status, body
