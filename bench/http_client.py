"""CPU per Bot API call of PTB's default HTTP client (httpx), aiohttp, and the bot's own JSON
path (``http11``: ``bot.wiring.http11`` under ``ApiRequest``, what the bot uses).

The sandbox runs in a subprocess so that only the client's CPU is counted. Workers call
``bot.send_message`` in a loop; "concurrent" is how many calls are in flight at once (an
nfpbot button press makes three at once, so 24 updates in flight can mean 72 calls).

``.venv/bin/python -m bench.http_client``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from typing import Any

from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

from bench.harness import ROOT, write_json
from bot.wiring.request import ApiRequest

TOKEN = "123456:TEST-token"
CHATS = 100
CLIENTS = ("httpx", "aiohttp", "http11")


async def serve(port: int, rtt: float) -> None:
    """The sandbox on ``port`` until stdin closes."""
    from sandbox import Sandbox

    async with Sandbox(TOKEN, rtt=rtt, port=port, enforce_rate_limits=False) as sb:
        for chat in range(1, CHATS + 1):
            sb.user(chat)
        print(sb.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def measure(
    client: str, concurrent: int, calls: int, budget: float, base_url: str
) -> dict[str, Any]:
    """CPU ms per call and calls per second for one client and level of concurrency.

    Stops after ``calls`` calls or ``budget`` seconds, whichever comes first.
    """
    request: BaseRequest = (
        HTTPXRequest(connection_pool_size=concurrent + 8, pool_timeout=10.0)
        if client == "httpx"
        else ApiRequest(concurrent + 8, json_over_aiohttp=client == "aiohttp")
    )
    bot = Bot(TOKEN, base_url=base_url, request=request)
    await bot.initialize()
    per_worker = max(1, calls // concurrent)
    stop = time.perf_counter() + budget
    done = 0

    async def worker(w: int) -> None:
        nonlocal done
        for i in range(per_worker):
            if time.perf_counter() > stop:
                return
            await bot.send_message(1 + w % CHATS, f"message {i}")
            done += 1

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrent)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await bot.shutdown()
    return {
        "client": client,
        "concurrent_calls": concurrent,
        "calls": done,
        "cpu_ms_per_call": round(cpu / done * 1000, 3),
        "calls_per_s": round(done / wall, 1),
    }


async def main_async(args: argparse.Namespace) -> None:
    """For each RTT, start a sandbox subprocess and measure each client at each concurrency."""
    rows = []
    for rtt in [float(x) for x in args.rtt.split(",")]:
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.http_client",
            "--serve",
            str(rtt),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert server.stdout is not None
            port = int(await asyncio.wait_for(server.stdout.readline(), 30))
            for concurrent in [int(x) for x in args.concurrent.split(",")]:
                for client in CLIENTS:
                    url = f"http://127.0.0.1:{port}/bot"
                    row = await measure(client, concurrent, args.calls, args.budget, url)
                    row["rtt_ms"] = round(rtt * 1000)
                    rows.append(row)
                    print(
                        f"RTT {row['rtt_ms']:>3} ms  {client:<8} {concurrent:>3} concurrent  "
                        f"{row['cpu_ms_per_call']:6.2f} ms CPU/call  {row['calls_per_s']:>7,.0f}/s",
                        flush=True,
                    )
        finally:
            assert server.stdin is not None
            server.stdin.close()
            try:
                await asyncio.wait_for(server.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    server.kill()
                await server.wait()
    if args.out:
        print(f"\nwritten {write_json(args.out, {'benchmark': 'http_client', 'results': rows})}")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt", default="0,0.05", help="round trips in seconds (0,0.05)")
    parser.add_argument("--concurrent", default="1,24,72", help="calls in flight (1,24,72)")
    parser.add_argument("--calls", type=int, default=2880, help="calls per measurement (2880)")
    parser.add_argument("--budget", type=float, default=6.0, help="seconds per measurement (6)")
    parser.add_argument("--out", default="http_client.json", help="file in bench/results")
    parser.add_argument("--serve", type=float, metavar="RTT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(0, args.serve))
    else:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
