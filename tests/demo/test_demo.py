"""`nfpbot demo` as a newcomer runs it: a real subprocess, no token, no network."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import outbox
from storage import reports as store
from storage.db import Database

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFPBOT_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _demo(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(ROOT / "config.toml"), "demo", *extra],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, float]:
    tmp = tmp_path_factory.mktemp("demo")
    out = tmp / "out"
    started = time.monotonic()
    result = _demo(tmp, "--out", str(out))
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    return out, tmp / "cwd", result.stdout, took


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2020, 7, day, hour, minute, tzinfo=UTC)


async def _rows(db_path: Path, kind: str) -> list[outbox.OutboxItem]:
    db = await Database.open(db_path)
    try:
        return await outbox.by_kind(db, kind)
    finally:
        await db.close()


def test_the_week_plays_in_under_a_minute_and_writes_only_into_its_folder(
    played: tuple[Path, Path, str, float],
) -> None:
    out, cwd, stdout, took = played
    assert took < 60, took
    assert list(cwd.iterdir()) == []  # nothing written where it was started
    assert {"transcript.html", "calls.json", "nfpbot.sqlite3"} <= {p.name for p in out.iterdir()}
    assert f"are in {out}/" in stdout
    calls = json.loads((out / "calls.json").read_text())
    assert calls["refused"] == [] and calls["total"] > 100
    assert (
        "demo-sandbox-token" not in stdout
        and "demo-sandbox-token" not in (out / "transcript.html").read_text()
    )


async def test_every_nfp_is_prompted_at_nine_in_their_own_timezone(
    played: tuple[Path, Path, str, float],
) -> None:
    out, _cwd, stdout, _took = played
    prompts = {p.chat_id: p.sent_at for p in await _rows(out / "nfpbot.sqlite3", "prompt")}
    # Monday 27 July 2020, 09:00 in Kabul (+4:30), Bishkek (+6), Ulaanbaatar (+8), Karachi (+5)
    assert prompts == {
        7101: _utc(27, 4, 30),
        7102: _utc(27, 3),
        7103: _utc(27, 1),
        7104: _utc(27, 4),
    }
    assert "Mon 27 Jul 09:00 Kabul" in stdout and "Mon 27 Jul 09:00 Ulaanbaatar" in stdout


async def test_the_late_country_is_reminded_and_the_real_figures_are_stored(
    played: tuple[Path, Path, str, float],
) -> None:
    out, _cwd, _stdout, _took = played
    reminders = await _rows(out / "nfpbot.sqlite3", "reminder")
    assert [(r.chat_id, r.sent_at) for r in reminders] == [(7103, _utc(28, 1))]  # Mongolia
    db = await Database.open(out / "nfpbot.sqlite3")
    try:
        pak = await store.confirmed_answers(db, "PAK", "2020-W30")
        kgz = await store.confirmed_answers(db, "KGZ", "2020-W30")
        before = await store.confirmed_answers(db, "PAK", "2020-W29")
    finally:
        await db.close()
    assert pak is not None and pak["new_cases"] == 8030 and pak["new_deaths"] == 223
    assert kgz is not None and kgz["new_cases"] == 5670  # the typo, corrected on review
    assert before is not None and before["new_cases"] == 13458  # the preloaded history


async def test_the_digest_is_posted_once_with_the_real_figures(
    played: tuple[Path, Path, str, float],
) -> None:
    out, _cwd, stdout, _took = played
    rows = await _rows(out / "nfpbot.sqlite3", "digest")
    assert rows and {r.chat_id for r in rows} == {-1001234567890}  # the group, once
    assert {r.dedup_key.split(":")[3] for r in rows} == {"1"}  # one post, not two
    # Thursday 30 July 2020, 10:00 in Tashkent (UTC+5)
    assert {r.created_at for r in rows} == {_utc(30, 5, 1)}
    page = (out / "transcript.html").read_text()
    assert "weekly digest" in page and "Pakistan" in page
    assert "8,030 (-5,428)" in page  # 13,458 the week before
    assert "data:image/png;base64," in page  # the charts, inline
    pdfs = sorted(p.name for p in out.iterdir() if p.suffix == ".pdf")
    assert pdfs == ["digest-central-asia-2020-W30-en.pdf", "digest-central-asia-2020-W30-ru.pdf"]
    assert "weekly digest" in stdout


async def test_guidance_reaches_each_subscriber_once_in_their_language(
    played: tuple[Path, Path, str, float],
) -> None:
    out, _cwd, _stdout, _took = played
    rows = await _rows(out / "nfpbot.sqlite3", "guidance")
    by_chat: dict[int, list[str]] = {}
    for r in rows:
        by_chat.setdefault(r.chat_id, []).append(r.dedup_key.split(":")[1])
    assert all(len(items) == len(set(items)) for items in by_chat.values())  # nobody twice
    assert by_chat[7201] == ["1"] and by_chat[7202] == ["2"]  # English, Russian
    # the subscriber who blocked the bot: Telegram told the bot (my_chat_member), so no
    # alert is even attempted
    assert 7203 not in by_chat


@pytest.mark.parametrize("scene", ["2", "6"])  # while NFPs answer; while the digest renders
def test_ctrl_c_stops_it_cleanly(tmp_path: Path, scene: str) -> None:
    """The adversary: Ctrl-C landing in a wait that swallows the cancellation (it once let
    the week play on to the end and exit 0)."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(ROOT / "config.toml"),
            "demo",
            "--out",
            str(out),
            "--speed",
            "0.05",
        ],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the week has started
        if line.startswith(f"== [{scene}/"):
            break
    proc.send_signal(signal.SIGINT)
    try:
        _out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 130, err[-2000:]
    assert "stopped" in err and "Traceback" not in err
    assert (out / "transcript.html").exists()  # what was played so far


def test_a_second_run_starts_afresh(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "nfpbot.sqlite3").write_bytes(b"")
    result = _demo(tmp_path, "--out", str(out))
    assert result.returncode == 2 and "not empty" in result.stderr
