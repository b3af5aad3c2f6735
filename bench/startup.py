"""Start-up cost: ``nfpbot --help``, time to the first getUpdates, idle memory.

* ``nfpbot --help``: wall time of the console script as a subprocess (best and median of 10);
  ``python -c pass`` is measured the same way as the floor.
* ``run``: from spawning ``python -m bot run --api-url URL`` (shipped ``config.toml``, a temp
  database) until the sandbox receives the first ``getUpdates``. The first start creates
  and migrates the database and is reported on its own; then the median of 5 restarts.
* idle memory: VmRSS and VmHWM (peak) from /proc/PID/status after ~3 s of polling idle.

The bare PTB echo bot is measured the same way as a reference.

``.venv/bin/python -m bench.startup``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    ROOT,
    BotProcess,
    Machine,
    TimedSandbox,
    echo_argv,
    nfpbot_argv,
    nfpbot_script,
    write_json,
)


def time_command(argv: list[str], runs: int) -> dict[str, Any]:
    """Best and median wall time of ``argv`` run to completion ``runs`` times."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL)
        # wait() with a timeout polls with sleeps of up to 50 ms: kill from a timer instead
        watchdog = threading.Timer(60, proc.kill)
        watchdog.start()
        code = proc.wait()
        times.append(time.perf_counter() - start)
        watchdog.cancel()
        if code != 0:
            raise RuntimeError(f"{argv} exited with {code}")
    return {
        "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv)),
        "runs": runs,
        "best_ms": round(min(times) * 1000, 1),
        "median_ms": round(statistics.median(times) * 1000, 1),
    }


async def start_once(
    argv_for: Any, env: dict[str, str], log: Path, idle: float
) -> tuple[float, dict[str, int], int]:
    """Spawn the bot; (seconds to the first getUpdates, memory after ``idle`` s, exit code)."""
    async with TimedSandbox() as sb:
        started = time.monotonic()
        bot = await BotProcess.start(argv_for(sb.base_url), {"NFPBOT_TOKEN": sb.token, **env}, log)
        try:
            first_poll = await bot.wait_polling(sb, timeout=60)
            memory: dict[str, int] = {}
            if idle > 0:
                await asyncio.sleep(idle)
                memory = bot.memory_kib()
        finally:
            code = await bot.stop()
    return first_poll - started, memory, code


async def measure_run(
    name: str, argv_for: Any, env: dict[str, str], folder: Path, restarts: int, idle: float
) -> dict[str, Any]:
    """A first start, then ``restarts`` restarts (the last one also idles for memory)."""
    log = folder / f"{name}.log"
    first, _, first_code = await start_once(argv_for, env, log, 0)
    times: list[float] = []
    codes = [first_code]
    memory: dict[str, int] = {}
    for i in range(restarts):
        last = i == restarts - 1
        seconds, mem, code = await start_once(argv_for, env, log, idle if last else 0)
        times.append(seconds)
        codes.append(code)
        memory = mem or memory
    return {
        "bot": name,
        "first_start_to_getupdates_ms": round(first * 1000),
        "restarts": restarts,
        "restart_to_getupdates_median_ms": round(statistics.median(times) * 1000),
        "restart_to_getupdates_best_ms": round(min(times) * 1000),
        "idle_after_s": idle,
        "idle_rss_mib": round(memory.get("VmRSS", 0) / 1024, 1),
        "peak_rss_mib": round(memory.get("VmHWM", 0) / 1024, 1),
        "exit_codes": sorted(set(codes)),
    }


async def main_async(args: argparse.Namespace) -> None:
    """Measure, print, save."""
    help_runs = [
        time_command([sys.executable, "-c", "pass"], args.runs),
        time_command([str(nfpbot_script()), "--help"], args.runs),
    ]
    config = ROOT / "config.toml"
    with tempfile.TemporaryDirectory(prefix="nfpbot-startup-") as tmp:
        folder = Path(tmp)
        runs = [
            await measure_run(
                "nfpbot",
                lambda url: nfpbot_argv(config, url),
                {"NFPBOT_DB": str(folder / "nfpbot.sqlite3")},
                folder,
                args.restarts,
                args.idle,
            ),
            await measure_run("echo", echo_argv, {}, folder, args.restarts, args.idle),
        ]
    print(f"{'command':<28} {'best ms':>8} {'median ms':>10}")
    for h in help_runs:
        print(f"{h['command']:<28} {h['best_ms']:>8.1f} {h['median_ms']:>10.1f}")
    print()
    print(
        f"{'bot':<7} {'first start ms':>14} {'restart ms (median)':>20} "
        f"{'idle RSS MiB':>13} {'peak RSS MiB':>13}"
    )
    for r in runs:
        print(
            f"{r['bot']:<7} {r['first_start_to_getupdates_ms']:>14} "
            f"{r['restart_to_getupdates_median_ms']:>20} {r['idle_rss_mib']:>13.1f} "
            f"{r['peak_rss_mib']:>13.1f}"
        )
    if args.out:
        path = write_json(
            args.out,
            {
                "benchmark": "startup",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": Machine.here().as_dict(),
                "help": help_runs,
                "run": runs,
                "notes": "run = python -m bot --config config.toml run --api-url <sandbox>; "
                "first start creates and migrates the database",
            },
        )
        print(f"\nwritten {path}")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="--help runs (10)")
    parser.add_argument("--restarts", type=int, default=5, help="restarts timed (5)")
    parser.add_argument("--idle", type=float, default=3.0, help="idle seconds before RSS (3)")
    parser.add_argument(
        "--out", default="startup.json", help="file name in bench/results ('' to skip)"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
