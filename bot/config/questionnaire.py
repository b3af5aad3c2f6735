"""The weekly questionnaire (``[questionnaire]``, or a region's ``[regions.questionnaire]``).

Reporting asks these questions and runs these checks; the parser makes sure every screen
the questionnaire can produce fits Telegram's limits before the bot starts.
"""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, cast, get_args

from bot.config.bot import SECTION as BOT
from bot.config.reader import Table, find, text_field
from bot.config.section import Context, Section
from bot.core.textlimits import MESSAGE_LIMIT, REVISION_REASON_LIMIT, tg_len

__all__ = [
    "CHECK_PLACEHOLDERS",
    "LINE_RESERVE",
    "QUESTIONNAIRE_KEYS",
    "SECTION",
    "Check",
    "CheckKind",
    "Option",
    "Question",
    "QuestionType",
    "Questionnaire",
    "parse_questionnaire",
]

QuestionType = Literal["number", "choice", "multi", "text"]
CheckKind = Literal["greater_than", "jump"]

#: Placeholders a check message may use, per check kind. The bot fills them with display
#: text in the reader's language (labels, formatted numbers), so format specs are not allowed.
CHECK_PLACEHOLDERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "greater_than": frozenset({"field", "other", "value", "other_value"}),
        "jump": frozenset({"field", "value", "previous", "factor", "min_base"}),
    }
)


@dataclass(frozen=True)
class Option:
    """One answer of a choice/multi question; ``with_text`` asks a follow-up free text."""

    key: str
    label: Mapping[str, str] = text_field()
    with_text: bool = False


@dataclass(frozen=True)
class Question:
    """One question of the weekly questionnaire; ``label``/``hint`` are per language."""

    key: str
    type: QuestionType
    label: Mapping[str, str] = text_field()
    required: bool = True
    min: int | None = None
    max: int | None = None
    max_length: int = 1000
    options: tuple[Option, ...] = ()
    carry_over: bool = False
    hint: Mapping[str, str] = text_field(optional=True)

    def option(self, key: str) -> Option:
        """The option with this key; KeyError if the question has none such."""
        return find(self.options, "key", key)


@dataclass(frozen=True)
class Check:
    """A plausibility rule that warns the NFP but never blocks a submission.

    ``greater_than``: answers[field] > answers[other] (e.g. deaths above cases).
    ``jump``: answers[field] > factor * last_week[field] and last_week[field] >= min_base.
    """

    key: str
    kind: CheckKind
    field: str
    other: str | None = None
    factor: float | None = None
    min_base: int = 0
    message: Mapping[str, str] = text_field(optional=True)


@dataclass(frozen=True)
class Questionnaire:
    """The versioned list of questions and checks; reports record the version they used."""

    version: int
    questions: tuple[Question, ...]
    checks: tuple[Check, ...] = ()

    def question(self, key: str) -> Question:
        """The question with this key; KeyError if there is none."""
        return self._by_key[key]

    # Both are read several times for every answer: built once (a frozen dataclass still
    # has a __dict__, where cached_property keeps them).
    @functools.cached_property
    def keys(self) -> tuple[str, ...]:
        """Question keys in the order they are asked."""
        return tuple(q.key for q in self.questions)

    @functools.cached_property
    def _by_key(self) -> dict[str, Question]:
        return {q.key: q for q in self.questions}


QUESTIONNAIRE_KEYS = ("version", "questions", "checks")
_QUESTION_KEYS = (
    "key",
    "type",
    "label",
    "hint",
    "required",
    "min",
    "max",
    "max_length",
    "options",
    "carry_over",
)
_OPTION_KEYS = ("key", "label", "with_text")
_CHECK_KEYS = ("key", "kind", "field", "other", "factor", "min_base", "message")


def parse_default(root: Table, context: Context) -> Questionnaire | None:
    """The top-level ``[questionnaire]``: the one regions without their own use, if any."""
    if "questionnaire" not in root.data:
        return None
    languages = context.get(BOT).languages
    return parse_questionnaire(root.get_table("questionnaire", QUESTIONNAIRE_KEYS), languages)


SECTION = Section("questionnaire", parse_default)


def parse_questionnaire(table: Table, languages: tuple[str, ...]) -> Questionnaire:
    version = table.get_int("version", default=1)
    if version < 1:
        table.fail("version", f"must be at least 1, got {version}")
    questions: list[Question] = []
    items = table.get_tables("questions", _QUESTION_KEYS)
    if not items:
        table.fail("questions", "at least one [[...questions]] is required")
    for item in items:
        question = _question(item, languages)
        if any(q.key == question.key for q in questions):
            item.fail("key", f"duplicate question {question.key!r}")
        questions.append(question)

    by_key = {q.key: q for q in questions}
    checks: list[Check] = []
    for item in table.get_tables("checks", _CHECK_KEYS):
        check = _check(item, languages, by_key)
        if any(c.key == check.key for c in checks):
            item.fail("key", f"duplicate check {check.key!r}")
        checks.append(check)
    _check_screens_fit(items, questions, table.get_tables("checks", _CHECK_KEYS), checks)
    return Questionnaire(version=version, questions=tuple(questions), checks=tuple(checks))


#: Room kept on a screen line for the bot's own words around a configured text (the "🔸 "
#: mark and ": " of a review line, "Last week: " in any language, an icon, a figure).
LINE_RESERVE = 64
_LINE_LIMIT = MESSAGE_LIMIT - LINE_RESERVE


def _check_screens_fit(
    items: Sequence[Table],
    questions: Sequence[Question],
    check_items: Sequence[Table],
    checks: Sequence[Check],
) -> None:
    """Every line a screen can show must fit one Telegram message, at the largest answers.

    Screens are split at line breaks into as many messages as they need, so only one line
    can be too long: a question's label with its longest answer (review, "last week"), a
    hint, a warning. Lengths are :func:`~bot.core.textlimits.tg_len` (UTF-16 units), the count
    that is safe whatever Telegram counts; answers are limited in the same unit.
    """
    for item, question in zip(items, questions, strict=True):
        for lang, label in question.label.items():
            longest = _longest_answer(question, lang)
            if tg_len(label) + longest > _LINE_LIMIT:
                item.fail(
                    f"label.{lang}",
                    f"{tg_len(label)} characters, {tg_len(label) + longest} with the longest "
                    f"answer shown after it, do not fit one line of a screen ({_LINE_LIMIT}): "
                    f"keep it within {max(_LINE_LIMIT - longest, 0)} characters"
                    + (" or lower max_length" if question.type == "text" else ""),
                )
        for lang, hint in question.hint.items():
            if tg_len(hint) > _LINE_LIMIT:
                item.fail(
                    f"hint.{lang}",
                    f"{tg_len(hint)} characters do not fit one screen: keep it within "
                    f"{_LINE_LIMIT}",
                )
    by_key = {q.key: q for q in questions}
    for item, check in zip(check_items, checks, strict=True):
        for lang, message in check.message.items():
            labels = sum(
                tg_len(by_key[k].label[lang]) for k in (check.field, check.other) if k in by_key
            )
            if tg_len(message) + labels > _LINE_LIMIT:
                item.fail(
                    f"message.{lang}",
                    f"{tg_len(message)} characters with the labels it names ({labels}) do not "
                    f"fit one line of a screen: keep the total within {_LINE_LIMIT}",
                )


def _longest_answer(question: Question, lang: str) -> int:
    """The longest an answer to ``question`` can be when shown after its label."""
    if question.type == "text":
        return question.max_length
    if question.type == "choice":
        return max(tg_len(o.label[lang]) for o in question.options)
    if question.type == "multi":
        # every option ticked, joined by ", ", plus the "other" text in brackets
        labels = sum(tg_len(o.label[lang]) + 2 for o in question.options)
        other = question.max_length + 3 if any(o.with_text for o in question.options) else 0
        return labels + other
    # a number: the figure, and a /revise of it with its reason, shown on the review line
    return REVISION_REASON_LIMIT + 2 * len(f"{question.max or 10**15:,}")


_TYPE_ONLY_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "min": ("number",),
        "max": ("number",),
        "max_length": ("text",),
        "options": ("choice", "multi"),
    }
)


def _question(item: Table, languages: tuple[str, ...]) -> Question:
    key = item.get_key("key")
    types = get_args(QuestionType)
    qtype = item.get_str("type")
    if qtype not in types:
        item.fail("type", f"unknown question type {qtype!r} (use {', '.join(types)})")
    for only, allowed in _TYPE_ONLY_KEYS.items():
        if only in item.data and qtype not in allowed:
            item.fail(only, f"only allowed for {'/'.join(allowed)} questions, not {qtype}")
    label = item.get_text("label", languages)
    hint = item.get_text("hint", languages, default={})
    required = item.get_bool("required", default=True)
    carry_over = item.get_bool("carry_over", default=False)
    minimum = item.get_int("min", default=None)
    maximum = item.get_int("max", default=None)
    if minimum is not None and maximum is not None and minimum > maximum:
        item.fail("min", f"min {minimum} is greater than max {maximum}")
    max_length = item.get_int("max_length", default=1000)
    if not 1 <= max_length <= _LINE_LIMIT:
        item.fail(
            "max_length",
            f"must be between 1 and {_LINE_LIMIT} (an answer and its label share one line of "
            f"a {MESSAGE_LIMIT}-character Telegram message), got {max_length}",
        )
    options: list[Option] = []
    option_items = item.get_tables("options", _OPTION_KEYS)
    if qtype in ("choice", "multi") and not option_items:
        item.fail("options", f"a {qtype} question needs at least one option")
    for option_item in option_items:
        option_key = option_item.get_key("key")
        if any(o.key == option_key for o in options):
            option_item.fail("key", f"duplicate option {option_key!r}")
        options.append(
            Option(
                key=option_key,
                label=option_item.get_text("label", languages),
                with_text=option_item.get_bool("with_text", default=False),
            )
        )
    return Question(
        key=key,
        type=cast(QuestionType, qtype),
        label=label,
        required=required,
        min=minimum,
        max=maximum,
        max_length=max_length,
        options=tuple(options),
        carry_over=carry_over,
        hint=hint,
    )


def _check(item: Table, languages: tuple[str, ...], questions: Mapping[str, Question]) -> Check:
    key = item.get_key("key")
    kinds = get_args(CheckKind)
    kind = item.get_str("kind")
    if kind not in kinds:
        item.fail("kind", f"unknown check kind {kind!r} (use {', '.join(kinds)})")

    def number_question(name: str) -> str:
        ref = item.get_str(name)
        if ref not in questions:
            item.fail(name, f"unknown question {ref!r}")
        if questions[ref].type != "number":
            item.fail(name, f"question {ref!r} is a {questions[ref].type} question, not a number")
        return ref

    checked = number_question("field")
    other: str | None = None
    factor: float | None = None
    min_base = 0
    if kind == "greater_than":
        for unused in ("factor", "min_base"):
            if unused in item.data:
                item.fail(unused, "only used by 'jump' checks")
        other = number_question("other")
        if other == checked:
            item.fail("other", "must name a different question than field")
    else:
        if "other" in item.data:
            item.fail("other", "only used by 'greater_than' checks")
        factor = item.get_float("factor")
        if not 1 < factor < math.inf:  # also rejects nan
            item.fail("factor", f"must be a finite number greater than 1, got {factor}")
        min_base = item.get_int("min_base", default=0)
        if min_base < 0:
            item.fail("min_base", f"must be 0 or more, got {min_base}")
    message = item.get_text("message", languages)
    for lang, text in message.items():
        problem = _placeholder_problem(text, CHECK_PLACEHOLDERS[kind])
        if problem:
            item.fail(f"message.{lang}", problem)
    return Check(
        key=key,
        kind=cast(CheckKind, kind),
        field=checked,
        other=other,
        factor=factor,
        min_base=min_base,
        message=message,
    )


def _placeholder_problem(text: str, allowed: frozenset[str]) -> str | None:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"bad placeholder syntax ({exc}); write a literal brace as {{{{ or }}}}"
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed:
            return f"unknown placeholder {{{name}}} (use {', '.join(sorted(allowed))})"
        if spec or conversion:
            return f"placeholder {{{name}}} takes no format spec or conversion"
    return None
