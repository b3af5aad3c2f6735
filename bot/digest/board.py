"""The live status board: one pinned message per region and week in the region's group.

It shows where each country's report stands (confirmed on time, late, in progress, missing;
observers and joining countries apart) and is edited in place as reports arrive. The board is
not pushed by each report: :func:`refresh` runs on a short timer, renders the board, and
queues an edit only when the text changed and the last edit is at least
``EDIT_INTERVAL`` old. So a burst of confirmations on Wednesday evening becomes one edit, and
the board never takes more than 60 / ``EDIT_INTERVAL`` of the group's 20 messages a minute,
leaving the rest to the digest's own posts. Everything goes through the outbox (one sender,
one budget per group); while the post itself still waits there, a change rewrites the queued
text instead of queuing an edit of a message that does not exist yet.

A new week gets a new message (pinned); the old one stays in the group as that week's record.
The group's language is the region's default language.
"""

from __future__ import annotations

import hashlib
import html
import logging
from datetime import datetime, timedelta

from bot.config import Region
from bot.core.i18n import Translator, translator
from bot.core.services import Services
from bot.outbox import delivery
from bot.reporting import cycle
from bot.reporting.status import CountryStatus, week_status
from bot.reporting.texts import week_title
from storage import boards, outbox, regions
from storage.db import Tx
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

#: At most one edit per board this often: 4 a minute, within a group's 20 with room to spare.
EDIT_INTERVAL = timedelta(seconds=15)
#: How often :func:`refresh` runs (bot.wiring.app schedules it).
REFRESH_INTERVAL = timedelta(seconds=5)

ICONS = {"on_time": "✅", "late": "⏰", "in_progress": "✏️", "missing": "❌", "not_due": "⏳"}


def render(tr: Translator, region: Region, week: str, rows: list[CountryStatus]) -> str:
    """The board's HTML text (short: one line per country, names and no personal data)."""
    title = week_title(tr, region.name[tr.lang], week)  # escaped already
    lines = ["📋 <b>" + tr.gettext("Reports: {title}").format(title=title) + "</b>"]
    expected = [s for s in rows if s.expected]
    others = [s for s in rows if not s.expected]
    for s in expected:
        lines.append(_line(tr, region, s))
    done = sum(1 for s in expected if s.state in ("on_time", "late"))
    lines.append("")
    lines.append(
        html.escape(
            tr.ngettext(
                "{done} of {n} country reported", "{done} of {n} countries reported", len(expected)
            ).format(done=done, n=len(expected))
        )
    )
    if others:
        lines.append("")
        lines.append(html.escape(tr.gettext("Observers and joining countries (not counted):")))
        lines.extend(_line(tr, region, s) for s in others)
    return "\n".join(lines)


def _line(tr: Translator, region: Region, s: CountryStatus) -> str:
    country = region.country(s.iso3)
    state = {
        "on_time": tr.gettext("confirmed on time"),
        "late": tr.gettext("confirmed late"),
        "in_progress": tr.gettext("in progress"),
        "missing": tr.gettext("missing"),
        "not_due": tr.gettext("not asked yet"),
    }[s.state]
    line = f"{ICONS[s.state]} <b>{html.escape(country.name(tr.lang))}</b>: {html.escape(state)}"
    if s.at is not None:
        line += html.escape(", " + tr.datetime(s.at, country.tz, "d MMM HH:mm"))
    return line


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def refresh(svc: Services) -> int:
    """Post, re-text or edit each region's board for the week in view; the rows queued."""
    queued = 0
    for region in svc.config.regions:
        chat_id = await regions.group_chat(svc.db, region.key)
        if chat_id is None:
            continue
        queued += await _refresh_region(svc, region, chat_id)
    if queued:
        svc.wake_outbox()
    return queued


async def _refresh_region(svc: Services, region: Region, chat_id: int) -> int:
    now = svc.clock.now()
    week = cycle.region_week(region, now)
    tr = translator(region.default_language)
    text = render(tr, region, week, await week_status(svc, region, week))
    digest = _hash(text)
    async with svc.db.transaction() as tx:
        for waiting in await boards.awaiting_message_id(tx, region.key):
            await _learn_message_id(tx, waiting)
        board = await boards.get(tx, region.key, week)
        if board is not None and board.chat_id != chat_id:
            # the digest moved to another group: the new group gets its own board
            await boards.forget_message(tx, region.key, week)
            board = None
        if board is None:
            await boards.create(tx, now, region.key, week, chat_id, digest)
            row = await _queue_post(tx, now, region, week, chat_id, text)
            await boards.set_outbox(tx, region.key, week, row)
            return 1
        if board.message_id is None:  # its post waits in the outbox (or is in flight)
            posted = await outbox.get(tx, board.outbox_id) if board.outbox_id else None
            changed = posted is not None and digest != board.shown_hash
            if changed and posted and await outbox.retext_pending(tx, posted.id, text):
                await boards.shown(tx, now, region.key, week, digest)
            return 0
        if digest == board.shown_hash:
            return 0
        if board.edited_at is not None and now - board.edited_at < EDIT_INTERVAL:
            return 0
        await _queue_edit(tx, now, region, week, board.chat_id, board.message_id, text, board.edits)
        await boards.shown(tx, now, region.key, week, digest)
        return 1


async def _learn_message_id(tx: Tx, board: boards.Board) -> None:
    """Record the message id of a posted board, or forget a board whose post failed."""
    assert board.outbox_id is not None
    posted = await outbox.get(tx, board.outbox_id)
    if posted is None or posted.status in ("failed", "blocked", "superseded"):
        await boards.forget_message(tx, board.region_key, board.week)
    elif posted.status == "sent" and posted.message_id:
        await boards.set_message(
            tx, board.region_key, board.week, posted.chat_id, posted.message_id
        )


async def _queue_post(
    tx: Tx, now: datetime, region: Region, week: str, chat_id: int, text: str
) -> int:
    await outbox.enqueue(
        tx,
        now,
        dedup_key=f"board:{region.key}:{week}:{chat_id}:{now.isoformat()}",
        chat_id=chat_id,
        kind="board",
        text=text,
        extra={"pin": True},
    )
    item = await outbox.by_dedup_key(tx, f"board:{region.key}:{week}:{chat_id}:{now.isoformat()}")
    assert item is not None
    return item.id


async def _queue_edit(
    tx: Tx,
    now: datetime,
    region: Region,
    week: str,
    chat_id: int,
    message_id: int,
    text: str,
    edits: int,
) -> None:
    await outbox.enqueue(
        tx,
        now,
        dedup_key=f"board-edit:{region.key}:{week}:{edits + 1}",
        chat_id=chat_id,
        kind="board_edit",
        text=text,
        extra={"edit_message_id": message_id},
        on_failure={"hook": "board_edit_failed", "args": {"region": region.key, "week": week}},
    )


@delivery.hook("board_edit_failed")
async def _edit_failed(
    tx: Tx, svc: Services, item: OutboxItem, failure: delivery.Failure, args: dict[str, object]
) -> None:
    """The board's message cannot be edited (deleted in the group, or too old): forget it,
    so the next refresh posts a new board rather than editing into the void."""
    log.warning("board %s %s: edit failed (%s); a new one follows", args, item.id, failure.kind)
    await boards.forget_message(tx, str(args["region"]), str(args["week"]))
