"""Weekly reports: the working answers, confirmed versions, and the editing sessions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from storage import audit, followups
from storage.db import Conn, Database, Row, Tx, execute, fetchall, fetchone, fetchval
from storage.followups import Revision
from storage.timeutil import from_db, from_db_required, to_db


@dataclass(frozen=True)
class Report:
    id: int
    iso3: str
    week: str
    questionnaire_version: int
    editor: int | None
    editor_since: datetime | None
    version: int
    first_confirmed_at: datetime | None
    late: bool

    @property
    def confirmed(self) -> bool:
        return self.version > 0


@dataclass(frozen=True)
class Version:
    report_id: int
    version: int
    answers: dict[str, Any]
    confirmed_by: int
    confirmed_at: datetime
    late: bool
    after_digest: bool
    warnings: list[str]
    questionnaire_version: int | None = None  # in force at confirmation (NULL before 0003)


#: How a report session goes on after each answer: "fill" the next unanswered question,
#: "edit" (one answer changed from the review) or "amend" (a confirmed report) back to the review.
SessionMode = Literal["fill", "amend", "edit"]


@dataclass(frozen=True)
class Session:
    tg_id: int
    report_id: int | None
    step: str | None
    mode: SessionMode
    data: dict[str, Any]
    nonce: int
    shown_message_id: int | None = None  # the screen on display, once its send returned
    shown_keyboard: bool = False
    shown_outbox_id: int | None = None  # the screen waits in the outbox (the reply failed)


def _report(r: Row) -> Report:
    return Report(
        id=r["id"],
        iso3=r["iso3"],
        week=r["week"],
        questionnaire_version=r["questionnaire_version"],
        editor=r["editor"],
        editor_since=from_db(r["editor_since"]),
        version=r["version"],
        first_confirmed_at=from_db(r["first_confirmed_at"]),
        late=bool(r["late"]),
    )


def _version(r: Row) -> Version:
    return Version(
        report_id=r["report_id"],
        version=r["version"],
        answers=json.loads(r["answers"]),
        confirmed_by=r["confirmed_by"],
        confirmed_at=from_db_required(r["confirmed_at"]),
        late=bool(r["late"]),
        after_digest=bool(r["after_digest"]),
        warnings=json.loads(r["warnings"]) if r["warnings"] else [],
        questionnaire_version=r["questionnaire_version"],
    )


# --- reports ----------------------------------------------------------------------------


async def get_or_create(tx: Tx, now: datetime, iso3: str, week: str, qversion: int) -> Report:
    await tx.execute(
        "INSERT INTO reports (iso3, week, questionnaire_version, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(iso3, week) DO NOTHING",
        (iso3, week, qversion, to_db(now), to_db(now)),
    )
    report = await find(tx, iso3, week)
    assert report is not None
    return report


async def find(db: Database | Tx, iso3: str, week: str) -> Report | None:
    row = await db.fetchone("SELECT * FROM reports WHERE iso3 = ? AND week = ?", (iso3, week))
    return None if row is None else _report(row)


async def get(db: Database | Tx, report_id: int) -> Report | None:
    return await db.call(_get, report_id)


def _get(c: Conn, report_id: int) -> Report | None:
    row = fetchone(c, "SELECT * FROM reports WHERE id = ?", (report_id,))
    return None if row is None else _report(row)


async def set_editor(tx: Tx, now: datetime, report_id: int, tg_id: int | None) -> None:
    await tx.execute(
        "UPDATE reports SET editor = ?, editor_since = ?, updated_at = ? WHERE id = ?",
        (tg_id, to_db(now) if tg_id else None, to_db(now), report_id),
    )


async def confirmed_weeks(db: Database | Tx, iso3: str, limit: int = 8) -> list[Report]:
    rows = await db.fetchall(
        "SELECT * FROM reports WHERE iso3 = ? AND version > 0 ORDER BY week DESC LIMIT ?",
        (iso3, limit),
    )
    return [_report(r) for r in rows]


# --- answers (the working copy) ---------------------------------------------------------


async def answers(db: Database | Tx, report_id: int) -> dict[str, Any]:
    return await db.call(_answers, report_id)


def _answers(c: Conn, report_id: int) -> dict[str, Any]:
    rows = fetchall(c, "SELECT key, value FROM answers WHERE report_id = ?", (report_id,))
    return {r["key"]: json.loads(r["value"]) if r["value"] is not None else None for r in rows}


async def put_answer(
    tx: Tx,
    now: datetime,
    report_id: int,
    key: str,
    value: Any,
    by: int,
    message_id: int | None = None,
) -> None:
    """Store an answer; ``message_id`` is the typed message it came from (None: a button)."""
    await tx.call(_put_answer, now, report_id, key, value, by, message_id)


def _put_answer(
    c: Conn, now: datetime, report_id: int, key: str, value: Any, by: int, message_id: int | None
) -> None:
    execute(
        c,
        "INSERT INTO answers (report_id, key, value, answered_by, answered_at, message_id)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(report_id, key) DO UPDATE SET"
        " value = excluded.value, answered_by = excluded.answered_by,"
        " answered_at = excluded.answered_at, message_id = excluded.message_id",
        (report_id, key, None if value is None else json.dumps(value), by, to_db(now), message_id),
    )
    execute(c, "UPDATE reports SET updated_at = ? WHERE id = ?", (to_db(now), report_id))


async def answer_from_message(
    db: Database | Tx, tg_id: int, message_id: int
) -> tuple[int, str] | None:
    """(report id, question key) of the answer typed as ``message_id`` in ``tg_id``'s chat.

    Message ids are per chat, and a private chat is its user's, so the pair names one
    message; an answer given again since (another message, a button) no longer matches.
    """
    row = await db.fetchone(
        "SELECT report_id, key FROM answers WHERE answered_by = ? AND message_id = ?"
        " ORDER BY answered_at DESC LIMIT 1",
        (tg_id, message_id),
    )
    return None if row is None else (int(row[0]), str(row[1]))


async def replace_answers(
    tx: Tx, now: datetime, report_id: int, values: dict[str, Any], by: int
) -> None:
    await tx.execute("DELETE FROM answers WHERE report_id = ?", (report_id,))
    for key, value in values.items():
        await put_answer(tx, now, report_id, key, value, by)


# --- confirmed versions -----------------------------------------------------------------


async def add_version(
    tx: Tx,
    now: datetime,
    report: Report,
    values: dict[str, Any],
    by: int,
    *,
    late: bool,
    after_digest: bool,
    warnings: list[str],
    questionnaire_version: int | None = None,
) -> int:
    """Record a confirmed version, under the questionnaire version in force now."""
    version = report.version + 1
    qversion = questionnaire_version or report.questionnaire_version
    await tx.execute(
        "INSERT INTO report_versions (report_id, version, answers, confirmed_by, confirmed_at,"
        " late, after_digest, warnings, questionnaire_version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            report.id,
            version,
            json.dumps(values, sort_keys=True),
            by,
            to_db(now),
            int(late),
            int(after_digest),
            json.dumps(warnings) if warnings else None,
            qversion,
        ),
    )
    await tx.execute(
        "UPDATE reports SET version = ?, first_confirmed_at = COALESCE(first_confirmed_at, ?),"
        " late = CASE WHEN version = 0 THEN ? ELSE late END, editor = NULL,"
        " editor_since = NULL, questionnaire_version = ?, updated_at = ? WHERE id = ?",
        (version, to_db(now), int(late), qversion, to_db(now), report.id),
    )
    return version


def confirm_first(
    c: Conn,
    now: datetime,
    report: Report,
    values: dict[str, Any],
    by: int,
    *,
    late: bool,
    region_key: str,
    warnings: list[str],
    questionnaire_version: int,
    session_step: str,
) -> tuple[bool, Report | None]:
    """On the database thread, as a transaction's last call (``tx.finish``, one round trip
    with the COMMIT): a report's first confirmation. Whether the region's digest of the
    week was already posted, the version (1) with it, the person's session idle at
    ``session_step``, the audit record; (after_digest, the report as confirmed)."""
    qversion = questionnaire_version
    after_digest = (
        fetchval(
            c, "SELECT 1 FROM digests WHERE region_key = ? AND week = ?", (region_key, report.week)
        )
        is not None
    )
    execute(
        c,
        "INSERT INTO report_versions (report_id, version, answers, confirmed_by, confirmed_at,"
        " late, after_digest, warnings, questionnaire_version)"
        " VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)",
        (
            report.id,
            json.dumps(values, sort_keys=True),
            by,
            to_db(now),
            int(late),
            int(after_digest),
            json.dumps(warnings) if warnings else None,
            qversion,
        ),
    )
    execute(
        c,
        "UPDATE reports SET version = 1, first_confirmed_at = COALESCE(first_confirmed_at, ?),"
        " late = CASE WHEN version = 0 THEN ? ELSE late END, editor = NULL,"
        " editor_since = NULL, questionnaire_version = ?, updated_at = ? WHERE id = ?",
        (to_db(now), int(late), qversion, to_db(now), report.id),
    )
    _set_session(c, now, by, None, session_step, "fill", {"version": 1})
    audit.record_on(
        c,
        now,
        by,
        "confirm",
        report.iso3,
        {"week": report.week, "version": 1, "late": late, "after_digest": after_digest},
    )
    return after_digest, _get(c, report.id)


async def versions(db: Database | Tx, report_id: int) -> list[Version]:
    rows = await db.fetchall(
        "SELECT * FROM report_versions WHERE report_id = ? ORDER BY version", (report_id,)
    )
    return [_version(r) for r in rows]


async def latest_version(db: Database | Tx, report_id: int) -> Version | None:
    row = await db.fetchone(
        "SELECT * FROM report_versions WHERE report_id = ? ORDER BY version DESC LIMIT 1",
        (report_id,),
    )
    return None if row is None else _version(row)


async def confirmed_answers(db: Database | Tx, iso3: str, week: str) -> dict[str, Any] | None:
    """The report of a country and week: its latest confirmed version's answers."""
    return await db.call(_confirmed_answers, iso3, week)


def _confirmed_answers(c: Conn, iso3: str, week: str) -> dict[str, Any] | None:
    row = fetchone(
        c,
        "SELECT v.answers FROM report_versions v JOIN reports r ON r.id = v.report_id"
        " WHERE r.iso3 = ? AND r.week = ? ORDER BY v.version DESC LIMIT 1",
        (iso3, week),
    )
    return None if row is None else dict(json.loads(row[0]))


# --- sessions ---------------------------------------------------------------------------


async def session(db: Database | Tx, tg_id: int) -> Session | None:
    return await db.call(_session, tg_id)


def _session(c: Conn, tg_id: int) -> Session | None:
    row = fetchone(c, "SELECT * FROM sessions WHERE tg_id = ?", (tg_id,))
    if row is None:
        return None
    return Session(
        tg_id=row["tg_id"],
        report_id=row["report_id"],
        step=row["step"],
        mode=row["mode"],
        data=json.loads(row["data"]) if row["data"] else {},
        nonce=row["nonce"],
        shown_message_id=row["shown_message_id"],
        shown_keyboard=bool(row["shown_keyboard"]),
        shown_outbox_id=row["shown_outbox_id"],
    )


def session_nonce(c: Conn, tg_id: int) -> int | None:
    """On the database thread: the nonce of the person's screen (None: no session)."""
    value = fetchval(c, "SELECT nonce FROM sessions WHERE tg_id = ?", (tg_id,))
    return None if value is None else int(value)


async def set_session(
    tx: Tx,
    now: datetime,
    tg_id: int,
    report_id: int | None,
    step: str | None,
    mode: SessionMode = "fill",
    data: dict[str, Any] | None = None,
) -> int:
    """Move the person to a new screen; returns the new nonce for its buttons."""
    return await tx.call(_set_session, now, tg_id, report_id, step, mode, data)


def _set_session(
    c: Conn,
    now: datetime,
    tg_id: int,
    report_id: int | None,
    step: str | None,
    mode: str = "fill",
    data: dict[str, Any] | None = None,
) -> int:
    execute(
        c,
        "INSERT INTO sessions (tg_id, report_id, step, mode, data, nonce, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT(tg_id) DO UPDATE SET"
        " report_id = excluded.report_id, step = excluded.step, mode = excluded.mode,"
        " data = excluded.data, nonce = sessions.nonce + 1, updated_at = excluded.updated_at",
        (tg_id, report_id, step, mode, json.dumps(data) if data else None, to_db(now)),
    )
    return int(fetchval(c, "SELECT nonce FROM sessions WHERE tg_id = ?", (tg_id,)))


async def record_shown(
    db: Database | Tx,
    tg_id: int,
    nonce: int,
    *,
    message_id: int | None = None,
    keyboard: bool = False,
    outbox_id: int | None = None,
) -> None:
    """The screen of session ``nonce`` is on display as ``message_id`` (or waits in the outbox).

    Only while the session is still at that screen: a later screen has its own record.
    Given the Database, it is a write transaction of its own, in one round trip.
    """
    if isinstance(db, Database):
        await db.write(_record_shown, tg_id, nonce, message_id, keyboard, outbox_id)
    else:
        await db.call(_record_shown, tg_id, nonce, message_id, keyboard, outbox_id)


def defer_shown(db: Database, tg_id: int, nonce: int, message_id: int, *, keyboard: bool) -> None:
    """:func:`record_shown` of a sent screen, run with the next write transaction
    (:meth:`Database.defer`): the answer that showed it then costs no round trip of its own.

    Never moves the record back to an older message of the same screen (a private chat's
    message ids grow): run late, it must not undo a newer record.
    """
    db.defer(_record_sent_shown, tg_id, nonce, message_id, keyboard)


def _record_sent_shown(c: Conn, tg_id: int, nonce: int, message_id: int, keyboard: bool) -> None:
    execute(
        c,
        "UPDATE sessions SET shown_message_id = ?, shown_keyboard = ?, shown_outbox_id = NULL"
        " WHERE tg_id = ? AND nonce = ?"
        " AND (shown_message_id IS NULL OR shown_message_id <= ?)",
        (message_id, int(keyboard), tg_id, nonce, message_id),
    )


def _record_shown(
    c: Conn,
    tg_id: int,
    nonce: int,
    message_id: int | None,
    keyboard: bool,
    outbox_id: int | None,
) -> None:
    execute(
        c,
        "UPDATE sessions SET shown_message_id = ?, shown_keyboard = ?, shown_outbox_id = ?"
        " WHERE tg_id = ? AND nonce = ?",
        (message_id, int(keyboard), outbox_id, tg_id, nonce),
    )


async def outbox_message_id(db: Database | Tx, outbox_id: int) -> int | None:
    """The Telegram message id of an outbox row once sent; None while it waits."""
    return await db.call(_outbox_message_id, outbox_id)


def _outbox_message_id(c: Conn, outbox_id: int) -> int | None:
    message_id: int | None = fetchval(
        c, "SELECT message_id FROM outbox WHERE id = ? AND status = 'sent'", (outbox_id,)
    )
    return message_id


async def outbox_id_of(db: Database | Tx, dedup_key: str) -> int | None:
    row_id: int | None = await db.fetchval(
        "SELECT id FROM outbox WHERE dedup_key = ?", (dedup_key,)
    )
    return row_id


# --- a questionnaire step in one round trip ---------------------------------------------


@dataclass(frozen=True)
class Step:
    """What one step of the questionnaire reads, loaded in one call to the database thread.

    The person's session; its report (None without one); the countries the person is an
    active NFP of; the report's working answers; last week's confirmed answers of the
    country (None if none); the message id of the screen waiting in the outbox once sent;
    for a confirmed report, its revisions; and the language the person chose (None if
    none), so that the reply to the step needs no read of its own.
    """

    session: Session | None
    report: Report | None = None
    countries: frozenset[str] = frozenset()
    answers: dict[str, Any] = field(default_factory=dict)
    last_week: dict[str, Any] | None = None
    outbox_sent_id: int | None = None
    revisions: list[Revision] = field(default_factory=list)
    language: str | None = None


WeekBefore = Callable[[str], str]  # the week before a week (the domain's calendar)


async def load_step(
    db: Database | Tx, tg_id: int, week_before: WeekBefore, known: Step | None = None
) -> Step:
    """Everything a step of ``tg_id``'s questionnaire reads, in one round trip.

    ``known``: the step as the caller last saw it (what its previous step loaded). At the
    start of a transaction it is taken as is, and only confirmed: loaded again and
    compared in the transaction's first call, with its BEGIN (:meth:`Tx.expect`), which
    raises :class:`storage.db.Changed` if anything differs. An answer then decides on it
    and writes in one round trip instead of two; whatever changed it meanwhile (another
    process, a revoked NFP, a take-over) is seen as it would be by a read.
    """
    if known is not None and isinstance(db, Tx) and not db.begun:
        db.expect(lambda c: _load_step(c, tg_id, week_before) == known)
        return known
    return await db.call(_load_step, tg_id, week_before)


def with_shown(step: Step, nonce: int, message_id: int, keyboard: bool) -> Step:
    """``step`` as :func:`defer_shown`'s write leaves it (the same rule, in memory)."""
    session = step.session
    if session is None or session.nonce != nonce:
        return step
    if session.shown_message_id is not None and session.shown_message_id > message_id:
        return step
    shown = replace(
        session, shown_message_id=message_id, shown_keyboard=keyboard, shown_outbox_id=None
    )
    return replace(step, session=shown, outbox_sent_id=None)


def _load_step(c: Conn, tg_id: int, week_before: WeekBefore) -> Step:
    session = _session(c, tg_id)
    countries = frozenset(
        r[0]
        for r in fetchall(
            c,
            "SELECT a.iso3 FROM assignments a JOIN people p ON p.tg_id = a.tg_id"
            " WHERE a.revoked_at IS NULL AND a.tg_id = ?",
            (tg_id,),
        )
    )
    language = fetchval(c, "SELECT language FROM people WHERE tg_id = ?", (tg_id,))
    report = None if session is None or session.report_id is None else _get(c, session.report_id)
    if session is None or report is None:
        return Step(session, countries=countries, language=language)
    sent = None
    if session.shown_outbox_id is not None:
        sent = _outbox_message_id(c, session.shown_outbox_id)
    return Step(
        session,
        report,
        countries,
        _answers(c, report.id),
        _confirmed_answers(c, report.iso3, week_before(report.week)),
        sent,
        followups.revisions_on(c, report.iso3, report.week) if report.confirmed else [],
        language,
    )


async def apply_answers(
    tx: Tx,
    now: datetime,
    tg_id: int,
    report_id: int,
    values: dict[str, Any],
    mode: str,
    step_after: Callable[[dict[str, Any]], str],
    week_before: WeekBefore,
    message_id: int | None = None,
    *,
    last: bool = False,
) -> Step:
    """Store answers, move the session to ``step_after(all answers)`` (a new nonce) and load
    the step it is then at, in one round trip. ``step_after`` is the domain's rule, a plain
    function of the answers run on the database thread. ``last``: the transaction's last
    call, committed in the same round trip (:meth:`Tx.finish`)."""
    run = tx.finish if last else tx.call
    return await run(
        _apply_answers, now, tg_id, report_id, values, mode, step_after, week_before, message_id
    )


def _apply_answers(
    c: Conn,
    now: datetime,
    tg_id: int,
    report_id: int,
    values: dict[str, Any],
    mode: str,
    step_after: Callable[[dict[str, Any]], str],
    week_before: WeekBefore,
    message_id: int | None,
) -> Step:
    for key, value in values.items():
        _put_answer(c, now, report_id, key, value, tg_id, message_id)
    step = step_after(_answers(c, report_id))
    _set_session(c, now, tg_id, report_id, step, mode)
    return _load_step(c, tg_id, week_before)


async def move(
    tx: Tx,
    now: datetime,
    tg_id: int,
    report_id: int | None,
    step: str | None,
    mode: str,
    week_before: WeekBefore,
    data: dict[str, Any] | None = None,
    *,
    last: bool = False,
) -> Step:
    """:func:`set_session` and :func:`load_step` in one round trip (``last``: and the
    transaction's COMMIT, see :func:`apply_answers`)."""
    run = tx.finish if last else tx.call
    return await run(_move, now, tg_id, report_id, step, mode, week_before, data)


def _move(
    c: Conn,
    now: datetime,
    tg_id: int,
    report_id: int | None,
    step: str | None,
    mode: str,
    week_before: WeekBefore,
    data: dict[str, Any] | None,
) -> Step:
    _set_session(c, now, tg_id, report_id, step, mode, data)
    return _load_step(c, tg_id, week_before)


# --- scheduler marks, digests -----------------------------------------------------------


async def mark_event(tx: Tx, now: datetime, iso3: str, week: str, event: str) -> bool:
    """Record a cycle step; False if it was already done (so it is never done twice)."""
    n = await tx.execute_rowcount(
        "INSERT INTO cycle_events (iso3, week, event, at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (iso3, week, event, to_db(now)),
    )
    return n == 1


async def events(db: Database | Tx, iso3: str, week: str) -> set[str]:
    rows = await db.fetchall(
        "SELECT event FROM cycle_events WHERE iso3 = ? AND week = ?", (iso3, week)
    )
    return {r[0] for r in rows}


async def digest_posted(db: Database | Tx, region_key: str, week: str) -> bool:
    return (
        await db.fetchval(
            "SELECT 1 FROM digests WHERE region_key = ? AND week = ?", (region_key, week)
        )
        is not None
    )


async def mark_digest_posted(tx: Tx, now: datetime, region_key: str, week: str) -> None:
    await tx.execute(
        "INSERT INTO digests (region_key, week, posted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (region_key, week, to_db(now)),
    )


class NotPlain(Exception):
    """:func:`open_plain` found a report that is not simply this person's to go on with
    (another NFP edits it, or it is confirmed): nothing was written, the caller decides."""


#: The domain's rule for where a reopened session goes: (step, kept scratch data) from the
#: report's answers and the person's session before it.
OpenPlan = Callable[[dict[str, Any], Session | None, int], tuple[str, dict[str, Any] | None]]


async def open_plain(
    tx: Tx,
    now: datetime,
    iso3: str,
    week: str,
    qversion: int,
    tg_id: int,
    plan: OpenPlan,
    week_before: WeekBefore,
) -> Step:
    """Open (creating it if needed) a report nobody else edits and that is not confirmed:
    ``tg_id`` becomes its editor, the session goes where ``plan`` says, and the step then
    reached is loaded; the transaction's last call, COMMIT included (one round trip).
    Raises :class:`NotPlain` (rolled back, nothing written) for any other report."""
    return await tx.finish(_open_plain, now, iso3, week, qversion, tg_id, plan, week_before)


def _open_plain(
    c: Conn,
    now: datetime,
    iso3: str,
    week: str,
    qversion: int,
    tg_id: int,
    plan: OpenPlan,
    week_before: WeekBefore,
) -> Step:
    found = fetchone(c, "SELECT * FROM reports WHERE iso3 = ? AND week = ?", (iso3, week))
    if found is None:
        execute(
            c,
            "INSERT INTO reports (iso3, week, questionnaire_version, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (iso3, week, qversion, to_db(now), to_db(now)),
        )
        found = fetchone(c, "SELECT * FROM reports WHERE iso3 = ? AND week = ?", (iso3, week))
    assert found is not None
    report = _report(found)
    if report.editor not in (None, tg_id) or report.confirmed:
        raise NotPlain(report.id)
    execute(
        c,
        "UPDATE reports SET editor = ?, editor_since = ?, updated_at = ? WHERE id = ?",
        (tg_id, to_db(now), to_db(now), report.id),
    )
    step, data = plan(_answers(c, report.id), _session(c, tg_id), report.id)
    _set_session(c, now, tg_id, report.id, step, "fill", data)
    return _load_step(c, tg_id, week_before)
