"""The digest posted to the group: exactly once per region and week, on time or on start if
missed, its charts as an album and its PDFs as documents, within Telegram's limits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.core.week import Week
from bot.digest import demo, post
from sandbox import SimGroup
from storage import reports as reports_store
from tests.support import BotEnv, deliver

WEEK = "2020-W30"
# Thursday 30 July 2020, 10:00 in Tashkent (UTC+5): the digest's time
DUE = datetime(2020, 7, 30, 5, 0, tzinfo=UTC)
SENDS = ("sendMessage", "sendMediaGroup", "sendPhoto", "sendDocument")


async def _setup(env: BotEnv, at: datetime) -> SimGroup:
    # the test moves the clock after the start: it, not the start's one-off job, says when
    # the cycle runs (a restart in a test schedules that job again)
    assert env.app is not None and env.app.job_queue is not None
    for job in env.app.job_queue.get_jobs_by_name("digests-at-start"):
        job.schedule_removal()
    env.clock.set(at)
    region = env.config.region("central-asia")
    rows = [r for r in demo.read_csv(demo.default_csv()) if str(r.week) <= WEEK]
    await demo.load(env.svc.db, env.config, region, rows)
    group = env.sandbox.group(-100300, "CBRN CoE Central Asia", bot_member=False)
    await group.add_bot(by=env.admin())
    await group.next_message()
    return group


def _sends(env: BotEnv, chat_id: int) -> list[str]:
    calls = [c for c in env.sandbox.calls_to(chat_id=chat_id) if c.method in SENDS]
    assert all(c.ok for c in calls), [(c.method, c.description) for c in calls if not c.ok]
    return [c.method for c in calls]


def _digest_posts(env: BotEnv, group: SimGroup) -> list[str]:
    return [m.text for m in group.inbox if "weekly digest" in m.text]


async def test_posted_once_at_its_time_with_the_real_figures_charts_and_pdfs(env: BotEnv) -> None:
    group = await _setup(env, DUE.replace(hour=4, minute=59))
    await deliver(env)
    assert _digest_posts(env, group) == []  # 09:59 in Tashkent: not yet

    env.clock.set(DUE)
    await deliver(env)
    [text] = _digest_posts(env, group)
    assert "Central Asia: weekly digest, week 30" in text
    pakistan = next(line for line in text.splitlines() if line.startswith("Pakistan:"))
    assert "8,030 (-5,428)" in pakistan  # 13,458 the week before
    photos = [m.photo_bytes for m in group.inbox if m.photo_bytes is not None]
    assert len(photos) == 2 and all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in photos)
    assert [m.media_group_id is not None for m in group.inbox if m.photo_bytes] == [True, True]
    pdfs = [m for m in group.inbox if m.filename and m.filename.endswith(".pdf")]
    assert sorted(p.filename or "" for p in pdfs) == [
        "digest-central-asia-2020-W30-en.pdf",
        "digest-central-asia-2020-W30-ru.pdf",
    ]
    assert all(p.document_bytes and p.document_bytes.startswith(b"%PDF") for p in pdfs)
    sent = _sends(env, group.id)
    assert await reports_store.digest_posted(env.svc.db, "central-asia", WEEK)
    recorded = await post.posted_messages(env.svc, "central-asia", Week.parse(WEEK))
    assert recorded and all(message_id for _key, message_id in recorded)

    await deliver(env)  # the next tick
    await env.restart()  # and a restart
    await deliver(env)
    assert _sends(env, group.id) == sent


def _pieces(group: SimGroup) -> tuple[int, int, int]:
    """(digest headers, chart photos, PDF documents) in the group: a duplicate shows here."""
    return (
        len(_digest_posts_of(group)),
        sum(1 for m in group.inbox if m.photo_bytes is not None),
        sum(1 for m in group.inbox if m.filename and m.filename.endswith(".pdf")),
    )


def _digest_posts_of(group: SimGroup) -> list[str]:
    return [m.text for m in group.inbox if "weekly digest" in m.text]


async def test_a_restart_in_the_middle_of_posting_sends_the_rest_once(env: BotEnv) -> None:
    group = await _setup(env, DUE)
    env.sandbox.rtt = 0.3  # slow enough that the stop finds rows still queued
    [posted] = await post.due(env.svc)
    await env.stop()
    env.sandbox.rtt = 0.0
    await env.start()  # a new process state on the same database
    recorded = await post.posted_messages(env.svc, "central-asia", Week.parse(WEEK))
    assert len(recorded) == posted.messages
    assert any(message_id is None for _key, message_id in recorded), "stopped mid-post"
    await deliver(env)
    recorded = await post.posted_messages(env.svc, "central-asia", Week.parse(WEEK))
    assert all(message_id for _key, message_id in recorded)
    assert _pieces(group) == (1, 2, 2)  # every message once, none twice
    _sends(env, group.id)  # and the sandbox accepted every call


async def test_a_digest_missed_while_the_bot_was_down_is_posted_on_start(env: BotEnv) -> None:
    group = await _setup(env, DUE.replace(hour=4))
    await env.stop()
    env.clock.set(DUE.replace(hour=9))  # the bot was down at 10:00; it starts at 14:00
    await env.start()
    # posted by a job just after the start (start-up does not wait for the charts)
    deadline = asyncio.get_running_loop().time() + 60
    while not await reports_store.digest_posted(env.svc.db, "central-asia", WEEK):
        assert asyncio.get_running_loop().time() < deadline, "not posted after the start"
        await asyncio.sleep(0.1)
    await env.outbox.drain(timeout=30)
    await env.sandbox.settle()
    assert len(_digest_posts(env, group)) == 1


async def test_preview_is_private_and_a_repost_says_so(env: BotEnv) -> None:
    group = await _setup(env, DUE.replace(hour=4))
    admin = env.admin()
    reply = await env.say(admin, f"/digest {WEEK}")
    assert "Drawing the charts" in reply.text
    done = await admin.next_message(timeout=60)  # once drawn and queued
    assert "the preview follows in 4 messages" in done.text, done.text
    await env.outbox.drain(timeout=30)
    await env.sandbox.settle()
    assert any("Preview: not posted to the group." in m.text for m in admin.inbox)
    assert any(m.filename and m.filename.endswith("-ru.pdf") for m in admin.inbox)
    assert _digest_posts(env, group) == []
    assert not await reports_store.digest_posted(env.svc.db, "central-asia", WEEK)

    await env.say(admin, f"/digest post {WEEK}")
    assert "posted to the group" in (await admin.next_message(timeout=60)).text
    await env.outbox.drain(timeout=30)
    await env.sandbox.settle()
    first = _digest_posts(env, group)
    assert len(first) == 1 and "Posted again" not in first[0]
    await env.say(admin, f"/digest post {WEEK}")
    assert "posted to the group" in (await admin.next_message(timeout=60)).text
    await env.outbox.drain(timeout=30)
    await env.sandbox.settle()
    posts = _digest_posts(env, group)
    assert len(posts) == 2 and "Posted again on purpose by an administrator (2. post" in posts[1]


async def test_digest_is_for_admins_and_a_bad_week_gets_the_usage(env: BotEnv) -> None:
    await _setup(env, DUE.replace(hour=4))
    stranger = env.sandbox.user(4343, "Eve")
    await env.say(stranger, "/start")
    refused = await env.say(stranger, "/digest post")
    assert "administrator" in refused.text
    admin = env.admin()
    await env.say(admin, "/digest 2020-W99")
    usage = await admin.next_message(timeout=30)
    assert usage.text.startswith("Usage: /digest")


async def test_the_digest_lists_the_guidance_a_country_has_not_marked_read(env: BotEnv) -> None:
    """Issue 10 item 4: the digest names each country's unread guidance (last 4 weeks)."""
    from bot.core.i18n import translator
    from bot.digest import content, texts
    from storage import guidance as gstore
    from tests.support import ADMIN_ID, make_nfp

    await _setup(env, DUE.replace(hour=4))
    await make_nfp(env, 5101, "KGZ", name="Aida")
    async with env.svc.db.transaction() as tx:
        for title, days_ago in (("Masks in the community", 2), ("An old note", 40)):
            await gstore.add_item(
                tx,
                env.clock.now() - timedelta(days=days_ago),
                title=title,
                url=f"https://www.who.int/{days_ago}",
                file_id=None,
                file_name=None,
                source="who",
                language="en",
                summary="",
                topics=["covid19"],
                by=ADMIN_ID,
            )
    digest = await content.build(env.svc.db, env.config.region("central-asia"), Week.parse(WEEK))
    # only Kyrgyzstan has an NFP who could have tapped Read; the 40-day-old item is past
    assert digest.unread_guidance == {"KGZ": ("Masks in the community",)}
    text = texts.text(digest, translator("en"))
    assert "Guidance not yet marked read (last 4 weeks)" in text
    assert "Kyrgyzstan: «Masks in the community»" in text
