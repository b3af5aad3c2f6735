"""The real weekly figures of the eight Central Asian countries, as chart and PDF input.

Read from the project's copy (``bot/digest/data/central_asia_weekly.csv``, package data of the
demo data); its source is named in ``bot/digest/data/SOURCE.md`` (JHU CSSE via
``datasets/covid-19``; WHO for Turkmenistan).
Shared by the chart and PDF tests, ``docs/make_samples.py`` and ``bench/digest_render.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from bot.config import Region, load_config
from bot.digest.render_types import Bulletin, ChartRequest, Series, Table

ROOT = Path(__file__).resolve().parent.parent.parent
CSV = ROOT / "bot" / "digest" / "data" / "central_asia_weekly.csv"


def csv_path() -> Path:
    return CSV


def region() -> Region:
    """The shipped config's Central Asia region (names, populations, order)."""
    return load_config(ROOT / "config.toml", env={}).regions[0]


def week_range(last: str, count: int) -> list[str]:
    year, number = last.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(number), 1)
    weeks = []
    for back in range(count - 1, -1, -1):
        y, n, _ = (monday - dt.timedelta(weeks=back)).isocalendar()
        weeks.append(f"{y}-W{n:02d}")
    return weeks


def series(last: str, count: int) -> tuple[Series, Series]:
    """(cases, deaths) per country for the ``count`` weeks ending with ``last``."""
    weeks = set(week_range(last, count))
    cases: Series = {}
    deaths: Series = {}
    with csv_path().open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["iso_week"] in weeks:
                cases.setdefault(row["iso3"], []).append((row["iso_week"], int(row["new_cases"])))
                deaths.setdefault(row["iso3"], []).append((row["iso_week"], int(row["new_deaths"])))
    for points in (*cases.values(), *deaths.values()):
        points.sort()
    return cases, deaths


def chart_request(lang: str, last: str = "2020-W30", count: int = 12) -> ChartRequest:
    """The digest's chart input for ``lang``, from real data."""
    reg = region()
    cases, deaths = series(last, count)
    return ChartRequest(
        cases=cases,
        deaths=deaths,
        names={c.iso3: c.name(lang) for c in reg.countries},
        populations={c.iso3: c.population for c in reg.countries if c.population},
        locale=lang,
        region=reg.name.get(lang, reg.name["en"]),
    )


def without(series: Series, iso3: str, week: str, as_zero: bool = False) -> Series:
    """``series`` with one country's week made missing (None), or zero when ``as_zero``."""
    changed = {k: list(v) for k, v in series.items()}
    changed[iso3] = [(w, (0 if as_zero else None) if w == week else v) for w, v in changed[iso3]]
    return changed


def _signed(value: int, lang: str) -> str:
    from babel.numbers import format_decimal

    if value == 0:
        return "±0"
    return ("+" if value > 0 else "−") + format_decimal(abs(value), locale=lang)


# What NFPs might have written that week (the CSV has figures only); quoted as given.
_TEXT = {
    "en": {
        "needs": [
            "PPE: Afghanistan, Kyrgyzstan, Tajikistan (since 2020-W22)",
            "Test kits: Kyrgyzstan, Mongolia (since 2020-W27)",
            "Ventilators and oxygen: Kyrgyzstan (since 2020-W28), Kazakhstan (since 2020-W29)",
        ],
        "training": [
            "Kyrgyzstan: oxygen therapy and ventilator management for non-ICU staff",
            "Tajikistan: specimen transport and biosafety at district laboratories",
        ],
        "developments": [
            "Kyrgyzstan: «Deaths from community-acquired pneumonia are now counted with COVID-19; "
            "the figures for July are being reclassified.» A US$ 5 million loan pays for oxygen "
            "concentrators.",
            "Kazakhstan: «The lockdown was extended to 2 August; 14 field hospitals opened.»",
            "Uzbekistan: «A second lockdown started on 10 July.»",
        ],
        "revisions": ["Kyrgyzstan, 2020-W29: deaths 890 (was 12): reclassification"],
    },
    "ru": {
        "needs": [
            "СИЗ: Афганистан, Кыргызстан, Таджикистан (с 2020-W22)",
            "Тест-системы: Кыргызстан, Монголия (с 2020-W27)",
            "Аппараты ИВЛ и кислород: Кыргызстан (с 2020-W28), Казахстан (с 2020-W29)",
        ],
        "training": [
            "Кыргызстан: кислородная терапия и ИВЛ для персонала вне реанимации",
            "Таджикистан: транспортировка проб и биобезопасность в районных лабораториях",
        ],
        "developments": [
            "Кыргызстан: «Смерти от внебольничной пневмонии теперь учитываются вместе с "
            "COVID-19; данные за июль пересматриваются.» Заём в 5 млн US$ оплатит "
            "кислородные концентраторы.",
            "Казахстан: «Карантин продлён до 2 августа; открыты 14 полевых госпиталей.»",
            "Узбекистан: «Второй карантин начался 10 июля.»",
        ],
        "revisions": ["Кыргызстан, 2020-W29: смерти 890 (было 12): переклассификация"],
    },
}


def bulletin(lang: str, charts: list[tuple[str, bytes]], week: str = "2020-W30") -> Bulletin:
    """A realistic bulletin for ``week``: real figures, plausible needs and quotes."""
    from babel.numbers import format_decimal

    reg = region()
    cases, deaths = series(week, 2)
    header = {
        "en": ["Country", "New cases", "Change", "New deaths", "Change"],
        "ru": ["Страна", "Новые случаи", "Изменение", "Смерти", "Изменение"],
    }[lang]
    rows = []
    for country in reg.countries:
        (_, c0), (_, c1) = cases[country.iso3]
        (_, d0), (_, d1) = deaths[country.iso3]
        assert c0 is not None and c1 is not None and d0 is not None and d1 is not None
        rows.append(
            [
                country.name(lang),
                format_decimal(c1, locale=lang),
                _signed(c1 - c0, lang),
                format_decimal(d1, locale=lang),
                _signed(d1 - d0, lang),
            ]
        )
    text = _TEXT[lang]
    name = reg.name.get(lang, reg.name["en"])
    return Bulletin(
        title={"en": f"{name}: weekly COVID-19 bulletin", "ru": f"{name}: еженедельный бюллетень"}[
            lang
        ],
        subtitle={"en": "Week 2020-W30, 20–26 July 2020", "ru": "Неделя 2020-W30, 20–26 июля 2020"}[
            lang
        ],
        locale=lang,
        completeness={
            "en": ["7 of 8 countries reported (88%): 6 on time, 1 late; missing: Turkmenistan"],
            "ru": ["Отчитались 7 из 8 стран (88 %): 6 вовремя, 1 с опозданием; нет: Туркменистан"],
        }[lang],
        table=Table(header=header, rows=rows),
        needs=text["needs"],
        training=text["training"],
        developments=text["developments"],
        revisions=text["revisions"],
        charts=charts,
    )
