"""The digest's trend charts, drawn from the real weekly figures of the eight countries.

Real PNG bytes (signature, IHDR dimensions, size), the worker process that keeps matplotlib
out of the bot, a missing week drawn as missing (not as zero), labels that never overlap
with eight countries, and numbers and dates in the reader's language.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import struct
import subprocess
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.digest.charts import (
    MAX_PNG_BYTES,
    STYLE,
    PngTooLarge,
    draw_trend,
    figure_png,
    iso_weeks,
    render_charts,
)
from bot.digest.render_types import ChartRequest
from bot.digest.worker import RenderFailed, run_task
from tests.digest.realdata import ROOT, chart_request, without

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which the PNG format puts first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def drawn(request: ChartRequest, metric: str = "cases") -> Figure:
    import matplotlib

    assert metric in ("cases", "deaths")
    with matplotlib.rc_context(STYLE):
        fig = draw_trend(request, "cases" if metric == "cases" else "deaths")
        fig.canvas.draw()
    return fig


def png_of(request: ChartRequest) -> bytes:
    import matplotlib

    with matplotlib.rc_context(STYLE):
        return figure_png(draw_trend(request, "cases"))


def children_running(module: str) -> list[int]:
    """Child processes of this one whose command line runs ``module``."""
    pids = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if module.encode() in cmdline:
                pids.append(int(pid))
    return pids


# ------------------------------------------------------------------ the bot's process


def test_the_bot_process_never_imports_matplotlib() -> None:
    """Importing the chart code, then drawing a real digest's charts, leaves the bot's process
    without matplotlib: the import is inside the drawing functions, which run in the worker."""
    script = """
import asyncio, sys
import bot.wiring.app, bot.digest.charts, bot.digest.pdf, bot.digest.worker
from tests.digest.realdata import chart_request
assert "matplotlib" not in sys.modules, "imported at start"
charts = asyncio.run(bot.digest.charts.render_charts(chart_request("en")))
assert [name for name, _ in charts] == ["cases.png", "deaths.png"], charts
assert all(png.startswith(b"\\x89PNG") for _, png in charts)
print("matplotlib" in sys.modules, "numpy" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------ real PNGs


async def test_render_charts_returns_real_pngs_for_a_phone() -> None:
    for lang in ("en", "ru"):
        charts = await render_charts(chart_request(lang))
        assert [name for name, _ in charts] == ["cases.png", "deaths.png"]
        for _name, png in charts:
            assert png_size(png) == (1080, 1350)  # portrait 4:5, as a chat shows it
            assert len(png) < 400_000 < MAX_PNG_BYTES
            assert png.endswith(b"IEND\xaeB`\x82")


async def test_a_failing_render_is_reported_with_its_cause() -> None:
    with pytest.raises(RenderFailed, match="TypeError: charts takes a ChartRequest"):
        await run_task("charts", "not a request")


async def test_a_render_cut_short_kills_its_worker() -> None:
    """A caller's timeout (or cancellation) must not leave a worker process behind."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await render_charts(chart_request("en", "2021-W26", 52))
    assert children_running("bot.digest.worker") == []


def test_the_png_ceiling_lowers_the_resolution_then_refuses() -> None:
    import matplotlib

    with matplotlib.rc_context(STYLE):
        fig = draw_trend(chart_request("en"), "cases")
        full = figure_png(fig)
        smaller = figure_png(fig, limit=len(full) - 1)
        assert len(smaller) < len(full)
        assert png_size(smaller)[0] < png_size(full)[0]
        with pytest.raises(PngTooLarge):
            figure_png(fig, limit=1_000)


# ------------------------------------------------------------------ missing is not zero


def test_a_missing_week_is_drawn_as_missing_not_as_zero() -> None:
    request = chart_request("en")
    missing = dataclasses.replace(request, cases=without(request.cases, "KGZ", "2020-W25"))
    zero = dataclasses.replace(
        request, cases=without(request.cases, "KGZ", "2020-W25", as_zero=True)
    )
    assert png_of(missing) != png_of(zero)

    weeks = iso_weeks(request.cases)
    at = weeks.index("2020-W25")
    fig = drawn(missing)
    ydata = ys(line_of(fig, "line-KGZ"))
    assert ydata[at] != ydata[at]  # NaN: a gap in the line, not a point at 0
    assert ydata[at - 1] == ydata[at - 1] and ydata[at + 1] == ydata[at + 1]
    gids = {a.get_gid() for a in fig.findobj() if a.get_gid()}
    assert {"missing-KGZ-2020-W25", "missing-2020-W25"} <= gids
    assert "not reported (missing, not zero)" in legend_texts(fig)

    fig = drawn(zero)
    assert ys(line_of(fig, "line-KGZ"))[at] == 0
    assert not any(str(g).startswith("missing-") for g in {a.get_gid() for a in fig.findobj()})
    assert "not reported (missing, not zero)" not in legend_texts(fig)


def test_a_week_absent_from_the_data_is_missing_too() -> None:
    """A country's list without that week (no report row at all) is missing, not skipped:
    the axis is the calendar, so the other weeks keep their places."""
    request = chart_request("en")
    dropped = {
        k: [p for p in v if not (k == "TJK" and p[0] == "2020-W22")]
        for k, v in request.cases.items()
    }
    fig = drawn(dataclasses.replace(request, cases=dropped))
    assert "missing-TJK-2020-W22" in {a.get_gid() for a in fig.findobj()}
    assert len(iso_weeks(dropped)) == 12


def drawn_texts(fig: Figure) -> list[Text]:
    """The texts a render shows: tick labels only of ticks inside the axes' view (matplotlib
    keeps the labels of ticks beyond the limits, but does not draw them)."""
    from matplotlib.text import Text

    ticks: set[int] = set()
    shown: list[Text] = []
    for ax in fig.axes:
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks.update((id(tick.label1), id(tick.label2)))
                inside = min(low, high) - 1e-9 <= tick.get_loc() <= max(low, high) + 1e-9
                if inside and tick.label1.get_visible() and tick.label1.get_text().strip():
                    shown.append(tick.label1)
    shown += [
        artist
        for artist in fig.findobj(Text)
        if isinstance(artist, Text) and id(artist) not in ticks
        if artist.get_visible() and artist.get_text().strip()
    ]
    return shown


def line_of(fig: Figure, gid: str) -> Line2D:
    from matplotlib.lines import Line2D

    (line,) = [a for a in fig.findobj(Line2D) if a.get_gid() == gid]
    assert isinstance(line, Line2D)
    return line


def ys(line: Line2D) -> list[float]:
    import numpy as np

    return [float(v) for v in np.asarray(line.get_ydata(), dtype=float)]


def legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


# ------------------------------------------------------------------ readable on a phone


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("weeks", [12, 52])
def test_no_label_overlaps_another_or_leaves_the_image(lang: str, weeks: int) -> None:
    """Every visible text (titles, axis labels, ticks, legend) of both charts, with all eight
    countries and a missing week, keeps clear of every other and stays inside the image."""
    request = chart_request(lang, "2021-W26" if weeks == 52 else "2020-W30", weeks)
    week = iso_weeks(request.cases)[5]
    request = dataclasses.replace(request, deaths=without(request.deaths, "KGZ", week))
    for metric in ("cases", "deaths"):
        fig = drawn(request, metric)
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in drawn_texts(fig)]
        assert len(boxes) >= 30  # 3 titles, 3 axis labels, ticks, 8 names (and the note)
        page = fig.bbox
        for text, box in boxes:
            assert page.x0 <= box.x0 and box.x1 <= page.x1, f"{text!r} leaves the image"
            assert page.y0 <= box.y0 and box.y1 <= page.y1, f"{text!r} leaves the image"
        for i, (text_a, a) in enumerate(boxes):
            for text_b, b in boxes[i + 1 :]:
                overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
                overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
                assert overlap_w <= 1 or overlap_h <= 1, f"{text_a!r} overlaps {text_b!r}"


def test_numbers_and_dates_are_in_the_readers_language_and_cyrillic_renders() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from the font is a warning
        en, ru = drawn(chart_request("en")), drawn(chart_request("ru"))
    en_ticks = [t.get_text() for t in en.axes[0].get_yticklabels()]
    ru_ticks = [t.get_text() for t in ru.axes[0].get_yticklabels()]
    assert "40,000" in en_ticks
    assert "40\u00a0000" in ru_ticks  # babel's Russian grouping: a no-break space
    assert "May 4" in en.axes[1].get_xlabel() and "4 мая" in ru.axes[1].get_xlabel()
    assert [t.get_text() for t in ru.axes[1].get_xticklabels()][:2] == ["19", "20"]
    names = legend_texts(ru)
    assert "Кыргызстан" in names and "Туркменистан" in names and len(names) == 8


def test_each_country_keeps_its_colour_and_marker_in_both_charts() -> None:
    request = chart_request("en")
    cases, deaths = drawn(request, "cases"), drawn(request, "deaths")
    styles = []
    for fig in (cases, deaths):
        style = {}
        for iso3 in request.names:
            line = line_of(fig, f"line-{iso3}")
            style[iso3] = (str(line.get_color()), str(line.get_marker()))
        styles.append(style)
    assert styles[0] == styles[1]
    assert len(set(styles[0].values())) == 8  # eight distinct colour + marker pairs
