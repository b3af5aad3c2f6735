"""The questionnaire engine on the shipped questionnaire, without Telegram or a database."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Config, Questionnaire
from bot.reporting.questionnaire import (
    AnswerError,
    carried_over,
    changed_since,
    is_complete,
    needs_other_text,
    next_unanswered,
    parse_number,
    parse_text,
    plausibility,
    toggle,
)


@pytest.fixture
def q(config: Config) -> Questionnaire:
    return config.regions[0].questionnaire


def test_questions_come_in_order_and_skipped_counts_as_answered(q: Questionnaire) -> None:
    first = next_unanswered(q, {})
    assert first is not None and first.key == "new_cases"
    after = next_unanswered(q, {"new_cases": 1, "new_deaths": 0, "tests": None})
    assert after is not None and after.key == "hospitalised"
    full: dict[str, Any] = {k: None for k in q.keys}
    assert next_unanswered(q, full) is None
    assert not is_complete(q, full)  # required ones cannot be skipped
    full.update(new_cases=1, new_deaths=0, measures="none", lab_capacity="adequate")
    full["needs"] = {"selected": [], "other": None}
    assert is_complete(q, full)


def test_numbers_use_the_question_bounds(q: Questionnaire) -> None:
    cases = q.question("new_cases")
    assert parse_number(cases, "1 234") == 1234
    with pytest.raises(AnswerError) as err:
        parse_number(cases, "10 000 001")
    assert err.value.reason == "too_large" and err.value.details["maximum"] == 10_000_000
    with pytest.raises(AnswerError, match="negative"):
        parse_number(cases, "-3")


def test_text_is_trimmed_and_limited(q: Questionnaire) -> None:
    developments = q.question("developments")
    assert parse_text(developments, "  calm week  ") == "calm week"
    with pytest.raises(AnswerError) as err:
        parse_text(developments, "x" * 1001)
    assert err.value.details == {"maximum": 1000, "length": 1001}
    with pytest.raises(AnswerError, match="empty"):
        parse_text(developments, "   ")


def test_multi_choice_toggles_and_other_needs_text(q: Questionnaire) -> None:
    needs = q.question("needs")
    selection = toggle(None, "ppe")
    selection = toggle(selection, "other")
    assert selection == {"selected": ["ppe", "other"], "other": None}
    assert needs_other_text(needs, selection)
    assert toggle(selection, "ppe") == {"selected": ["other"], "other": None}
    assert not needs_other_text(needs, {"selected": ["other"], "other": "oxygen"})


def test_plausibility_warns_on_deaths_above_cases_and_a_tenfold_jump(q: Questionnaire) -> None:
    warnings = plausibility(q, {"new_cases": 200, "new_deaths": 300}, {"new_cases": 15})
    assert {w.check.key for w in warnings} == {"deaths_above_cases", "cases_jump"}
    # below min_base last week, a jump is not suspicious; no last week, no jump check
    assert plausibility(q, {"new_cases": 200, "new_deaths": 1}, {"new_cases": 5}) == []
    assert plausibility(q, {"new_cases": 200, "new_deaths": 1}, None) == []


def test_no_change_copies_only_categorical_answers_and_changes_are_marked(q: Questionnaire) -> None:
    last = {
        "new_cases": 10,
        "measures": "targeted",
        "lab_capacity": "strained",
        "needs": {"selected": ["ppe"], "other": None},
        "developments": "old news",
    }
    assert carried_over(q, last) == {
        "measures": "targeted",
        "lab_capacity": "strained",
        "needs": {"selected": ["ppe"], "other": None},
    }
    now = {"new_cases": 12, "measures": "targeted", "lab_capacity": "adequate"}
    assert changed_since(q, now, last) == {"new_cases", "lab_capacity"}
    assert changed_since(q, now, None) == set()
