"""Play the week: set up the folder, the world and the history, run the scenes, write it up."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.core.clock import FakeClock
from bot.demo.scenes import WEEK, WEEK_SCENES, Stage
from bot.demo.transcript import Transcript
from bot.demo.world import Interrupted, World

#: Friday before the demo's week ends, 10:00 in Tashkent: the secretariat sets things up.
START = datetime(2020, 7, 24, 5, 0, tzinfo=UTC)


def new_folder(base: Path) -> Path:
    """A fresh folder under ``base``: a second run never reuses the first's state."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        path = base / (f"nfpbot-demo-{stamp}" + (f"-{n}" if n else ""))
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free demo folder name under {base}")


async def play(config: Config, out: Path, pace: float) -> bool:
    """One week on the sandbox, transcript written; False when Ctrl-C stopped it.

    Ctrl-C sets a flag the world checks after every message (and cancels what is waiting),
    so the demo stops at the next message even where a wait inside a library swallows the
    cancellation; everything it started is shut down on the way out.
    """
    import signal

    transcript = Transcript()
    world = World(config, FakeClock(START), transcript, pace)
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        world.stop_requested = True
        if task is not None:
            task.cancel()

    loop.add_signal_handler(signal.SIGINT, interrupt)
    try:
        await _play(world, out)
    except (Interrupted, asyncio.CancelledError):
        if not world.stop_requested:
            raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    return not world.stop_requested


async def _play(world: World, out: Path) -> None:
    from bot.digest import demo as history

    try:
        async with world.running():
            rows = [r for r in history.read_csv(history.default_csv()) if str(r.week) < WEEK]
            await history.load(world.svc.db, world.config, world.region, rows)
            figures = {
                r.iso3: dict(r.figures)
                for r in history.read_csv(history.default_csv())
                if str(r.week) == WEEK
            }
            stage = Stage(world, figures)
            for n, scene in enumerate(WEEK_SCENES, 1):
                world.scene(f"[{n}/{len(WEEK_SCENES)}] {scene.title}")
                await scene.run(stage)
    finally:  # also when stopped: what was played so far is in the folder
        world.capture()
        world.transcript.write_html(out / "transcript.html")
        world.save_files(out)
        _write_calls(world, out / "calls.json")


def _write_calls(world: World, path: Path) -> None:
    """Every Bot API call the bot made, summarised: how many, and any the sandbox refused."""
    calls = world.sandbox.calls
    refused = [
        {"method": c.method, "status": c.status, "description": c.description, "chat": c.chat_id}
        for c in calls
        if not c.ok
    ]
    summary = {
        "total": len(calls),
        "refused": refused,
        "by_method": dict(Counter(c.method for c in calls)),
    }
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")


def main(config_path: Path, out: Path | None, lang: str, speed: float) -> int:
    import asyncio

    from bot.config import ConfigError, load_config

    folder = out if out is not None else new_folder(Path.cwd())
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        print(f"nfpbot demo: {folder} is not empty; give a new folder with --out", file=sys.stderr)
        return 2
    # everything the run writes stays in the folder: the database, and matplotlib's cache
    os.environ["MPLCONFIGDIR"] = str(folder / ".matplotlib")
    env = {"NFPBOT_DB": str(folder / "nfpbot.sqlite3")}
    try:
        config = load_config(config_path, env)
    except ConfigError as err:
        print(f"nfpbot demo: {config_path}: {err}", file=sys.stderr)
        return 2
    if lang in config.languages:
        import dataclasses

        config = dataclasses.replace(config, default_language=lang)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    print(f"nfpbot demo: one reporting week ({WEEK}) on the embedded sandbox, no token, no network")
    try:
        finished = asyncio.run(play(config, folder, speed))
    except KeyboardInterrupt:  # before the demo's own handler was in place
        finished = False
    if not finished:
        print(f"\nnfpbot demo: stopped. What was played so far is in {folder}", file=sys.stderr)
        return 130
    print(f"\nnfpbot demo: done. The transcript, the digest and the database are in {folder}/")
    for name in ("transcript.html", "calls.json", "nfpbot.sqlite3"):
        print(f"  {folder / name}")
    for extra in sorted(p for p in folder.iterdir() if p.suffix in (".pdf", ".png")):
        print(f"  {extra}")
    return 0
