"""The weekly report conversation: start or resume, answer, review, confirm, amend.

All state is in SQLite (``reports``, ``answers``, ``sessions``): every answer is written the
moment it is given, so a restart resumes at the next unanswered question. Functions return a
:class:`Screen` describing what the person should see next; handlers render it.

Buttons carry the session's ``nonce``; a press with an older nonce is stale (a double tap, or
a keyboard from an earlier question) and changes nothing.

A typed answer belongs to the screen that was on display when it was typed: the session
records the message id of the screen shown (:func:`screen_shown`), and since a private
chat's message ids grow on both sides, a message with a lower id was typed before that
screen appeared and is not taken as its answer (the person is asked instead). Answers keep
the id of the message they came from, so an edit of that message corrects that answer.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from bot.config import Question, Questionnaire, Region
from bot.core.callbacks import ReportAction
from bot.core.i18n import translator
from bot.core.services import Services
from bot.outbox import delivery
from bot.people.roles import log_refusal
from bot.reporting import cycle, texts
from bot.reporting.questionnaire import (
    AnswerError,
    Warning,
    carried_over,
    changed_since,
    check_option,
    is_complete,
    needs_other_text,
    next_unanswered,
    parse_number,
    parse_text,
    plausibility,
    toggle,
)
from storage import audit, outbox, people
from storage import reports as store
from storage.db import Changed, Conn, Database, Tx
from storage.followups import Revision
from storage.people import Person
from storage.reports import Report, Session, SessionMode, Step

T = TypeVar("T")

# A session's step: a question's key, or one of these (the prefixed ones carry an argument)
REVIEW = "review"
WARNINGS = "warnings"
OTHER = "other:"  # + question key: waiting for the text of an "other" option
CONFIRMED = "confirmed:"  # + report id: idle, the last thing done was confirming it
TAKEN = "taken:"  # + report id: idle, another NFP took the report over (data: by whom)

ScreenKind = Literal[
    "question",  # a question of the questionnaire (session screens: these four)
    "review",  # every answer, to check and confirm
    "warnings",  # the review with plausibility warnings to confirm or correct
    "other_text",  # waiting for the text of an "other" option
    "confirmed",  # thanks: the report or amendment is saved
    "pick_country",  # an NFP of several countries: which one?
    "busy",  # another NFP is filling it in: take it over?
    "taken_over",  # this person's report was taken over
    "not_nfp",  # no longer an NFP of the country: closed for them
    "idle",  # no report open
    "stale",  # a button of no open report
    "edit_ignored",  # an edited message that answered nothing
    "edit_confirmed",  # an edited answer of a confirmed report: amend instead
]
# how the button press that led to a screen changed things
Hint = Literal["", "answered", "toggled", "corrected"]


@dataclass
class Screen:
    """What to show next. ``kind`` names the screen; the other fields fill it in."""

    kind: ScreenKind
    iso3: str = ""
    week: str = ""
    nonce: int = 0
    question: Question | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    last_week: dict[str, Any] | None = None
    changed: set[str] = field(default_factory=set)
    selection: dict[str, Any] | None = None
    error: AnswerError | None = None
    warnings: list[Warning] = field(default_factory=list)
    other_person: Person | None = None
    report: Report | None = None
    countries: list[str] = field(default_factory=list)
    previous: bool = False  # pick_country: for the previous week (/report last)
    late: bool = False
    after_digest: bool = False
    version: int = 0
    offer_no_change: bool = False
    position: int = 0  # 1-based number of the question shown
    total: int = 0
    mode: SessionMode = "fill"
    hint: Hint = ""
    revised: dict[str, Revision] = field(default_factory=dict)  # key -> latest /revise of it
    corrected: str = ""  # the key of the answer an edited message just corrected
    # the screen on display before this one: its buttons go once this one is shown
    shown_before: int | None = None
    shown_keyboard: bool = False
    # the language the person chose (None: not chosen), loaded with the screen's data when
    # ``language_loaded``: the reply then needs no read of its own to pick its translator
    language: str | None = None
    language_loaded: bool = False


SESSION_SCREENS: frozenset[ScreenKind] = frozenset({"question", "review", "warnings", "other_text"})


class NotAnNfp(Exception):
    """Only an NFP assigned to a country can report for it."""


def questionnaire_for(svc: Services, iso3: str) -> tuple[Region, Questionnaire]:
    region, _ = svc.config.country(iso3)
    return region, region.questionnaire


async def _countries_of(svc: Services, tg_id: int) -> list[str]:
    return [a.iso3 for a in await people.assignments_of(svc.db, tg_id)]


async def open_report(
    svc: Services,
    tg_id: int,
    *,
    iso3: str | None = None,
    week: str | None = None,
    previous: bool = False,
    take_over: bool = False,
) -> Screen:
    """Start or resume a country's report for a week (default: the week to report now)."""
    countries = await _countries_of(svc, tg_id)
    if iso3 is None and len(countries) > 1:
        return Screen("pick_country", countries=countries, previous=previous)
    iso3 = iso3 or (countries[0] if countries else None)
    if iso3 is None or iso3 not in countries:
        await log_refusal(svc, tg_id, "report", "not_nfp")
        raise NotAnNfp()
    region, country = svc.config.country(iso3)
    now = svc.clock.now()
    current = cycle.current_week(region, country, now)
    if week is None:
        week = cycle.shift_week(current, -1) if previous else current
    elif not await _offered_week(svc, iso3, week, current):
        raise ValueError(f"not a week that can be reported: {week!r}")
    q = region.questionnaire

    def plan(
        answers: dict[str, Any], old: Session | None, report_id: int
    ) -> tuple[str, dict[str, Any] | None]:
        step = _next_step(q, answers)
        return step, _kept(old, report_id, step)

    try:  # the common case, in one round trip: a report nobody else edits, not confirmed
        async with svc.db.transaction() as tx:
            state = await store.open_plain(
                tx, now, iso3, week, q.version, tg_id, plan, _week_before
            )
            return await _screen(tx, svc, tg_id, state)
    except store.NotPlain:
        pass
    async with svc.db.transaction() as tx:
        report = await store.get_or_create(tx, now, iso3, week, region.questionnaire.version)
        if report.editor not in (None, tg_id) and not take_over:
            editor_session = await store.session(tx, report.editor)
            if editor_session is not None and editor_session.report_id == report.id:
                other = await people.get(tx, report.editor)
                return Screen("busy", iso3=iso3, week=week, other_person=other, report=report)
        handed_over = report.editor not in (None, tg_id)
        if handed_over:
            await _hand_over(tx, svc, now, report, tg_id)
        await store.set_editor(tx, now, report.id, tg_id)
        fresh = await store.get(tx, report.id)
        assert fresh is not None
        report = fresh
        mode: SessionMode = "amend" if report.confirmed else "fill"
        answers = await store.answers(tx, report.id)
        if report.confirmed and not answers:
            latest = await store.latest_version(tx, report.id)
            answers = dict(latest.answers) if latest else {}
            await store.replace_answers(tx, now, report.id, answers, tg_id)
        q = region.questionnaire
        step = REVIEW if report.confirmed else _next_step(q, answers)
        await store.set_session(
            tx, now, tg_id, report.id, step, mode, await _kept_data(tx, tg_id, report.id, step)
        )
        screen = await _screen(tx, svc, tg_id)
    if handed_over:
        svc.wake_outbox()  # the previous editor's notice
    return screen


async def _offered_week(svc: Services, iso3: str, week: str, current: str) -> bool:
    """Only weeks the product offers a button for: this week and the previous one (/report,
    /report last), and an earlier week it prompted for or that has a report (a late prompt's
    or reminder's button, a clarification's "Correct the report"). Callback data can be
    forged, so a week in it is checked here, never trusted."""
    if cycle.parse_week(week, current) != week:  # a real ISO week, not after the current one
        return False
    if week in (current, cycle.shift_week(current, -1)):
        return True
    if await store.find(svc.db, iso3, week) is not None:
        return True
    return "prompt" in await store.events(svc.db, iso3, week)


async def _hand_over(tx: Tx, svc: Services, now: datetime, report: Report, to: int) -> None:
    """The other NFP loses the report (their next tap says so) and is told at once."""
    assert report.editor is not None
    old = await store.session(tx, report.editor)
    if old is not None and old.report_id == report.id:
        await store.set_session(
            tx, now, report.editor, None, f"{TAKEN}{report.id}", data={"by": to}
        )
    newcomer = await people.get(tx, to)
    previous = await people.get(tx, report.editor)
    await audit.record(
        tx, now, to, "take_over", report.iso3, week=report.week, previous_editor=report.editor
    )
    if previous is not None and newcomer is not None:
        tr = translator(previous.language)
        _, country = svc.config.country(report.iso3)
        text = texts.taken_over(tr, newcomer.display_name, country, report.week)
        await outbox.enqueue(
            tx,
            now,
            dedup_key=f"takeover:{report.id}:{previous.tg_id}:{now.isoformat()}",
            chat_id=previous.tg_id,
            kind="takeover",
            text=text,
        )


def _next_step(q: Questionnaire, answers: dict[str, Any]) -> str:
    question = next_unanswered(q, answers)
    return question.key if question else REVIEW


async def _kept_data(tx: Tx, tg_id: int, report_id: int, step: str) -> dict[str, Any] | None:
    """The scratch data of a session reopened at the step it was on (the ticks so far)."""
    return _kept(await store.session(tx, tg_id), report_id, step)


def _kept(old: Session | None, report_id: int, step: str) -> dict[str, Any] | None:
    if old is None or old.report_id != report_id or old.step not in (step, OTHER + step):
        return None
    return old.data or None


def _step_exists(q: Questionnaire, step: str) -> bool:
    if step in (REVIEW, WARNINGS):
        return True
    return (step[len(OTHER) :] if step.startswith(OTHER) else step) in q.keys


async def _fix_step(
    tx: Tx, now: datetime, state: Step, session: Session, report: Report, q: Questionnaire
) -> Step | None:
    """A step naming a question the questionnaire no longer has moves on; None if it exists.

    The questionnaire may change (question removed, version raised) while a report is open:
    the person goes on with the next unanswered question (or the review when editing).
    """
    if _step_exists(q, session.step or REVIEW):
        return None
    step = _next_step(q, state.answers) if session.mode == "fill" else REVIEW
    return await store.move(tx, now, session.tg_id, report.id, step, session.mode, _week_before)


def _week_before(week: str) -> str:
    return cycle.shift_week(week, -1)


# The step each person's last update left, per database (see _load): what their next
# answer decides on, confirmed in the same round trip as its writes. Bounded: a person
# not in it is read as before.
_known: weakref.WeakKeyDictionary[Database, dict[int, Step]] = weakref.WeakKeyDictionary()
_KNOWN_MAX = 10_000


def _known_of(svc: Services) -> dict[int, Step]:
    known = _known.get(svc.db)
    if known is None:
        known = _known[svc.db] = {}
    return known


def _remember(svc: Services, tg_id: int, state: Step) -> None:
    known = _known_of(svc)
    if len(known) >= _KNOWN_MAX and tg_id not in known:
        known.clear()
    known[tg_id] = state


async def _load(tx: Tx, tg_id: int, svc: Services | None = None) -> Step:
    """All a step reads (session, report, assignments, answers, last week): one round trip.

    With ``svc``, at the start of a transaction: the step the person's previous update
    left, if it is known, confirmed with the transaction's first call instead of read in
    a call of its own (:func:`storage.reports.load_step`); the caller runs again, reading,
    when that raises :class:`Changed`.
    """
    known = _known_of(svc).pop(tg_id, None) if svc is not None else None
    return await store.load_step(tx, tg_id, _week_before, known)


async def _retried(step: Callable[[bool], Awaitable[T]]) -> T:
    """``step(True)`` (deciding on the known step), then ``step(False)`` (reading it) if
    what was known had changed: nothing of the first attempt was written."""
    try:
        return await step(True)
    except Changed:
        return await step(False)


async def _answer(
    tx: Tx,
    svc: Services,
    now: datetime,
    session: Session,
    report: Report,
    values: dict[str, Any],
    message_id: int | None = None,
    mode: str | None = None,
) -> Step:
    """Store answers and move on (the next unanswered question when filling in, else back to
    the review); the step then reached, loaded and committed in the same round trip: the
    step's last SQL (its screen is built from what this returns)."""
    _, q = questionnaire_for(svc, report.iso3)
    mode = mode or session.mode

    def step_after(answers: dict[str, Any]) -> str:
        return _next_step(q, answers) if mode == "fill" else REVIEW

    return await store.apply_answers(
        tx,
        now,
        session.tg_id,
        report.id,
        values,
        mode,
        step_after,
        _week_before,
        message_id,
        last=True,
    )


async def _screen(
    tx: Tx,
    svc: Services,
    tg_id: int,
    state: Step | None = None,
    *,
    error: AnswerError | None = None,
    hint: Hint = "",
    corrected: str = "",
) -> Screen:
    """The screen for the person's current session step (``state``: as just loaded)."""
    if state is None:
        state = await _load(tx, tg_id)
    _remember(svc, tg_id, state)
    session = state.session
    if session is None or session.report_id is None:
        if session is not None and session.step and session.step.startswith(TAKEN):
            other = await people.get(tx, int(session.data.get("by", 0)))
            return Screen("taken_over", other_person=other)
        return Screen("idle")
    report = state.report
    assert report is not None
    _, q = questionnaire_for(svc, report.iso3)
    fixed = await _fix_step(tx, svc.clock.now(), state, session, report, q)
    if fixed is not None and fixed.session is not None:
        state, session = fixed, fixed.session
        _remember(svc, tg_id, state)
    answers = state.answers
    last_week = state.last_week
    screen = Screen(
        kind="question",
        iso3=report.iso3,
        week=report.week,
        nonce=session.nonce,
        answers=answers,
        last_week=last_week,
        changed=changed_since(q, answers, last_week),
        report=report,
        version=report.version,
        total=len(q.questions),
        mode=session.mode,
        shown_before=session.shown_message_id,
        shown_keyboard=session.shown_keyboard,
        error=error,
        hint=hint,
        corrected=corrected,
        language=state.language,
        language_loaded=True,
    )
    step = session.step or REVIEW
    if report.confirmed and step in (REVIEW, WARNINGS):
        # figures revised with /revise stand beside the report: its review must show them
        screen.revised = {r.key: r for r in state.revisions}
    if step == REVIEW:
        screen.kind = "review"
        screen.warnings = plausibility(q, answers, last_week)
    elif step == WARNINGS:
        screen.kind = "warnings"
        screen.warnings = plausibility(q, answers, last_week)
    elif step.startswith(OTHER):
        screen.kind = "other_text"
        screen.question = q.question(step[len(OTHER) :])
    else:
        screen.question = q.question(step)
        screen.position = q.keys.index(step) + 1
        if screen.question.type == "multi":
            screen.selection = (
                session.data.get("selection")
                or answers.get(step)
                or {
                    "selected": [],
                    "other": None,
                }
            )
        screen.offer_no_change = (
            session.mode == "fill"
            and last_week is not None
            and bool(last_week)
            and not any(k in answers for k in carried_over(q, last_week))
        )
    return screen


def screen_shown(svc: Services, tg_id: int, nonce: int, message_id: int, *, keyboard: bool) -> None:
    """The screen of session ``nonce`` is now on display as ``message_id``.

    Recorded with the next write transaction (:meth:`storage.db.Database.defer`), not in one
    of its own after the send: the person's next update begins with it (before it reads
    the session), and at the latest the update inbox's next transaction, the one that lets
    this update go, commits it; a crash before that replays this update, which shows the
    screen again and records it anew.
    """
    store.defer_shown(svc.db, tg_id, nonce, message_id, keyboard=keyboard)
    known = _known_of(svc)
    if tg_id in known:  # as the deferred write will leave it
        known[tg_id] = store.with_shown(known[tg_id], nonce, message_id, keyboard)


async def show_later(
    svc: Services,
    tg_id: int,
    nonce: int | None,
    pieces: list[str],
    buttons: list[list[tuple[str, str]]],
) -> None:
    """The reply with this screen was refused: the outbox delivers it (never silence).

    ``nonce`` is the session's for a questionnaire screen, None for one that is not the
    session's (a confirmation, a notice). The session remembers the outbox row of its
    screen, so until it is sent nothing typed is taken as the answer to a question that is
    not on screen yet; and that row goes only while it is still the current screen.
    """

    now = svc.clock.now()
    stamp = time.time_ns()
    async with svc.db.transaction() as tx:
        # a screen that is not the session's (a confirmation) goes while the person has done
        # nothing since: once they moved on, what they see is newer than it
        session = await store.session(tx, tg_id)
        valid_nonce = nonce if nonce is not None else (session.nonce if session else None)
        condition = (
            None
            if valid_nonce is None
            else {"hook": "screen_current", "args": {"tg_id": tg_id, "nonce": valid_nonce}}
        )
        for i, piece in enumerate(pieces):  # the outbox keeps a chat's rows in order
            key = f"screen:{tg_id}:{nonce}:{stamp}:{i}"
            last = i == len(pieces) - 1
            await outbox.enqueue(
                tx,
                now,
                dedup_key=key,
                chat_id=tg_id,
                kind="screen",
                text=piece,
                buttons=buttons if last else None,
                valid_while=condition,
            )
        if nonce is not None:
            outbox_id = await store.outbox_id_of(tx, key)
            await store.record_shown(tx, tg_id, nonce, outbox_id=outbox_id, keyboard=bool(buttons))
    svc.wake_outbox()


@delivery.condition("screen_current")
def _screen_still_current(conn: Conn, svc: Services, args: dict[str, Any]) -> bool:
    """A screen waiting in the outbox goes only while the person is still at it: one that
    arrived after they had moved on (answered it on a re-shown copy) would offer buttons
    that can only be refused."""
    return store.session_nonce(conn, int(args["tg_id"])) == int(args["nonce"])


def _expects_text(q: Questionnaire, step: str) -> bool:
    """The step takes a typed answer (a number, a text, the text of "other")."""
    if step.startswith(OTHER):
        return True
    return step not in (REVIEW, WARNINGS) and q.question(step).type in ("number", "text")


def _shown_message_id(state: Step, session: Session) -> int | None:
    """The id of the screen on display; a huge id while it still waits in the outbox."""
    if session.shown_outbox_id is not None:
        return state.outbox_sent_id if state.outbox_sent_id is not None else 2**62
    return session.shown_message_id


async def replay_screen(svc: Services, tg_id: int) -> Screen | None:
    """Where the person stands, for an update that was applied before its reply was lost.

    The open report's current screen; or, when the last thing they did was confirming, that
    confirmation again; else None (nothing of theirs to show).
    """
    async with svc.db.transaction() as tx:
        screen = await _screen(tx, svc, tg_id)
        if screen.kind != "idle":
            return screen
        session = await store.session(tx, tg_id)
        step = (session.step if session is not None else None) or ""
        if not step.startswith(CONFIRMED):
            return None
        report = await store.get(tx, int(step[len(CONFIRMED) :]))
        version = await store.latest_version(tx, report.id) if report is not None else None
        if report is None or version is None:
            return None
        return Screen(
            "confirmed",
            iso3=report.iso3,
            week=report.week,
            answers=version.answers,
            report=report,
            late=report.late,
            after_digest=version.after_digest,
            version=version.version,
        )


async def has_open_session(svc: Services, tg_id: int) -> bool:
    session = await store.session(svc.db, tg_id)
    return session is not None and session.report_id is not None


def _active(state: Step, tg_id: int) -> tuple[Session, Report] | None:
    """The person's session if it still owns its report (else it was taken over)."""
    session, report = state.session, state.report
    if session is None or session.report_id is None:
        return None
    if report is None or report.editor != tg_id:
        return None
    return session, report


async def _unassigned(tx: Tx, now: datetime, tg_id: int, state: Step) -> Screen | None:
    """End a report session whose country the person is no longer an NFP of.

    Every step (answer, button, confirm) checks the current assignment, not only the open
    session: an NFP revoked mid-report is out at once, and the report is free for the others.
    """
    session, report = state.session, state.report
    if session is None or session.report_id is None:
        return None
    if report is None or report.iso3 in state.countries:
        return None
    await store.set_session(tx, now, tg_id, None, None)
    if report.editor == tg_id:
        await store.set_editor(tx, now, report.id, None)
    await audit.record(tx, now, tg_id, "refused", "report", reason="not_nfp", iso3=report.iso3)
    return Screen("not_nfp", iso3=report.iso3, week=report.week)


async def answer_text(
    svc: Services, tg_id: int, text: str, message_id: int | None = None
) -> Screen | None:
    """A typed answer; None when no questionnaire is waiting for text from this person.

    ``message_id`` is the typed message's: one typed before the current screen was shown
    is not its answer (two devices, a resend on a slow network) and is handed back.
    """
    return await _retried(lambda known: _answer_text(svc, tg_id, text, message_id, known))


async def _answer_text(
    svc: Services, tg_id: int, text: str, message_id: int | None, known: bool
) -> Screen | None:
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        # with the BEGIN: the one read of this step (or the known step, confirmed there)
        state = await _load(tx, tg_id, svc if known else None)
        if (revoked := await _unassigned(tx, now, tg_id, state)) is not None:
            return revoked
        active = _active(state, tg_id)
        if active is None:
            session = state.session
            if session is not None and session.step and session.step.startswith(TAKEN):
                return await _screen(tx, svc, tg_id, state)
            return None
        session, report = active
        _, q = questionnaire_for(svc, report.iso3)
        if (fixed := await _fix_step(tx, now, state, session, report, q)) is not None:
            return await _screen(tx, svc, tg_id, fixed, error=AnswerError("questionnaire_changed"))
        step = session.step or REVIEW
        if message_id is not None and _expects_text(q, step):
            shown = _shown_message_id(state, session)
            if shown is not None and message_id < shown:
                error = AnswerError("typed_earlier", text=text)
                return await _screen(tx, svc, tg_id, state, error=error)
        if step.startswith(OTHER):
            question = q.question(step[len(OTHER) :])
            try:
                other = parse_text(question, text)
            except AnswerError as err:
                return await _screen(tx, svc, tg_id, state, error=err)
            selection = dict(session.data.get("selection") or {"selected": []})
            selection["other"] = other
            values = {question.key: selection}
            after = await _answer(tx, svc, now, session, report, values, message_id)
            return await _screen(tx, svc, tg_id, after)
        if step in (REVIEW, WARNINGS):
            return await _screen(tx, svc, tg_id, state, error=AnswerError("use_buttons"))
        question = q.question(step)
        try:
            if question.type == "number":
                value: Any = parse_number(question, text)
            elif question.type == "text":
                value = parse_text(question, text)
            else:
                raise AnswerError("use_buttons")
        except AnswerError as err:
            return await _screen(tx, svc, tg_id, state, error=err)
        after = await _answer(tx, svc, now, session, report, {question.key: value}, message_id)
        return await _screen(tx, svc, tg_id, after)


async def edit_answer(svc: Services, tg_id: int, message_id: int, text: str) -> Screen:
    """An edited message: it corrects the answer it gave, and nothing else.

    In the open report the edit is checked like a new answer and replaces that answer (the
    person stays where they are; the review shows the change). An answer of a confirmed
    report is not changed behind the secretariat's back: the person is told how to amend.
    Anything else is not an answer: ``edit_ignored``.
    """
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        found = await store.answer_from_message(tx, tg_id, message_id)
        if found is None:
            return Screen("edit_ignored")
        report_id, key = found
        report = await store.get(tx, report_id)
        assert report is not None
        state = await _load(tx, tg_id)
        active = _active(state, tg_id)
        if active is None or active[1].id != report_id:
            if report.confirmed:
                return Screen("edit_confirmed", iso3=report.iso3, week=report.week, report=report)
            return Screen("edit_ignored")
        session, report = active
        _, q = questionnaire_for(svc, report.iso3)
        try:
            question = q.question(key)
        except KeyError:
            return Screen("edit_ignored")  # a question the questionnaire no longer has
        try:
            value: Any
            if question.type == "number":
                value = parse_number(question, text)
            elif question.type == "text":
                value = parse_text(question, text)
            elif question.type == "multi":
                old = state.answers.get(key)
                value = dict(old) if isinstance(old, dict) else {"selected": []}
                value["other"] = parse_text(question, text)
            else:
                return Screen("edit_ignored")
        except AnswerError as err:
            return await _screen(tx, svc, tg_id, error=err, corrected=key)
        await store.put_answer(tx, now, report.id, key, value, tg_id, message_id)
        # the same screen again, as a new message: older keyboards (a review showing the
        # old value) go stale with the new nonce
        await store.set_session(
            tx, now, tg_id, report.id, session.step, session.mode, session.data or None
        )
        return await _screen(tx, svc, tg_id, hint="corrected", corrected=key)


async def press(
    svc: Services, tg_id: int, nonce: int, action: ReportAction, arg: str = ""
) -> Screen:
    """A button of the questionnaire. Stale presses change nothing and say so."""
    return await _retried(lambda known: _press(svc, tg_id, nonce, action, arg, known))


async def _press(
    svc: Services, tg_id: int, nonce: int, action: ReportAction, arg: str, known: bool
) -> Screen:
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        # with the BEGIN: the one read of this step (or the known step, confirmed there)
        state = await _load(tx, tg_id, svc if known else None)
        if (revoked := await _unassigned(tx, now, tg_id, state)) is not None:
            return revoked
        active = _active(state, tg_id)
        if active is None:
            screen = await _screen(tx, svc, tg_id, state)
            if screen.kind == "idle":
                screen.kind = "stale"
            return screen
        session, report = active
        if nonce != session.nonce:
            return await _screen(tx, svc, tg_id, state, error=AnswerError("stale"))
        region, q = questionnaire_for(svc, report.iso3)
        if (fixed := await _fix_step(tx, now, state, session, report, q)) is not None:
            return await _screen(tx, svc, tg_id, fixed, error=AnswerError("questionnaire_changed"))
        step = session.step or REVIEW
        try:
            return await _apply(tx, svc, now, state, session, report, region, q, step, action, arg)
        except (AnswerError, KeyError):
            return await _screen(tx, svc, tg_id, state, error=AnswerError("stale"))


async def _apply(
    tx: Tx,
    svc: Services,
    now: datetime,
    state: Step,
    session: Session,
    report: Report,
    region: Region,
    q: Questionnaire,
    step: str,
    action: ReportAction,
    arg: str,
) -> Screen:
    """A button's effect. ``state`` is what the press loaded (nothing was written since);
    each branch writes and loads the next step in one round trip."""
    tg_id = session.tg_id
    mode = session.mode
    question = q.question(step) if step not in (REVIEW, WARNINGS) and ":" not in step else None
    if action == "c" and question is not None and question.type == "choice":
        values = {step: check_option(question, arg)}
        after = await _answer(tx, svc, now, session, report, values)
        return await _screen(tx, svc, tg_id, after, hint="answered")
    if action == "t" and question is not None and question.type == "multi":
        selection = toggle(
            session.data.get("selection") or _stored_selection(state, step),
            check_option(question, arg),
        )
        data = {"selection": selection}
        after = await store.move(
            tx, now, tg_id, report.id, step, mode, _week_before, data, last=True
        )
        return await _screen(tx, svc, tg_id, after, hint="toggled")
    if action == "d" and question is not None and question.type == "multi":
        selection = session.data.get("selection") or _stored_selection(state, step)
        if needs_other_text(question, selection):
            data = {"selection": selection}
            other = OTHER + step
            after = await store.move(
                tx, now, tg_id, report.id, other, mode, _week_before, data, last=True
            )
            return await _screen(tx, svc, tg_id, after)
        chosen = set(selection.get("selected", []))
        if not any(o.with_text and o.key in chosen for o in question.options):
            selection = {"selected": selection.get("selected", []), "other": None}
        after = await _answer(tx, svc, now, session, report, {step: selection})
        return await _screen(tx, svc, tg_id, after, hint="answered")
    if action == "s" and question is not None and not question.required:
        after = await _answer(tx, svc, now, session, report, {step: None})
        return await _screen(tx, svc, tg_id, after, hint="answered")
    if action == "nc":
        last_week = state.last_week
        if not last_week:
            raise AnswerError("stale")
        carried = {k: v for k, v in carried_over(q, last_week).items() if k not in state.answers}
        after = await _answer(tx, svc, now, session, report, carried, mode="fill")
        return await _screen(tx, svc, tg_id, after)
    if action == "e" and step in (REVIEW, WARNINGS):
        q.question(arg)
        after = await store.move(tx, now, tg_id, report.id, arg, "edit", _week_before, last=True)
        return await _screen(tx, svc, tg_id, after)
    if action == "back" and step not in (REVIEW, WARNINGS) and session.mode == "edit":
        after = await store.move(tx, now, tg_id, report.id, REVIEW, "edit", _week_before, last=True)
        return await _screen(tx, svc, tg_id, after)
    if action in ("ok", "ok!") and step in (REVIEW, WARNINGS):
        answers = state.answers
        if not is_complete(q, answers):
            step = _next_step(q, answers)
            after = await store.move(
                tx, now, tg_id, report.id, step, "fill", _week_before, last=True
            )
            return await _screen(tx, svc, tg_id, after, error=AnswerError("incomplete"))
        last_week = state.last_week
        warnings = plausibility(q, answers, last_week)
        if warnings and not (action == "ok!" and step == WARNINGS):
            after = await store.move(
                tx, now, tg_id, report.id, WARNINGS, mode, _week_before, last=True
            )
            return await _screen(tx, svc, tg_id, after)
        screen = await _confirm(tx, svc, now, tg_id, report, region, answers, warnings)
        # the thanks are in the language loaded with the step: no read of the person for it
        screen.language, screen.language_loaded = state.language, True
        return screen
    raise AnswerError("stale")


def _stored_selection(state: Step, key: str) -> dict[str, Any]:
    value = state.answers.get(key)
    return value if isinstance(value, dict) else {"selected": [], "other": None}


async def _confirm(
    tx: Tx,
    svc: Services,
    now: datetime,
    tg_id: int,
    report: Report,
    region: Region,
    answers: dict[str, Any],
    warnings: list[Warning],
) -> Screen:
    _, country = svc.config.country(report.iso3)
    deadline = cycle.cycle_for(region, country, report.week).deadline
    late = now > deadline
    # what is confirmed is the questionnaire in force now: its questions, its version
    keys = set(region.questionnaire.keys)
    answers = {key: value for key, value in answers.items() if key in keys}
    if report.version == 0:
        # the common case, a first confirmation, as the step's one round trip
        after_digest, confirmed = await tx.finish(
            store.confirm_first,
            now,
            report,
            answers,
            tg_id,
            late=late,
            region_key=region.key,
            warnings=[w.check.key for w in warnings],
            questionnaire_version=region.questionnaire.version,
            session_step=f"{CONFIRMED}{report.id}",
        )
        return _confirmed(report, answers, confirmed, after_digest, 1)
    after_digest = await store.digest_posted(tx, region.key, report.week)
    version = await store.add_version(
        tx,
        now,
        report,
        answers,
        tg_id,
        late=late,
        after_digest=after_digest,
        warnings=[w.check.key for w in warnings],
        questionnaire_version=region.questionnaire.version,
    )
    # idle, remembering what was confirmed: a replay of this press after a crash that lost
    # the reply shows the confirmation again (replay_screen)
    await store.set_session(
        tx, now, tg_id, None, f"{CONFIRMED}{report.id}", data={"version": version}
    )
    if version > 1:
        from bot.reporting.followups import resolve_by_amendment

        await resolve_by_amendment(tx, svc, now, report.id, tg_id, version)
        svc.wake_outbox()
    await audit.record(
        tx,
        now,
        tg_id,
        "confirm" if version == 1 else "amend",
        report.iso3,
        week=report.week,
        version=version,
        late=late,
        after_digest=after_digest,
    )
    confirmed = await store.get(tx, report.id)
    return _confirmed(report, answers, confirmed, after_digest, version)


def _confirmed(
    report: Report,
    answers: dict[str, Any],
    confirmed: Report | None,
    after_digest: bool,
    version: int,
) -> Screen:
    """The screen after a confirmation (version 1) or an amendment."""
    return Screen(
        "confirmed",
        iso3=report.iso3,
        week=report.week,
        answers=answers,
        report=confirmed,
        late=bool(confirmed and confirmed.late),
        after_digest=after_digest,
        version=version,
    )
