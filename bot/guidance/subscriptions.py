"""Who gets which alerts: topics and languages chosen with buttons, and /forget_me.

NFPs are subscribed by default, *lazily*: an active NFP without a subscription row gets
every topic in their own language (``storage.guidance.recipients``). Nothing is written at
assignment, so the invitation path stays as it is, NFPs assigned before guidance existed
are covered too, and an NFP's first change (or unsubscribing) stores a row that then wins:
someone who left stays left.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.services import Services
from storage import audit, people
from storage import guidance as store


@dataclass(frozen=True)
class Choice:
    """What the person receives: ``on`` with these topics and languages, or not at all.

    ``default`` when nothing is stored (an NFP's default subscription, or never subscribed).
    """

    on: bool
    topics: frozenset[str]
    languages: frozenset[str]
    default: bool = False


async def _is_nfp(svc: Services, tg_id: int) -> bool:
    return bool(await people.assignments_of(svc.db, tg_id))


async def _own_language(svc: Services, tg_id: int, app_language: str | None = None) -> str:
    """The language they chose, else their Telegram app's (a newcomer who never chose one
    reads Russian if their app is in Russian), else the deployment's default."""
    from bot.core.i18n import pick_language

    person = await people.get(svc.db, tg_id)
    return pick_language(person.language if person else None, app_language)


def _all_topics(svc: Services) -> frozenset[str]:
    return frozenset(t.key for t in svc.config.topics)


async def choice(svc: Services, tg_id: int) -> Choice:
    sub = await store.subscription(svc.db, tg_id)
    if sub is not None:
        return Choice(sub.status == "on", sub.topics, sub.languages)
    langs = frozenset({await _own_language(svc, tg_id)})
    if await _is_nfp(svc, tg_id):
        return Choice(True, _all_topics(svc), langs, default=True)
    return Choice(False, _all_topics(svc), langs, default=True)


async def _save(svc: Services, tg_id: int, c: Choice, action: str) -> Choice:
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        await store.save_subscription(
            tx, now, tg_id, "on" if c.on else "off", set(c.topics), set(c.languages)
        )
        await audit.record(tx, now, tg_id, action)
    return Choice(c.on, c.topics, c.languages)


async def subscribe(svc: Services, tg_id: int, app_language: str | None = None) -> Choice:
    """Subscribe (again): earlier topics and languages kept, else every topic in their own
    language (``app_language``: their Telegram app's, for one who never chose)."""
    c = await choice(svc, tg_id)
    topics = c.topics or _all_topics(svc)
    chosen = c.languages if not c.default else frozenset()  # a default is not a choice
    langs = chosen or frozenset({await _own_language(svc, tg_id, app_language)})
    return await _save(svc, tg_id, Choice(True, topics, langs), "subscribe")


async def unsubscribe(svc: Services, tg_id: int) -> Choice:
    """No more alerts (the choices are kept for a later /subscribe)."""
    c = await choice(svc, tg_id)
    return await _save(svc, tg_id, Choice(False, c.topics, c.languages), "unsubscribe")


async def set_topic(svc: Services, tg_id: int, topic: str, on: bool) -> Choice:
    """Receive (or not) one topic; choosing a topic while unsubscribed subscribes."""
    c = await choice(svc, tg_id)
    topics = c.topics | {topic} if on else c.topics - {topic}
    return await _save(svc, tg_id, Choice(c.on or on, topics, c.languages), "subscribe_topic")


async def set_language(svc: Services, tg_id: int, lang: str, on: bool) -> Choice:
    c = await choice(svc, tg_id)
    langs = c.languages | {lang} if on else c.languages - {lang}
    return await _save(svc, tg_id, Choice(c.on or on, c.topics, langs), "subscribe_language")


async def forget(svc: Services, tg_id: int) -> bool:
    """``/forget_me``: remove the person's personal data; False if there was nothing.

    Name and username go; subscriptions, drafts, saved searches, queued and sent message
    rows (the outbox), and the report conversation in progress are deleted. Someone who
    was ever an NFP keeps a row named by their role (reports, assignments and invitations
    refer to it: the country's reports stay, the person's name does not) and an 'off'
    subscription, so that the NFP default does not subscribe them again. Anyone else's row
    is deleted altogether.
    """
    person = await people.get(svc.db, tg_id)
    if person is None:
        return False
    history = await store.was_ever_nfp(svc.db, tg_id)
    role_name = None
    if history:
        active = [(iso3, kind) for iso3, kind, live in history if live] or [
            (iso3, kind) for iso3, kind, _ in history
        ]
        role_name = ", ".join(
            f"{'NFP' if kind == 'main' else 'alternate NFP'} {iso3}" for iso3, kind in active
        )
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        await store.forget_person(tx, now, tg_id, role_name)
        if role_name is not None:
            await store.save_subscription(tx, now, tg_id, "off", set(), set())
        await audit.record(tx, now, None, "forget_me")
    return True
