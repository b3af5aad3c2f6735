"""A season of real data in a temp database, and the CSV read independently of the product."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from bot.config import Config
from bot.core.clock import SystemClock
from bot.core.services import Services
from bot.digest import demo
from bot.wiring.app import open_services

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "bot" / "digest" / "data" / "central_asia_weekly.csv"
Key = tuple[str, str]  # (iso3, "2020-W30")


def read_truth(path: Path = CSV) -> dict[Key, tuple[int, int]]:
    """(iso3, week) -> (new_cases, new_deaths), straight from the file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            (r["iso3"], r["iso_week"]): (int(r["new_cases"]), int(r["new_deaths"]))
            for r in csv.DictReader(handle)
        }


def week_str(year: int, number: int) -> str:
    return f"{year}-W{number:02d}"


def shift(week: str, n: int) -> str:
    monday = date.fromisocalendar(int(week[:4]), int(week[-2:]), 1) + timedelta(weeks=n)
    y, w, _ = monday.isocalendar()
    return week_str(y, w)


async def seeded(
    config: Config, tmp_path: Path, keep: Callable[[dict[str, str]], bool] | None = None
) -> Services:
    """Open the config's database and load the demo CSV (rows ``keep`` refuses left out)."""
    path = CSV
    if keep is not None:
        path = tmp_path / "filtered.csv"
        with CSV.open(encoding="utf-8", newline="") as src:
            rows = list(csv.DictReader(src))
        with path.open("w", encoding="utf-8", newline="") as dst:
            writer = csv.DictWriter(dst, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(r for r in rows if keep(r))
    svc = await open_services(config, SystemClock())
    await demo.load(svc.db, config, config.region("central-asia"), demo.read_csv(path))
    return svc
