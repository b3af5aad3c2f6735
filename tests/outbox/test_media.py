"""Every kind of proactive message through the outbox, and broadcasts as rows of their own.

Real SQLite files, real PNG and PDF bytes, the sandbox Bot API over HTTP (which checks the
images, refuses a file_id it never issued, and records each request with its uploads), the
real sender.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from telegram.ext import ExtBot

from bot.core.clock import FakeClock
from bot.core.services import Services
from bot.outbox import broadcasts, messages, queue
from bot.outbox.messages import Album, Document, Media, Message, Photo, Text
from bot.outbox.sender import OutboxSender
from sandbox import Call, Sandbox
from sandbox.spec import Upload
from storage import media as media_store
from storage import outbox as store
from storage.db import Database

MakeSender = Callable[..., OutboxSender]


def png(seed: int, width: int = 4, height: int = 3) -> bytes:
    """A valid PNG built by hand; each seed gives other pixels, so other bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    pixel = bytes([seed % 256, (seed * 7) % 256, (seed * 13) % 256])
    raw = (b"\x00" + pixel * width) * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pdf(title: str) -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
    ]
    stream = f"BT /F1 12 Tf 10 50 Td ({title}) Tj ET".encode()
    objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


async def put(
    db: Database, clock: FakeClock, key: str, chat_id: int, message: Message, **kw: Any
) -> bool:
    async with db.transaction() as tx:
        return await queue.enqueue(
            tx, clock.now(), message, dedup_key=key, chat_id=chat_id, kind="test", **kw
        )


def ok(sb: Sandbox, method: str, chat_id: int | None = None) -> list[Call]:
    return [c for c in sb.calls_to(method, chat_id) if c.ok]


def uploads_in(call: Call) -> int:
    """How many files a recorded request carried as bytes (not as a file_id)."""
    p = call.params
    if call.method == "sendMediaGroup":
        return sum(1 for m in p["media"] if str(m["media"]).startswith("attach://"))
    value = p.get("photo", p.get("document"))
    return 1 if isinstance(value, Upload) else 0


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


# --------------------------------------------------------------------------- every kind


async def test_photo_album_and_document_go_up_once_and_then_by_file_id(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    first, second = sandbox.user(201, "Aida"), sandbox.user(202, "Bek")
    chart = png(1)
    album = [png(10), png(11), png(12)]
    report = pdf("Week 48")

    def kinds() -> list[Message]:  # built anew each time, as a cause would
        return [
            Photo(Media.of(chart, "image/png", "chart.png"), "Cases, <b>week 48</b>"),
            Album(
                [Media.of(b, "image/png", f"p{i}.png") for i, b in enumerate(album)],
                "Three <i>charts</i>",
            ),
            Document(Media.of(report, "application/pdf", "week48.pdf"), caption="Report"),
        ]

    for user in (first, second):
        for n, message in enumerate(kinds()):
            assert await put(db, clock, f"k{n}:{user.id}", user.id, message)
    assert await db.fetchval("SELECT count(*) FROM media") == 5  # stored once, not twice
    sender = make_sender()
    sender.wake()
    await sender.drain()

    for user in (first, second):
        inbox = user.inbox
        assert [m.method for m in inbox] == ["sendPhoto"] + ["sendMediaGroup"] * 3 + [
            "sendDocument"
        ]
        assert inbox[0].photo_bytes == chart and inbox[0].text == "Cases, week 48"
        assert [m.photo_bytes for m in inbox[1:4]] == album
        assert [m.text for m in inbox[1:4]] == ["Three charts", "", ""]  # caption on the first
        assert len({m.media_group_id for m in inbox[1:4]}) == 1
        assert inbox[4].document_bytes == report and inbox[4].filename == "week48.pdf"
        assert inbox[4].text == "Report"
        rows = [await store.by_dedup_key(db, f"k{n}:{user.id}") for n in range(3)]
        assert all(r is not None and r.status == "sent" for r in rows)
        assert rows[0] is not None and rows[0].message_id == inbox[0].message_id
        assert rows[1] is not None and rows[1].message_id == inbox[1].message_id
        assert rows[1].message_ids == tuple(m.message_id for m in inbox[1:4])
        assert rows[2] is not None and rows[2].message_id == inbox[4].message_id

    # the first chat's requests carried the bytes; the second's only Telegram's file_ids
    for method, files in (("sendPhoto", 1), ("sendMediaGroup", 3), ("sendDocument", 1)):
        (to_first,) = ok(sandbox, method, first.id)
        (to_second,) = ok(sandbox, method, second.id)
        assert uploads_in(to_first) == files
        assert uploads_in(to_second) == 0
    photo_sizes = ok(sandbox, "sendPhoto", first.id)[0].result["photo"]
    assert ok(sandbox, "sendPhoto", second.id)[0].params["photo"] == photo_sizes[-1]["file_id"]
    stored = await media_store.get(db, media_store.digest(chart))
    assert stored is not None and stored.photo_file_id == photo_sizes[-1]["file_id"]
    doc = await media_store.get(db, media_store.digest(report))
    assert doc is not None and doc.document_file_id and doc.photo_file_id is None


async def test_a_chart_to_a_group_and_three_admins_is_uploaded_once_even_at_once(
    sandbox: Sandbox, db: Database, clock: FakeClock, bot: ExtBot[Any], svc: Services
) -> None:
    """Sends of the same new bytes that overlap (as a concurrent sender makes them) wait for
    the first upload and name its file_id: four requests in flight at once, one upload."""
    sandbox.rtt = 0.05
    group = sandbox.group(-100500, "Secretariat")
    admins = [sandbox.user(301 + i, f"A{i}") for i in range(3)]
    chart = Photo(Media.of(png(2), "image/png", "chart.png"), "Weekly chart")
    chats = [group.chat_id, *(a.id for a in admins)]
    async with db.transaction() as tx:
        bid = await broadcasts.start(
            tx, clock.now(), kind="digest", to=dict.fromkeys(chats, chart), label="W48"
        )
    assert bid is not None
    rows = await store.due(db, clock.now(), 10)
    assert len(rows) == 4
    sender = OutboxSender(svc, bot)
    await asyncio.gather(*(sender._attempt(row) for row in rows))  # one request per row

    calls = ok(sandbox, "sendPhoto")
    assert len(calls) == 4
    assert sorted(uploads_in(c) for c in calls) == [0, 0, 0, 1]
    assert all(group.inbox[0].photo_bytes == u.inbox[0].photo_bytes for u in admins)


async def test_a_cached_file_id_telegram_does_not_know_is_dropped_and_the_bytes_uploaded(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """file_ids belong to one bot: after a token change the cache is wrong, not the row."""
    u = sandbox.user(401, "Cholpon")
    chart = png(3)
    await put(db, clock, "p", u.id, Photo(Media.of(chart, "image/png", "c.png")))
    async with db.transaction() as tx:
        await media_store.remember_file_id(
            tx, media_store.digest(chart), "photo", "AgACAgIAAxkBAAIC-issued-to-another-bot"
        )
    sender = make_sender()
    sender.wake()
    await sender.drain()

    (msg,) = u.inbox
    assert msg.photo_bytes == chart
    refused, sent = sandbox.calls_to("sendPhoto")
    assert refused.status == 400 and "wrong file identifier" in (refused.description or "")
    assert uploads_in(sent) == 1
    row = await store.by_dedup_key(db, "p")
    assert row is not None and row.status == "sent" and row.attempts == 1
    stored = await media_store.get(db, media_store.digest(chart))
    assert stored is not None and stored.photo_file_id == sent.result["photo"][-1]["file_id"]


async def test_a_document_under_another_name_is_uploaded_under_that_name(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """A file_id keeps the name it was uploaded with: the same bytes renamed go up again,
    and do not replace the cached file_id of the stored name."""
    u = sandbox.user(402, "Dana")
    report = pdf("same bytes")
    media = Media.of(report, "application/pdf", "week47.pdf")
    await put(db, clock, "d1", u.id, Document(media))
    await put(db, clock, "d2", u.id, Document(media, filename="week47-corrected.pdf"))
    await put(db, clock, "d3", u.id, Document(media))
    sender = make_sender(per_chat_interval=0.0)
    sender.wake()
    await sender.drain()

    assert [m.filename for m in u.inbox] == ["week47.pdf", "week47-corrected.pdf", "week47.pdf"]
    assert [uploads_in(c) for c in ok(sandbox, "sendDocument")] == [1, 1, 0]


# --------------------------------------------------------------------------- limits


async def test_limits_are_checked_when_queued(db: Database, clock: FakeClock) -> None:
    photo = Media.of(png(4), "image/png", "x.png")
    at_limit = "<b>" + "я" * 1024 + "</b>"  # 1,024 visible characters: fits
    over = "&amp;" * 1025  # 5,125 characters of source, 1,025 seen: too long
    with pytest.raises(ValueError, match="caption is 1025 characters; Telegram allows 1024"):
        await put(db, clock, "c1", 1, Photo(photo, over))
    with pytest.raises(ValueError, match="caption is 1025"):
        await put(db, clock, "c2", 1, Document(photo, caption="x" * 1025, parse_mode=None))
    with pytest.raises(ValueError, match="caption is 1025"):
        await put(db, clock, "c3", 1, Album([photo, photo], "😀" * 512 + "x"))  # UTF-16
    for n in (0, 1, 11):
        with pytest.raises(ValueError, match=f"an album has 2-10 photos, got {n}"):
            await put(db, clock, f"a{n}", 1, Album([photo] * n))
    with pytest.raises(ValueError, match="text is 4097 characters"):
        await put(db, clock, "t", 1, Text("x" * 4097))
    with pytest.raises(ValueError, match="callback_data must be 1-64 bytes, got 65"):
        await put(db, clock, "b", 1, Photo(photo, buttons=[[("Go", "й" * 32 + "x")]]))
    with pytest.raises(ValueError, match="text is empty"):
        await put(db, clock, "e", 1, Text("\u200b "))
    # the refused transactions left nothing, not even the media
    assert await store.pending_count(db) == 0
    assert await db.fetchval("SELECT count(*) FROM media") == 0

    assert await put(db, clock, "fits", 1, Photo(photo, at_limit))
    assert await put(db, clock, "ten", 1, Album([photo] * 10))
    assert await put(db, clock, "b64", 1, Text("ok", buttons=[[("Go", "й" * 32)]]))
    assert await db.fetchval("SELECT count(*) FROM media") == 1


async def test_a_caption_at_the_limit_is_what_telegram_accepts(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """The enqueue check measures as Telegram does: 1,024 visible characters are sent."""
    u = sandbox.user(403, "Erlan")
    caption = "<b>" + "&lt;" * 1024 + "</b>"
    await put(db, clock, "fits", u.id, Photo(Media.of(png(5), "image/png", "x.png"), caption))
    make_sender().wake()
    msg = await u.next_message()
    assert msg.text == "<" * 1024


def test_payload_round_trip_and_rows_from_before_schema_4() -> None:
    photo = Media.of(png(6), "image/png", "x.png")
    values: list[Message] = [
        Text("Hi <b>there</b>", buttons=[[("A", "a"), ("B", "b")]]),
        Photo(photo, "cap", buttons=[[("Go", "go")]]),
        Album([photo, photo], "two", parse_mode=None),
        Document(photo, filename="y.png", caption="doc"),
    ]
    for value in values:
        payload = json.loads(json.dumps(messages.to_payload(value)))
        assert "data" not in json.dumps(payload)  # bytes never go into a row
        assert messages.from_payload(payload) == value
    old = {"text": "Week 48", "parse_mode": "HTML", "buttons": [[["Start", "start:48"]]]}
    assert messages.from_payload(old) == Text("Week 48", "HTML", [[("Start", "start:48")]])
    with pytest.raises(ValueError, match="unknown message kind 'sticker'"):
        messages.from_payload({"kind": "sticker"})


async def test_a_row_in_the_old_format_is_still_sent(
    sandbox: Sandbox, db: Database, clock: FakeClock, make_sender: MakeSender
) -> None:
    """A row written before schema 4 (no ``kind`` in its payload) goes out as text."""
    u = sandbox.user(404, "Farida")
    payload: dict[str, Any] = {"text": "Week <b>48</b> is due", "parse_mode": "HTML"}
    payload["buttons"] = [[["Start", "start:48"]]]
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO outbox (dedup_key, chat_id, kind, payload, created_at, not_before)"
            " VALUES ('old', ?, 'prompt', ?, '2026-11-24T12:00:00+00:00',"
            " '2026-11-24T12:00:00+00:00')",
            (u.id, json.dumps(payload)),
        )
    sender = make_sender()
    sender.wake()
    await sender.drain()
    (msg,) = u.inbox
    assert msg.text == "Week 48 is due" and msg.buttons == [[("Start", "start:48")]]
    row = await store.by_dedup_key(db, "old")
    assert row is not None and row.status == "sent" and row.message_id == msg.message_id


# --------------------------------------------------------------------------- broadcasts


async def start(
    db: Database, clock: FakeClock, chats: list[int], text: str = "Alert", **kw: Any
) -> int:
    async with db.transaction() as tx:
        bid = await broadcasts.start(
            tx, clock.now(), kind="alert", to={c: Text(f"{text} {c}") for c in chats}, **kw
        )
    assert bid is not None
    return bid


async def test_a_broadcast_reports_progress_while_it_drains(
    sandbox: Sandbox, db: Database, clock: FakeClock, svc: Services, make_sender: MakeSender
) -> None:
    sandbox.rtt = 0.04  # each send takes a while, as at Telegram
    n = 40  # more chats than the sender has requests in flight (16): it drains in waves
    users = [sandbox.user(1000 + i, f"N{i}") for i in range(n)]
    bid = await start(db, clock, [u.id for u in users], created_by=9001, dedup_key="alert:1")
    async with db.transaction() as tx:  # the same cause again starts nothing
        again = await broadcasts.start(
            tx, clock.now(), kind="alert", to={1: Text("x")}, dedup_key="alert:1"
        )
    assert again is None
    first = await broadcasts.progress(svc, bid)
    assert first is not None and first.broadcast.state == "running"
    assert first.counts["pending"] == first.total == n and first.broadcast.created_by == 9001

    seen: list[dict[str, int]] = []
    sender = make_sender()
    sender.wake()
    deadline = time.monotonic() + 10
    while True:
        p = await broadcasts.progress(svc, bid)
        assert p is not None
        seen.append(dict(p.counts))
        if p.broadcast.state == "done":
            break
        assert time.monotonic() < deadline, f"not done: {p}"
        await asyncio.sleep(0.01)

    assert all(sum(c.values()) == n for c in seen)
    sent = [c["sent"] for c in seen]
    assert sent == sorted(sent)  # never goes back
    assert any(0 < c["sent"] < n and c["pending"] > 0 for c in seen)  # seen mid-drain
    assert seen[-1]["sent"] == n and seen[-1]["pending"] == seen[-1]["sending"] == 0
    assert all(len(u.inbox) == 1 for u in users)


async def test_pause_stops_a_broadcast_and_resume_finishes_it(
    sandbox: Sandbox, db: Database, clock: FakeClock, svc: Services, make_sender: MakeSender
) -> None:
    sandbox.rtt = 0.04
    n = 40  # more chats than the sender has requests in flight (16)
    users = [sandbox.user(1100 + i, f"N{i}") for i in range(n)]
    other = sandbox.user(1199, "Not in it")
    bid = await start(db, clock, [u.id for u in users] + [other.id])
    sender = make_sender()
    sender.wake()
    await until(lambda: len(ok(sandbox, "sendMessage")) >= 3)
    assert await broadcasts.pause(svc, bid)
    assert not await broadcasts.pause(svc, bid)  # paused already
    # a paused broadcast's row does not hold its chat: other messages to it still go
    async with db.transaction() as tx:
        await store.enqueue(tx, clock.now(), dedup_key="own", chat_id=other.id, kind="t", text="x")
    sender.wake()
    await sender.drain()  # returns: a paused broadcast's rows are not due
    await until(lambda: any(m.text == "x" for m in other.inbox))
    p = await broadcasts.progress(svc, bid)
    assert p is not None and p.broadcast.state == "paused" and p.counts["sending"] == 0
    held = p.counts["sent"]
    assert 3 <= held < n + 1 and p.counts["pending"] == n + 1 - held
    await asyncio.sleep(0.3)
    p = await broadcasts.progress(svc, bid)
    assert p is not None and p.counts["sent"] == held  # nothing went while paused
    assert len(ok(sandbox, "sendMessage")) == held + 1

    assert await broadcasts.resume(svc, bid)
    await until(lambda: sum(len(u.inbox) for u in users) + len(other.inbox) == n + 2)
    await sender.drain()
    p = await broadcasts.progress(svc, bid)
    assert p is not None and p.counts["sent"] == n + 1 and p.broadcast.state == "done"
    assert all(len(u.inbox) == 1 for u in users)


async def test_cancel_leaves_the_rest_of_a_broadcast_unsent(
    sandbox: Sandbox, db: Database, clock: FakeClock, svc: Services, make_sender: MakeSender
) -> None:
    sandbox.rtt = 0.04
    n = 40  # more chats than the sender has requests in flight (16)
    users = [sandbox.user(1200 + i, f"N{i}") for i in range(n)]
    bid = await start(db, clock, [u.id for u in users])
    sender = make_sender()
    sender.wake()
    await until(lambda: len(ok(sandbox, "sendMessage")) >= 2)
    cancelled = await broadcasts.cancel(svc, bid)
    assert cancelled is not None and cancelled >= 1
    assert await broadcasts.cancel(svc, bid) is None
    assert not await broadcasts.resume(svc, bid)
    await sender.drain()
    await asyncio.sleep(0.3)

    p = await broadcasts.progress(svc, bid)
    assert p is not None and p.broadcast.state == "cancelled" and p.remaining == 0
    assert p.counts["cancelled"] == cancelled
    assert p.counts["sent"] + p.counts["cancelled"] == n
    assert len(ok(sandbox, "sendMessage")) == p.counts["sent"]  # the rest never went
    assert sum(len(u.inbox) for u in users) == p.counts["sent"]


async def test_a_cancelled_row_left_in_flight_by_a_crash_is_not_resent(
    sandbox: Sandbox, db: Database, clock: FakeClock, svc: Services, make_sender: MakeSender
) -> None:
    """A row claimed (``sending``) when the process died stays due; once its broadcast is
    cancelled, the sender finishes it unsent instead of sending it again."""
    u, v = sandbox.user(1301, "A"), sandbox.user(1302, "B")
    bid = await start(db, clock, [u.id, v.id])
    (row, _) = await store.due(db, clock.now(), 10)
    async with db.transaction() as tx:
        assert await store.mark_sending(tx, row.id)  # in flight, then the crash
    assert await broadcasts.cancel(svc, bid) == 1  # only the pending one
    sender = make_sender()
    sender.wake()
    await sender.drain()
    await asyncio.sleep(0.1)

    assert ok(sandbox, "sendMessage") == []
    p = await broadcasts.progress(svc, bid)
    assert p is not None and p.counts["cancelled"] == 2 and p.remaining == 0


async def test_a_broadcast_of_a_photo_stores_it_once(
    sandbox: Sandbox, db: Database, clock: FakeClock, svc: Services, make_sender: MakeSender
) -> None:
    """Per-reader messages (e.g. one caption per language) sharing one chart."""
    users = [sandbox.user(1400 + i, f"N{i}") for i in range(3)]
    chart = png(7)
    to: dict[int, Message] = {
        u.id: Photo(Media.of(chart, "image/png", "c.png"), f"for {u.first_name}") for u in users
    }
    async with db.transaction() as tx:
        bid = await broadcasts.start(tx, clock.now(), kind="digest", to=to)
    assert bid is not None
    assert await db.fetchval("SELECT count(*) FROM media") == 1
    sender = make_sender()
    sender.wake()
    await sender.drain()
    assert [u.inbox[0].text for u in users] == ["for N0", "for N1", "for N2"]
    assert [uploads_in(c) for c in ok(sandbox, "sendPhoto")] == [1, 0, 0]
    p = await broadcasts.progress(svc, bid)
    assert p is not None and p.broadcast.state == "done" and p.counts["sent"] == 3
