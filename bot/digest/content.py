"""What the regional digest says for a region and ISO week, as a typed value.

Pure domain: it reads the database through ``storage.digest`` and knows nothing of
Telegram, HTML or matplotlib, so the messages, the charts and the PDF all draw from one
set of numbers, and tests can check those numbers against the data directly.

Rules that carry it:
- The digest is built *as of* an instant (by default its posting time): only versions and
  revisions recorded by then count, so the same week's digest reads the same tomorrow.
- A figure is the confirmed report's value, or its latest revision (``/revise``): the
  revision corrects the earlier week it belongs to, so a reclassification shows as a
  revision of that week, never as a negative figure in a later one.
- A week without a confirmed report is ``None`` everywhere: a missing week is missing,
  never zero; a change from the week before is ``None`` when either week is missing.
- Completeness and rates follow DHIS2: reporting rate = actual ÷ expected reports, on-time
  rate = reports confirmed by the deadline ÷ expected reports. Only partner countries are
  expected; observers and joining countries are listed apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.config import Country, Region
from bot.core.week import Week, weeks_between
from bot.guidance.library import unacknowledged
from bot.reporting import cycle
from storage import digest as store
from storage.db import Database
from storage.followups import Revision

#: Weeks the trends and the rates look back over (the digest's week included).
WINDOW = 12
#: How far back "needed since" looks for the start of an unbroken run of a need.
NEEDS_LOOKBACK = 52
#: How far back the digest looks for guidance an NFP has not marked read.
UNREAD_LOOKBACK = timedelta(weeks=4)
#: The metrics the charts draw, per country and week.
SERIES_KEYS = ("new_cases", "new_deaths")
NEEDS_KEY = "needs"
TRAINING_KEY = "training"
DEVELOPMENTS_KEY = "developments"

State = Literal["on_time", "late", "missing"]


@dataclass(frozen=True)
class CountryWeek:
    """One country's line in the digest: its state and figures this week and the week before.

    ``figures``/``previous`` hold every number question, ``None`` when not reported (a
    missing week, or an optional question left out); ``change`` is ``None`` unless both
    weeks have the figure; ``revised`` names the figures of this week changed by a revision.
    """

    iso3: str
    status: str  # partner | observer | joining
    state: State
    confirmed_at: datetime | None
    confirmed_by: str | None
    figures: Mapping[str, int | None]
    previous: Mapping[str, int | None]
    change: Mapping[str, int | None]
    revised: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rates:
    """DHIS2 reporting rates of one country over the window.

    ``expected`` counts the weeks of the window; ``reported`` the weeks with a confirmed
    report, ``on_time`` those first confirmed by their deadline.
    """

    iso3: str
    expected: int
    reported: int
    on_time: int

    @property
    def reporting_rate(self) -> float:
        return self.reported / self.expected if self.expected else 0.0

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.expected if self.expected else 0.0


@dataclass(frozen=True)
class Need:
    """One need (an option of the needs question) and who needs it, since which week."""

    key: str
    countries: tuple[tuple[str, Week], ...]


@dataclass(frozen=True)
class RevisionLine:
    """A figure of an earlier week corrected since the last digest: by a revision
    (``/revise``, with its reason) or by an amended report (``reason`` None)."""

    iso3: str
    week: Week
    key: str
    old: Any
    new: Any
    reason: str | None
    at: datetime

    @property
    def delta(self) -> int | None:
        if isinstance(self.old, int) and isinstance(self.new, int):
            return self.new - self.old
        return None


@dataclass(frozen=True)
class Digest:
    """Everything the digest of ``region`` for ``week`` shows, as of ``as_of``.

    ``series[metric][iso3]`` is the last :data:`WINDOW` weeks, oldest first, ``None`` for a
    missing week; ``per_100k`` the same divided by the configured population (``None`` when
    the population is not configured).
    """

    region: Region
    week: Week
    as_of: datetime
    weeks: tuple[Week, ...]
    countries: tuple[CountryWeek, ...]
    rates: tuple[Rates, ...]
    series: Mapping[str, Mapping[str, list[tuple[Week, int | None]]]]
    per_100k: Mapping[str, Mapping[str, list[tuple[Week, float | None]]]]
    needs: tuple[Need, ...]
    other_needs: tuple[tuple[str, str], ...]  # (iso3, the text of "other")
    training: tuple[tuple[str, str], ...]
    developments: tuple[tuple[str, str], ...]
    revisions: tuple[RevisionLine, ...]
    revisions_since: datetime
    number_keys: tuple[str, ...] = field(default=())
    #: per country, the titles of guidance its NFPs have not marked read (added in the last
    #: :data:`UNREAD_LOOKBACK`), countries in config order; a country with none is absent
    unread_guidance: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def expected(self) -> tuple[CountryWeek, ...]:
        """The partner countries: the ones the completeness is counted over."""
        return tuple(c for c in self.countries if c.status == "partner")

    @property
    def reported(self) -> tuple[CountryWeek, ...]:
        return tuple(c for c in self.expected if c.state != "missing")

    @property
    def completeness(self) -> float:
        """Reported ÷ expected partner countries this week (0 when none is expected)."""
        return len(self.reported) / len(self.expected) if self.expected else 0.0

    def by_state(self, state: State, status: str = "partner") -> tuple[CountryWeek, ...]:
        return tuple(c for c in self.countries if c.state == state and c.status == status)

    def country(self, iso3: str) -> CountryWeek:
        for line in self.countries:
            if line.iso3 == iso3:
                return line
        raise KeyError(iso3)


def digest_time(region: Region, week: Week) -> datetime:
    """When the region's digest of ``week`` is due (the schedule's digest time, UTC)."""
    first = region.countries[0]
    return cycle.cycle_for(region, first, str(week)).digest


def _figures(
    report: store.ConfirmedReport | None,
    revisions: Mapping[str, Revision],
    keys: tuple[str, ...],
) -> dict[str, int | None]:
    if report is None:
        return dict.fromkeys(keys)
    out: dict[str, int | None] = {}
    for key in keys:
        value = revisions[key].new_value if key in revisions else report.answers.get(key)
        out[key] = value if isinstance(value, int) and not isinstance(value, bool) else None
    return out


async def build(
    db: Database, region: Region, week: Week, *, as_of: datetime | None = None
) -> Digest:
    """The digest of ``region`` for ``week`` as the database stood at ``as_of`` (default: the
    digest's scheduled time)."""
    as_of = as_of or digest_time(region, week)
    iso3s = [c.iso3 for c in region.countries]
    weeks = tuple(weeks_between(week.shift(-(WINDOW - 1)), week))
    first = week.shift(-(NEEDS_LOOKBACK - 1))
    reports = await store.confirmed_reports(db, iso3s, str(first), str(week), as_of)
    by_key = {(r.iso3, r.week): r for r in reports}
    revisions: dict[tuple[str, str], dict[str, Revision]] = {}
    for rev in await store.revisions_of_weeks(db, iso3s, str(first), str(week), as_of):
        revisions.setdefault((rev.iso3, rev.week), {})[rev.key] = rev  # the last one wins
    names = await store.person_names(db, [r.confirmed_by for r in reports if r.week == str(week)])

    number_keys = tuple(q.key for q in region.questionnaire.questions if q.type == "number")

    def figures(iso3: str, w: Week) -> dict[str, int | None]:
        return _figures(by_key.get((iso3, str(w))), revisions.get((iso3, str(w)), {}), number_keys)

    def on_time(country: Country, report: store.ConfirmedReport) -> bool:
        deadline = cycle.cycle_for(region, country, report.week).deadline
        return report.first_confirmed_at <= deadline

    lines: list[CountryWeek] = []
    rates: list[Rates] = []
    for country in region.countries:
        report = by_key.get((country.iso3, str(week)))
        now, before = figures(country.iso3, week), figures(country.iso3, week.previous())
        change: dict[str, int | None] = {}
        for key, value in now.items():
            earlier = before[key]
            change[key] = value - earlier if value is not None and earlier is not None else None
        state: State = "missing"
        if report is not None:
            state = "on_time" if on_time(country, report) else "late"
        lines.append(
            CountryWeek(
                iso3=country.iso3,
                status=country.status,
                state=state,
                confirmed_at=report.first_confirmed_at if report else None,
                confirmed_by=names.get(report.confirmed_by) if report else None,
                figures=now,
                previous=before,
                change=change,
                revised=frozenset(revisions.get((country.iso3, str(week)), {})),
            )
        )
        in_window = [by_key.get((country.iso3, str(w))) for w in weeks]
        done = [r for r in in_window if r is not None]
        rates.append(
            Rates(
                iso3=country.iso3,
                expected=len(weeks),
                reported=len(done),
                on_time=sum(1 for r in done if on_time(country, r)),
            )
        )

    series: dict[str, dict[str, list[tuple[Week, int | None]]]] = {}
    per_100k: dict[str, dict[str, list[tuple[Week, float | None]]]] = {}
    for metric in SERIES_KEYS:
        if metric not in number_keys:
            continue
        series[metric], per_100k[metric] = {}, {}
        for country in region.countries:
            values = [(w, figures(country.iso3, w)[metric]) for w in weeks]
            series[metric][country.iso3] = values
            per_100k[metric][country.iso3] = [
                (w, None if v is None or not country.population else v * 1e5 / country.population)
                for w, v in values
            ]

    needs, other_needs = _needs(region, week, by_key)
    this_week = [by_key.get((c.iso3, str(week))) for c in region.countries]
    texts = {
        key: tuple(
            (r.iso3, r.answers[key].strip())
            for r in this_week
            if r is not None and isinstance(r.answers.get(key), str) and r.answers[key].strip()
        )
        for key in (TRAINING_KEY, DEVELOPMENTS_KEY)
    }

    since = await store.last_posted_before(db, region.key, str(week)) or digest_time(
        region, week.previous()
    )
    changed = [
        RevisionLine(
            iso3=r.iso3,
            week=Week.parse(r.week),
            key=r.key,
            old=r.old_value,
            new=r.new_value,
            reason=r.reason,
            at=r.at,
        )
        for r in await store.revisions_recorded(db, iso3s, since, as_of)
    ]
    for amended in await store.amendments_recorded(db, iso3s, str(week), since, as_of):
        for key in number_keys:
            old, new = amended.previous.get(key), amended.answers.get(key)
            if old != new:
                changed.append(
                    RevisionLine(
                        amended.iso3, Week.parse(amended.week), key, old, new, None, amended.at
                    )
                )
    revision_lines = tuple(
        sorted(
            changed,
            key=lambda r: (
                iso3s.index(r.iso3),
                r.week,
                r.at,
                number_keys.index(r.key) if r.key in number_keys else 0,
            ),
        )
    )
    return Digest(
        region=region,
        week=week,
        as_of=as_of,
        weeks=weeks,
        countries=tuple(lines),
        rates=tuple(rates),
        series=series,
        per_100k=per_100k,
        needs=needs,
        other_needs=other_needs,
        training=texts[TRAINING_KEY],
        developments=texts[DEVELOPMENTS_KEY],
        revisions=revision_lines,
        revisions_since=since,
        number_keys=number_keys,
        unread_guidance={
            iso3: tuple(titles)
            for iso3, titles in (await unacknowledged(db, region, as_of - UNREAD_LOOKBACK)).items()
        },
    )


def _selected(report: store.ConfirmedReport | None) -> tuple[set[str], str | None]:
    value = report.answers.get(NEEDS_KEY) if report is not None else None
    if not isinstance(value, dict):
        return set(), None
    other = value.get("other")
    return set(value.get("selected") or ()), other.strip() if isinstance(other, str) else None


def _needs(
    region: Region, week: Week, by_key: Mapping[tuple[str, str], store.ConfirmedReport]
) -> tuple[tuple[Need, ...], tuple[tuple[str, str], ...]]:
    """Each need with the countries reporting it this week and the first week of their
    unbroken run of reporting it (a week without a report ends the run: unknown)."""
    try:
        question = region.questionnaire.question(NEEDS_KEY)
    except KeyError:
        return (), ()
    needs: list[Need] = []
    for option in question.options:
        who: list[tuple[str, Week]] = []
        for country in region.countries:
            if option.key not in _selected(by_key.get((country.iso3, str(week))))[0]:
                continue
            since = week
            for _ in range(NEEDS_LOOKBACK - 1):
                earlier = since.previous()
                if option.key not in _selected(by_key.get((country.iso3, str(earlier))))[0]:
                    break
                since = earlier
            who.append((country.iso3, since))
        if who:
            needs.append(Need(option.key, tuple(who)))
    others = []
    for country in region.countries:
        selected, text = _selected(by_key.get((country.iso3, str(week))))
        if text and any(o.with_text and o.key in selected for o in question.options):
            others.append((country.iso3, text))
    return tuple(needs), tuple(others)
