"""Parse and format the whole counts that officials type on their phones.

People type counts the way their keyboard and habits suggest ("1 234", "1,234",
"1.234", "１２３"), so parsing is lenient about *form* but strict about *meaning*:
anything that could be a fraction, a negative number or garbage is refused with
a machine-readable reason, never silently misread.

Input longer than ``MAX_INPUT_LENGTH`` characters (counted before stripping, so
no work at all is done on it) is ``"not_a_number"``.  Accepted form, after
stripping surrounding whitespace:

* an optional sign: ``+`` or fullwidth ``＋``.  A minus sign (``-``, U+2212 and
  the dash look-alikes in ``_MINUS``) directly before an otherwise well-formed
  number gives reason ``"negative"`` (even for ``-0``: a count has no sign);
* digits: any Unicode decimal digit (category Nd, via ``unicodedata.decimal``),
  so fullwidth ``１２３`` and Arabic-Indic ``١٢٣`` read as 123 — phone keyboards
  in other scripts produce them and their meaning is unambiguous;
* either a plain run of digits (leading zeros allowed: ``"007"`` is 7), or
  thousands groups: a first group of 1-3 digits not starting with 0, then one
  or more groups of *exactly* 3 digits, each preceded by the *same* single
  separator from ``_GROUP_SEPARATORS`` (space, U+00A0, U+202F, U+2009, ``,``,
  ``.``, ``'``, U+2019).  So ``"1,234"``, ``"1.234"`` and ``"1 234 567"`` are
  1234, 1234 and 1234567; the Arabic thousands separator U+066C groups too
  (``"۱٬۲۳۴"`` is 1234).  Invisible format characters (category Cf: U+200B, the
  direction marks U+200E/U+200F/U+061C that Arabic keyboards insert) are ignored,
  and input made only of them (and whitespace) is ``"empty"``.

The fraction rule: a ``,`` or ``.`` followed by exactly 3 digits is a thousands
separator (see above).  A ``,`` or ``.`` that is the last separator, followed by
1, 2 or 4+ digits, preceded by nothing, a plain digit run, or valid thousands
groups using a *different* separator, is a decimal separator: ``"12.5"``,
``"12,5"``, ``"1,23"``, ``"1.2345"``, ``".5"``, ``"1 234,5"`` and ``"1,234.50"``
give reason ``"fraction"``, and so does the Arabic decimal separator U+066B
between digits (``"١٢٣٫٥"``): it is never a thousands separator.  Everything
else (``"1,23,456"``, ``"1,234,5"``,
``"1 2 3 4"``, ``"1234,567"``, ``"0,500"``, ``"5."``, ``"1e3"``) is
``"not_a_number"``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from babel.numbers import format_decimal

__all__ = ["MAX_INPUT_LENGTH", "NumberError", "Reason", "format_count", "parse_count"]

Reason = Literal["empty", "not_a_number", "negative", "fraction", "too_small", "too_large"]

# A count never needs more; refusing early keeps hostile input cheap.
MAX_INPUT_LENGTH = 40

_PLUS = frozenset("+\uff0b")
# Phones and word processors autocorrect "-" into look-alike dashes.
_MINUS = frozenset("-\u2212\u2012\u2013\u2014\ufe63\uff0d")
# U+2019: iOS "smart punctuation" turns ' into ’ as the user types.
# U+066C: ARABIC THOUSANDS SEPARATOR, typed with Arabic-Indic digits (۱٬۲۳۴).
_GROUP_SEPARATORS = frozenset(" \u00a0\u202f\u2009,.'\u2019\u066c")
_DECIMAL_SEPARATORS = frozenset(",.")
# U+066B: ARABIC DECIMAL SEPARATOR (١٢٣٫٥): unlike , and . it never groups thousands.
_ARABIC_DECIMAL = "\u066b"

# Matched against the ASCII-normalised body (digits 0-9 plus separators).
_SEP_CLASS = "[ \u00a0\u202f\u2009,.'\u2019\u066c]"
_PLAIN = re.compile(r"[0-9]+")
_GROUPED = re.compile(rf"[1-9][0-9]{{0,2}}(?P<sep>{_SEP_CLASS})[0-9]{{3}}(?:(?P=sep)[0-9]{{3}})*")


class NumberError(ValueError):
    """A refused count; ``reason`` (plus the bounds) lets the caller localize the message.

    No user-facing text lives here because the bot answers in the user's language.
    """

    reason: Reason
    minimum: int | None
    maximum: int | None

    def __init__(
        self, reason: Reason, *, minimum: int | None = None, maximum: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.minimum = minimum
        self.maximum = maximum


def _normalise(body: str) -> str | None:
    """Map every digit to ASCII and keep separators; None if any other character appears."""
    out: list[str] = []
    for ch in body:
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out.append(chr(0x30 + digit))
        elif ch in _GROUP_SEPARATORS or ch == _ARABIC_DECIMAL:
            out.append(ch)
        else:
            return None
    return "".join(out)


def _integer_value(body: str) -> int | None:
    """Value of a plain or correctly grouped digit string, else None."""
    if _PLAIN.fullmatch(body) or _GROUPED.fullmatch(body):
        return int("".join(ch for ch in body if "0" <= ch <= "9"))
    return None


def _is_fraction(body: str) -> bool:
    """True if ``body`` is a number with a decimal part, per the module's fraction rule."""
    if _ARABIC_DECIMAL in body:
        whole, _, fraction = body.partition(_ARABIC_DECIMAL)
        return bool(_PLAIN.fullmatch(fraction)) and (
            whole == "" or _integer_value(whole) is not None
        )
    cut = max(body.rfind(","), body.rfind("."))
    if cut < 0:
        return False
    whole, decimal_sep, fraction = body[:cut], body[cut], body[cut + 1 :]
    if not _PLAIN.fullmatch(fraction) or len(fraction) == 3:
        return False
    if whole == "" or _PLAIN.fullmatch(whole):
        return True
    grouped = _GROUPED.fullmatch(whole)
    return grouped is not None and grouped.group("sep") != decimal_sep


def parse_count(text: str, *, minimum: int | None = 0, maximum: int | None = None) -> int:
    """Read a whole, non-negative count typed by a person; see the module docstring for forms.

    Raises NumberError (and nothing else) for every refused ``str``.  Negative input is
    always ``"negative"`` whatever ``minimum`` is; ``minimum``/``maximum`` are inclusive,
    ``None`` meaning unbounded, and are copied onto the error for the message.
    """
    if len(text) > MAX_INPUT_LENGTH:
        raise NumberError("not_a_number", minimum=minimum, maximum=maximum)
    # invisible marks phones insert (U+200F RLM, U+061C ALM, U+200B) are not part of it
    stripped = "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()
    if not stripped:
        raise NumberError("empty", minimum=minimum, maximum=maximum)

    negative = stripped[0] in _MINUS
    body = stripped[1:] if negative or stripped[0] in _PLUS else stripped
    normalised = _normalise(body)
    if normalised is None:
        raise NumberError("not_a_number", minimum=minimum, maximum=maximum)

    value = _integer_value(normalised)
    fraction = value is None and _is_fraction(normalised)
    if value is None and not fraction:
        raise NumberError("not_a_number", minimum=minimum, maximum=maximum)
    if negative:
        raise NumberError("negative", minimum=minimum, maximum=maximum)
    if value is None:
        raise NumberError("fraction", minimum=minimum, maximum=maximum)
    if minimum is not None and value < minimum:
        raise NumberError("too_small", minimum=minimum, maximum=maximum)
    if maximum is not None and value > maximum:
        raise NumberError("too_large", minimum=minimum, maximum=maximum)
    return value


def format_count(value: int, locale: str) -> str:
    """Format a count with the locale's grouping ("1,234" en, "1\u00a0234" ru).

    The output is always accepted back by ``parse_count``, so the bot can echo a
    figure for confirmation and the user may send it back unchanged.
    """
    return format_decimal(value, locale=locale)
