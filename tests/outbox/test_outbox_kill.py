"""The outbox in the real ``nfpbot run`` process, killed with SIGKILL mid-send (issue 6, 14).

The kill happens while sends to several chats are in flight at once (their answers held
back by the sandbox): those rows, and only those, may be delivered twice, and each chat had
one of them at most (its next row waits for the head's record). A slow answer (past the
old 5 s read timeout) and a 502 are injected afterwards: the first must not be sent again,
and after the second the chat's reminder must not overtake its prompt.
"""

from __future__ import annotations

import asyncio
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

    async def enqueue(chat_ids: list[int]) -> None:
        db = await Database.open(path)
        now = datetime.now(UTC) - timedelta(minutes=1)
        async with db.transaction() as tx:
            for chat_id in chat_ids:
                i = ids.index(chat_id)
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

    await enqueue(ids[:KILLS])  # the victims' rows first: all in flight at the kill
    async with Sandbox() as sb:
        users = [sb.user(chat_id, f"U{i}") for i, chat_id in enumerate(ids)]
        slow, flaky = users[KILLS], users[KILLS + 1]
        victims = users[:KILLS]
        for victim in victims:
            sb.inject("sendMessage", delay=60.0, chat_id=victim.id)  # answered after the kill
        proc = await start_bot(tmp_path, sb, sb.token)
        try:
            await _wait(lambda: all(len(sb.calls_to("sendMessage", v.id)) >= 1 for v in victims))
            await asyncio.sleep(0.3)
        finally:
            proc.kill()  # SIGKILL: no shutdown, the rows stay "sending"
            await proc.wait()
        # every victim's prompt went out at once; no chat's reminder went behind it
        assert all(len(sb.calls_to("sendMessage", v.id)) == 1 for v in victims)
        check = await Database.open(path)
        try:
            rows = [r for r in await store.due(check, datetime.now(UTC), 100)]
            assert sorted((r.kind, r.status) for r in rows) == sorted(
                [("prompt", "sending")] * KILLS + [("reminder", "pending")] * KILLS
            )
        finally:
            await check.close()

        await enqueue(ids[KILLS:])
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
            if i < KILLS:  # the message in flight at the kill, resent at the restart
                assert texts == [f"prompt {i}", f"prompt {i}", f"reminder {i}"], texts
            else:
                assert texts == [f"prompt {i}", f"reminder {i}"], texts
        assert sum(len(u.inbox) for u in users) == 2 * USERS + KILLS
