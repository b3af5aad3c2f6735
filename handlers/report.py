"""/report and the questionnaire's answers and buttons (logic: ``bot.reporting.reports``)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.core.callbacks import OpenReport, PickCountry, ReportButton, TakeOver
from bot.core.i18n import Translator, pick_language, translator
from bot.reporting import followups, reports
from bot.reporting.reports import SESSION_SCREENS, NotAnNfp, Screen
from bot.wiring.context import BotContext
from handlers import fallback
from handlers import followups as followup_views
from handlers.common import (
    answer_query,
    drop_keyboard,
    keyboard,
    on_callback,
    remove_keyboard,
    reply,
    reply_id,
    set_pressed_keyboard,
    split_text,
)
from handlers.report_views import edit_note, error_text, render

log = logging.getLogger(__name__)


async def show(
    update: Update, context: BotContext, screen: Screen, tr: Translator | None = None
) -> None:
    """Send the screen; record which message shows it; take the buttons off the one before.

    A reply Telegram keeps refusing (429 past the retry budget, a network error) goes to
    the outbox, which delivers it later: the person is never left without their next
    question.
    """
    tr = tr or await screen_reader(update, context, screen)
    text, rows = render(screen, tr, context.svc.config)
    user = context.sender
    pieces = split_text(text)  # a screen longer than one message is several, buttons last
    message_id = None
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        try:
            message_id = await reply_id(update, piece, rows if last else None)
        except (RetryAfter, NetworkError) as err:
            if isinstance(err, BadRequest) or user is None:  # refused for good: not retried
                raise
            log.warning(
                "reply refused (%s: %s): the outbox will deliver it", type(err).__name__, err
            )
            nonce = screen.nonce if screen.kind in SESSION_SCREENS else None
            await reports.show_later(context.svc, user.id, nonce, pieces[i:], rows)
            return
    chat_id = update.effective_chat.id if update.effective_chat else None
    if message_id is None or chat_id is None or user is None:
        return
    if screen.kind not in SESSION_SCREENS:
        return
    reports.screen_shown(context.svc, user.id, screen.nonce, message_id, keyboard=bool(rows))
    pressed = update.callback_query.message if update.callback_query else None
    old = screen.shown_before
    if (
        screen.shown_keyboard
        and old is not None
        and old != message_id
        and (pressed is None or pressed.message_id != old)
    ):
        removal = remove_keyboard(context.bot, chat_id, old)
        if context.application.running:
            # cosmetic: off the chat's chain, so the person's next answer need not wait for it
            context.application.create_task(removal, update=update)
        else:
            # the Application is stopping: PTB tracks create_task only while running, so
            # the stop would not wait for the edit and the shutdown could cut it off
            await removal


async def screen_reader(update: Update, context: BotContext, screen: Screen) -> Translator:
    """The reader's translator, from the language loaded with the screen when it was (no
    read of the person)."""
    user = update.effective_user
    if screen.language_loaded and user is not None:
        return translator(pick_language(screen.language, user.language_code))
    return await context.reader()


async def not_an_nfp(update: Update, context: BotContext) -> None:
    tr = await context.reader()
    await reply(
        update,
        tr.gettext(
            "Only the National Focal Points of a country can send its report. "
            "If you should be one, ask the secretariat for an invitation link."
        ),
    )


async def report_command(update: Update, context: BotContext) -> None:
    """``/report`` starts or resumes this week's report; ``/report last`` the previous week."""
    user_id = context.user_id
    args = context.args or []
    previous = bool(args) and args[0].lower() in ("last", "прошлая", "previous")
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
            context.user_id,
            iso3=iso3,
            week=week,
            previous=previous,
            take_over=take_over,
        )
    except (NotAnNfp, KeyError, ValueError):
        tr = await context.reader()
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    # together, as for questionnaire buttons: a refused toast or keyboard removal must not
    # keep the screen from being sent
    await asyncio.gather(answer_query(update), drop_keyboard(update), show(update, context, screen))


@on_callback(ReportButton)
async def button(update: Update, context: BotContext, data: ReportButton) -> None:
    """``r:<nonce>:<action>[:<arg>]`` — a questionnaire button."""
    query = update.callback_query
    assert query is not None
    screen = await reports.press(
        context.svc,
        context.user_id,
        data.nonce,
        data.action,
        data.arg,
    )
    tr = await screen_reader(update, context, screen)
    if screen.kind == "not_nfp":
        text, _ = render(screen, tr, context.svc.config)
        await asyncio.gather(answer_query(update, text, alert=True), drop_keyboard(update))
        return
    if screen.kind == "stale" or (screen.error and screen.error.reason == "stale"):
        # a double tap or an old keyboard: say so, change nothing, send nothing new
        text = (
            tr.gettext("This button is no longer valid. Send /report to see your report.")
            if screen.kind == "stale" or screen.error is None
            else error_text(tr, screen.error).removeprefix("⚠️ ")
        )
        if not context.recovered or screen.kind == "stale":
            await answer_query(update, text)
            return
        # kept from before a crash (a double tap behind a press that was applied): the
        # screen that press brought may have died with the process, and the applied press
        # is not replayed when something of the chat follows it; show where they stand
        try:
            await answer_query(update, text)
        except TelegramError as err:  # cosmetic, and likely too old by now
            log.info("could not answer a re-delivered button press: %s", err)
        await show(update, context, screen, tr)
        return
    if screen.hint == "toggled":
        _, rows = render(screen, tr, context.svc.config)
        await asyncio.gather(answer_query(update), set_pressed_keyboard(update, rows))
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
        context.user_id,
        message.text,
        message.message_id,
    )
    if screen is not None:
        await show(update, context, screen)
        return
    follow = await followups.answer_text(
        context.svc,
        context.user_id,
        message.text,
    )
    if follow is not None:
        tr = await context.reader()
        await reply(update, followup_views.reply_text(tr, follow, context.svc.config))
        return
    await fallback.text_message(update, context)


async def edited(update: Update, context: BotContext) -> None:
    """An edited message: corrects the answer it gave, or is ignored with a short note.

    An edit never answers another question, and an edited command is not run again.
    """
    message = update.edited_message
    assert message is not None
    tr = await context.reader()
    text = message.text or message.caption or ""
    if text.startswith("/"):
        await reply(update, edit_note(tr, "command", context.svc.config))
        return
    screen = await reports.edit_answer(
        context.svc,
        context.user_id,
        message.message_id,
        text,
    )
    if screen.kind in ("edit_ignored", "edit_confirmed"):
        text, rows = render(screen, tr, context.svc.config)
        await reply(update, text, keyboard(rows) if rows else None)
        return
    await show(update, context, screen, tr)


async def already_processed(update: Update, context: BotContext) -> None:
    """An update Telegram delivered again: nothing is applied twice; show where things stand.

    Its reply may have been lost with the crash that lost the confirmation, so someone in
    the middle of a report gets their current screen again (the next question).
    """
    user = context.sender
    if update.callback_query is not None:
        try:
            await answer_query(update)
        except TelegramError as err:  # cosmetic (the spinner): never keeps the screen away
            log.info("could not answer a re-delivered button press: %s", err)
    if user is None or update.effective_chat is None or update.effective_chat.type != "private":
        return
    tr = await context.reader()
    screen = await reports.replay_screen(context.svc, user.id)
    if screen is not None:
        await show(update, context, screen, tr)
    elif update.message is not None:
        await reply(update, edit_note(tr, "again", context.svc.config))
