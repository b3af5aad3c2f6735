"""Screen kinds, reply kinds, refusals, session modes, button actions, states: closed sets.

They were plain strings compared with ``==`` in the domain and the views, so a typo
("reveiw") was a branch never taken, found by a person. As ``Literal`` types, mypy (the gate
runs it strictly) refuses the typo: this test type-checks a snippet with one typo per kind
and a snippet without, and expects mypy to report exactly the typos.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = """
from bot.core.callbacks import ReportButton
from bot.reporting.followups import FollowupError, Reply
from bot.reporting.questionnaire import AnswerError
from bot.reporting.reports import Screen
from bot.reporting.status import CountryStatus


def f(s: Screen, r: Reply, c: CountryStatus, b: ReportButton) -> list[bool]:
    return [
        s.kind == "{review}",
        s.mode == "{edit}",
        s.hint == "{toggled}",
        r.kind == "{clarification_answered}",
        c.state == "{on_time}",
        b.action == "{ok}",
    ]


Screen("{question}")
Reply("{revision_saved}")
FollowupError("{stale}")
AnswerError("{use_buttons}")
"""
TYPOS = {
    "review": "reveiw",
    "edit": "edti",
    "toggled": "toggeld",
    "clarification_answered": "clarification_answerd",
    "on_time": "ontime",
    "ok": "okk",
    "question": "quesiton",
    "revision_saved": "revision_save",
    "stale": "stael",
    "use_buttons": "use_buton",
}


def _mypy(tmp_path: Path, name: str, words: dict[str, str]) -> tuple[list[int], list[int]]:
    """(lines mypy reports, lines holding one of the typos) of the snippet filled with words."""
    source = SNIPPET
    for key, word in words.items():
        source = source.replace("{" + key + "}", word)
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    out, err, _ = api.run(
        ["--strict", "--no-error-summary", f"--cache-dir={tmp_path / 'cache'}", str(path)]
    )
    assert not err, err
    reported = [int(m.group(1)) for m in re.finditer(rf"{name}\.py:(\d+): error", out)]
    assert len(reported) == out.count(": error"), out  # errors of the snippet only
    typos = [
        n
        for n, line in enumerate(source.splitlines(), 1)
        if any(f'"{typo}"' in line for typo in TYPOS.values())
    ]
    return reported, typos


def test_mypy_refuses_a_misspelt_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the bot's packages, as the gate sees them
    reported, typos = _mypy(tmp_path, "right", {key: key for key in TYPOS})
    assert (reported, typos) == ([], [])
    reported, typos = _mypy(tmp_path, "typos", TYPOS)
    assert len(typos) == len(TYPOS)
    assert reported == typos
