"""The same structures as attrs classes, structured by cattrs (forbid_extra_keys, strict ints)."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Literal

import attrs
import cattrs
from cattrs import transform_error


@functools.cache
def tzs() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


Texts = dict[str, str]


def _tz(inst, attribute, value):
    if value not in tzs():
        raise ValueError(f"unknown IANA timezone {value!r}")


@attrs.frozen
class Bot:
    database: str = "nfpbot.sqlite3"
    languages: list[str] = attrs.Factory(lambda: ["en", "ru"])
    default_language: str = "en"
    admins: list[int] = attrs.Factory(list)
    invite_ttl_days: int = 7
    log_level: str = "INFO"


@attrs.frozen
class Option:
    key: str
    label: Texts
    with_text: bool = False


@attrs.frozen
class Question:
    key: str
    type: Literal["number", "choice", "multi", "text"]
    label: Texts
    required: bool = True
    min: int | None = None
    max: int | None = None
    max_length: int = 1000
    options: list[Option] = attrs.Factory(list)
    carry_over: bool = False
    hint: Texts = attrs.Factory(dict)


@attrs.frozen
class Check:
    key: str
    kind: Literal["greater_than", "jump"]
    field: str
    other: str | None = None
    factor: float | None = None
    min_base: int = 0
    message: Texts = attrs.Factory(dict)


@attrs.frozen
class Questionnaire:
    questions: list[Question]
    version: int = 1
    checks: list[Check] = attrs.Factory(list)


@attrs.frozen
class Topic:
    key: str
    label: Texts


@attrs.frozen
class Schedule:
    prompt: str = "Mon 09:00"
    reminders: list[str] = attrs.Factory(lambda: ["Tue 09:00", "2h before deadline"])
    deadline: str = "Wed 18:00"
    digest: str = "Thu 10:00"
    alternates_after: str = "24h"
    secretariat_after: str = "0h"


@attrs.frozen
class Country:
    iso3: str
    timezone: str = attrs.field(validator=_tz)
    status: Literal["partner", "observer", "joining"] = "partner"
    population: int | None = None
    names: Texts = attrs.Factory(dict)


@attrs.frozen
class Region:
    key: str
    name: Texts
    timezone: str = attrs.field(validator=_tz)
    countries: list[Country] = attrs.field(factory=list)
    default_language: str | None = None
    group_chat_id: int = 0
    admins: list[int] = attrs.Factory(list)
    schedule: Schedule = Schedule()
    questionnaire: Questionnaire | None = None


@attrs.frozen
class Root:
    regions: list[Region]
    bot: Bot = Bot()
    questionnaire: Questionnaire | None = None
    topics: list[Topic] = attrs.Factory(list)


conv = cattrs.Converter(forbid_extra_keys=True)


# cattrs structures an int by calling int(): 0.5 -> 0, True -> 1, "7" -> 7. Make them strict.
def _strict(kind):
    def hook(v, _):
        if type(v) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(v).__name__} {v!r}")
        return v

    return hook


for k in (int, str, bool):
    conv.register_structure_hook(k, _strict(k))


def parse(data):
    return conv.structure(data, Root)


def error(data) -> str | None:
    try:
        parse(data)
    except Exception as e:  # ClassValidationError (an ExceptionGroup)
        msgs = transform_error(e)  # cattrs' own "one string per error" helper
        return f"{msgs[0]}  [{len(msgs)} msgs]"
    return None
