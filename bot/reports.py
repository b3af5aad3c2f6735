"""The weekly report conversation: start or resume, answer, review, confirm, amend.

All state is in SQLite (``reports``, ``answers``, ``sessions``): every answer is written the
moment it is given, so a restart resumes at the next unanswered question. Functions return a
:class:`Screen` describing what the person should see next; handlers render it.

Buttons carry the session's ``nonce``; a press with an older nonce is stale (a double tap, or
a keyboard from an earlier question) and changes nothing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot import cycle
from bot.config import Question, Questionnaire, Region
from bot.i18n import translator
from bot.people import log_refusal
from bot.questionnaire import (
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
from bot.services import Services
from storage import audit, followups, outbox, people
from storage import reports as store
from storage.db import Tx
from storage.followups import Revision
from storage.people import Person
from storage.reports import Report, Session

REVIEW = "review"
WARNINGS = "warnings"
OTHER = "other:"  # + question key: waiting for the text of an "other" option


@dataclass
class Screen:
    """What to show next. ``kind`` names the screen; the other fields fill it in."""

    kind: str
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
    late: bool = False
    after_digest: bool = False
    version: int = 0
    offer_no_change: bool = False
    position: int = 0  # 1-based number of the question shown
    total: int = 0
    mode: str = "fill"
    hint: str = ""  # "answered" / "toggled": how the button press that led here changed things
    revised: dict[str, Revision] = field(default_factory=dict)  # key -> latest /revise of it


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
        return Screen("pick_country", countries=countries, week="last" if previous else "")
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
        report = await store.get(tx, report.id)  # type: ignore[assignment]
        assert report is not None
        mode = "amend" if report.confirmed else "fill"
        answers = await store.answers(tx, report.id)
        if report.confirmed and not answers:
            latest = await store.latest_version(tx, report.id)
            answers = dict(latest.answers) if latest else {}
            await store.replace_answers(tx, now, report.id, answers, tg_id)
        q = region.questionnaire
        step = REVIEW if report.confirmed else _next_step(q, answers)
        await store.set_session(tx, now, tg_id, report.id, step, mode)
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
        await store.set_session(tx, now, report.editor, None, f"taken:{report.id}", data={"by": to})
    newcomer = await people.get(tx, to)
    previous = await people.get(tx, report.editor)
    await audit.record(
        tx, now, to, "take_over", report.iso3, week=report.week, previous_editor=report.editor
    )
    if previous is not None and newcomer is not None:
        tr = translator(previous.language)
        text = tr.gettext(
            "{name} has taken over the report for {country}, week {week}. "
            "Your answers so far are kept."
        ).format(
            name=html.escape(newcomer.display_name),
            country=html.escape(svc.config.country(report.iso3)[1].name(tr.lang)),
            week=report.week,
        )
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


async def _last_week(tx: Tx, report: Report) -> dict[str, Any] | None:
    return await store.confirmed_answers(tx, report.iso3, cycle.shift_week(report.week, -1))


async def _screen(tx: Tx, svc: Services, tg_id: int, **extra: Any) -> Screen:
    """The screen for the person's current session step."""
    session = await store.session(tx, tg_id)
    if session is None or session.report_id is None:
        if session is not None and session.step and session.step.startswith("taken:"):
            other = await people.get(tx, int(session.data.get("by", 0)))
            return Screen("taken_over", other_person=other)
        return Screen("idle")
    report = await store.get(tx, session.report_id)
    assert report is not None
    _, q = questionnaire_for(svc, report.iso3)
    answers = await store.answers(tx, report.id)
    last_week = await _last_week(tx, report)
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
        **extra,
    )
    step = session.step or REVIEW
    if report.confirmed and step in (REVIEW, WARNINGS):
        # figures revised with /revise stand beside the report: its review must show them
        screen.revised = {
            r.key: r for r in await followups.revisions_of(tx, report.iso3, report.week)
        }
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
            and bool(last_week)
            and not any(k in answers for k in carried_over(q, last_week))
        )
    return screen


async def current_screen(svc: Services, tg_id: int) -> Screen:
    async with svc.db.transaction() as tx:
        return await _screen(tx, svc, tg_id)


async def has_open_session(svc: Services, tg_id: int) -> bool:
    session = await store.session(svc.db, tg_id)
    return session is not None and session.report_id is not None


async def _active(tx: Tx, tg_id: int) -> tuple[Session, Report] | None:
    """The person's session if it still owns its report (else it was taken over)."""
    session = await store.session(tx, tg_id)
    if session is None or session.report_id is None:
        return None
    report = await store.get(tx, session.report_id)
    if report is None or report.editor != tg_id:
        return None
    return session, report


async def _unassigned(tx: Tx, now: datetime, tg_id: int) -> Screen | None:
    """End a report session whose country the person is no longer an NFP of.

    Every step (answer, button, confirm) checks the current assignment, not only the open
    session: an NFP revoked mid-report is out at once, and the report is free for the others.
    """
    session = await store.session(tx, tg_id)
    if session is None or session.report_id is None:
        return None
    report = await store.get(tx, session.report_id)
    if report is None or report.iso3 in {a.iso3 for a in await people.assignments_of(tx, tg_id)}:
        return None
    await store.set_session(tx, now, tg_id, None, None)
    if report.editor == tg_id:
        await store.set_editor(tx, now, report.id, None)
    await audit.record(tx, now, tg_id, "refused", "report", reason="not_nfp", iso3=report.iso3)
    return Screen("not_nfp", iso3=report.iso3, week=report.week)


async def _after_answer(
    tx: Tx, svc: Services, now: datetime, session: Session, report: Report
) -> None:
    """Move on: the next unanswered question when filling in, else back to the review."""
    _, q = questionnaire_for(svc, report.iso3)
    answers = await store.answers(tx, report.id)
    step = _next_step(q, answers) if session.mode == "fill" else REVIEW
    await store.set_session(tx, now, session.tg_id, report.id, step, session.mode)


async def answer_text(svc: Services, tg_id: int, text: str) -> Screen | None:
    """A typed answer; None when no questionnaire is waiting for text from this person."""
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        if (revoked := await _unassigned(tx, now, tg_id)) is not None:
            return revoked
        active = await _active(tx, tg_id)
        if active is None:
            session = await store.session(tx, tg_id)
            if session is not None and session.step and session.step.startswith("taken:"):
                return await _screen(tx, svc, tg_id)
            return None
        session, report = active
        _, q = questionnaire_for(svc, report.iso3)
        step = session.step or REVIEW
        if step.startswith(OTHER):
            question = q.question(step[len(OTHER) :])
            try:
                other = parse_text(question, text)
            except AnswerError as err:
                return await _screen(tx, svc, tg_id, error=err)
            selection = dict(session.data.get("selection") or {"selected": []})
            selection["other"] = other
            await store.put_answer(tx, now, report.id, question.key, selection, tg_id)
            await _after_answer(tx, svc, now, session, report)
            return await _screen(tx, svc, tg_id)
        if step in (REVIEW, WARNINGS):
            return await _screen(tx, svc, tg_id, error=AnswerError("use_buttons"))
        question = q.question(step)
        try:
            if question.type == "number":
                value: Any = parse_number(question, text)
            elif question.type == "text":
                value = parse_text(question, text)
            else:
                raise AnswerError("use_buttons")
        except AnswerError as err:
            return await _screen(tx, svc, tg_id, error=err)
        await store.put_answer(tx, now, report.id, question.key, value, tg_id)
        await _after_answer(tx, svc, now, session, report)
        return await _screen(tx, svc, tg_id)


async def press(svc: Services, tg_id: int, nonce: int, action: str, arg: str = "") -> Screen:
    """A button of the questionnaire. Stale presses change nothing and say so."""
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        if (revoked := await _unassigned(tx, now, tg_id)) is not None:
            return revoked
        active = await _active(tx, tg_id)
        if active is None:
            screen = await _screen(tx, svc, tg_id)
            if screen.kind == "idle":
                screen.kind = "stale"
            return screen
        session, report = active
        if nonce != session.nonce:
            return await _screen(tx, svc, tg_id, error=AnswerError("stale"))
        region, q = questionnaire_for(svc, report.iso3)
        step = session.step or REVIEW
        try:
            return await _apply(tx, svc, now, session, report, region, q, step, action, arg)
        except (AnswerError, KeyError):
            return await _screen(tx, svc, tg_id, error=AnswerError("stale"))


async def _apply(
    tx: Tx,
    svc: Services,
    now: datetime,
    session: Session,
    report: Report,
    region: Region,
    q: Questionnaire,
    step: str,
    action: str,
    arg: str,
) -> Screen:
    tg_id = session.tg_id
    question = q.question(step) if step not in (REVIEW, WARNINGS) and ":" not in step else None
    if action == "c" and question is not None and question.type == "choice":
        await store.put_answer(tx, now, report.id, step, check_option(question, arg), tg_id)
        await _after_answer(tx, svc, now, session, report)
        return await _screen(tx, svc, tg_id, hint="answered")
    if action == "t" and question is not None and question.type == "multi":
        selection = toggle(
            session.data.get("selection") or await _stored_selection(tx, report.id, step),
            check_option(question, arg),
        )
        await store.set_session(
            tx, now, tg_id, report.id, step, session.mode, {"selection": selection}
        )
        return await _screen(tx, svc, tg_id, hint="toggled")
    if action == "d" and question is not None and question.type == "multi":
        selection = session.data.get("selection") or await _stored_selection(tx, report.id, step)
        if needs_other_text(question, selection):
            await store.set_session(
                tx, now, tg_id, report.id, OTHER + step, session.mode, {"selection": selection}
            )
            return await _screen(tx, svc, tg_id)
        chosen = set(selection.get("selected", []))
        if not any(o.with_text and o.key in chosen for o in question.options):
            selection = {"selected": selection.get("selected", []), "other": None}
        await store.put_answer(tx, now, report.id, step, selection, tg_id)
        await _after_answer(tx, svc, now, session, report)
        return await _screen(tx, svc, tg_id, hint="answered")
    if action == "s" and question is not None and not question.required:
        await store.put_answer(tx, now, report.id, step, None, tg_id)
        await _after_answer(tx, svc, now, session, report)
        return await _screen(tx, svc, tg_id, hint="answered")
    if action == "nc":
        last_week = await _last_week(tx, report)
        if not last_week:
            raise AnswerError("stale")
        answers = await store.answers(tx, report.id)
        for key, value in carried_over(q, last_week).items():
            if key not in answers:
                await store.put_answer(tx, now, report.id, key, value, tg_id)
        await store.set_session(
            tx, now, tg_id, report.id, _next_step(q, await store.answers(tx, report.id)), "fill"
        )
        return await _screen(tx, svc, tg_id)
    if action == "e" and step in (REVIEW, WARNINGS):
        q.question(arg)
        await store.set_session(tx, now, tg_id, report.id, arg, "edit")
        return await _screen(tx, svc, tg_id)
    if action == "back" and step not in (REVIEW, WARNINGS) and session.mode == "edit":
        await store.set_session(tx, now, tg_id, report.id, REVIEW, "edit")
        return await _screen(tx, svc, tg_id)
    if action in ("ok", "ok!") and step in (REVIEW, WARNINGS):
        answers = await store.answers(tx, report.id)
        if not is_complete(q, answers):
            await store.set_session(tx, now, tg_id, report.id, _next_step(q, answers), "fill")
            return await _screen(tx, svc, tg_id, error=AnswerError("incomplete"))
        last_week = await _last_week(tx, report)
        warnings = plausibility(q, answers, last_week)
        if warnings and not (action == "ok!" and step == WARNINGS):
            await store.set_session(tx, now, tg_id, report.id, WARNINGS, session.mode)
            return await _screen(tx, svc, tg_id)
        return await _confirm(tx, svc, now, tg_id, report, region, answers, warnings)
    raise AnswerError("stale")


async def _stored_selection(tx: Tx, report_id: int, key: str) -> dict[str, Any]:
    value = (await store.answers(tx, report_id)).get(key)
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
    )
    await store.set_session(tx, now, tg_id, None, None)
    if version > 1:
        from bot.followups import resolve_by_amendment

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
