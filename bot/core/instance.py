"""One running bot per database: an OS file lock on ``<database>.lock``.

Two bots polling for one token over one database both answer and both send the weekly
prompts. A lease row in the database would have to expire before a restart after a crash
could take it over; an ``flock`` is released by the kernel the moment its process dies,
however it dies (SIGKILL included), so a stale lock cannot exist and a restart is never
blocked. The file holds the owner's pid, only to name it in the refusal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class AlreadyRunning(Exception):
    """Another live process holds the lock of this database."""

    def __init__(self, lock_path: Path, database: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"another nfpbot is already running on {database} ({who} holds {lock_path}); "
            "stop it first, one bot per database"
        )
        self.pid = pid


class RunLock:
    """An exclusive, non-blocking ``flock`` on the database's lock file, held until released."""

    def __init__(self, database: str | Path) -> None:
        self.database = Path(database)
        self.path = Path(f"{self.database}.lock")
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`AlreadyRunning` (``OSError`` if it cannot be made)."""
        if str(self.database) == ":memory:":  # private to this process: nothing to share
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(self.path, self.database, pid) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up. The file stays: unlinking it would race with a new owner."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the last descriptor releases the flock


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None
