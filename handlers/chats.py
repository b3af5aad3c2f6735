"""The bot's own membership: blocked/unblocked in private chats, added to the group."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.error import TelegramError

from bot import people
from bot.context import BotContext
from bot.i18n import translator
from storage import people as people_store
from storage import regions as regions_store

log = logging.getLogger(__name__)


def _joined(change: ChatMemberUpdated) -> bool | None:
    old, new = change.old_chat_member.status, change.new_chat_member.status
    present = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER}
    if old not in present and new in present:
        return True
    if old in present and new not in present:
        return False
    return None


async def my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    assert change is not None
    svc = context.svc
    joined = _joined(change)
    if joined is None:
        return
    now = svc.clock.now()
    if change.chat.type == "private":
        async with svc.db.transaction() as tx:
            if joined:
                await people_store.mark_unblocked(tx, now, change.chat.id)
            else:
                await people_store.mark_blocked(tx, now, change.chat.id)
        log.info("user %s %s the bot", change.chat.id, "unblocked" if joined else "blocked")
        return
    if not joined:
        region = await regions_store.region_of_group(svc.db, change.chat.id)
        if region:
            async with svc.db.transaction() as tx:
                await regions_store.set_group_chat(tx, region, None)
            log.warning("removed from the group of region %s", region)
        return
    await _added_to_group(update, context, change)


async def _say_and_leave(context: BotContext, chat_id: int, text: str) -> None:
    """Say why, then leave, whatever the goodbye meets (403, 429, 500, a dead network):
    leaving is the point, the goodbye only a courtesy."""
    try:
        await context.bot.send_message(chat_id, text)
    except TelegramError as err:
        log.warning("goodbye to group %s failed (%s); leaving anyway", chat_id, err)
    finally:
        await context.bot.leave_chat(chat_id)
    log.info("left group %s", chat_id)


async def _added_to_group(update: Update, context: BotContext, change: ChatMemberUpdated) -> None:
    svc = context.svc
    tr = translator(svc.config.default_language)
    scope = await people.admin_scope(svc, change.from_user.id)
    if not scope:
        await people.log_refusal(svc, change.from_user.id, "add_to_group", "not_admin")
        await _say_and_leave(
            context,
            change.chat.id,
            tr.gettext("Only an administrator of the secretariat can add me to a group. Goodbye."),
        )
        return
    mine = [r for r in svc.config.regions if scope.covers(r.key)]
    free = [r for r in mine if not await regions_store.group_chat(svc.db, r.key)]
    if not free:
        await people.log_refusal(svc, change.from_user.id, "add_to_group", "no_free_region")
        tr = translator(mine[0].default_language) if len(mine) == 1 else tr
        await _say_and_leave(
            context,
            change.chat.id,
            tr.ngettext(
                "{regions} already has its group, so I am leaving this one. To move the "
                "digest here, remove me from the other group first, then add me again.",
                "{regions} already have their groups, so I am leaving this one. To move a "
                "digest here, remove me from that region's group first, then add me again.",
                len(mine),
            ).format(regions=", ".join(r.name[tr.lang] for r in mine)),
        )
        return
    region = free[0]
    async with svc.db.transaction() as tx:
        await regions_store.set_group_chat(tx, region.key, change.chat.id)
    tr = translator(region.default_language)
    log.info("linked group %s to region %s", change.chat.id, region.key)
    await context.bot.send_message(
        change.chat.id,
        tr.gettext("This group will receive the weekly regional digest for {region}.").format(
            region=region.name[tr.lang]
        ),
    )


async def group_migrated(update: Update, context: BotContext) -> None:
    """A group upgraded to a supergroup gets a new id: follow it."""
    message = update.effective_message
    assert message is not None and message.migrate_to_chat_id is not None
    svc = context.svc
    region = await regions_store.region_of_group(svc.db, message.chat.id)
    if region:
        async with svc.db.transaction() as tx:
            await regions_store.set_group_chat(tx, region, message.migrate_to_chat_id)
