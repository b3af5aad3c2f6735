"""A guidance broadcast in the real ``nfpbot run`` process, killed with SIGKILL mid-way and
restarted on the same database (issue 10, item 3).

Every subscriber must get the alert; the only duplicates allowed are the messages in
flight at a kill (their row claimed, ``sending``, and the request out): at most one per
chat, and at most the sender's in-flight limit per kill. Which rows were in flight is read
from the database between the kill and the restart, so a duplicate elsewhere fails.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.config import load_config
from bot.core.clock import SystemClock
from bot.guidance import alerts, subscriptions
from bot.outbox import sender as sender_module
from bot.people import roles as people
from bot.wiring.app import open_services
from sandbox import Sandbox
from storage import guidance as gstore
from storage import outbox as store
from storage.db import Database
from tests.test_cli import debug_config, start_bot

pytestmark = pytest.mark.faults

N = 60
KILL_AT = (15, 35)  # alerts delivered when each kill comes
#: How many sends the outbox sender has in flight at once (one per chat): the bound on what
#: a kill can duplicate.
IN_FLIGHT = sender_module.MAX_IN_FLIGHT
IDS = list(range(6001, 6001 + N))


def delivered(sb: Sandbox) -> Counter[int]:
    """Alerts Telegram accepted, per chat, from the sandbox's call log."""
    return Counter(
        int(c.chat_id)
        for c in sb.calls_to("sendMessage")
        if c.ok and isinstance(c.chat_id, int) and c.chat_id in IDS
    )


async def _prepare(path: Path, tmp_path: Path) -> None:
    """The subscribers and an item whose alerts are queued, as /addguidance leaves them."""
    config = load_config(debug_config(tmp_path), {"NFPBOT_DB": str(path)})
    svc = await open_services(config, SystemClock())
    try:
        for tg_id in IDS:
            await people.register(svc, people.UserInfo(tg_id, f"S{tg_id}"))
            await people.set_language(svc, tg_id, "en")
            await subscriptions.subscribe(svc, tg_id)
        now = svc.clock.now()
        async with svc.db.transaction() as tx:
            item_id = await gstore.add_item(
                tx,
                now,
                title="Masks",
                url="https://www.who.int/masks",
                file_id=None,
                file_name=None,
                source="who",
                language="en",
                summary="",
                topics=["covid19"],
                by=1,
            )
            item = await gstore.get_item(tx, item_id)
            assert item is not None
            assert await alerts.fan_out(tx, svc, item) == N
    finally:
        await svc.db.close()


async def _until(cond: object, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.01)


async def test_sigkill_mid_broadcast_skips_nobody_and_duplicates_only_in_flight(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cli.sqlite3"  # where tests.test_cli points NFPBOT_DB
    await _prepare(path, tmp_path)
    in_flight: list[set[int]] = []
    async with Sandbox() as sb:
        for tg_id in IDS:
            sb.user(tg_id, f"S{tg_id}")
        # every send answered after 50 ms, as over a real network: a kill finds one in flight
        sb.inject("sendMessage", delay=0.05, times=10 * N)
        for kill_at in KILL_AT:
            proc = await start_bot(tmp_path, sb, sb.token)
            try:
                await _until(lambda k=kill_at: sum(delivered(sb).values()) >= k)
            finally:
                proc.kill()  # SIGKILL: no shutdown; claimed rows stay "sending"
                await proc.wait()
            db = await Database.open(path)
            try:
                rows = await db.fetchall("SELECT chat_id FROM outbox WHERE status = 'sending'")
            finally:
                await db.close()
            in_flight.append({int(r[0]) for r in rows})
        proc = await start_bot(tmp_path, sb, sb.token)
        check = await Database.open(path)
        try:
            deadline = time.monotonic() + 90
            while await store.pending_count(check):
                assert time.monotonic() < deadline, "the broadcast did not finish"
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.3)
        finally:
            await check.close()
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, (out + err).decode()[-2000:]

    got = delivered(sb)
    assert all(got[c] >= 1 for c in IDS), [c for c in IDS if not got[c]]  # nobody skipped
    twice = {c for c, n in got.items() if n > 1}
    # a row in flight at a kill is sent again at the next start (it may have arrived): at most
    # one copy more per kill that found it in flight, for every chat
    extra = {c: got[c] - 1 for c in IDS}
    assert all(extra[c] <= sum(c in s for s in in_flight) for c in IDS), (got, in_flight)
    assert twice <= set().union(*in_flight), (twice, in_flight)  # only what was in flight
    assert all(len(s) <= IN_FLIGHT for s in in_flight), in_flight
    assert len(twice) <= IN_FLIGHT * len(KILL_AT)
    print(f"kills={len(KILL_AT)} in flight at kills={in_flight} duplicates={sorted(twice)}")
