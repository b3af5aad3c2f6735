"""/report and the questionnaire's answers and buttons (logic lives in ``bot.reports``)."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot import followups, reports
from bot.context import BotContext
from bot.i18n import Translator
from bot.reports import NotAnNfp, Screen
from handlers import fallback
from handlers import followups as followup_views
from handlers.common import answer_query, drop_keyboard, keyboard, reader, reply, reply_long
from handlers.report_views import error_text, render


async def show(
    update: Update, context: BotContext, screen: Screen, tr: Translator | None = None
) -> None:
    tr = tr or await reader(update, context)
    text, rows = render(screen, tr, context.svc.config)
    await reply_long(update, text, keyboard(rows) if rows else None)


async def not_an_nfp(update: Update, context: BotContext) -> None:
    tr = await reader(update, context)
    await reply(
        update,
        tr.gettext(
            "Only the National Focal Points of a country can send its report. "
            "If you should be one, ask the secretariat for an invitation link."
        ),
    )


async def report_command(update: Update, context: BotContext) -> None:
    """``/report`` starts or resumes this week's report; ``/report last`` the previous week."""
    user_id = update.effective_user.id  # type: ignore[union-attr]
    previous = bool(context.args) and context.args[0].lower() in ("last", "прошлая", "previous")
    try:
        screen = await reports.open_report(context.svc, user_id, previous=previous)
    except NotAnNfp:
        await not_an_nfp(update, context)
        return
    await show(update, context, screen)


async def open_from_button(update: Update, context: BotContext) -> None:
    """``rs:ISO3:WEEK`` (prompt), ``rt:ISO3:WEEK`` (take over), ``rc:ISO3[:last]`` (pick)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    kind, iso3 = parts[0], parts[1]
    week = parts[2] if kind in ("rs", "rt") and len(parts) > 2 else None
    try:
        screen = await reports.open_report(
            context.svc,
            update.effective_user.id,  # type: ignore[union-attr]
            iso3=iso3,
            week=week,
            previous=kind == "rc" and parts[-1] == "last",
            take_over=kind == "rt",
        )
    except (NotAnNfp, KeyError, ValueError):
        tr = await reader(update, context)
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer_query(update)
    await drop_keyboard(update)
    await show(update, context, screen)


async def button(update: Update, context: BotContext) -> None:
    """``r:<nonce>:<action>[:<arg>]`` — a questionnaire button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, nonce, action, *rest = query.data.split(":", 3)
    screen = await reports.press(
        context.svc,
        update.effective_user.id,  # type: ignore[union-attr]
        int(nonce) if nonce.isdigit() else -1,
        action,
        rest[0] if rest else "",
    )
    tr = await reader(update, context)
    if screen.kind == "stale" or (screen.error and screen.error.reason == "stale"):
        # a double tap or an old keyboard: say so, change nothing, send nothing new
        text = (
            tr.gettext("This button is no longer valid. Send /report to see your report.")
            if screen.kind == "stale"
            else error_text(tr, screen.error).removeprefix("⚠️ ")  # type: ignore[arg-type]
        )
        await answer_query(update, text)
        return
    if screen.hint == "toggled":
        _, rows = render(screen, tr, context.svc.config)
        await asyncio.gather(answer_query(update), query.edit_message_reply_markup(keyboard(rows)))
        return
    # one round trip, not three: the toast, the old keyboard's removal and the next screen
    # go out together (the next screen is what the NFP waits for)
    await asyncio.gather(
        answer_query(update), drop_keyboard(update), show(update, context, screen, tr)
    )


async def text(update: Update, context: BotContext) -> None:
    """A typed answer, if a question is waiting for one; otherwise the general fallback."""
    message = update.effective_message
    assert message is not None and message.text is not None
    screen = await reports.answer_text(
        context.svc,
        update.effective_user.id,  # type: ignore[union-attr]
        message.text,
    )
    if screen is not None:
        await show(update, context, screen)
        return
    follow = await followups.answer_text(
        context.svc,
        update.effective_user.id,  # type: ignore[union-attr]
        message.text,
    )
    if follow is not None:
        await reply(update, followup_views.reply_text(await reader(update, context), follow))
        return
    await fallback.text_message(update, context)
