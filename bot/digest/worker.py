"""The process that draws charts and PDFs, so the bot itself never loads matplotlib.

The bot runs ``python -m bot.digest.worker`` once per render job (asyncio subprocess), sends
the job pickled on stdin and reads the pickled result from stdout. Why a one-shot subprocess
rather than a ``ProcessPoolExecutor``:

* memory: matplotlib, numpy and a rendering peak of ~150 MiB live only as long as the job; a
  digest is drawn once a week, so a pool worker kept warm would hold that memory for days,
  and the bot's own memory never grows (it only receives bytes);
* control: a job that hangs is killed on a timeout or when the awaiting task is cancelled,
  which a pool cannot do to a running call (and its shutdown blocks the event loop);
* a clean start: a fresh interpreter, no fork of a process that has aiosqlite and HTTP
  threads, and no re-import of the parent's ``__main__`` (what the ``spawn`` and
  ``forkserver`` pool contexts do to rebuild the caller).

It costs an interpreter start and matplotlib's import (~0.5 s, measured in
``bench/digest_render.py``) per job, nothing against a weekly post. Pickle is safe here: both
ends are this program, over a private pipe.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["WORKER_LIMIT", "RenderFailed", "run_task"]

#: Seconds a render job may take at most (a digest's charts take ~1-3 s on 2 busy cores).
WORKER_LIMIT = 300.0
#: Lines of the worker's stderr quoted in a :class:`RenderFailed`.
_STDERR_TAIL = 15


class RenderFailed(RuntimeError):
    """The worker exited with an error, was killed, or returned nothing usable."""


def _project_root() -> str:
    import bot

    return str(Path(bot.__file__).resolve().parent.parent)


async def run_task(task: str, payload: object) -> object:
    """Run ``task`` on ``payload`` in a fresh worker process and return its result.

    Raises :class:`RenderFailed` when the worker fails. A caller's ``asyncio.timeout`` or a
    cancellation kills the worker; so does :data:`WORKER_LIMIT`, so that a hung render never
    outlives its purpose even when the caller set no limit (``TimeoutError``).
    """
    job = pickle.dumps((task, payload), protocol=pickle.HIGHEST_PROTOCOL)
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    # the worker must import this very copy of the bot, installed or not
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_project_root(), env.get("PYTHONPATH", "")) if p
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.digest.worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        async with asyncio.timeout(WORKER_LIMIT):
            out, err = await proc.communicate(job)
    except BaseException:  # a timeout or a cancellation: do not leave the worker running
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        tail = "\n".join(err.decode("utf-8", "replace").splitlines()[-_STDERR_TAIL:])
        raise RenderFailed(f"render worker ({task}) exited with {proc.returncode}:\n{tail}")
    try:
        return pickle.loads(out)
    except Exception as exc:
        raise RenderFailed(f"render worker ({task}) returned no result") from exc


def _charts(payload: object) -> object:
    from bot.digest.charts import draw_charts
    from bot.digest.render_types import ChartRequest

    if not isinstance(payload, ChartRequest):
        raise TypeError(f"charts takes a ChartRequest, not {type(payload).__name__}")
    return draw_charts(payload)


def _pdfs(payload: object) -> object:
    from bot.digest.pdf import draw_pdf
    from bot.digest.render_types import Bulletin

    if not (isinstance(payload, list) and all(isinstance(b, Bulletin) for b in payload)):
        raise TypeError("pdfs takes a list of Bulletin")
    return [draw_pdf(bulletin) for bulletin in payload]


TASKS: dict[str, Callable[[object], object]] = {"charts": _charts, "pdfs": _pdfs}


def main() -> None:
    """Read one job from stdin, write its pickled result to stdout."""
    task, payload = pickle.load(sys.stdin.buffer)
    result_out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the result
    result = TASKS[task](payload)
    result_out.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    result_out.flush()


if __name__ == "__main__":
    main()
