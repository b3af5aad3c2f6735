"""Regional groups: which group receives a region's digest, and who may choose it.

Knows nothing of Telegram: handlers/chats.py reports the bot's membership changes here and
turns the answer into what it says (and whether it leaves). The rule lives here, not in the
handler: only an administrator adds the bot to a group, and the group takes the first region
of theirs that has none (a region has one group; a second one is refused, not swapped in).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from bot.config import Region
from bot.core.services import Services
from bot.people.roles import admin_scope, log_refusal
from storage import regions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Linked:
    """The group now receives this region's digest."""

    region: Region


@dataclass(frozen=True)
class Refused:
    """The bot should say why and leave. ``regions``: the adder's regions, all of which
    already have a group (``no_free_region``); empty for ``not_admin``."""

    reason: Literal["not_admin", "no_free_region"]
    regions: tuple[Region, ...] = ()


async def bot_added(svc: Services, chat_id: int, by: int) -> Linked | Refused:
    """The bot was added to group ``chat_id`` by user ``by``: link it or refuse (audited).

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
            if not await regions.group_chat(tx, r.key):
                region = r
                await regions.set_group_chat(tx, r.key, chat_id)
                break
    if region is None:
        await log_refusal(svc, by, "add_to_group", "no_free_region")
        return Refused("no_free_region", mine)
    log.info("linked group %s to region %s", chat_id, region.key)
    return Linked(region)


async def bot_removed(svc: Services, chat_id: int) -> str | None:
    """The bot left (or was removed from) group ``chat_id``: its region, if it had one, has
    no group any more. Returns that region's key."""
    region = await regions.region_of_group(svc.db, chat_id)
    if region:
        async with svc.db.transaction() as tx:
            await regions.set_group_chat(tx, region, None)
        log.warning("removed from the group of region %s", region)
    return region


async def group_migrated(svc: Services, old_chat_id: int, new_chat_id: int) -> None:
    """A group upgraded to a supergroup gets a new id: its region follows it."""
    region = await regions.region_of_group(svc.db, old_chat_id)
    if region:
        async with svc.db.transaction() as tx:
            await regions.set_group_chat(tx, region, new_chat_id)
