"""The bot's own membership: blocked/unblocked in private chats, added to the group."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, Update

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


async def _added_to_group(update: Update, context: BotContext, change: ChatMemberUpdated) -> None:
    svc = context.svc
    tr = translator(svc.config.default_language)
    if await people.role_of(svc, change.from_user.id) != people.Role.ADMIN:
        await people.log_refusal(svc, change.from_user.id, "add_to_group", "not_admin")
        await context.bot.send_message(
            change.chat.id,
            tr.gettext("Only an administrator of the secretariat can add me to a group. Goodbye."),
        )
        await context.bot.leave_chat(change.chat.id)
        return
    free = [r for r in svc.config.regions if not await regions_store.group_chat(svc.db, r.key)]
    if not free:
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
