"""Real weekly figures loaded as confirmed reports, so a digest can be seen without Telegram.

The figures are ``data/central_asia_weekly.csv`` (JHU CSSE via GitHub ``datasets/covid-19``;
see ``bot/digest/data/SOURCE.md``): new cases and new deaths per country and ISO week.
Choices made here, and why:
- Each country's reports are confirmed by a seeded "Demo NFP" of that country (a person row
  with a negative id, which no Telegram user can have, and no NFP assignment, so the bot
  never prompts or messages it).
- Each report is confirmed on the Monday after its week at 12:00 in the country's own
  timezone: after the prompt, before the deadline (on time). The data says nothing about
  punctuality, so none is invented.
- Only what the data holds is answered: the other questions are left out (unknown), not
  filled with zeros or "no needs".
- A negative weekly figure (Kyrgyzstan, 2020-W34, −439 deaths) is the source's cumulative
  count falling after a reclassification. It is loaded as what it is: a revision of the
  latest earlier week whose figure can absorb it (2020-W29, the spike of that same
  reclassification), recorded with its reason when that week's report comes in; the week
  itself is given 0 for that figure, since the source only knows the net change.
- Loading is idempotent: a report or revision already there is left as it is.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from importlib import resources
from pathlib import Path

from bot.config import Config, Region
from bot.core.week import Week
from bot.reporting import cycle
from storage import digest as store
from storage import followups, people
from storage import reports as reports_store
from storage.db import Database

DEMO_FIRST_NAME = "Demo NFP"
DEMO_REASON = "Reclassification: the source's cumulative count fell by {amount} in {week}"
FIGURES = ("new_cases", "new_deaths")


def demo_nfp_id(index: int) -> int:
    """The demo NFP of the ``index``-th country: negative, so never a Telegram user."""
    return -(1000 + index)


def default_csv() -> Path:
    """The CSV shipped inside the package (package data)."""
    return Path(str(resources.files("bot.digest") / "data" / "central_asia_weekly.csv"))


@dataclass(frozen=True)
class Row:
    iso3: str
    week: Week
    figures: dict[str, int]


def read_csv(path: Path) -> list[Row]:
    """``iso3,iso_week,new_cases,new_deaths`` rows; a blank cell is left out (missing)."""
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for item in csv.DictReader(handle):
            figures = {k: int(item[k]) for k in FIGURES if (item.get(k) or "").strip()}
            rows.append(Row(item["iso3"].strip().upper(), Week.parse(item["iso_week"]), figures))
    return rows


@dataclass
class Loaded:
    reports: int = 0
    revisions: int = 0
    skipped: int = 0


async def load(db: Database, config: Config, region: Region, rows: Iterable[Row]) -> Loaded:
    """Write the rows of ``region``'s countries as confirmed reports (see the module doc)."""
    result = Loaded()
    index = {c.iso3: i for i, (_, c) in enumerate(config.all_countries)}
    by_country: dict[str, list[Row]] = {}
    for row in rows:
        if any(c.iso3 == row.iso3 for c in region.countries):
            by_country.setdefault(row.iso3, []).append(row)
    qversion = region.questionnaire.version
    async with db.transaction() as tx:
        for country in region.countries:
            nfp = demo_nfp_id(index[country.iso3])
            created = cycle.cycle_for(region, country, "2020-W01").prompt
            await people.upsert(tx, created, nfp, DEMO_FIRST_NAME, country.iso3)
            current: dict[tuple[str, str], int] = {}  # (week, key) -> figure as it stands
            for row in sorted(by_country.get(country.iso3, []), key=lambda r: r.week):
                at = _confirmed_at(region, country.iso3, row.week)
                answers: dict[str, int] = {}
                revisions: list[tuple[Week, str, int, int, str]] = []
                for key, value in row.figures.items():
                    if value >= 0:
                        answers[key] = value
                        continue
                    target = _absorbing_week(current, key, row.week, -value)
                    answers[key] = 0
                    if target is not None:
                        old = current[(str(target), key)]
                        reason = DEMO_REASON.format(amount=-value, week=row.week)
                        revisions.append((target, key, old, old + value, reason))
                for key, value in answers.items():
                    current[(str(row.week), key)] = value
                if await store.has_confirmed(tx, country.iso3, str(row.week)):
                    result.skipped += 1
                else:
                    report = await reports_store.get_or_create(
                        tx, at, country.iso3, str(row.week), qversion
                    )
                    await reports_store.add_version(
                        tx,
                        at,
                        report,
                        dict(answers),
                        nfp,
                        late=False,
                        after_digest=False,
                        warnings=[],
                        questionnaire_version=qversion,
                    )
                    result.reports += 1
                for target, key, old, new, reason in revisions:
                    current[(str(target), key)] = new
                    if await store.has_revision(tx, country.iso3, str(target), key, reason):
                        continue
                    await followups.add_revision(
                        tx,
                        at + timedelta(minutes=1),
                        country.iso3,
                        str(target),
                        key,
                        old,
                        new,
                        reason,
                        nfp,
                    )
                    result.revisions += 1
    return result


def _confirmed_at(region: Region, iso3: str, week: Week) -> datetime:
    """Monday after the week, 12:00 in the country's own timezone (after the prompt)."""
    local = datetime.combine(week.next().monday(), time(12, 0), tzinfo=region.country(iso3).tz)
    return local.astimezone(UTC)


def _absorbing_week(
    current: dict[tuple[str, str], int], key: str, week: Week, amount: int
) -> Week | None:
    """The latest earlier week whose figure is at least ``amount`` (within a year)."""
    earlier = week
    for _ in range(52):
        earlier = earlier.previous()
        if current.get((str(earlier), key), -1) >= amount:
            return earlier
    return None
