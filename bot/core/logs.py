"""Plain, structured log lines that never contain the bot token.

httpx logs every request URL at INFO, and those URLs contain ``bot<TOKEN>``; PTB may put the
URL in exception text too. So httpx is held at WARNING and a filter on the handler masks the
token anywhere in a formatted line, whatever logger it came from.

Logging is not the only way text leaves the process: ``print``, an uncaught exception's
traceback (main thread or any other), ``warnings``. :func:`guard_output` therefore wraps
``sys.stdout`` and ``sys.stderr`` themselves, so that every line written through them is
masked, and installs exception hooks that mask too.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with each secret, and anything shaped like a bot token, masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<token>")
    return _TOKEN_SHAPE.sub("<token>", text)


class RedactingStream(io.TextIOBase):
    """A text stream that masks secrets before passing text on, one whole line at a time.

    Whole lines, so that a secret written in two pieces (``print`` writes its arguments and
    the newline separately) is still seen, and masked, as one.
    """

    _HOLD = 64 * 1024  # a line longer than this is passed on in pieces (tail kept back)

    def __init__(self, inner: TextIO, scrub: Callable[[str], str]) -> None:
        super().__init__()
        self.inner = inner
        self._scrub = scrub
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                head, sep, self._pending = self._pending.rpartition("\n")
                self.inner.write(self._scrub(head + sep))
            elif len(self._pending) > self._HOLD:
                head, self._pending = self._pending[:-256], self._pending[-256:]
                self.inner.write(self._scrub(head))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.inner.write(self._scrub(self._pending))
                self._pending = ""
        self.inner.flush()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return self.inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # typeshed: an attribute; C: read-only
        return self.inner.encoding


# The secrets :func:`guard_output` masks, one list for the process (the scrubbers share it).
_GUARDED: list[str] = []


def guard_output(*secrets: str) -> None:
    """Mask ``secrets`` in everything this process writes to stdout and stderr, on any path.

    Idempotent: a second call adds its secrets to the ones already guarded.
    """
    known = _GUARDED
    known.extend(s for s in secrets if s and s not in known)

    def scrub(text: str) -> str:
        return redact(text, known)

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream, scrub))

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        _write_stderr(scrub("".join(traceback.format_exception(kind, value, tb))))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        text = "".join(
            traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        )
        _write_stderr(scrub(f"Exception in thread {name}:\n{text}"))

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def _write_stderr(text: str) -> None:
    """Write to stderr, or to the original one if it was set to None (no stream: nothing)."""
    stream = sys.stderr or sys.__stderr__
    if stream is not None:
        stream.write(text)


class RedactingFilter(logging.Filter):
    """Replace the token (and anything shaped like one) in the final message."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)


class LineFormatter(logging.Formatter):
    """``2026-11-25T09:00:00Z INFO bot.wiring.app: message`` — one event per line, UTC."""

    converter = staticmethod(time.gmtime)

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%SZ")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("\n", "\n    ")  # tracebacks stay attached to their line


def setup_logging(level: str = "INFO", *, token: str = "", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LineFormatter())
    handler.addFilter(RedactingFilter([token]))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
