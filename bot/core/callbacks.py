"""Callback data: one small typed class per kind of button, packed and parsed only here.

Telegram does not check a callback query's data against the buttons the bot sent (a modified
client can send any bytes, on any of the bot's messages), so every field is bounded when it
is read back: integers to what SQLite and Telegram can hold, country codes to the config,
weeks to real ISO weeks, enumerations closed. Data that does not parse is refused in one
place (``handlers.common.on_callback``) with the stale-button answer; what a field names is
then checked again by the domain (the caller's role, region and assignment, the weeks the
product offers).

Each class has a distinct ``PREFIX`` and its ``pattern()`` is ``^PREFIX`` followed by ``:``
or the end, so the patterns are pairwise disjoint by construction (tests/core/test_callbacks.py
proves it, and that every packed value fits Telegram's 64 bytes). The formats are those the
bot has always sent, so keyboards already in people's chats keep working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal, Self, get_args

from bot.config import Config
from bot.core.week import Week

MAX_BYTES = 64  # Telegram's limit for callback_data
MAX_ROW_ID = 2**63 - 1  # SQLite INTEGER
MAX_USER_ID = 2**53 - 1  # Telegram: user ids have at most 52 significant bits
DELEGATION_DAYS = (7, 14, 28)  # the lengths /delegate offers (1, 2 and 4 weeks)
INVITE_KINDS = ("main", "alternate")
#: A questionnaire button's action: choose (c), toggle (t), done (d), skip (s), no change
#: since last week (nc), edit an answer (e), back to the review, confirm (ok), confirm despite
#: the warnings (ok!).
ReportAction = Literal["c", "t", "d", "s", "nc", "e", "back", "ok", "ok!"]
REPORT_ACTIONS: tuple[ReportAction, ...] = get_args(ReportAction)
ACTIONS_WITH_ARG: frozenset[ReportAction] = frozenset({"c", "t", "e"})
_ACTIONS: dict[str, ReportAction] = {a: a for a in REPORT_ACTIONS}

_ID = r"\d{1,19}"
_ISO3 = r"[A-Z]{3}"
_WEEK = r"2\d{3}-W\d{2}"
_KEY = r"[a-z][a-z0-9_]{0,31}"  # question and option keys (bot.config._KEY_RE)
_CODE = r"[A-Za-z0-9_-]{8,43}"  # invitation codes (secrets.token_urlsafe)
_LANG = r"[a-z]{2,3}(?:_[A-Z]{2})?"
_REGION = r"[a-z0-9][a-z0-9-]{0,31}"  # region keys (bot.config._REGION_KEY_RE)


class BadCallback(Exception):
    """Callback data that is not one the bot could have sent (forged, or from an old version)."""


def _int(text: str, maximum: int) -> int:
    value = int(text)
    if not 0 <= value <= maximum:
        raise BadCallback(text)
    return value


def _iso3(text: str, config: Config) -> str:
    try:
        config.country(text)
    except KeyError:
        raise BadCallback(text) from None
    return text


def _week(text: str) -> str:
    try:
        Week.parse(text)
    except ValueError:
        raise BadCallback(text) from None
    return text


def _one_of(text: str, allowed: tuple[str, ...] | frozenset[str]) -> str:
    if text not in allowed:
        raise BadCallback(text)
    return text


@dataclass(frozen=True)
class Callback:
    """Base: ``PREFIX`` plus a ``BODY`` regex with one named group per field (or no body)."""

    PREFIX: ClassVar[str]
    BODY: ClassVar[str | None] = None
    #: The handler reads the pressed message's buttons (``query.message.reply_markup``).
    #: Only these kinds get them: the rest are handed a pressed message without buttons or
    #: entities (``bot.wiring.request.UpdatesRequest``), as building them was most of the
    #: cost of reading a press.
    READS_PRESSED_BUTTONS: ClassVar[bool] = False

    @classmethod
    def pattern(cls) -> str:
        """The regex for PTB's ``CallbackQueryHandler``: this kind's shape, whole."""
        body = f":{cls.BODY}" if cls.BODY else ""
        return f"^{re.escape(cls.PREFIX)}{body}$"

    @classmethod
    def unpack(cls, data: str, config: Config) -> Self:
        """Parse and bound ``data``; :class:`BadCallback` when it is not one we could send."""
        match = re.fullmatch(cls.pattern(), data)
        if match is None:
            raise BadCallback(data)
        return cls._build(match.groupdict(), config)

    @classmethod
    def _build(cls, groups: dict[str, Any], config: Config) -> Self:
        return cls()

    def parts(self) -> list[str]:
        return [str(getattr(self, f.name)) for f in fields(self)]

    def pack(self) -> str:
        data = ":".join([self.PREFIX, *self.parts()])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data


# --- onboarding and admin ------------------------------------------------------------------


@dataclass(frozen=True)
class Language(Callback):
    """``lang:<code>``: a language of the config."""

    PREFIX = "lang"
    BODY = f"(?P<code>{_LANG})"
    code: str

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> Language:
        return cls(_one_of(g["code"], config.languages))


@dataclass(frozen=True)
class InviteCountry(Callback):
    """``invc:<ISO3>``: the country an invitation is for."""

    PREFIX = "invc"
    BODY = f"(?P<iso3>{_ISO3})"
    iso3: str

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> InviteCountry:
        return cls(_iso3(g["iso3"], config))


@dataclass(frozen=True)
class InviteKind(Callback):
    """``inv:<ISO3>:<main|alternate>``: create the invitation."""

    PREFIX = "inv"
    BODY = f"(?P<iso3>{_ISO3}):(?P<kind>{'|'.join(INVITE_KINDS)})"
    iso3: str
    kind: str

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> InviteKind:
        return cls(_iso3(g["iso3"], config), _one_of(g["kind"], INVITE_KINDS))


@dataclass(frozen=True)
class _RevokeTarget(Callback):
    """An NFP assignment (``a:<id>``) or an unused invitation (``i:<code>``)."""

    BODY = f"(?:a:(?P<aid>{_ID})|i:(?P<code>{_CODE}))"
    assignment_id: int | None = None
    code: str | None = None

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> Self:
        if g["aid"] is not None:
            return cls(assignment_id=_int(g["aid"], MAX_ROW_ID))
        return cls(code=g["code"])

    def parts(self) -> list[str]:
        return ["a", str(self.assignment_id)] if self.code is None else ["i", self.code]


@dataclass(frozen=True)
class RevokeAsk(_RevokeTarget):
    """``rv:a:<id>`` / ``rv:i:<code>``: ask to confirm the removal."""

    PREFIX = "rv"


@dataclass(frozen=True)
class RevokeConfirm(_RevokeTarget):
    """``rvy:a:<id>`` / ``rvy:i:<code>``: remove."""

    PREFIX = "rvy"


@dataclass(frozen=True)
class RevokeCancel(Callback):
    """``rvn``: remove nothing."""

    PREFIX = "rvn"


# --- the weekly report ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReportButton(Callback):
    """``r:<nonce>:<action>[:<key>]``: a questionnaire button (the nonce makes old ones stale)."""

    PREFIX = "r"
    BODY = f"(?P<nonce>{_ID}):(?P<action>{'|'.join(map(re.escape, REPORT_ACTIONS))})" + (
        f"(?::(?P<arg>{_KEY}))?"
    )
    nonce: int
    action: ReportAction
    arg: str = ""

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> ReportButton:
        action = _ACTIONS.get(g["action"])
        if action is None:
            raise BadCallback(g["action"])
        if (action in ACTIONS_WITH_ARG) != (g["arg"] is not None):
            raise BadCallback(action)
        return cls(_int(g["nonce"], MAX_ROW_ID), action, g["arg"] or "")

    def parts(self) -> list[str]:
        return [str(self.nonce), self.action, *([self.arg] if self.arg else [])]


@dataclass(frozen=True)
class _CountryWeek(Callback):
    BODY = f"(?P<iso3>{_ISO3}):(?P<week>{_WEEK})"
    iso3: str
    week: str

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> Self:
        return cls(_iso3(g["iso3"], config), _week(g["week"]))


@dataclass(frozen=True)
class OpenReport(_CountryWeek):
    """``rs:<ISO3>:<week>``: start or resume a report (prompts, reminders, clarifications)."""

    PREFIX = "rs"


@dataclass(frozen=True)
class TakeOver(_CountryWeek):
    """``rt:<ISO3>:<week>``: take over a report another NFP is filling in."""

    PREFIX = "rt"


@dataclass(frozen=True)
class PickCountry(Callback):
    """``rc:<ISO3>[:last]``: the country to report for (an NFP of several)."""

    PREFIX = "rc"
    BODY = f"(?P<iso3>{_ISO3})(?::(?P<last>last))?"
    iso3: str
    last: bool = False

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> PickCountry:
        return cls(_iso3(g["iso3"], config), g["last"] is not None)

    def parts(self) -> list[str]:
        return [self.iso3, *(["last"] if self.last else [])]


# --- follow-ups ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerClarification(Callback):
    """``cq:<id>``: the next text answers the secretariat's question."""

    PREFIX = "cq"
    BODY = f"(?P<cid>{_ID})"
    clarification_id: int

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> AnswerClarification:
        return cls(_int(g["cid"], MAX_ROW_ID))


@dataclass(frozen=True)
class ReviseWeek(_CountryWeek):
    """``rvw:<ISO3>:<week>``: which figure of that week?"""

    PREFIX = "rvw"


@dataclass(frozen=True)
class ReviseField(Callback):
    """``rvf:<ISO3>:<week>:<key>``: revise one number question of that week."""

    PREFIX = "rvf"
    BODY = f"(?P<iso3>{_ISO3}):(?P<week>{_WEEK}):(?P<key>{_KEY})"
    iso3: str
    week: str
    key: str

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> ReviseField:
        iso3 = _iso3(g["iso3"], config)
        region, _ = config.country(iso3)
        numbers = tuple(q.key for q in region.questionnaire.questions if q.type == "number")
        return cls(iso3, _week(g["week"]), _one_of(g["key"], numbers))


@dataclass(frozen=True)
class DelegateTo(Callback):
    """``dg:<ISO3>:<user id>``: hand the reports to this colleague; for how long?"""

    PREFIX = "dg"
    BODY = f"(?P<iso3>{_ISO3}):(?P<to>{_ID})"
    iso3: str
    to_id: int

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> DelegateTo:
        return cls(_iso3(g["iso3"], config), _int(g["to"], MAX_USER_ID))


@dataclass(frozen=True)
class DelegateFor(Callback):
    """``dgu:<ISO3>:<user id>:<days>``: record the delegation (days: one offered length)."""

    PREFIX = "dgu"
    BODY = f"(?P<iso3>{_ISO3}):(?P<to>{_ID}):(?P<days>\\d{{1,2}})"
    iso3: str
    to_id: int
    days: int

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> DelegateFor:
        days = int(g["days"])
        if days not in DELEGATION_DAYS:
            raise BadCallback(g["days"])
        return cls(_iso3(g["iso3"], config), _int(g["to"], MAX_USER_ID), days)


# --- the secretariat's group ----------------------------------------------------------------


@dataclass(frozen=True)
class MoveDigest(Callback):
    """``gm:<region key>``: pressed in a group, move that region's digest to it."""

    PREFIX = "gm"
    BODY = f"(?P<region>{_REGION})"
    region: str

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> MoveDigest:
        return cls(_one_of(g["region"], frozenset(r.key for r in config.regions)))


@dataclass(frozen=True)
class KeepDigest(Callback):
    """``gk``: pressed in a group, leave every digest where it is (the bot leaves)."""

    PREFIX = "gk"


# --- guidance: the library, subscriptions, privacy ------------------------------------------

GUIDANCE_SOURCES = ("who", "ecdc", "secretariat")
_FLAG = r"[01]"


def _topic(text: str, config: Config) -> str:
    return _one_of(text, tuple(t.key for t in config.topics))


@dataclass(frozen=True)
class _ItemId(Callback):
    BODY = f"(?P<item>{_ID})"
    item_id: int

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> Self:
        return cls(_int(g["item"], MAX_ROW_ID))


@dataclass(frozen=True)
class GuidanceOpen(_ItemId):
    """``go:<item id>``: show (or send) the item, or say it was withdrawn."""

    PREFIX = "go"


@dataclass(frozen=True)
class GuidanceRead(_ItemId):
    """``grd:<item id>``: an NFP acknowledges the alert (once, whatever the taps)."""

    PREFIX = "grd"


@dataclass(frozen=True)
class GuidancePage(Callback):
    """``gpg:<search id>:<page>``: a page of /guidance (search 0: the latest items)."""

    PREFIX = "gpg"
    BODY = f"(?P<search>{_ID}):(?P<page>\\d{{1,6}})"
    search_id: int
    page: int

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> GuidancePage:
        return cls(_int(g["search"], MAX_ROW_ID), int(g["page"]))


@dataclass(frozen=True)
class SubTopic(Callback):
    """``gst:<topic>:<0|1>``: receive (1) or not (0) alerts on a topic of the config."""

    PREFIX = "gst"
    BODY = f"(?P<topic>{_KEY}):(?P<on>{_FLAG})"
    topic: str
    on: int

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> SubTopic:
        return cls(_topic(g["topic"], config), int(g["on"]))


@dataclass(frozen=True)
class SubLanguage(Callback):
    """``gsl:<lang>:<0|1>``: receive (1) or not (0) items in a language of the config."""

    PREFIX = "gsl"
    BODY = f"(?P<code>{_LANG}):(?P<on>{_FLAG})"
    code: str
    on: int

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> SubLanguage:
        return cls(_one_of(g["code"], config.languages), int(g["on"]))


@dataclass(frozen=True)
class SubscribeOn(Callback):
    """``gsy``: subscribe (again), keeping earlier choices."""

    PREFIX = "gsy"


@dataclass(frozen=True)
class SubscribeOff(Callback):
    """``gsn``: unsubscribe from every alert (the button under each alert)."""

    PREFIX = "gsn"
    READS_PRESSED_BUTTONS = True  # under an alert, or on the /subscribe screen


#: What an admin can do to a guidance broadcast from /guidance status.
BROADCAST_ACTIONS = ("pause", "resume", "cancel")


@dataclass(frozen=True)
class BroadcastControl(Callback):
    """``gbc:<broadcast id>:<action>``: pause, resume or cancel an alert broadcast (admins)."""

    PREFIX = "gbc"
    BODY = f"(?P<id>{_ID}):(?P<action>[a-z]{{1,8}})"
    broadcast_id: int
    action: str

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> Self:
        return cls(_int(g["id"], MAX_ROW_ID), _one_of(g["action"], BROADCAST_ACTIONS))


@dataclass(frozen=True)
class DraftTopic(Callback):
    """``gdt:<topic>:<0|1>``: the admin's draft item is (not) on this topic."""

    PREFIX = "gdt"
    BODY = f"(?P<topic>{_KEY}):(?P<on>{_FLAG})"
    topic: str
    on: int

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> DraftTopic:
        return cls(_topic(g["topic"], config), int(g["on"]))


@dataclass(frozen=True)
class DraftLanguage(Callback):
    """``gdl:<lang>``: the draft item's language."""

    PREFIX = "gdl"
    BODY = f"(?P<code>{_LANG})"
    code: str

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> DraftLanguage:
        return cls(_one_of(g["code"], config.languages))


@dataclass(frozen=True)
class DraftSource(Callback):
    """``gds:<source>``: who published the draft item."""

    PREFIX = "gds"
    BODY = f"(?P<source>{'|'.join(GUIDANCE_SOURCES)})"
    source: str

    @classmethod
    def _build(cls, g: dict[str, Any], config: Config) -> DraftSource:
        return cls(_one_of(g["source"], GUIDANCE_SOURCES))


@dataclass(frozen=True)
class DraftSave(Callback):
    """``gdy``: add the draft to the library (and alert its subscribers) or save the edit."""

    PREFIX = "gdy"


@dataclass(frozen=True)
class DraftCancel(Callback):
    """``gdn``: drop the draft."""

    PREFIX = "gdn"


@dataclass(frozen=True)
class DraftUpdateExisting(_ItemId):
    """``gdu:<item id>``: the link is already in the library; update that item instead."""

    PREFIX = "gdu"


@dataclass(frozen=True)
class ItemEdit(_ItemId):
    """``gie:<item id>``: edit an item's topics, language and source."""

    PREFIX = "gie"


@dataclass(frozen=True)
class ItemWithdraw(_ItemId):
    """``giw:<item id>``: ask to confirm withdrawing an item."""

    PREFIX = "giw"


@dataclass(frozen=True)
class ItemWithdrawConfirm(_ItemId):
    """``giy:<item id>``: withdraw it."""

    PREFIX = "giy"


@dataclass(frozen=True)
class ForgetConfirm(Callback):
    """``fmy``: yes, remove my personal data."""

    PREFIX = "fmy"


@dataclass(frozen=True)
class ForgetCancel(Callback):
    """``fmn``: keep everything."""

    PREFIX = "fmn"


#: Every kind, for the handler table and the tests.
ALL: tuple[type[Callback], ...] = (
    Language,
    InviteCountry,
    InviteKind,
    RevokeAsk,
    RevokeConfirm,
    RevokeCancel,
    ReportButton,
    OpenReport,
    TakeOver,
    PickCountry,
    AnswerClarification,
    ReviseWeek,
    ReviseField,
    DelegateTo,
    DelegateFor,
    MoveDigest,
    KeepDigest,
    GuidanceOpen,
    GuidanceRead,
    GuidancePage,
    SubTopic,
    SubLanguage,
    SubscribeOn,
    SubscribeOff,
    BroadcastControl,
    DraftTopic,
    DraftLanguage,
    DraftSource,
    DraftSave,
    DraftCancel,
    DraftUpdateExisting,
    ItemEdit,
    ItemWithdraw,
    ItemWithdrawConfirm,
    ForgetConfirm,
    ForgetCancel,
)


def reading_pressed_buttons() -> frozenset[str]:
    """The prefixes of the kinds whose handlers read the pressed message's buttons."""
    return frozenset(k.PREFIX for k in ALL if k.READS_PRESSED_BUTTONS)
