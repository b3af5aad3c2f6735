"""The outbox: every proactive message as a row, written with its cause, sent by one sender.

A row goes ``pending`` → ``sending`` (committed *before* the request) → ``sent`` with the
Telegram message id, or ends ``failed`` / ``blocked``. A row still ``sending`` after a crash
is the one message that may have gone out without being marked, so it stays due: that is
the only way a message can be sent twice. ``sent`` with ``message_id`` NULL is a request
that went out and whose answer never came: Telegram may have delivered it, so it is not
sent again (see ``bot.outbox.sender``).

Order: each chat's earliest active row is its *head*, and only a chat's head is ever sent.
A head in backoff (attempted, ``not_before`` still ahead) holds its chat, so nothing queued
after it overtakes it; a row merely scheduled for later and never tried does not.

A row may carry ``on_failure`` in its payload: whom to tell, and which domain hook to run,
when it ends ``failed`` or ``blocked`` (``bot.outbox.delivery``).

The payload is a message of any kind (``bot.outbox.messages``: text, photo, album,
document; its ``kind`` field says which, and a row without one is text, as every row was
before schema 4); media are named by their hash (``storage.media``). A row may belong to a
broadcast (``storage.broadcasts``): rows of a paused broadcast are neither due nor
claimed, and do not hold their chat; a cancelled one's are finished unsent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Conn, Database, Row, Tx, execute_rowcount
from storage.timeutil import from_db, from_db_required, to_db

Buttons = Sequence[Sequence[tuple[str, str]]]

_ACTIVE = "('pending', 'sending')"
_COLS = (
    "id, dedup_key, chat_id, kind, payload, created_at, not_before, status, attempts,"
    " last_error, sent_at, message_id, broadcast_id, message_ids"
)


# Rows a broadcast's state holds back: paused ones wait (and do not hold their chat), and a
# cancelled broadcast's rows are never claimed (see mark_sending).
def _not_paused(row: str = "") -> str:
    """``row`` (a table alias and a dot, or nothing) is not of a paused broadcast."""
    return (
        f"({row}broadcast_id IS NULL OR {row}broadcast_id NOT IN (SELECT id FROM broadcasts"
        " WHERE state = 'paused'))"
    )


_NOT_PAUSED = _not_paused()
_CLAIMABLE = (
    "(broadcast_id IS NULL OR broadcast_id IN (SELECT id FROM broadcasts"
    " WHERE state IN ('running', 'done')))"
)
#: last_error of a row its broadcast's cancel finished unsent (``storage.broadcasts``)
CANCELLED_ERROR = "cancelled: its broadcast was cancelled"
_MAX_CALLBACK_BYTES = 64  # Telegram refuses longer callback_data: catch it at the cause


@dataclass(frozen=True)
class OutboxItem:
    id: int
    dedup_key: str
    chat_id: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    not_before: datetime
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    message_id: int | None
    broadcast_id: int | None = None
    message_ids: tuple[int, ...] = ()  # every message of an album (message_id is the first)

    @property
    def message_kind(self) -> str:
        """``text``, ``photo``, ``album`` or ``document`` (rows from before schema 4: text)."""
        return str(self.payload.get("kind") or "text")

    @property
    def text(self) -> str:
        """The text, or a media message's caption."""
        return str(self.payload.get("text") or self.payload.get("caption") or "")

    @property
    def parse_mode(self) -> str | None:
        return self.payload.get("parse_mode")

    @property
    def on_failure(self) -> dict[str, Any] | None:
        """What to do if the row fails for good: ``tell``/``lang``/``text``, ``hook``/``args``."""
        return self.payload.get("on_failure")

    @property
    def valid_while(self) -> dict[str, Any] | None:
        """A condition (``hook``/``args``) that must still hold when the row's turn comes."""
        return self.payload.get("valid_while")

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """Rows of (label, callback_data); JSON turned the tuples into lists."""
        return [[(str(b[0]), str(b[1])) for b in row] for row in self.payload.get("buttons") or []]


def _item(r: Row) -> OutboxItem:
    return OutboxItem(
        id=r["id"],
        dedup_key=r["dedup_key"],
        chat_id=r["chat_id"],
        kind=r["kind"],
        payload=json.loads(r["payload"]),
        created_at=from_db_required(r["created_at"]),
        not_before=from_db_required(r["not_before"]),
        status=r["status"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        sent_at=from_db(r["sent_at"]),
        message_id=r["message_id"],
        broadcast_id=r["broadcast_id"],
        message_ids=tuple(json.loads(r["message_ids"])) if r["message_ids"] else (),
    )


def _check(text: str, buttons: Buttons | None) -> None:
    """A row Telegram would refuse is a bug in its cause; fail that transaction, not the send."""
    if not text.strip():
        raise ValueError("outbox text is empty")
    for row in buttons or ():
        for label, data in row:
            if not label or not 1 <= len(data.encode()) <= _MAX_CALLBACK_BYTES:
                raise ValueError(f"bad button {label!r}: callback_data must be 1-64 bytes")


async def enqueue(
    tx: Tx,
    now: datetime,
    *,
    dedup_key: str,
    chat_id: int,
    kind: str,
    text: str,
    buttons: Buttons | None = None,
    parse_mode: str | None = "HTML",
    not_before: datetime | None = None,
    on_failure: dict[str, Any] | None = None,
    valid_while: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> bool:
    """Queue one message; False if ``dedup_key`` was queued before (then nothing changes).

    ``extra`` adds what the sender does besides sending: ``pin`` (pin the message once
    sent), ``edit_message_id`` (edit that message instead of sending a new one).

    ``on_failure`` (JSON-able, see :attr:`OutboxItem.on_failure`) travels with the row so the
    sender can tell the person who caused it, and run the cause's hook, if it never arrives.
    ``valid_while`` names a condition checked just before sending (e.g. a questionnaire
    screen is sent only while it is still the person's current one): a row whose moment has
    passed is dropped as superseded instead of arriving out of date.

    A text message; ``bot.outbox.queue.enqueue`` queues a message of any kind.
    """
    _check(text, buttons)
    payload: dict[str, Any] = {"kind": "text", "text": text, "parse_mode": parse_mode}
    if buttons:
        payload["buttons"] = [[[label, data] for label, data in row] for row in buttons]
    payload.update(extra or {})
    return await enqueue_payload(
        tx,
        now,
        dedup_key=dedup_key,
        chat_id=chat_id,
        kind=kind,
        payload=payload,
        not_before=not_before,
        on_failure=on_failure,
        valid_while=valid_while,
    )


async def enqueue_payload(
    tx: Tx,
    now: datetime,
    *,
    dedup_key: str,
    chat_id: int,
    kind: str,
    payload: dict[str, Any],
    not_before: datetime | None = None,
    on_failure: dict[str, Any] | None = None,
    valid_while: dict[str, Any] | None = None,
    broadcast_id: int | None = None,
) -> bool:
    """Queue one row whose payload the caller built (and checked); False if queued before."""
    payload = dict(payload)
    if on_failure:
        payload["on_failure"] = on_failure
    if valid_while:
        payload["valid_while"] = valid_while
    n = await tx.execute_rowcount(
        "INSERT INTO outbox (dedup_key, chat_id, kind, payload, created_at, not_before,"
        " broadcast_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedup_key) DO NOTHING",
        (
            dedup_key,
            chat_id,
            kind,
            json.dumps(payload, ensure_ascii=False),
            to_db(now),
            to_db(not_before or now),
            broadcast_id,
        ),
    )
    return n > 0


async def due(
    db: Database | Tx, now: datetime, limit: int, *, one_per_chat: bool = False
) -> list[OutboxItem]:
    """Rows to send now, oldest first; ``sending`` ones are left from a crash and go again.

    ``one_per_chat`` gives only the chats' heads that are due: what a paced sender can send
    next without reordering a chat's messages (a head in backoff holds its chat).
    """
    if one_per_chat:
        rows = await db.fetchall(
            f"SELECT {_COLS} FROM outbox AS o WHERE {_DUE_HEADS} ORDER BY o.not_before, o.id"
            " LIMIT ?",
            (to_db(now), to_db(now), limit),
        )
    else:
        rows = await db.fetchall(
            f"SELECT {_COLS} FROM outbox WHERE status IN {_ACTIVE} AND not_before <= ?"
            f" AND {_NOT_PAUSED} ORDER BY not_before, id LIMIT ?",
            (to_db(now), limit),
        )
    return [_item(r) for r in rows]


# A chat's head: its earliest active row that is due or has been tried (so is in backoff);
# only a head whose not_before has come may go. Written as "a due row with no earlier such
# row in its chat" so that a read walks the due rows in order (index ``outbox_due``) and
# checks each by one search of ``outbox_chat_active`` (schema 8), stopping at its LIMIT:
# grouping every active row by chat cost 21 ms a read with 10,000 rows queued, this 0.2 ms.
_DUE_HEADS = (
    f"o.status IN {_ACTIVE} AND o.not_before <= ? AND {_not_paused('o.')}"
    " AND NOT EXISTS (SELECT 1 FROM outbox AS e WHERE e.chat_id = o.chat_id AND e.id < o.id"
    f" AND e.status IN {_ACTIVE} AND (e.not_before <= ? OR e.attempts > 0)"
    f" AND {_not_paused('e.')})"
)


async def due_count(db: Database | Tx, now: datetime) -> int:
    """How many chats have a head to send now (what the sender still has to do)."""
    return int(
        await db.fetchval(
            f"SELECT count(*) FROM outbox AS o WHERE {_DUE_HEADS}", (to_db(now), to_db(now))
        )
    )


async def sending_count(db: Database | Tx) -> int:
    """Rows caught in flight by a crash (reported at start-up)."""
    return int(await db.fetchval("SELECT count(*) FROM outbox WHERE status = 'sending'"))


_CLAIM = (
    f"UPDATE outbox SET status = 'sending', attempts = attempts + 1"
    f" WHERE id = ? AND status IN {_ACTIVE} AND {_CLAIMABLE}"
)
_FINISH_CANCELLED = (
    f"UPDATE outbox SET status = 'failed', last_error = ?"
    f" WHERE id = ? AND status IN {_ACTIVE} AND broadcast_id IN"
    " (SELECT id FROM broadcasts WHERE state = 'cancelled')"
)
# A row finished: its running broadcast is ``done`` once no row of it is active.
_SETTLE = (
    "UPDATE broadcasts SET state = 'done' WHERE state = 'running'"
    " AND id = (SELECT broadcast_id FROM outbox WHERE id = ?)"
    f" AND NOT EXISTS (SELECT 1 FROM outbox WHERE broadcast_id = broadcasts.id"
    f" AND status IN {_ACTIVE})"
)
_MARK_SENT = (
    "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, message_ids = ? WHERE id = ?"
)


def _message_ids(message_ids: Sequence[int] | None) -> str | None:
    return json.dumps(list(message_ids)) if message_ids and len(message_ids) > 1 else None


async def mark_sending(tx: Tx, item_id: int) -> bool:
    """Claim a row just before its request and count the attempt; False if no longer active.

    Committed before the request goes out, so a crash leaves evidence of the message in flight.
    A row of a paused broadcast is not claimed (it stays pending); one of a cancelled
    broadcast (left ``sending`` by a crash, or read as due just before the cancel) is
    finished unsent instead.
    """
    n = await tx.execute_rowcount(_CLAIM, (item_id,))
    if n == 0:
        await tx.execute(_FINISH_CANCELLED, (CANCELLED_ERROR, item_id))
        await _settle(tx, item_id)
    return n > 0


claim = mark_sending


def claim_many(
    conn: Conn,
    items: Sequence[OutboxItem],
    still_valid: Callable[[Conn, OutboxItem], bool] | None = None,
) -> tuple[list[int], list[int]]:
    """On the database thread (``Database.write``): :func:`mark_sending` for each row, in
    one transaction and one round trip; (the ids claimed, the ids superseded).

    The sender claims the rows whose sends start together this way, so a broadcast costs
    one write transaction per batch of sends instead of one per message. A row with a
    ``valid_while`` condition goes only if ``still_valid(conn, row)`` holds, checked in this
    same transaction (so nothing changes between the check and the claim); one that no
    longer holds is finished unsent, as :func:`supersede`.
    """
    claimed: list[int] = []
    superseded: list[int] = []
    for item in items:
        if item.valid_while and still_valid is not None and not still_valid(conn, item):
            supersede(conn, item.id, "no longer applies")
            superseded.append(item.id)
        elif execute_rowcount(conn, _CLAIM, (item.id,)):
            claimed.append(item.id)
        else:
            conn.execute(_FINISH_CANCELLED, (CANCELLED_ERROR, item.id))
            conn.execute(_SETTLE, (item.id,))
    return claimed, superseded


async def _settle(tx: Tx, item_id: int) -> None:
    """A row finished: its running broadcast is ``done`` once no row of it is active."""
    await tx.execute(_SETTLE, (item_id,))


async def mark_sent(
    tx: Tx,
    now: datetime,
    item_id: int,
    message_id: int,
    message_ids: Sequence[int] | None = None,
) -> None:
    """Delivered as ``message_id`` (an album: ``message_ids`` has every one, first first)."""
    await tx.execute(_MARK_SENT, (to_db(now), message_id, _message_ids(message_ids), item_id))
    await _settle(tx, item_id)


def mark_sent_many(
    conn: Conn, now: datetime, delivered: Sequence[tuple[int, int, Sequence[int]]]
) -> None:
    """On the database thread: :func:`mark_sent` for each ``(id, message_id, message_ids)``,
    in one transaction and one round trip (the sender records outcomes that come together
    so)."""
    at = to_db(now)
    for item_id, message_id, message_ids in delivered:
        conn.execute(_MARK_SENT, (at, message_id, _message_ids(message_ids), item_id))
        conn.execute(_SETTLE, (item_id,))


async def mark_unconfirmed(tx: Tx, now: datetime, item_id: int, error: str) -> None:
    """The request went out but no answer came: finished, ``message_id`` unknown, never resent."""
    await tx.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = NULL, last_error = ?"
        " WHERE id = ?",
        (to_db(now), error, item_id),
    )
    await _settle(tx, item_id)


async def by_dedup_prefix(db: Database | Tx, prefix: str) -> list[OutboxItem]:
    """Every row whose dedup_key starts with ``prefix`` (the fan-out of one cause)."""
    rows = await db.fetchall(
        f"SELECT {_COLS} FROM outbox WHERE substr(dedup_key, 1, ?) = ? ORDER BY id",
        (len(prefix), prefix),
    )
    return [_item(r) for r in rows]


async def retext_pending(tx: Tx, item_id: int, text: str) -> bool:
    """Replace the text of a row not yet claimed for sending; False once it is in flight."""
    _check(text, None)
    n = await tx.execute_rowcount(
        "UPDATE outbox SET payload = json_set(payload, '$.text', ?)"
        " WHERE id = ? AND status = 'pending'",
        (text, item_id),
    )
    return n > 0


def supersede(conn: Conn, item_id: int, reason: str) -> None:
    """On the database thread: not sent, on purpose, as what it said no longer applies
    (kept, ``failed``, for the record)."""
    conn.execute(
        "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?",
        (f"superseded: {reason}", item_id),
    )
    conn.execute(_SETTLE, (item_id,))


async def mark_failed(tx: Tx, item_id: int, error: str) -> None:
    """Give up on the row (Telegram refused it, or retries ran out); it is kept for the record."""
    await tx.execute(
        "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?", (error, item_id)
    )
    await _settle(tx, item_id)


async def mark_blocked(tx: Tx, item_id: int, error: str) -> None:
    """The recipient blocked the bot (403): never retried; the person is marked separately."""
    await tx.execute(
        "UPDATE outbox SET status = 'blocked', last_error = ? WHERE id = ?", (error, item_id)
    )
    await _settle(tx, item_id)


async def retry_later(tx: Tx, item_id: int, not_before: datetime, error: str) -> None:
    """Back to ``pending`` until ``not_before`` (network trouble: the attempt counts)."""
    await tx.execute(
        "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ? WHERE id = ?",
        (to_db(not_before), error, item_id),
    )


async def release(tx: Tx, item_id: int, error: str) -> None:
    """Back to ``pending`` now, the attempt not counted: a 429 or a chat migration is not
    the row's fault, and it must not use up the row's retries."""
    await tx.execute(
        "UPDATE outbox SET status = 'pending', last_error = ?,"
        " attempts = max(attempts - 1, 0) WHERE id = ?",
        (error, item_id),
    )


async def retarget(tx: Tx, old_chat_id: int, new_chat_id: int) -> int:
    """A group became a supergroup: its unsent rows follow it to the new chat id."""
    return await tx.execute_rowcount(
        f"UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND status IN {_ACTIVE}",
        (new_chat_id, old_chat_id),
    )


async def pending_count(db: Database | Tx) -> int:
    """Rows not yet sent or given up, due or not."""
    return int(await db.fetchval(f"SELECT count(*) FROM outbox WHERE status IN {_ACTIVE}"))


async def get(db: Database | Tx, item_id: int) -> OutboxItem | None:
    row = await db.fetchone(f"SELECT {_COLS} FROM outbox WHERE id = ?", (item_id,))
    return None if row is None else _item(row)


async def by_dedup_key(db: Database | Tx, dedup_key: str) -> OutboxItem | None:
    row = await db.fetchone(f"SELECT {_COLS} FROM outbox WHERE dedup_key = ?", (dedup_key,))
    return None if row is None else _item(row)


async def by_kind(db: Database | Tx, kind: str) -> list[OutboxItem]:
    """Every row of a kind in queue order (tests and the status command)."""
    rows = await db.fetchall(f"SELECT {_COLS} FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [_item(r) for r in rows]
