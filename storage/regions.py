"""Regions and countries as rows, mirrored from config so other tables can reference them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Database, Tx


@dataclass(frozen=True)
class CountryRow:
    iso3: str
    region_key: str
    timezone: str
    status: str


async def sync(tx: Tx, regions: Iterable[tuple[str, Iterable[CountryRow]]]) -> None:
    """Upsert regions and countries from config; rows no longer in config are kept (history)."""
    for key, countries in regions:
        await tx.execute("INSERT INTO regions (key) VALUES (?) ON CONFLICT(key) DO NOTHING", (key,))
        for c in countries:
            await tx.execute(
                "INSERT INTO countries (iso3, region_key, timezone, status) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(iso3) DO UPDATE SET region_key = excluded.region_key,"
                " timezone = excluded.timezone, status = excluded.status",
                (c.iso3, c.region_key, c.timezone, c.status),
            )


async def group_chat(db: Database | Tx, region_key: str) -> int | None:
    chat_id: int | None = await db.fetchval(
        "SELECT group_chat_id FROM regions WHERE key = ?", (region_key,)
    )
    return chat_id


async def set_group_chat(tx: Tx, region_key: str, chat_id: int | None) -> None:
    await tx.execute("UPDATE regions SET group_chat_id = ? WHERE key = ?", (chat_id, region_key))


async def region_of_group(db: Database, chat_id: int) -> str | None:
    key: str | None = await db.fetchval(
        "SELECT key FROM regions WHERE group_chat_id = ?", (chat_id,)
    )
    return key
