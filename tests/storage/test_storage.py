"""SQLite storage: migrations from an empty file and from every earlier version, pragmas."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Config
from bot.core.clock import FakeClock
from bot.outbox import messages
from bot.outbox.messages import Text
from bot.people import roles as people
from bot.wiring.app import open_services
from storage import outbox
from storage import people as store
from storage.db import Database
from storage.migrate import latest_version, migrations

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def schema(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
    return [(name, " ".join(sql.split())) for name, sql in rows]


async def test_empty_file_gets_the_latest_schema_and_pragmas(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "new.sqlite3")
    try:
        assert await db.schema_version() == latest_version() == len(migrations())
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert await db.fetchval("PRAGMA busy_timeout") == 5000
        with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO assignments (tg_id, iso3, kind, created_at)"
                    " VALUES (1, 'XXX', 'main', 'now')"
                )
    finally:
        await db.close()


SEED = {
    1: [
        "INSERT INTO regions (key) VALUES ('central-asia')",
        "INSERT INTO countries VALUES ('KGZ', 'central-asia', 'Asia/Bishkek', 'partner')",
        "INSERT INTO people (tg_id, first_name, language, created_at, updated_at)"
        " VALUES (501, 'Aida', 'ru', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
        "INSERT INTO invites (code, iso3, kind, created_by, created_at, expires_at, used_by,"
        " used_at) VALUES ('abc', 'KGZ', 'main', 9001, '2026-01-01T00:00:00+00:00',"
        " '2026-01-08T00:00:00+00:00', 501, '2026-01-02T00:00:00+00:00')",
        "INSERT INTO assignments (tg_id, iso3, kind, invite_code, created_at)"
        " VALUES (501, 'KGZ', 'main', 'abc', '2026-01-02T00:00:00+00:00')",
        "INSERT INTO admins (tg_id, source, added_at)"
        " VALUES (9001, 'cli', '2026-01-01T00:00:00+00:00')",
    ],
    2: [  # an outbox row as rows were before schema 4: no message kind, no broadcast
        "INSERT INTO outbox (dedup_key, chat_id, kind, payload, created_at, not_before)"
        " VALUES ('prompt:KGZ:2026-W02', 501, 'prompt',"
        ' \'{"text": "Week <b>2</b>", "parse_mode": "HTML", "buttons": [[["Start", "s:2"]]]}\','
        " '2026-01-05T09:00:00+00:00', '2026-01-05T09:00:00+00:00')",
    ],
}


@pytest.mark.parametrize("start", range(latest_version()))
async def test_upgrade_from_every_earlier_version_keeps_the_data(
    tmp_path: Path, start: int
) -> None:
    fresh = tmp_path / "fresh.sqlite3"
    db = await Database.open(fresh)
    await db.close()

    old = tmp_path / "old.sqlite3"
    db = await Database.open(old, migrate=False)
    assert await db.migrate(start) == start
    for version in range(1, start + 1):
        async with db.transaction() as tx:
            for sql in SEED.get(version, []):
                await tx.execute(sql)
    assert await db.migrate() == latest_version()
    if start >= 1:
        assert await db.fetchval("SELECT first_name FROM people WHERE tg_id = 501") == "Aida"
        assert await db.fetchval("SELECT used_by FROM invites WHERE code = 'abc'") == 501
    if start >= 2:  # schema 4: the old row is a text message of no broadcast, still due
        (row,) = await outbox.due(db, NOW, 10, one_per_chat=True)
        assert row.dedup_key == "prompt:KGZ:2026-W02" and row.broadcast_id is None
        assert messages.from_payload(row.payload) == Text(
            "Week <b>2</b>", "HTML", [[("Start", "s:2")]]
        )
    await db.close()
    assert schema(old) == schema(fresh)


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    with pytest.raises(RuntimeError, match="newer than this nfpbot"):
        await Database.open(path)


async def test_an_invite_code_is_claimed_once_even_when_two_race(config: Config) -> None:
    svc = await open_services(config, FakeClock(NOW))
    try:
        invite = await people.create_invite(svc, config.admins[0], "KGZ", "main")
        results = await asyncio.gather(
            people.redeem_invite(svc, people.UserInfo(1, "A"), invite.code),
            people.redeem_invite(svc, people.UserInfo(2, "B"), invite.code),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, people.InviteRefused)]
        assert len(refused) == 1 and refused[0].reason == "used"
        assert len([r for r in results if isinstance(r, people.Redeemed)]) == 1
    finally:
        await svc.db.close()


async def test_a_new_main_nfp_demotes_the_previous_one(config: Config) -> None:
    clock = FakeClock(NOW)
    svc = await open_services(config, clock)
    try:
        for tg_id in (11, 12):
            invite = await people.create_invite(svc, config.admins[0], "AFG", "main")
            clock.advance(timedelta(minutes=1))
            await people.redeem_invite(svc, people.UserInfo(tg_id, "X"), invite.code)
        kinds = {a.tg_id: a.kind for a in await store.nfps_of(svc.db, "AFG")}
        assert kinds == {11: "alternate", 12: "main"}
    finally:
        await svc.db.close()


async def test_an_update_claims_its_first_committed_write_once(tmp_path: Path) -> None:
    """The update id is recorded with the effect; a second delivery applies nothing."""
    from storage.db import AlreadyProcessed, done_processing, processing_update

    db = await Database.open(tmp_path / "claims.sqlite3")
    try:

        async def effect(update_id: int, fail: bool = False) -> None:
            token = processing_update(update_id)
            try:
                async with db.transaction() as tx:
                    await tx.execute(
                        "INSERT INTO audit (at, actor, action) VALUES (?, ?, ?)",
                        (NOW.isoformat(), 1, f"u{update_id}"),
                    )
                    if fail:
                        raise RuntimeError("rolled back")
                async with db.transaction() as tx:  # a follow-up of the same update
                    await tx.execute("UPDATE audit SET target = 'x' WHERE action = 'u7'")
            finally:
                done_processing(token)

        with pytest.raises(RuntimeError):
            await effect(7, fail=True)  # nothing committed: the update is not processed
        await effect(7)
        with pytest.raises(AlreadyProcessed):
            await effect(7)
        assert await db.fetchval("SELECT count(*) FROM audit WHERE action = 'u7'") == 1
        assert await db.fetchval("SELECT count(*) FROM processed_updates") == 1
        async with db.transaction() as tx:  # outside any update: no claim at all
            await tx.execute("DELETE FROM audit")
        assert await db.fetchval("SELECT count(*) FROM processed_updates") == 1
    finally:
        await db.close()


async def test_upgrade_to_guidance_subscribes_existing_nfps_by_default(tmp_path: Path) -> None:
    """Migration 0006 on a database with NFPs: they get alerts by default (no row needed),
    and the new FTS5 table finds an item added after the upgrade."""
    from storage import guidance

    db = await Database.open(tmp_path / "old.sqlite3", migrate=False)
    try:
        assert await db.migrate(5) == 5
        async with db.transaction() as tx:
            for sql in SEED[1]:
                await tx.execute(sql)
        assert await db.migrate() == latest_version() >= 6
        found = await guidance.recipients(db, "ru", ["covid19"], "en")
        assert [r.tg_id for r in found] == [501] and found[0].nfp
        assert await guidance.recipients(db, "en", ["covid19"], "en") == []  # Aida reads ru
        async with db.transaction() as tx:
            await guidance.add_item(
                tx,
                NOW,
                title="Диагностика",
                url="https://who.int/a",
                file_id=None,
                file_name=None,
                source="who",
                language="ru",
                summary="",
                topics=["lab"],
                by=1,
            )
        items, total = await guidance.search(db, "диаг", 5, 0)
        assert total == 1 and items[0].title == "Диагностика"
    finally:
        await db.close()


async def test_upgrade_to_guidance_status_announces_no_old_broadcast(tmp_path: Path) -> None:
    """Migration 0007 on a database with a finished guidance broadcast: it counts as
    announced (the group hears of no broadcast that finished before the upgrade), while
    one still running is announced when it finishes."""
    from storage import guidance

    db = await Database.open(tmp_path / "old.sqlite3", migrate=False)
    try:
        assert await db.migrate(6) == 6
        async with db.transaction() as tx:
            for bid, state in ((1, "done"), (2, "running")):
                await tx.execute(
                    "INSERT INTO broadcasts (id, kind, label, dedup_key, created_at, updated_at,"
                    " state) VALUES (?, 'guidance', 'Masks', ?, ?, ?, ?)",
                    (bid, f"guidance:{bid}", NOW.isoformat(), NOW.isoformat(), state),
                )
        assert await db.migrate() == latest_version() >= 7
        assert await guidance.unannounced(db) == []
        async with db.transaction() as tx:
            await tx.execute("UPDATE broadcasts SET state = 'done' WHERE id = 2")
        assert await guidance.unannounced(db) == [2]
    finally:
        await db.close()


async def test_upgrade_to_8_indexes_the_chats_heads(tmp_path: Path) -> None:
    """Migration 0008: the sender's read of the chats' heads checks each row by one search
    of ``outbox_chat_active`` instead of grouping every active row by chat."""
    db = await Database.open(tmp_path / "old.sqlite3", migrate=False)
    try:
        assert await db.migrate(7) == 7
        async with db.transaction() as tx:
            await tx.execute(SEED[2][0])
        assert await db.migrate() == latest_version()
        plan = await db.fetchall(
            f"EXPLAIN QUERY PLAN SELECT o.id FROM outbox AS o WHERE {outbox._DUE_HEADS}",
            (NOW.isoformat(), NOW.isoformat()),
        )
        assert any("outbox_chat_active" in str(r[3]) for r in plan), [tuple(r) for r in plan]
        assert "USE TEMP B-TREE FOR GROUP BY" not in str([tuple(r) for r in plan])
        (row,) = await outbox.due(db, NOW, 10, one_per_chat=True)
        assert row.dedup_key == "prompt:KGZ:2026-W02"
    finally:
        await db.close()
