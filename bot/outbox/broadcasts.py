"""Broadcasts: one message (or one per reader, e.g. in their language) to many chats.

A broadcast is a row of its own (``storage.broadcasts``) with one outbox row per chat, so
whoever started it can see its progress while it drains, pause it, resume it or cancel it.
The rows go through the one sender like every other message: paced, in each chat's order,
retried safely. A paused broadcast's rows wait without holding their chats back; a
cancelled one's pending rows are never sent (a row already in flight finishes).

:func:`start` runs in the caller's transaction, beside its cause (the alert, the digest),
and is SQL only (checking and serialising happen before the first statement), so the write
lock is held for the inserts alone; call ``svc.wake_outbox()`` after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.outbox import messages
from bot.outbox.messages import Message
from bot.outbox.queue import store_media
from storage import broadcasts as store
from storage.broadcasts import FanOut, Progress

if TYPE_CHECKING:
    from bot.core.services import Services
    from storage.db import Tx

__all__ = ["Progress", "cancel", "pause", "progress", "resume", "start"]


async def start(
    tx: Tx,
    now: datetime,
    *,
    kind: str,
    to: Mapping[int, Message],
    label: str = "",
    created_by: int | None = None,
    dedup_key: str | None = None,
    not_before: datetime | None = None,
    row_key: Callable[[int], str] | None = None,
    conditions: Mapping[int, dict[str, Any]] | None = None,
) -> int | None:
    """Queue ``to[chat_id]`` to each chat as one broadcast; its id, or None if ``dedup_key``
    started one before (then nothing is queued).

    ``row_key(chat_id)`` names each fan-out row (default ``broadcast:<id>:<chat>``), so a
    chat that already has its copy from an earlier row is not queued twice; ``conditions``
    give a chat's row a ``valid_while`` (``bot.outbox.delivery.condition``), checked when
    the row is claimed: a copy whose moment passed is dropped, not sent stale.

    ValueError (the transaction fails) if any message is one Telegram would refuse. Media
    shared by the messages are stored once.
    """
    conditions = conditions or {}
    payloads = {}
    for chat_id, message in to.items():
        messages.check(message)
        payloads[chat_id] = messages.to_payload(message)
    if dedup_key is not None and await store.exists(tx, dedup_key):
        return None
    seen: set[str] = set()
    for message in to.values():
        await store_media(tx, now, message, seen)
    return await store.create(
        tx,
        now,
        kind=kind,
        label=label,
        created_by=created_by,
        dedup_key=dedup_key,
        rows=[
            FanOut(
                chat_id,
                {**p, "valid_while": conditions[chat_id]} if chat_id in conditions else p,
                dedup_key=row_key(chat_id) if row_key else None,
                not_before=not_before,
            )
            for chat_id, p in payloads.items()
        ],
    )


async def progress(svc: Services, broadcast_id: int) -> Progress | None:
    """Its state and how many rows are pending, sending, sent, failed, blocked, superseded
    or cancelled (counted from the rows, so it is exact while the broadcast drains)."""
    return await store.progress(svc.db, broadcast_id)


async def pause(svc: Services, broadcast_id: int) -> bool:
    """Hold what is not sent yet; False unless it was running."""
    async with svc.db.transaction() as tx:
        return await store.pause(tx, svc.clock.now(), broadcast_id)


async def resume(svc: Services, broadcast_id: int) -> bool:
    """Send the rest; False unless it was paused."""
    async with svc.db.transaction() as tx:
        resumed = await store.resume(tx, svc.clock.now(), broadcast_id)
    if resumed:
        svc.wake_outbox()
    return resumed


async def cancel(svc: Services, broadcast_id: int) -> int | None:
    """Never send what is not sent yet; how many rows that was (None unless it was running
    or paused)."""
    async with svc.db.transaction() as tx:
        return await store.cancel(tx, svc.clock.now(), broadcast_id)
