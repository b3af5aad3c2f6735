"""``/digest [week]`` (a private preview) and ``/digest post [week]`` (post to the group)."""

from __future__ import annotations

from telegram import Update

from bot.digest import post
from bot.wiring.context import BotContext
from handlers.common import admin_only, reply


@admin_only("digest")
async def digest(update: Update, context: BotContext) -> None:
    tr = await context.reader()
    await reply(update, tr.gettext("Drawing the charts and the PDF bulletin…"))
    try:
        done = await post.for_admin(context.svc, context.user_id, list(context.args or []))
    except post.DigestUsage:
        await reply(
            update,
            tr.gettext(
                "Usage: /digest [week] to preview it here, /digest post [week] to post it "
                "to the group, e.g. /digest 30 or /digest post 2020-W30"
            ),
        )
        return
    lines = []
    for region, week, outcome in done:
        name = region.name.get(tr.lang, region.key)
        if isinstance(outcome, int):
            lines.append(
                tr.ngettext(
                    "{region}, week {number}: the preview follows in {n} message.",
                    "{region}, week {number}: the preview follows in {n} messages.",
                    outcome,
                ).format(region=name, number=week.number, n=outcome)
            )
        elif isinstance(outcome, post.Posted):
            lines.append(
                tr.gettext("{region}, week {number}: posted to the group.").format(
                    region=name, number=week.number
                )
            )
        else:
            lines.append(
                tr.gettext(
                    "{region} has no group yet: add me to the secretariat's group first."
                ).format(region=name)
            )
    await reply(update, "\n".join(lines) or tr.gettext("You administer no region."))
