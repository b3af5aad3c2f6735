"""/report and the questionnaire's answers and buttons (logic lives in ``bot.reports``)."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot import followups, reports
from bot.callbacks import OpenReport, PickCountry, ReportButton, TakeOver
from bot.context import BotContext
from bot.i18n import Translator
from bot.reports import NotAnNfp, Screen
from handlers import fallback
from handlers import followups as followup_views
from handlers.common import (
    answer_query,
    drop_keyboard,
    keyboard,
    on_callback,
    reader,
    reply,
    reply_long,
)
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


@on_callback(OpenReport)
async def open_from_prompt(update: Update, context: BotContext, data: OpenReport) -> None:
    """``rs:ISO3:WEEK``: a prompt's, reminder's or clarification's button."""
    await _open_from_button(update, context, data.iso3, week=data.week)


@on_callback(TakeOver)
async def take_over(update: Update, context: BotContext, data: TakeOver) -> None:
    """``rt:ISO3:WEEK``: take over the report another NFP is filling in."""
    await _open_from_button(update, context, data.iso3, week=data.week, take_over=True)


@on_callback(PickCountry)
async def pick_country(update: Update, context: BotContext, data: PickCountry) -> None:
    """``rc:ISO3[:last]``: the country an NFP of several reports for."""
    await _open_from_button(update, context, data.iso3, previous=data.last)


async def _open_from_button(
    update: Update,
    context: BotContext,
    iso3: str,
    *,
    week: str | None = None,
    previous: bool = False,
    take_over: bool = False,
) -> None:
    try:
        screen = await reports.open_report(
            context.svc,
            update.effective_user.id,  # type: ignore[union-attr]
            iso3=iso3,
            week=week,
            previous=previous,
            take_over=take_over,
        )
    except (NotAnNfp, KeyError, ValueError):
        tr = await reader(update, context)
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer_query(update)
    await drop_keyboard(update)
    await show(update, context, screen)


@on_callback(ReportButton)
async def button(update: Update, context: BotContext, data: ReportButton) -> None:
    """``r:<nonce>:<action>[:<arg>]`` — a questionnaire button."""
    query = update.callback_query
    assert query is not None
    screen = await reports.press(
        context.svc,
        update.effective_user.id,  # type: ignore[union-attr]
        data.nonce,
        data.action,
        data.arg,
    )
    tr = await reader(update, context)
    if screen.kind == "not_nfp":
        text, _ = render(screen, tr, context.svc.config)
        await asyncio.gather(answer_query(update, text, alert=True), drop_keyboard(update))
        return
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
        tr = await reader(update, context)
        await reply(update, followup_views.reply_text(tr, follow, context.svc.config))
        return
    await fallback.text_message(update, context)
