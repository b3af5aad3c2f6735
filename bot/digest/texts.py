"""The digest as Telegram HTML messages in the reader's language.

Everything shown comes from :class:`bot.digest.content.Digest`; this module only words and
formats it: numbers, dates and country names through babel (``bot.core.i18n``), every
text a country wrote escaped, and the result cut within Telegram's 4,096 characters by
:func:`bot.core.textlimits.split_html` at line breaks. The country table is one line per
country (no ``<pre>`` table: a phone is narrower than eight columns), so a cut never falls
inside a row.
"""

from __future__ import annotations

import html

from babel.dates import format_interval

from bot.core.i18n import N_, Translator
from bot.core.textlimits import MESSAGE_LIMIT, split_html
from bot.core.week import Week
from bot.digest.content import CountryWeek, Digest, RevisionLine

#: Short names of the usual figures (a question's full label is too long for a line).
SHORT_LABELS = {
    "new_cases": N_("cases"),
    "new_deaths": N_("deaths"),
    "tests": N_("tests"),
    "hospitalised": N_("in hospital"),
}
MISSING = "—"  # a figure not reported: shown as a dash, never as 0


def signed(tr: Translator, value: int) -> str:
    """A change with its sign in the reader's locale (``+1,234``, ``-56``, ``0``)."""
    from babel.numbers import format_decimal

    if value == 0:
        return format_decimal(0, locale=tr.lang)
    return format_decimal(value, format="+#,##0;-#,##0", locale=tr.lang)


def week_label(tr: Translator, week: Week) -> str:
    """``week 30 (Jul 20 – 26, 2020)`` in the reader's language."""
    span = format_interval(week.monday(), week.sunday(), "yMMMd", locale=tr.lang)
    return tr.gettext("week {number} ({dates})").format(number=week.number, dates=span)


def label(tr: Translator, digest: Digest, key: str) -> str:
    if key in SHORT_LABELS:
        return tr.gettext(SHORT_LABELS[key])
    return digest.region.questionnaire.question(key).label.get(tr.lang, key)


def _name(digest: Digest, iso3: str, tr: Translator) -> str:
    return html.escape(digest.region.country(iso3).name(tr.lang))


def _names(digest: Digest, lines: tuple[CountryWeek, ...], tr: Translator) -> str:
    return ", ".join(_name(digest, c.iso3, tr) for c in lines) or MISSING


def messages(digest: Digest, tr: Translator, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The digest as HTML messages, each within ``limit`` visible characters."""
    return split_html(text(digest, tr), limit)


def sections(digest: Digest, tr: Translator) -> dict[str, str]:
    """Each section as HTML by name, in the order the digest shows them ("" when empty):
    the messages join them, the PDF bulletin takes them one by one."""
    return {
        "header": _header(digest, tr),
        "completeness": _completeness(digest, tr),
        "figures": _figures(digest, tr),
        "revisions": _revisions(digest, tr),
        "rates": _rates(digest, tr),
        "needs": _needs(digest, tr),
        "training": _quoted(digest, tr, tr.gettext("Training topics wanted"), digest.training),
        "developments": _quoted(digest, tr, tr.gettext("Key developments"), digest.developments),
        "guidance": _unread(digest, tr),
    }


def _unread(digest: Digest, tr: Translator) -> str:
    """Guidance each country's NFPs have not marked read (the last four weeks)."""
    if not digest.unread_guidance:
        return ""
    title = tr.gettext("Guidance not yet marked read (last 4 weeks)")
    lines = [f"<b>{title}</b>"]
    for iso3, titles in digest.unread_guidance.items():
        quoted = ", ".join(f"«{html.escape(t, quote=False)}»" for t in titles)
        lines.append(f"{_name(digest, iso3, tr)}: {quoted}")
    return "\n".join(lines)


def text(digest: Digest, tr: Translator) -> str:
    """The whole digest as one HTML text (sections apart by blank lines)."""
    return "\n\n".join(s for s in sections(digest, tr).values() if s)


def _header(digest: Digest, tr: Translator) -> str:
    region = html.escape(digest.region.name.get(tr.lang, digest.region.key), quote=False)
    title = tr.gettext("{region}: weekly digest, {week}").format(
        region=region, week=week_label(tr, digest.week)
    )
    return f"<b>{title}</b>"


def _completeness(digest: Digest, tr: Translator) -> str:
    expected, reported = len(digest.expected), len(digest.reported)
    lines = [
        tr.ngettext(
            "Reported: {reported} of {expected} partner country ({rate})",
            "Reported: {reported} of {expected} partner countries ({rate})",
            expected,
        ).format(
            reported=tr.number(reported),
            expected=tr.number(expected),
            rate=tr.percent(digest.completeness),
        ),
        tr.gettext("On time: {countries}").format(
            countries=_names(digest, digest.by_state("on_time"), tr)
        ),
        tr.gettext("Late: {countries}").format(
            countries=_names(digest, digest.by_state("late"), tr)
        ),
        tr.gettext("Missing: {countries}").format(
            countries=_names(digest, digest.by_state("missing"), tr)
        ),
    ]
    states = {
        "on_time": tr.gettext("on time"),
        "late": tr.gettext("late"),
        "missing": tr.gettext("missing"),
    }
    for status, title in (
        ("observer", tr.gettext("Observers")),
        ("joining", tr.gettext("Joining")),
    ):
        apart = [c for c in digest.countries if c.status == status]
        if apart:
            listed = ", ".join(f"{_name(digest, c.iso3, tr)} ({states[c.state]})" for c in apart)
            lines.append(f"{title}: {listed}")
    return "\n".join(lines)


def _figure(tr: Translator, digest: Digest, line: CountryWeek, key: str) -> str:
    value, change = line.figures.get(key), line.change.get(key)
    shown = MISSING if value is None else tr.number(value)
    if key in line.revised:
        shown += "*"
    if change is not None:
        shown += f" ({signed(tr, change)})"
    return f"{label(tr, digest, key)} {shown}"


def _figures(digest: Digest, tr: Translator) -> str:
    title = tr.gettext("Figures for the week (change from week {number})").format(
        number=digest.week.previous().number
    )
    lines = [f"<b>{title}</b>"]
    for line in digest.countries:
        name = _name(digest, line.iso3, tr)
        if line.state == "missing":
            no_report = tr.gettext("no report")
            lines.append(f"<b>{name}</b>: {no_report}")
            continue
        figures = " · ".join(_figure(tr, digest, line, k) for k in digest.number_keys)
        lines.append(f"<b>{name}</b>: {figures}")
    if any(line.revised for line in digest.countries):
        lines.append(tr.gettext("* revised since it was reported"))
    return "\n".join(lines)


def _revision(digest: Digest, tr: Translator, r: RevisionLine) -> str:
    def shown(value: object) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return tr.number(value)
        return MISSING if value is None else html.escape(str(value), quote=False)

    line = tr.gettext("{country}, week {number}: {figure} {old} → {new}").format(
        country=_name(digest, r.iso3, tr),
        number=r.week.number,
        figure=label(tr, digest, r.key),
        old=shown(r.old),
        new=shown(r.new),
    )
    if r.delta is not None:
        line += f" ({signed(tr, r.delta)})"
    if r.reason is None:
        amended = tr.gettext("The report was amended.")
        return f"{line}. {amended}"
    quoted = f"«{html.escape(r.reason, quote=False)}»"
    reason = tr.gettext("Reason: {reason}").format(reason=quoted)
    return f"{line}. {reason}"


def _revisions(digest: Digest, tr: Translator) -> str:
    if not digest.revisions:
        return ""
    title = tr.gettext("Revisions of earlier weeks since the last digest")
    return "\n".join([f"<b>{title}</b>", *(_revision(digest, tr, r) for r in digest.revisions)])


def _rates(digest: Digest, tr: Translator) -> str:
    first, last = digest.weeks[0], digest.weeks[-1]
    title = tr.gettext("Reporting over weeks {first}–{last}").format(
        first=first.number, last=last.number
    )
    lines = [f"<b>{title}</b>"]
    for rates in digest.rates:
        lines.append(
            tr.gettext("{country}: reported {rate}, on time {on_time}").format(
                country=_name(digest, rates.iso3, tr),
                rate=tr.percent(rates.reporting_rate),
                on_time=tr.percent(rates.on_time_rate),
            )
        )
    return "\n".join(lines)


def _needs(digest: Digest, tr: Translator) -> str:
    needs_title = tr.gettext("Needs in supplies and consumables")
    title = f"<b>{needs_title}</b>"
    if not digest.needs:
        none = tr.gettext("No needs reported this week.")
        return f"{title}\n{none}"
    try:
        question = digest.region.questionnaire.question("needs")
    except KeyError:  # pragma: no cover - needs come from that question
        return ""
    lines = [title]
    for need in digest.needs:
        who = ", ".join(
            tr.gettext("{country} (since week {number})").format(
                country=_name(digest, iso3, tr), number=since.number
            )
            if since != digest.week
            else _name(digest, iso3, tr)
            for iso3, since in need.countries
        )
        option = html.escape(question.option(need.key).label.get(tr.lang, need.key))
        lines.append(f"{option}: {who}")
    for iso3, other in digest.other_needs:
        lines.append(f"{_name(digest, iso3, tr)}: <i>«{html.escape(other, quote=False)}»</i>")
    return "\n".join(lines)


def _quoted(digest: Digest, tr: Translator, title: str, items: tuple[tuple[str, str], ...]) -> str:
    if not items:
        return ""
    lines = [f"<b>{title}</b>"]
    for iso3, said in items:
        quoted = html.escape(said, quote=False).replace("\n", " ")
        lines.append(f"<b>{_name(digest, iso3, tr)}</b>: <i>«{quoted}»</i>")
    return "\n".join(lines)
