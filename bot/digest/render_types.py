"""What the chart and PDF renderers take: plain, picklable values, already localized.

The renderers run in a worker process (:mod:`bot.digest.worker`), so their input crosses a
pipe: plain dicts, lists, strings and frozen dataclasses, nothing bound to the database or
to Telegram. Country names, table cells and text lines arrive formatted in the reader's
language; the renderers only add their own few labels (axis titles, section headings)
through the translator of ``locale``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: ISO 3166 alpha-3 code -> [(ISO week "2020-W30", value, or None for a week not reported)].
#: A week inside the covered range that is absent from a country's list counts as missing too.
Series = dict[str, list[tuple[str, int | None]]]


@dataclass(frozen=True)
class ChartRequest:
    """The two trend charts of a digest (new cases, new deaths), each absolute and per 100,000.

    ``names`` gives the display order and the localized names: a country's colour and marker
    follow its position there, so it looks the same in every chart and every week.
    """

    cases: Series
    deaths: Series
    names: dict[str, str]
    populations: dict[str, int]
    locale: str
    region: str = ""


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells; ``header`` and every row have the same length."""

    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Bulletin:
    """One PDF bulletin (one region, one week, one language); every string already localized.

    ``charts`` are the PNGs of :func:`bot.digest.charts.render_charts` as (file name, bytes).
    Empty sections are left out of the PDF.
    """

    title: str
    subtitle: str
    locale: str
    completeness: list[str] = field(default_factory=list)
    table: Table | None = None
    needs: list[str] = field(default_factory=list)
    training: list[str] = field(default_factory=list)
    developments: list[str] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)
    charts: list[tuple[str, bytes]] = field(default_factory=list)
