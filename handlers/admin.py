"""Secretariat commands: /invite, /nfps, /revoke. Every one checks the admin role first."""

from __future__ import annotations

import html

from telegram import Update

from bot.core.callbacks import InviteCountry, InviteKind, RevokeAsk, RevokeCancel, RevokeConfirm
from bot.core.i18n import Translator
from bot.core.services import Services
from bot.people import roles as people
from bot.wiring.context import BotContext
from handlers.common import (
    STALE_BUTTON,
    admin_only,
    answer_query,
    drop_keyboard,
    edit,
    keyboard,
    on_callback,
    reply,
)

KIND_ALIASES = {
    "main": "main",
    "alternate": "alternate",
    "alt": "alternate",
    "основной": "main",
    "запасной": "alternate",
}


def _kind_label(tr: Translator, kind: str) -> str:
    return tr.gettext("main") if kind == "main" else tr.gettext("alternate")


def other_region_text(tr: Translator, country_name: str) -> str:
    return tr.gettext("{country} is not in a region you administer.").format(
        country=html.escape(country_name)
    )


async def outside_scope(update: Update, context: BotContext, tr: Translator, iso3: str) -> bool:
    """Tell an admin of other regions that this country is not theirs (True if so)."""
    svc = context.svc
    scope = await people.admin_scope(svc, context.user_id)
    if people.covers_country(svc, scope, iso3):
        return False
    await people.log_refusal(svc, context.user_id, "country", "other_region")
    await reply(update, other_region_text(tr, svc.config.country(iso3)[1].name(tr.lang)))
    return True


@admin_only("invite")
async def invite(update: Update, context: BotContext) -> None:
    """``/invite ISO3 [alternate]``, or no argument to pick the country from buttons."""
    tr = await context.reader()
    svc = context.svc
    args = context.args or []
    if not args:
        scope = await people.admin_scope(svc, context.user_id)
        rows, row = [], []
        for region in svc.config.regions:
            if not scope.covers(region.key):
                continue
            for c in region.countries:
                row.append((c.name(tr.lang), InviteCountry(c.iso3).pack()))
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
    if await outside_scope(update, context, tr, iso3):
        return
    await _send_invite(update, context, tr, iso3, kind)


@admin_only("invite")
@on_callback(InviteCountry)
async def invite_country_chosen(update: Update, context: BotContext, data: InviteCountry) -> None:
    """``invc:ISO3`` button: ask main or alternate."""
    tr = await context.reader()
    iso3 = data.iso3
    _, country = context.svc.config.country(iso3)
    await answer_query(update)
    await edit(
        update,
        tr.gettext("Invitation for {country}: main NFP or alternate?").format(
            country=html.escape(country.name(tr.lang))
        ),
        keyboard(
            [
                [
                    (tr.gettext("Main NFP"), InviteKind(iso3, "main").pack()),
                    (tr.gettext("Alternate"), InviteKind(iso3, "alternate").pack()),
                ]
            ]
        ),
    )


@admin_only("invite")
@on_callback(InviteKind)
async def invite_kind_chosen(update: Update, context: BotContext, data: InviteKind) -> None:
    """``inv:ISO3:kind`` button: create the invitation."""
    tr = await context.reader()
    await answer_query(update)
    await drop_keyboard(update)
    await _send_invite(update, context, tr, data.iso3, data.kind)


async def _send_invite(
    update: Update, context: BotContext, tr: Translator, iso3: str, kind: str
) -> None:
    svc = context.svc
    try:
        inv = await people.create_invite(svc, context.user_id, iso3, kind)
    except KeyError:
        await reply(update, tr.gettext(STALE_BUTTON))
        return
    except people.NotAllowed:
        await reply(update, other_region_text(tr, svc.config.country(iso3)[1].name(tr.lang)))
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
    tr = await context.reader()
    svc = context.svc
    assignments = await people.nfps(svc, context.user_id)
    pending = await people.pending_invites(svc, context.user_id)
    scope = await people.admin_scope(svc, context.user_id)
    lines: list[str] = []
    for region in svc.config.regions:
        if not scope.covers(region.key):
            continue
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
    tr = await context.reader()
    svc = context.svc
    assignments = await people.nfps(svc, context.user_id)
    pending = await people.pending_invites(svc, context.user_id)
    rows = [
        [
            (
                f"{a.iso3} · {a.person.display_name} ({_kind_label(tr, a.kind)})",
                RevokeAsk(assignment_id=a.id).pack(),
            )
        ]
        for a in assignments
    ]
    rows += [
        [
            (
                tr.gettext("{iso3} · unused invitation ({kind})").format(
                    iso3=i.iso3, kind=_kind_label(tr, i.kind)
                ),
                RevokeAsk(code=i.code).pack(),
            )
        ]
        for i in pending
    ]
    if not rows:
        await reply(update, tr.gettext("There are no NFPs or open invitations to remove."))
        return
    await reply(update, tr.gettext("Whom do you want to remove?"), keyboard(rows))


@admin_only("revoke")
@on_callback(RevokeAsk)
async def revoke_chosen(update: Update, context: BotContext, data: RevokeAsk) -> None:
    """``rv:a:<id>`` / ``rv:i:<code>`` asks to confirm."""
    tr = await context.reader()
    await answer_query(update)
    await edit(
        update,
        tr.gettext("Remove this? This cannot be undone."),
        keyboard(
            [
                [
                    (
                        tr.gettext("Yes, remove"),
                        RevokeConfirm(data.assignment_id, data.code).pack(),
                    ),
                    (tr.gettext("Cancel"), RevokeCancel().pack()),
                ]
            ]
        ),
    )


@admin_only("revoke")
@on_callback(RevokeConfirm)
async def revoke_confirmed(update: Update, context: BotContext, data: RevokeConfirm) -> None:
    """``rvy:a:<id>`` / ``rvy:i:<code>``: remove (only within the admin's regions)."""
    tr = await context.reader()
    svc = context.svc
    admin_id = context.user_id
    try:
        text = await _revoke(svc, tr, admin_id, data)
    except people.NotAllowed:
        text = None
    if text is None:
        await answer_query(update, tr.gettext(STALE_BUTTON), alert=True)
        return
    await answer_query(update)
    await edit(update, text)


async def _revoke(svc: Services, tr: Translator, admin_id: int, data: RevokeConfirm) -> str | None:
    if data.assignment_id is not None:
        done = await people.revoke_assignment(svc, admin_id, data.assignment_id)
        if done is None:
            return None
        return tr.gettext("{name} is no longer an NFP of {country}.").format(
            name=html.escape(done.person.display_name),
            country=html.escape(svc.config.country(done.iso3)[1].name(tr.lang)),
        )
    assert data.code is not None
    return (
        tr.gettext("The invitation was cancelled.")
        if await people.revoke_invite(svc, admin_id, data.code)
        else None
    )


@admin_only("revoke")
@on_callback(RevokeCancel)
async def revoke_cancelled(update: Update, context: BotContext, data: RevokeCancel) -> None:
    tr = await context.reader()
    await answer_query(update)
    await edit(update, tr.gettext("Nothing was removed."))
