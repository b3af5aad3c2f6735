"""Tests for bot/config.py: the shipped config.toml, path resolution and every validation error.

Bad configurations are written as real TOML files, because what an operator gets wrong is the
file, and the error must name the key in it.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any

import babel
import pytest

from bot.config import (
    LANGUAGES,
    Config,
    ConfigError,
    Questionnaire,
    WeeklyTime,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
    resolve_config_path,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config.toml"


@pytest.fixture(scope="module")
def shipped() -> Config:
    return load_config(SHIPPED, env={})


# --------------------------------------------------------------------------- shipped config


def test_shipped_config_region_and_countries(shipped: Config) -> None:
    assert shipped.languages == LANGUAGES == ("en", "ru")
    assert shipped.default_language == "en"
    assert shipped.invite_ttl == dt.timedelta(days=7)
    assert shipped.log_level == "INFO"
    assert shipped.source == SHIPPED
    assert shipped.database == ROOT / "nfpbot.sqlite3"
    [region] = shipped.regions
    assert region.key == "central-asia"
    assert region.timezone == "Asia/Tashkent"
    assert region.tz.key == "Asia/Tashkent"
    assert region.group_chat_id is None
    assert region.name == {"en": "Central Asia", "ru": "Центральная Азия"}
    countries = {c.iso3: c for c in region.countries}
    assert list(countries) == ["AFG", "KGZ", "MNG", "PAK", "TJK", "UZB", "KAZ", "TKM"]
    assert {c.iso3: c.timezone for c in region.countries} == {
        "AFG": "Asia/Kabul",
        "KGZ": "Asia/Bishkek",
        "MNG": "Asia/Ulaanbaatar",
        "PAK": "Asia/Karachi",
        "TJK": "Asia/Dushanbe",
        "UZB": "Asia/Tashkent",
        "KAZ": "Asia/Almaty",
        "TKM": "Asia/Ashgabat",
    }
    assert {c.iso3: c.iso2 for c in region.countries} == {
        "AFG": "AF", "KGZ": "KG", "MNG": "MN", "PAK": "PK",
        "TJK": "TJ", "UZB": "UZ", "KAZ": "KZ", "TKM": "TM",
    }  # fmt: skip
    assert countries["KAZ"].status == "observer"
    assert countries["TKM"].status == "joining"
    assert all(c.status == "partner" for k, c in countries.items() if k not in ("KAZ", "TKM"))
    assert all(c.population and c.population > 1_000_000 for c in region.countries)
    pak = countries["PAK"].population
    assert pak is not None and 200_000_000 < pak < 240_000_000


def test_shipped_country_names(shipped: Config) -> None:
    _, kgz = shipped.country("KGZ")
    _, kaz = shipped.country("KAZ")
    assert kgz.name("ru") == "Кыргызстан"
    assert babel.Locale.parse("ru").territories["KG"] == "Киргизия"  # why the override exists
    assert kgz.name("en") == "Kyrgyzstan"
    assert kaz.name("ru") == babel.Locale.parse("ru").territories["KZ"] == "Казахстан"
    assert kaz.name("en") == "Kazakhstan"
    assert kaz.name("zz") == "Kazakhstan"  # unknown language falls back to English


def test_shipped_tz_uses_tzdata(shipped: Config) -> None:
    _, kaz = shipped.country("KAZ")
    before = dt.datetime(2024, 2, 1, 12, tzinfo=kaz.tz).utcoffset()
    after = dt.datetime(2024, 4, 1, 12, tzinfo=kaz.tz).utcoffset()
    assert (before, after) == (dt.timedelta(hours=6), dt.timedelta(hours=5))


def test_shipped_schedule(shipped: Config) -> None:
    schedule = shipped.region("central-asia").schedule
    assert str(schedule.prompt) == "Mon 09:00"
    assert schedule.reminders == (WeeklyTime(1, dt.time(9)), dt.timedelta(hours=2))
    assert schedule.deadline == WeeklyTime(2, dt.time(18))
    assert str(schedule.digest) == "Thu 10:00"
    assert schedule.alternates_after == dt.timedelta(hours=30)
    assert schedule.secretariat_after == dt.timedelta(0)


def test_shipped_questionnaire(shipped: Config) -> None:
    q = shipped.region("central-asia").questionnaire
    assert q.version == 1
    assert q.keys == (
        "new_cases", "new_deaths", "tests", "hospitalised", "measures",
        "lab_capacity", "needs", "training", "developments",
    )  # fmt: skip
    types = {k: q.question(k).type for k in q.keys}
    assert types == {
        "new_cases": "number", "new_deaths": "number", "tests": "number",
        "hospitalised": "number", "measures": "choice", "lab_capacity": "choice",
        "needs": "multi", "training": "text", "developments": "text",
    }  # fmt: skip
    required = {k for k in q.keys if q.question(k).required}
    assert required == {"new_cases", "new_deaths", "measures", "lab_capacity", "needs"}
    assert {k for k in q.keys if q.question(k).carry_over} == {"measures", "lab_capacity", "needs"}
    for key in ("new_cases", "new_deaths", "tests", "hospitalised"):
        assert q.question(key).min == 0
    measures = q.question("measures")
    assert [o.key for o in measures.options] == [
        "none",
        "targeted",
        "partial_lockdown",
        "national_lockdown",
    ]
    assert [o.key for o in q.question("lab_capacity").options] == [
        "adequate",
        "strained",
        "critical",
    ]
    needs = q.question("needs")
    assert [o.key for o in needs.options] == [
        "ppe",
        "test_kits",
        "lab_consumables",
        "disinfectants",
        "ventilators_oxygen",
        "other",
    ]
    assert [o.key for o in needs.options if o.with_text] == ["other"]
    assert needs.option("other").with_text
    assert q.question("training").max_length == 500
    assert q.question("developments").max_length == 1000
    for question in q.questions:
        assert set(question.label) == {"en", "ru"}
        for option in question.options:
            assert set(option.label) == {"en", "ru"}
    checks = {c.key: c for c in q.checks}
    assert checks["deaths_above_cases"].kind == "greater_than"
    assert (checks["deaths_above_cases"].field, checks["deaths_above_cases"].other) == (
        "new_deaths", "new_cases"
    )  # fmt: skip
    jump = checks["cases_jump"]
    assert (jump.kind, jump.field, jump.factor, jump.min_base) == ("jump", "new_cases", 10.0, 10)
    assert all(set(c.message) == {"en", "ru"} for c in q.checks)
    with pytest.raises(KeyError):
        q.question("nope")
    with pytest.raises(KeyError):
        needs.option("nope")


def test_shipped_topics(shipped: Config) -> None:
    assert [t.key for t in shipped.topics] == [
        "covid19",
        "lab",
        "ppe",
        "travel",
        "vaccines",
        "training",
    ]
    assert all(set(t.label) == {"en", "ru"} for t in shipped.topics)


def test_lookups(shipped: Config) -> None:
    region, country = shipped.country("KGZ")
    assert (region.key, country.iso3) == ("central-asia", "KGZ")
    assert shipped.region_of("TKM") is region
    assert region.country("UZB").timezone == "Asia/Tashkent"
    assert [c.iso3 for _, c in shipped.all_countries][:2] == ["AFG", "KGZ"]
    for lookup, arg in (
        (shipped.region, "nowhere"),
        (shipped.country, "FRA"),
        (shipped.region_of, "FRA"),
        (region.country, "FRA"),
    ):
        with pytest.raises(KeyError):
            lookup(arg)


def test_objects_are_frozen(shipped: Config) -> None:
    region = shipped.regions[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        region.key = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        region.name["en"] = "x"  # type: ignore[index]
    assert hash(region.questionnaire.question("needs"))  # usable as dict keys / in sets


# --------------------------------------------------------------------------- paths and env


def test_resolve_config_path_order() -> None:
    env = {"NFPBOT_CONFIG": "/etc/nfpbot/env.toml"}
    assert resolve_config_path("/srv/cli.toml", env) == Path("/srv/cli.toml")
    assert resolve_config_path(None, env) == Path("/etc/nfpbot/env.toml")
    assert resolve_config_path(None, {}) == Path("config.toml")
    assert resolve_config_path("", {"NFPBOT_CONFIG": ""}) == Path("config.toml")


def test_database_relative_to_config_folder(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    config = tmp_path / "etc" / "config.toml"
    config.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_config(config, env={}).database == tmp_path / "etc" / "nfpbot.sqlite3"


def test_database_absolute_path_kept(tmp_path: Path) -> None:
    db = tmp_path / "data" / "bot.sqlite3"
    config = tmp_path / "config.toml"
    text = SHIPPED.read_text(encoding="utf-8")
    config.write_text(text.replace('"nfpbot.sqlite3"', f'"{db.as_posix()}"'), encoding="utf-8")
    assert load_config(config, env={}).database == db


def test_nfpbot_db_overrides(tmp_path: Path) -> None:
    override = tmp_path / "elsewhere.sqlite3"
    config = load_config(SHIPPED, env={"NFPBOT_DB": str(override)})
    assert config.database == override
    assert load_config(SHIPPED, env={"NFPBOT_DB": ""}).database == ROOT / "nfpbot.sqlite3"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml", env={})


# --------------------------------------------------------------------------- value parsers


def test_weekly_time_parse_and_str() -> None:
    assert WeeklyTime.parse("Mon 09:00") == WeeklyTime(0, dt.time(9, 0))
    assert WeeklyTime.parse("sunday 23:59") == WeeklyTime(6, dt.time(23, 59))
    assert str(WeeklyTime.parse("thu 7:05")) == "Thu 07:05"
    assert WeeklyTime.parse("Tue 09:00") < WeeklyTime.parse("Wed 08:00")
    for bad in ("Mon", "Mon 24:00", "Mon 09:60", "Mnn 09:00", "09:00 Mon", ""):
        with pytest.raises(ValueError):
            WeeklyTime.parse(bad)


def test_durations() -> None:
    assert parse_duration("24h") == dt.timedelta(hours=24)
    assert parse_duration("0h") == dt.timedelta(0)
    assert parse_duration("1h30m") == dt.timedelta(minutes=90)
    assert parse_duration("2d") == dt.timedelta(days=2)
    assert format_duration(dt.timedelta(hours=24)) == "24h"
    assert format_duration(dt.timedelta(minutes=90)) == "1h30m"
    assert format_duration(dt.timedelta(0)) == "0h"
    for bad in ("", "h", "2 hours", "-1h", "1.5h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


# --------------------------------------------------------------------------- validation

BASE = """\
[bot]
database = "test.sqlite3"
languages = ["en", "ru"]
default_language = "en"
admins = [111]
invite_ttl_days = 7
log_level = "INFO"

[questionnaire]
version = 1

[[questionnaire.questions]]
key = "new_cases"
type = "number"
min = 0
max = 1000
label = { en = "Cases", ru = "Случаи" }

[[questionnaire.questions]]
key = "new_deaths"
type = "number"
min = 0
label = { en = "Deaths", ru = "Смерти" }

[[questionnaire.questions]]
key = "measures"
type = "choice"
label = { en = "Measures", ru = "Меры" }
options = [
  { key = "none", label = { en = "None", ru = "Нет" } },
  { key = "partial", label = { en = "Partial", ru = "Частичные" } },
]

[[questionnaire.questions]]
key = "developments"
type = "text"
required = false
max_length = 1000
label = { en = "Developments", ru = "События" }

[[questionnaire.checks]]
key = "deaths_above_cases"
kind = "greater_than"
field = "new_deaths"
other = "new_cases"
message = { en = "Deaths ({value}) above cases", ru = "Смертей ({value}) больше" }

[[questionnaire.checks]]
key = "cases_jump"
kind = "jump"
field = "new_cases"
factor = 10
min_base = 10
message = { en = "Jump to {value}", ru = "Скачок до {value}" }

[[topics]]
key = "lab"
label = { en = "Laboratory", ru = "Лаборатория" }

[[regions]]
key = "central-asia"
name = { en = "Central Asia", ru = "Центральная Азия" }
timezone = "Asia/Tashkent"
group_chat_id = -100123
admins = [222]

[regions.schedule]
prompt = "Mon 09:00"
reminders = ["Tue 09:00", "2h before deadline"]
deadline = "Wed 18:00"
digest = "Thu 10:00"
alternates_after = "24h"
secretariat_after = "0h"

[[regions.countries]]
iso3 = "KGZ"
timezone = "Asia/Bishkek"
status = "partner"
population = 6524000
"""

SECOND_REGION = """
[[regions]]
key = "{key}"
name = {{ en = "Other", ru = "Другой" }}
timezone = "Europe/Vienna"

[[regions.countries]]
iso3 = "{iso3}"
timezone = "Europe/Vienna"
"""

KGZ_BLOCK = """[[regions.countries]]
iso3 = "KGZ"
timezone = "Asia/Bishkek"
status = "partner"
population = 6524000
"""

OPTIONS_BLOCK = """options = [
  { key = "none", label = { en = "None", ru = "Нет" } },
  { key = "partial", label = { en = "Partial", ru = "Частичные" } },
]"""

Q = "questionnaire.questions"
R = "regions.central-asia"
S = "regions.central-asia.schedule"
DEATHS_CHECK = "questionnaire.checks.deaths_above_cases"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def edit(old: str | None, new: str) -> str:
    """The base config with one edit: replace a unique snippet, or append when old is None."""
    if old is None:
        return BASE + new
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_base_is_valid(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE), env={})
    assert config.database == tmp_path / "test.sqlite3"
    assert config.regions[0].group_chat_id == -100123
    assert config.admins == (111,)


# (id, old snippet or None to append, replacement, key the message must name, message fragment)
# fmt: off
BAD: list[tuple[str, str | None, str, str, str]] = [
    # unknown keys (typos)
    ("unknown-top-level", "[questionnaire]\n", "[questionaire]\n", "questionaire",
     "did you mean 'questionnaire'"),
    ("unknown-bot-key", "invite_ttl_days = 7", "invite_ttl_dayz = 7", "bot.invite_ttl_dayz",
     "unknown key"),
    ("unknown-question-key", "min = 0\nmax = 1000", "minimum = 0\nmax = 1000",
     f"{Q}.new_cases.minimum", "unknown key"),
    ("unknown-region-key", "admins = [222]", "admin = [222]", f"{R}.admin", "did you mean"),
    ("unknown-schedule-key", 'digest = "Thu 10:00"', 'digst = "Thu 10:00"', f"{S}.digst",
     "unknown key"),
    ("unknown-country-key", "population = 6524000", "populaton = 6524000",
     "regions.central-asia.countries.KGZ.populaton", "unknown key"),
    ("iso2-not-configurable", "population = 6524000", 'iso2 = "KG"',
     "regions.central-asia.countries.KGZ.iso2", "unknown key"),
    # wrong types
    ("min-string", "min = 0\nmax = 1000", 'min = "zero"\nmax = 1000', f"{Q}.new_cases.min",
     "expected an integer, got string 'zero'"),
    ("min-float", "min = 0\nmax = 1000", "min = 0.5\nmax = 1000", f"{Q}.new_cases.min",
     "expected an integer"),
    ("required-string", 'key = "new_deaths"', 'key = "new_deaths"\nrequired = "yes"',
     f"{Q}.new_deaths.required", "expected true or false"),
    ("admins-not-array", "admins = [111]", "admins = 111", "bot.admins", "expected an array"),
    ("label-plain-string", 'label = { en = "Deaths", ru = "Смерти" }', 'label = "Deaths"',
     f"{Q}.new_deaths.label", "expected a table of texts per language"),
    ("languages-not-strings", 'languages = ["en", "ru"]', 'languages = ["en", 1]',
     "bot.languages[1]", "expected a string"),
    ("group-chat-id-string", "group_chat_id = -100123", 'group_chat_id = "-100123"',
     f"{R}.group_chat_id", "expected an integer"),
    ("population-negative", "population = 6524000", "population = -5",
     "regions.central-asia.countries.KGZ.population", "must be positive"),
    # timezones
    ("country-timezone", 'timezone = "Asia/Bishkek"', 'timezone = "Asia/Bishkekk"',
     "regions.central-asia.countries.KGZ.timezone", "unknown IANA timezone 'Asia/Bishkekk'"),
    ("region-timezone", 'timezone = "Asia/Tashkent"', 'timezone = "UTC+5"', f"{R}.timezone",
     "unknown IANA timezone 'UTC+5'"),
    ("timezone-is-a-folder", 'timezone = "Asia/Bishkek"', 'timezone = "Asia"',
     "regions.central-asia.countries.KGZ.timezone", "unknown IANA timezone 'Asia'"),
    ("country-timezone-missing", 'timezone = "Asia/Bishkek"\n', "",
     "regions.central-asia.countries.KGZ.timezone", "missing required key"),
    # duplicates
    ("duplicate-question", 'key = "new_deaths"', 'key = "new_cases"', f"{Q}.new_cases.key",
     "duplicate question 'new_cases'"),
    ("duplicate-country-across-regions", None, SECOND_REGION.format(key="europe", iso3="KGZ"),
     "regions.europe.countries.KGZ.iso3", "already in region 'central-asia'"),
    ("duplicate-country-in-region", None, "\n" + KGZ_BLOCK,
     "regions.central-asia.countries.KGZ.iso3", "duplicate country 'KGZ'"),
    ("duplicate-region", None, SECOND_REGION.format(key="central-asia", iso3="AUT"), f"{R}.key",
     "duplicate region 'central-asia'"),
    ("duplicate-option", '{ key = "partial"', '{ key = "none"', f"{Q}.measures.options.none.key",
     "duplicate option 'none'"),
    ("duplicate-check", 'key = "cases_jump"', 'key = "deaths_above_cases"', f"{DEATHS_CHECK}.key",
     "duplicate check"),
    ("duplicate-topic", None, '\n[[topics]]\nkey = "lab"\nlabel = { en = "L", ru = "Л" }\n',
     "topics.lab.key", "duplicate topic"),
    ("duplicate-language", 'languages = ["en", "ru"]', 'languages = ["en", "ru", "en"]',
     "bot.languages[2]", "duplicate language"),
    # ISO3 codes
    ("unknown-iso3", 'iso3 = "KGZ"', 'iso3 = "KGG"', "regions.central-asia.countries.KGG.iso3",
     "unknown ISO3 code 'KGG'"),
    ("private-use-iso3", 'iso3 = "KGZ"', 'iso3 = "XXX"', "regions.central-asia.countries.XXX.iso3",
     "unknown ISO3 code 'XXX'"),
    ("ambiguous-iso3", 'iso3 = "KGZ"', 'iso3 = "SUN"', "regions.central-asia.countries.SUN.iso3",
     "unknown ISO3 code 'SUN'"),
    ("iso2-given-as-iso3", 'iso3 = "KGZ"', 'iso3 = "KG"', "regions.central-asia.countries[0].iso3",
     "ISO 3166 alpha-3"),
    # languages of labels, names and messages
    ("label-missing-ru", 'label = { en = "Deaths", ru = "Смерти" }', 'label = { en = "Deaths" }',
     f"{Q}.new_deaths.label", "missing language 'ru'"),
    ("label-empty", 'label = { en = "Deaths", ru = "Смерти" }', "label = {}",
     f"{Q}.new_deaths.label", "missing language 'en'"),
    ("label-blank-text", 'label = { en = "Deaths", ru = "Смерти" }',
     'label = { en = "Deaths", ru = " " }', f"{Q}.new_deaths.label.ru", "must not be empty"),
    ("label-unknown-language", 'label = { en = "Deaths", ru = "Смерти" }',
     'label = { en = "Deaths", ru = "Смерти", rus = "Смерти" }', f"{Q}.new_deaths.label.rus",
     "unknown language 'rus'"),
    ("option-label-missing-ru", '{ key = "none", label = { en = "None", ru = "Нет" } }',
     '{ key = "none", label = { en = "None" } }', f"{Q}.measures.options.none.label",
     "missing language 'ru'"),
    ("region-name-missing-ru", 'name = { en = "Central Asia", ru = "Центральная Азия" }',
     'name = { en = "Central Asia" }', f"{R}.name", "missing language 'ru'"),
    ("check-message-missing-ru",
     'message = { en = "Deaths ({value}) above cases", ru = "Смертей ({value}) больше" }',
     'message = { en = "Deaths above cases" }', f"{DEATHS_CHECK}.message",
     "missing language 'ru'"),
    ("topic-label-missing-ru", 'label = { en = "Laboratory", ru = "Лаборатория" }',
     'label = { en = "Laboratory" }', "topics.lab.label", "missing language 'ru'"),
    ("country-names-unknown-language", "population = 6524000", 'names = { ky = "Кыргызстан" }',
     "regions.central-asia.countries.KGZ.names.ky", "unknown language 'ky'"),
    # languages
    ("default-language-not-configured", 'default_language = "en"', 'default_language = "fr"',
     "bot.default_language", "'fr' is not in languages"),
    ("region-default-language", "admins = [222]", 'admins = [222]\ndefault_language = "de"',
     f"{R}.default_language", "'de' is not in languages"),
    ("unknown-language", 'languages = ["en", "ru"]', 'languages = ["en", "xx"]',
     "bot.languages[1]", "unknown language 'xx'"),
    ("no-languages", 'languages = ["en", "ru"]', "languages = []", "bot.languages",
     "at least one language"),
    # questions
    ("unknown-question-type", 'type = "choice"', 'type = "select"', f"{Q}.measures.type",
     "unknown question type 'select'"),
    ("choice-without-options", OPTIONS_BLOCK, "options = []", f"{Q}.measures.options",
     "needs at least one option"),
    ("choice-options-missing", OPTIONS_BLOCK, "", f"{Q}.measures.options",
     "needs at least one option"),
    ("options-on-number", "min = 0\nmax = 1000",
     'min = 0\nmax = 1000\noptions = [{ key = "a", label = { en = "A", ru = "А" } }]',
     f"{Q}.new_cases.options", "only allowed for choice/multi"),
    ("min-above-max", "min = 0\nmax = 1000", "min = 5000\nmax = 1000", f"{Q}.new_cases.min",
     "min 5000 is greater than max 1000"),
    ("max-length-too-long", "max_length = 1000", "max_length = 5000",
     f"{Q}.developments.max_length", "between 1 and 4032"),
    # screens must fit Telegram's 4,096 characters (issue 6, items 15 and 17)
    ("max-length-4096-with-its-label", "max_length = 1000", "max_length = 4096",
     f"{Q}.developments.max_length", "share one line"),
    ("label-too-long-for-a-screen", 'label = { en = "Deaths", ru = "Смерти" }',
     'label = { en = "' + "D" * 5000 + '", ru = "Смерти" }', f"{Q}.new_deaths.label.en",
     "do not fit one line of a screen"),
    ("label-and-longest-answer", 'label = { en = "Developments", ru = "События" }',
     'label = { en = "' + "😀" * 1600 + '", ru = "События" }', f"{Q}.developments.label.en",
     "lower max_length"),
    ("hint-too-long", 'label = { en = "Cases", ru = "Случаи" }',
     'label = { en = "Cases", ru = "Случаи" }\nhint = { en = "' + "h" * 4090
     + '", ru = "х" }', f"{Q}.new_cases.hint.en", "do not fit one screen"),
    ("language-without-catalog", 'languages = ["en", "ru"]', 'languages = ["en", "ru", "kk"]',
     "bot.languages[2]", "no translation catalog for 'kk'"),
    ("bad-question-key", 'key = "new_deaths"', 'key = "New Deaths"', f"{Q}[1].key",
     "expected a lowercase key"),
    # schedule
    ("bad-weekday", 'prompt = "Mon 09:00"', 'prompt = "Mnn 09:00"', f"{S}.prompt",
     "unknown weekday 'Mnn'"),
    ("bad-time", 'deadline = "Wed 18:00"', 'deadline = "Wed 25:00"', f"{S}.deadline",
     "invalid time of day"),
    ("bad-time-format", 'digest = "Thu 10:00"', 'digest = "Thursday"', f"{S}.digest",
     "like 'Mon 09:00'"),
    ("bad-reminder", '"Tue 09:00", "2h before deadline"', '"Tue 9am"', f"{S}.reminders[0]",
     "like 'Mon 09:00'"),
    ("bad-reminder-duration", '"Tue 09:00", "2h before deadline"',
     '"Tue 09:00", "2 hours before deadline"', f"{S}.reminders[1]", "expected a duration"),
    ("reminder-after-deadline", '"Tue 09:00", "2h before deadline"', '"Thu 09:00"',
     f"{S}.reminders[0]", "not between the prompt"),
    ("reminder-before-prompt", '"Tue 09:00", "2h before deadline"', '"3d before deadline"',
     f"{S}.reminders[0]", "not between the prompt"),
    ("duplicate-reminder", '"Tue 09:00", "2h before deadline"',
     '"Wed 16:00", "2h before deadline"', f"{S}.reminders[1]", "same time"),
    ("bad-duration", 'alternates_after = "24h"', 'alternates_after = "a day"',
     f"{S}.alternates_after", "expected a duration"),
    ("negative-duration", 'secretariat_after = "0h"', 'secretariat_after = "-1h"',
     f"{S}.secretariat_after", "expected a duration"),
    ("deadline-before-prompt", 'deadline = "Wed 18:00"', 'deadline = "Mon 08:00"', f"{S}.deadline",
     "is not after the prompt"),
    ("digest-before-deadline", 'digest = "Thu 10:00"', 'digest = "Wed 16:59"', f"{S}.digest",
     "before the deadline in KGZ"),
    # checks
    ("check-unknown-question", 'other = "new_cases"', 'other = "new_casez"',
     f"{DEATHS_CHECK}.other", "unknown question 'new_casez'"),
    ("check-non-number-question", 'other = "new_cases"', 'other = "measures"',
     f"{DEATHS_CHECK}.other", "is a choice question, not a number"),
    ("check-unknown-kind", 'kind = "greater_than"', 'kind = "bigger"', f"{DEATHS_CHECK}.kind",
     "unknown check kind 'bigger'"),
    ("check-same-question", 'other = "new_cases"', 'other = "new_deaths"', f"{DEATHS_CHECK}.other",
     "different question"),
    ("check-jump-factor", "factor = 10", "factor = 1", "questionnaire.checks.cases_jump.factor",
     "greater than 1"),
    ("check-jump-factor-nan", "factor = 10", "factor = nan",
     "questionnaire.checks.cases_jump.factor", "greater than 1"),
    ("check-jump-without-factor", "factor = 10\n", "", "questionnaire.checks.cases_jump.factor",
     "missing required key"),
    ("check-unknown-placeholder", '"Jump to {value}"', '"Jump to {cases}"',
     "questionnaire.checks.cases_jump.message.en", "unknown placeholder {cases}"),
    ("check-placeholder-of-other-kind", '"Jump to {value}"', '"Jump to {other_value}"',
     "questionnaire.checks.cases_jump.message.en", "unknown placeholder {other_value}"),
    ("check-placeholder-format-spec", '"Jump to {value}"', '"Jump to {value:,}"',
     "questionnaire.checks.cases_jump.message.en", "no format spec"),
    ("check-unbalanced-brace", '"Jump to {value}"', '"Jump to {value"',
     "questionnaire.checks.cases_jump.message.en", "bad placeholder syntax"),
    # regions, admins, bot
    ("region-without-countries", KGZ_BLOCK, "", f"{R}.countries", "at least one"),
    ("negative-bot-admin", "admins = [111]", "admins = [-111]", "bot.admins[0]",
     "user ids are positive"),
    ("negative-region-admin", "admins = [222]", "admins = [222, -5]", f"{R}.admins[1]",
     "user ids are positive"),
    ("positive-group-chat-id", "group_chat_id = -100123", "group_chat_id = 100123",
     f"{R}.group_chat_id", "negative"),
    ("bad-region-key", 'key = "central-asia"', 'key = "Central Asia"', "regions[0].key",
     "lowercase slug"),
    ("invite-ttl-zero", "invite_ttl_days = 7", "invite_ttl_days = 0", "bot.invite_ttl_days",
     "at least 1"),
    ("bad-log-level", 'log_level = "INFO"', 'log_level = "LOUD"', "bot.log_level",
     "expected one of DEBUG"),
    ("bad-status", 'status = "partner"', 'status = "member"',
     "regions.central-asia.countries.KGZ.status", "expected one of partner, observer, joining"),
    ("bad-version", "version = 1", "version = 0", "questionnaire.version", "at least 1"),
    # issue 6 item 12: a region's admins are that region's only; bot.admins are everywhere
    ("region-admin-also-deployment-wide", "admins = [222]", "admins = [111]", f"{R}.admins[0]",
     "111 is already a deployment-wide admin (bot.admins)"),
]
# fmt: on

# Cases that remove whole sections are easier to state as whole texts.
NO_QUESTIONS = (
    BASE.split("[[questionnaire.questions]]")[0] + "[[topics]]" + BASE.split("[[topics]]")[1]
)
WHOLE: list[tuple[str, str, str, str]] = [
    ("no-questions", NO_QUESTIONS, "questionnaire.questions", "at least one"),
    ("no-regions", BASE.split("[[regions]]")[0], "regions", "at least one [[regions]]"),
]


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [pytest.param(edit(old, new), key, fragment, id=id_) for id_, old, new, key, fragment in BAD]
    + [pytest.param(*case[1:], id=case[0]) for case in WHOLE],
)
def test_validation_error_names_the_key(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{key}: "), message
    assert info.value.key == key
    assert fragment in message, message


def test_a_russian_only_deployment_is_valid(tmp_path: Path) -> None:
    """``languages = ["ru"]`` is a real deployment: nothing may need an English text."""
    text = BASE.replace('languages = ["en", "ru"]\ndefault_language = "en"', 'languages = ["ru"]')
    text = re.sub(r'en = "[^"]*", ', "", text)
    config = load_config(write(tmp_path, text), env={})
    assert config.languages == ("ru",) and config.default_language == "ru"


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, edit("invite_ttl_days = 7", "invite_ttl_days = "))
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: TOML syntax error")
    assert "line 6, column 19" in message
    assert "\n" not in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes("[bot]\nlog_level = 'ÄÖ'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path, env={})


def test_region_without_questionnaire_needs_a_default(tmp_path: Path) -> None:
    text = BASE.split("[questionnaire]")[0] + "[[regions]]" + BASE.split("[[regions]]")[1]
    with pytest.raises(ConfigError, match=r"^regions\.central-asia\.questionnaire: missing"):
        load_config(write(tmp_path, text), env={})


# --------------------------------------------------------------------------- other shapes


def test_minimal_region_takes_defaults(tmp_path: Path) -> None:
    text = BASE.split("[regions.schedule]")[0] + KGZ_BLOCK
    text = text.replace("group_chat_id = -100123\nadmins = [222]\n", "")
    region = load_config(write(tmp_path, text), env={}).regions[0]
    assert region.group_chat_id is None
    assert region.admins == ()
    assert region.default_language == "en"
    schedule = region.schedule
    assert (str(schedule.prompt), str(schedule.deadline), str(schedule.digest)) == (
        "Mon 09:00", "Wed 18:00", "Thu 10:00"
    )  # fmt: skip
    assert schedule.reminders == (WeeklyTime(1, dt.time(9)), dt.timedelta(hours=2))
    assert schedule.alternates_after == dt.timedelta(hours=24)


def test_custom_deadline_drops_default_reminders_that_do_not_fit(tmp_path: Path) -> None:
    text = edit(
        '[regions.schedule]\nprompt = "Mon 09:00"\nreminders = ["Tue 09:00", "2h before deadline"]'
        '\ndeadline = "Wed 18:00"',
        '[regions.schedule]\nprompt = "Mon 09:00"\ndeadline = "Mon 18:00"',
    )
    schedule = load_config(write(tmp_path, text), env={}).regions[0].schedule
    assert schedule.reminders == (dt.timedelta(hours=2),)


def test_several_regions_each_with_own_questionnaire(tmp_path: Path) -> None:
    own = """
[regions.questionnaire]
version = 3
[[regions.questionnaire.questions]]
key = "notes"
type = "text"
label = { en = "Notes", ru = "Заметки" }
"""
    config = load_config(
        write(tmp_path, BASE + SECOND_REGION.format(key="europe", iso3="AUT") + own), env={}
    )
    assert [r.key for r in config.regions] == ["central-asia", "europe"]
    assert config.region_of("AUT").questionnaire.keys == ("notes",)
    assert config.region_of("AUT").questionnaire.version == 3
    assert config.region_of("KGZ").questionnaire.keys[0] == "new_cases"
    assert isinstance(config.region("europe").questionnaire, Questionnaire)
    assert config.country("AUT")[1].name("ru") == "Австрия"


def test_lowercase_iso3_is_normalised(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, edit('iso3 = "KGZ"', 'iso3 = "kgz"')), env={})
    assert config.country("KGZ")[1].iso2 == "KG"


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _leaves(v, (*path, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _leaves(v, (*path, i))]
    return [path]


def test_wrong_values_anywhere_give_config_errors_not_tracebacks() -> None:
    """Replace every value of the shipped config with values of the wrong shape."""
    data = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    bad: object
    for path in _leaves(data):
        for bad in ("", "x", -1, 1.5, True, [], {}, [{}], dt.time(9)):
            mutated = copy.deepcopy(data)
            target = mutated
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = bad
            try:
                parse_config(mutated, env={})
            except ConfigError as exc:
                assert "\n" not in str(exc)
