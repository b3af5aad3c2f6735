"""What the demo shows: one line per message on the terminal, and an HTML transcript.

Each line names the instant in the local time of the chat it happened in (an NFP's own zone,
the secretariat's for the admin and the group), who spoke, and in which chat, so a reader
sees that Kabul's prompt came at Kabul's 09:00 and Ulaanbaatar's at Ulaanbaatar's.
"""

from __future__ import annotations

import base64
import html
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Entry:
    at: datetime  # UTC
    chat: str  # "Ahmad (AFG)", "CBRN CoE Central Asia (group)"
    sender: str  # "bot" or the person's name
    text: str  # visible text (already without markup)
    tz: ZoneInfo
    kind: str = "message"  # message | edit | photo | document | scene
    buttons: tuple[str, ...] = ()
    image: bytes | None = None  # a photo, shown inline
    filename: str | None = None  # a document, saved next to the transcript


@dataclass
class Transcript:
    """Collects entries; prints each as it comes and writes the HTML at the end."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    entries: list[Entry] = field(default_factory=list)
    width: int = 110

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.out.write(self.line(entry) + "\n")
        self.out.flush()

    def line(self, e: Entry) -> str:
        local = e.at.astimezone(e.tz)
        when = local.strftime("%a %d %b %H:%M")
        place = e.tz.key.rsplit("/", 1)[-1].replace("_", " ")
        if e.kind == "scene":
            return f"\n== {e.text}"
        first = " ".join(e.text.split())
        if e.kind == "photo":
            first = "[chart] " + first
        elif e.kind == "document":
            first = f"[{e.filename}] " + first
        elif e.kind == "edit":
            first = "(edited) " + first
        if e.buttons:
            first += "  [" + " | ".join(e.buttons) + "]"
        arrow = f"bot → {e.chat}" if e.sender == "bot" else f"{e.sender} → bot"
        head = f"{when} {place:<12} {arrow}: "
        room = max(20, self.width - len(head))
        return head + (first if len(first) <= room else first[: room - 1] + "…")

    def write_html(self, path: Path) -> None:
        """A self-contained page (pictures inline) that any browser opens."""
        rows = []
        for e in self.entries:
            local = e.at.astimezone(e.tz).strftime("%a %d %b %Y %H:%M")
            zone = html.escape(e.tz.key)
            if e.kind == "scene":
                rows.append(f"<h2>{html.escape(e.text)} <small>{local} ({zone})</small></h2>")
                continue
            who = "bot" if e.sender == "bot" else "person"
            head = (
                f"bot → {html.escape(e.chat)}"
                if e.sender == "bot"
                else f"{html.escape(e.sender)} → bot"
            )
            body = html.escape(e.text).replace("\n", "<br>")
            if e.image is not None:
                data = base64.b64encode(e.image).decode()
                body = f'<img src="data:image/png;base64,{data}" alt="chart"><br>' + body
            if e.filename:
                name = html.escape(e.filename)
                body = f'📎 <a href="{name}">{name}</a><br>' + body
            if e.buttons:
                body += (
                    "<div class=b>"
                    + "".join(f"<span>{html.escape(b)}</span>" for b in e.buttons)
                    + "</div>"
                )
            edited = " (edited)" if e.kind == "edit" else ""
            rows.append(
                f'<div class="m {who}"><div class=h>{local} · {zone} · {head}{edited}</div>'
                f"<div>{body}</div></div>"
            )
        path.write_text(_PAGE.format(rows="\n".join(rows)), encoding="utf-8")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nfpbot demo: one reporting week</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;
background:#f4f6f8;color:#1b1f23}}
h2{{font-size:1.05rem;margin:2rem 0 .5rem;border-bottom:1px solid #ccd}}
small{{color:#667;font-weight:normal}}
.m{{background:#fff;border-radius:.6rem;padding:.5rem .8rem;margin:.4rem 0;
box-shadow:0 1px 2px #0002}}
.person{{background:#e3f2e1;margin-left:4rem}}
.h{{font-size:.75rem;color:#667;margin-bottom:.2rem}}
.b span{{display:inline-block;border:1px solid #9ab;border-radius:.4rem;padding:.1rem .4rem;
margin:.2rem .2rem 0 0;font-size:.85rem;color:#246}}
img{{max-width:100%}}
</style></head><body>
<h1>nfpbot demo: one reporting week</h1>
<p>Every message below went through the Bot API of the embedded sandbox, which checks each
call as Telegram does; the bot is the same program as <code>nfpbot run</code>.</p>
{rows}
</body></html>
"""
