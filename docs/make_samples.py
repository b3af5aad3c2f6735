"""Regenerate the sample digest charts and PDF pages in docs/ from real data (2020-W30).

``.venv/bin/python docs/make_samples.py`` writes, for English and Russian:
``digest-2020-W30-{lang}-cases.png``, ``digest-2020-W30-{lang}-deaths.png`` (the charts as
the group gets them) and ``digest-2020-W30-{lang}-pdf-page1.png`` (the bulletin's first page,
drawn by Agg with the PDF's very layout: no PDF rasterizer is needed); with ``--pdf`` also
the bulletins themselves, ``digest-2020-W30-{lang}.pdf`` (~380 KB each, not committed).
The figures are the real weekly numbers (``tests/digest/realdata.py``); the needs and
quotes are plausible examples.

Drawn in this process with the same functions the worker runs. Until the branch's new
strings are merged into ``locales/`` (the ``i18n-*.json`` files at the repository root),
a msgid the Russian catalog lacks is taken from those files, so the Russian samples are
Russian throughout; once merged, the catalog answers and the files are not consulted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.i18n import Translator  # noqa: E402
from bot.digest.charts import draw_charts  # noqa: E402
from bot.digest.pdf import draw_pdf, page_png  # noqa: E402
from tests.digest.realdata import bulletin, chart_request  # noqa: E402

WEEK = "2020-W30"
DOCS = ROOT / "docs"


def _use_pending_translations() -> None:
    pending: dict[str, str] = {}
    for path in sorted(ROOT.glob("i18n-*.json")):
        for msgid, text in json.loads(path.read_text(encoding="utf-8")).items():
            if isinstance(text, str):
                pending[msgid] = text
    catalog = Translator.gettext

    def gettext(self: Translator, message: str) -> str:
        text = catalog(self, message)
        if text == message and self.lang == "ru":
            return pending.get(message, message)
        return text

    Translator.gettext = gettext  # type: ignore[method-assign]


def main() -> None:
    with_pdf = "--pdf" in sys.argv[1:]
    _use_pending_translations()
    for lang in ("en", "ru"):
        charts = draw_charts(chart_request(lang, WEEK))
        for name, png in charts:
            (DOCS / f"digest-{WEEK}-{lang}-{name}").write_bytes(png)
        sample = bulletin(lang, charts, WEEK)
        pdf = draw_pdf(sample)
        if with_pdf:
            (DOCS / f"digest-{WEEK}-{lang}.pdf").write_bytes(pdf)
        (DOCS / f"digest-{WEEK}-{lang}-pdf-page1.png").write_bytes(page_png(sample, 0))
        sizes = ", ".join(f"{name} {len(png) // 1024} KiB" for name, png in charts)
        print(f"{lang}: {sizes}, PDF {len(pdf) // 1024} KiB")


if __name__ == "__main__":
    main()
