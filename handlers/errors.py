"""Last-resort error handler: log with context, tell the user something went wrong."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.wiring.concurrency import AlreadyProcessed, write_failure
from bot.wiring.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, AlreadyProcessed):
        # delivered again after a lost confirmation: applied once, the person re-shown
        # where they stand (the reply may have been lost with the crash)
        log.info("update %s was already processed; not applied again", error.update_id)
        if isinstance(update, Update):
            from handlers.report import already_processed

            try:
                await already_processed(update, context)
            except Exception:  # the error path must not raise again
                log.exception("could not re-show the screen of a re-delivered update")
        return
    if isinstance(error, Forbidden):
        log.info("forbidden while handling an update: %s", error)
        return
    if isinstance(error, BadRequest):
        # PTB's BadRequest is a NetworkError, but it is our fault, not the network's: a reply
        # Telegram refused ("message is too long", a bad entity) is a bug to see and fix
        log.error(
            "Telegram refused a reply to update %s: %s", getattr(update, "update_id", None), error
        )
        return
    if isinstance(error, NetworkError | RetryAfter):
        # the answer was stored before the reply failed: /report shows the next question
        log.warning("could not reply (%s): %s", type(error).__name__, error)
        return
    failure = write_failure(error) if error is not None else None
    if failure is not None:
        # the transaction was rolled back: nothing of this update was stored
        log.error(
            "database %s: could not store update %s (%s: %s)",
            failure,
            getattr(update, "update_id", None),
            type(error).__name__,
            error,
        )
    else:
        log.error(
            "error while handling update %s",
            getattr(update, "update_id", None),
            exc_info=error,
        )
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            tr = await context.reader()
            if failure == "busy":
                text = tr.gettext(
                    "Sorry, that was not saved: my database is busy right now. "
                    "Please send it again in a minute."
                )
            elif failure is not None:
                text = tr.gettext(
                    "Sorry, that was not saved: my database cannot store anything at the "
                    "moment. The secretariat's operator has the cause in the log; please "
                    "send it again later."
                )
            else:
                text = tr.gettext(
                    "Sorry, something went wrong on my side and what you just sent may not "
                    "have been saved. Please send it again in a minute."
                )
            await update.effective_chat.send_message(text)
        except Exception:  # the error path must not raise again
            log.exception("could not tell the user about the error")
