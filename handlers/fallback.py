"""What is left after every real handler: unknown commands, strangers, stickers and the like."""

from __future__ import annotations

import html

from telegram import Update

from bot.core.i18n import Translator
from bot.people import roles as people
from bot.people.roles import Role
from bot.wiring.context import BotContext
from handlers.common import STALE_BUTTON, answer_query, reply


async def _draft_note(update: Update, context: BotContext, tr: Translator) -> str:
    """Reassure someone in the middle of a report that nothing was lost."""
    from bot.reporting.reports import has_open_session

    if await has_open_session(context.svc, context.user_id):
        return "\n" + tr.gettext("Your report draft is saved: send /report to continue it.")
    return ""


async def unknown_command(update: Update, context: BotContext) -> None:
    tr = await context.reader()
    message = update.effective_message
    command = ((message.text if message is not None else None) or "").split()[0]
    await reply(
        update,
        tr.gettext("I don't know the command {command}. Send /help to see what I can do.").format(
            command=html.escape(command)
        )
        + await _draft_note(update, context, tr),
    )


async def text_message(update: Update, context: BotContext) -> None:
    """Free text nobody asked for: explain, and tell strangers how to join."""
    tr = await context.reader()
    user_id = context.user_id
    role = await people.role_of(context.svc, user_id)
    if role is Role.STRANGER:
        await people.log_refusal(context.svc, user_id, "message", "stranger")
        await reply(
            update,
            tr.gettext(
                "I don't know you yet. If the secretariat sent you an invitation link, "
                "please open it; otherwise send /start."
            ),
        )
        return
    await reply(
        update,
        tr.gettext("I'm not expecting a message right now. Send /help to see what I can do."),
    )


async def unsupported_message(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice and other media: politely refused."""
    tr = await context.reader()
    await reply(
        update,
        tr.gettext("Sorry, I can only read text messages and button presses.")
        + await _draft_note(update, context, tr),
    )


async def stale_button(update: Update, context: BotContext) -> None:
    """Any callback no handler recognised (an old keyboard from an earlier version)."""
    tr = await context.reader()
    await answer_query(update, tr.gettext(STALE_BUTTON), alert=True)
