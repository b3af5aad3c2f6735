"""``/export [from-week] [to-week] [csv|xlsx|dhis2]``: an admin gets the reports as a file."""

from __future__ import annotations

from telegram import Update

from bot.digest import exports
from bot.wiring.context import BotContext
from handlers.common import admin_only, reply


@admin_only("export")
async def export(update: Update, context: BotContext) -> None:
    """Sent as a reply (the admin asked for it), so it does not wait in the outbox."""
    tr = await context.reader()
    try:
        made = await exports.for_admin(context.svc, context.user_id, context.args or [])
    except exports.ExportUsage:
        await reply(
            update,
            tr.gettext(
                "Usage: /export [from week] [to week] [csv, xlsx or dhis2], "
                "e.g. /export 2020-W10 2020-W30 xlsx"
            ),
        )
        return
    caption = tr.ngettext(
        "{count} report, weeks {first} to {last}",
        "{count} reports, weeks {first} to {last}",
        made.reports,
    ).format(count=tr.number(made.reports), first=made.first, last=made.last)
    message = update.effective_message
    assert message is not None
    await message.reply_document(document=made.data, filename=made.filename, caption=caption)
