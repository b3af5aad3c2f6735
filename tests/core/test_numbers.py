"""Tests for bot.core.numbers: table tests for the typed forms plus hypothesis properties."""

from __future__ import annotations

import time
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.numbers import MAX_INPUT_LENGTH, NumberError, format_count, parse_count

REASONS = {"empty", "not_a_number", "negative", "fraction", "too_small", "too_large"}

ACCEPTED = [
    ("0", 0),
    ("1234", 1234),
    ("007", 7),
    ("1 234", 1234),
    ("1\u00a0234", 1234),
    ("1\u202f234", 1234),
    ("1\u2009234", 1234),
    ("1,234", 1234),
    ("1.234", 1234),
    ("1'234", 1234),
    ("1\u2019234", 1234),
    ("1,234,567", 1234567),
    ("1 234 567", 1234567),
    ("1\u00a0234\u00a0567", 1234567),
    ("12.500", 12500),
    ("999,999", 999999),
    ("  42\n", 42),
    ("\u00a042\t", 42),
    ("+5", 5),
    ("+1 234", 1234),
    ("\uff0b5", 5),
    ("１２３", 123),  # fullwidth
    ("١٢٣", 123),  # Arabic-Indic
    ("۱۲۳", 123),  # extended Arabic-Indic (Persian)
    ("१२३", 123),  # Devanagari
    ("۱٬۲۳۴", 1234),  # U+066C ARABIC THOUSANDS SEPARATOR
    ("١٬٢٣٤٬٥٦٧", 1234567),
    ("\u200f١٢٣", 123),  # a right-to-left mark from an Arabic keyboard
    ("1\u200b234", 1234),  # a zero-width space pasted in
    ("１,２３４", 1234),
    ("1" * MAX_INPUT_LENGTH, int("1" * MAX_INPUT_LENGTH)),
]

REFUSED = [
    ("", "empty"),
    ("   ", "empty"),
    ("\u00a0\t\n", "empty"),
    ("\u200b\u200b\u200b", "empty"),  # only zero-width spaces: nothing visible
    ("\u2060\ufeff \u200d", "empty"),
    ("١٢٣٫٥", "fraction"),  # U+066B ARABIC DECIMAL SEPARATOR
    ("١٫٢٣٤", "fraction"),  # never a thousands separator, even before 3 digits
    ("1٬234٫5", "fraction"),
    ("١٢٣٫", "not_a_number"),
    ("12a", "not_a_number"),
    ("1e3", "not_a_number"),
    ("one", "not_a_number"),
    ("пять", "not_a_number"),
    ("--5", "not_a_number"),
    ("+-5", "not_a_number"),
    ("++5", "not_a_number"),
    ("- 5", "not_a_number"),
    ("+", "not_a_number"),
    ("-", "not_a_number"),
    ("1,23,456", "not_a_number"),  # middle group not 3 digits
    ("1,234,5", "not_a_number"),  # same separator can't be grouping and decimal
    ("1 2 3 4", "not_a_number"),
    ("12 34", "not_a_number"),
    ("1234,567", "not_a_number"),  # 3 digits => thousands group, but first group too long
    ("1,234.567", "not_a_number"),  # mixed grouping separators
    ("1,234.500", "not_a_number"),
    ("0,500", "not_a_number"),  # grouped form can't start with 0
    ("1  234", "not_a_number"),  # one separator per gap
    ("1\t234", "not_a_number"),  # tab is not a separator
    ("5.", "not_a_number"),
    (",234", "not_a_number"),
    ("1,,234", "not_a_number"),
    ("²", "not_a_number"),  # a digit character, but not a decimal digit
    ("½", "not_a_number"),
    ("1" * (MAX_INPUT_LENGTH + 1), "not_a_number"),
    (" " * (MAX_INPUT_LENGTH + 1), "not_a_number"),  # length is checked before stripping
    ("12.5", "fraction"),
    ("12,5", "fraction"),
    ("1,23", "fraction"),  # 2 digits after the separator: a decimal part, not a group
    ("12.50", "fraction"),
    ("1.2345", "fraction"),
    ("0.5", "fraction"),
    (".5", "fraction"),
    ("1 234,5", "fraction"),
    ("1,234.50", "fraction"),
    ("1.234,5", "fraction"),
    ("+12,5", "fraction"),
    ("-5", "negative"),
    ("\u22125", "negative"),
    ("\u20135", "negative"),
    ("-0", "negative"),
    ("-1 234", "negative"),
    ("-12.5", "negative"),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_accepted_forms(text: str, expected: int) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_refused_forms(text: str, reason: str) -> None:
    with pytest.raises(NumberError) as info:
        parse_count(text)
    assert info.value.reason == reason


def test_bounds() -> None:
    assert parse_count("5", minimum=5, maximum=5) == 5
    assert parse_count("0", minimum=None) == 0
    assert parse_count("10" + "0" * 20, maximum=None) == 10**21
    with pytest.raises(NumberError) as low:
        parse_count("4", minimum=5, maximum=10)
    assert (low.value.reason, low.value.minimum, low.value.maximum) == ("too_small", 5, 10)
    with pytest.raises(NumberError) as high:
        parse_count("1 001", maximum=1000)
    assert (high.value.reason, high.value.minimum, high.value.maximum) == ("too_large", 0, 1000)


def test_negative_wins_over_bounds_and_minimum_none() -> None:
    with pytest.raises(NumberError) as info:
        parse_count("-5", minimum=None)
    assert info.value.reason == "negative"


def test_error_is_value_error_without_user_text() -> None:
    with pytest.raises(ValueError) as info:
        parse_count("abc")
    assert isinstance(info.value, NumberError)
    assert str(info.value) == "not_a_number"


@pytest.mark.parametrize("text", ["1" * 10**6, " " * 10**6 + "1", "1 " * 10**6, "-" * 10**6])
def test_huge_input_is_cheap(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(NumberError) as info:
        parse_count(text)
    assert info.value.reason == "not_a_number"
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("value", "locale", "expected"),
    [
        (0, "en", "0"),
        (1234, "en", "1,234"),
        (1234567, "en", "1,234,567"),
        (1234, "ru", "1\u00a0234"),
        (1234567, "ru", "1\u00a0234\u00a0567"),
    ],
)
def test_format_count(value: int, locale: str, expected: str) -> None:
    assert format_count(value, locale) == expected


# ---------------------------------------------------------------- properties

# Characters that make plausible-looking numbers, so generated text is often accepted.
_NUMBERISH = st.sampled_from(
    [*"0123456789", *" ,.'+-", "\u00a0", "\u202f", "\u2212", "１", "٣", "۷", "e", "\t"]
)
_ANY_TEXT = st.one_of(st.text(max_size=50), st.text(_NUMBERISH, max_size=25))
_SEPARATORS_AND_PLUS = set(",.'\u2019+\uff0b")


def _oracle_digits(text: str) -> str | None:
    """Independent oracle: drop whitespace/separators/plus and invisible format characters
    (category Cf: a soft hyphen or a direction mark a phone keyboard slipped in, which the
    parser ignores by design), map digits, else None."""
    out = []
    for ch in text:
        if ch.isspace() or ch in _SEPARATORS_AND_PLUS or unicodedata.category(ch) == "Cf":
            continue
        if unicodedata.category(ch) != "Nd":
            return None
        out.append(str(int(ch)))
    return "".join(out)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=_ANY_TEXT,
    minimum=st.none() | st.integers(-5, 10**6),
    maximum=st.none() | st.integers(0, 10**9),
)
def test_only_number_error_is_raised(text: str, minimum: int | None, maximum: int | None) -> None:
    try:
        result = parse_count(text, minimum=minimum, maximum=maximum)
    except NumberError as exc:
        assert exc.reason in REASONS
    else:
        assert isinstance(result, int)
        assert result >= 0
        assert minimum is None or result >= minimum
        assert maximum is None or result <= maximum


@settings(max_examples=500)
@given(text=_ANY_TEXT)
def test_never_accepts_a_non_number(text: str) -> None:
    try:
        result = parse_count(text)
    except NumberError as exc:
        assert exc.reason in REASONS
        return
    digits = _oracle_digits(text)
    assert digits is not None and digits.isascii() and digits.isdigit()
    assert digits.lstrip("0") == str(result).lstrip("0")


@settings(max_examples=300)
@given(value=st.integers(0, 10**12), locale=st.sampled_from(["en", "ru"]))
def test_format_round_trip(value: int, locale: str) -> None:
    formatted = format_count(value, locale)
    assert parse_count(formatted, maximum=None) == value
    assert parse_count(formatted.replace("\u00a0", " ")) == value
    assert parse_count(formatted.replace("\u00a0", "\u202f")) == value
