"""Secretariat commands about the reports: /status, /remind, /clarify."""

from __future__ import annotations

import html
import re

from telegram import Update

from bot.core.i18n import Translator
from bot.core.week import Week
from bot.people import roles as people
from bot.reporting import cycle, schedule, texts
from bot.reporting.followups import FollowupError, ask_clarification
from bot.reporting.status import CountryStatus, State, week_status
from bot.wiring.context import BotContext
from handlers.admin import outside_scope
from handlers.common import admin_only, reply, reply_long

# "2026-W47" or "W47": a bare number is a figure of the question, never a week
_EXPLICIT_WEEK = re.compile(r"(?:\d{4}-)?[Ww]\d{1,2}")

ICONS: dict[State, str] = {
    "on_time": "✅",
    "late": "🕓",
    "in_progress": "✍️",
    "missing": "❌",
    "not_due": "⏳",
}


def _state_text(tr: Translator, s: CountryStatus) -> str:
    _ = tr.gettext
    texts: dict[State, str] = {
        "on_time": _("confirmed on time"),
        "late": _("confirmed late"),
        "in_progress": _("in progress ({answered} of {total} answered)"),
        "missing": _("missing"),
        "not_due": _("not due yet"),
    }
    return texts[s.state].format(answered=s.answered, total=s.total)


@admin_only("status")
async def status(update: Update, context: BotContext) -> None:
    """``/status [week]``: each country's report for the week, by state."""
    tr = await context.reader()
    svc = context.svc
    now = svc.clock.now()
    scope = await people.admin_scope(svc, context.user_id)
    lines: list[str] = []
    for region in svc.config.regions:
        if not scope.covers(region.key):
            continue
        current = cycle.region_week(region, now)
        week = cycle.parse_week(context.args[0], current) if context.args else current
        if week is None:
            await reply(update, tr.gettext("Usage: /status, /status 47 or /status 2026-W47"))
            return
        lines.append(f"<b>{texts.week_title(tr, region.name[tr.lang], week)}</b>")
        rows = await week_status(svc, region, week)
        expected = [s for s in rows if s.expected]
        others = [s for s in rows if not s.expected]
        for s in expected + others:
            if others and s is others[0]:
                lines.append(tr.gettext("Observers and joining countries (not counted):"))
            country = region.country(s.iso3)
            line = f"{ICONS[s.state]} <b>{html.escape(country.name(tr.lang))}</b>: "
            line += html.escape(_state_text(tr, s))
            if s.by is not None:
                line += " — " + html.escape(s.by.display_name)
            if s.at is not None:
                line += ", " + tr.moment(s.at, country.tz, "d MMM")
            if s.versions > 1:
                line += ", " + tr.ngettext(
                    "{n} amendment", "{n} amendments", s.versions - 1
                ).format(n=s.versions - 1)
            if s.open_clarification:
                line += " ❓ " + tr.gettext("clarification asked")
            elif s.answered_clarification:
                line += " 💬 " + tr.gettext("clarification answered")
            elif s.undelivered_clarification:
                line += " ⚠️ " + tr.gettext("clarification not delivered")
            lines.append(line)
        done = sum(1 for s in expected if s.state in ("on_time", "late"))
        lines.append(
            tr.ngettext(
                "{done} of {n} country reported", "{done} of {n} countries reported", len(expected)
            ).format(done=done, n=len(expected))
        )
        lines.append("")
    await reply_long(update, "\n".join(lines).strip())


@admin_only("remind")
async def remind(update: Update, context: BotContext) -> None:
    """``/remind [ISO3]``: remind now every NFP of unconfirmed countries (or of one)."""
    tr = await context.reader()
    svc = context.svc
    if context.args:
        iso3 = context.args[0].upper()
        try:
            svc.config.country(iso3)
        except KeyError:
            await reply(update, tr.gettext("Usage: /remind or /remind KGZ"))
            return
        if await outside_scope(update, context, tr, iso3):
            return
        targets = [iso3]
    else:
        scope = await people.admin_scope(svc, context.user_id)
        targets = [c.iso3 for r, c in svc.config.all_countries if scope.covers(r.key)]
    sent = await schedule.remind_now(svc, targets)
    if not sent:
        await reply(update, tr.gettext("Every country has confirmed its report: nobody to remind."))
        return
    names = ", ".join(
        html.escape(svc.config.country(iso3)[1].name(tr.lang)) for iso3 in sorted(sent)
    )
    total = sum(sent.values())
    await reply(
        update,
        tr.ngettext(
            "Sent {n} reminder: {countries}.", "Sent {n} reminders: {countries}.", total
        ).format(n=total, countries=names),
    )


@admin_only("clarify")
async def clarify(update: Update, context: BotContext) -> None:
    """``/clarify ISO3 [week] comment``: ask the country's NFPs about a confirmed report."""
    tr = await context.reader()
    svc = context.svc
    args = context.args or []
    usage = tr.gettext("Usage: /clarify KGZ [week, as 2026-W47 or W47] your question")
    if len(args) < 2:
        await reply(update, usage)
        return
    iso3 = args[0].upper()
    try:
        region, country = svc.config.country(iso3)
    except KeyError:
        await reply(update, usage)
        return
    if await outside_scope(update, context, tr, iso3):
        return
    current = cycle.current_week(region, country, svc.clock.now())
    # only an unambiguous week is a week: "/clarify KGZ 40 deaths: ..." asks about 40 deaths
    explicit = len(args) > 2 and _EXPLICIT_WEEK.fullmatch(args[1]) is not None
    week = cycle.parse_week(args[1], current) if explicit else None
    if explicit and week is None:
        await reply(update, usage)
        return
    comment = " ".join(args[2:] if week else args[1:])
    week = week or current
    try:
        await ask_clarification(svc, context.user_id, iso3, week, comment)
    except FollowupError as refused:
        if refused.reason == "too_long":
            await reply(
                update,
                tr.gettext(
                    "Your question is {length} characters long; the limit is {maximum} (it is "
                    "sent with the country and week). Nothing was sent."
                ).format(
                    length=tr.number(refused.details["length"]),
                    maximum=tr.number(max(refused.details["maximum"], 0)),
                ),
            )
            return
        await reply(
            update,
            tr.gettext("{country} has no confirmed report for week {number} to ask about.").format(
                country=html.escape(country.name(tr.lang)), number=Week.parse(week).number
            ),
        )
        return
    await reply(
        update,
        tr.gettext(
            "Sent to the NFPs of {country}. You will get their answer here; /status shows "
            "the question until then."
        ).format(country=html.escape(country.name(tr.lang))),
    )
