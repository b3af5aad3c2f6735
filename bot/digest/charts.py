"""The digest's trend charts: weekly new cases and deaths per country, absolute and per 100,000.

Drawn for a phone: a portrait 1080 x 1350 PNG (4:5, what a chat shows full width without
cropping), large type, the Okabe-Ito palette (safe for the common colour-vision deficiencies)
with a distinct marker per country as a second cue, labelled axes, the legend outside the
plots below them, numbers and dates formatted by babel in the reader's language. A week a
country did not report is a gap in its line, a hatched band over that week and the country's
marker on the band's foot, named in the legend: missing is never drawn as zero.

matplotlib costs ~0.3 s and ~64 MiB to import (stack-notes), so it is imported only inside
the functions that draw, and those run in a worker process (:mod:`bot.digest.worker`): the
bot awaits :func:`render_charts` and never imports matplotlib itself. Only the object API is
used (``matplotlib.figure.Figure`` on an Agg canvas): pyplot keeps every figure alive in a
global registry, which a long-running process must not have.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Literal

from bot.core.i18n import Translator
from bot.digest.render_types import ChartRequest, Series

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

__all__ = [
    "MAX_PNG_BYTES",
    "Metric",
    "PngTooLarge",
    "draw_charts",
    "draw_trend",
    "figure_png",
    "iso_weeks",
    "render_charts",
]

Metric = Literal["cases", "deaths"]

#: Hard ceiling of one chart PNG (the aim is under 400 KB; Telegram takes photos to 10 MB,
#: but a digest is opened on phones on mobile data).
MAX_PNG_BYTES = 1_000_000
#: Portrait 4:5 at 200 dpi: 1080 x 1350 px.
FIGSIZE = (5.4, 6.75)
DPI = 200
#: Lower resolutions tried, in order, when a PNG comes out above the ceiling.
FALLBACK_DPI = (150, 110)

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with protanopia,
#: deuteranopia and tritanopia. Yellow last: it is the weakest on white, and its markers
#: get a dark edge like every other marker.
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
#: A second cue besides colour (and what tells the lines apart in a greyscale print).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
MISSING_HATCH = "////"
MISSING_GREY = "#8c8c8c"

#: Type sizes in points; at 200 dpi one point is ~2.8 px of the 1080 px-wide image.
STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",  # ships with matplotlib; covers Latin and Cyrillic
    "font.size": 11.5,
    "axes.titlesize": 12.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 11.5,
    "xtick.labelsize": 10.5,
    "ytick.labelsize": 10.5,
    "legend.fontsize": 11,
    "figure.titlesize": 14,
    "figure.titleweight": "bold",
    "axes.grid": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.parse_math": False,  # a name or label with two "$" is text, not TeX
}

_TITLES = {
    "cases": "New confirmed cases per week",
    "deaths": "New deaths per week",
}
_AXIS = {
    "cases": "New cases",
    "deaths": "New deaths",
}
_AXIS_PER = {
    "cases": "Cases per {n}",
    "deaths": "Deaths per {n}",
}
PER = 100_000


class PngTooLarge(RuntimeError):
    """A chart stayed above :data:`MAX_PNG_BYTES` even at the lowest fallback resolution."""


def iso_weeks(series: Series) -> list[str]:
    """Every ISO week from the earliest to the latest one in ``series``, gaps included.

    A week no country has is still a week of the chart (drawn as missing for all), so the
    axis is built from the calendar, not from the data.
    """
    present = {week for points in series.values() for week, _ in points}
    if not present:
        return []
    first, last = (_monday(w) for w in (min(present), max(present)))
    weeks = []
    day = first
    while day <= last:
        year, number, _ = day.isocalendar()
        weeks.append(f"{year}-W{number:02d}")
        day += dt.timedelta(weeks=1)
    return weeks


def _monday(week: str) -> dt.date:
    year, number = week.split("-W")
    return dt.date.fromisocalendar(int(year), int(number), 1)


def _values(points: list[tuple[str, int | None]], weeks: list[str]) -> list[int | None]:
    by_week = dict(points)
    return [by_week.get(week) for week in weeks]


def draw_trend(request: ChartRequest, metric: Metric) -> Figure:
    """One chart: the absolute weekly numbers above, the same per 100,000 people below.

    Returns the Figure (on an Agg canvas) so tests can inspect what was drawn; call
    :func:`figure_png` for the bytes. Must be called inside ``matplotlib.rc_context(STYLE)``
    (:func:`draw_charts` does) for the type sizes to apply.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    tr = Translator(request.locale)
    series = request.cases if metric == "cases" else request.deaths
    weeks = iso_weeks(series)
    x = np.arange(len(weeks))
    per = tr.number(PER)

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    absolute, relative = fig.subplots(2, 1, sharex=True)
    title = tr.gettext(_TITLES[metric])
    # wrapped at the figure's edge: a Russian title with the region is wider than the chart
    fig.suptitle(f"{request.region}: {title}" if request.region else title, wrap=True)
    absolute.set_title(tr.gettext("Number"), loc="left")
    relative.set_title(tr.gettext("Per {n} people").format(n=per), loc="left")
    absolute.set_ylabel(tr.gettext(_AXIS[metric]))
    relative.set_ylabel(tr.gettext(_AXIS_PER[metric]).format(n=per))

    handles: list[Line2D | Patch] = []
    labels: list[str] = []
    missing_at: dict[int, list[int]] = {}  # week index -> positions of the countries missing it
    lowest = min((v for points in series.values() for _, v in points if v is not None), default=0)
    for position, (iso3, name) in enumerate(request.names.items()):
        colour = PALETTE[position % len(PALETTE)]
        marker = MARKERS[position % len(MARKERS)]
        values = _values(series.get(iso3, []), weeks)
        y = np.array([np.nan if v is None else float(v) for v in values])
        style = {
            "color": colour,
            "marker": marker,
            "markersize": 6.5,
            "markeredgecolor": "#222222",
            "markeredgewidth": 0.6,
            "linewidth": 2.2,
        }
        (line,) = absolute.plot(x, y, label=name, gid=f"line-{iso3}", **style)
        population = request.populations.get(iso3)
        if population:
            relative.plot(x, y * PER / population, gid=f"per-{iso3}", **style)
        for index, value in enumerate(values):
            if value is None:
                missing_at.setdefault(index, []).append(position)
        handles.append(line)
        labels.append(name)

    # a tick label is formatted on every layout pass and draw: babel once per value
    labels_seen: dict[float, str] = {}

    def number(value: float, _pos: int | None = None) -> str:
        if value not in labels_seen:
            labels_seen[value] = tr.number(_tidy(value))
        return labels_seen[value]

    step = max(1, math.ceil(len(weeks) / 12))
    ticks = list(range(0, len(weeks), step))
    tick_labels = [tr.number(int(weeks[i].split("-W")[1])) for i in ticks]
    for ax in (absolute, relative):
        for index, positions in sorted(missing_at.items()):
            ax.axvspan(
                index - 0.42,
                index + 0.42,
                facecolor="none",
                edgecolor=MISSING_GREY,
                hatch=MISSING_HATCH,
                linewidth=0,
                gid=f"missing-{weeks[index]}",
                zorder=0.5,
            )
            # the missing countries' own markers at the foot of the band (in axes height, so
            # they stay visible whatever the y range), stacked when several miss the week
            for row, position in enumerate(positions):
                iso3 = list(request.names)[position]
                ax.plot(
                    [index],
                    [0.06 + 0.075 * row],
                    transform=ax.get_xaxis_transform(),
                    linestyle="none",
                    marker=MARKERS[position % len(MARKERS)],
                    markersize=7.5,
                    markerfacecolor="white",
                    markeredgecolor=PALETTE[position % len(PALETTE)],
                    markeredgewidth=2.0,
                    gid=f"missing-{iso3}-{weeks[index]}",
                    clip_on=False,
                )
        if lowest >= 0:  # a negative value (an uncorrected reclassification) stays visible
            ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
        ax.yaxis.set_major_formatter(FuncFormatter(number))
        ax.set_xticks(ticks, labels=tick_labels)
        ax.set_xlim(-0.6, len(weeks) - 0.4)
        ax.set_axisbelow(True)

    if weeks:
        first, last = _monday(weeks[0]), _monday(weeks[-1]) + dt.timedelta(days=6)
        relative.set_xlabel(
            tr.gettext("Week of the year (ISO), {dates}").format(dates=_interval(first, last, tr))
        )
    if missing_at:
        handles.append(
            Patch(facecolor="none", edgecolor=MISSING_GREY, hatch=MISSING_HATCH, linewidth=0)
        )
        labels.append(tr.gettext("not reported (missing, not zero)"))
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=2,
        frameon=False,
        handlelength=2.2,
        columnspacing=1.2,
    )
    return fig


def _tidy(value: float) -> int | float:
    """A tick value as babel should show it: whole numbers without a decimal part."""
    rounded = round(value, 6)
    return int(rounded) if rounded == int(rounded) else rounded


def _interval(first: dt.date, last: dt.date, tr: Translator) -> str:
    from babel.dates import format_interval

    return format_interval(first, last, "yMMMd", locale=tr.lang)


def figure_png(fig: Figure, limit: int = MAX_PNG_BYTES) -> bytes:
    """The figure as PNG, re-rendered at a lower resolution while it is above ``limit``.

    No metadata (no matplotlib version stamp): the same chart gives the same bytes, which
    keeps the committed samples stable.
    """
    from io import BytesIO

    for dpi in (DPI, *FALLBACK_DPI):
        buffer = BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        data = buffer.getvalue()
        if len(data) <= limit:
            return data
    raise PngTooLarge(f"chart PNG is {len(data):,} bytes at {dpi} dpi, above {limit:,}")


def draw_charts(request: ChartRequest) -> list[tuple[str, bytes]]:
    """Both charts as (file name, PNG bytes), cases first. Runs in the worker process."""
    import matplotlib

    matplotlib.use("Agg")
    out = []
    with matplotlib.rc_context(STYLE):
        for metric in ("cases", "deaths"):
            fig = draw_trend(request, metric)
            out.append((f"{metric}.png", figure_png(fig)))
    return out


async def render_charts(request: ChartRequest) -> list[tuple[str, bytes]]:
    """Draw the digest's charts in a worker process; the bot never imports matplotlib."""
    from bot.digest.worker import run_task

    result = await run_task("charts", request)
    if not (
        isinstance(result, list)
        and all(
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], bytes)
            for item in result
        )
    ):
        raise TypeError(f"chart worker returned {type(result).__name__}")
    return result
