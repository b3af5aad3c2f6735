"""A guidance broadcast to many subscribers through a rate-limited sandbox, while NFPs answer.

``python -m bench.broadcast`` (issue 10, item 3): the real bot (``python -m bot run``, a
subprocess) against a sandbox that enforces Telegram's flood control with a configurable
global limit (``--limit``, messages per second on a rolling one-second window; 429 with
``retry_after`` past it). The admin adds an item through the bot (``/addguidance`` and the
Add button: the fan-out of every subscriber's alert is one transaction), and a second later
``--nfps`` NFPs start answering the whole questionnaire. Printed, and written to
``bench/results/broadcast.json``:

* **rate ÷ limit**: alerts delivered ÷ (last alert − first alert) ÷ the limit; and beside
  it every message the bot sent in that span (alerts and the NFPs' replies, which draw on
  the same limit) ÷ its length ÷ the limit;
* **429s**: flood-control refusals the bot received during the phase;
* **duplicates** (chats that got the alert more than once) and **skips** (subscribers that
  never got it), from the sandbox's own record of every message;
* **NFP p95** reply latency during the broadcast, against the same NFPs in a phase with no
  broadcast (same bot, same sandbox limits), and their ratio.

The bot is told the limit through its config (``--bot-limit-key``, a ``section.key`` written
into the bench config, default ``bot.messages_per_second``); a bot whose config does not
know that key is run without it (its own default pacing), and the output says so, so the
benchmark runs unchanged before and after the outbox learns the setting.

Everything stays on 127.0.0.1 and ends by itself (``--timeout`` caps the broadcast phase).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    ADMIN_ID,
    ROOT,
    BotProcess,
    ChatReader,
    Machine,
    TimedSandbox,
    nfpbot_argv,
    percentile,
    write_json,
)
from bench.report_throughput import FIRST_USER_ID, nfp_user, prepare

FIRST_SUBSCRIBER = 2_000_001
LINK = "https://www.who.int/publications/i/item/bench-broadcast"


def add_subscribers(db: Path, first: int, n: int, nfps: int) -> None:
    """``n`` people subscribed to every topic in English, in one transaction (bulk, as a
    year of /subscribe taps would leave them); the NFPs opt out, so that their screens are
    only the questionnaire's."""
    now = dt.datetime.now(dt.UTC).isoformat()
    con = sqlite3.connect(db)
    try:
        topics = [r[0] for r in con.execute("SELECT DISTINCT topic FROM subscription_topics")]
        if not topics:
            topics = _config_topics()
        with con:
            ids = range(first, first + n)
            con.executemany(
                "INSERT INTO people (tg_id, first_name, language, created_at, updated_at)"
                " VALUES (?, ?, 'en', ?, ?)",
                [(i, f"S{i}", now, now) for i in ids],
            )
            con.executemany(
                "INSERT INTO subscriptions (tg_id, status, updated_at) VALUES (?, 'on', ?)",
                [(i, now) for i in ids],
            )
            con.executemany(
                "INSERT INTO subscription_topics (tg_id, topic) VALUES (?, ?)",
                [(i, t) for i in ids for t in topics],
            )
            con.executemany(
                "INSERT INTO subscription_languages (tg_id, language) VALUES (?, 'en')",
                [(i,) for i in ids],
            )
            con.executemany(
                "INSERT INTO subscriptions (tg_id, status, updated_at) VALUES (?, 'off', ?)",
                [(FIRST_USER_ID + i, now) for i in range(nfps)],
            )
    finally:
        con.close()


def _config_topics() -> list[str]:
    import tomllib

    data = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    return [t["key"] for t in data.get("topics", [])]


def with_bot_limit(config: Path, key: str, limit: int) -> tuple[Path, bool]:
    """The bench config with ``key = limit`` if this bot's config accepts it; (path, accepted)."""
    section, _, name = key.rpartition(".")
    text = config.read_text(encoding="utf-8")
    path = config.with_name("bench-config-limit.toml")
    # a key may appear once (report_throughput's config raises the limit out of the way)
    text = re.sub(rf"(?m)^{re.escape(name)} = .*\n", "", text)
    header = f"[{section}]\n"
    if text.startswith(header) or f"\n{header}" in text:  # a table may appear only once
        text = text.replace(header, f"{header}{name} = {limit}\n", 1)
    else:
        text += f"\n{header}{name} = {limit}\n"
    path.write_text(text, encoding="utf-8")
    check = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path), "check-config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NFPBOT_DB": str(config.with_name("check.sqlite3")), "PATH": ""},
        timeout=60,
    )
    if check.returncode != 0:
        return config, False
    return path, True


async def _add_item(sb: TimedSandbox, deadline: float) -> float:
    """The admin adds an item; the moment its fan-out was committed (the confirmation)."""
    admin = sb.user(ADMIN_ID, "Secretariat")
    reader = ChatReader(sb, ADMIN_ID)
    await admin.send(f"/addguidance {LINK} Bench guidance #covid19")
    got = await reader.expect("sent", deadline, with_buttons=True)
    if got is None or "New item" not in got[1].text:
        raise RuntimeError(f"no draft screen: {got}")
    await admin.press("Add and send alerts")
    got = await reader.expect("edited", deadline)
    if got is None or "Added as #" not in got[1].text:
        raise RuntimeError(f"no confirmation: {got}")
    return got[0]


async def run_phase(
    args: argparse.Namespace, config: Path, template: Path, folder: Path, broadcast: bool
) -> dict[str, Any]:
    """One bot on a copy of the template: NFPs answering, with or without the broadcast."""
    name = "broadcast" if broadcast else "baseline"
    db = folder / f"{name}.sqlite3"
    shutil.copyfile(template, db)
    subs = list(range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + args.subscribers))
    async with TimedSandbox(rtt=args.rtt, enforce_rate_limits=True) as sb:
        sb.limiter.global_per_second = args.limit
        for uid in subs:
            sb.user(uid, f"S{uid}")
        bot = await BotProcess.start(
            nfpbot_argv(config, sb.base_url),
            {"NFPBOT_TOKEN": sb.token, "NFPBOT_DB": str(db)},
            folder / f"{name}.log",
        )
        try:
            await bot.wait_polling(sb)
            await bot.wait_quiet(sb)
            sb.reset_rate_limits()
            before = sb.stats
            start = time.monotonic()
            cutoff = start + args.timeout
            added_at = await _add_item(sb, cutoff) if broadcast else start
            await asyncio.sleep(1.0 if broadcast else 0.0)
            nfps = [
                nfp_user(sb, uid, (uid - FIRST_USER_ID) % 2 == 1, cutoff, args.think)
                for uid in range(FIRST_USER_ID, FIRST_USER_ID + args.nfps)
            ]
            runs = await asyncio.gather(*nfps)
            nfps_done = time.monotonic()
            finished = False
            while broadcast and time.monotonic() < cutoff:
                finished = _broadcast_done(db)
                if finished or sum(1 for uid in subs if sb.events.get(uid)) >= len(subs):
                    break
                await asyncio.sleep(0.25)
            await asyncio.sleep(1.0 if broadcast else 0.0)  # a late duplicate would show
            after = sb.stats
        finally:
            code = await bot.stop(grace=10.0)
        firsts = [sb.events[uid][0][0] for uid in subs if sb.events.get(uid)]
        # every message the bot sent in the broadcast's span (alerts, and the NFPs' replies
        # that share the limit with them)
        lo, hi = (min(firsts), max(firsts)) if firsts else (0.0, 0.0)
        in_span = sum(
            1
            for evs in list(sb.events.values())
            for at, sent in evs
            if sent.kind == "sent" and lo <= at <= hi
        )
        copies = [len([e for e in sb.events.get(uid, []) if e[1].kind == "sent"]) for uid in subs]
    latencies = sorted(x for r in runs for x in r.latencies)
    errors = {
        str(k): v - before["errors"].get(k, 0)
        for k, v in after["errors"].items()
        if v - before["errors"].get(k, 0)
    }
    row: dict[str, Any] = {
        "phase": name,
        "nfps_completed": sum(r.completed for r in runs),
        "nfp_answers": len(latencies),
        "nfp_p50_ms": _ms(percentile(latencies, 50)),
        "nfp_p95_ms": _ms(percentile(latencies, 95)),
        "nfp_phase_s": round(nfps_done - start, 1),
        "errors": errors,
        "bot_exit_code": code,
    }
    if broadcast:
        delivered = len(firsts)
        span = (max(firsts) - min(firsts)) if len(firsts) > 1 else 0.0
        rate = (delivered - 1) / span if span else 0.0
        row.update(
            {
                "subscribers": len(subs),
                "delivered": delivered,
                # a skip is a subscriber never sent to once the broadcast finished; a phase
                # cut at --timeout has subscribers not reached yet instead
                "skips": len(subs) - delivered if finished or delivered == len(subs) else None,
                "not_reached": len(subs) - delivered,
                "duplicates": sum(1 for c in copies if c > 1),
                "first_alert_after_add_s": round(min(firsts) - added_at, 2) if firsts else None,
                "broadcast_s": round(span, 1),
                "rate_per_s": round(rate, 1),
                "rate_over_limit": round(rate / args.limit, 3),
                # the limit is one budget: alerts and replies together, over the same span
                "all_sends_per_s": round((in_span - 1) / span, 1) if span else 0.0,
                "all_sends_over_limit": round((in_span - 1) / span / args.limit, 3)
                if span
                else 0.0,
                "http_429": errors.get("429", 0),
                "cut_at_timeout": not finished and delivered < len(subs),
            }
        )
    return row


def _broadcast_done(db: Path) -> bool:
    """Whether the bot recorded the broadcast as finished (every row sent or failed)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = con.execute("SELECT state FROM broadcasts WHERE kind = 'guidance'").fetchone()
    finally:
        con.close()
    return row is not None and row[0] == "done"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


async def main_async(args: argparse.Namespace) -> None:
    began = time.monotonic()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="nfpbot-bench-broadcast-") as tmp:
        folder = Path(tmp)
        config, template, _ = await prepare(folder, args.nfps)
        add_subscribers(template, FIRST_SUBSCRIBER, args.subscribers, args.nfps)
        config, limited = with_bot_limit(config, args.bot_limit_key, args.limit)
        print(
            f"{args.subscribers} subscribers, {args.nfps} NFPs, sandbox limit {args.limit}/s, "
            f"rtt {args.rtt * 1000:.0f} ms; bot told the limit ({args.bot_limit_key}): "
            f"{'yes' if limited else 'no, this bot does not know the key (its own pacing)'}"
            f" (setup {time.monotonic() - began:.1f} s)",
            flush=True,
        )
        for i in range(args.runs):
            base = await run_phase(args, config, template, folder, broadcast=False)
            cast = await run_phase(args, config, template, folder, broadcast=True)
            ratio = (
                round(cast["nfp_p95_ms"] / base["nfp_p95_ms"], 2)
                if cast["nfp_p95_ms"] and base["nfp_p95_ms"]
                else None
            )
            run = {"run": i + 1, "baseline": base, "broadcast": cast, "p95_ratio": ratio}
            results.append(run)
            print(
                f"run {i + 1}: rate {cast['rate_per_s']}/s = {cast['rate_over_limit']} of the "
                f"limit over {cast['broadcast_s']} s (with the replies in that span "
                f"{cast['all_sends_over_limit']}); 429s {cast['http_429']}; duplicates "
                f"{cast['duplicates']}; skips "
                + (
                    f"n/a (cut at --timeout, {cast['not_reached']} not reached yet)"
                    if cast["cut_at_timeout"]
                    else str(cast["skips"])
                )
                + f"; NFP p95 "
                f"{cast['nfp_p95_ms']} ms vs {base['nfp_p95_ms']} ms without = {ratio}x",
                flush=True,
            )
    if args.runs > 1:

        def med(key: str, phase: str = "broadcast") -> float:
            return float(statistics.median(float(r[phase][key] or 0) for r in results))

        print(
            f"median of {args.runs}: rate/limit {med('rate_over_limit')} (with replies "
            f"{med('all_sends_over_limit')}), 429s "
            f"{med('http_429')}, duplicates {med('duplicates')}, not reached {med('not_reached')},"
            f" p95 ratio "
            f"{statistics.median(float(r['p95_ratio'] or 0) for r in results)}"
        )
    if args.out:
        path = write_json(
            args.out,
            {
                "benchmark": "broadcast",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": Machine.here().as_dict(),
                "params": {
                    "subscribers": args.subscribers,
                    "nfps": args.nfps,
                    "limit_per_s": args.limit,
                    "bot_limit_key": args.bot_limit_key,
                    "bot_told_the_limit": limited,
                    "rtt_s": args.rtt,
                    "think_s": args.think,
                    "timeout_s": args.timeout,
                },
                "runs": results,
                "total_runtime_s": round(time.monotonic() - began, 1),
            },
        )
        print(f"written {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000, help="(10000)")
    parser.add_argument("--limit", type=int, default=300, help="global messages/s (300)")
    parser.add_argument("--nfps", type=int, default=40, help="NFPs answering (40)")
    parser.add_argument("--rtt", type=float, default=0.05, help="round trip in s (0.05)")
    parser.add_argument("--think", type=float, default=0.5, help="NFPs' mean pause, s (0.5)")
    parser.add_argument("--timeout", type=float, default=120.0, help="phase cap, s (120)")
    parser.add_argument("--runs", type=int, default=1, help="repetitions; medians printed")
    parser.add_argument(
        "--bot-limit-key",
        default="bot.messages_per_second",
        help="section.key of the bot's config that takes the limit",
    )
    parser.add_argument("--out", default="broadcast.json", help="file in bench/results")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
