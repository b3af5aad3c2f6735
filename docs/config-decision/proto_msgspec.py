"""bot + questionnaire + topics + regions as msgspec Structs (forbid_unknown_fields, strict)."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Literal

import msgspec


@functools.cache
def tzs() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


Texts = dict[str, str]


class S(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class Bot(S):
    database: str = "nfpbot.sqlite3"
    languages: list[str] = msgspec.field(default_factory=lambda: ["en", "ru"])
    default_language: str = "en"
    admins: list[int] = []
    invite_ttl_days: int = 7
    log_level: str = "INFO"


class Option(S):
    key: str
    label: Texts
    with_text: bool = False


class Question(S):
    key: str
    type: Literal["number", "choice", "multi", "text"]
    label: Texts
    required: bool = True
    min: int | None = None
    max: int | None = None
    max_length: int = 1000
    options: list[Option] = []
    carry_over: bool = False
    hint: Texts = {}


class Check(S):
    key: str
    kind: Literal["greater_than", "jump"]
    field: str
    other: str | None = None
    factor: float | None = None
    min_base: int = 0
    message: Texts = {}


class Questionnaire(S):
    questions: list[Question]
    version: int = 1
    checks: list[Check] = []


class Topic(S):
    key: str
    label: Texts


class Schedule(S):
    prompt: str = "Mon 09:00"
    reminders: list[str] = msgspec.field(
        default_factory=lambda: ["Tue 09:00", "2h before deadline"]
    )
    deadline: str = "Wed 18:00"
    digest: str = "Thu 10:00"
    alternates_after: str = "24h"
    secretariat_after: str = "0h"


class Country(S):
    iso3: str
    timezone: str
    status: Literal["partner", "observer", "joining"] = "partner"
    population: int | None = None
    names: Texts = {}

    def __post_init__(self) -> None:
        if self.timezone not in tzs():
            raise ValueError(f"unknown IANA timezone {self.timezone!r}")


class Region(S):
    key: str
    name: Texts
    timezone: str
    countries: list[Country]
    default_language: str | None = None
    group_chat_id: int = 0
    admins: list[int] = []
    schedule: Schedule = Schedule()
    questionnaire: Questionnaire | None = None


class Root(S):
    regions: list[Region]
    bot: Bot = Bot()
    questionnaire: Questionnaire | None = None
    topics: list[Topic] = []


def parse(data):
    return msgspec.convert(data, Root, strict=True)


def error(data) -> str | None:
    try:
        parse(data)
    except msgspec.ValidationError as e:
        return str(e)
    return None
