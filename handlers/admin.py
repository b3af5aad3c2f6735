"""Secretariat commands: /invite, /nfps, /revoke. Every one checks the admin role first."""

from __future__ import annotations

import html

from telegram import Update

from bot import people
from bot.context import BotContext
from bot.i18n import Translator
from handlers.common import admin_only, answer_query, drop_keyboard, edit, keyboard, reader, reply
from handlers.onboarding import STALE_BUTTON

KIND_ALIASES = {
    "main": "main",
    "alternate": "alternate",
    "alt": "alternate",
    "основной": "main",
    "запасной": "alternate",
}


def _kind_label(tr: Translator, kind: str) -> str:
    return tr.gettext("main") if kind == "main" else tr.gettext("alternate")


@admin_only("invite")
async def invite(update: Update, context: BotContext) -> None:
    """``/invite ISO3 [alternate]``, or no argument to pick the country from buttons."""
    tr = await reader(update, context)
    svc = context.svc
    args = context.args or []
    if not args:
        rows, row = [], []
        for region in svc.config.regions:
            for c in region.countries:
                row.append((c.name(tr.lang), f"invc:{c.iso3}"))
                if len(row) == 2:
                    rows.append(row)
                    row = []
        if row:
            rows.append(row)
        await reply(update, tr.gettext("Which country is the invitation for?"), keyboard(rows))
        return
    iso3 = args[0].upper()
    kind = KIND_ALIASES.get(args[1].lower()) if len(args) > 1 else "main"
    if kind is None or len(args) > 2:
        await reply(update, tr.gettext("Usage: /invite KGZ or /invite KGZ alternate"))
        return
    try:
        svc.config.country(iso3)
    except KeyError:
        codes = ", ".join(c.iso3 for _, c in svc.config.all_countries)
        await reply(
            update,
            tr.gettext("I don't know the country code {code}. Known codes: {codes}.").format(
                code=html.escape(iso3), codes=codes
            ),
        )
        return
    await _send_invite(update, context, tr, iso3, kind)


@admin_only("invite")
async def invite_country_chosen(update: Update, context: BotContext) -> None:
    """``invc:ISO3`` button: ask main or alternate."""
    tr = await reader(update, context)
    data = update.callback_query.data  # type: ignore[union-attr]
    iso3 = data.split(":", 1)[1]  # type: ignore[union-attr]
    try:
        _, country = context.svc.config.country(iso3)
    except KeyError:
        await answer_query(update, tr.gettext(STALE_BUTTON), alert=True)
        return
    await answer_query(update)
    await edit(
        update,
        tr.gettext("Invitation for {country}: main NFP or alternate?").format(
            country=html.escape(country.name(tr.lang))
        ),
        keyboard(
            [
                [
                    (tr.gettext("Main NFP"), f"inv:{iso3}:main"),
                    (tr.gettext("Alternate"), f"inv:{iso3}:alternate"),
                ]
            ]
        ),
    )


@admin_only("invite")
async def invite_kind_chosen(update: Update, context: BotContext) -> None:
    """``inv:ISO3:kind`` button: create the invitation."""
    tr = await reader(update, context)
    _, iso3, kind = update.callback_query.data.split(":")  # type: ignore[union-attr]
    if kind not in people.INVITE_KINDS:
        await answer_query(update, tr.gettext(STALE_BUTTON), alert=True)
        return
    await answer_query(update)
    await drop_keyboard(update)
    await _send_invite(update, context, tr, iso3, kind)


async def _send_invite(
    update: Update, context: BotContext, tr: Translator, iso3: str, kind: str
) -> None:
    svc = context.svc
    try:
        inv = await people.create_invite(svc, update.effective_user.id, iso3, kind)  # type: ignore[union-attr]
    except KeyError:
        await reply(update, tr.gettext(STALE_BUTTON))
        return
    region, country = svc.config.country(iso3)
    link = people.invite_link(svc.bot_username, inv.code)
    if kind == "main":
        text = tr.gettext(
            "Invitation for the main NFP of {country}. Send this link to the person; "
            "it works once and expires on {date}:"
        )
    else:
        text = tr.gettext(
            "Invitation for an alternate NFP of {country}. Send this link to the person; "
            "it works once and expires on {date}:"
        )
    text = text.format(
        country=html.escape(country.name(tr.lang)),
        date=html.escape(tr.moment(inv.expires_at, region.tz)),
    )
    await reply(update, f"{text}\n\n{html.escape(link)}")


@admin_only("nfps")
async def nfps(update: Update, context: BotContext) -> None:
    tr = await reader(update, context)
    svc = context.svc
    assignments = await people.nfps(svc, update.effective_user.id)  # type: ignore[union-attr]
    pending = await people.pending_invites(svc, update.effective_user.id)  # type: ignore[union-attr]
    lines: list[str] = []
    for region in svc.config.regions:
        lines.append(f"<b>{html.escape(region.name[tr.lang])}</b>")
        for c in region.countries:
            mine = [a for a in assignments if a.iso3 == c.iso3]
            waiting = sum(1 for i in pending if i.iso3 == c.iso3)
            head = f"<b>{html.escape(c.name(tr.lang))}</b> ({c.iso3})"
            if not mine:
                head += " — " + tr.gettext("no NFP yet")
            lines.append(head)
            for a in mine:
                lang = (
                    tr.language_name(a.person.language)
                    if a.person.language
                    else tr.gettext("language not chosen")
                )
                blocked = " ⚠️ " + tr.gettext("blocked the bot") if a.person.blocked_at else ""
                lines.append(
                    f"  • {html.escape(a.person.display_name)} — {_kind_label(tr, a.kind)}, "
                    f"{html.escape(lang)}{blocked}"
                )
            if waiting:
                lines.append(
                    "  "
                    + tr.ngettext(
                        "{n} invitation not used yet", "{n} invitations not used yet", waiting
                    ).format(n=waiting)
                )
        lines.append("")
    await reply(update, "\n".join(lines).strip())


@admin_only("revoke")
async def revoke(update: Update, context: BotContext) -> None:
    """List NFPs and unused invitations as buttons; a press asks for confirmation."""
    tr = await reader(update, context)
    svc = context.svc
    assignments = await people.nfps(svc, update.effective_user.id)  # type: ignore[union-attr]
    pending = await people.pending_invites(svc, update.effective_user.id)  # type: ignore[union-attr]
    rows = [
        [(f"{a.iso3} · {a.person.display_name} ({_kind_label(tr, a.kind)})", f"rv:a:{a.id}")]
        for a in assignments
    ]
    rows += [
        [
            (
                tr.gettext("{iso3} · unused invitation ({kind})").format(
                    iso3=i.iso3, kind=_kind_label(tr, i.kind)
                ),
                f"rv:i:{i.code}",
            )
        ]
        for i in pending
    ]
    if not rows:
        await reply(update, tr.gettext("There are no NFPs or open invitations to remove."))
        return
    await reply(update, tr.gettext("Whom do you want to remove?"), keyboard(rows))


@admin_only("revoke")
async def revoke_chosen(update: Update, context: BotContext) -> None:
    """``rv:a:<id>`` / ``rv:i:<code>`` asks to confirm; ``rvy:…`` does it."""
    tr = await reader(update, context)
    svc = context.svc
    query = update.callback_query
    assert query is not None and query.data is not None
    action, what, ident = query.data.split(":", 2)
    admin_id = update.effective_user.id  # type: ignore[union-attr]
    if action == "rv":
        await answer_query(update)
        await edit(
            update,
            tr.gettext("Remove this? This cannot be undone."),
            keyboard(
                [
                    [
                        (tr.gettext("Yes, remove"), f"rvy:{what}:{ident}"),
                        (tr.gettext("Cancel"), "rvn"),
                    ]
                ]
            ),
        )
        return
    if what == "a" and ident.isdigit():
        done = await people.revoke_assignment(svc, admin_id, int(ident))
        text = (
            tr.gettext("{name} is no longer an NFP of {country}.").format(
                name=html.escape(done.person.display_name),
                country=html.escape(svc.config.country(done.iso3)[1].name(tr.lang)),
            )
            if done
            else None
        )
    else:
        text = (
            tr.gettext("The invitation was cancelled.")
            if await people.revoke_invite(svc, admin_id, ident)
            else None
        )
    if text is None:
        await answer_query(update, tr.gettext(STALE_BUTTON), alert=True)
        return
    await answer_query(update)
    await edit(update, text)


@admin_only("revoke")
async def revoke_cancelled(update: Update, context: BotContext) -> None:
    tr = await reader(update, context)
    await answer_query(update)
    await edit(update, tr.gettext("Nothing was removed."))
