"""The outbox in the real ``nfpbot run`` process, killed with SIGKILL mid-send (issue 6, 14).

Each kill happens while one send is in flight (its answer held back by the sandbox): that
row, and only that row, may be delivered twice. A slow answer (past the old 5 s read
timeout) and a 502 are injected as well: the first must not be sent again, and after the
second the chat's reminder must not overtake its prompt.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sandbox import Sandbox
from storage import outbox as store
from storage.db import Database
from tests.test_cli import start_bot

KILLS = 3
USERS = 6


def _sent_to(sb: Sandbox, chat_id: int) -> bool:
    return len(sb.calls_to("sendMessage", chat_id)) >= 1


async def _wait(cond: Callable[[], object], timeout: float = 30.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_sigkill_duplicates_only_the_message_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "cli.sqlite3"  # where tests.test_cli points NFPBOT_DB
    ids = [14_100 + i for i in range(USERS)]
    db = await Database.open(path)
    now = datetime.now(UTC) - timedelta(minutes=1)
    async with db.transaction() as tx:
        for i, chat_id in enumerate(ids):
            for kind in ("prompt", "reminder"):
                await store.enqueue(
                    tx,
                    now,
                    dedup_key=f"{kind}:{chat_id}",
                    chat_id=chat_id,
                    kind=kind,
                    text=f"{kind} {i}",
                )
    await db.close()

    async with Sandbox() as sb:
        users = [sb.user(chat_id, f"U{i}") for i, chat_id in enumerate(ids)]
        slow, flaky = users[KILLS], users[KILLS + 1]
        for victim in users[:KILLS]:
            sb.inject("sendMessage", delay=60.0, chat_id=victim.id)  # answered after the kill
            proc = await start_bot(tmp_path, sb, sb.token)
            try:
                await _wait(functools.partial(_sent_to, sb, victim.id))
            finally:
                proc.kill()  # SIGKILL: no shutdown, the row stays "sending"
                await proc.wait()

        sb.inject("sendMessage", delay=6.0, chat_id=slow.id)  # processed, answered late
        sb.inject("sendMessage", status=502, chat_id=flaky.id)
        proc = await start_bot(tmp_path, sb, sb.token)
        check = await Database.open(path)
        try:
            pending = [1]

            async def settled() -> None:
                while pending[0]:
                    pending[0] = await store.pending_count(check)
                    await asyncio.sleep(0.1)

            await asyncio.wait_for(settled(), 60)
            await asyncio.sleep(0.5)
        finally:
            await check.close()
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, (out + err).decode()[-2000:]

        for i, user in enumerate(users):
            texts = [m.text for m in user.inbox]
            if i < KILLS:  # the one message in flight at its kill, resent at the restart
                assert texts == [f"prompt {i}", f"prompt {i}", f"reminder {i}"], texts
            else:
                assert texts == [f"prompt {i}", f"reminder {i}"], texts
        assert sum(len(u.inbox) for u in users) == 2 * USERS + KILLS
