"""Secretariat commands about the reports: /status, /remind, /clarify."""

from __future__ import annotations

import html

from telegram import Update

from bot import cycle, schedule
from bot.context import BotContext
from bot.followups import FollowupError, ask_clarification
from bot.i18n import Translator
from bot.status import CountryStatus, week_status
from handlers.common import admin_only, reader, reply, reply_long

ICONS = {"on_time": "✅", "late": "🕓", "in_progress": "✍️", "missing": "❌", "not_due": "⏳"}


def _state_text(tr: Translator, s: CountryStatus) -> str:
    _ = tr.gettext
    texts = {
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
    tr = await reader(update, context)
    svc = context.svc
    now = svc.clock.now()
    lines: list[str] = []
    for region in svc.config.regions:
        current = cycle.region_week(region, now)
        week = cycle.parse_week(context.args[0], current) if context.args else current
        if week is None:
            await reply(update, tr.gettext("Usage: /status, /status 47 or /status 2026-W47"))
            return
        start, end = cycle.week_range(week)
        lines.append(
            "<b>"
            + tr.gettext("{region}: week {number} ({start} – {end})").format(
                region=html.escape(region.name[tr.lang]),
                number=int(week[-2:]),
                start=tr.date(start, "d MMM"),
                end=tr.date(end, "d MMM y"),
            )
            + "</b>"
        )
        rows = await week_status(svc, region, week)
        for s in rows:
            country = region.country(s.iso3)
            line = f"{ICONS[s.state]} <b>{html.escape(country.name(tr.lang))}</b>: "
            line += html.escape(_state_text(tr, s))
            if s.by is not None:
                line += " — " + html.escape(s.by.display_name)
            if s.at is not None:
                line += ", " + tr.datetime(s.at, country.tz, "short")
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
        done = sum(1 for s in rows if s.state in ("on_time", "late"))
        lines.append(
            tr.ngettext(
                "{done} of {n} country reported", "{done} of {n} countries reported", len(rows)
            ).format(done=done, n=len(rows))
        )
        lines.append("")
    await reply_long(update, "\n".join(lines).strip())


@admin_only("remind")
async def remind(update: Update, context: BotContext) -> None:
    """``/remind [ISO3]``: remind now every NFP of unconfirmed countries (or of one)."""
    tr = await reader(update, context)
    svc = context.svc
    if context.args:
        iso3 = context.args[0].upper()
        try:
            svc.config.country(iso3)
        except KeyError:
            await reply(update, tr.gettext("Usage: /remind or /remind KGZ"))
            return
        targets = [iso3]
    else:
        targets = [c.iso3 for _, c in svc.config.all_countries]
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
    tr = await reader(update, context)
    svc = context.svc
    args = context.args or []
    usage = tr.gettext("Usage: /clarify KGZ [week] your question")
    if len(args) < 2:
        await reply(update, usage)
        return
    iso3 = args[0].upper()
    try:
        region, country = svc.config.country(iso3)
    except KeyError:
        await reply(update, usage)
        return
    current = cycle.current_week(region, country, svc.clock.now())
    week = cycle.parse_week(args[1], current) if len(args) > 2 else None
    comment = " ".join(args[2:] if week else args[1:])
    week = week or current
    try:
        await ask_clarification(svc, update.effective_user.id, iso3, week, comment)  # type: ignore[union-attr]
    except FollowupError:
        await reply(
            update,
            tr.gettext("{country} has no confirmed report for week {number} to ask about.").format(
                country=html.escape(country.name(tr.lang)), number=int(week[-2:])
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
