"""What a digest's charts and PDFs cost: time, memory, sizes, and the bot's RSS around them.

``.venv/bin/python -m bench.digest_render`` measures, each in fresh processes, ``--runs``
times (3), and reports medians:

* **chart, in process**: one chart (new cases: 2 panels, 8 countries, 52 weeks of real data,
  2020-W27 … 2021-W26) drawn and encoded to PNG by ``bot.digest.charts`` (``draw_trend`` +
  ``figure_png`` in ``STYLE``) next to a **bare** matplotlib render of the same chart (same
  figure size, dpi, data, lines, markers, legend outside, constrained layout; no styling,
  babel formatters or missing-week marks): the first render after the import (fonts load)
  and the median of 3 warm renders; the process's peak RSS (VmHWM, import included).
* **both charts, cold**: what a digest pays end to end: ``await render_charts(...)`` (worker
  start, imports, both charts, pickle back) against a bare script drawing both charts in a
  fresh ``python`` (start to exit).
* **bot RSS**: an asyncio process that imports the bot (``bot.wiring.app``, which pulls in
  PTB, the handlers and storage) reads its VmRSS, renders a real digest (2020-W30: both
  charts, then the English and Russian PDFs) through the worker, and reads VmRSS again; the
  worker's peak RSS comes from ``getrusage(RUSAGE_CHILDREN)``.
* **sizes**: the PNGs (12 and 52 weeks) and the two PDFs.

Prints ``uptime`` before and after, writes ``bench/results/digest_render.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import ROOT, write_json

WEEK_52 = ("2021-W26", 52)
WEEK_12 = ("2020-W30", 12)


def _status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, KiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


# ------------------------------------------------------------------ children


def _bare_figure(request: Any, metric: str) -> Any:
    """The same chart with plain matplotlib: what any script would draw."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from bot.digest.charts import DPI, FIGSIZE, MARKERS, PALETTE, iso_weeks

    series = request.cases if metric == "cases" else request.deaths
    weeks = iso_weeks(series)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    fig.suptitle(f"{request.region}: {metric}")
    for i, (iso3, name) in enumerate(request.names.items()):
        by_week = dict(series.get(iso3, []))
        y = np.array([np.nan if by_week.get(w) is None else float(by_week[w]) for w in weeks])
        style = {"color": PALETTE[i], "marker": MARKERS[i]}
        top.plot(y, label=name, **style)
        bottom.plot(y * 100_000 / request.populations[iso3], **style)
    top.set_ylabel(metric)
    bottom.set_ylabel(f"{metric} per 100,000")
    bottom.set_xlabel("week")
    fig.legend(loc="outside lower center", ncols=2)
    return fig


def _png(fig: Any) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def child_inproc(kind: str) -> dict[str, Any]:
    """One chart, ``kind`` 'ours' or 'bare': import, first render, 3 warm renders."""
    from tests.digest.realdata import chart_request

    request = chart_request("en", *WEEK_52)
    start = time.perf_counter()
    import matplotlib

    from bot.digest.charts import STYLE, draw_trend, figure_png

    imported = time.perf_counter() - start

    def render() -> bytes:
        if kind == "bare":
            return _png(_bare_figure(request, "cases"))
        with matplotlib.rc_context(STYLE):
            return figure_png(draw_trend(request, "cases"))

    times = []
    png = b""
    for _ in range(4):
        start = time.perf_counter()
        png = render()
        times.append(time.perf_counter() - start)
    return {
        "import_s": imported,
        "first_s": times[0],
        "warm_s": statistics.median(times[1:]),
        "png_bytes": len(png),
        "hwm_kib": _status()["VmHWM"],
    }


def child_bare_both() -> dict[str, Any]:
    """Both charts, bare, in this fresh process (the parent times start to exit)."""
    from tests.digest.realdata import chart_request

    request = chart_request("en", *WEEK_52)
    sizes = [len(_png(_bare_figure(request, metric))) for metric in ("cases", "deaths")]
    return {"png_bytes": sizes, "hwm_kib": _status()["VmHWM"]}


async def _bot_like() -> dict[str, Any]:
    import bot.wiring.app  # noqa: F401  (the bot as it runs: PTB, handlers, storage)
    from bot.digest.charts import render_charts
    from bot.digest.pdf import render_pdfs
    from tests.digest.realdata import bulletin, chart_request

    request_52 = chart_request("en", *WEEK_52)
    request_en, request_ru = chart_request("en", *WEEK_12), chart_request("ru", *WEEK_12)
    await asyncio.sleep(0.2)
    before = _status()
    start = time.perf_counter()
    charts_en = await render_charts(request_en)
    charts_s = time.perf_counter() - start
    charts_ru = await render_charts(request_ru)
    start = time.perf_counter()
    pdfs = await render_pdfs([bulletin("en", charts_en), bulletin("ru", charts_ru)])
    pdfs_s = time.perf_counter() - start
    after_first = _status()
    start = time.perf_counter()
    charts_52 = await render_charts(request_52)
    cold_52_s = time.perf_counter() - start
    after = _status()
    return {
        "rss_before_kib": before["VmRSS"],
        "rss_after_first_digest_kib": after_first["VmRSS"],
        "rss_after_kib": after["VmRSS"],
        "hwm_kib": after["VmHWM"],
        "worker_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "charts_12w_s": charts_s,
        "pdfs_s": pdfs_s,
        "ours_both_cold_s": cold_52_s,
        "png_12w_bytes": [len(png) for _, png in charts_en + charts_ru],
        "png_52w_bytes": [len(png) for _, png in charts_52],
        "pdf_bytes": [len(pdf) for pdf in pdfs],
        "bot_has_matplotlib": "matplotlib" in sys.modules,
    }


def run_child(role: str) -> tuple[float, dict[str, Any]]:
    """(wall seconds from spawn to exit, the child's JSON)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.digest_render", "--child", role],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{role} failed:\n{done.stderr}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, data


# ------------------------------------------------------------------ parent


def med(rows: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(row[key] for row in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=["ours", "bare", "bare-both", "bot"])
    parser.add_argument("--out", default="digest_render.json", help="'' = don't write")
    args = parser.parse_args()
    if args.child in ("ours", "bare"):
        print(json.dumps(child_inproc(args.child)))
        return
    if args.child == "bare-both":
        print(json.dumps(child_bare_both()))
        return
    if args.child == "bot":
        print(json.dumps(asyncio.run(_bot_like())))
        return

    load_before = _uptime()
    print(load_before)
    ours, bare, bare_both, bots = [], [], [], []
    for run in range(args.runs):
        ours.append(run_child("ours")[1])
        bare.append(run_child("bare")[1])
        wall, data = run_child("bare-both")
        bare_both.append({**data, "wall_s": wall})
        bots.append(run_child("bot")[1])
        print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
    load_after = _uptime()

    mib = 1024
    result: dict[str, Any] = {
        "runs": args.runs,
        "uptime_before": load_before,
        "uptime_after": load_after,
        "chart_in_process": {
            "ours": {k: med(ours, k) for k in ("import_s", "first_s", "warm_s", "hwm_kib")},
            "bare": {k: med(bare, k) for k in ("import_s", "first_s", "warm_s", "hwm_kib")},
        },
        "both_charts_cold": {
            "ours_s": med(bots, "ours_both_cold_s"),
            "bare_s": med(bare_both, "wall_s"),
            "bare_hwm_kib": med(bare_both, "hwm_kib"),
        },
        "bot": {
            k: med(bots, k)
            for k in (
                "rss_before_kib",
                "rss_after_first_digest_kib",
                "rss_after_kib",
                "hwm_kib",
                "worker_peak_kib",
                "charts_12w_s",
                "pdfs_s",
            )
        },
        "bot_has_matplotlib": any(b["bot_has_matplotlib"] for b in bots),
        "sizes_bytes": {
            "png_12w": bots[0]["png_12w_bytes"],
            "png_52w": bots[0]["png_52w_bytes"],
            "png_52w_bare": bare_both[0]["png_bytes"],
            "pdf_en_ru": bots[0]["pdf_bytes"],
        },
        "raw": {"ours": ours, "bare": bare, "bare_both": bare_both, "bot": bots},
    }
    o, b = result["chart_in_process"]["ours"], result["chart_in_process"]["bare"]
    cold = result["both_charts_cold"]
    bot = result["bot"]
    sizes = result["sizes_bytes"]
    result["ratios"] = {
        "warm": o["warm_s"] / b["warm_s"],
        "first": o["first_s"] / b["first_s"],
        "cold_both": cold["ours_s"] / cold["bare_s"],
        "peak_memory": o["hwm_kib"] / b["hwm_kib"],
    }
    r = result["ratios"]
    print()
    print("one chart (cases, 8 countries x 52 weeks, 2 panels, 1080x1350), in process:")
    print("             import s  first s  warm s  peak RSS MiB")
    for name, row in (("nfpbot", o), ("bare", b)):
        print(
            f"  {name:<9} {row['import_s']:8.2f} {row['first_s']:8.2f} {row['warm_s']:7.3f}"
            f" {row['hwm_kib'] / mib:12.1f}"
        )
    print(
        f"  ratio     warm {r['warm']:.2f}x  first {r['first']:.2f}x"
        f"  peak memory {r['peak_memory']:.2f}x"
    )
    print(
        f"both charts cold: nfpbot render_charts (worker) {cold['ours_s']:.2f} s,"
        f" bare script {cold['bare_s']:.2f} s ({r['cold_both']:.2f}x)"
    )
    print(
        f"bot RSS: before {bot['rss_before_kib'] / mib:.1f} MiB, after the first digest"
        f" {bot['rss_after_first_digest_kib'] / mib:.1f} MiB, after a 52-week render"
        f" {bot['rss_after_kib'] / mib:.1f} MiB (peak {bot['hwm_kib'] / mib:.1f});"
        f" worker peak {bot['worker_peak_kib'] / mib:.1f} MiB;"
        f" matplotlib in the bot: {result['bot_has_matplotlib']}"
    )
    print(f"digest 2020-W30: charts {bot['charts_12w_s']:.2f} s, PDFs en+ru {bot['pdfs_s']:.2f} s")
    kb = [f"{n / 1000:.0f}" for n in sizes["png_12w"]]
    print(
        f"sizes KB: PNG 12 weeks {kb}, 52 weeks {[f'{n / 1000:.0f}' for n in sizes['png_52w']]}"
        f" (bare {[f'{n / 1000:.0f}' for n in sizes['png_52w_bare']]}),"
        f" PDF en/ru {[f'{n / 1000:.0f}' for n in sizes['pdf_en_ru']]}"
    )
    print(load_after)
    if args.out:
        print(write_json(args.out, result))


if __name__ == "__main__":
    main()
