"""The Bot API's JSON path (``bot.wiring.http11``) against servers that misbehave.

The sandbox answers as Telegram does; these loopback servers do what a server, a proxy or a
network in between may do instead: close an idle connection without a word, close it with a
request half-answered, answer late (after the bot gave up), answer chunked or up to EOF,
answer garbage, talk out of turn, or never finish a TLS handshake. Each test names which.
Every test runs on asyncio's event loop and on uvloop's, the one the running bot uses
(``conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.wiring import http11
from bot.wiring.request import AnswerTimedOut, ApiRequest
from sandbox import Sandbox

TOKEN = "123456:SECRET-token-in-the-path"
JSON = b"application/json"

Handler = Callable[["Exchange"], Awaitable[None]]


@dataclass
class Exchange:
    """One request as the server read it, and the means to answer it."""

    number: int  # across the server's life, from 1
    body: bytes
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def answer(self, body: bytes | None = None, *, extra: str = "") -> None:
        body = body if body is not None else json.dumps({"n": self.number}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        self.writer.write(head.encode() + body)
        await self.writer.drain()


@dataclass
class Server:
    """A loopback HTTP server that hands each request to ``handler`` (default: answer it)."""

    handler: Handler | None = None
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # a count above moved

    def hold(self, *, first_only: bool = False) -> asyncio.Event:
        """Answer every request (or only the first) once the returned event is set."""
        release = asyncio.Event()

        async def held(ex: Exchange) -> None:
            if ex.number == 1 or not first_only:
                await release.wait()
            await ex.answer()

        self.handler = held
        return release

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        self.changed.set()
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                self.requests += 1
                self.changed.set()
                exchange = Exchange(self.requests, body, reader, writer)
                await (self.handler or Exchange.answer)(exchange)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            self.changed.set()
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, int]]:
    srv = Server()
    tcp = await asyncio.start_server(srv.serve, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    async with tcp:
        yield srv, port
        tcp.close()


def pool(port: int, size: int = 4, clock: Callable[[], float] | None = None) -> http11.Pool:
    origin = http11.Origin("http", "127.0.0.1", port)
    if clock is None:
        return http11.Pool(origin, size, user_agent="test")
    return http11.Pool(origin, size, user_agent="test", clock=clock)


async def post(p: http11.Pool, body: bytes = b"{}", read_timeout: float | None = 2.0) -> bytes:
    status, answer = await p.post(
        f"/bot{TOKEN}/sendMessage",
        body,
        JSON,
        pool_timeout=1.0,
        connect_timeout=1.0,
        read_timeout=read_timeout,
    )
    assert status == 200
    return answer


async def until(srv: Server, condition: Callable[[], bool], what: str) -> None:
    """Wait (at most 2 s) for ``condition`` on the server's counts: what the client did
    shows up on the server's end of the socket a few loop turns later."""
    try:
        async with asyncio.timeout(2):
            while not condition():
                srv.changed.clear()
                await srv.changed.wait()
    except TimeoutError:
        pytest.fail(f"not within 2 s: {what}")


async def in_flight(srv: Server, p: http11.Pool) -> asyncio.Future[bytes]:
    """A call to ``p``, returned once the server has read its request."""
    before = srv.requests
    call = asyncio.ensure_future(post(p))
    await until(srv, lambda: srv.requests > before, "the server got the request")
    return call


async def test_connections_are_reused_and_bounded(server: tuple[Server, int]) -> None:
    srv, port = server
    p = pool(port, size=4)
    for i in range(30):
        assert json.loads(await post(p, json.dumps({"i": i}).encode())) == {"n": i + 1}
    assert (srv.connections, p.opened) == (1, 1)
    answers = await asyncio.gather(*(post(p) for _ in range(40)))
    assert sorted(json.loads(a)["n"] for a in answers) == list(range(31, 71))
    assert srv.most_open <= 4 and p.opened <= 4
    await p.close()


async def test_an_idle_connection_the_server_closed_is_not_written_to(
    server: tuple[Server, int],
) -> None:
    """Adversary: a server (or a NAT) that drops idle keep-alive connections without a word."""
    srv, port = server

    async def answer_then_hang_up(ex: Exchange) -> None:
        await ex.answer()
        ex.writer.close()

    srv.handler = answer_then_hang_up
    p = pool(port, size=1)
    await post(p)
    await asyncio.sleep(0.05)  # the FIN arrives while the connection is idle
    assert json.loads(await post(p)) == {"n": 2}
    assert p.opened == 2


async def test_connection_close_chunked_and_eof_delimited_answers(
    server: tuple[Server, int],
) -> None:
    srv, port = server

    async def varied(ex: Exchange) -> None:
        if ex.number == 1:
            await ex.answer(extra="Connection: close\r\n")
            ex.writer.close()
        elif ex.number == 2:
            ex.writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b'4\r\n{"ok\r\n5\r\n":tru\r\n2\r\ne}\r\n0\r\n\r\n'
            )
        else:  # no length: the answer ends with the connection (HTTP/1.0 style)
            ex.writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"eof":')
            await ex.writer.drain()
            await asyncio.sleep(0.02)
            ex.writer.write(b"1}")
            ex.writer.close()

    srv.handler = varied
    p = pool(port, size=1)
    assert json.loads(await post(p)) == {"n": 1}
    assert json.loads(await post(p)) == {"ok": True}
    assert json.loads(await post(p)) == {"eof": 1}
    assert p.opened == 2  # the first said close; the chunked one stayed open for the third


async def test_a_late_answer_never_becomes_the_next_calls_answer(
    server: tuple[Server, int],
) -> None:
    """Adversary: a slow server that answers after the bot gave up on the call."""
    srv, port = server
    hung_up: list[bool] = []

    async def slow_first(ex: Exchange) -> None:
        if ex.number == 1:
            await asyncio.sleep(0.3)
            hung_up.append(ex.reader.at_eof())  # before the late answer is written
        await ex.answer()

    srv.handler = slow_first
    p = pool(port, size=1)
    with pytest.raises(http11.Unanswered):
        await post(p, read_timeout=0.1)
    assert json.loads(await post(p)) == {"n": 2}
    assert p.opened == 2
    await asyncio.sleep(0.35)
    assert hung_up == [True], "the connection given up on is closed at once, not left open"


async def test_a_cancelled_call_frees_its_slot_and_leaves_no_answer_behind(
    server: tuple[Server, int],
) -> None:
    """Adversary: shutdown (or a caller's timeout) cancelling a call in flight."""
    srv, port = server
    release = srv.hold(first_only=True)
    p = pool(port, size=1)
    call = await in_flight(srv, p)
    call.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await call
    release.set()
    assert json.loads(await post(p)) == {"n": 2}
    await until(srv, lambda: srv.open_now == 1, "the cancelled call's connection is closed")


async def test_a_call_in_flight_at_shutdown_is_answered_and_its_connection_closed(
    server: tuple[Server, int],
) -> None:
    """Adversary: the bot stopping while a send is in flight. The send still gets its
    answer; its connection is closed afterwards, not kept by a pool that is gone."""
    srv, port = server
    release = srv.hold()
    p = pool(port, size=2)
    call = await in_flight(srv, p)
    await p.close()
    release.set()
    assert json.loads(await call) == {"n": 1}
    await until(srv, lambda: srv.open_now == 0, "the connection is closed after its answer")


async def test_garbage_and_out_of_turn_data_break_only_their_connection(
    server: tuple[Server, int],
) -> None:
    srv, port = server

    async def odd(ex: Exchange) -> None:
        if ex.number == 1:
            ex.writer.write(b"HTTP/1.1 2xx Fine\r\n\r\n")
        elif ex.number == 2:
            await ex.answer()
            await asyncio.sleep(0.01)
            ex.writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
        else:
            await ex.answer()

    srv.handler = odd
    p = pool(port, size=1)
    with pytest.raises(http11.Broken, match="could not be read"):
        await post(p)
    await post(p)  # number 2, then the server talks out of turn on the idle connection
    await asyncio.sleep(0.05)
    assert json.loads(await post(p)) == {"n": 3}
    assert p.opened == 3


async def test_a_connection_closed_mid_answer_is_broken_not_answered(
    server: tuple[Server, int],
) -> None:
    """Adversary: a proxy that cuts the connection halfway through the answer."""
    srv, port = server

    async def cut(ex: Exchange) -> None:
        ex.writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"ok":')
        await ex.writer.drain()
        ex.writer.close()

    srv.handler = cut
    with pytest.raises(http11.Broken, match="closed before the whole answer"):
        await post(pool(port))


async def test_a_full_pool_times_out_without_sending(server: tuple[Server, int]) -> None:
    srv, port = server
    release = srv.hold()
    p = pool(port, size=1)
    first = await in_flight(srv, p)
    with pytest.raises(http11.NotSentTimeout, match="pool timeout"):
        await p.post("/x", b"{}", JSON, pool_timeout=0.1, connect_timeout=1, read_timeout=1)
    assert srv.requests == 1
    release.set()
    await first


async def test_idle_connections_age_out(server: tuple[Server, int]) -> None:
    now = [100.0]
    _, port = server
    p = pool(port, size=1, clock=lambda: now[0])
    await post(p)
    now[0] += http11.KEEPALIVE_S - 1
    await post(p)
    assert p.opened == 1
    now[0] += http11.KEEPALIVE_S
    await post(p)
    assert p.opened == 2


async def test_a_tls_handshake_that_never_ends_is_a_connect_timeout() -> None:
    """Adversary: a middlebox that accepts the TCP connection and then says nothing."""
    silent: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    tcp = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    async with tcp:
        p = http11.Pool(http11.Origin("https", "127.0.0.1", port), 1, user_agent="test")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(http11.NotSentTimeout, match="connect timeout"):
            await p.post("/x", b"{}", JSON, pool_timeout=1, connect_timeout=0.2, read_timeout=1)
        assert loop.time() - started < 1.0
        for writer in silent:
            writer.close()


CERTS = Path(__file__).resolve().parent / "certs"  # made once: certs/README.md


async def tls_server(srv: Server, cert: str) -> asyncio.Server:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERTS / f"{cert}.pem")
    return await asyncio.start_server(srv.serve, "127.0.0.1", 0, ssl=context)


async def test_tls_is_verified_and_its_connections_reused() -> None:
    """api.telegram.org is HTTPS: the calls go over TLS, reuse it, and refuse a server whose
    certificate is not trusted or names another host (a man in the middle)."""
    srv = Server()
    for cert, trusted, outcome in (
        ("loopback", True, "answered"),
        ("loopback", False, "certificate verify failed"),
        ("other-host", True, "certificate verify failed"),
    ):
        tcp = await tls_server(srv, cert)
        port = tcp.sockets[0].getsockname()[1]
        client = ssl.create_default_context()
        if trusted:
            client.load_verify_locations(CERTS / "ca.pem")
        p = http11.Pool(
            http11.Origin("https", "127.0.0.1", port), 2, user_agent="test", ssl_context=client
        )
        async with tcp:
            if outcome == "answered":
                for _ in range(5):
                    assert "n" in json.loads(await post(p))
                assert p.opened == 1
            else:
                with pytest.raises(http11.NotSent, match=outcome):
                    await post(p)
            await p.close()
            tcp.close()


async def test_ptb_sees_its_own_errors_and_never_the_token(server: tuple[Server, int]) -> None:
    """Through PTB: a refused connection, a cut answer and a late one, as TimedOut /
    NetworkError; no message or cause in the chain names the path with the token."""
    srv, port = server

    async def cut_or_slow(ex: Exchange) -> None:
        if ex.number == 1:
            ex.writer.close()
        else:
            await asyncio.sleep(1.0)

    srv.handler = cut_or_slow
    errors: list[BaseException] = []
    for url in (f"http://127.0.0.1:{port}/bot", "http://127.0.0.1:1/bot"):
        backend = ApiRequest(2, read_timeout=0.2)
        await backend.initialize()
        for _ in range(2):
            with pytest.raises(NetworkError) as caught:
                await backend.post(f"{url}{TOKEN}/sendMessage", None)
            errors.append(caught.value)
        await backend.shutdown()
    kinds = [type(e) for e in errors]
    assert kinds[0] is NetworkError and kinds[1] is AnswerTimedOut
    assert kinds[2] is NetworkError and kinds[3] is NetworkError
    assert isinstance(errors[1], TimedOut)
    for err in errors:
        chain: BaseException | None = err
        while chain is not None:
            assert TOKEN not in str(chain) and TOKEN not in repr(chain)
            chain = chain.__cause__ or chain.__context__


async def test_the_bot_api_through_both_paths_agrees(sandbox: Sandbox) -> None:
    """The same calls through http11 and through aiohttp alone: the same answers."""
    sandbox.user(81, "Ida")
    texts = []
    for over_aiohttp in (False, True):
        backend = ApiRequest(4, json_over_aiohttp=over_aiohttp)
        bot = Bot(sandbox.token, base_url=sandbox.base_url, request=backend)
        await bot.initialize()
        try:
            sent = await asyncio.gather(*(bot.send_message(81, f"Привет {i}") for i in range(8)))
            texts.append(sorted(str(m.text) for m in sent))
        finally:
            await bot.shutdown()
    assert texts[0] == texts[1] == sorted(f"Привет {i}" for i in range(8))
