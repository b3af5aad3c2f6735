"""Status boards: which message in a region's group shows a week's state, and what it last said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row, Tx
from storage.timeutil import from_db, from_db_required, to_db


@dataclass(frozen=True)
class Board:
    region_key: str
    week: str
    chat_id: int
    outbox_id: int | None  # the row that posts it
    message_id: int | None  # None until that row was sent
    shown_hash: str  # of the text last queued, to edit only on a change
    edits: int
    edited_at: datetime | None
    created_at: datetime


_COLS = "region_key, week, chat_id, outbox_id, message_id, shown_hash, edits, edited_at, created_at"


def _board(r: Row) -> Board:
    return Board(
        region_key=r["region_key"],
        week=r["week"],
        chat_id=r["chat_id"],
        outbox_id=r["outbox_id"],
        message_id=r["message_id"],
        shown_hash=r["shown_hash"],
        edits=r["edits"],
        edited_at=from_db(r["edited_at"]),
        created_at=from_db_required(r["created_at"]),
    )


async def get(db: Database | Tx, region_key: str, week: str) -> Board | None:
    row = await db.fetchone(
        f"SELECT {_COLS} FROM status_boards WHERE region_key = ? AND week = ?", (region_key, week)
    )
    return _board(row) if row else None


async def awaiting_message_id(db: Database | Tx, region_key: str) -> list[Board]:
    """The region's boards whose post was queued but whose message id is not recorded yet."""
    rows = await db.fetchall(
        f"SELECT {_COLS} FROM status_boards WHERE region_key = ? AND message_id IS NULL"
        " AND outbox_id IS NOT NULL",
        (region_key,),
    )
    return [_board(r) for r in rows]


async def create(
    tx: Tx, now: datetime, region_key: str, week: str, chat_id: int, text_hash: str
) -> bool:
    """Record a new board; False if the region has one for that week already."""
    return (
        await tx.execute_rowcount(
            "INSERT INTO status_boards (region_key, week, chat_id, shown_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (region_key, week, chat_id, text_hash, to_db(now)),
        )
        == 1
    )


async def set_outbox(tx: Tx, region_key: str, week: str, outbox_id: int) -> None:
    await tx.execute(
        "UPDATE status_boards SET outbox_id = ? WHERE region_key = ? AND week = ?",
        (outbox_id, region_key, week),
    )


async def set_message(tx: Tx, region_key: str, week: str, chat_id: int, message_id: int) -> None:
    await tx.execute(
        "UPDATE status_boards SET chat_id = ?, message_id = ? WHERE region_key = ? AND week = ?",
        (chat_id, message_id, region_key, week),
    )


async def shown(tx: Tx, now: datetime, region_key: str, week: str, text_hash: str) -> None:
    """An edit to ``text_hash`` was queued."""
    await tx.execute(
        "UPDATE status_boards SET shown_hash = ?, edits = edits + 1, edited_at = ?"
        " WHERE region_key = ? AND week = ?",
        (text_hash, to_db(now), region_key, week),
    )


async def forget_message(tx: Tx, region_key: str, week: str) -> None:
    """The board's message is gone (deleted in the group): the next refresh posts anew."""
    await tx.execute(
        "DELETE FROM status_boards WHERE region_key = ? AND week = ?", (region_key, week)
    )
