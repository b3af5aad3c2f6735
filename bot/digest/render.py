"""From a :class:`~bot.digest.content.Digest` to what the chart and PDF renderers take.

The renderers (``charts``, ``pdf``) run in a worker process and take plain, already
localized values (``render_types``); this module is the one place that turns the digest's
numbers into them, so the messages, the charts and the PDF say the same thing. The PDF's
sections are the messages' sections without their markup, so both read alike.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.core.i18n import Translator, translator
from bot.digest import texts
from bot.digest.content import Digest
from bot.digest.render_types import Bulletin, ChartRequest, Table

_TAG = re.compile(r"<[^>]+>")


def plain(fragment: str) -> list[str]:
    """An HTML section as plain lines (tags dropped, entities decoded)."""
    return [html.unescape(_TAG.sub("", line)) for line in fragment.splitlines() if line.strip()]


def chart_request(digest: Digest, tr: Translator) -> ChartRequest:
    series = {
        metric: {
            iso3: [(str(week), value) for week, value in points]
            for iso3, points in digest.series.get(metric, {}).items()
        }
        for metric in ("new_cases", "new_deaths")
    }
    return ChartRequest(
        cases=series["new_cases"],
        deaths=series["new_deaths"],
        names={c.iso3: c.name(tr.lang) for c in digest.region.countries},
        populations={c.iso3: c.population for c in digest.region.countries if c.population},
        locale=tr.lang,
        region=digest.region.name.get(tr.lang, digest.region.key),
    )


def table(digest: Digest, tr: Translator) -> Table:
    keys = [k for k in ("new_cases", "new_deaths") if k in digest.number_keys]
    header = [tr.gettext("Country")]
    for key in keys:
        header += [texts.label(tr, digest, key), tr.gettext("change")]
    rows = []
    for line in digest.countries:
        row = [digest.region.country(line.iso3).name(tr.lang)]
        for key in keys:
            value, change = line.figures.get(key), line.change.get(key)
            row.append(texts.MISSING if value is None else tr.number(value))
            row.append("" if change is None else texts.signed(tr, change))
        rows.append(row)
    return Table(header=header, rows=rows)


def bulletin(digest: Digest, tr: Translator, charts: list[tuple[str, bytes]]) -> Bulletin:
    sections = texts.sections(digest, tr)
    region = digest.region.name.get(tr.lang, digest.region.key)
    return Bulletin(
        title=tr.gettext("{region}: weekly digest").format(region=region),
        subtitle=texts.week_label(tr, digest.week),
        locale=tr.lang,
        completeness=plain(sections["completeness"]),
        table=table(digest, tr),
        needs=plain(sections["needs"])[1:],
        training=plain(sections["training"])[1:],
        developments=plain(sections["developments"])[1:],
        revisions=plain(sections["revisions"])[1:],
        charts=charts,
    )


@dataclass(frozen=True)
class Rendered:
    """A digest ready to queue: its messages and charts in the group's language, and the
    PDF bulletin in every configured language (``pdfs``: language -> bytes)."""

    messages: list[str]
    charts: list[tuple[str, bytes]]
    pdfs: dict[str, bytes]


async def render(digests: dict[str, Digest], group_language: str) -> Rendered:
    """Charts per language (their labels are localized), then the PDFs, off the event loop
    in a worker process each; nothing here holds the database."""
    from bot.digest.charts import render_charts
    from bot.digest.pdf import render_pdfs

    charts: dict[str, list[tuple[str, bytes]]] = {}
    for lang, digest in digests.items():
        charts[lang] = await render_charts(chart_request(digest, translator(lang)))
    langs = list(digests)
    pdfs = await render_pdfs(
        [bulletin(digests[lang], translator(lang), charts[lang]) for lang in langs]
    )
    group = digests[group_language]
    return Rendered(
        messages=texts.messages(group, translator(group_language)),
        charts=charts[group_language],
        pdfs=dict(zip(langs, pdfs, strict=True)),
    )
