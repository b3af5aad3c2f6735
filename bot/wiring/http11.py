"""Keep-alive HTTP/1.1 for the Bot API's JSON calls: a small connection pool per origin, on
asyncio's transports and httptools' parser (llhttp, the parser of Node.js).

Why not aiohttp for these: an answer costs the bot two Bot API calls (the next question,
and a keyboard taken off or a button answered), and aiohttp's per-request machinery (a
ClientRequest and a ClientResponse, header multidicts, cookie and tracing hooks, a timer
rescheduled on every read) was a quarter of the bot's main-thread CPU per answer in
``bench.report_throughput`` (py-spy). A Bot API call needs none of it: one POST of a JSON
body to one origin, one answer with a length. ``bench.http_client`` measures both.

On purpose small; what it does not do stays on aiohttp (:class:`bot.wiring.request.ApiRequest`
sends only file-less POSTs here): uploads (multipart), downloads, redirects (the Bot API
never redirects; following one would carry the token elsewhere), compression (none is
asked for) and proxies (the bot has none).

Failures are told apart by what reached the server, because the outbox must not send twice
what Telegram may have carried out:

* :class:`NotSent` (and :class:`NotSentTimeout`): no slot in the pool, no connection, no TLS
  handshake: nothing was written;
* :class:`Unanswered`: written, and no whole answer within the read timeout;
* :class:`Broken`: written, and the connection closed or the answer was unreadable.

No message here names the request's path: it holds the token (``/bot<token>/sendMessage``).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, cast

import httptools

KEEPALIVE_S: Final = 15.0
"""An idle connection older than this is closed, not reused: servers drop idle connections
(nginx after 75 s by default) and a request written onto one that is closing fails; aiohttp
uses the same 15 s."""


class HttpError(Exception):
    """A Bot API call that did not get an answer; the message never names the path."""


class NotSent(HttpError):
    """Nothing was written: the call can be made again without doing it twice."""


class NotSentTimeout(NotSent):
    """No pool slot, connection or TLS handshake within its timeout; nothing was written."""


class Unanswered(HttpError):
    """The request was written and no whole answer came within the read timeout."""


class Broken(HttpError):
    """The request was written, then the connection closed or the answer could not be read."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a pool's connections go."""

    scheme: str  # "http" or "https"
    host: str
    port: int

    @property
    def host_header(self) -> bytes:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return (host if self.port == default else f"{host}:{self.port}").encode("ascii")


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; carries one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._body: list[bytes] = []
        self._headers_done = False
        self._delimited = False  # a length or chunks: the answer's end is known without EOF

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a TCP (or TLS) transport; uvloop's does not subclass asyncio.Transport
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._answer is None:  # nothing was asked: a server talking out of turn
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as err:
            self._fail(Broken(f"the server's answer could not be read ({type(err).__name__})"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._headers_done and not self._delimited and self._answer is not None:
            # an answer without a length ends when the connection does (RFC 9112 §6.3)
            self._finish(keep_alive=False)
            return
        self._fail(Broken("the connection closed before the whole answer came"))

    # --- httptools callbacks ---------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self._delimited = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._finish(keep_alive=self._parser.should_keep_alive())

    # --- for the pool ----------------------------------------------------------------------

    def reusable(self, now: float) -> bool:
        transport = self.transport
        return (
            not self.lost
            and transport is not None
            and not transport.is_closing()
            and now - self.idle_since < KEEPALIVE_S
        )

    async def exchange(self, request: bytes, read_timeout: float | None) -> tuple[int, bytes, bool]:
        """Write ``request``; the answer's status, body and whether the connection stays open."""
        transport = self.transport
        if self.lost or transport is None or transport.is_closing():
            # closed by the server as it was handed over: a write would vanish unnoticed
            raise NotSent("the connection closed before the request was written")
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[tuple[int, bytes, bool]] = loop.create_future()
        self._answer = answer
        self._body = []
        self._headers_done = self._delimited = False
        transport.write(request)
        timer = None
        if read_timeout is not None:
            timer = loop.call_later(read_timeout, self._time_out, answer)
        try:
            return await answer
        finally:
            if timer is not None:
                timer.cancel()
            self._answer = None

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()

    def _time_out(self, answer: asyncio.Future[tuple[int, bytes, bool]]) -> None:
        if not answer.done():
            answer.set_exception(Unanswered("no answer within the read timeout"))

    def _finish(self, *, keep_alive: bool) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_result((self._parser.get_status_code(), b"".join(self._body), keep_alive))

    def _fail(self, err: HttpError) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_exception(err)


class Pool:
    """At most ``size`` connections to ``origin`` at once; idle ones are reused, newest first.

    ``clock`` is monotonic seconds, injected so the tests can age a connection.
    """

    def __init__(
        self,
        origin: Origin,
        size: int,
        *,
        user_agent: str,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.origin = origin
        self.opened = 0  # connections made, for the tests and the benchmarks
        self._closed = False
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Connection] = []
        self._clock = clock
        self._ssl = ssl_context
        if origin.scheme == "https" and ssl_context is None:
            self._ssl = ssl.create_default_context()
        self._fixed = (
            b" HTTP/1.1\r\nHost: "
            + origin.host_header
            + b"\r\nUser-Agent: "
            + user_agent.encode("ascii", "replace")
            + b"\r\n"
        )

    async def post(
        self,
        target: str,
        body: bytes,
        content_type: bytes,
        *,
        pool_timeout: float | None,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> tuple[int, bytes]:
        """POST ``body`` to ``target`` (path and query); the answer's status and body."""
        request = b"".join(
            (
                b"POST ",
                target.encode("ascii"),
                self._fixed,
                b"Content-Type: ",
                content_type,
                b"\r\nContent-Length: ",
                str(len(body)).encode("ascii"),
                b"\r\n\r\n",
                body,
            )
        )
        await self._take_slot(pool_timeout)
        try:
            conn = await self._connection(connect_timeout)
            try:
                status, answer, keep_alive = await conn.exchange(request, read_timeout)
            except BaseException:  # timed out, broken or cancelled: its state is unknown
                conn.close()
                raise
            if keep_alive and not conn.lost and not self._closed:
                conn.idle_since = self._clock()
                self._idle.append(conn)
            else:
                conn.close()
            return status, answer
        finally:
            self._slots.release()

    async def close(self) -> None:
        """Close the idle connections; those in use close when their exchange ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        await asyncio.sleep(0)  # let the transports run their close callbacks

    async def _take_slot(self, wait_s: float | None) -> None:
        if not self._slots.locked() or wait_s is None:
            await self._slots.acquire()
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), wait_s)
        except TimeoutError:
            raise NotSentTimeout("no free connection within the pool timeout") from None

    async def _connection(self, connect_s: float | None) -> _Connection:
        now = self._clock()
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable(now):
                return conn
            conn.close()
        loop = asyncio.get_running_loop()
        origin = self.origin
        try:
            async with asyncio.timeout(connect_s):
                _, conn = await loop.create_connection(
                    _Connection,
                    origin.host,
                    origin.port,
                    ssl=self._ssl,
                    server_hostname=origin.host if self._ssl is not None else None,
                )
        except TimeoutError:
            raise NotSentTimeout(
                f"no connection to {origin.host} within the connect timeout"
            ) from None
        except OSError as err:  # refused, unreachable, no such host, a failed TLS handshake
            reason = err.strerror or type(err).__name__
            raise NotSent(f"could not connect to {origin.host}:{origin.port}: {reason}") from None
        self.opened += 1
        return conn
