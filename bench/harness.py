"""Shared pieces of the benchmarks: a timing sandbox, bot subprocesses, the bench config."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import signal
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import Sandbox, SentMessage
from sandbox.store import ChatState

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADMIN_ID = 9001
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# CLDR territories that are not countries (same list as bot.config).
_NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


class TimedSandbox(Sandbox):
    """A Sandbox that timestamps every bot message when it reaches the sandbox.

    The latency figures need the arrival time of each reply, which ``SimUser`` does not
    keep; :class:`ChatReader` reads these timestamped events chat by chat.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: dict[int, list[tuple[float, SentMessage]]] = defaultdict(list)
        self._chat_waiters: dict[int, asyncio.Future[None]] = {}
        self.first_poll_at: float | None = None
        self.polling = asyncio.Event()

    def _record_event(self, chat: ChatState, sent: SentMessage) -> None:
        super()._record_event(chat, sent)
        self.events[chat.id].append((time.monotonic(), sent))
        waiter = self._chat_waiters.pop(chat.id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _serve_method(self, request: web.Request, method: str) -> web.StreamResponse:
        if self.first_poll_at is None and method.lower() == "getupdates":
            self.first_poll_at = time.monotonic()  # arrival, before any simulated delay
            self.polling.set()
        return await super()._serve_method(request, method)

    async def wait_chat(self, chat_id: int, timeout: float) -> None:  # noqa: ASYNC109
        """Return when the chat gets a new event or after ``timeout`` seconds."""
        if timeout <= 0:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._chat_waiters[chat_id] = waiter
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter, timeout)

    def last_bot_call(self) -> float:
        """When the bot last made a call other than getUpdates (0 if never)."""
        for call in reversed(self.calls):
            if call.method != "getUpdates":
                return call.at
        return 0.0


class ChatReader:
    """A cursor over one chat's bot messages with the time each reached the sandbox."""

    def __init__(self, sb: TimedSandbox, chat_id: int) -> None:
        self._sb = sb
        self._chat_id = chat_id
        self._cursor = 0

    async def expect(
        self, kind: str, deadline: float, *, with_buttons: bool = False
    ) -> tuple[float, SentMessage] | None:
        """The next event of ``kind`` ("sent"/"edited"), skipping others; None at deadline."""
        events = self._sb.events[self._chat_id]
        while True:
            while self._cursor < len(events):
                at, msg = events[self._cursor]
                self._cursor += 1
                if msg.kind == kind and (msg.buttons or not with_buttons):
                    return at, msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            await self._sb.wait_chat(self._chat_id, left)


class BotProcess:
    """A bot running as a subprocess, with its output in a log file."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    @classmethod
    async def start(cls, argv: list[str], env: dict[str, str], log_path: Path) -> BotProcess:
        """Spawn ``argv`` from the repository root with ``env`` added to this environment."""
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=ROOT,
                env={**os.environ, **env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        return cls(proc, log_path)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all threads) so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM from /proc/PID/status, in KiB."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
        return out

    async def wait_polling(self, sb: TimedSandbox, timeout: float = 60.0) -> float:  # noqa: ASYNC109
        """Wait for the bot's first getUpdates; its arrival time (monotonic)."""
        poll = asyncio.ensure_future(sb.polling.wait())
        died = asyncio.ensure_future(self.proc.wait())
        try:
            await asyncio.wait({poll, died}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            poll.cancel()
            died.cancel()
        if sb.first_poll_at is None:
            raise RuntimeError(f"bot did not start polling; see {self.log_path}:\n{self.tail()}")
        return sb.first_poll_at

    async def wait_quiet(self, sb: TimedSandbox, quiet: float = 1.0, limit: float = 20.0) -> float:
        """Wait until the bot made no API call and used <5% CPU for ``quiet`` s; time waited."""
        start = time.monotonic()
        while time.monotonic() - start < limit:
            cpu = self.cpu_seconds()
            await asyncio.sleep(quiet)
            idle_cpu = self.cpu_seconds() - cpu < 0.05 * quiet
            if idle_cpu and time.monotonic() - sb.last_bot_call() >= quiet:
                break
        return time.monotonic() - start

    async def stop(self, grace: float = 5.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; the exit code."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode if self.proc.returncode is not None else -1

    def tail(self, lines: int = 20) -> str:
        """The end of the bot's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def nfpbot_argv(config: Path, api_url: str, concurrency: int | None = None) -> list[str]:
    """``python -m bot --config CONFIG run --api-url URL [--concurrency N]``.

    ``python -m bot`` from the repository root rather than the ``nfpbot`` console script:
    the installed script cannot import the top-level ``locales`` package (not packaged).
    """
    argv = [sys.executable, "-m", "bot", "--config", str(config), "run", "--api-url", api_url]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    return argv


def nfpbot_script() -> Path:
    """The installed ``nfpbot`` console script."""
    return Path(sys.executable).parent / "nfpbot"


def echo_argv(api_url: str) -> list[str]:
    """The bare PTB echo bot."""
    return [sys.executable, str(ROOT / "bench" / "echo_bot.py"), "--api-url", api_url]


# ------------------------------------------------------------------ the bench configuration


def real_countries() -> list[str]:
    """ISO3 codes of real countries per CLDR (3-letter alias -> one 2-letter territory)."""
    from babel import Locale
    from babel.core import get_global

    territories = Locale("en").territories
    codes = []
    for alias, targets in get_global("territory_aliases").items():
        if len(alias) == 3 and alias.isalpha() and alias.isupper() and len(targets) == 1:
            iso2 = targets[0]
            if len(iso2) == 2 and iso2 in territories and iso2 not in _NOT_COUNTRIES:
                codes.append(alias)
    return sorted(codes)


def write_bench_config(folder: Path, countries: list[str], today: dt.date) -> Path:
    """A config with one region of ``countries`` (all UTC) whose weekly window is never open.

    The shipped questionnaire and topics are reused. Prompt, deadline and digest fall within
    two minutes of midnight three days from ``today``, so at bench time the current week's
    digest has passed and the scheduler queues nothing.
    """
    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    start = shipped.index("\n[questionnaire]\n")
    end = shipped.index("\n[[regions]]\n")
    day = _WEEKDAYS[(today.weekday() + 3) % 7]
    lines = [
        "[bot]",
        'database = "bench.sqlite3"',
        'languages = ["en", "ru"]',
        'default_language = "en"',
        f"admins = [{ADMIN_ID}]",
        'log_level = "INFO"',
        shipped[start:end],
        "[[regions]]",
        'key = "bench"',
        'name = { en = "Benchmark", ru = "Бенчмарк" }',
        'timezone = "UTC"',
        "",
        "[regions.schedule]",
        f'prompt = "{day} 00:00"',
        "reminders = []",
        f'deadline = "{day} 00:01"',
        f'digest = "{day} 00:02"',
    ]
    for iso3 in countries:
        lines += ["", "[[regions.countries]]", f'iso3 = "{iso3}"', 'timezone = "UTC"']
    path = folder / "bench-config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def create_nfps(config_path: Path, db_path: Path, nfps: list[tuple[int, str, str]]) -> None:
    """Register ``(user_id, iso3, kind)`` NFPs in a new database, as an admin's invites would."""
    from bot.config import load_config
    from bot.core.clock import SystemClock
    from bot.people import roles as people
    from bot.wiring.app import open_services

    config = load_config(config_path, {"NFPBOT_DB": str(db_path)})
    svc = await open_services(config, SystemClock())
    try:
        for user_id, iso3, kind in nfps:
            invite = await people.create_invite(svc, ADMIN_ID, iso3, kind)
            await people.redeem_invite(svc, people.UserInfo(user_id, f"NFP {user_id}"), invite.code)
            await people.set_language(svc, user_id, "en")
    finally:
        await svc.db.close()


# ------------------------------------------------------------------ numbers


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None if empty)."""
    if not sorted_values:
        return None
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def write_json(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/NAME`` (pretty, stable key order)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Machine:
    """Where the numbers were taken."""

    cpus: int
    python: str
    ptb: str

    @classmethod
    def here(cls) -> Machine:
        """This machine."""
        import telegram

        return cls(os.cpu_count() or 0, sys.version.split()[0], telegram.__version__)

    def as_dict(self) -> dict[str, Any]:
        """For the JSON results."""
        return {"cpus": self.cpus, "python": self.python, "python-telegram-bot": self.ptb}
