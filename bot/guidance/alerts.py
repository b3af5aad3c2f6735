"""Fan-out of a new item to its subscribers: the one place that decides how alerts are queued.

The alerts of an item are one broadcast (``bot.outbox.broadcasts``): the broadcast row and one
fan-out row per matching subscriber, written in the transaction that adds the item (so the
item and its alerts are committed together, or neither is), with one multi-row insert, so
the write lock is held for the inserts only. An admin sees its progress and can pause or
cancel it. The dedup keys (``guidance:<item>`` for the broadcast, ``guidance:<item>:<person>``
for each row) make the fan-out idempotent: an add re-delivered, or run again for any
reason, queues nobody twice.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.core.callbacks import GuidanceOpen, GuidanceRead, SubscribeOff
from bot.core.i18n import translator
from bot.core.services import Services
from bot.guidance.texts import alert_text, item_text
from bot.outbox import broadcasts, delivery
from bot.outbox.messages import Text
from storage import guidance as store
from storage import outbox
from storage.db import Conn, Tx
from storage.guidance import Item

log = logging.getLogger(__name__)

KIND = "guidance"
STILL_WANTED = "guidance_still_wanted"


def dedup_key(item_id: int, tg_id: int) -> str:
    return f"guidance:{item_id}:{tg_id}"


def alert_buttons(lang: str, item_id: int, *, nfp: bool) -> list[list[tuple[str, str]]]:
    """Open; Read (NFPs only, for the secretariat's acknowledgement list); Unsubscribe."""
    tr = translator(lang)
    first = [(tr.gettext("Open"), GuidanceOpen(item_id).pack())]
    if nfp:
        first.append((tr.gettext("✓ Read"), GuidanceRead(item_id).pack()))
    return [first, [(tr.gettext("Unsubscribe"), SubscribeOff().pack())]]


async def fan_out(tx: Tx, svc: Services, item: Item) -> int:
    """Queue the item's alert for every matching subscriber; how many rows are new.

    Matching (``storage.guidance.recipients``): the item's language and one of its topics;
    NFPs who never chose are subscribed by default; whoever is marked blocked is skipped.
    """
    cfg = svc.config
    now = svc.clock.now()
    to: dict[int, Text] = {}
    conditions: dict[int, dict[str, Any]] = {}
    for r in await store.recipients(tx, item.language, list(item.topics), cfg.default_language):
        lang = r.language or cfg.default_language
        tr = translator(lang)
        to[r.tg_id] = Text(
            alert_text(tr, cfg, item), buttons=alert_buttons(lang, item.id, nfp=r.nfp)
        )
        conditions[r.tg_id] = {"hook": STILL_WANTED, "args": {"item": item.id, "to": r.tg_id}}
    bid = await broadcasts.start(
        tx,
        now,
        kind=KIND,
        to=to,
        label=item.title,
        dedup_key=f"guidance:{item.id}",
        row_key=lambda chat_id: dedup_key(item.id, chat_id),
        conditions=conditions,
    )
    queued = len(to) if bid is not None else 0
    log.info("guidance #%d: %d alert(s) queued", item.id, queued)
    return queued


async def post_to_channel(tx: Tx, svc: Services, item: Item) -> bool:
    """Queue the item's post to the configured channel (``[guidance] channel``), in the
    transaction that adds it; False when there is no channel or it was queued before.

    The post is the item itself, link included, in the item's language: a channel has
    readers, not subscribers, and no buttons to press (their answers would go nowhere). The
    dedup key ``guidance-channel:<item>`` posts each item once.
    """
    channel = svc.guidance_channel
    if channel is None:
        return False
    return await outbox.enqueue(
        tx,
        svc.clock.now(),
        dedup_key=f"guidance-channel:{item.id}",
        chat_id=channel,
        kind="guidance_channel",
        text=item_text(translator(item.language), svc.config, item),
    )


@delivery.condition(STILL_WANTED)
def _still_wanted(conn: Conn, svc: Services, args: dict[str, Any]) -> bool:
    """An alert still queued goes only if the item was not withdrawn meanwhile and the
    person still wants it (did not unsubscribe, or drop the topic, since it was queued)."""
    return store.still_wanted(conn, int(args["item"]), int(args["to"]), svc.config.default_language)
