"""One process per database, failures that tell the truth, exits that always happen.

Issue 6 items 6, 13, 18 and 19: the database refusing a write (another process holds the
lock, the file is read-only), a second ``nfpbot run`` on the same file, malformed or
unreachable ``--api-url`` values (the token must never be printed), and every start-up
failure ending in one line and an exit. Processes are real subprocesses where a kill, a
signal or a second process is involved.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from sandbox import Sandbox
from storage.db import Database, strict_transactions
from tests.support import BotEnv, make_nfp, next_sent, until_polling
from tests.test_cli import ROOT, debug_config, env_for, nfpbot

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


# ------------------------------------------------------------------ helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file read-only even for root (who ignores mode bits): ``chattr +i``."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("cannot make a file read-only for root here (chattr +i)")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=False)
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)


def drop_wal_files(db: Path) -> None:
    for extra in ("-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)


def assert_one_line(stderr: str, *needles: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("nfpbot: "), stderr
    for needle in needles:
        assert needle in lines[0], stderr
    return lines[0]


def assert_no_token(text: str, token: str) -> None:
    assert token not in text
    assert token.split(":", 1)[1] not in text


async def start_run(
    tmp_path: Path, api_url: str, token: str, *, debug: bool = False
) -> asyncio.subprocess.Process:
    """``nfpbot run`` as an operator starts it (the shipped config logs at INFO)."""
    config = debug_config(tmp_path) if debug else ROOT / "config.toml"
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("nfpbot")),
        "--config",
        str(config),
        "run",
        "--api-url",
        api_url,
        env=env_for(tmp_path, NFPBOT_TOKEN=token),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process, timeout: float = 30) -> tuple[str, str]:  # noqa: ASYNC109
    """Wait for the process to end on its own; a hang is a failure (and is killed)."""
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        pytest.fail(f"the process did not exit within {timeout} s:\n{err.decode()[-3000:]}")
    return out.decode(), err.decode()


# ------------------------------------------------------------------ item 6


async def test_a_read_outside_a_transaction_does_not_see_uncommitted_writes(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "reads.sqlite3")
    inserted, read_done = asyncio.Event(), asyncio.Event()
    seen: dict[str, object] = {}
    sql = "SELECT count(*) FROM regions WHERE key = 'x'"

    async def writer() -> None:
        # holds its transaction open across the other coroutine's read on purpose: the
        # one place the rule "nothing but SQL awaited under the write lock" is waived
        with strict_transactions(False):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO regions (key) VALUES ('x')")
                # the writer's own reads, through the Database too, see its write
                seen["writer via db"] = await db.fetchval(sql)
                seen["writer via tx"] = await tx.fetchval(sql)
                inserted.set()
                await read_done.wait()

    async def reader() -> None:
        await inserted.wait()
        seen["other coroutine"] = await db.fetchval(sql)
        read_done.set()

    try:
        await asyncio.wait_for(asyncio.gather(writer(), reader()), 10)
        assert seen == {"writer via db": 1, "writer via tx": 1, "other coroutine": 0}
        assert await db.fetchval(sql) == 1  # committed: now everyone sees it
    finally:
        await db.close()


async def test_a_task_cancelled_while_its_begin_waits_leaves_the_connection_clean(
    tmp_path: Path,
) -> None:
    """A stop cancels a handler whose BEGIN is waiting out another process's lock.

    The BEGIN still completes on aiosqlite's thread once the lock is free; if nobody rolled
    it back, every later transaction would fail with "cannot start a transaction within a
    transaction" (seen once as a teardown error in the suite)."""
    db = await Database.open(tmp_path / "db.sqlite3")
    holder = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")

        async def write() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO audit (at, action) VALUES ('x', 'never')")

        task = asyncio.create_task(write())
        await asyncio.sleep(0.3)  # its BEGIN is waiting for the holder's lock
        task.cancel()
        await asyncio.sleep(0.05)
        task.cancel()  # a stop cancels again, e.g. while the first cancel is being handled
        with pytest.raises(asyncio.CancelledError):
            await task
        holder.execute("ROLLBACK")  # the waiting BEGIN now succeeds on the thread
        async with db.transaction() as tx:  # must not meet a transaction left open
            await tx.execute("INSERT INTO audit (at, action) VALUES ('y', 'after')")
        actions = [r[0] for r in await db.fetchall("SELECT action FROM audit")]
        assert actions == ["after"]
    finally:
        holder.close()
        await db.close()


async def test_sqlite_refusals_are_told_apart_by_result_code(tmp_path: Path) -> None:
    path = tmp_path / "codes.sqlite3"
    sqlite3.connect(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("BEGIN IMMEDIATE")
    holder.execute("ROLLBACK")
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as readonly:
        ro.execute("CREATE TABLE t (x)")
    with pytest.raises(sqlite3.OperationalError) as syntax:
        ro.execute("SELEC 1")
    for conn in (holder, other, ro):
        conn.close()
    from storage.db import write_failure

    assert write_failure(locked.value) == "busy"
    assert write_failure(readonly.value) == "read-only"
    assert write_failure(syntax.value) is None  # a bug, not the database refusing
    assert write_failure(ValueError("x")) is None


async def test_an_answer_the_locked_database_cannot_take_is_asked_again_and_help_is_not_held_up(
    env: BotEnv,
) -> None:
    nfp = await make_nfp(env, 701, "KGZ", "en", name="Aida")
    stranger = env.sandbox.user(702, "Passer-by")
    first = await env.say(nfp, "/report")
    assert "New confirmed COVID-19 cases" in first.text
    await env.quiet(nfp, stranger)

    # another process takes the write lock and keeps it past the busy timeout
    holder = sqlite3.connect(env.config.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        await nfp.send("1234")
        await asyncio.sleep(0.3)  # the answer's transaction is now waiting for the lock
        started = time.monotonic()
        await stranger.send("/help")
        help_reply = await stranger.next_message(timeout=10)
        help_seconds = time.monotonic() - started
        sorry = await nfp.next_message(timeout=15)  # after the 5 s busy timeout
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "Commands:" in help_reply.text
    assert help_seconds < 2.0, f"/help waited {help_seconds:.1f} s behind the write lock"
    assert "lost" not in sorry.text
    assert "not saved" in sorry.text and "send it again" in sorry.text
    row = await env.svc.db.fetchval("SELECT count(*) FROM answers WHERE key = 'new_cases'")
    assert row == 0  # truly nothing was stored

    # sending it again once the lock is gone works, on the same question
    await nfp.send("1234")
    second = await next_sent(nfp)
    assert "Question 2 of 9" in second.text and "deaths" in second.text


async def test_an_answer_a_read_only_database_cannot_take_is_not_called_saved(
    env: BotEnv,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("only an immutable file refuses writes on descriptors already open")
    nfp = await make_nfp(env, 703, "KGZ", "en", name="Aida")
    first = await env.say(nfp, "/report")
    assert "New confirmed COVID-19 cases" in first.text
    await env.quiet(nfp)
    db = Path(env.config.database)
    files = [p for p in (db, Path(f"{db}-wal")) if p.exists()]
    with contextlib.ExitStack() as stack:
        for path in files:  # the file turns read-only under the running bot
            stack.enter_context(read_only(path))
        await nfp.send("1234")
        sorry = await nfp.next_message(timeout=15)
    assert "lost" not in sorry.text
    assert "not saved" in sorry.text and "send it again" in sorry.text
    assert "Question 2 of 9" not in sorry.text


# ------------------------------------------------------------------ item 13


async def test_a_second_run_on_the_same_database_refuses_and_a_killed_one_does_not_block(
    tmp_path: Path,
) -> None:
    async with Sandbox() as sb:
        first = await start_run(tmp_path, sb.base_url, sb.token)
        try:
            await until_polling(sb)
            second = await start_run(tmp_path, sb.base_url, sb.token)
            _, err = await finish(second, 30)
            assert second.returncode == 1
            line = assert_one_line(err, "already running", "cli.sqlite3")
            assert str(first.pid) in line
        finally:
            first.kill()  # SIGKILL: no clean-up of any kind
            await first.communicate()
        polls = sb.polls_started
        third = await start_run(tmp_path, sb.base_url, sb.token)
        try:
            await until_polling(sb, polls + 1)
            user = sb.user(4343, "Ben")
            await user.send("/start")
            assert "choose your language" in (await user.next_message(timeout=15)).text
        finally:
            third.send_signal(signal.SIGTERM)
            _, err = await finish(third, 30)
        assert third.returncode == 0, err
        assert err.rstrip().splitlines()[-1].endswith("INFO bot.wiring.app: stopped")


# ------------------------------------------------------------------ item 18


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:8081/bot",
        "http://127.0.0.1:99999/bot",
        "ftp://127.0.0.1/bot",
        "http:///bot",
        "http://127.0.0.1:8081/",
    ],
)
def test_a_malformed_api_url_is_refused_up_front_without_the_token(
    tmp_path: Path, url: str
) -> None:
    result = nfpbot("run", "--api-url", url, env=env_for(tmp_path, NFPBOT_TOKEN=TOKEN), cwd=ROOT)
    assert result.returncode == 2
    assert_one_line(result.stderr, "--api-url")
    assert_no_token(result.stdout + result.stderr, TOKEN)


async def test_a_redirect_loop_ends_in_one_line_without_the_token(tmp_path: Path) -> None:
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(location=str(request.url))  # the same URL, token and all

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", loop)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)  # bound at once: no race with parallel tests
    await site.start()
    port = runner.addresses[0][1]
    try:
        proc = await start_run(tmp_path, f"http://127.0.0.1:{port}/bot", TOKEN)
        out, err = await finish(proc, 60)
    finally:
        await runner.cleanup()
    assert proc.returncode == 1
    assert_one_line(err, "Bot API")
    assert_no_token(out + err, TOKEN)


def test_no_path_writes_the_token_even_an_uncaught_exception(tmp_path: Path) -> None:
    """The last resort: whatever escapes every handler is printed redacted."""
    code = (
        "import logging, sys, threading\n"
        "from bot.core.logs import guard_output, setup_logging\n"
        f"guard_output({TOKEN!r})\n"
        f"setup_logging('INFO', token={TOKEN!r})\n"
        f"print('printed', {TOKEN!r})\n"
        f"sys.stderr.write('written ' + {TOKEN!r}[:9]); sys.stderr.write({TOKEN!r}[9:] + '\\n')\n"
        f"logging.getLogger('x').warning('logged %s', {TOKEN!r})\n"
        "def boom(): raise ValueError('in a thread ' + " + repr(TOKEN) + ")\n"
        "t = threading.Thread(target=boom); t.start(); t.join()\n"
        f"raise RuntimeError('https://api.telegram.org/bot' + {TOKEN!r} + '/getMe')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    text = result.stdout + result.stderr
    assert result.returncode == 1
    assert "printed" in text and "written" in text and "logged" in text
    assert "ValueError: in a thread <token>" in text and "RuntimeError" in text
    assert_no_token(text, TOKEN)


# ------------------------------------------------------------------ item 19


async def test_run_on_a_read_only_database_says_so_in_one_line_and_exits(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cli.sqlite3"
    assert nfpbot("migrate", env=env_for(tmp_path)).returncode == 0
    drop_wal_files(db)
    async with Sandbox() as sb:
        with read_only(db):
            proc = await start_run(tmp_path, sb.base_url, sb.token)
            out, err = await finish(proc, 30)
    assert proc.returncode == 1
    assert_one_line(err, "read-only", str(db))
    assert_no_token(out + err, sb.token)


def test_migrate_and_admin_add_on_a_read_only_file_say_so_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    db.touch()  # an empty file: migrate has everything to write
    env = env_for(tmp_path)
    with read_only(db):
        for args in (("migrate",), ("admin", "add", "123456")):
            result = nfpbot(*args, env=env)
            assert result.returncode == 1, result.stderr
            assert_one_line(result.stderr, "read-only", str(db))


async def test_a_database_path_that_is_a_directory_fails_in_one_line_everywhere(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cli.sqlite3"
    db.mkdir()
    env = env_for(tmp_path, NFPBOT_TOKEN=TOKEN)
    for args in (("migrate",), ("admin", "add", "123456"), ("admin", "list")):
        result = nfpbot(*args, env=env)
        assert result.returncode == 1, result.stderr
        assert_one_line(result.stderr, "directory", str(db))
    async with Sandbox() as sb:
        proc = await start_run(tmp_path, sb.base_url, sb.token)
        _, err = await finish(proc, 30)
    assert proc.returncode == 1
    assert_one_line(err, "directory", str(db))


async def test_no_network_at_first_start_is_one_line_and_an_exit(tmp_path: Path) -> None:
    proc = await start_run(tmp_path, f"http://127.0.0.1:{free_port()}/bot", TOKEN)
    out, err = await finish(proc, 60)
    assert proc.returncode == 1
    assert_one_line(err, "cannot reach the Bot API")
    assert "Traceback" not in err
    assert_no_token(out + err, TOKEN)


async def test_sigterm_while_another_process_holds_the_database_ends_the_process(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cli.sqlite3"
    assert nfpbot("migrate", env=env_for(tmp_path)).returncode == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a second process on the same database
    try:
        async with Sandbox() as sb:
            proc = await start_run(tmp_path, sb.base_url, sb.token)
            await asyncio.sleep(2.0)  # start-up is now waiting for the write lock
            proc.send_signal(signal.SIGTERM)
            _, err = await finish(proc, 30)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # asked to stop before it had started: it stops, quietly (at most one line), and ends
    assert proc.returncode in (0, 1), err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 1, err


async def test_a_locked_database_at_start_is_one_line_and_an_exit(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    assert nfpbot("migrate", env=env_for(tmp_path)).returncode == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        async with Sandbox() as sb:
            proc = await start_run(tmp_path, sb.base_url, sb.token)
            _, err = await finish(proc, 30)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 1
    assert_one_line(err, "locked", str(db))


async def test_sigterm_while_another_process_holds_the_write_lock_mid_run_ends_the_process(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cli.sqlite3"
    async with Sandbox() as sb:
        proc = await start_run(tmp_path, sb.base_url, sb.token)
        try:
            await until_polling(sb)
            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # a second process on the same database
            try:
                user = sb.user(4444, "Cem")
                await user.send("/start")  # its handler now waits for the write lock
                await asyncio.sleep(0.5)
                proc.send_signal(signal.SIGTERM)
                _, err = await finish(proc, 30)
            finally:
                holder.execute("ROLLBACK")
                holder.close()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.communicate()
    assert proc.returncode == 0, err
    assert err.rstrip().splitlines()[-1].endswith("INFO bot.wiring.app: stopped"), err
    assert "database busy" in err  # the cause is logged for the operator
