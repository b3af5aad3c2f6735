"""After a report: secretariat queries, revisions of earlier weeks, and holiday delegation.

Each multi-step exchange keeps its place in the ``sessions`` table (``report_id`` NULL, a
``step`` naming the exchange), so a restart in the middle loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from bot.core.callbacks import DELEGATION_DAYS, AnswerClarification, OpenReport
from bot.core.i18n import translator
from bot.core.numbers import NumberError, parse_count
from bot.core.services import Services
from bot.core.textlimits import (
    MESSAGE_LIMIT,
    REVISION_REASON_LIMIT,
    is_blank,
    tg_len,
    visible_len,
)
from bot.outbox import delivery
from bot.reporting import cycle, texts
from bot.reporting.questionnaire import AnswerError
from storage import audit, followups, outbox, people
from storage import reports as store
from storage.followups import Clarification, Revision

CLARIFY = "clarify:"  # + clarification id: the NFP's next text is the answer
REVISE = "revise"  # data: iso3, week, key, stage ("value" | "reason"), value


FollowupRefusal = Literal["not_confirmed", "too_long", "stale", "not_nfp"]

#: What a typed follow-up message led to (each picks its message in handlers.followups).
ReplyKind = Literal[
    "not_nfp",
    "clarification_answered",
    "clarification_closed",
    "clarification_empty",
    "clarification_too_long",
    "revision_bad_number",
    "revision_ask_reason",
    "revision_reason_short",
    "revision_reason_long",
    "revision_saved",
]


class FollowupError(Exception):
    """A refused follow-up action; ``reason`` picks the localized message, ``details`` fill it."""

    def __init__(self, reason: FollowupRefusal, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


MAX_REASON = REVISION_REASON_LIMIT


# --- clarifications -----------------------------------------------------------------------


async def ask_clarification(
    svc: Services, admin_id: int, iso3: str, week: str, comment: str
) -> Clarification:
    """Mark a confirmed report "needs clarification" and send the comment to its NFPs."""
    from bot.people.roles import require_admin

    await require_admin(svc, admin_id, "clarify", iso3=iso3)
    _, country = svc.config.country(iso3)
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        report = await store.find(tx, iso3, week)
        if report is None or not report.confirmed:
            raise FollowupError("not_confirmed")
        cid = await followups.ask(tx, now, report.id, report.version, admin_id, comment)
        await audit.record(tx, now, admin_id, "clarify", iso3, week=week, id=cid)
        asker = await people.get(tx, admin_id)
        messages = []
        asker_tr = translator(asker.language if asker else None)
        for a in await people.nfps_of(tx, iso3):
            tr = translator(a.person.language)
            text = texts.clarification_question(
                tr, country, week, comment, asker.display_name if asker else None
            )
            messages.append((a, tr, text))
        over = max((visible_len(text) - MESSAGE_LIMIT for *_, text in messages), default=0)
        if over > 0:
            # refused before anything is stored (the transaction rolls back): Telegram would
            # refuse the message while the admin was told "Sent" and /status showed a question
            raise FollowupError("too_long", length=tg_len(comment), maximum=tg_len(comment) - over)
        for a, tr, text in messages:
            answer, correct = texts.clarification_buttons(tr)
            await outbox.enqueue(
                tx,
                now,
                dedup_key=f"clarify:{cid}:{a.tg_id}",
                chat_id=a.tg_id,
                kind="clarification",
                text=text,
                buttons=[
                    [(answer, AnswerClarification(cid).pack())],
                    [(correct, OpenReport(iso3, week).pack())],
                ],
                on_failure={
                    "tell": admin_id,
                    "lang": asker_tr.lang,
                    "text": texts.question_not_delivered(
                        asker_tr, country, week, a.person.display_name
                    ),
                    "hook": "clarification_question",
                    "args": {"id": cid},
                },
            )
        found = await followups.clarification(tx, cid)
    svc.wake_outbox()
    assert found is not None
    return found


async def start_clarification_answer(svc: Services, tg_id: int, cid: int) -> Clarification:
    """The NFP pressed Answer: their next text message is the answer."""
    q = await followups.clarification(svc.db, cid)
    if q is None or not q.open:
        raise FollowupError("stale")
    report = await store.get(svc.db, q.report_id)
    assert report is not None
    if report.iso3 not in {a.iso3 for a in await people.assignments_of(svc.db, tg_id)}:
        raise FollowupError("not_nfp")
    async with svc.db.transaction() as tx:
        await store.set_session(tx, svc.clock.now(), tg_id, None, f"{CLARIFY}{cid}")
    return q


async def _answer_clarification(svc: Services, tg_id: int, cid: int, text: str) -> Reply:
    now = svc.clock.now()
    if is_blank(text):
        return Reply("clarification_empty")  # zero-width spaces look like nothing: ask again
    async with svc.db.transaction() as tx:
        q = await followups.clarification(tx, cid)
        report = await store.get(tx, q.report_id) if q is not None else None
        if report is not None and not await _assigned(tx, tg_id, report.iso3):
            await store.set_session(tx, now, tg_id, None, None)
            return Reply("not_nfp", {"iso3": report.iso3})  # revoked since pressing Answer
        if q is not None and report is not None:
            message = await _asker_text(tx, svc, q, report.iso3, report.week, tg_id, text)
            if visible_len(message) > MESSAGE_LIMIT:
                # refused up front, the question stays open: a shorter answer can follow
                over = visible_len(message) - MESSAGE_LIMIT
                return Reply(
                    "clarification_too_long",
                    {"length": tg_len(text), "maximum": tg_len(text) - over},
                )
        await store.set_session(tx, now, tg_id, None, None)
        if q is None or not await followups.answer_clarification(tx, now, cid, tg_id, text):
            return Reply("clarification_closed")
        assert report is not None
        nfp = await people.get(tx, tg_id)
        tr = translator(nfp.language if nfp else None)
        _, country = svc.config.country(report.iso3)
        on_failure = {
            "tell": tg_id,
            "lang": tr.lang,
            "text": texts.answer_not_delivered(tr, country, report.week),
            "hook": "clarification_answer",
            "args": {"id": cid, "by": tg_id},
        }
        await _tell_asker(
            tx, svc, now, q, report.iso3, report.week, tg_id, text, on_failure=on_failure
        )
        await audit.record(tx, now, tg_id, "clarification_answer", report.iso3, id=cid)
    svc.wake_outbox()
    return Reply("clarification_answered")


async def _asker_text(
    tx: Any, svc: Services, q: Clarification, iso3: str, week: str, by: int, text: str
) -> str:
    """What the admin who asked receives: who answered, about what, and the answer."""
    asker = await people.get(tx, q.asked_by)
    nfp = await people.get(tx, by)
    tr = translator(asker.language if asker else None)
    _, country = svc.config.country(iso3)
    return texts.clarification_answered(
        tr, nfp.display_name if nfp else str(by), country, week, text
    )


async def _tell_asker(
    tx: Any,
    svc: Services,
    now: Any,
    q: Clarification,
    iso3: str,
    week: str,
    by: int,
    text: str,
    *,
    on_failure: dict[str, Any] | None = None,
) -> None:
    # one row per answer: a question reopened after an undelivered answer is answered anew
    earlier = await outbox.by_dedup_prefix(tx, f"clarified:{q.id}:")
    await outbox.enqueue(
        tx,
        now,
        dedup_key=f"clarified:{q.id}:{len(earlier) + 1}",
        chat_id=q.asked_by,
        kind="clarification_answer",
        text=await _asker_text(tx, svc, q, iso3, week, by, text),
        on_failure=on_failure,
    )


@delivery.hook("clarification_question")
async def _question_undelivered(
    tx: Any, svc: Services, item: Any, failure: delivery.Failure, args: dict[str, Any]
) -> None:
    """Once no NFP can receive the question, it no longer stands as asked (/status says so)."""
    cid = int(args["id"])
    rows = await outbox.by_dedup_prefix(tx, f"clarify:{cid}:")
    if rows and all(r.id == item.id or r.status in ("failed", "blocked") for r in rows):
        await followups.mark_undelivered(
            tx, svc.clock.now(), cid, f"not delivered: {failure.kind} {failure.detail}".strip()
        )


@delivery.hook("clarification_answer")
async def _answer_undelivered(
    tx: Any, svc: Services, item: Any, failure: delivery.Failure, args: dict[str, Any]
) -> None:
    """The asker never got the answer: the question is open again, for the NFP to resend."""
    await followups.reopen_clarification(tx, int(args["id"]), int(args["by"]))


async def resolve_by_amendment(
    tx: Any, svc: Services, now: Any, report_id: int, by: int, version: int
) -> None:
    """An amendment answers the open questions on the report (the asker is told)."""
    report = await store.get(tx, report_id)
    assert report is not None
    for q in await followups.clarifications_of(tx, report_id):
        if q.open:
            asker = await people.get(tx, q.asked_by)
            tr = translator(asker.language if asker else None)
            note = texts.answered_by_amendment(tr, version)
            await followups.answer_clarification(tx, now, q.id, by, note)
            await _tell_asker(tx, svc, now, q, report.iso3, report.week, by, note)


# --- revisions of earlier weeks -----------------------------------------------------------


@dataclass
class Reply:
    """A follow-up's answer: ``kind`` picks the message, ``data`` fills it in."""

    kind: ReplyKind
    data: dict[str, Any] | None = None


async def revisable_weeks(svc: Services, tg_id: int) -> list[tuple[str, str]]:
    """(iso3, week) of the NFP's confirmed reports, newest first."""
    found = []
    for a in await people.assignments_of(svc.db, tg_id):
        found += [(r.iso3, r.week) for r in await store.confirmed_weeks(svc.db, a.iso3)]
    return sorted(found, key=lambda x: x[1], reverse=True)


async def current_value(svc: Services, iso3: str, week: str, key: str) -> Any:
    """The figure as it stands: the latest revision, else the confirmed report's value."""
    revisions = await followups.revisions_of(svc.db, iso3, week)
    for r in reversed(revisions):
        if r.key == key:
            return r.new_value
    answers = await store.confirmed_answers(svc.db, iso3, week)
    return (answers or {}).get(key)


async def revision_fields(svc: Services, tg_id: int, iso3: str, week: str) -> list[tuple[Any, Any]]:
    """(question, current value) of each number of a confirmed report the NFP may revise."""
    if iso3 not in {a.iso3 for a in await people.assignments_of(svc.db, tg_id)}:
        raise FollowupError("not_nfp")
    region, _ = svc.config.country(iso3)
    if await store.confirmed_answers(svc.db, iso3, week) is None:
        raise FollowupError("stale")
    return [
        (q, await current_value(svc, iso3, week, q.key))
        for q in region.questionnaire.questions
        if q.type == "number"
    ]


async def start_revision(svc: Services, tg_id: int, iso3: str, week: str, key: str) -> Any:
    """Begin revising one figure; returns its current value. The next text is the new one."""
    if iso3 not in {a.iso3 for a in await people.assignments_of(svc.db, tg_id)}:
        raise FollowupError("not_nfp")
    region, _ = svc.config.country(iso3)
    question = region.questionnaire.question(key)
    if question.type != "number" or await store.confirmed_answers(svc.db, iso3, week) is None:
        raise FollowupError("stale")
    value = await current_value(svc, iso3, week, key)
    async with svc.db.transaction() as tx:
        await store.set_session(
            tx,
            svc.clock.now(),
            tg_id,
            None,
            REVISE,
            data={"iso3": iso3, "week": week, "key": key, "stage": "value"},
        )
    return value


async def _assigned(db: Any, tg_id: int, iso3: str) -> bool:
    """Whether the person is an NFP of the country now (checked at every step, not only
    when the exchange began: a revoked NFP is out at once)."""
    return iso3 in {a.iso3 for a in await people.assignments_of(db, tg_id)}


async def _revision_text(svc: Services, tg_id: int, data: dict[str, Any], text: str) -> Reply:
    now = svc.clock.now()
    if not await _assigned(svc.db, tg_id, data["iso3"]):
        async with svc.db.transaction() as tx:
            await store.set_session(tx, now, tg_id, None, None)
        return Reply("not_nfp", {"iso3": data["iso3"]})
    region, _ = svc.config.country(data["iso3"])
    question = region.questionnaire.question(data["key"])
    if data["stage"] == "value":
        try:
            value = parse_count(text, minimum=question.min, maximum=question.max)
        except NumberError as err:
            return Reply(
                "revision_bad_number",
                {"error": AnswerError(err.reason, minimum=err.minimum, maximum=err.maximum)},
            )
        async with svc.db.transaction() as tx:
            await store.set_session(
                tx, now, tg_id, None, REVISE, data={**data, "value": value, "stage": "reason"}
            )
        return Reply("revision_ask_reason", {"value": value})
    reason = text.strip()
    if len(reason) < 3 or is_blank(reason):
        return Reply("revision_reason_short")
    if tg_len(reason) > MAX_REASON:
        # refused with the limit, never cut silently: the reason is the record of why
        return Reply("revision_reason_long", {"length": tg_len(reason), "maximum": MAX_REASON})
    old = await current_value(svc, data["iso3"], data["week"], data["key"])
    async with svc.db.transaction() as tx:
        if not await _assigned(tx, tg_id, data["iso3"]):
            await store.set_session(tx, now, tg_id, None, None)
            return Reply("not_nfp", {"iso3": data["iso3"]})
        rid = await followups.add_revision(
            tx,
            now,
            data["iso3"],
            data["week"],
            data["key"],
            old,
            data["value"],
            reason,
            tg_id,
        )
        await store.set_session(tx, now, tg_id, None, None)
        await audit.record(
            tx, now, tg_id, "revise", data["iso3"], week=data["week"], key=data["key"], id=rid
        )
    return Reply("revision_saved", {**data, "old": old})


async def revisions_since(svc: Services, since: Any, until: Any) -> list[Revision]:
    """What a digest lists as revisions of earlier weeks (never as a negative week)."""
    return await followups.revisions_made_between(svc.db, since, until)


# --- delegation ---------------------------------------------------------------------------


async def delegation_candidates(svc: Services, tg_id: int) -> list[tuple[str, people.Person]]:
    """(iso3, person) of the other NFPs of the caller's countries."""
    found = []
    for mine in await people.assignments_of(svc.db, tg_id):
        for a in await people.nfps_of(svc.db, mine.iso3):
            if a.tg_id != tg_id:
                found.append((mine.iso3, a.person))
    return found


async def may_delegate(svc: Services, tg_id: int, iso3: str, to_id: int) -> bool:
    """Whether the caller is an NFP of the country and ``to_id`` another NFP of it."""
    return (iso3, to_id) in {(i, p.tg_id) for i, p in await delegation_candidates(svc, tg_id)}


async def delegate(svc: Services, tg_id: int, iso3: str, to_id: int, days: int) -> date:
    """Hand prompts and reminders to another NFP of the country until a date (inclusive)."""
    if days not in DELEGATION_DAYS or not await may_delegate(svc, tg_id, iso3, to_id):
        raise FollowupError("stale")
    _, country = svc.config.country(iso3)
    now = svc.clock.now()
    until = cycle.local_date(now, country.tz) + timedelta(days=days - 1)
    async with svc.db.transaction() as tx:
        await followups.add_delegation(tx, now, iso3, tg_id, to_id, until)
        await audit.record(tx, now, tg_id, "delegate", iso3, to=to_id, until=until.isoformat())
        me = await people.get(tx, tg_id)
        other = await people.get(tx, to_id)
        if other is not None and me is not None:
            tr = translator(other.language)
            await outbox.enqueue(
                tx,
                now,
                dedup_key=f"delegated:{iso3}:{tg_id}:{to_id}:{now.isoformat()}",
                chat_id=to_id,
                kind="delegation",
                text=texts.delegated(tr, me.display_name, country, until),
            )
    svc.wake_outbox()
    return until


async def end_delegation(svc: Services, tg_id: int) -> int:
    now = svc.clock.now()
    ended = 0
    async with svc.db.transaction() as tx:
        for a in await people.assignments_of(tx, tg_id):
            ended += await followups.end_delegations(tx, now, a.iso3, tg_id)
        if ended:
            await audit.record(tx, now, tg_id, "delegate_end", None)
    return ended


# --- text routing -------------------------------------------------------------------------


async def answer_text(svc: Services, tg_id: int, text: str) -> Reply | None:
    """A typed message for a follow-up exchange in progress; None if there is none."""
    session = await store.session(svc.db, tg_id)
    if session is None or session.report_id is not None or not session.step:
        return None
    if session.step.startswith(CLARIFY):
        return await _answer_clarification(svc, tg_id, int(session.step[len(CLARIFY) :]), text)
    if session.step == REVISE:
        return await _revision_text(svc, tg_id, session.data, text)
    return None
