"""The guidance library, subscriptions, read acknowledgements and admins' drafts.

Search goes through the ``guidance_fts`` FTS5 table (migration 0006): :func:`fts_query`
turns a person's words into a query of quoted prefix terms, so nothing they type is read
as FTS5 syntax (``OR``, ``NEAR``, ``*``, ``"``, ``col:`` are all just words or dropped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Conn, Database, Row, Tx, fetchone
from storage.timeutil import from_db, from_db_required, to_db

MAX_QUERY_WORDS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """The FTS5 MATCH expression for the words of ``text``: every word, as a prefix.

    Each word is a run of letters/digits (``\\w``), quoted, with ``*`` outside the quotes:
    FTS5 reads a quoted string as one literal token, so operators and column filters typed
    by the user have no effect. None when there is no word at all.
    """
    words = _WORD.findall(text)[:MAX_QUERY_WORDS]
    words = [w.replace("_", " ").strip() for w in words]
    terms = [f'"{w[:64]}"*' for w in words if w]
    return " ".join(terms) or None


@dataclass(frozen=True)
class Item:
    id: int
    title: str
    url: str | None
    file_id: str | None
    file_name: str | None
    source: str
    language: str
    summary: str
    topics: tuple[str, ...]
    created_by: int
    created_at: datetime
    withdrawn_at: datetime | None


_ITEM_TOPICS = (
    "(SELECT group_concat(topic, ',') FROM (SELECT topic FROM guidance_item_topics t"
    "  WHERE t.item_id = i.id ORDER BY topic)) AS topics"
)
_ITEM_COLS = (
    "i.id, i.title, i.url, i.file_id, i.file_name, i.source, i.language, i.summary,"
    f" i.created_by, i.created_at, i.withdrawn_at, {_ITEM_TOPICS}"
)


def _item(r: Row) -> Item:
    return Item(
        id=r["id"],
        title=r["title"],
        url=r["url"],
        file_id=r["file_id"],
        file_name=r["file_name"],
        source=r["source"],
        language=r["language"],
        summary=r["summary"],
        topics=tuple((r["topics"] or "").split(",")) if r["topics"] else (),
        created_by=r["created_by"],
        created_at=from_db_required(r["created_at"]),
        withdrawn_at=from_db(r["withdrawn_at"]),
    )


async def add_item(
    tx: Tx,
    now: datetime,
    *,
    title: str,
    url: str | None,
    file_id: str | None,
    file_name: str | None,
    source: str,
    language: str,
    summary: str,
    topics: list[str],
    by: int,
) -> int:
    item_id = await tx.execute(
        "INSERT INTO guidance_items (title, url, file_id, file_name, source, language, summary,"
        " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (title, url, file_id, file_name, source, language, summary, by, to_db(now), to_db(now)),
    )
    await _set_topics(tx, item_id, topics)
    return item_id


async def _set_topics(tx: Tx, item_id: int, topics: list[str]) -> None:
    await tx.execute("DELETE FROM guidance_item_topics WHERE item_id = ?", (item_id,))
    await tx.executemany(
        "INSERT INTO guidance_item_topics (item_id, topic) VALUES (?, ?)",
        [(item_id, t) for t in sorted(set(topics))],
    )


async def update_item(
    tx: Tx,
    now: datetime,
    item_id: int,
    *,
    title: str,
    url: str | None,
    file_id: str | None,
    file_name: str | None,
    source: str,
    language: str,
    summary: str,
    topics: list[str],
) -> None:
    await tx.execute(
        "UPDATE guidance_items SET title = ?, url = ?, file_id = ?, file_name = ?, source = ?,"
        " language = ?, summary = ?, updated_at = ? WHERE id = ?",
        (title, url, file_id, file_name, source, language, summary, to_db(now), item_id),
    )
    await _set_topics(tx, item_id, topics)


async def withdraw(tx: Tx, now: datetime, item_id: int) -> bool:
    n = await tx.execute_rowcount(
        "UPDATE guidance_items SET withdrawn_at = ?, updated_at = ?"
        " WHERE id = ? AND withdrawn_at IS NULL",
        (to_db(now), to_db(now), item_id),
    )
    return n > 0


async def get_item(db: Database | Tx, item_id: int) -> Item | None:
    row = await db.fetchone(f"SELECT {_ITEM_COLS} FROM guidance_items i WHERE i.id = ?", (item_id,))
    return None if row is None else _item(row)


async def item_by_url(db: Database | Tx, url: str) -> Item | None:
    row = await db.fetchone(f"SELECT {_ITEM_COLS} FROM guidance_items i WHERE i.url = ?", (url,))
    return None if row is None else _item(row)


async def latest(
    db: Database | Tx, language: str | None, limit: int, offset: int
) -> tuple[list[Item], int]:
    """Items not withdrawn, newest first (in ``language`` if given), and how many in all."""
    where = "i.withdrawn_at IS NULL" + (" AND i.language = ?" if language else "")
    args: tuple[Any, ...] = (language,) if language else ()
    rows = await db.fetchall(
        f"SELECT {_ITEM_COLS} FROM guidance_items i WHERE {where}"
        " ORDER BY i.created_at DESC, i.id DESC LIMIT ? OFFSET ?",
        (*args, limit, offset),
    )
    total = await db.fetchval(f"SELECT count(*) FROM guidance_items i WHERE {where}", args)
    return [_item(r) for r in rows], int(total)


async def search(db: Database | Tx, text: str, limit: int, offset: int) -> tuple[list[Item], int]:
    """Items not withdrawn whose title or summary has every word (as a prefix), best first."""
    match = fts_query(text)
    if match is None:
        return [], 0
    rows = await db.fetchall(
        f"SELECT {_ITEM_COLS} FROM guidance_fts f JOIN guidance_items i ON i.id = f.rowid"
        " WHERE guidance_fts MATCH ? AND i.withdrawn_at IS NULL"
        " ORDER BY f.rank, i.id DESC LIMIT ? OFFSET ?",
        (match, limit, offset),
    )
    total = await db.fetchval(
        "SELECT count(*) FROM guidance_fts f JOIN guidance_items i ON i.id = f.rowid"
        " WHERE guidance_fts MATCH ? AND i.withdrawn_at IS NULL",
        (match,),
    )
    return [_item(r) for r in rows], int(total)


# --- subscriptions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """``status`` 'on'/'off', or 'default' (no row: an NFP's default, else not subscribed)."""

    status: str
    topics: frozenset[str]
    languages: frozenset[str]


async def subscription(db: Database | Tx, tg_id: int) -> Subscription | None:
    """The stored subscription; None when the person never chose (see ``bot.guidance``)."""
    status = await db.fetchval("SELECT status FROM subscriptions WHERE tg_id = ?", (tg_id,))
    if status is None:
        return None
    topics = await db.fetchall("SELECT topic FROM subscription_topics WHERE tg_id = ?", (tg_id,))
    langs = await db.fetchall(
        "SELECT language FROM subscription_languages WHERE tg_id = ?", (tg_id,)
    )
    return Subscription(
        str(status), frozenset(r[0] for r in topics), frozenset(r[0] for r in langs)
    )


async def save_subscription(
    tx: Tx, now: datetime, tg_id: int, status: str, topics: set[str], languages: set[str]
) -> None:
    await tx.execute(
        "INSERT INTO subscriptions (tg_id, status, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (tg_id) DO UPDATE SET status = excluded.status,"
        " updated_at = excluded.updated_at",
        (tg_id, status, to_db(now)),
    )
    await tx.execute("DELETE FROM subscription_topics WHERE tg_id = ?", (tg_id,))
    await tx.execute("DELETE FROM subscription_languages WHERE tg_id = ?", (tg_id,))
    await tx.executemany(
        "INSERT INTO subscription_topics (tg_id, topic) VALUES (?, ?)",
        [(tg_id, t) for t in sorted(topics)],
    )
    await tx.executemany(
        "INSERT INTO subscription_languages (tg_id, language) VALUES (?, ?)",
        [(tg_id, lang) for lang in sorted(languages)],
    )


@dataclass(frozen=True)
class Recipient:
    tg_id: int
    language: str | None  # the person's own language (for the alert's text)
    nfp: bool  # an active NFP of some country: the alert gets a "read" button


async def recipients(
    db: Database | Tx, language: str, topics: list[str], default_language: str
) -> list[Recipient]:
    """Who gets an alert for an item in ``language`` on ``topics``, in one query.

    Explicit subscribers ('on') with one of the topics and the language; plus every active
    NFP without a subscription row, subscribed by default to every topic in their own
    language (``default_language`` while they have chosen none). Anyone marked blocked
    (Telegram answered 403, or they blocked the bot) is left out.
    """
    rows = await db.fetchall(
        f"{_recipients_sql(len(topics))} ORDER BY p.tg_id",
        _recipients_params(language, topics, default_language),
    )
    return [Recipient(r[0], r[1], bool(r[2])) for r in rows]


def still_wanted(conn: Conn, item_id: int, tg_id: int, default_language: str) -> bool:
    """On the database thread: whether the item is not withdrawn and ``tg_id`` is still
    one of its :func:`recipients` (checked in the transaction that claims their alert).

    The person is found by primary key, so this costs two indexed reads; the outbox runs
    it for each of a broadcast's rows as it claims them.
    """
    row = fetchone(
        conn,
        "SELECT withdrawn_at, language, " + _ITEM_TOPICS + " FROM guidance_items i WHERE i.id = ?",
        (item_id,),
    )
    if row is None or row["withdrawn_at"] is not None:
        return False
    topics = row["topics"].split(",") if row["topics"] else []
    found = fetchone(
        conn,
        f"{_recipients_sql(len(topics))} AND p.tg_id = ?",
        (*_recipients_params(row["language"], topics, default_language), tg_id),
    )
    return found is not None


def _recipients_sql(topics: int) -> str:
    """The one definition of who matches an item (see :func:`recipients`); its parameters
    come from :func:`_recipients_params`."""
    marks = ",".join("?" * topics) or "NULL"
    return (
        "SELECT p.tg_id, p.language,"
        " EXISTS (SELECT 1 FROM assignments a WHERE a.tg_id = p.tg_id AND a.revoked_at IS NULL)"
        " AS nfp FROM people p"
        " WHERE p.blocked_at IS NULL AND ("
        "  EXISTS (SELECT 1 FROM subscriptions s WHERE s.tg_id = p.tg_id AND s.status = 'on'"
        "   AND EXISTS (SELECT 1 FROM subscription_languages l"
        "    WHERE l.tg_id = p.tg_id AND l.language = ?)"
        f"   AND EXISTS (SELECT 1 FROM subscription_topics t WHERE t.tg_id = p.tg_id"
        f"    AND t.topic IN ({marks})))"
        "  OR (NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.tg_id = p.tg_id)"
        "   AND coalesce(p.language, ?) = ?"
        "   AND EXISTS (SELECT 1 FROM assignments a WHERE a.tg_id = p.tg_id"
        "    AND a.revoked_at IS NULL)))"
    )


def _recipients_params(
    language: str, topics: Sequence[str], default_language: str
) -> tuple[Any, ...]:
    return (language, *topics, default_language, language)


# --- acknowledgements ---------------------------------------------------------------------


async def acknowledge(tx: Tx, now: datetime, item_id: int, tg_id: int) -> int:
    """Record that the person read the item, for each country they are an active NFP of;
    the number of new records (0 for a second tap)."""
    return await tx.execute_rowcount(
        "INSERT INTO guidance_acks (item_id, iso3, acked_by, at)"
        " SELECT ?, a.iso3, a.tg_id, ? FROM assignments a"
        " WHERE a.tg_id = ? AND a.revoked_at IS NULL"
        " ON CONFLICT DO NOTHING",
        (item_id, to_db(now), tg_id),
    )


async def acked_countries(db: Database | Tx, item_id: int) -> dict[str, datetime]:
    """Each country any of whose NFPs acknowledged the item, with the first time."""
    rows = await db.fetchall(
        "SELECT iso3, min(at) FROM guidance_acks WHERE item_id = ? GROUP BY iso3 ORDER BY iso3",
        (item_id,),
    )
    return {r[0]: from_db_required(r[1]) for r in rows}


async def unacknowledged(
    db: Database | Tx, iso3s: Sequence[str], since: datetime
) -> list[tuple[str, str]]:
    """(iso3, title) for each item added since ``since`` and not withdrawn that no NFP of
    the country acknowledged, for the countries among ``iso3s`` that have an active NFP
    (nobody else could): oldest item first, in one query."""
    if not iso3s:
        return []
    marks = ",".join("?" for _ in iso3s)
    rows = await db.fetchall(
        "SELECT c.iso3, i.title FROM (SELECT DISTINCT iso3 FROM assignments"
        f" WHERE revoked_at IS NULL AND iso3 IN ({marks})) c"
        " JOIN guidance_items i ON i.withdrawn_at IS NULL AND i.created_at >= ?"
        " WHERE NOT EXISTS (SELECT 1 FROM guidance_acks k"
        "  WHERE k.item_id = i.id AND k.iso3 = c.iso3)"
        " ORDER BY c.iso3, i.created_at, i.id",
        (*iso3s, to_db(since)),
    )
    return [(r[0], r[1]) for r in rows]


async def countries_with_nfps(db: Database | Tx) -> list[str]:
    rows = await db.fetchall(
        "SELECT DISTINCT iso3 FROM assignments WHERE revoked_at IS NULL ORDER BY iso3"
    )
    return [r[0] for r in rows]


# --- drafts and saved searches ------------------------------------------------------------


async def draft(db: Database | Tx, tg_id: int) -> dict[str, Any] | None:
    data = await db.fetchval("SELECT data FROM guidance_drafts WHERE tg_id = ?", (tg_id,))
    return None if data is None else dict(json.loads(data))


async def save_draft(tx: Tx, now: datetime, tg_id: int, data: dict[str, Any]) -> None:
    await tx.execute(
        "INSERT INTO guidance_drafts (tg_id, data, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (tg_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        (tg_id, json.dumps(data, ensure_ascii=False), to_db(now)),
    )


async def drop_draft(tx: Tx, tg_id: int) -> bool:
    return await tx.execute_rowcount("DELETE FROM guidance_drafts WHERE tg_id = ?", (tg_id,)) > 0


async def save_search(tx: Tx, now: datetime, tg_id: int, query: str) -> int:
    """Keep a search so its paging buttons can name it by id (words do not fit 64 bytes);
    a person's older searches go."""
    await tx.execute("DELETE FROM guidance_searches WHERE tg_id = ?", (tg_id,))
    return await tx.execute(
        "INSERT INTO guidance_searches (tg_id, query, at) VALUES (?, ?, ?)",
        (tg_id, query, to_db(now)),
    )


async def saved_search(db: Database | Tx, search_id: int, tg_id: int) -> str | None:
    """The words of the person's own search; None for someone else's or a replaced one."""
    query: str | None = await db.fetchval(
        "SELECT query FROM guidance_searches WHERE id = ? AND tg_id = ?", (search_id, tg_id)
    )
    return query


# --- privacy ------------------------------------------------------------------------------


async def forget_person(tx: Tx, now: datetime, tg_id: int, role_name: str | None) -> None:
    """Remove what identifies the person (see ``bot.guidance.subscriptions.forget``).

    ``role_name`` replaces the name of someone other rows still refer to (an NFP, past or
    present); None deletes the person's row altogether.
    """
    await tx.execute("DELETE FROM subscriptions WHERE tg_id = ?", (tg_id,))
    await tx.execute("DELETE FROM guidance_drafts WHERE tg_id = ?", (tg_id,))
    await tx.execute("DELETE FROM guidance_searches WHERE tg_id = ?", (tg_id,))
    await tx.execute("UPDATE guidance_acks SET acked_by = NULL WHERE acked_by = ?", (tg_id,))
    await tx.execute("DELETE FROM outbox WHERE chat_id = ?", (tg_id,))
    await tx.execute("DELETE FROM sessions WHERE tg_id = ?", (tg_id,))
    await tx.execute("DELETE FROM guidance_panels WHERE chat_id = ?", (tg_id,))
    if role_name is None:
        await tx.execute("DELETE FROM people WHERE tg_id = ?", (tg_id,))
    else:
        await tx.execute(
            "UPDATE people SET first_name = ?, last_name = NULL, username = NULL,"
            " updated_at = ? WHERE tg_id = ?",
            (role_name, to_db(now), tg_id),
        )


async def was_ever_nfp(db: Database | Tx, tg_id: int) -> list[tuple[str, str, bool]]:
    """Every assignment the person ever had: (iso3, kind, still active)."""
    rows = await db.fetchall(
        "SELECT iso3, kind, revoked_at IS NULL FROM assignments WHERE tg_id = ? ORDER BY id",
        (tg_id,),
    )
    return [(r[0], r[1], bool(r[2])) for r in rows]


# --- broadcasts: the admin's live panel and the completion notice (migration 0007) --------


async def broadcast_of(db: Database | Tx, item_id: int) -> int | None:
    """The id of the item's alert broadcast (dedup key ``guidance:<item>``), if any."""
    bid: int | None = await db.fetchval(
        "SELECT id FROM broadcasts WHERE dedup_key = ?", (f"guidance:{item_id}",)
    )
    return bid


@dataclass(frozen=True)
class Panel:
    chat_id: int
    message_id: int
    language: str
    shown_hash: str
    edited_at: datetime


async def open_panel(
    tx: Tx, now: datetime, chat_id: int, message_id: int, language: str, text_hash: str
) -> None:
    """The chat's live status message (a newer one replaces the older: one per chat)."""
    await tx.execute(
        "INSERT INTO guidance_panels (chat_id, message_id, language, shown_hash, edited_at,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET"
        " message_id = excluded.message_id, language = excluded.language,"
        " shown_hash = excluded.shown_hash, edited_at = excluded.edited_at,"
        " created_at = excluded.created_at",
        (chat_id, message_id, language, text_hash, to_db(now), to_db(now)),
    )


async def panels(db: Database | Tx) -> list[Panel]:
    rows = await db.fetchall(
        "SELECT chat_id, message_id, language, shown_hash, edited_at FROM guidance_panels"
        " ORDER BY chat_id"
    )
    return [Panel(r[0], r[1], r[2], r[3], from_db_required(r[4])) for r in rows]


async def panel_shown(tx: Tx, now: datetime, chat_id: int, message_id: int, text_hash: str) -> None:
    """The panel's message now shows ``text_hash`` (edited by the timer or a button)."""
    await tx.execute(
        "UPDATE guidance_panels SET shown_hash = ?, edited_at = ?"
        " WHERE chat_id = ? AND message_id = ?",
        (text_hash, to_db(now), chat_id, message_id),
    )


async def close_panel(tx: Tx, chat_id: int, message_id: int) -> None:
    """Stop refreshing it (what it shows is final, or the message is gone)."""
    await tx.execute(
        "DELETE FROM guidance_panels WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
    )


async def unannounced(db: Database | Tx) -> list[int]:
    """Guidance broadcasts that are done and whose completion line is not queued yet."""
    rows = await db.fetchall(
        "SELECT b.id FROM broadcasts b WHERE b.kind = 'guidance' AND b.state = 'done'"
        " AND NOT EXISTS (SELECT 1 FROM guidance_notices n WHERE n.broadcast_id = b.id)"
        " ORDER BY b.id"
    )
    return [r[0] for r in rows]


async def announced(tx: Tx, now: datetime, broadcast_id: int) -> bool:
    """Record the completion line as queued; False if it was already (then queue nothing)."""
    n = await tx.execute_rowcount(
        "INSERT INTO guidance_notices (broadcast_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (broadcast_id, to_db(now)),
    )
    return n > 0
