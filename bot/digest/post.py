"""Posting the weekly digest to a region's group: exactly once, on time or as soon as possible.

Why it is shaped like this:

- **Rendered first, queued in one transaction.** The charts and PDFs are drawn in a worker
  process before any write transaction opens (a render under the global write lock would
  stall every NFP). Then one transaction queues every message of the post (the text in as
  many messages as Telegram's limits need, the charts as an album, the PDF bulletin in each
  language as documents) and records the post in ``digests``. A restart in the middle of
  posting finds the rest in the outbox, which sends it; a crash before that commit left
  nothing, and the next tick posts again. The "already posted?" check is repeated inside
  that transaction (write transactions are serialised), so two ticks racing cannot both post.
- **Due, or missed.** :func:`due` runs with every tick of the cycle (and so at start): a
  region's digest of a week is posted once its time (config ``schedule.digest``, Thursday
  10:00 in the region's zone by default) has come, also when the bot was down then, until
  the next week's prompts begin (from then on the next digest says more).
- **Each post is recorded with its message ids**: the outbox rows of a post share the dedup
  prefix ``digest:<region>:<week>:<n>:``, and each row keeps the ids Telegram gave it
  (:func:`posted_messages`).
- ``/digest post`` posts again on purpose, saying so at the top; ``/digest`` previews in the
  admin's private chat. Neither marks anything as posted but the first post of a week.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime

from bot.config import Region
from bot.core.i18n import translator
from bot.core.services import Services
from bot.core.textlimits import split_html
from bot.core.week import Week
from bot.digest import content, texts
from bot.digest.render import Rendered, render
from bot.outbox import queue
from bot.outbox.messages import Album, Document, Media, Message, Photo, Text
from bot.reporting import cycle
from storage import outbox, regions
from storage import reports as reports_store

log = logging.getLogger(__name__)

KIND = "digest"


@dataclass(frozen=True)
class Posted:
    region: Region
    week: Week
    chat_id: int
    messages: int  # outbox rows queued
    number: int  # 1 for the week's first post, 2 for the first re-post, ...


@dataclass(frozen=True)
class NotPosted:
    reason: str  # "no_group" | "already_posted"


async def build(svc: Services, region: Region, week: Week) -> dict[str, content.Digest]:
    """The digest in every configured language (the numbers are the same; the words not)."""
    digest = await content.build(svc.db, region, week)
    return dict.fromkeys(svc.config.languages, digest)


def _messages(
    rendered: Rendered, group_language: str, region: Region, week: Week, *, note: str | None
) -> list[tuple[str, Message]]:
    """The post's messages in order, each with a short name for its dedup key."""
    tr = translator(group_language)
    body = "\n\n".join(rendered.messages)
    if note:
        body = f"<i>{html.escape(note)}</i>\n\n{body}"
    out: list[tuple[str, Message]] = [
        (f"text{n}", Text(piece)) for n, piece in enumerate(split_html(body), 1)
    ]
    media = [Media.of(png, "image/png", name) for name, png in rendered.charts]
    caption = html.escape(
        tr.gettext("{region}, {week}: weekly new cases and deaths by country").format(
            region=region.name.get(tr.lang, region.key), week=texts.week_label(tr, week)
        )
    )
    if len(media) >= 2:
        out.append(("charts", Album(media[:10], caption=caption)))
    elif media:
        out.append(("charts", Photo(media[0], caption=caption)))
    for lang, pdf in rendered.pdfs.items():
        ltr = translator(lang)
        name = f"digest-{region.key}-{week}-{lang}.pdf"
        what = ltr.gettext("PDF bulletin ({language}), to forward by e-mail").format(
            language=ltr.language_name(lang)
        )
        out.append(
            (
                f"pdf-{lang}",
                Document(Media.of(pdf, "application/pdf", name), name, caption=html.escape(what)),
            )
        )
    return out


async def post(
    svc: Services, region: Region, week: Week, *, by: int | None = None
) -> Posted | NotPosted:
    """Post the digest of ``week`` to the region's group.

    ``by`` None: the scheduled post, at most once per region and week. ``by`` an admin's id:
    posted (again) on purpose, the post says so.
    """
    key, wk = region.key, str(week)
    if await regions.group_chat(svc.db, key) is None:
        return NotPosted("no_group")
    if by is None and await reports_store.digest_posted(svc.db, key, wk):
        return NotPosted("already_posted")
    lang = region.default_language
    rendered = await render(await build(svc, region, week), lang)  # no transaction open
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        chat_id = await regions.group_chat(tx, key)
        if chat_id is None:
            return NotPosted("no_group")
        first = not await reports_store.digest_posted(tx, key, wk)
        if by is None and not first:
            return NotPosted("already_posted")
        number = 1 + len(
            {i.dedup_key.split(":")[3] for i in await outbox.by_dedup_prefix(tx, _prefix(key, wk))}
        )
        note = None
        if by is not None and not first:
            tr = translator(lang)
            note = tr.gettext(
                "Posted again on purpose by an administrator ({n}. post of this week)."
            ).format(n=number)
        msgs = _messages(rendered, lang, region, week, note=note)
        for name, message in msgs:
            await queue.enqueue(
                tx,
                now,
                message,
                dedup_key=f"{_prefix(key, wk)}{number}:{name}",
                chat_id=chat_id,
                kind=KIND,
            )
        if first:
            await reports_store.mark_digest_posted(tx, now, key, wk)
    svc.wake_outbox()
    log.info("digest %s %s queued for group %s (%d messages)", key, wk, chat_id, len(msgs))
    return Posted(region, week, chat_id, len(msgs), number)


async def preview(svc: Services, region: Region, week: Week, to: int) -> int:
    """Queue the digest to an admin's private chat (nothing is marked posted)."""
    lang = region.default_language
    rendered = await render(await build(svc, region, week), lang)
    now = svc.clock.now()
    tr = translator(lang)
    note = tr.gettext("Preview: not posted to the group.")
    msgs = _messages(rendered, lang, region, week, note=note)
    async with svc.db.transaction() as tx:
        for name, message in msgs:
            await queue.enqueue(
                tx,
                now,
                message,
                dedup_key=f"digest-preview:{to}:{region.key}:{week}:{now.isoformat()}:{name}",
                chat_id=to,
                kind="digest_preview",
            )
    svc.wake_outbox()
    return len(msgs)


def _prefix(region_key: str, week: str) -> str:
    return f"digest:{region_key}:{week}:"


async def posted_messages(
    svc: Services, region_key: str, week: Week
) -> list[tuple[str, int | None]]:
    """Each queued message of the week's posts (dedup key) and its Telegram message id."""
    rows = await outbox.by_dedup_prefix(svc.db, _prefix(region_key, str(week)))
    return [(r.dedup_key, r.message_id) for r in rows]


def due_week(region: Region, now: datetime) -> Week | None:
    """The week whose digest is due now: its time has come, and the next week's prompts
    have not begun (from then on, the next digest is the one to wait for)."""
    latest = Week.parse(cycle.region_week(region, now))
    return latest if content.digest_time(region, latest) <= now else None


async def due(svc: Services) -> list[Posted]:
    """Post every region's digest whose time has come and that is not posted yet."""
    done = []
    now = svc.clock.now()
    for region in svc.config.regions:
        week = due_week(region, now)
        if week is None or await reports_store.digest_posted(svc.db, region.key, str(week)):
            continue
        outcome = await post(svc, region, week)
        if isinstance(outcome, Posted):
            done.append(outcome)
    return done


class DigestUsage(Exception):
    """``/digest`` arguments that are not ``[post] [week]``."""


Outcome = Posted | NotPosted | int  # int: messages of a preview


async def for_admin(
    svc: Services, admin_id: int, args: list[str]
) -> list[tuple[Region, Week, Outcome]]:
    """``/digest [week]`` previews, ``/digest post [week]`` posts (again), for each region
    the admin administers; the default week is the one the secretariat is looking at."""
    from bot.people.roles import admin_scope

    posting = bool(args) and args[0].lower() == "post"
    rest = args[1:] if posting else args
    if len(rest) > 1:
        raise DigestUsage(" ".join(args))
    scope = await admin_scope(svc, admin_id)
    now = svc.clock.now()
    done: list[tuple[Region, Week, Outcome]] = []
    for region in svc.config.regions:
        if not scope.covers(region.key):
            continue
        current = cycle.region_week(region, now)
        chosen = cycle.parse_week(rest[0], current) if rest else current
        if chosen is None:
            raise DigestUsage(rest[0])
        week = Week.parse(chosen)
        if posting:
            done.append((region, week, await post(svc, region, week, by=admin_id)))
        else:
            done.append((region, week, await preview(svc, region, week, admin_id)))
    return done
