"""The bot's own membership: blocked/unblocked in private chats, added to the group."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.error import TelegramError

from bot.core import callbacks as cb
from bot.core.i18n import Translator, translator
from bot.people import groups
from bot.people import roles as people
from bot.wiring.context import BotContext
from handlers.common import answer_query, keyboard, on_callback

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
    if change.chat.type == "private":
        await people.set_blocked(svc, change.chat.id, blocked=not joined)
        log.info("user %s %s the bot", change.chat.id, "unblocked" if joined else "blocked")
        return
    if not joined:
        await groups.bot_removed(svc, change.chat.id, change.chat.title)
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
    outcome = await groups.bot_added(svc, change.chat.id, change.from_user.id)
    if isinstance(outcome, groups.Refused):
        text = tr.gettext(
            "Only an administrator of the secretariat can add me to a group. Goodbye."
        )
        await _say_and_leave(context, change.chat.id, text)
        return
    if isinstance(outcome, groups.MoveOffered):
        mine = outcome.regions
        tr = translator(mine[0].default_language) if len(mine) == 1 else tr
        text = tr.ngettext(
            "{regions} already has its group. Move the weekly digest here? Only an "
            "administrator of the secretariat can choose.",
            "{regions} already have their groups. Move one region's weekly digest here? "
            "Only an administrator of the secretariat can choose.",
            len(mine),
        ).format(regions=", ".join(r.name[tr.lang] for r in mine))
        rows = [
            [
                (
                    tr.gettext("Move the digest for {region} here").format(region=r.name[tr.lang]),
                    cb.MoveDigest(r.key).pack(),
                )
            ]
            for r in mine
        ]
        rows.append([(tr.gettext("No, keep it where it is"), cb.KeepDigest().pack())])
        await context.bot.send_message(change.chat.id, text, reply_markup=keyboard(rows))
        return
    region = outcome.region
    tr = translator(region.default_language)
    await context.bot.send_message(change.chat.id, _linked_text(tr, region.name[tr.lang]))


def _linked_text(tr: Translator, region: str) -> str:
    return tr.gettext("This group will receive the weekly regional digest for {region}.").format(
        region=region
    )


@on_callback(cb.MoveDigest, in_groups=True)
async def move_digest(update: Update, context: BotContext, data: cb.MoveDigest) -> None:
    """An offer's "move here" button: anyone in the group can press it, so the domain
    checks that the presser administers that region."""
    query = update.callback_query
    assert query is not None and query.message is not None
    region = context.svc.config.region(data.region)
    tr = translator(region.default_language)
    moved = await groups.move_here(context.svc, query.message.chat.id, data.region, context.user_id)
    if moved is None:
        await answer_query(
            update,
            tr.gettext("Only an administrator of the secretariat for {region} can do this.").format(
                region=region.name[tr.lang]
            ),
            alert=True,
        )
        return
    await answer_query(update)
    await query.edit_message_text(_linked_text(tr, region.name[tr.lang]))


@on_callback(cb.KeepDigest, in_groups=True)
async def keep_digest(update: Update, context: BotContext, data: cb.KeepDigest) -> None:
    """An offer's "keep it" button: an administrator declines, and the bot leaves."""
    query = update.callback_query
    assert query is not None and query.message is not None
    tr = translator(context.svc.config.default_language)
    if not await people.admin_scope(context.svc, context.user_id):
        await answer_query(
            update, tr.gettext("Only an administrator of the secretariat can do this."), alert=True
        )
        return
    await answer_query(update)
    await query.edit_message_text(tr.gettext("The digest stays where it is. Goodbye."))
    await context.bot.leave_chat(query.message.chat.id)


async def group_migrated(update: Update, context: BotContext) -> None:
    """A group upgraded to a supergroup gets a new id: follow it.

    Telegram says it twice, in the old group (``migrate_to_chat_id``) and in the new
    supergroup (``migrate_from_chat_id``), in either order; both say the same move, and
    following it is idempotent, so each is applied and neither is taken for an error."""
    message = update.effective_message
    assert message is not None
    if message.migrate_to_chat_id is not None:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        assert message.migrate_from_chat_id is not None  # the filter: one of the two
        old, new = message.migrate_from_chat_id, message.chat.id
    await groups.group_migrated(context.svc, old, new)
