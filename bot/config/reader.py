"""The generic typed TOML reader every section is read with, and its one-line error.

Each getter checks the type of one key and fails with :class:`ConfigError` naming the key's
full path (``regions.central-asia.countries.KGZ.timezone``), so a section module states only
what its keys mean; an unknown key is reported with the closest known one ("did you mean").
It knows nothing of any section: the sections (bot, questionnaire, topics, regions, ...)
live in their own modules. docs/config-decision.md says why this is hand-written rather
than a validation library.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar, overload

__all__ = [
    "KEY_RE",
    "REQUIRED",
    "ConfigError",
    "Table",
    "find",
    "frozen_map",
    "is_int",
    "text_field",
    "type_name",
]

# Keys travel in Telegram callback_data (at most 64 bytes), so they stay short and plain.
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")


class ConfigError(Exception):
    """A configuration problem, as one line naming the key, e.g.
    ``regions.central-asia.countries.KGZ.timezone: unknown IANA timezone 'Asia/Bishkekk'``.

    One line because it is what an operator sees when the bot refuses to start.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message


# --------------------------------------------------------------------------- frozen shapes


_T = TypeVar("_T")


def find(items: Sequence[_T], attr: str, key: str) -> _T:
    """The item whose ``attr`` equals ``key``; KeyError otherwise (lists here are short)."""
    for item in items:
        if getattr(item, attr) == key:
            return item
    raise KeyError(key)


def frozen_map(data: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """A read-only copy: the config is shared by every handler and job, nothing may change it."""
    return MappingProxyType(dict(data or {}))


def text_field(*, optional: bool = False) -> Any:
    """A per-language text mapping; left out of the hash because mappings are unhashable."""
    if optional:
        return field(default_factory=frozen_map, hash=False)
    return field(hash=False)


# --------------------------------------------------------------------------- TOML reader


REQUIRED: Any = object()


def type_name(value: object) -> str:
    """How a wrong value is shown in an error: its TOML type and the value itself."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, dt.date | dt.time):
        return f"date/time {value}"
    return type(value).__name__


def is_int(value: object) -> bool:
    """An integer that is not a boolean (``True`` is an ``int`` to Python, not to TOML)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Table:
    """A TOML table being read: typed getters whose errors name the full key path.

    Keys outside ``allowed`` are rejected as soon as the table is opened, before anything
    else is checked, so a typo (``reqired``, ``[questionaire]``) is reported as itself
    rather than as the missing key it was meant to be.
    """

    def __init__(self, data: Mapping[str, Any], path: str, allowed: Sequence[str]) -> None:
        self.data = data
        self.path = path
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(allowed)}"
                self.fail(key, f"unknown key ({hint})")

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> NoReturn:
        raise ConfigError(self.sub(key), message)

    def _get(self, key: str, default: Any, expected: str, ok: Any) -> Any:
        if key not in self.data:
            if default is REQUIRED:
                self.fail(key, f"missing required key ({expected})")
            return default
        value = self.data[key]
        if not ok(value):
            self.fail(key, f"expected {expected}, got {type_name(value)}")
        return value

    @overload
    def get_str(self, key: str) -> str: ...
    @overload
    def get_str(self, key: str, default: _T) -> str | _T: ...
    def get_str(self, key: str, default: Any = REQUIRED) -> Any:
        value = self._get(key, default, "a string", lambda v: isinstance(v, str))
        if key in self.data and not value.strip():
            self.fail(key, "must not be empty")
        return value

    def get_int(self, key: str, default: Any = REQUIRED) -> Any:
        return self._get(key, default, "an integer", is_int)

    def get_float(self, key: str, default: Any = REQUIRED) -> Any:
        value = self._get(key, default, "a number", _is_number)
        return float(value) if key in self.data else value

    def get_bool(self, key: str, default: Any = REQUIRED) -> Any:
        return self._get(key, default, "true or false", lambda v: isinstance(v, bool))

    def get_list(self, key: str, default: Any = REQUIRED) -> Any:
        return self._get(key, default, "an array", lambda v: isinstance(v, list))

    def get_mapping(self, key: str) -> Mapping[str, Any]:
        """A table whose keys are data (ids, codes), not settings: absent reads as empty."""
        value: Mapping[str, Any] = self._get(key, {}, "a table", lambda v: isinstance(v, Mapping))
        return value

    def get_table(self, key: str, allowed: Sequence[str]) -> Table:
        """A sub-table; an absent one reads as empty, so all its keys take their defaults."""
        value = self._get(key, {}, "a table", lambda v: isinstance(v, Mapping))
        return Table(value, self.sub(key), allowed)

    def get_tables(
        self,
        key: str,
        allowed: Sequence[str],
        *,
        name_key: str = "key",
        name_re: re.Pattern[str] = KEY_RE,
        upper: bool = False,
    ) -> list[Table]:
        """An array of tables; items are named by their key when it is valid, else by index.

        ``upper`` names an item by its key in upper case (ISO codes are accepted in either).
        """
        items = self._get(key, [], "an array of tables ([[...]])", lambda v: isinstance(v, list))
        result = []
        for i, value in enumerate(items):
            if not isinstance(value, Mapping):
                self.fail(f"{key}[{i}]", f"expected a table, got {type_name(value)}")
            name = value.get(name_key)
            if isinstance(name, str) and upper:
                name = name.upper()
            valid = isinstance(name, str) and name_re.fullmatch(name)
            result.append(
                Table(value, self.sub(f"{key}.{name}" if valid else f"{key}[{i}]"), allowed)
            )
        return result

    def get_key(
        self,
        key: str,
        pattern: re.Pattern[str] = KEY_RE,
        what: str = "a lowercase key like 'new_cases' (a-z, 0-9, _; at most 32 characters)",
        *,
        upper: bool = False,
    ) -> Any:
        value = self.get_str(key)
        if upper:
            value = value.upper()
        if not pattern.fullmatch(value):
            self.fail(key, f"expected {what}, got {value!r}")
        return value

    def get_text(
        self,
        key: str,
        languages: tuple[str, ...],
        *,
        partial: bool = False,
        default: Any = REQUIRED,
    ) -> Mapping[str, str]:
        """A per-language text table like ``{ en = "...", ru = "..." }``."""
        example = ", ".join(f'{lang} = "..."' for lang in languages)
        value = self._get(
            key,
            default,
            f"a table of texts per language like {{ {example} }}",
            lambda v: isinstance(v, Mapping),
        )
        for lang, text in value.items():
            if lang not in languages:
                self.fail(
                    f"{key}.{lang}",
                    f"unknown language {lang!r} (languages are {', '.join(languages)})",
                )
            if not isinstance(text, str):
                self.fail(f"{key}.{lang}", f"expected a string, got {type_name(text)}")
            if not text.strip():
                self.fail(f"{key}.{lang}", "must not be empty")
        if not partial and (value or default is REQUIRED):
            for lang in languages:
                if lang not in value:
                    self.fail(key, f"missing language {lang!r}")
        return frozen_map(value)
