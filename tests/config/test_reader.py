"""Tests for bot/config/reader.py: the typed TOML reader, without any section.

Every section's one-line errors come from these getters, so they are pinned here on plain
tables: the key path, the "did you mean", the type shown as TOML names it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.config.reader import ConfigError, Table

AREA = ("timezone", "countries", "name")


def error(call: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        call()
    assert "\n" not in str(info.value)
    return info.value


def test_unknown_key_names_its_path_and_the_closest_known_key() -> None:
    exc = error(lambda: Table({"timezon": "Asia/Kabul"}, "regions.central-asia", AREA))
    assert exc.key == "regions.central-asia.timezon"
    assert str(exc) == "regions.central-asia.timezon: unknown key (did you mean 'timezone'?)"


def test_unknown_key_without_a_close_one_lists_the_known_keys() -> None:
    exc = error(lambda: Table({"zzz": 1}, "", AREA))
    assert str(exc) == "zzz: unknown key (known: timezone, countries, name)"


def test_unknown_keys_are_reported_before_anything_is_read() -> None:
    """A typo of a required key is reported as the typo, not as the key missing."""
    exc = error(lambda: Table({"nme": "x"}, "t", AREA).get_str("name"))
    assert exc.key == "t.nme"


@pytest.mark.parametrize(
    ("value", "getter", "expected"),
    [
        (True, "get_int", "expected an integer, got boolean true"),  # bool is an int to Python
        (0.5, "get_int", "expected an integer, got float 0.5"),
        ("7", "get_int", "expected an integer, got string '7'"),
        ([], "get_str", "expected a string, got an array"),
        ({}, "get_bool", "expected true or false, got a table"),
        (False, "get_float", "expected a number, got boolean false"),
        ("  ", "get_str", "must not be empty"),
    ],
)
def test_typed_getters_name_the_toml_type(value: object, getter: str, expected: str) -> None:
    table = Table({"name": value}, "bot", AREA)
    assert str(error(lambda: getattr(table, getter)("name"))) == f"bot.name: {expected}"


def test_defaults_and_required() -> None:
    table = Table({"name": 3}, "bot", AREA)
    assert table.get_str("timezone", default=None) is None
    assert table.get_float("name") == 3.0 and isinstance(table.get_float("name"), float)
    assert str(error(lambda: table.get_str("timezone"))) == (
        "bot.timezone: missing required key (a string)"
    )


def test_array_items_are_named_by_their_key_when_it_is_valid_else_by_index() -> None:
    root = Table({"countries": [{"name": "kgz"}, {"name": "K G"}, {}]}, "r", AREA)
    items = root.get_tables("countries", AREA, name_key="name", name_re=re.compile("[A-Z]{3}"))
    assert [t.path for t in items] == ["r.countries[0]", "r.countries[1]", "r.countries[2]"]
    upper = root.get_tables(
        "countries", AREA, name_key="name", name_re=re.compile("[A-Z]{3}"), upper=True
    )
    assert [t.path for t in upper] == ["r.countries.KGZ", "r.countries[1]", "r.countries[2]"]
    exc = error(lambda: Table({"countries": [1]}, "r", AREA).get_tables("countries", AREA))
    assert str(exc) == "r.countries[0]: expected a table, got integer 1"


def test_texts_per_language() -> None:
    table = Table({"name": {"en": "Asia", "ru": "Азия"}}, "r", AREA)
    assert dict(table.get_text("name", ("en", "ru"))) == {"en": "Asia", "ru": "Азия"}
    with pytest.raises(TypeError):
        table.get_text("name", ("en", "ru"))["en"] = "x"  # type: ignore[index]
    partial = Table({"name": {"ru": "Азия"}}, "r", AREA)
    assert dict(partial.get_text("name", ("en", "ru"), partial=True)) == {"ru": "Азия"}
    assert str(error(lambda: partial.get_text("name", ("en", "ru")))) == (
        "r.name: missing language 'en'"
    )
    assert error(lambda: table.get_text("name", ("en",))).key == "r.name.ru"
