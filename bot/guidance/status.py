"""What the secretariat sees of guidance broadcasts: the live ``/guidance status`` panel,
its Pause / Resume / Cancel buttons, and the group's line when a broadcast completes.

The panel is the admin's own status message. It is not pushed by each delivery: a short
timer (``bot.wiring.app``) re-renders every open panel with :func:`due_edits`, and the
message is edited only when its text changed and its last edit is at least
``EDIT_INTERVAL`` old, so a 10,000-row broadcast costs its admin one edit every few seconds,
not one per row. A panel whose broadcasts have all finished gets its final edit and is
closed. The edits go straight to Telegram, not through the outbox: the panel is a view
(the next render heals a lost edit), and behind a broadcast's rows in the outbox it would
only show progress once there is none left to show.

The completion line (:func:`announce_completed`) is durable instead: it is queued to the
secretariat's groups through the outbox, in the transaction that records it as announced,
so each finished broadcast is announced exactly once, whatever restarts happen.
"""

from __future__ import annotations

import hashlib
import html
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.core.callbacks import BroadcastControl
from bot.core.i18n import Translator, translator
from bot.core.services import Services
from bot.guidance import alerts, library
from bot.outbox import broadcasts
from bot.people.roles import require_admin
from storage import audit, outbox, regions
from storage import guidance as store
from storage.broadcasts import Progress

log = logging.getLogger(__name__)

#: At most one edit of a panel this often (one live panel per chat: so per chat too).
EDIT_INTERVAL = timedelta(seconds=3)
#: How often the timer looks at the open panels and finished broadcasts.
REFRESH_INTERVAL = timedelta(seconds=2)
BAR_CELLS = 10
LIVE_STATES = ("running", "paused")

Buttons = list[list[tuple[str, str]]]


@dataclass(frozen=True)
class Screen:
    text: str
    buttons: Buttons
    live: bool  # a broadcast it shows may still change (running or paused)

    @property
    def hash(self) -> str:
        return text_hash(self.text, self.buttons)


def text_hash(text: str, buttons: Buttons) -> str:
    return hashlib.sha256(repr((text, buttons)).encode()).hexdigest()


def bar(fraction: float) -> str:
    """``▓▓▓▓▓░░░░░``: the finished share of a broadcast, in ``BAR_CELLS`` cells."""
    filled = min(BAR_CELLS, max(0, int(fraction * BAR_CELLS)))
    return "▓" * filled + "░" * (BAR_CELLS - filled)


def progress_lines(tr: Translator, p: Progress) -> list[str]:
    """The bar with its percentage and state, then the counts."""
    c = p.counts
    total = p.total
    finished = total - p.remaining
    fraction = finished / total if total else 1.0
    state = {
        "running": tr.gettext("sending"),
        "paused": tr.gettext("paused"),
        "cancelled": tr.gettext("cancelled"),
        "done": tr.gettext("done"),
    }.get(p.broadcast.state, p.broadcast.state)
    lines = [f"{bar(fraction)} {tr.percent(fraction)} · {html.escape(state)}"]
    counts = tr.gettext(
        "sent {sent} · pending {pending} · failed {failed} · blocked {blocked}"
        " · cancelled {cancelled}"
    ).format(
        sent=tr.number(c["sent"]),
        pending=tr.number(p.remaining),
        failed=tr.number(c["failed"]),
        blocked=tr.number(c["blocked"]),
        cancelled=tr.number(c["cancelled"]),
    )
    if c["superseded"]:
        counts += " · " + tr.gettext("no longer wanted {n}").format(n=tr.number(c["superseded"]))
    lines.append(counts)
    return lines


async def screen(svc: Services, lang: str) -> Screen:
    """``/guidance status``: per latest item, its broadcast's progress and which countries'
    NFPs acknowledged it; a Pause or Resume and a Cancel button per live broadcast."""
    tr = translator(lang)
    page = await library.latest_page(svc, "", 0)
    lines = [tr.gettext("Read acknowledgements of the latest items:")]
    buttons: Buttons = []
    live = False
    for item in page.items:
        acks = await library.acknowledgements(svc, item.id)
        names = [html.escape(svc.config.country(c)[1].name(tr.lang)) for c in acks.acked]
        lines.append("")
        lines.append(
            tr.gettext("#{id} {title}: read by {n} of {total} countries{names}").format(
                id=item.id,
                title=html.escape(item.title),
                n=len(acks.acked),
                total=len(acks.acked) + len(acks.pending),
                names=(" (" + ", ".join(names) + ")") if names else "",
            )
        )
        bid = await store.broadcast_of(svc.db, item.id)
        p = await broadcasts.progress(svc, bid) if bid is not None else None
        if p is None or not p.total:
            continue
        lines += progress_lines(tr, p)
        state = p.broadcast.state
        if state in LIVE_STATES:
            live = True
            toggle = (
                (tr.gettext("⏸ Pause #{id}"), "pause")
                if state == "running"
                else (tr.gettext("▶ Resume #{id}"), "resume")
            )
            buttons.append(
                [
                    (toggle[0].format(id=item.id), BroadcastControl(bid or 0, toggle[1]).pack()),
                    (
                        tr.gettext("✖ Cancel #{id}").format(id=item.id),
                        BroadcastControl(bid or 0, "cancel").pack(),
                    ),
                ]
            )
    if not page.items:
        lines.append(tr.gettext("The library is empty."))
    return Screen("\n".join(lines), buttons, live)


async def open_panel(svc: Services, chat_id: int, message_id: int, lang: str, s: Screen) -> None:
    """Keep the status message just sent up to date while what it shows may change."""
    async with svc.db.transaction() as tx:
        if s.live:
            await store.open_panel(tx, svc.clock.now(), chat_id, message_id, lang, s.hash)
        else:
            await store.close_panel(tx, chat_id, message_id)


@dataclass(frozen=True)
class Edit:
    """A panel to edit now: its message and what it should show."""

    chat_id: int
    message_id: int
    screen: Screen


async def due_edits(svc: Services) -> list[Edit]:
    """The open panels whose text changed and whose last edit is ``EDIT_INTERVAL`` old.

    A panel whose broadcasts have all finished and which already shows that is closed here.
    """
    now = svc.clock.now()
    due: list[Edit] = []
    for panel in await store.panels(svc.db):
        s = await screen(svc, panel.language)
        if s.hash == panel.shown_hash:
            if not s.live:
                async with svc.db.transaction() as tx:
                    await store.close_panel(tx, panel.chat_id, panel.message_id)
            continue
        if now - panel.edited_at < EDIT_INTERVAL:
            continue
        due.append(Edit(panel.chat_id, panel.message_id, s))
    return due


async def edited(svc: Services, edit: Edit) -> None:
    """The panel's message now shows the edit's screen (a final one closes the panel)."""
    async with svc.db.transaction() as tx:
        if edit.screen.live:
            await store.panel_shown(
                tx, svc.clock.now(), edit.chat_id, edit.message_id, edit.screen.hash
            )
        else:
            await store.close_panel(tx, edit.chat_id, edit.message_id)


async def gone(svc: Services, chat_id: int, message_id: int) -> None:
    """The panel's message cannot be edited any more (deleted): stop refreshing it."""
    async with svc.db.transaction() as tx:
        await store.close_panel(tx, chat_id, message_id)


async def control(svc: Services, admin_id: int, broadcast_id: int, action: str) -> bool | None:
    """An admin's Pause / Resume / Cancel; True if it changed the broadcast, False if it
    was past that (already paused, finished...), None for no guidance broadcast.

    :class:`bot.people.roles.NotAllowed` for anyone but an admin.
    """
    await require_admin(svc, admin_id, f"guidance_broadcast_{action}")
    p = await broadcasts.progress(svc, broadcast_id)
    if p is None or p.broadcast.kind != alerts.KIND:
        return None
    if action == "pause":
        changed = await broadcasts.pause(svc, broadcast_id)
    elif action == "resume":
        changed = await broadcasts.resume(svc, broadcast_id)
    else:
        changed = await broadcasts.cancel(svc, broadcast_id) is not None
    if changed:
        async with svc.db.transaction() as tx:
            await audit.record(
                tx, svc.clock.now(), admin_id, f"guidance_broadcast_{action}", str(broadcast_id)
            )
    return changed


def completion_text(tr: Translator, title: str, p: Progress) -> str:
    c = p.counts
    return tr.ngettext(
        "Guidance «{title}» sent to {n} subscriber ({blocked} blocked, {failed} failed).",
        "Guidance «{title}» sent to {n} subscribers ({blocked} blocked, {failed} failed).",
        c["sent"],
    ).format(
        title=html.escape(title),
        n=tr.number(c["sent"]),
        blocked=tr.number(c["blocked"]),
        failed=tr.number(c["failed"]),
    )


async def announce_completed(svc: Services) -> int:
    """Queue one line per finished guidance broadcast to each region's secretariat group
    (in the region's language); how many broadcasts were announced.

    Recorded in the same transaction as the rows (``guidance_notices``), with a dedup key
    per broadcast and group: a restart, or two timers, announce nobody twice. A cancelled
    broadcast did not complete and is not announced.
    """
    announced = 0
    for bid in await store.unannounced(svc.db):
        p = await broadcasts.progress(svc, bid)
        if p is None:
            continue
        groups = [
            (region, chat)
            for region in svc.config.regions
            if (chat := await regions.group_chat(svc.db, region.key))
        ]
        now = svc.clock.now()
        async with svc.db.transaction() as tx:
            if not await store.announced(tx, now, bid):
                continue
            for region, chat in groups:
                await outbox.enqueue(
                    tx,
                    now,
                    dedup_key=f"guidance-done:{bid}:{chat}",
                    chat_id=chat,
                    kind="guidance_done",
                    text=completion_text(translator(region.default_language), p.broadcast.label, p),
                )
        announced += 1
        log.info("guidance broadcast #%d complete: %s", bid, p.counts)
    if announced:
        svc.wake_outbox()
    return announced
