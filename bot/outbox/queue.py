"""Queue a message of any kind in the transaction of its cause.

:func:`enqueue` checks the message against Telegram's limits (``bot.outbox.messages``),
stores its media once by hash (``storage.media``: a second chart of the same bytes adds no
row) and writes the outbox row. ``storage.outbox.enqueue`` stays the short way to queue a
text, which is what most causes send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.outbox import messages
from bot.outbox.messages import Message
from storage import media as media_store
from storage import outbox as store
from storage.db import Tx


async def store_media(
    tx: Tx, now: datetime, message: Message, seen: set[str] | None = None
) -> None:
    """Put the message's media (with bytes) in ``storage.media``; a reference must be there.

    ``seen`` holds hashes already stored in this transaction, so a broadcast passes its
    bytes to SQLite once, not once per recipient.
    """
    for m in messages.media_of(message):
        if seen is not None and m.sha256 in seen:
            continue
        if m.data is not None:
            await media_store.put(tx, now, m.data, m.mime_type, m.filename)
        elif not await media_store.exists(tx, m.sha256):
            raise ValueError(f"media {m.sha256[:12]}… is not stored: queue it with its bytes")
        if seen is not None:
            seen.add(m.sha256)


async def enqueue(
    tx: Tx,
    now: datetime,
    message: Message,
    *,
    dedup_key: str,
    chat_id: int,
    kind: str,
    not_before: datetime | None = None,
    on_failure: dict[str, Any] | None = None,
    valid_while: dict[str, Any] | None = None,
) -> bool:
    """Queue ``message`` to ``chat_id``; False if ``dedup_key`` was queued before.

    ValueError (the transaction fails) for a message Telegram would refuse. ``on_failure``
    and ``valid_while`` as in ``storage.outbox.enqueue``.
    """
    messages.check(message)
    await store_media(tx, now, message)
    return await store.enqueue_payload(
        tx,
        now,
        dedup_key=dedup_key,
        chat_id=chat_id,
        kind=kind,
        payload=messages.to_payload(message),
        not_before=not_before,
        on_failure=on_failure,
        valid_while=valid_while,
    )
