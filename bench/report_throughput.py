"""Questionnaire throughput: nfpbot (default and sequential) against a bare PTB echo bot.

At each simulated round trip (``--rtt``), three bots run in turn as subprocesses against a
local sandbox Bot API:

* ``echo``: ``bench/echo_bot.py``; N users each send K texts, each waiting for its echo;
* ``nfpbot``: the real bot, default concurrency; N NFPs answer the whole questionnaire
  (12 updates each: /report, 4 numbers, 2 choices, a toggle, Done, 2 texts, confirm);
* ``nfpbot-seq``: the same with ``--concurrency 1`` (one update at a time, like PTB's default).

Every simulated user starts at once and answers as soon as the previous reply arrives; with
``--think S`` each user pauses 0.5-1.5 x S before each update instead (the first included),
which keeps the load below saturation to see latency rather than queueing. Latency runs from
the moment an update is queued in the sandbox to the reply message (for the toggle: the
keyboard edit) reaching the sandbox.
A phase ends when every user is done or after ``--phase-timeout`` seconds; answers still
waiting then count as "unanswered" and make the percentiles lower bounds (shown as ``≥``).

``.venv/bin/python -m bench.report_throughput [--rtt 0.05,0] [--nfps 500]``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import (
    BotProcess,
    ChatReader,
    Machine,
    TimedSandbox,
    create_nfps,
    echo_argv,
    nfpbot_argv,
    percentile,
    real_countries,
    write_bench_config,
    write_json,
)
from bot.wiring.app import DEFAULT_CONCURRENCY
from sandbox import SimUser

VARIANTS = ("echo", "nfpbot", "nfpbot-seq")
FIRST_USER_ID = 100_001

# (action, argument, expected reply kind) after the opening command
QUESTIONNAIRE: list[tuple[str, str, str]] = [
    ("send", "1 234", "sent"),  # new_cases
    ("send", "5", "sent"),  # new_deaths
    ("send", "10 000", "sent"),  # tests
    ("send", "40", "sent"),  # hospitalised
    ("press", "Targeted measures", "sent"),  # measures
    ("press", "Adequate", "sent"),  # lab_capacity
    ("press", "▫️ Test kits", "edited"),  # needs: the toggle edits the keyboard in place
    ("press", "Done", "sent"),
    ("send", "Laboratory biosafety", "sent"),  # training
    ("send", "Vaccination of health workers started.", "sent"),  # developments
    ("press", "✅ Confirm and send", "sent"),  # review
]


@dataclass
class UserRun:
    """What one simulated user saw."""

    latencies: list[float] = field(default_factory=list)
    last_reply_at: float = 0.0
    unanswered: float | None = None  # how long the last update had waited at the cutoff
    completed: bool = False
    error: str | None = None


@dataclass
class Phase:
    """One bot at one round trip."""

    variant: str
    rtt: float
    users: int
    updates_per_user: int
    runs: list[UserRun]
    wall: float
    bot_cpu: float
    driver_cpu: float
    quiet_wait: float
    stats_before: dict[str, Any]
    stats_after: dict[str, Any]
    exit_code: int

    def summary(self) -> dict[str, Any]:
        """The numbers for the table and the JSON file."""
        latencies = sorted(x for r in self.runs for x in r.latencies)
        censored = [r.unanswered for r in self.runs if r.unanswered is not None]
        # an unanswered update waited at least this long: include it as a lower bound
        sample = sorted(latencies + censored)
        errors = _diff(self.stats_after["errors"], self.stats_before["errors"])
        calls = _diff(self.stats_after["methods"], self.stats_before["methods"])
        user_errors = [r.error for r in self.runs if r.error]
        return {
            "bot": self.variant,
            "rtt_ms": round(self.rtt * 1000),
            "users": self.users,
            "updates_per_user": self.updates_per_user,
            "answered": len(latencies),
            "unanswered": len(censored),
            "users_completed": sum(r.completed for r in self.runs),
            "answers_per_s": round(len(latencies) / self.wall, 1) if self.wall else None,
            "latency_ms": {
                "p50": _ms(percentile(sample, 50)),
                "p95": _ms(percentile(sample, 95)),
                "max": _ms(sample[-1] if sample else None),
                "lower_bound": bool(censored),
            },
            "wall_s": round(self.wall, 2),
            "sandbox_errors": {str(k): v for k, v in sorted(errors.items())},
            "user_errors": len(user_errors),
            "first_user_error": user_errors[0] if user_errors else None,
            "api_calls": dict(sorted(calls.items())),
            "bot_cpu_s": round(self.bot_cpu, 2),
            "bot_cpu_ms_per_answer": (
                round(self.bot_cpu / len(latencies) * 1000, 2) if latencies else None
            ),
            "driver_cpu_s": round(self.driver_cpu, 2),
            "idle_wait_before_s": round(self.quiet_wait, 1),
            # what the bot did from start until the load began (nothing but polling expected)
            "calls_before_load": dict(sorted(self.stats_before["methods"].items())),
            "sandbox_errors_before_load": self.stats_before["errors"],
            "bot_exit_code": self.exit_code,
        }


def _diff(after: dict[Any, int], before: dict[Any, int]) -> dict[Any, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


# ------------------------------------------------------------------ simulated users


async def _step(
    user: SimUser,
    reader: ChatReader,
    run: UserRun,
    action: str,
    arg: str,
    expect: str,
    cutoff: float,
) -> str | None:
    """Send or press, wait for the reply; its text, or None (run updated on failure)."""
    queued = time.monotonic()
    if queued >= cutoff:
        return None  # the phase is over: not sent, so not unanswered either
    try:
        if action == "send":
            await user.send(arg)
        else:
            await user.press(arg)
    except LookupError as err:
        run.error = f"{type(err).__name__}: {err}"[:300]
        return None
    got = await reader.expect(expect, cutoff, with_buttons=expect == "edited")
    if got is None:
        run.unanswered = cutoff - queued
        return None
    at, msg = got
    run.latencies.append(at - queued)
    run.last_reply_at = at
    return msg.text or ""


async def _pause(think: float, rng: random.Random) -> None:
    if think > 0:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def nfp_user(
    sb: TimedSandbox, user_id: int, previous: bool, cutoff: float, think: float
) -> UserRun:
    """One NFP: /report (or /report last), the whole questionnaire, confirm."""
    run, reader, rng = UserRun(), ChatReader(sb, user_id), random.Random(user_id)
    user = sb.user(user_id, f"NFP {user_id}")
    await _pause(think, rng)
    text = await _step(
        user, reader, run, "send", "/report last" if previous else "/report", "sent", cutoff
    )
    if text is None:
        return run
    if "Question 1 of" not in text:
        run.error = f"unexpected first screen: {text[:200]!r}"
        return run
    for action, arg, expect in QUESTIONNAIRE:
        await _pause(think, rng)
        text = await _step(user, reader, run, action, arg, expect, cutoff)
        if text is None:
            return run
    run.completed = "Thank you" in text
    if not run.completed:
        run.error = f"unexpected last screen: {text[:200]!r}"
    return run


async def echo_user(
    sb: TimedSandbox, user_id: int, messages: int, cutoff: float, think: float
) -> UserRun:
    """One user sending ``messages`` texts, each after the previous echo."""
    run, reader, rng = UserRun(), ChatReader(sb, user_id), random.Random(user_id)
    user = sb.user(user_id, f"User {user_id}")
    for i in range(messages):
        await _pause(think, rng)
        sent = f"echo {user_id} {i}"
        text = await _step(user, reader, run, "send", sent, "sent", cutoff)
        if text is None:
            return run
        if text != sent:
            run.error = f"wrong echo {text!r} for {sent!r}"
            return run
    run.completed = True
    return run


# ------------------------------------------------------------------ phases


@dataclass
class Setup:
    """What every phase shares: the temp folder, the bench config, the NFPs' database."""

    folder: Path
    config: Path
    db_template: Path
    nfps: int
    echo_messages: int
    phase_timeout: float
    think: float
    concurrency: int | None
    profile: Path | None


async def run_phase(setup: Setup, variant: str, rtt: float) -> Phase:
    """Start the bot, wait until it is polling and idle, let every user loose, stop it."""
    name = f"{variant}-rtt{round(rtt * 1000)}ms"
    async with TimedSandbox(rtt=rtt, enforce_rate_limits=False) as sb:
        env = {"NFPBOT_TOKEN": sb.token}
        if variant == "echo":
            argv = echo_argv(sb.base_url)
            updates_per_user = setup.echo_messages
        else:
            db = setup.folder / f"{name}.sqlite3"
            shutil.copyfile(setup.db_template, db)
            env["NFPBOT_DB"] = str(db)
            concurrency = 1 if variant == "nfpbot-seq" else setup.concurrency
            argv = nfpbot_argv(setup.config, sb.base_url, concurrency)
            updates_per_user = 1 + len(QUESTIONNAIRE)
            if setup.profile is not None and variant == "nfpbot":
                setup.profile.mkdir(parents=True, exist_ok=True)
                out = setup.profile / f"{name}.prof"
                argv = [sys.executable, "-m", "cProfile", "-o", str(out), *argv[1:]]
        bot = await BotProcess.start(argv, env, setup.folder / f"{name}.log")
        try:
            await bot.wait_polling(sb)
            quiet_wait = await bot.wait_quiet(sb)
            stats_before = sb.stats
            cpu_before = bot.cpu_seconds()
            driver_before = time.process_time()
            start = time.monotonic()
            cutoff = start + setup.phase_timeout
            ids = range(FIRST_USER_ID, FIRST_USER_ID + setup.nfps)
            if variant == "echo":
                coros = [
                    echo_user(sb, uid, setup.echo_messages, cutoff, setup.think) for uid in ids
                ]
            else:  # even: the country's main NFP, this week; odd: its alternate, last week
                coros = [
                    nfp_user(sb, uid, (uid - FIRST_USER_ID) % 2 == 1, cutoff, setup.think)
                    for uid in ids
                ]
            runs = await asyncio.gather(*coros)
            unfinished = any(r.unanswered is not None for r in runs)
            end = cutoff if unfinished else max((r.last_reply_at for r in runs), default=start)
            driver_cpu = time.process_time() - driver_before
            bot_cpu = bot.cpu_seconds() - cpu_before
            stats_after = sb.stats
        finally:
            code = await bot.stop(grace=15.0 if setup.profile else 5.0)
    return Phase(
        variant,
        rtt,
        setup.nfps,
        updates_per_user,
        list(runs),
        end - start,
        bot_cpu,
        driver_cpu,
        quiet_wait,
        stats_before,
        stats_after,
        code,
    )


async def prepare(folder: Path, nfps: int) -> tuple[Path, Path, int]:
    """Write the bench config and a database with the NFPs; (config, db, countries)."""
    countries = real_countries()
    if nfps > 2 * len(countries):
        raise SystemExit(f"--nfps: at most {2 * len(countries)} (two per country)")
    config = write_bench_config(folder, countries, dt.datetime.now(dt.UTC).date())
    # The sandbox enforces no flood limit here (enforce_rate_limits=False) and this bench
    # measures what the bot can process, so the bot's own budget (Telegram's 30 messages/s,
    # bot.messages_per_second, which replies share with the outbox) is raised out of the way;
    # bench.prompt_storm measures the bot at a limit the sandbox enforces.
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('log_level = "INFO"', 'log_level = "INFO"\nmessages_per_second = 1000', 1),
        encoding="utf-8",
    )
    db = folder / "template.sqlite3"
    people = [
        (FIRST_USER_ID + i, countries[i // 2], "main" if i % 2 == 0 else "alternate")
        for i in range(nfps)
    ]
    await create_nfps(config, db, people)
    return config, db, len(countries)


# ------------------------------------------------------------------ output


def _cell(value: float | None, bound: bool) -> str:
    if value is None:
        return "-"
    return ("≥" if bound else "") + f"{value:,.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a fixed-width table."""
    head = (
        f"{'RTT':>5} {'bot':<11} {'answered':>9} {'ans/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'max ms':>8} {'wall s':>7} {'unans.':>6} {'errors':>7} {'bot CPU':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lat, bound = r["latency_ms"], r["latency_ms"]["lower_bound"]
        errors = sum(r["sandbox_errors"].values()) + r["user_errors"]
        lines.append(
            f"{r['rtt_ms']:>3}ms {r['bot']:<11} "
            f"{r['answered']:>4}/{r['users'] * r['updates_per_user']:<4} "
            f"{r['answers_per_s']:>7,.1f} {_cell(lat['p50'], bound):>8} "
            f"{_cell(lat['p95'], bound):>8} {_cell(lat['max'], bound):>8} "
            f"{r['wall_s']:>7.1f} {r['unanswered']:>6} {errors:>7} {r['bot_cpu_s']:>6.1f}s"
        )
    return "\n".join(lines)


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, checked where the needed rows were measured."""
    by = {(r["rtt_ms"], r["bot"]): r for r in rows}
    out = []
    for (rtt_ms, bot), r in sorted(by.items()):
        if bot != "nfpbot":
            continue
        echo, seq = by.get((rtt_ms, "echo")), by.get((rtt_ms, "nfpbot-seq"))
        if rtt_ms > 0 and echo:
            ratio = r["answers_per_s"] / echo["answers_per_s"]
            out.append(
                {
                    "target": f"{rtt_ms} ms: throughput ≥ 10x echo",
                    "value": f"{ratio:.1f}x",
                    "met": ratio >= 10,
                }
            )
        if rtt_ms > 0:
            p95 = r["latency_ms"]["p95"]
            out.append(
                {
                    "target": f"{rtt_ms} ms: p95 < 3x RTT ({3 * rtt_ms} ms)",
                    "value": f"{p95} ms",
                    "met": p95 is not None and p95 < 3 * rtt_ms,
                }
            )
        if rtt_ms == 0 and seq:
            ratio = r["answers_per_s"] / seq["answers_per_s"]
            out.append(
                {
                    "target": "0 ms: not slower than sequential",
                    "value": f"{ratio:.2f}x sequential",
                    "met": ratio >= 1,
                }
            )
    return out


async def main_async(args: argparse.Namespace) -> None:
    """Prepare once, run every (RTT, bot) phase, print and save the results."""
    rtts = [float(x) for x in args.rtt.split(",") if x.strip()]
    variants = [v for v in args.bots.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            raise SystemExit(f"--bots: unknown {v!r}; choose from {', '.join(VARIANTS)}")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nfpbot-bench-") as tmp:
        folder = Path(tmp)
        config, db, n_countries = await prepare(folder, args.nfps)
        setup = Setup(
            folder,
            config,
            db,
            args.nfps,
            args.echo_messages,
            args.phase_timeout,
            args.think,
            args.concurrency,
            args.profile,
        )
        print(
            f"{args.nfps} users, {n_countries} countries in the config; phases end after "
            f"{args.phase_timeout:.0f} s at the latest (setup {time.monotonic() - began:.1f} s)",
            flush=True,
        )
        rows = []
        for rtt in rtts:
            for variant in variants:
                phase = await run_phase(setup, variant, rtt)
                row = phase.summary()
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
                # a bot stopped with a backlog is killed after the grace period: expected
                killed = row["bot_exit_code"] == -9 and row["unanswered"]
                if row["first_user_error"] or (row["bot_exit_code"] != 0 and not killed):
                    print(f"      first error: {row['first_user_error']}; exit {phase.exit_code}")
    print()
    print(table(rows))
    checked = targets(rows)
    for t in checked:
        print(f"{'MET ' if t['met'] else 'MISS'}  {t['target']}: {t['value']}")
    if args.out:
        path = write_json(
            args.out,
            {
                "benchmark": "report_throughput",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": Machine.here().as_dict(),
                "params": {
                    "rtt_s": rtts,
                    "users": args.nfps,
                    "countries_in_config": n_countries,
                    "echo_messages_per_user": args.echo_messages,
                    "nfp_updates_per_user": 1 + len(QUESTIONNAIRE),
                    "phase_timeout_s": args.phase_timeout,
                    "think_s": args.think,
                    "nfpbot_concurrency": args.concurrency or DEFAULT_CONCURRENCY,
                },
                "results": rows,
                "targets": checked,
                "total_runtime_s": round(time.monotonic() - began, 1),
            },
        )
        print(f"\nwritten {path}")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt", default="0.05,0", help="round trips in seconds (default 0.05,0)")
    parser.add_argument("--nfps", type=int, default=500, help="simulated NFPs/users (500)")
    parser.add_argument("--echo-messages", type=int, default=12, help="texts per echo user (12)")
    parser.add_argument(
        "--phase-timeout", type=float, default=40.0, help="cap per phase in seconds (40)"
    )
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean pause between a user's answers (0)"
    )
    parser.add_argument(
        "--bots", default=",".join(VARIANTS), help=f"subset of {','.join(VARIANTS)}"
    )
    parser.add_argument(
        "--concurrency", type=int, help="nfpbot's --concurrency (default: the bot's own)"
    )
    parser.add_argument("--profile", metavar="DIR", help="run nfpbot under cProfile into DIR")
    parser.add_argument(
        "--out",
        default="report_throughput.json",
        help="file name in bench/results ('' to skip writing)",
    )
    args = parser.parse_args()
    args.profile = Path(args.profile).resolve() if args.profile else None
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
