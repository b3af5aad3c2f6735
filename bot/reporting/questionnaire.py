"""The questionnaire engine: what to ask next, whether an answer is valid, what looks odd.

Pure functions over the config's :class:`Questionnaire` and plain answer dicts, so they are
tested without Telegram or a database. Stored values (JSON):
number → int, choice → option key, multi → ``{"selected": [keys], "other": text|None}``,
text → str; ``None`` means an optional question was skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.config import Check, Question, Questionnaire
from bot.core.numbers import NumberError, Reason, parse_count
from bot.core.textlimits import is_blank, tg_len

Answers = Mapping[str, Any]


#: Why an answer (or a button press) was not taken: a number's own reasons, and the rest.
AnswerReason = (
    Reason
    | Literal[
        "too_long",  # a text over the question's limit
        "unknown_option",
        "use_buttons",  # typed where the question takes a button
        "stale",  # a button of an earlier screen
        "incomplete",  # confirm pressed with required questions unanswered
        "questionnaire_changed",
        "typed_earlier",  # typed before the question on screen was shown
    ]
)


class AnswerError(ValueError):
    """An answer that cannot be accepted; ``reason`` picks the localized message."""

    def __init__(self, reason: AnswerReason, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


def next_unanswered(q: Questionnaire, answers: Answers) -> Question | None:
    """The first question with no stored answer (a skipped one counts as answered)."""
    for question in q.questions:
        if question.key not in answers:
            return question
    return None


def is_complete(q: Questionnaire, answers: Answers) -> bool:
    return all(
        question.key in answers and (answers[question.key] is not None or not question.required)
        for question in q.questions
    )


def parse_number(question: Question, text: str) -> int:
    try:
        return parse_count(text, minimum=question.min, maximum=question.max)
    except NumberError as err:
        raise AnswerError(err.reason, minimum=err.minimum, maximum=err.maximum) from None


def parse_text(question: Question, text: str) -> str:
    """A free-text answer; only invisible characters is empty, length as Telegram may count.

    The length is :func:`~bot.core.textlimits.tg_len`, the unit config checks screens in, so an
    accepted answer always fits the review line config made room for.
    """
    text = text.strip()
    if is_blank(text):
        raise AnswerError("empty")
    if tg_len(text) > question.max_length:
        raise AnswerError("too_long", maximum=question.max_length, length=tg_len(text))
    return text


def check_option(question: Question, key: str) -> str:
    if key not in {o.key for o in question.options}:
        raise AnswerError("unknown_option")
    return key


def toggle(selection: Mapping[str, Any] | None, option: str) -> dict[str, Any]:
    """Flip one option of a multi-choice selection (the stored shape is kept)."""
    selected = list((selection or {}).get("selected", []))
    if option in selected:
        selected.remove(option)
    else:
        selected.append(option)
    other = (selection or {}).get("other")
    return {"selected": selected, "other": other}


def needs_other_text(question: Question, selection: Mapping[str, Any]) -> bool:
    """A selected "other (with text)" option still waiting for its text."""
    chosen = set(selection.get("selected", []))
    return any(o.with_text and o.key in chosen for o in question.options) and not selection.get(
        "other"
    )


@dataclass(frozen=True)
class Warning:
    check: Check
    values: dict[str, Any]


def plausibility(q: Questionnaire, answers: Answers, last_week: Answers | None) -> list[Warning]:
    """Checks from config that this report trips; they warn, they never block."""
    found: list[Warning] = []
    for check in q.checks:
        value = answers.get(check.field)
        if not isinstance(value, int):
            continue
        if check.kind == "greater_than" and check.other:
            other = answers.get(check.other)
            if isinstance(other, int) and value > other:
                found.append(
                    Warning(check, {"value": value, "other_value": other, "other": check.other})
                )
        elif check.kind == "jump" and check.factor is not None and last_week:
            previous = last_week.get(check.field)
            if (
                isinstance(previous, int)
                and previous >= check.min_base
                and value > check.factor * previous
            ):
                found.append(
                    Warning(
                        check,
                        {
                            "value": value,
                            "previous": previous,
                            "factor": check.factor,
                            "min_base": check.min_base,
                        },
                    )
                )
    return found


def carried_over(q: Questionnaire, last_week: Answers) -> dict[str, Any]:
    """Last week's answers to the categorical questions marked ``carry_over``."""
    return {
        question.key: last_week[question.key]
        for question in q.questions
        if question.carry_over and question.key in last_week
    }


def changed_since(q: Questionnaire, answers: Answers, last_week: Answers | None) -> set[str]:
    """Keys whose answer differs from last week's (empty when there is no last week)."""
    if not last_week:
        return set()
    return {
        question.key
        for question in q.questions
        if question.key in answers and answers.get(question.key) != last_week.get(question.key)
    }
