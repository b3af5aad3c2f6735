"""The digest's numbers against a seeded season of real data (JHU weekly figures, 2020-2021).

Expected values are computed here from the CSV itself, not through the product's code.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.core.i18n import translator
from bot.core.week import Week
from bot.digest import content, texts
from storage import reports as reports_store
from tests.digest.support import read_truth, seeded, shift

PARTNERS = ("AFG", "KGZ", "MNG", "PAK", "TJK", "UZB")
ALL = (*PARTNERS, "KAZ", "TKM")
FIRST, LAST = "2020-W09", "2021-W26"


def truth_as_reported() -> dict[tuple[str, str], tuple[int, int]]:
    """The CSV as the product must show it: Kyrgyzstan's −439 deaths of 2020-W34 are a
    revision of 2020-W29 (the reclassification's spike), not a negative week (SOURCE.md)."""
    truth = read_truth()
    cases29, deaths29 = truth[("KGZ", "2020-W29")]
    cases34, deaths34 = truth[("KGZ", "2020-W34")]
    assert deaths34 == -439
    truth[("KGZ", "2020-W29")] = (cases29, deaths29 + deaths34)
    truth[("KGZ", "2020-W34")] = (cases34, 0)
    return truth


async def test_every_weeks_figures_and_changes_match_the_data(
    config: Config, tmp_path: Path
) -> None:
    svc = await seeded(config, tmp_path)
    region = config.region("central-asia")
    truth, raw = truth_as_reported(), read_truth()
    totals = dict.fromkeys(ALL, (0, 0))
    try:
        week = FIRST
        while week <= LAST:
            digest = await content.build(svc.db, region, Week.parse(week), as_of=_far_future())
            for iso3 in ALL:
                line = digest.country(iso3)
                cases, deaths = truth[(iso3, week)]
                assert line.figures["new_cases"] == cases, (iso3, week)
                assert line.figures["new_deaths"] == deaths, (iso3, week)
                assert line.figures["tests"] is None  # not in the data: missing, not 0
                previous = truth.get((iso3, shift(week, -1)))
                if previous is None:
                    assert line.change["new_cases"] is None
                else:
                    assert line.change["new_cases"] == cases - previous[0]
                    assert line.change["new_deaths"] == deaths - previous[1]
                c, d = totals[iso3]
                totals[iso3] = (c + cases, d + deaths)
            week = shift(week, 1)
    finally:
        await svc.db.close()
    for iso3 in ALL:  # the season's sums are the source's: the revision moved, not lost, deaths
        assert totals[iso3] == (
            sum(v[0] for k, v in raw.items() if k[0] == iso3),
            sum(v[1] for k, v in raw.items() if k[0] == iso3),
        )
    assert totals["PAK"][0] > 900_000  # the real data, not a toy set


def _far_future() -> datetime:
    return datetime(2030, 1, 1, tzinfo=ZoneInfo("UTC"))


async def test_the_week_30_digest_series_completeness_and_rates(
    config: Config, tmp_path: Path
) -> None:
    svc = await seeded(config, tmp_path)
    region = config.region("central-asia")
    truth = read_truth()  # as of W30's digest the reclassification has not happened yet
    try:
        digest = await content.build(svc.db, region, Week.parse("2020-W30"))
    finally:
        await svc.db.close()
    assert [str(w) for w in digest.weeks] == [shift("2020-W30", -i) for i in range(11, -1, -1)]
    for iso3 in ALL:
        cases = [v for _, v in digest.series["new_cases"][iso3]]
        assert cases == [truth[(iso3, str(w))][0] for w in digest.weeks]
    population = {"KGZ": 6_524_000, "PAK": 220_892_000}
    for iso3, people in population.items():
        w30 = digest.per_100k["new_cases"][iso3][-1][1]
        assert w30 is not None
        assert abs(w30 - truth[(iso3, "2020-W30")][0] * 100_000 / people) < 1e-9
    assert digest.country("KGZ").figures["new_deaths"] == 240
    assert digest.country("KGZ").change["new_deaths"] == 240 - 890
    assert len(digest.expected) == 6 and digest.completeness == 1.0
    assert {c.iso3 for c in digest.by_state("on_time")} == set(PARTNERS)
    assert [c.iso3 for c in digest.countries if c.status != "partner"] == ["KAZ", "TKM"]
    assert all((r.expected, r.reported, r.on_time) == (12, 12, 12) for r in digest.rates)


async def test_a_reclassification_is_a_revision_of_its_week_never_a_negative_week(
    config: Config, tmp_path: Path
) -> None:
    svc = await seeded(config, tmp_path)
    region = config.region("central-asia")
    try:
        w34 = await content.build(svc.db, region, Week.parse("2020-W34"))
        w35 = await content.build(svc.db, region, Week.parse("2020-W35"))
    finally:
        await svc.db.close()
    kgz = w34.country("KGZ")
    assert kgz.figures["new_deaths"] == 0  # not -439
    assert [(str(r.week), r.key, r.old, r.new, r.delta) for r in w34.revisions] == [
        ("2020-W29", "new_deaths", 890, 451, -439)
    ]
    assert w34.series["new_deaths"]["KGZ"][-6] == (Week.parse("2020-W29"), 451)
    assert all(v is None or v >= 0 for s in w34.series["new_deaths"].values() for _, v in s)
    assert w35.revisions == ()  # shown once: in the first digest after it was recorded
    text = texts.text(w34, translator("en"))
    figures_line = next(line for line in text.split("\n") if line.startswith("<b>Kyrgyzstan"))
    assert "-439" not in figures_line
    assert "Kyrgyzstan, week 29: deaths 890 → 451 (-439)" in text


async def test_a_missing_week_is_missing_and_counts_against_the_rates(
    config: Config, tmp_path: Path
) -> None:
    svc = await seeded(
        config, tmp_path, keep=lambda r: (r["iso3"], r["iso_week"]) != ("TJK", "2020-W30")
    )
    region = config.region("central-asia")
    try:
        w30 = await content.build(svc.db, region, Week.parse("2020-W30"))
        w31 = await content.build(svc.db, region, Week.parse("2020-W31"))
    finally:
        await svc.db.close()
    tjk = w30.country("TJK")
    assert tjk.state == "missing"
    assert set(tjk.figures.values()) == {None} and set(tjk.change.values()) == {None}
    assert w30.series["new_cases"]["TJK"][-1] == (Week.parse("2020-W30"), None)
    assert w30.completeness == 5 / 6
    assert [c.iso3 for c in w30.by_state("missing")] == ["TJK"]
    rates = {r.iso3: r for r in w30.rates}
    assert (rates["TJK"].reported, rates["TJK"].on_time) == (11, 11)
    assert abs(rates["TJK"].reporting_rate - 11 / 12) < 1e-12
    assert w31.country("TJK").change["new_cases"] is None  # against a missing week: no change
    en = texts.text(w30, translator("en"))
    assert "Missing: Tajikistan" in en
    assert "<b>Tajikistan</b>: no report" in en
    assert "Reported: 5 of 6 partner countries (83%)" in en


async def test_a_late_report_is_late_and_on_time_rates_follow_the_deadline(
    config: Config, tmp_path: Path
) -> None:
    """UZB's 2020-W28 report comes in on Wednesday 19:00 Tashkent, an hour after its deadline
    (Wed 18:00 local) and before the digest (Thu 10:00): late, counted reported, not on time."""
    svc = await seeded(
        config, tmp_path, keep=lambda r: (r["iso3"], r["iso_week"]) != ("UZB", "2020-W28")
    )
    region = config.region("central-asia")
    tashkent = ZoneInfo("Asia/Tashkent")
    monday_after = Week.parse("2020-W29").monday()
    late_at = datetime.combine(monday_after + timedelta(days=2), time(19, 0), tzinfo=tashkent)
    try:
        async with svc.db.transaction() as tx:
            report = await reports_store.get_or_create(tx, late_at, "UZB", "2020-W28", 1)
            await reports_store.add_version(
                tx,
                late_at,
                report,
                {"new_cases": 2000, "new_deaths": 9},
                -1,
                late=True,
                after_digest=False,
                warnings=[],
            )
        w28 = await content.build(svc.db, region, Week.parse("2020-W28"))
        w30 = await content.build(svc.db, region, Week.parse("2020-W30"))
    finally:
        await svc.db.close()
    assert [c.iso3 for c in w28.by_state("late")] == ["UZB"]
    assert w28.completeness == 1.0
    rates = {r.iso3: r for r in w30.rates}
    assert (rates["UZB"].reported, rates["UZB"].on_time) == (12, 11)
    assert abs(rates["UZB"].on_time_rate - 11 / 12) < 1e-12
    assert "Late: Uzbekistan" in texts.text(w28, translator("en"))


async def test_needs_since_when_training_and_developments_quoted_and_escaped(
    config: Config, tmp_path: Path
) -> None:
    dropped = {("MNG", "2020-W29"), ("MNG", "2020-W30"), ("PAK", "2020-W30")}
    svc = await seeded(config, tmp_path, keep=lambda r: (r["iso3"], r["iso_week"]) not in dropped)
    region = config.region("central-asia")
    mongolia = ZoneInfo("Asia/Ulaanbaatar")
    try:
        for week, answers in (
            ("2020-W29", {"needs": {"selected": ["ppe"], "other": None}}),
            (
                "2020-W30",
                {
                    "needs": {"selected": ["ppe", "other"], "other": "Swabs <10 000>"},
                    "training": "Biosafety & PCR",
                    "developments": "Lab <b>opened</b> in Darkhan",
                },
            ),
        ):
            at = datetime.combine(Week.parse(week).next().monday(), time(12), tzinfo=mongolia)
            async with svc.db.transaction() as tx:
                report = await reports_store.get_or_create(tx, at, "MNG", week, 1)
                await reports_store.add_version(
                    tx,
                    at,
                    report,
                    {"new_cases": 1, "new_deaths": 0, **answers},
                    -1,
                    late=False,
                    after_digest=False,
                    warnings=[],
                )
        digest = await content.build(svc.db, region, Week.parse("2020-W30"))
    finally:
        await svc.db.close()
    assert [(n.key, [(i, str(w)) for i, w in n.countries]) for n in digest.needs] == [
        ("ppe", [("MNG", "2020-W29")]),
        ("other", [("MNG", "2020-W30")]),
    ]
    assert digest.training == (("MNG", "Biosafety & PCR"),)
    en = texts.text(digest, translator("en"))
    assert "Mongolia (since week 29)" in en
    assert "«Lab &lt;b&gt;opened&lt;/b&gt; in Darkhan»" in en
    assert "Biosafety &amp; PCR" in en and "Swabs &lt;10 000&gt;" in en
    assert "<b>Pakistan</b>: no report" in en


async def test_an_amendment_after_its_digest_is_listed_as_a_revision_in_the_next(
    config: Config, tmp_path: Path
) -> None:
    """UZB amends its 2020-W29 report on Tuesday 28 July, after the W29 digest (Thu 23 July)
    and before the W30 one (Thu 30 July): the W29 digest rebuilt still reads the original,
    the W30 one lists the change as a revision and computes W30's change from the new figure."""
    svc = await seeded(config, tmp_path)
    region = config.region("central-asia")
    truth = read_truth()
    cases29, deaths29 = truth[("UZB", "2020-W29")]
    amended_at = datetime(2020, 7, 28, 15, 0, tzinfo=ZoneInfo("Asia/Tashkent"))
    try:
        report = await reports_store.find(svc.db, "UZB", "2020-W29")
        assert report is not None
        async with svc.db.transaction() as tx:
            await reports_store.add_version(
                tx,
                amended_at,
                report,
                {"new_cases": cases29 + 100, "new_deaths": deaths29},
                -1,
                late=True,
                after_digest=True,
                warnings=[],
            )
        w29 = await content.build(svc.db, region, Week.parse("2020-W29"))
        w30 = await content.build(svc.db, region, Week.parse("2020-W30"))
        w31 = await content.build(svc.db, region, Week.parse("2020-W31"))
    finally:
        await svc.db.close()
    assert w29.country("UZB").figures["new_cases"] == cases29
    assert w29.revisions == ()
    assert [(r.iso3, str(r.week), r.key, r.old, r.new, r.reason) for r in w30.revisions] == [
        ("UZB", "2020-W29", "new_cases", cases29, cases29 + 100, None)
    ]
    assert w30.country("UZB").change["new_cases"] == truth[("UZB", "2020-W30")][0] - cases29 - 100
    assert w31.revisions == ()
    shown = texts.text(w30, translator("en"))
    assert f"Uzbekistan, week 29: cases {cases29:,} → {cases29 + 100:,} (+100)" in shown
    assert "The report was amended." in shown
