"""The same structures as pydantic v2 models (extra='forbid', strict, frozen)."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError


@functools.cache
def tzs() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


Texts = dict[str, str]


def _tz(v: str) -> str:
    if v not in tzs():
        raise ValueError(f"unknown IANA timezone {v!r}")
    return v


Timezone = Annotated[str, AfterValidator(_tz)]


class M(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Bot(M):
    database: str = "nfpbot.sqlite3"
    languages: list[str] = ["en", "ru"]
    default_language: str = "en"
    admins: list[int] = []
    invite_ttl_days: int = 7
    log_level: str = "INFO"


class Option(M):
    key: str
    label: Texts
    with_text: bool = False


class Question(M):
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


class Check(M):
    key: str
    kind: Literal["greater_than", "jump"]
    field: str
    other: str | None = None
    factor: float | None = None
    min_base: int = 0
    message: Texts = {}


class Questionnaire(M):
    questions: list[Question]
    version: int = 1
    checks: list[Check] = []


class Topic(M):
    key: str
    label: Texts


class Schedule(M):
    prompt: str = "Mon 09:00"
    reminders: list[str] = ["Tue 09:00", "2h before deadline"]
    deadline: str = "Wed 18:00"
    digest: str = "Thu 10:00"
    alternates_after: str = "24h"
    secretariat_after: str = "0h"


class Country(M):
    iso3: str
    timezone: Timezone
    status: Literal["partner", "observer", "joining"] = "partner"
    population: int | None = None
    names: Texts = {}


class Region(M):
    key: str
    name: Texts
    timezone: Timezone
    countries: list[Country]
    default_language: str | None = None
    group_chat_id: int = 0
    admins: list[int] = []
    schedule: Schedule = Schedule()
    questionnaire: Questionnaire | None = None


class Root(M):
    regions: list[Region]
    bot: Bot = Bot()
    questionnaire: Questionnaire | None = None
    topics: list[Topic] = []


def parse(data):
    return Root.model_validate(data)


def error(data) -> str | None:
    try:
        parse(data)
    except ValidationError as e:
        first = e.errors()[0]  # the best one-line form pydantic offers: loc + msg
        loc = ".".join(str(p) for p in first["loc"])
        lines = str(e).count("\n") + 1
        return f"{loc}: {first['msg']}  [{e.error_count()} errors; str(e) has {lines} lines]"
    return None
