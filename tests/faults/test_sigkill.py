"""SIGKILL the real bot at seeded random moments while NFPs answer through a faulty Telegram.

The bot is the installed ``nfpbot run`` console script, a subprocess on a real SQLite file;
the sandbox (in this process) drops some getUpdates confirmations, so updates the bot already
fetched are delivered again with the same update_id, and refuses some replies with 429/5xx
(on top of its Telegram flood limits, which the backlog after each restart also runs into).
Six simulated NFPs, starting at seeded random times, behave like people: each reads the
newest screen the bot showed, answers the question on it (typed numbers and texts, choice and
multi-choice buttons), confirms the review, then amends (edits a figure on the review and
confirms again), for as long as the rounds last. A person who sees nothing for a while sends
/report, as the bot advises.

Every answer carries a value that encodes who gave it, for which question and when (its
``seq``), so a misplaced or replayed answer is recognised in the database.

Definitions the assertions use (from the person's side, as a person would judge):

* An answer is **acknowledged** when a screen the bot showed after it proves it was taken:
  in the first filling-in, a later question or the review; when editing one question from the
  review, a review that displays this answer (or a later one to the same question).
  A confirmation is acknowledged by a "confirmed"/"amendment saved (version N)" screen.
* **Stored once, on its own question**: every value in the working answers and in every
  confirmed version is one this country's NFP sent *for that key* (never another key's, never
  another NFP's), and for every key the stored value is the last acknowledged answer to it or
  one sent after it (a replayed older update must not overwrite a newer answer). Versions
  are at most the confirmations pressed, and every acknowledged version exists.
* **Nobody is left without a next question**: after the last kill the bot runs once more with
  no faults while the people wait without nudging; then each person's newest screen shows the
  state the database holds for them (the current question, the review, or the confirmation).
  An input lost in a kill (confirmed to Telegram, not yet processed) leaves both unchanged and
  is allowed; a state stored and never shown is not.

Seed and rounds: NFPBOT_FAULTS_SEED, NFPBOT_FAULTS_ROUNDS (defaults below).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, Question, load_config
from sandbox import RandomFaults, Sandbox, SentMessage, SimUser

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("NFPBOT_FAULTS_SEED", "20261201"))
ROUNDS = int(os.environ.get("NFPBOT_FAULTS_ROUNDS", "20"))
ADMIN = 9001
COUNTRIES = ("AFG", "KGZ", "MNG", "PAK", "TJK", "UZB")
ERROR_RATE = 0.08  # of reply calls refused with 429/500/502
UNCONFIRMED_RATE = 0.2  # of confirming getUpdates calls lost
NUDGE_AFTER = 3.0  # s without a new screen before a person sends /report
ALIVE_MIN, ALIVE_MAX = 0.3, 2.0  # s the bot runs (after it first polls) before SIGKILL
THINK_MIN, THINK_MAX = 0.05, 0.35  # s a person looks at a screen before acting
TEXT_RE = re.compile(r"^nfp(\d) (\w+) #(\d+)$")
QUESTION_RE = re.compile(r"Question (\d+) of (\d+)")
VERSION_RE = re.compile(r"amendment is saved \(version (\d+)\)")


# --------------------------------------------------------------------------- what was said


@dataclass
class Seen:
    """One bot message read as a questionnaire screen."""

    kind: str  # question | review | warnings | confirmed
    msg: SentMessage
    key: str | None = None
    position: int = 0
    edit: bool = False  # a question opened from the review ("Back to the summary")
    shown: dict[str, str] = field(default_factory=dict)  # review: key -> displayed value
    version: int = 0


@dataclass
class Input:
    """Something a person sent: an answer, a confirmation, or a step that needs no proof."""

    kind: str  # answer | confirm | other
    key: str | None
    seq: int
    edit: bool
    cursor: int  # index in the person's screen history when it was sent
    round: int
    what: str
    at: float = field(default_factory=time.monotonic)
    acked: bool = False
    version: int = 0
    on_message: int | None = None  # the message whose button was pressed
    query_id: str | None = None  # that press's callback query
    refused: bool = False  # the bot's toast for that press said it changed nothing
    proof: int | None = None  # index in the screen history of the screen that proved it
    floor: int = 0  # the oldest answer that screen may be the effect of (settle_acks)


def read_screen(msg: SentMessage, questions: list[Question]) -> Seen | None:
    text = msg.text or ""
    labels = {b for b in msg.button_texts()}
    if "The figures are right: confirm" in labels:
        return Seen("warnings", msg, shown=_review_values(text, questions))
    if "Please check your answers:" in text:
        return Seen("review", msg, shown=_review_values(text, questions))
    m = QUESTION_RE.search(text)
    if m:
        position = int(m.group(1))
        key = questions[position - 1].key
        return Seen("question", msg, key, position, edit="Back to the summary" in labels)
    if "The report is confirmed" in text:
        return Seen("confirmed", msg, version=1)
    m = VERSION_RE.search(text)
    if m:
        return Seen("confirmed", msg, version=int(m.group(1)))
    return None


def _review_values(text: str, questions: list[Question]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for line in text.splitlines():
        line = line.removeprefix("🔸 ")
        for q in questions:
            prefix = q.label["en"] + ": "
            if line.startswith(prefix):
                shown[q.key] = line[len(prefix) :]
    return shown


# --------------------------------------------------------------------------- the values


class Answers:
    """Values that say who answered which question, and which of their answers it was."""

    def __init__(self, questions: list[Question]) -> None:
        self.questions = questions
        self.index = {q.key: i for i, q in enumerate(questions)}

    def value(self, nfp: int, key: str, seq: int) -> Any:
        """What NFP ``nfp`` gives as answer number ``seq`` to ``key``, as the bot stores it."""
        q = self.questions[self.index[key]]
        if q.type == "number":
            # cases are kept far above deaths: no plausibility warning ever interrupts
            base = 5_000_000 if key == "new_cases" else 0
            return base + nfp * 100_000 + seq * 10 + self.index[key]
        if q.type == "text":
            return f"nfp{nfp} {key} #{seq}"
        if q.type == "choice":
            return q.options[seq % len(q.options)].key
        plain = [o.key for o in q.options if not o.with_text]
        return sorted({plain[seq % len(plain)], plain[(seq + 2) % len(plain)]})

    def comparable(self, key: str, stored: Any) -> Any:
        """A stored value in the shape ``value`` gives (multi-choice: sorted options)."""
        q = self.questions[self.index[key]]
        if q.type == "multi" and isinstance(stored, dict):
            if stored.get("other"):
                return ("other", stored["other"])
            return sorted(stored.get("selected", []))
        return stored

    def describe(self, stored: Any) -> str:
        """Whose answer a stored value is, when it encodes that (for failure messages)."""
        if isinstance(stored, int):
            kidx, seq, nfp = stored % 10, (stored // 10) % 10_000, (stored // 100_000) % 10
            if kidx < len(self.questions):
                return f"NFP {nfp}'s answer #{seq} to {self.questions[kidx].key}"
        if isinstance(stored, str):
            m = TEXT_RE.match(stored)
            if m:
                return f"NFP {m.group(1)}'s answer #{m.group(3)} to {m.group(2)}"
        return "no answer any NFP sent"

    def seq_shown(self, nfp: int, key: str, shown: str) -> int | None:
        """The seq of the answer a review displays for ``key`` (numbers and texts)."""
        q = self.questions[self.index[key]]
        if q.type == "number":
            digits = re.sub(r"\D", "", shown)
            if digits and int(digits) % 10 == self.index[key]:
                v = int(digits)
                if (v // 100_000) % 10 == nfp:
                    return (v // 10) % 10_000
            return None
        m = TEXT_RE.match(shown)
        if m and int(m.group(1)) == nfp and m.group(2) == key:
            return int(m.group(3))
        return None


# --------------------------------------------------------------------------- a person


class Person:
    """An NFP at a phone: reads the newest screen, thinks, answers what it asks."""

    def __init__(
        self, nfp: int, iso3: str, user: SimUser, answers: Answers, rng: random.Random
    ) -> None:
        self.nfp = nfp
        self.iso3 = iso3
        self.user = user
        self.answers = answers
        self.questions = answers.questions
        self.rng = rng
        self.history: list[Seen] = []  # every screen event, in order (edits included)
        self.inputs: list[Input] = []
        self.sent: dict[str, list[int]] = {}  # key -> seqs answered
        self.nudges: list[int] = []  # round of each /report sent because nothing came
        self.seq = 0
        self.multi_seq: int | None = None
        self.round = 0
        self.dirty = True  # something answered since the last confirmation
        self.stuck = 0  # screens whose buttons were gone (answered with /report)
        self.ambiguous: list[str] = []  # acknowledgements only a floor explains (check_person)

    def __repr__(self) -> str:
        return f"NFP {self.nfp} ({self.iso3}, user {self.user.id})"

    def _absorb(self, events: list[SentMessage]) -> int:
        new = 0
        for msg in events:
            seen = read_screen(msg, self.questions)
            if seen is not None:
                self.history.append(seen)
                new += 1
        return new

    def _record(self, kind: str, key: str | None, seq: int, edit: bool, what: str) -> None:
        if kind == "answer":
            assert key is not None
            self.sent.setdefault(key, []).append(seq)
            self.dirty = True
        elif kind == "confirm":
            self.dirty = False
        self._absorb(self.user.drain())
        self.inputs.append(Input(kind, key, seq, edit, len(self.history), self.round, what))

    async def _wait_screen(self, timeout: float) -> bool:  # noqa: ASYNC109
        """True once a screen arrived after the last input; False after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        since = self.inputs[-1].cursor if self.inputs else 0
        while len(self.history) <= since:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                msg = await self.user.next_message(timeout=left)
            except TimeoutError:
                return False
            self._absorb([msg])
        return True

    def newest(self) -> Seen | None:
        """The newest screen in the chat as it looks now (edits applied)."""
        for msg in reversed(self.user.inbox):
            seen = read_screen(msg, self.questions)
            if seen is not None:
                return seen
        return None

    async def report(self, nudge: bool) -> None:
        if nudge:
            self.nudges.append(self.round)
        self._record("other", None, 0, False, "/report")
        await self.user.send("/report")

    async def live(self, start_after: float) -> None:
        # people start at different times, so first fillings-in (where a replayed typed
        # answer can land on the next question) meet kills and lost confirmations all along
        await asyncio.sleep(start_after)
        await self.report(nudge=False)
        while True:
            if not await self._wait_screen(NUDGE_AFTER):
                await self.report(nudge=True)
                continue
            await asyncio.sleep(self.rng.uniform(THINK_MIN, THINK_MAX))
            self._absorb(self.user.drain())
            seen = self.newest()
            if seen is None:
                await self.report(nudge=True)
            else:
                await self.act(seen)

    async def act(self, seen: Seen) -> None:
        if seen.kind == "confirmed":
            await self.report(nudge=False)
        elif seen.kind == "warnings":
            button = "The figures are right: confirm"
            await self._press(seen, button, "confirm", None, 0, False, button)
        elif seen.kind == "review":
            editable = [q.key for q in self.questions if q.type in ("number", "text")]
            if self.dirty and self.rng.random() < 0.5:
                button = next((b for b in seen.msg.button_texts() if b.startswith("✅ ")), "✅")
                await self._press(seen, button, "confirm", None, 0, False, button)
            else:
                key = self.rng.choice(editable)
                label = "✏️ " + self.questions[self.answers.index[key]].label["en"]
                await self._press(seen, label, "other", key, 0, False, label)
        else:
            await self.answer(seen)

    async def answer(self, seen: Seen) -> None:
        assert seen.key is not None
        q = self.questions[self.answers.index[seen.key]]
        # once confirmed, a report is only ever edited from its review (its question screens
        # may have lost their "Back to the summary" button to a removed keyboard)
        edit = seen.edit or any(h.kind == "confirmed" for h in self.history)
        if q.type == "multi":
            if self.multi_seq is None:
                self.seq += 1
                self.multi_seq = self.seq
            seq = self.multi_seq
            target = set(self.answers.value(self.nfp, q.key, seq))
            for o in q.options:
                ticked = ("✅ " + o.label["en"]) in seen.msg.button_texts()
                if ticked != (o.key in target):
                    button = ("✅ " if ticked else "▫️ ") + o.label["en"]
                    what = f"toggle {o.key}"
                    await self._press(seen, button, "other", q.key, seq, edit, what)
                    return
            if "Done" in seen.msg.button_texts():
                self.multi_seq = None
            what = f"Done {sorted(target)}"
            await self._press(seen, "Done", "answer", q.key, seq, edit, what)
            return
        self.seq += 1
        value = self.answers.value(self.nfp, q.key, self.seq)
        if q.type == "choice":
            label = q.option(value).label["en"]
            await self._press(seen, label, "answer", q.key, self.seq, edit, repr(value))
        else:
            self._record("answer", q.key, self.seq, edit, repr(value))
            await self.user.send(str(value))

    async def _press(
        self, seen: Seen, button: str, kind: str, key: str | None, seq: int, edit: bool, what: str
    ) -> None:
        """Press a button of the screen; a screen whose buttons are gone gets a /report."""
        if button not in seen.msg.button_texts():
            self.stuck += 1
            await self.report(nudge=True)
            return
        self._record(kind, key, seq, edit, what)
        query = await self.user.press(button, message_id=seen.msg.message_id)
        self.inputs[-1].on_message = seen.msg.message_id
        self.inputs[-1].query_id = str(query["id"])

    # ------------------------------------------------------------- acknowledgements

    def settle_acks(self) -> None:
        """Mark what the screens shown after each input prove (see the module docstring).

        A screen proves that *an* answer to its question was taken, not which one: a person
        who answered a screen and then saw a second copy of it (the outbox re-sends the one
        message in flight at a kill) may answer again before the first answer's effect
        arrives; one of the two is taken, the other refused. So an answer is acknowledged
        with a ``floor``: the oldest answer to the same question that was still waiting for
        its proof when that screen came and that the bot did not refuse outright (a toast
        with text: "nothing was changed"). Usually that is the answer itself.
        """
        self._absorb(self.user.drain())
        toasts = {
            str(a.get("callback_query_id")): a.get("text") for a in self.user.callback_answers
        }
        for inp in self.inputs:
            inp.refused = inp.kind == "answer" and bool(toasts.get(inp.query_id or ""))
        for inp in self.inputs:
            if inp.acked or inp.refused or inp.kind == "other":
                continue
            for n, seen in enumerate(self.history[inp.cursor :], start=inp.cursor):
                if seen.msg.kind != "sent":
                    continue  # an edit of an older message (buttons removed) proves nothing
                if inp.kind == "confirm" and seen.kind == "confirmed":
                    inp.acked, inp.version = True, seen.version
                elif inp.kind == "answer" and self._proves(inp, seen):
                    inp.acked, inp.proof = True, n
                    # an edit's proof shows the value itself (seq_shown): no doubt there
                    inp.floor = (
                        inp.seq
                        if inp.edit
                        else min(
                            j.seq
                            for j in self.inputs
                            if j.kind == "answer"
                            and j.key == inp.key
                            and j.edit == inp.edit
                            and not j.refused
                            and j.cursor <= inp.cursor
                            and (not j.acked or j is inp or (j.proof or 0) >= n)
                        )
                    )
                if inp.acked:
                    break

    def _proves(self, inp: Input, seen: Seen) -> bool:
        assert inp.key is not None
        if not inp.edit:
            if seen.kind == "question" and not seen.edit:
                return seen.position > self.answers.index[inp.key] + 1
            return seen.kind in ("review", "warnings")
        if seen.kind not in ("review", "warnings") or inp.key not in seen.shown:
            return False
        shown_seq = self.answers.seq_shown(self.nfp, inp.key, seen.shown[inp.key])
        return shown_seq is not None and shown_seq >= inp.seq


# --------------------------------------------------------------------------- the bot process


class BotProcess:
    """``nfpbot run`` as an operator starts it, against the sandbox, on one database."""

    def __init__(self, tmp_path: Path, sb: Sandbox, db: Path) -> None:
        self.tmp_path = tmp_path
        self.sb = sb
        self.db = db
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self.killed_at: list[float] = []

    def log_path(self, n: int) -> Path:
        return self.tmp_path / f"bot-{n:02d}.log"

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NFPBOT_")}
        env.update(NFPBOT_TOKEN=self.sb.token, NFPBOT_DB=str(self.db))
        self.starts += 1
        log = self.log_path(self.starts).open("wb")
        began = time.monotonic()
        polls = self.sb.polls_started
        self.proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("nfpbot")),
            "--config",
            str(ROOT / "config.toml"),
            "run",
            "--api-url",
            self.sb.base_url,
            env=env,
            cwd=self.tmp_path,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = began + 30
        while self.sb.polls_started == polls:
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"bot start {self.starts} did not poll (exit {self.proc.returncode}): "
                    + self.log_path(self.starts).read_text(errors="replace")[-3000:]
                )
            await asyncio.sleep(0.02)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.kills += 1
        self.killed_at.append(time.monotonic())

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode or 0


# --------------------------------------------------------------------------- setup and checks


async def seed_database(config: Config) -> dict[str, int]:
    """Onboard one main NFP per country, before the bot process ever runs."""
    from bot.core.clock import SystemClock
    from bot.people import roles as people
    from bot.wiring.app import open_services

    svc = await open_services(config, SystemClock())
    ids: dict[str, int] = {}
    try:
        await people.add_admin(svc, ADMIN, by=None, source="cli")
        for n, iso3 in enumerate(COUNTRIES, start=1):
            tg_id = 7100 + n
            invite = await people.create_invite(svc, ADMIN, iso3, "main")
            await people.redeem_invite(svc, people.UserInfo(tg_id, f"NFP{n}"), invite.code)
            await people.set_language(svc, tg_id, "en")
            ids[iso3] = tg_id
    finally:
        await svc.db.close()
    return ids


def read_db(db: Path) -> dict[str, Any]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        reports = {r["iso3"]: dict(r) for r in con.execute("SELECT * FROM reports")}
        answers: dict[int, dict[str, Any]] = {}
        for r in con.execute("SELECT report_id, key, value, answered_by FROM answers"):
            value = None if r["value"] is None else json.loads(r["value"])
            answers.setdefault(r["report_id"], {})[r["key"]] = (value, r["answered_by"])
        versions: dict[int, list[dict[str, Any]]] = {}
        for r in con.execute("SELECT * FROM report_versions ORDER BY report_id, version"):
            versions.setdefault(r["report_id"], []).append(dict(r))
        sessions = {r["tg_id"]: dict(r) for r in con.execute("SELECT * FROM sessions")}
    finally:
        con.close()
    return {"reports": reports, "answers": answers, "versions": versions, "sessions": sessions}


def check_person(p: Person, state: dict[str, Any], sb: Sandbox, bot: BotProcess) -> list[str]:
    problems: list[str] = []
    a = p.answers
    report = state["reports"].get(p.iso3)
    if report is None:
        return [f"{p}: no report in the database after {len(p.inputs)} inputs"]
    working = state["answers"].get(report["id"], {})

    def own(key: str, stored: Any) -> bool:
        value = a.comparable(key, stored)
        return any(a.value(p.nfp, key, s) == value for s in p.sent.get(key, []))

    # stored on its own question: every value is one this NFP sent for that very key
    for key, (stored, by) in sorted(working.items()):
        if key not in a.index:
            problems.append(f"{p}: stored an answer to unknown key {key!r}: {stored!r}")
        elif not own(key, stored):
            problems.append(
                f"{p} key {key}: working copy holds {stored!r} = {a.describe(stored)}, "
                f"not one of this NFP's answers to {key} (misplaced or replayed)"
            )
        if by != p.user.id:
            problems.append(f"{p} key {key}: answered_by {by}, not {p.user.id}")
    for v in state["versions"].get(report["id"], []):
        for key, stored in sorted(json.loads(v["answers"]).items()):
            if key in a.index and not own(key, stored):
                problems.append(
                    f"{p} version {v['version']} key {key}: {stored!r} = {a.describe(stored)}, "
                    f"not one of this NFP's answers to {key}"
                )
    # every acknowledged answer is there, or a later answer to the same key replaced it
    for key in a.index:
        acked = [i for i in p.inputs if i.kind == "answer" and i.key == key and i.acked]
        if not acked:
            continue
        last = max(i.seq for i in acked)
        floor = max(i.floor for i in acked)
        allowed = [s for s in p.sent[key] if s >= floor]
        stored = working.get(key, (None, None))[0]
        if key not in working:
            problems.append(f"{p} key {key}: answer #{last} acknowledged, nothing stored")
        elif floor < last and not any(
            a.value(p.nfp, key, s) == a.comparable(key, stored) for s in p.sent[key] if s >= last
        ):
            # taken from an answer on an earlier copy of the same screen (settle_acks): kept
            # next to the bot logs, since it is the case a replay bug would hide behind
            p.ambiguous.append(_trail(p, 0, {key}))
        if key in working and not any(
            a.value(p.nfp, key, s) == a.comparable(key, stored) for s in allowed
        ):
            problems.append(
                f"{p} key {key}: answer #{last} ({a.value(p.nfp, key, last)!r}) was "
                + (
                    f"acknowledged (it or one from #{floor} on), but"
                    if floor < last
                    else "acknowledged, but"
                )
                + f" {stored!r} = {a.describe(stored)} is stored (lost or "
                f"overwritten by an older one)"
            )
    # confirmations: none twice, none acknowledged and missing
    versions = [v["version"] for v in state["versions"].get(report["id"], [])]
    pressed = sum(1 for i in p.inputs if i.kind == "confirm")
    if len(versions) > pressed:
        problems.append(f"{p}: {len(versions)} confirmed versions from {pressed} presses")
    for inp in p.inputs:
        if inp.kind == "confirm" and inp.acked and inp.version not in versions:
            problems.append(f"{p}: version {inp.version} was acknowledged, not in {versions}")
    # nobody left without a next question: the newest screen shows the stored state
    session = state["sessions"].get(p.user.id)
    newest = p.newest()
    seen = "nothing" if newest is None else _describe_seen(newest)
    if session is None or session["report_id"] is None:
        expected = f"the confirmation of version {report['version']}"
        if report["version"] and not (
            newest is not None
            and newest.kind == "confirmed"
            and newest.version == report["version"]
        ):
            problems.append(
                f"{p}: the database holds {expected}, the newest screen is {seen}"
                + _since_last_input(p, sb, bot)
            )
    else:
        step = session["step"]
        if step in ("review", "warnings"):
            ok = newest is not None and newest.kind == step
        else:
            ok = newest is not None and newest.kind == "question" and newest.key == step
        if not ok:
            problems.append(
                f"{p}: left without the next question: the database's current step is "
                f"{step!r}, the newest screen is {seen}" + _since_last_input(p, sb, bot)
            )
    return problems


def _since_last_input(p: Person, sb: Sandbox, bot: BotProcess) -> str:
    """What happened after the person's last input: kills, and the bot's calls to the chat."""
    if not p.inputs:
        return ""
    last = p.inputs[-1]
    kills = [f"{t - last.at:+.2f} s" for t in bot.killed_at if t >= last.at]
    calls = [
        f"{c.method} {c.status or 'dropped'} at {c.at - last.at:+.2f} s"
        for c in sb.calls_to(chat_id=p.user.id)
        if c.at >= last.at
    ]
    return (
        f"; after its last input ({last.kind} {last.what}, round {last.round}) the bot was "
        f"killed at {kills[:2] or 'no time'} and called this chat: {calls or 'never'}"
    )


def _describe_seen(seen: Seen) -> str:
    if seen.kind == "question":
        return f"question {seen.position} {seen.key!r} (message {seen.msg.message_id})"
    if seen.kind == "confirmed":
        return f"the confirmation of version {seen.version} (message {seen.msg.message_id})"
    return f"the {seen.kind} (message {seen.msg.message_id})"


# --------------------------------------------------------------------------- the test


async def test_sigkill_rounds_keep_every_acknowledged_answer_on_its_question(
    tmp_path: Path,
) -> None:
    try:
        await _rounds(tmp_path)
    except BaseException as err:
        err.add_note(f"fault test seed {SEED} (NFPBOT_FAULTS_SEED), rounds {ROUNDS}")
        raise


async def _rounds(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    db = tmp_path / "faults.sqlite3"
    config = load_config(ROOT / "config.toml", {"NFPBOT_DB": str(db)})
    questions = list(config.regions[0].questionnaire.questions)
    ids = await seed_database(config)
    answers = Answers(questions)
    started = time.monotonic()
    async with Sandbox(rtt=0.01) as sb:
        people = [
            Person(
                n,
                iso3,
                sb.user(ids[iso3], f"NFP{n}", language_code="en"),
                answers,
                random.Random(f"{SEED}:{iso3}"),
            )
            for n, iso3 in enumerate(COUNTRIES, start=1)
        ]
        chaos = RandomFaults(SEED, error_rate=ERROR_RATE, unconfirmed_rate=UNCONFIRMED_RATE)
        sb.chaos = chaos
        bot = BotProcess(tmp_path, sb, db)
        tasks: list[asyncio.Task[None]] = []
        unsettled = ""
        try:
            await bot.start()
            spread = 0.6 * ROUNDS * (ALIVE_MIN + ALIVE_MAX) / 2
            tasks = [asyncio.create_task(p.live(rng.uniform(0, spread))) for p in people]
            for round_no in range(1, ROUNDS + 1):
                for p in people:
                    p.round = round_no
                await asyncio.sleep(rng.uniform(ALIVE_MIN, ALIVE_MAX))
                for t in tasks:
                    if t.done():
                        t.result()  # a person's own failure surfaces here
                await bot.kill()
                await asyncio.sleep(rng.uniform(0.0, 0.3))
                if round_no < ROUNDS:
                    await bot.start()
            # the people stop acting; the bot runs once more without faults and must show
            # everyone where they are without being asked
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            for p in people:
                p.round = ROUNDS + 1
            sb.chaos = None
            await bot.start()
            try:
                await sb.settle(timeout=30, quiet=2.0)
            except TimeoutError as err:
                unsettled = str(err)
            code = await bot.stop()
        finally:
            for t in tasks:
                t.cancel()
            if bot.proc is not None and bot.proc.returncode is None:
                bot.proc.kill()
                await bot.proc.wait()
        for p in people:
            p.settle_acks()
        state = read_db(db)
        problems = [msg for p in people for msg in check_person(p, state, sb, bot)]
        ambiguous = [t for p in people for t in p.ambiguous]
        if ambiguous:
            (tmp_path / "ambiguous-acks.txt").write_text("\n\n".join(ambiguous) + "\n")
        if code != 0:
            problems.append(f"the final clean run exited {code}")
        if unsettled:
            problems.append(f"the final clean run never went quiet: {unsettled}")
        summary = _summary(people, chaos, bot, time.monotonic() - started, tmp_path)
        print(summary)
        trails = [
            _trail(p, keys={k for m in problems if m.startswith(str(p)) for k in _keys_named(m)})
            for p in people
            if any(m.startswith(str(p)) for m in problems)
        ]
        assert not problems, "\n".join([*problems, "", summary, *trails])
        answered = sum(1 for p in people for i in p.inputs if i.kind == "answer" and i.acked)
        assert bot.kills >= 20 or ROUNDS < 20
        assert answered >= 10 * len(people), f"too little happened to test anything\n{summary}"


def _trail(p: Person, last: int = 12, keys: set[str] | None = None) -> str:
    """A person's last inputs, and every input and screen of the ``keys`` a failure names."""
    lines = [f"{p}, last {last} inputs (round, kind, key #seq, what, acknowledged):"]
    for i in p.inputs[-last:]:
        key = f"{i.key} #{i.seq}" if i.key else "-"
        lines.append(f"  r{i.round} {i.kind} {key} {i.what} {'acked' if i.acked else ''}")
    answers = {str(a.get("callback_query_id")): a.get("text") for a in p.user.callback_answers}
    for k in sorted(keys or ()):
        lines.append(f"{p}, inputs to {k} and the screens from the first one on:")
        mine = [i for i in p.inputs if i.key == k]
        start = min((i.cursor for i in mine), default=len(p.history))
        events: list[tuple[int, int, str]] = []
        for i in mine:
            pressed = f" on message {i.on_message}" if i.on_message is not None else ""
            answer = f", callback answer {answers.get(i.query_id)!r}" if i.query_id else ""
            events.append(
                (
                    i.cursor,
                    0,
                    f"  r{i.round} {i.kind} #{i.seq} {i.what}{pressed}{answer}"
                    f" {'acked' if i.acked else ''}",
                )
            )
        for n, seen in enumerate(p.history[start : start + 30], start=start):
            events.append((n, 1, f"    screen {n}: {seen.msg.kind} {_describe_seen(seen)}"))
        lines += [text for _, _, text in sorted(events)]
    return "\n".join(lines)


def _keys_named(problem: str) -> list[str]:
    return re.findall(r" key (\w+):", problem)


def _summary(
    people: list[Person], chaos: RandomFaults, bot: BotProcess, took: float, logs: Path
) -> str:
    lines = [
        f"seed {SEED} (NFPBOT_FAULTS_SEED), {ROUNDS} rounds (NFPBOT_FAULTS_ROUNDS), "
        f"{bot.kills} SIGKILLs, {bot.starts} starts, {took:.1f} s; bot logs in {logs}",
        f"sandbox: {chaos.unconfirmed} getUpdates confirmations lost, refused replies "
        f"{dict(sorted(Counter({f'{m} {s}': n for (m, s), n in chaos.injected.items()}).items()))}",
    ]
    for p in people:
        kinds = Counter(i.kind for i in p.inputs)
        acked = Counter(i.kind for i in p.inputs if i.acked)
        lines.append(
            f"{p}: {kinds['answer']} answers ({acked['answer']} acknowledged), "
            f"{kinds['confirm']} confirmations ({acked['confirm']} acknowledged), "
            f"{len(p.nudges)} nudges (/report after {NUDGE_AFTER:.0f} s of silence, or "
            f"{p.stuck} on a screen without its buttons) in rounds {p.nudges}"
        )
    return "\n".join(lines)
