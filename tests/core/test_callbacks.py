"""The callback registry: patterns pairwise disjoint, every packed value within 64 bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.core import callbacks as cb

ROOT = Path(__file__).resolve().parents[2]
MAX_KEY = "k" * 32  # the longest question/option key config accepts (bot.config._KEY_RE)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(ROOT / "config.toml", {"NFPBOT_DB": ":memory:"})


def biggest(config: Config) -> dict[type[cb.Callback], list[cb.Callback]]:
    """For each kind, values with every field at its largest."""
    iso3, week, days = "KGZ", "2099-W53", max(cb.DELEGATION_DAYS)
    return {
        cb.Language: [cb.Language(max(config.languages, key=len))],
        cb.InviteCountry: [cb.InviteCountry(iso3)],
        cb.InviteKind: [cb.InviteKind(iso3, k) for k in cb.INVITE_KINDS],
        cb.RevokeAsk: [cb.RevokeAsk(assignment_id=cb.MAX_ROW_ID), cb.RevokeAsk(code="x" * 43)],
        cb.RevokeConfirm: [
            cb.RevokeConfirm(assignment_id=cb.MAX_ROW_ID),
            cb.RevokeConfirm(code="-" * 43),
        ],
        cb.RevokeCancel: [cb.RevokeCancel()],
        cb.ReportButton: [
            cb.ReportButton(cb.MAX_ROW_ID, a, MAX_KEY if a in cb.ACTIONS_WITH_ARG else "")
            for a in cb.REPORT_ACTIONS
        ],
        cb.OpenReport: [cb.OpenReport(iso3, week)],
        cb.TakeOver: [cb.TakeOver(iso3, week)],
        cb.PickCountry: [cb.PickCountry(iso3), cb.PickCountry(iso3, last=True)],
        cb.AnswerClarification: [cb.AnswerClarification(cb.MAX_ROW_ID)],
        cb.ReviseWeek: [cb.ReviseWeek(iso3, week)],
        cb.ReviseField: [cb.ReviseField(iso3, week, MAX_KEY)],
        cb.DelegateTo: [cb.DelegateTo(iso3, cb.MAX_USER_ID)],
        cb.DelegateFor: [cb.DelegateFor(iso3, cb.MAX_USER_ID, days)],
        # region keys are at most 32 characters (bot.config)
        cb.MoveDigest: [cb.MoveDigest("r" * 32)],
        cb.KeepDigest: [cb.KeepDigest()],
        # guidance: topic keys are config keys (at most 32 characters, bot.config)
        cb.GuidanceOpen: [cb.GuidanceOpen(cb.MAX_ROW_ID)],
        cb.GuidanceRead: [cb.GuidanceRead(cb.MAX_ROW_ID)],
        cb.GuidancePage: [cb.GuidancePage(cb.MAX_ROW_ID, 999999)],
        cb.SubTopic: [cb.SubTopic(MAX_KEY, on) for on in (0, 1)],
        cb.SubLanguage: [cb.SubLanguage(max(config.languages, key=len), 1)],
        cb.SubscribeOn: [cb.SubscribeOn()],
        cb.SubscribeOff: [cb.SubscribeOff()],
        cb.BroadcastControl: [cb.BroadcastControl(cb.MAX_ROW_ID, a) for a in cb.BROADCAST_ACTIONS],
        cb.DraftTopic: [cb.DraftTopic(MAX_KEY, 1)],
        cb.DraftLanguage: [cb.DraftLanguage(max(config.languages, key=len))],
        cb.DraftSource: [cb.DraftSource(s) for s in cb.GUIDANCE_SOURCES],
        cb.DraftSave: [cb.DraftSave()],
        cb.DraftCancel: [cb.DraftCancel()],
        cb.DraftUpdateExisting: [cb.DraftUpdateExisting(cb.MAX_ROW_ID)],
        cb.ItemEdit: [cb.ItemEdit(cb.MAX_ROW_ID)],
        cb.ItemWithdraw: [cb.ItemWithdraw(cb.MAX_ROW_ID)],
        cb.ItemWithdrawConfirm: [cb.ItemWithdrawConfirm(cb.MAX_ROW_ID)],
        cb.ForgetConfirm: [cb.ForgetConfirm()],
        cb.ForgetCancel: [cb.ForgetCancel()],
    }


def test_every_kind_is_registered_once_with_its_own_prefix() -> None:
    prefixes = [kind.PREFIX for kind in cb.ALL]
    assert len(set(prefixes)) == len(prefixes)
    assert all(":" not in p and p for p in prefixes)
    # each pattern is ^PREFIX followed by ":" or the end: with distinct prefixes free of ":",
    # no string can match two of them
    for kind in cb.ALL:
        assert re.fullmatch(rf"\^{re.escape(kind.PREFIX)}(:.*)?\$", kind.pattern()), kind


def test_patterns_are_pairwise_disjoint_and_packed_values_fit(config: Config) -> None:
    samples = biggest(config)
    assert set(samples) == set(cb.ALL)
    for kind, values in samples.items():
        for value in values:
            data = value.pack()
            assert len(data.encode()) <= cb.MAX_BYTES, data
            matching = [k for k in cb.ALL if re.match(k.pattern(), data)]
            assert matching == [kind], (data, matching)


def test_unpack_round_trips_the_shipped_values(config: Config) -> None:
    q = config.regions[0].questionnaire
    number_key = next(x.key for x in q.questions if x.type == "number")
    for value in (
        cb.Language("ru"),
        cb.InviteKind("MNG", "alternate"),
        cb.RevokeConfirm(assignment_id=12),
        cb.RevokeAsk(code="AbC_-123xyz45678"),
        cb.ReportButton(7, "e", number_key),
        cb.ReportButton(7, "ok!"),
        cb.OpenReport("KGZ", "2026-W47"),
        cb.PickCountry("AFG", last=True),
        cb.ReviseField("KGZ", "2026-W47", number_key),
        cb.DelegateFor("KGZ", 42, 14),
        cb.MoveDigest(config.regions[0].key),
        cb.KeepDigest(),
        cb.GuidanceOpen(3),
        cb.GuidancePage(0, 2),
        cb.SubTopic(config.topics[0].key, 1),
        cb.SubLanguage("ru", 0),
        cb.DraftTopic(config.topics[-1].key, 0),
        cb.DraftSource("ecdc"),
        cb.ItemWithdrawConfirm(9),
        cb.BroadcastControl(4, "cancel"),
        cb.ForgetConfirm(),
    ):
        data = value.pack()
        assert type(value).unpack(data, config) == value


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (cb.DelegateFor, "dgu:KGZ:7:92"),  # a length never offered
        (cb.DelegateTo, "dg:KGZ:" + "9" * 19),  # beyond Telegram's user ids
        (cb.AnswerClarification, "cq:" + "9" * 25),
        (cb.AnswerClarification, "cq:9999999999999999999"),  # beyond SQLite's INTEGER
        (cb.RevokeConfirm, "rvy:a:" + "9" * 25),
        (cb.OpenReport, "rs:KGZ:0001-W01"),
        (cb.OpenReport, "rs:KGZ:2026-W54"),
        (cb.OpenReport, "rs:KGZ:2025-W53"),  # 2025 has 52 ISO weeks
        (cb.ReviseWeek, "rvw:KGZ:2٠٢٦-W47"),  # Arabic-Indic digits: not the stored form
        (cb.OpenReport, "rs:ZZZ:2026-W47"),
        (cb.InviteKind, "inv:KGZ:boss"),
        (cb.Language, "lang:xx"),
        (cb.ReportButton, "r:1:e"),  # edit needs its question
        (cb.ReportButton, "r:1:ok:x"),  # confirm takes none
        (cb.ReportButton, "r:1:zap"),
        (cb.ReviseField, "rvf:KGZ:2026-W47:measures"),  # not a number question
        (cb.MoveDigest, "gm:no-such-region"),
        (cb.KeepDigest, "gk:x"),
        (cb.SubTopic, "gst:no_such_topic:1"),  # not a topic of the config
        (cb.SubTopic, "gst:covid19:2"),
        (cb.SubLanguage, "gsl:de:1"),
        (cb.DraftSource, "gds:cdc"),
        (cb.GuidanceOpen, "go:" + "9" * 25),
        (cb.GuidancePage, "gpg:1:1234567"),
        (cb.ForgetConfirm, "fmy:1"),
        (cb.BroadcastControl, "gbc:4:delete"),  # not an action offered
        (cb.BroadcastControl, "gbc:" + "9" * 25 + ":pause"),
    ],
)
def test_out_of_bounds_data_is_refused(config: Config, kind: type[cb.Callback], data: str) -> None:
    with pytest.raises(cb.BadCallback):
        kind.unpack(data, config)
