"""The ``nfpbot`` command line, run as a real subprocess (against the sandbox for ``run``)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox import Sandbox
from tests.support import until_polling

ROOT = Path(__file__).resolve().parent.parent


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFPBOT_")}
    env["NFPBOT_DB"] = str(tmp_path / "cli.sqlite3")
    env.update(extra)
    return env


def nfpbot(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = nfpbot("--help", env=env_for(tmp_path))
    assert result.returncode == 0
    for command in ("run", "check-config", "migrate", "admin"):
        assert command in result.stdout


def test_check_config_accepts_the_shipped_file(tmp_path: Path) -> None:
    result = nfpbot("check-config", env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "1 region(s), 8 countries" in result.stdout


def test_a_bad_config_fails_with_one_line_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (ROOT / "config.toml").read_text().replace('"Asia/Bishkek"', '"Asia/Bishkekk"'),
        encoding="utf-8",
    )
    for args in (("--config", str(bad), "check-config"), ("--config", str(bad), "run")):
        result = nfpbot(*args, env=env_for(tmp_path, NFPBOT_TOKEN="1:x"))
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr
        assert "KGZ" in lines[0] and "timezone" in lines[0] and "Asia/Bishkekk" in lines[0]
    result = nfpbot("check-config", env=env_for(tmp_path, NFPBOT_CONFIG=str(bad)))
    assert result.returncode == 2 and "Asia/Bishkekk" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        # a 5,000-character label: its question could never be sent
        (
            'label = { en = "New COVID-19 deaths this week"',
            'label = { en = "' + "D" * 5000 + '"',
            "questionnaire.questions.new_deaths.label.en",
        ),
        # the documented maximum with its label does not fit one review line
        ("max_length = 1000", "max_length = 4096", "questionnaire.questions.developments"),
        # a language with no catalog would be spoken in another language
        ('languages = ["en", "ru"]', 'languages = ["en", "ru", "kk"]', "bot.languages[2]"),
    ],
)
def test_check_config_refuses_what_cannot_be_shown(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert text.count(old) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new), encoding="utf-8")
    result = nfpbot("--config", str(bad), "check-config", env=env_for(tmp_path))
    assert result.returncode == 2, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert f"bad.toml: {key}" in line, line


def test_run_without_a_token_explains_in_one_line(tmp_path: Path) -> None:
    result = nfpbot("run", env=env_for(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "NFPBOT_TOKEN is not set" in result.stderr and "BotFather" in result.stderr


def test_admin_add_list_remove(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    assert "123456 is now an administrator" in nfpbot("admin", "add", "123456", env=env).stdout
    assert "123456\tcli" in nfpbot("admin", "list", env=env).stdout
    assert "123456 removed" in nfpbot("admin", "remove", "123456", env=env).stdout
    assert nfpbot("admin", "add", "-5", env=env).returncode == 2


def debug_config(tmp_path: Path) -> Path:
    path = tmp_path / "debug.toml"
    path.write_text(
        (ROOT / "config.toml").read_text().replace('log_level = "INFO"', 'log_level = "DEBUG"'),
        encoding="utf-8",
    )
    return path


async def start_bot(tmp_path: Path, sb: Sandbox, token: str) -> asyncio.subprocess.Process:
    """The installed console script, started outside the source tree like an operator would."""
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("nfpbot")),
        "--config",
        str(debug_config(tmp_path)),
        "run",
        "--api-url",
        sb.base_url,
        env=env_for(tmp_path, NFPBOT_TOKEN=token),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_with_a_rejected_token_explains_in_one_line(tmp_path: Path) -> None:
    async with Sandbox() as sb:
        proc = await start_bot(tmp_path, sb, "999:not-the-sandbox-token")
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith("nfpbot: Telegram rejected the token")
    assert "Traceback" not in err.decode()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_run_polls_answers_and_stops_cleanly_without_logging_the_token(
    tmp_path: Path, sig: signal.Signals
) -> None:
    async with Sandbox() as sb:
        proc = await start_bot(tmp_path, sb, sb.token)
        try:
            user = sb.user(4242, "Ann")
            await until_polling(sb)
            await user.send("/start")
            reply = await user.next_message(timeout=15)
            assert "choose your language" in reply.text
        finally:
            await asyncio.sleep(0.2)  # idle again: its next long poll (10 s) is held
            stopping = time.monotonic()
            proc.send_signal(sig)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
            stop_seconds = time.monotonic() - stopping
    log = out.decode() + err.decode()
    assert proc.returncode == 0, log
    # PTB cancels the held poll (an update it may have fetched is not confirmed, so
    # Telegram delivers it again); the stop does not wait out the 10 s
    assert stop_seconds < 5.0, f"the stop took {stop_seconds:.1f} s"
    assert "started as @nfpbot_sandbox_bot" in log
    assert log.rstrip().splitlines()[-1].endswith("INFO bot.wiring.app: stopped")
    assert sb.token not in log and sb.token.split(":")[1] not in log
    assert "getUpdates" in log  # DEBUG logs mention requests, but never the URL's token


def test_admin_remove_of_a_config_admin_says_plainly_it_would_come_back(tmp_path: Path) -> None:
    """Issue 6 item 11: the CLI must not say "removed" for an admin config re-adds at start."""
    import sqlite3

    cfg = tmp_path / "admins.toml"
    cfg.write_text(
        (ROOT / "config.toml").read_text().replace("admins = []", "admins = [4242]", 1),
        encoding="utf-8",
    )
    env = env_for(tmp_path, NFPBOT_CONFIG=str(cfg))
    assert "4242\tconfig" in nfpbot("admin", "list", env=env).stdout
    result = nfpbot("admin", "remove", "4242", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bot.admins" in lines[0] and str(cfg) in lines[0], result.stderr
    assert "removed" not in result.stdout
    assert "4242\tconfig" in nfpbot("admin", "list", env=env).stdout  # still, and said so
    # a CLI admin is removed through the domain, audited like an addition
    nfpbot("admin", "add", "777", env=env)
    assert "777 removed" in nfpbot("admin", "remove", "777", env=env).stdout
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit WHERE target = '777'")]
    assert actions == ["admin_add", "admin_remove"]
