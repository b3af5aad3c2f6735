"""Prompt storm: 2,000 NFPs prompted at one moment, while some of them tap the prompt.

The real bot runs as a subprocess (``python -m bot … run``) against a local sandbox Bot API
that enforces Telegram's flood control (a rolling 1-second window of ``--limits`` messages,
20/min per group) at a simulated round trip (``--rtt``, 50 ms). Its config puts the weekly
prompt two minutes in the past, so the start-up tick queues every NFP's prompt at once, as
the Monday 09:00 job does. ``--tappers`` of the NFPs (spread through the queue) press the
prompt's "Start the report" the moment it arrives; their reply latency is from the press
(the callback queued in the sandbox) to the bot's next message in that chat.

Printed and written to ``bench/results/prompt_storm.json``: time from the first prompt to
the last, the achieved prompt rate and all messages' rate ÷ the limit, the 429s the sandbox
gave, and p50/p95/max reply latency (replies that never came count as unanswered).

``.venv/bin/python -m bench.prompt_storm [--limits 30,100] [--runs 3] [--bot-root DIR]``
(``--bot-root`` runs another checkout's bot, e.g. the code before the pacer, with this
venv; ``--label`` names it in the results.)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import (
    ROOT,
    BotProcess,
    Machine,
    TimedSandbox,
    create_nfps,
    percentile,
    real_countries,
    write_bench_config,
    write_json,
)

FIRST_USER_ID = 300_001
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PROMPT_BUTTON = "Start the report"


def write_storm_config(folder: Path, countries: list[str], limit: int | None) -> Path:
    """The bench config with its prompt two minutes ago (deadline and digest days later).

    ``limit`` goes into ``bot.messages_per_second``; None leaves the key out (code before
    it existed, which refuses unknown keys).
    """
    path = write_bench_config(folder, countries, dt.date.today())
    prompt = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    if prompt.weekday() >= 5:  # the week must not end between prompt and deadline
        raise SystemExit("run on a weekday (UTC): the storm's week must hold its deadline")
    deadline = prompt + dt.timedelta(minutes=30)
    digest = prompt + dt.timedelta(minutes=40)

    def at(t: dt.datetime) -> str:
        return f"{_WEEKDAYS[t.weekday()]} {t:%H:%M}"

    text = path.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("prompt = "):
            line = f'prompt = "{at(prompt)}"'
        elif line.startswith("deadline = "):
            line = f'deadline = "{at(deadline)}"'
        elif line.startswith("digest = "):
            line = f'digest = "{at(digest)}"'
        elif line == 'log_level = "INFO"' and limit is not None:
            line += f"\nmessages_per_second = {limit}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Run:
    """One storm."""

    label: str
    limit: int
    nfps: int
    prompts: int
    first_prompt_s: float | None  # from the bot's first call
    storm_s: float | None  # first prompt to last
    messages_in_storm: int
    latencies: list[float]
    unanswered: int
    refusals: dict[str, int]
    errors: dict[str, int]
    bot_cpu: float

    def summary(self) -> dict[str, Any]:
        rate = (self.prompts - 1) / self.storm_s if self.storm_s else None
        all_rate = (self.messages_in_storm - 1) / self.storm_s if self.storm_s else None
        lat = sorted(self.latencies)
        return {
            "code": self.label,
            "limit_per_s": self.limit,
            "nfps": self.nfps,
            "prompts_delivered": self.prompts,
            "first_prompt_after_s": _r(self.first_prompt_s),
            "time_to_last_prompt_s": _r(self.storm_s),
            "prompt_rate_per_s": _r(rate, 1),
            "prompt_rate_over_limit": _r(rate / self.limit if rate else None, 3),
            "all_messages_rate_over_limit": _r(all_rate / self.limit if all_rate else None, 3),
            "flood_429s": sum(self.refusals.values()),
            "flood_429s_by_limit": self.refusals,
            "sandbox_errors": self.errors,
            "tappers_answered": len(lat),
            "tappers_unanswered": self.unanswered,
            "reply_latency_ms": {
                "p50": _ms(percentile(lat, 50)),
                "p95": _ms(percentile(lat, 95)),
                "max": _ms(lat[-1] if lat else None),
            },
            "bot_cpu_s": _r(self.bot_cpu),
        }


def _r(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


def _ms(x: float | None) -> int | None:
    return None if x is None else round(x * 1000)


async def tap_when_prompted(
    sb: TimedSandbox, user_id: int, cutoff: float, out: list[float]
) -> bool:
    """Press the prompt's button as it arrives; the time to the bot's next message."""
    user = sb.user(user_id)
    events = sb.events[user_id]
    seen = 0
    while True:  # the prompt
        prompt = next((e for e in events[seen:] if e[1].kind == "sent" and e[1].buttons), None)
        if prompt is not None:
            break
        seen = len(events)
        if time.monotonic() >= cutoff:
            return False
        await sb.wait_chat(user_id, cutoff - time.monotonic())
    seen = len(events)
    await user.press(PROMPT_BUTTON)
    pressed = time.monotonic()
    while len(events) == seen:
        if time.monotonic() >= cutoff:
            return False
        await sb.wait_chat(user_id, cutoff - time.monotonic())
    out.append(events[seen][0] - pressed)
    return True


async def storm(
    setup: argparse.Namespace, template: Path, limit: int, run_no: int, folder: Path
) -> Run:
    name = f"{setup.label}-limit{limit}-run{run_no}"
    config = write_storm_config(folder, setup.countries, None if setup.no_limit_key else limit)
    db = folder / f"{name}.sqlite3"
    shutil.copyfile(template, db)
    async with TimedSandbox(rtt=setup.rtt, enforce_rate_limits=True, global_per_second=limit) as sb:
        ids = list(range(FIRST_USER_ID, FIRST_USER_ID + setup.nfps))
        for uid in ids:
            sb.user(uid, f"NFP {uid}")
        step = max(1, setup.nfps // max(setup.tappers, 1))
        tappers = ids[step // 2 :: step][: setup.tappers]
        env = {"NFPBOT_TOKEN": sb.token, "NFPBOT_DB": str(db)}
        argv = [sys.executable, "-m", "bot", "--config", str(config), "run"]
        argv += ["--api-url", sb.base_url]
        log_path = folder / f"{name}.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=setup.bot_root,
                env={**os.environ, **env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        bot = BotProcess(proc, log_path)
        started = time.monotonic()
        cutoff = started + setup.timeout
        latencies: list[float] = []
        try:
            taps = [
                asyncio.ensure_future(tap_when_prompted(sb, uid, cutoff, latencies))
                for uid in tappers
            ]

            def prompted() -> int:
                return sum(
                    1
                    for uid in ids
                    if any(e[1].buttons and e[1].kind == "sent" for e in sb.events[uid])
                )

            while prompted() < setup.nfps and time.monotonic() < cutoff:
                if proc.returncode is not None:
                    raise RuntimeError(f"bot exited; see {log_path}:\n{bot.tail()}")
                await asyncio.sleep(0.25)
            await asyncio.wait(taps, timeout=max(cutoff - time.monotonic(), 1.0))
            answered = sum(1 for t in taps if t.done() and t.result())
            for t in taps:
                t.cancel()
            cpu = bot.cpu_seconds()
        finally:
            await bot.stop()
        if setup.dump:
            import json

            lines = [json.dumps([c.method, c.at, c.status, c.chat_id]) for c in sb.calls]
            Path(setup.dump).write_text("\n".join(lines) + "\n")  # noqa: ASYNC240
        first_call = next((c.at for c in sb.calls if c.method.lower() != "getme"), started)
        prompt_times = sorted(
            next(at for at, m in sb.events[uid] if m.kind == "sent" and m.buttons)
            for uid in ids
            if any(m.kind == "sent" and m.buttons for _, m in sb.events[uid])
        )
        first, last = (prompt_times[0], prompt_times[-1]) if prompt_times else (None, None)
        in_storm = 0
        if first is not None and last is not None:
            in_storm = sum(
                1
                for evs in sb.events.values()
                for at, m in evs
                if m.kind == "sent" and first <= at <= last
            )
        return Run(
            label=setup.label,
            limit=limit,
            nfps=setup.nfps,
            prompts=len(prompt_times),
            first_prompt_s=None if first is None else first - first_call,
            storm_s=None if first is None or last is None else last - first,
            messages_in_storm=in_storm,
            latencies=latencies,
            unanswered=len(tappers) - answered,
            refusals=dict(sb.limiter.refused),
            errors={str(k): v for k, v in sorted(sb.stats["errors"].items())},
            bot_cpu=cpu,
        )


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the numeric fields over runs (per key; nested latency too)."""

    def med(values: list[Any]) -> Any:
        nums = [v for v in values if isinstance(v, int | float)]
        return statistics.median(nums) if nums else values[0]

    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, dict) and key == "reply_latency_ms":
            out[key] = {k: med([r[key][k] for r in runs]) for k in value}
        elif isinstance(value, dict):
            out[key] = runs[-1][key]
        else:
            out[key] = med([r[key] for r in runs])
    return out


async def main_async(args: argparse.Namespace) -> None:
    args.countries = real_countries()
    folder = Path(tempfile.mkdtemp(prefix="prompt-storm-"))
    try:
        config = write_storm_config(folder, args.countries, None)
        template = folder / "template.sqlite3"
        nfps = [
            (
                FIRST_USER_ID + i,
                args.countries[i % len(args.countries)],
                "main" if i < len(args.countries) else "alternate",
            )
            for i in range(args.nfps)
        ]
        t0 = time.monotonic()
        await create_nfps(config, template, nfps)
        print(f"seeded {args.nfps} NFPs in {time.monotonic() - t0:.1f} s", flush=True)
        results: list[dict[str, Any]] = []
        for limit in args.limits:
            runs = []
            for n in range(args.runs):
                run = await storm(args, template, limit, n, folder)
                row = run.summary()
                runs.append(row)
                print(_line(row), flush=True)
            results.append({"median": median_row(runs), "runs": runs})
        print("\nmedians:")
        for r in results:
            print(_line(r["median"]))
        data = {
            "benchmark": "prompt_storm",
            "machine": Machine.here().as_dict(),
            "load_avg": list(os.getloadavg()),
            "rtt_ms": round(args.rtt * 1000),
            "nfps": args.nfps,
            "tappers": args.tappers,
            "bot_root": str(args.bot_root),
            "commit": _commit(args.bot_root),
            "results": results,
        }
        if args.write:
            print(f"\nwrote {write_json(args.out, data)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _commit(root: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _line(r: dict[str, Any]) -> str:
    lat = r["reply_latency_ms"]
    return (
        f"{r['code']:>8} limit {r['limit_per_s']:>4}/s: {r['prompts_delivered']} prompts, "
        f"last after {r['time_to_last_prompt_s']} s, rate/limit {r['prompt_rate_over_limit']}"
        f" (all msgs {r['all_messages_rate_over_limit']}), 429s {r['flood_429s']}, "
        f"{r['flood_429s_by_limit']} replies {r['tappers_answered']} "
        f"(unanswered {r['tappers_unanswered']}) "
        f"p50 {lat['p50']} p95 {lat['p95']} max {lat['max']} ms"
    )


def main() -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nfps", type=int, default=2000)
    parser.add_argument("--tappers", type=int, default=200)
    parser.add_argument("--rtt", type=float, default=0.05)
    parser.add_argument(
        "--limits", type=lambda s: [int(x) for x in s.split(",")], default=[30, 100]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=240.0, help="per storm, seconds")
    parser.add_argument("--bot-root", type=Path, default=ROOT)
    parser.add_argument("--label", default="pacer")
    parser.add_argument(
        "--no-limit-key", action="store_true", help="omit bot.messages_per_second (old code)"
    )
    parser.add_argument("--out", default="prompt_storm.json")
    parser.add_argument("--dump", help="write every call (method, at, status, chat) here")
    parser.add_argument("--no-write", dest="write", action="store_false")
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
