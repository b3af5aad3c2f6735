"""The PDF bulletin: one or two A4 pages per region, week and language.

What the secretariat forwards by e-mail to partners outside Telegram: the title, the
completeness lines, the table of figures, the two trend charts, the needs, training topics,
key developments (quoted) and revisions. Drawn with matplotlib's PDF backend
(``PdfPages``, one ``Figure`` per page), which the charts already need: no second library
to install and keep, and the DejaVu Sans font that ships with matplotlib covers Latin and
Cyrillic. Fonts are embedded as TrueType subsets (``pdf.fonttype`` 42) with their Unicode
map, so a reader can search and copy the Russian text, not just see it.

The layout is a small flow: blocks of lines measured with the real font, wrapped to the
text width, placed top to bottom and broken across pages. When the content needs more than
two pages the body type gets smaller, then the charts; as a last resort the text is cut
at the end of page two with a note saying so (the full text is in the group's digest).
Text is drawn with ``parse_math=False``: a quote with two ``$`` signs is text, not TeX.
Runs in the worker process (:mod:`bot.digest.worker`), like the charts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.i18n import Translator
from bot.digest.render_types import Bulletin, Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

__all__ = ["MAX_PAGES", "PDF_STYLE", "draw_pages", "draw_pdf", "page_png", "render_pdfs"]

MAX_PAGES = 2
#: A4 in points (1/72 inch).
PAGE_W, PAGE_H = 595.28, 841.89
MARGIN = 42.0
TEXT_W = PAGE_W - 2 * MARGIN
FOOTER = 24.0  # space kept at the bottom of each page for "Page 1 of 2"
FONT = "DejaVu Sans"
#: (body type size, chart height) tried in order until the bulletin fits on MAX_PAGES pages.
ATTEMPTS = ((9.5, 300.0), (9.0, 280.0), (8.5, 260.0), (8.0, 240.0), (7.5, 220.0), (7.0, 200.0))
ACCENT = "#0072B2"
STRIPE = "#eef3f8"
QUOTE_BAR = "#b0b0b0"
#: TrueType (Type 42) subsets with a Unicode map: the text stays searchable and copyable.
PDF_STYLE: dict[RcKeyType, Any] = {
    "pdf.fonttype": 42,
    "font.family": FONT,
    "text.parse_math": False,
}

_NUMERIC = re.compile(r"^[\s\d\u00a0\u202f,.+\-−–—%()]*$")


@dataclass
class _Item:
    """Something placed on a page: ``height`` points tall, drawn by ``draw(fig, top)``."""

    height: float
    draw: Callable[[Figure, float], None]
    space_before: float = 0.0
    keep_with_next: bool = False  # a heading stays with the block that follows it


class _Measure:
    """Text widths in points with the font the PDF embeds (matplotlib's own text metrics)."""

    def __init__(self) -> None:
        from matplotlib.textpath import TextToPath

        self._paths = TextToPath()

    def width(self, text: str, size: float, bold: bool = False) -> float:
        from matplotlib.font_manager import FontProperties

        prop = FontProperties(family=FONT, size=size, weight="bold" if bold else "normal")
        w, _h, _d = self._paths.get_text_width_height_descent(text, prop, ismath=False)
        return float(w)

    def wrap(self, text: str, size: float, width: float, bold: bool = False) -> list[str]:
        """Greedy word wrap; a word longer than the line is split by characters."""
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            current = ""
            for word in paragraph.split(" "):
                candidate = f"{current} {word}" if current else word
                if self.width(candidate, size, bold) <= width:
                    current = candidate
                    continue
                if current:
                    lines.append(current)
                current = word
                while self.width(current, size, bold) > width and len(current) > 1:
                    cut = len(current) - 1
                    while cut > 1 and self.width(current[:cut], size, bold) > width:
                        cut -= 1
                    lines.append(current[:cut])
                    current = current[cut:]
            lines.append(current)
        return lines


def _text(
    fig: Figure,
    x: float,
    top: float,
    s: str,
    size: float,
    *,
    ha: str = "left",
    color: str = "black",
    weight: str = "normal",
) -> None:
    """Text at ``x`` points from the left edge, its top ``top`` points below the page's top."""
    fig.text(
        x / PAGE_W,
        1 - top / PAGE_H,
        s,
        fontsize=size,
        family=FONT,
        va="top",
        ha=ha,
        color=color,
        weight=weight,
        parse_math=False,
    )


def _lines_items(
    lines: list[str], size: float, x: float = MARGIN, colour: str = "black", bar: bool = False
) -> list[_Item]:
    """One item per line, so a long block can break across pages."""
    lead = size * 1.32
    items = []
    for line in lines:

        def draw(fig: Figure, top: float, line: str = line) -> None:
            _text(fig, x, top, line, size, color=colour)
            if bar:
                from matplotlib.patches import Rectangle

                fig.add_artist(
                    Rectangle(
                        ((x - 8) / PAGE_W, 1 - (top + lead) / PAGE_H),
                        2.2 / PAGE_W,
                        lead / PAGE_H,
                        transform=fig.transFigure,
                        color=QUOTE_BAR,
                        linewidth=0,
                    )
                )

        items.append(_Item(lead, draw))
    return items


def _heading(text: str, size: float, measure: _Measure) -> _Item:
    lines = measure.wrap(text, size + 2, TEXT_W, bold=True)
    height = (size + 2) * 1.35 * len(lines)

    def draw(fig: Figure, top: float) -> None:
        _text(fig, MARGIN, top, "\n".join(lines), size + 2, color=ACCENT, weight="bold")

    return _Item(height, draw, space_before=size * 0.9, keep_with_next=True)


def _bullets(
    entries: list[str], size: float, measure: _Measure, quote: bool = False
) -> list[_Item]:
    items: list[_Item] = []
    indent = 14.0 if quote else 11.0
    for entry in entries:
        wrapped = measure.wrap(entry, size, TEXT_W - indent)
        if quote:
            block = _lines_items(wrapped, size, MARGIN + indent, colour="#222222", bar=True)
        else:
            block = _lines_items(["• " + wrapped[0]], size, MARGIN)
            block += _lines_items(wrapped[1:], size, MARGIN + indent)
        block[0].space_before = size * (0.45 if quote else 0.15)
        items += block
    return items


def _table(table: Table, size: float, measure: _Measure) -> list[_Item]:
    """Header and rows; numeric columns right-aligned; the type shrinks until it fits."""
    columns = len(table.header)
    numeric = [
        all(_NUMERIC.match(row[c]) for row in table.rows if c < len(row)) and bool(table.rows)
        for c in range(columns)
    ]
    pad = 7.0
    while True:
        widths = [
            max(
                [measure.width(table.header[c], size, bold=True)]
                + [measure.width(row[c], size) for row in table.rows if c < len(row)]
            )
            + 2 * pad
            for c in range(columns)
        ]
        if sum(widths) <= TEXT_W or size <= 5.5:
            break
        size -= 0.25
    # spread what is left over the first (name) column, so the table spans the text width
    widths[0] += max(0.0, TEXT_W - sum(widths))
    row_h = size * 1.75
    lefts = [MARGIN + sum(widths[:c]) for c in range(columns)]

    def row_item(cells: list[str], bold: bool, shade: str | None) -> _Item:
        def draw(fig: Figure, top: float) -> None:
            from matplotlib.patches import Rectangle

            if shade:
                fig.add_artist(
                    Rectangle(
                        (MARGIN / PAGE_W, 1 - (top + row_h) / PAGE_H),
                        TEXT_W / PAGE_W,
                        row_h / PAGE_H,
                        transform=fig.transFigure,
                        color=shade,
                        linewidth=0,
                    )
                )
            for c, cell in enumerate(cells[:columns]):
                if numeric[c]:
                    x, ha = lefts[c] + widths[c] - pad, "right"
                else:
                    x, ha = lefts[c] + pad, "left"
                _text(
                    fig,
                    x,
                    top + (row_h - size * 1.2) / 2,
                    cell,
                    size,
                    ha=ha,
                    weight="bold" if bold else "normal",
                    color="white" if bold else "black",
                )

        return _Item(row_h, draw)

    items = [row_item(table.header, True, ACCENT)]
    items[0].keep_with_next = True
    for index, row in enumerate(table.rows):
        items.append(row_item(row, False, STRIPE if index % 2 else None))
    return items


def _charts(charts: list[tuple[str, bytes]], height: float) -> list[_Item]:
    """The chart PNGs side by side (two per row), each scaled to ``height`` points."""
    items: list[_Item] = []
    for start in range(0, len(charts), 2):
        pair = charts[start : start + 2]

        def draw(fig: Figure, top: float, pair: list[tuple[str, bytes]] = pair) -> None:
            from io import BytesIO

            import numpy as np
            from PIL import Image  # matplotlib's own dependency

            gap = 12.0
            for i, (_name, png) in enumerate(pair):
                # 8-bit RGB: a quarter of matplotlib's float RGBA in memory, and opaque
                # charts need no soft mask in the PDF
                with Image.open(BytesIO(png)) as decoded:
                    image = np.asarray(decoded.convert("RGB"))
                ratio = image.shape[1] / image.shape[0]
                h = min(height, (TEXT_W - gap) / 2 / ratio)
                w = h * ratio
                left = MARGIN + i * ((TEXT_W + gap) / 2)
                ax = fig.add_axes(
                    (left / PAGE_W, 1 - (top + h) / PAGE_H, w / PAGE_W, h / PAGE_H),
                    frameon=False,
                )
                ax.set_axis_off()
                ax.imshow(image, interpolation="none")

        items.append(_Item(height, draw, space_before=10.0))
    return items


def _items(bulletin: Bulletin, size: float, chart_h: float, measure: _Measure) -> list[_Item]:
    tr = Translator(bulletin.locale)
    title_lines = measure.wrap(bulletin.title, size + 8, TEXT_W, bold=True)
    subtitle_lines = measure.wrap(bulletin.subtitle, size + 1.5, TEXT_W)

    def title(fig: Figure, top: float) -> None:
        _text(fig, MARGIN, top, "\n".join(title_lines), size + 8, weight="bold", color=ACCENT)

    items = [_Item((size + 8) * 1.3 * len(title_lines), title)]
    items += _lines_items(subtitle_lines, size + 1.5, colour="#333333")
    sections: list[tuple[str, list[_Item]]] = []
    if bulletin.completeness:
        sections.append(
            (tr.gettext("Completeness"), _bullets(bulletin.completeness, size, measure))
        )
    if bulletin.table is not None:
        sections.append((tr.gettext("Figures by country"), _table(bulletin.table, size, measure)))
    chart_items = _charts(bulletin.charts, chart_h)
    needs = [
        (tr.gettext("Needs in supplies and consumables"), bulletin.needs, False),
        (tr.gettext("Training topics wanted"), bulletin.training, False),
        (tr.gettext("Key developments"), bulletin.developments, True),
        (tr.gettext("Revisions since the last digest"), bulletin.revisions, False),
    ]
    for heading, body in sections:
        items += [_heading(heading, size, measure), *body]
    items += chart_items
    for heading, entries, quote in needs:
        if entries:
            items += [_heading(heading, size, measure), *_bullets(entries, size, measure, quote)]
    return items


def _paginate(items: list[_Item]) -> list[list[tuple[_Item, float]]]:
    """Place items top to bottom; a new page when one does not fit (headings kept with the
    next item)."""
    pages: list[list[tuple[_Item, float]]] = [[]]
    bottom = PAGE_H - MARGIN - FOOTER
    top = MARGIN
    for index, item in enumerate(items):
        need = item.height
        if item.keep_with_next and index + 1 < len(items):
            need += items[index + 1].space_before + items[index + 1].height
        start = top + (item.space_before if pages[-1] else 0.0)
        if start + need > bottom and pages[-1]:
            pages.append([])
            start = MARGIN
        pages[-1].append((item, start))
        top = start + item.height
    return pages


def _layout(bulletin: Bulletin, measure: _Measure) -> list[list[tuple[_Item, float]]]:
    """The first attempt that fits MAX_PAGES, else the smallest one cut at the last page."""
    pages: list[list[tuple[_Item, float]]] = []
    size = ATTEMPTS[-1][0]
    for size, chart_h in ATTEMPTS:
        pages = _paginate(_items(bulletin, size, chart_h, measure))
        if len(pages) <= MAX_PAGES:
            return pages
    kept = pages[:MAX_PAGES]
    tr = Translator(bulletin.locale)
    note = tr.gettext("Shortened to fit two pages: the full text is in the group's digest.")
    lead = size * 1.32
    last = kept[-1]
    bottom = PAGE_H - MARGIN - FOOTER
    while last and last[-1][1] + last[-1][0].height + lead * 1.5 > bottom:
        last.pop()
    top = (last[-1][1] + last[-1][0].height) if last else MARGIN
    (note_item,) = _lines_items(["… " + note], size, colour="#555555")
    last.append((note_item, top + lead * 0.5))
    return kept


def draw_pages(bulletin: Bulletin) -> list[Figure]:
    """The bulletin's pages as Figures; call inside ``matplotlib.rc_context(PDF_STYLE)``."""
    from matplotlib.figure import Figure

    tr = Translator(bulletin.locale)
    pages = _layout(bulletin, _Measure())
    figures = []
    for number, placed in enumerate(pages, start=1):
        fig = Figure(figsize=(PAGE_W / 72, PAGE_H / 72), dpi=72)
        for item, top in placed:
            item.draw(fig, top)
        if len(pages) > 1:
            footer = tr.gettext("Page {page} of {pages}").format(
                page=tr.number(number), pages=tr.number(len(pages))
            )
            _text(fig, PAGE_W - MARGIN, PAGE_H - MARGIN + 6, footer, 8, ha="right")
        figures.append(fig)
    return figures


def draw_pdf(bulletin: Bulletin) -> bytes:
    """The bulletin as PDF bytes (1 or 2 A4 pages). Runs in the worker process."""
    from io import BytesIO

    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    matplotlib.use("Agg")
    buffer = BytesIO()
    with matplotlib.rc_context(PDF_STYLE):
        # no creation date: the same bulletin gives the same bytes
        metadata = {"Title": bulletin.title, "Creator": "nfpbot", "CreationDate": None}
        with PdfPages(buffer, metadata=metadata) as pdf:
            for fig in draw_pages(bulletin):
                pdf.savefig(fig)
    return buffer.getvalue()


def page_png(bulletin: Bulletin, page: int = 0, dpi: int = 110) -> bytes:
    """One page drawn by Agg instead of the PDF backend (same layout): for docs/ previews."""
    from io import BytesIO

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    matplotlib.use("Agg")
    buffer = BytesIO()
    # unhinted glyphs: the widths the layout measured and the PDF uses (hinting at a low
    # resolution widens text by ~4%, which would push wrapped lines over the margin)
    unhinted: dict[RcKeyType, Any] = {"text.hinting": "no_hinting"}
    with matplotlib.rc_context({**PDF_STYLE, **unhinted}):
        fig = draw_pages(bulletin)[page]
        FigureCanvasAgg(fig)
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


async def render_pdfs(bulletins: list[Bulletin]) -> list[bytes]:
    """Draw the bulletins (e.g. English and Russian) in one worker process, in order."""
    from bot.digest.worker import run_task

    result = await run_task("pdfs", list(bulletins))
    if not (isinstance(result, list) and all(isinstance(item, bytes) for item in result)):
        raise TypeError(f"PDF worker returned {type(result).__name__}")
    return result
