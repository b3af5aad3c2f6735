"""Regional groups: which group receives a region's digest, and who may choose it.

Knows nothing of Telegram: handlers/chats.py reports the bot's membership changes here and
turns the answer into what it says (and whether it leaves). The rule lives here, not in the
handler: only an administrator adds the bot to a group, and the group takes the first region
of theirs that has none. A region has one group: added to a second one, the bot offers to move
the digest there, and only an administrator of that region can accept (a button in a group
can be pressed by anyone in it). When the bot leaves or is removed, the region's
administrators are told privately, since nobody in the group may notice that the digest
stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from bot.config import Region
from bot.core.i18n import translator
from bot.core.services import Services
from bot.people.roles import admin_scope, admins, get_person, log_refusal
from storage import audit, outbox, regions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Linked:
    """The group now receives this region's digest."""

    region: Region


@dataclass(frozen=True)
class Refused:
    """The bot should say why and leave (a stranger added it)."""

    reason: Literal["not_admin"]


@dataclass(frozen=True)
class MoveOffered:
    """Every region of the adder already has a group: the bot stays and offers to move one
    of these regions' digest here (``regions``: the adder's, in config order)."""

    regions: tuple[Region, ...]


@dataclass(frozen=True)
class Moved:
    """The region's digest now goes to this group; ``old_chat_id`` no longer gets it."""

    region: Region
    old_chat_id: int | None


async def bot_added(svc: Services, chat_id: int, by: int) -> Linked | Refused | MoveOffered:
    """The bot was added to group ``chat_id`` by user ``by``: link it, offer a move, or
    refuse (audited).

    The free region is looked up and taken in one transaction, so two groups added at the
    same moment cannot both take the same region.
    """
    scope = await admin_scope(svc, by)
    if not scope:
        await log_refusal(svc, by, "add_to_group", "not_admin")
        return Refused("not_admin")
    mine = tuple(r for r in svc.config.regions if scope.covers(r.key))
    region = None
    async with svc.db.transaction() as tx:
        for r in mine:
            current = await regions.group_chat(tx, r.key)
            if current == chat_id:  # added again to its own group (e.g. after a kick)
                return Linked(r)
            if not current:
                region = r
                await regions.set_group_chat(tx, r.key, chat_id)
                await audit.record(tx, svc.clock.now(), by, "group_link", r.key, chat=chat_id)
                break
    if region is None:
        return MoveOffered(mine)
    log.info("linked group %s to region %s", chat_id, region.key)
    return Linked(region)


async def move_here(svc: Services, chat_id: int, region_key: str, by: int) -> Moved | None:
    """Move ``region_key``'s digest to group ``chat_id``, if ``by`` administers that region
    (None, audited, when not: the button was pressed by someone else in the group, or
    forged). The old group is told, through the outbox, in the same transaction."""
    try:
        region = svc.config.region(region_key)
    except KeyError:
        region = None
    scope = await admin_scope(svc, by)
    if region is None or not scope.covers(region_key):
        await log_refusal(svc, by, "move_group", "not_admin")
        return None
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        old = await regions.group_chat(tx, region.key)
        if old == chat_id:
            return Moved(region, None)
        await regions.set_group_chat(tx, region.key, chat_id)
        await audit.record(tx, now, by, "group_move", region.key, chat=chat_id, old=old)
        if old:
            tr = translator(region.default_language)
            await outbox.enqueue(
                tx,
                now,
                dedup_key=f"group-moved:{region.key}:{old}:{chat_id}:{now.isoformat()}",
                chat_id=old,
                kind="group_note",
                text=tr.gettext(
                    "The weekly regional digest for {region} now goes to another group, "
                    "chosen by an administrator of the secretariat."
                ).format(region=region.name[tr.lang]),
                parse_mode=None,
            )
    log.info("moved region %s's digest from group %s to %s", region.key, old, chat_id)
    return Moved(region, old)


async def bot_removed(svc: Services, chat_id: int, title: str | None = None) -> str | None:
    """The bot left (or was removed from) group ``chat_id``: its region, if it had one, has
    no group any more, and each administrator of that region is told privately (in the
    same transaction, through the outbox). Returns that region's key."""
    key = await regions.region_of_group(svc.db, chat_id)
    if key is None:
        return None
    now = svc.clock.now()
    try:
        region: Region | None = svc.config.region(key)
    except KeyError:  # a region gone from config: nobody to tell in its name
        region = None
    told: list[tuple[int, str]] = []
    if region is not None:
        for tg_id, _source, scope in await admins(svc):
            if scope.covers(region.key):
                told.append((tg_id, await _language_of(svc, tg_id, region)))
    async with svc.db.transaction() as tx:
        await regions.set_group_chat(tx, key, None)
        await audit.record(tx, now, None, "group_lost", key, chat=chat_id)
        for tg_id, lang in told:
            assert region is not None
            tr = translator(lang)
            await outbox.enqueue(
                tx,
                now,
                dedup_key=f"group-lost:{key}:{chat_id}:{tg_id}:{now.isoformat()}",
                chat_id=tg_id,
                kind="group_lost",
                text=tr.gettext(
                    "I am no longer in the group «{group}», which received the weekly "
                    "digest for {region}. The digest will not be posted until an "
                    "administrator adds me to a group again."
                ).format(group=title or str(chat_id), region=region.name[tr.lang]),
                parse_mode=None,
            )
    log.warning("removed from the group of region %s; %d admin(s) told", key, len(told))
    return key


async def _language_of(svc: Services, tg_id: int, region: Region) -> str:
    person = await get_person(svc, tg_id)
    if person is not None and person.language in svc.config.languages:
        return person.language
    return region.default_language


async def group_migrated(svc: Services, old_chat_id: int, new_chat_id: int) -> None:
    """A group upgraded to a supergroup gets a new id: its region follows it, and so does
    everything queued for the old id (the sender would learn it from a 400 otherwise)."""
    region = await regions.region_of_group(svc.db, old_chat_id)
    async with svc.db.transaction() as tx:
        if region:
            await regions.set_group_chat(tx, region, new_chat_id)
        await outbox.retarget(tx, old_chat_id, new_chat_id)
