"""The library: admins add, edit and withdraw items; everyone lists and searches them.

Adding is a short private conversation whose state is a draft row (a restart resumes it):
``/addguidance <https-link> <title>`` (a summary on the lines below, ``#topic`` tags
optional), or ``/addguidance`` alone and then a PDF/DOCX document (caption: the title).
The admin then picks topics, language and source with buttons and saves: the item and one
alert per matching subscriber are committed in that one transaction (``alerts.fan_out``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.config import Region
from bot.core.callbacks import GUIDANCE_SOURCES
from bot.core.services import Services
from bot.guidance import alerts
from bot.people.roles import require_admin
from storage import audit
from storage import guidance as store
from storage.db import Database
from storage.guidance import Item

MAX_TITLE = 256  # also shown on a list button; a title this long is a summary
MAX_SUMMARY = 2000  # the alert (headline, title, summary) stays within one message
MAX_URL = 2048
PAGE_SIZE = 5
DOCUMENT_TYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
_TAG = re.compile(r"(?<!\S)#(\S+)")


class Refused(Exception):
    """Bad input, with a ``reason`` the handler words for the admin.

    ``not_https``, ``bad_link``, ``no_title``, ``title_too_long``, ``summary_too_long``,
    ``unknown_topic`` (``detail``: the tag), ``duplicate`` (``item``: the existing one),
    ``no_topic``, ``no_draft``, ``not_a_document``, ``no_item``.
    """

    def __init__(self, reason: str, *, detail: str = "", item: Item | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.item = item


@dataclass(frozen=True)
class Draft:
    """An item being added (``item_id`` None) or edited, as the admin's buttons show it."""

    title: str
    url: str | None
    file_id: str | None
    file_name: str | None
    summary: str
    topics: tuple[str, ...]
    language: str
    source: str
    item_id: int | None
    awaiting_document: bool = False

    @classmethod
    def load(cls, data: dict[str, Any]) -> Draft:
        return cls(
            title=str(data.get("title", "")),
            url=data.get("url"),
            file_id=data.get("file_id"),
            file_name=data.get("file_name"),
            summary=str(data.get("summary", "")),
            topics=tuple(data.get("topics") or ()),
            language=str(data["language"]),
            source=str(data.get("source", GUIDANCE_SOURCES[0])),
            item_id=data.get("item_id"),
            awaiting_document=bool(data.get("awaiting_document")),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "url": self.url,
            "file_id": self.file_id,
            "file_name": self.file_name,
            "summary": self.summary,
            "topics": list(self.topics),
            "language": self.language,
            "source": self.source,
            "item_id": self.item_id,
            "awaiting_document": self.awaiting_document,
        }


def normalise_link(text: str) -> str:
    """The link as stored and compared for duplicates: https only, host lower-cased, no
    fragment. :class:`Refused` ``not_https`` / ``bad_link`` otherwise."""
    if len(text) > MAX_URL:
        raise Refused("bad_link")
    parts = urlsplit(text)
    if parts.scheme.lower() != "https":
        raise Refused("not_https")
    host = parts.hostname or ""
    if "." not in host or any(c.isspace() for c in text) or parts.netloc.startswith("@"):
        raise Refused("bad_link")
    netloc = parts.netloc.rsplit("@", 1)[-1].lower()
    return urlunsplit(("https", netloc, parts.path or "/", parts.query, ""))


def _title_and_summary(svc: Services, first: str, rest: str) -> tuple[str, str, list[str]]:
    """Title (first line, tags taken out), summary (the other lines), tagged topics."""
    keys = {t.key for t in svc.config.topics}
    topics = []
    for tag in _TAG.findall(first):
        if tag.lower() not in keys:
            raise Refused("unknown_topic", detail=tag)
        topics.append(tag.lower())
    title = " ".join(_TAG.sub("", first).split())
    summary = rest.strip()
    if not title:
        raise Refused("no_title")
    if len(title) > MAX_TITLE:
        raise Refused("title_too_long", detail=str(len(title)))
    if len(summary) > MAX_SUMMARY:
        raise Refused("summary_too_long", detail=str(len(summary)))
    return title, summary, topics


async def _admin_language(svc: Services, admin_id: int) -> str:
    lang = await svc.db.fetchval("SELECT language FROM people WHERE tg_id = ?", (admin_id,))
    return str(lang) if lang in svc.config.languages else svc.config.default_language


async def start(svc: Services, admin_id: int, text: str) -> Draft:
    """``/addguidance`` with its text: a draft with the link, or one awaiting a document.

    A link already in the library is refused as ``duplicate``, naming the existing item,
    so the admin can choose to update it instead (:func:`update_existing`).
    """
    await require_admin(svc, admin_id, "addguidance")
    lang = await _admin_language(svc, admin_id)
    first, _, rest = text.strip().partition("\n")
    if not first.strip():
        draft = Draft("", None, None, None, "", (), lang, GUIDANCE_SOURCES[0], None, True)
    else:
        link, _, title_text = first.strip().partition(" ")
        url = normalise_link(link)
        title, summary, topics = _title_and_summary(svc, title_text, rest)
        draft = Draft(title, url, None, None, summary, tuple(topics), lang, "who", None)
        existing = await store.item_by_url(svc.db, url)
        if existing is not None:
            async with svc.db.transaction() as tx:
                await store.save_draft(tx, svc.clock.now(), admin_id, draft.dump())
            raise Refused("duplicate", item=existing)
    async with svc.db.transaction() as tx:
        await store.save_draft(tx, svc.clock.now(), admin_id, draft.dump())
    return draft


async def awaiting_document(svc: Services, tg_id: int) -> bool:
    """Whether a document from this person is the one their draft waits for (an admin's)."""
    data = await store.draft(svc.db, tg_id)
    return data is not None and bool(data.get("awaiting_document"))


async def attach_document(
    svc: Services, admin_id: int, file_id: str, file_name: str, mime: str, caption: str
) -> Draft:
    """The document the draft waited for: kept by its Telegram ``file_id`` (re-sent by it,
    never downloaded); the caption's first line is the title (else the file name)."""
    await require_admin(svc, admin_id, "addguidance")
    data = await store.draft(svc.db, admin_id)
    if data is None or not data.get("awaiting_document"):
        raise Refused("no_draft")
    if mime not in DOCUMENT_TYPES and not file_name.lower().endswith((".pdf", ".docx")):
        raise Refused("not_a_document")
    first, _, rest = (caption or "").strip().partition("\n")
    title, summary, topics = _title_and_summary(svc, first or file_name, rest)
    draft = Draft.load(data)
    draft = Draft(
        title, None, file_id, file_name, summary, tuple(topics), draft.language, draft.source, None
    )
    async with svc.db.transaction() as tx:
        await store.save_draft(tx, svc.clock.now(), admin_id, draft.dump())
    return draft


async def current(svc: Services, admin_id: int) -> Draft:
    data = await store.draft(svc.db, admin_id)
    if data is None or data.get("awaiting_document"):
        raise Refused("no_draft")
    return Draft.load(data)


async def _change(svc: Services, admin_id: int, **changes: Any) -> Draft:
    await require_admin(svc, admin_id, "addguidance")
    async with svc.db.transaction() as tx:
        data = await store.draft(tx, admin_id)
        if data is None or data.get("awaiting_document"):
            raise Refused("no_draft")
        data.update(changes)
        await store.save_draft(tx, svc.clock.now(), admin_id, data)
    return Draft.load(data)


async def set_topic(svc: Services, admin_id: int, topic: str, on: bool) -> Draft:
    draft = await current(svc, admin_id)
    topics = set(draft.topics) | {topic} if on else set(draft.topics) - {topic}
    return await _change(svc, admin_id, topics=sorted(topics))


async def set_language(svc: Services, admin_id: int, lang: str) -> Draft:
    return await _change(svc, admin_id, language=lang)


async def set_source(svc: Services, admin_id: int, source: str) -> Draft:
    return await _change(svc, admin_id, source=source)


async def cancel(svc: Services, admin_id: int) -> bool:
    await require_admin(svc, admin_id, "addguidance")
    async with svc.db.transaction() as tx:
        return await store.drop_draft(tx, admin_id)


async def update_existing(svc: Services, admin_id: int, item_id: int) -> Draft:
    """The duplicate link's draft now edits that item (its topics kept if none were tagged)."""
    draft = await current(svc, admin_id)
    item = await store.get_item(svc.db, item_id)
    if item is None or item.url != draft.url:
        raise Refused("no_item")
    return await _change(
        svc,
        admin_id,
        item_id=item.id,
        topics=list(draft.topics or item.topics),
        language=item.language,
        source=item.source,
    )


async def edit(svc: Services, admin_id: int, item_id: int) -> Draft:
    """A draft of an existing item, to change its topics, language and source."""
    await require_admin(svc, admin_id, "addguidance")
    item = await store.get_item(svc.db, item_id)
    if item is None or item.withdrawn_at is not None:
        raise Refused("no_item")
    draft = Draft(
        item.title,
        item.url,
        item.file_id,
        item.file_name,
        item.summary,
        item.topics,
        item.language,
        item.source,
        item.id,
    )
    async with svc.db.transaction() as tx:
        await store.save_draft(tx, svc.clock.now(), admin_id, draft.dump())
    return draft


@dataclass(frozen=True)
class Saved:
    item: Item
    new: bool
    queued: int  # alerts queued (0 for an edit: an edit alerts nobody again)


async def save(svc: Services, admin_id: int) -> Saved:
    """Add the draft (and queue its alerts) or apply the edit, in one transaction.

    The draft goes in the same commit, so a second press of Save finds none (``no_draft``);
    a re-delivered press is recognised by the update claim; and the alerts' dedup keys
    would queue nobody twice even so.
    """
    await require_admin(svc, admin_id, "addguidance")
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        data = await store.draft(tx, admin_id)
        if data is None or data.get("awaiting_document"):
            raise Refused("no_draft")
        d = Draft.load(data)
        if not d.topics:
            raise Refused("no_topic")
        fields: dict[str, Any] = {
            "title": d.title,
            "url": d.url,
            "file_id": d.file_id,
            "file_name": d.file_name,
            "source": d.source,
            "language": d.language,
            "summary": d.summary,
            "topics": list(d.topics),
        }
        queued = 0
        if d.item_id is None:
            if d.url is not None and await store.item_by_url(tx, d.url) is not None:
                raise Refused("duplicate", item=await store.item_by_url(tx, d.url))
            item_id = await store.add_item(tx, now, by=admin_id, **fields)
            item = await store.get_item(tx, item_id)
            assert item is not None
            queued = await alerts.fan_out(tx, svc, item)
            posted = await alerts.post_to_channel(tx, svc, item)
            await audit.record(
                tx, now, admin_id, "guidance_add", str(item_id), alerts=queued, channel=posted
            )
        else:
            item_id = d.item_id
            await store.update_item(tx, now, item_id, **fields)
            await audit.record(tx, now, admin_id, "guidance_edit", str(item_id))
        await store.drop_draft(tx, admin_id)
        saved = await store.get_item(tx, item_id)
    assert saved is not None
    if queued or d.item_id is None:
        svc.wake_outbox()
    return Saved(saved, d.item_id is None, queued)


async def withdraw(svc: Services, admin_id: int, item_id: int) -> Item:
    await require_admin(svc, admin_id, "withdrawguidance")
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        if not await store.withdraw(tx, now, item_id):
            raise Refused("no_item")
        await audit.record(tx, now, admin_id, "guidance_withdraw", str(item_id))
        item = await store.get_item(tx, item_id)
    assert item is not None
    return item


async def get(svc: Services, item_id: int) -> Item | None:
    return await store.get_item(svc.db, item_id)


@dataclass(frozen=True)
class Page:
    items: list[Item]
    page: int
    pages: int
    search_id: int  # 0: the latest items, else the saved search the buttons name
    words: str | None = None  # the search's words


async def latest_page(svc: Services, language: str, page: int) -> Page:
    items, total = await store.latest(svc.db, language, PAGE_SIZE, page * PAGE_SIZE)
    return Page(items, page, max(1, -(-total // PAGE_SIZE)), 0)


async def search(svc: Services, tg_id: int, words: str) -> Page:
    """Search titles and summaries (every word, as a prefix); the search is kept for paging."""
    async with svc.db.transaction() as tx:
        search_id = await store.save_search(tx, svc.clock.now(), tg_id, words[:200])
    return await search_page(svc, tg_id, search_id, 0)


async def search_page(svc: Services, tg_id: int, search_id: int, page: int) -> Page:
    """A page of the person's saved search; ``no_item`` for a search not theirs (forged)."""
    words = await store.saved_search(svc.db, search_id, tg_id)
    if words is None:
        raise Refused("no_item")
    items, total = await store.search(svc.db, words, PAGE_SIZE, page * PAGE_SIZE)
    return Page(items, page, max(1, -(-total // PAGE_SIZE)), search_id, words)


@dataclass(frozen=True)
class Acknowledgements:
    """Of the countries that have NFPs: those whose NFPs acknowledged the item, and the rest."""

    acked: list[str]
    pending: list[str]


async def acknowledgements(svc: Services, item_id: int) -> Acknowledgements:
    """What ``/guidance status`` shows per item: which countries' NFPs read it."""
    acked = await store.acked_countries(svc.db, item_id)
    countries = await store.countries_with_nfps(svc.db)
    return Acknowledgements(sorted(acked), [c for c in countries if c not in acked])


async def acknowledge(svc: Services, tg_id: int, item_id: int) -> bool | None:
    """The NFP's Read tap: True when recorded now, False when already, None when the item
    does not exist or the person is no NFP (a forged or misplaced button)."""
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        if await store.get_item(tx, item_id) is None:
            return None
        if not await store.was_ever_nfp(tx, tg_id):
            return None
        n = await store.acknowledge(tx, now, item_id, tg_id)
    return n > 0


async def unacknowledged(
    svc_or_db: Services | Database, region: Region, since: datetime
) -> dict[str, list[str]]:
    """For the weekly digest: each of the region's countries whose NFPs have not
    acknowledged items added since ``since`` (not withdrawn), with those items' titles,
    oldest first; countries in the region's order.

    A country with nothing pending is absent, and so is one with no active NFP: nobody
    there could have tapped Read, so listing it would blame no one.
    """
    db = svc_or_db.db if isinstance(svc_or_db, Services) else svc_or_db
    order = [c.iso3 for c in region.countries]
    out: dict[str, list[str]] = {}
    for iso3, title in await store.unacknowledged(db, order, since):
        out.setdefault(iso3, []).append(title)
    return {c: out[c] for c in order if c in out}
