"""PTB's network layer: the Bot API's JSON calls over a lean keep-alive HTTP/1.1 pool
(:mod:`bot.wiring.http11`), uploads and downloads over aiohttp; not PTB's httpx.

Measured in ``bench/`` on this project's workload: httpx/httpcore spends 0.6–1.5 ms of CPU per
Bot API call once a few dozen calls are in flight (its pool scans every connection on every
request), aiohttp 0.2–0.3 ms, and most of what is left was aiohttp's per-request machinery,
which a JSON call does not need (``bench.http_client``). aiohttp is already a dependency (the
sandbox server); httptools, the parser the JSON path uses, is a small one. Behaviour follows
``telegram.request.HTTPXRequest``: JSON parameters (the Bot API accepts them), multipart when
files are attached, per-call timeouts, and errors mapped to PTB's ``TimedOut`` /
``NetworkError`` so PTB's retry and error handling work unchanged.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

from bot.wiring import http11

_JSON = {"Content-Type": "application/json"}
_JSON_TYPE = b"application/json"
MAX_CACHED_URLS = 256  # the Bot API's methods, with room to spare


class AnswerTimedOut(TimedOut):
    """The request was sent but its answer did not come within the read timeout.

    Unlike a connect or pool timeout (nothing reached Telegram), Telegram may have carried
    it out: a caller that must not act twice (the outbox) tells the two apart by this type.
    """


class ApiRequest(BaseRequest):
    """A PTB request backend: file-less POSTs (every Bot API call but uploads) through an
    :class:`http11.Pool` per origin, the rest through one aiohttp session; each bounded to
    ``connection_pool_size`` connections.

    Neither has a separate write timeout; a slow upload is bounded by ``read_timeout`` (which
    starts after the request is sent) and by the pool/connect limits. ``json_over_aiohttp``
    sends everything through aiohttp, for ``bench.http_client``'s comparison.
    """

    __slots__ = (
        "_connect_timeout",
        "_json_over_aiohttp",
        "_media_read_timeout",
        "_pool_size",
        "_pool_timeout",
        "_pools",
        "_read_timeout",
        "_routes",
        "_session",
        "_timeouts",
        "_urls",
    )

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_read_timeout: float | None = 20.0,
        json_over_aiohttp: bool = False,
    ) -> None:
        self._pool_size = connection_pool_size
        self._json_over_aiohttp = json_over_aiohttp
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_read_timeout = media_read_timeout
        self._session: aiohttp.ClientSession | None = None
        # every request would otherwise parse its URL and build its timeouts again; a bot
        # calls a few dozen methods with a few timeouts (the URLs hold the token: kept in
        # memory only, as PTB keeps it)
        self._urls: dict[str, URL] = {}
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}
        self._pools: dict[http11.Origin, http11.Pool] = {}
        self._routes: dict[str, tuple[http11.Pool, str]] = {}  # URL: its pool and path

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # the Bot API sets no cookies: none to file or filter on every request
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        pools, self._pools, self._routes = self._pools, {}, {}
        for pool in pools.values():
            await pool.close()
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _timeout(
        self, read: float | None, connect: float | None, pool: float | None
    ) -> aiohttp.ClientTimeout:
        key = (read, connect, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                # aiohttp's "connect" covers waiting for a pooled connection and connecting
                connect=None if connect is None or pool is None else connect + pool,
                sock_connect=connect,
                sock_read=read,
            )
        return timeout

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
            raise RuntimeError("This ApiRequest is not initialized!")
        files = (
            request_data.multipart_data if request_data and request_data.contains_files else None
        )
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._media_read_timeout if files else self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        if method == "POST" and not files and not self._json_over_aiohttp:
            route = self._route(url)
            if route is not None:
                body = request_data.json_payload if request_data is not None else b""
                status, answer = await self._post(
                    route, body, read_timeout, connect_timeout, pool_timeout
                )
                return _not_redirected(status), answer
        timeout = self._timeout(read_timeout, connect_timeout, pool_timeout)
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
            target = self._urls.get(url)
            if target is None:
                target = URL(url)
                if len(self._urls) < MAX_CACHED_URLS:  # file downloads each have their own
                    self._urls[url] = target
            async with self._session.request(
                method, target, data=data, headers=headers, timeout=timeout, allow_redirects=False
            ) as resp:
                return _not_redirected(resp.status), await resp.read()
        except aiohttp.ConnectionTimeoutError as err:  # no connection: nothing was sent
            raise TimedOut from err
        except TimeoutError as err:  # sent, and no answer in time: it may have been done
            raise AnswerTimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {_describe(err)}") from err

    def _route(self, url: str) -> tuple[http11.Pool, str] | None:
        """The pool and request target of ``url``; None for what http11 does not speak."""
        route = self._routes.get(url)
        if route is not None:
            return route
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:  # aiohttp's path reports a URL it cannot use
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
            return None
        origin = http11.Origin(
            parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)
        )
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = http11.Pool(
                origin, self._pool_size, user_agent=self.USER_AGENT
            )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        route = (pool, target)
        if len(self._routes) < MAX_CACHED_URLS:
            self._routes[url] = route
        return route

    async def _post(
        self,
        route: tuple[http11.Pool, str],
        body: bytes,
        read_timeout: float | None,
        connect_timeout: float | None,
        pool_timeout: float | None,
    ) -> tuple[int, bytes]:
        pool, target = route
        try:
            return await pool.post(
                target,
                body,
                _JSON_TYPE,
                pool_timeout=pool_timeout,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            )
        except http11.NotSentTimeout as err:  # nothing was sent
            raise TimedOut(str(err)) from err
        except http11.Unanswered as err:  # sent, and no answer in time: it may have been done
            raise AnswerTimedOut(str(err)) from err
        except http11.HttpError as err:
            raise NetworkError(f"http11.{type(err).__name__}: {err}") from err


def _not_redirected(status: int) -> int:
    """``status``, unless it is a redirect: the Bot API never redirects, and following one
    (or reading its body as an answer) is not what a Bot API client does."""
    if 300 <= status < 400:
        raise NetworkError(
            f"the server answered with a redirect (HTTP {status}), not as a Bot API server does"
        )
    return status


def _describe(err: aiohttp.ClientError) -> str:
    """The error without the request URL: that URL holds the token (``…/bot<token>/…``)."""
    if isinstance(err, aiohttp.InvalidURL):
        return "the Bot API URL is not usable"
    if isinstance(err, aiohttp.ClientResponseError):
        return f"HTTP {err.status} {err.message}".strip()
    return str(err)


class UpdatesRequest(ApiRequest):
    """The request backend of ``getUpdates``: also keeps each update as Telegram sent it.

    The inbox (:class:`bot.wiring.concurrency.DurablePolling`) stores every fetched update
    before PTB confirms it; rebuilding that JSON from PTB's objects (``to_dict``) cost about
    a tenth of the bot's CPU per answer (bench.report_throughput). Here the answer's body is
    read once, as plain JSON, so the inbox keeps what Telegram sent, not a copy of it made
    through PTB, and a replay rebuilds the Update from the very same data.

    PTB is handed that same parsed body (not parsed again), lean: the message of a pressed
    button (a callback query carries the bot's whole message) keeps its chat, id, date and
    text but not its entities, nor its buttons unless the button's kind reads them
    (``keep_buttons_for``, callback prefixes). Building those objects was about half of
    reading a press. The inbox keeps the whole update, and a replay is made lean the same
    way (:func:`lean_update`).
    """

    __slots__ = ("_fetched", "_keep_buttons_for", "_parsed")

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        keep_buttons_for: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(connection_pool_size, **kwargs)
        self._fetched: dict[int, str] = {}
        self._keep_buttons_for = keep_buttons_for
        self._parsed: tuple[bytes, JSONDict] | None = None

    def take_fetched(self) -> dict[int, str]:
        """The updates of the answers since the last call, by id: each as JSON text."""
        fetched, self._fetched = self._fetched, {}
        return fetched

    def lean(self, update: JSONDict) -> JSONDict:
        """``update`` as PTB is handed it (see the class); the dict itself is left whole."""
        return lean_update(update, self._keep_buttons_for)

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(*args, **kwargs)
        self._parsed = None
        if status == 200:
            try:
                payload = json.loads(body)
                result = payload.get("result")
            except (ValueError, AttributeError):
                return status, body  # PTB reports a body it cannot read
            if isinstance(result, list):
                lean: list[Any] = []
                for update in result:
                    if isinstance(update, dict) and isinstance(update.get("update_id"), int):
                        self._fetched[update["update_id"]] = json.dumps(
                            update, ensure_ascii=False, separators=(",", ":")
                        )
                        update = self.lean(update)
                    lean.append(update)
                self._parsed = (body, {**payload, "result": lean})
        return status, body

    # PTB declares it static but calls it on the instance, and invites overriding it
    def parse_json_payload(self, payload: bytes) -> JSONDict:  # type: ignore[override]
        """The body :meth:`do_request` has just read, as it parsed it (lean)."""
        parsed, self._parsed = self._parsed, None
        if parsed is not None and parsed[0] is payload:
            return parsed[1]
        return super().parse_json_payload(payload)


def lean_update(update: JSONDict, keep_buttons_for: frozenset[str]) -> JSONDict:
    """A copy of ``update`` whose pressed message lacks what no handler reads (see
    :class:`UpdatesRequest`); any other update as it is."""
    query = update.get("callback_query")
    if not isinstance(query, dict) or not isinstance(query.get("message"), dict):
        return update
    message = {k: v for k, v in query["message"].items() if k not in _LEAN_DROPS}
    data = query.get("data")
    prefix = data.split(":", 1)[0] if isinstance(data, str) else None
    if prefix not in keep_buttons_for:
        message.pop("reply_markup", None)
    return {**update, "callback_query": {**query, "message": message}}


# what the message of a pressed button is handed to PTB without
_LEAN_DROPS = frozenset({"entities", "caption_entities", "link_preview_options"})
