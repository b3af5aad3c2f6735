"""The demo's world: the sandbox, the real bot on it, the clock, and the people in it.

Simulated people act through the sandbox exactly as the tests' users do (they send texts and
press buttons; Telegram turns that into updates); :meth:`World.capture` turns whatever the
bot sent since the last look into transcript entries, with the time of the injected clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.core.clock import FakeClock
from bot.core.services import Services
from bot.demo.transcript import Entry, Transcript
from bot.wiring.app import Options, build_application
from bot.wiring.context import BotApplication
from bot.wiring.runner import polling
from sandbox import Sandbox, SentMessage, SimGroup, SimUser

ADMIN_ID = 7001
#: A token only the sandbox knows: the demo never talks to Telegram.
DEMO_TOKEN = "7001000:demo-sandbox-token"


class Interrupted(Exception):
    """Ctrl-C: the demo stops at the next message, whatever was waiting swallowed."""


REPLY_TIMEOUT = 30.0  # seconds to wait for the bot's answer to one action (a loaded machine)


@dataclass
class Actor:
    """A simulated person (or the group) and how the transcript names their chat."""

    chat: SimUser | SimGroup
    label: str
    tz: ZoneInfo
    seen: int = 0  # events of this chat already in the transcript
    texts: dict[int, str] = dataclasses.field(default_factory=dict)  # message id -> last text


class World:
    def __init__(self, config: Config, clock: FakeClock, transcript: Transcript, pace: float):
        self.config = dataclasses.replace(config, admins=(ADMIN_ID,))
        self.clock = clock
        self.transcript = transcript
        self.pace = pace  # seconds to pause after each message, for watching
        self.sandbox = Sandbox(token=DEMO_TOKEN, bot_username="nfpbot_demo_bot")
        self.app: BotApplication | None = None
        self.actors: dict[int, Actor] = {}
        self.region = self.config.regions[0]
        self.home = ZoneInfo(self.region.timezone)
        self.files: dict[str, bytes] = {}  # documents the bot sent, saved at the end
        self.stop_requested = False  # set by Ctrl-C (bot.demo.run): checked after each message

    @property
    def svc(self) -> Services:
        assert self.app is not None
        svc: Services = self.app.bot_data["svc"]
        return svc

    @asynccontextmanager
    async def running(self) -> AsyncIterator[World]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self.sandbox)
            self.app = build_application(
                self.config,
                self.sandbox.token,
                # digests at the story's times (deliver), not at one real second in
                Options(base_url=self.sandbox.base_url, clock=self.clock, digests_at_start=False),
            )
            await stack.enter_async_context(polling(self.app))
            yield self

    # ------------------------------------------------------------------ people

    def person(
        self, tg_id: int, name: str, tz: ZoneInfo, lang: str = "en", label: str | None = None
    ) -> SimUser:
        user = self.sandbox.user(tg_id, name, language_code=lang)
        self.actors.setdefault(user.chat_id, Actor(user, label or name, tz))
        return user

    def group(self, chat_id: int, title: str) -> SimGroup:
        group = self.sandbox.group(chat_id, title, bot_member=False)
        self.actors.setdefault(chat_id, Actor(group, f"{title} (group)", self.home))
        return group

    def admin(self) -> SimUser:
        return self.person(ADMIN_ID, "Secretariat", self.home, label="Secretariat (admin)")

    # ------------------------------------------------------------------ acting

    def scene(self, title: str) -> None:
        self.transcript.add(Entry(self.clock.now(), "", "", title, self.home, kind="scene"))

    async def say(self, user: SimUser, text: str) -> SentMessage:
        """The person sends ``text``; returns the bot's first new message in reply."""
        self._said(user, text)
        before = len(user.events)
        await user.send(text)
        return await self.reply(user, before)

    async def press(self, user: SimUser, label: str, chat: SimGroup | None = None) -> None:
        """The person taps a button (in their chat, or in ``chat``)."""
        self._said(user, f"[{label}]", chat)
        await user.press(label, chat=chat)
        await self.settle()

    async def tap(self, user: SimUser, label: str) -> SentMessage:
        """Tap a button in the private chat; the bot's next new (not edited) message."""
        before = len(user.events)
        await self.press(user, label)
        return await self.reply(user, before)

    async def reply(self, user: SimUser, before: int) -> SentMessage:
        """The first new message (not an edit) after event ``before`` in the user's chat."""
        deadline = asyncio.get_running_loop().time() + REPLY_TIMEOUT
        while True:
            fresh = [m for m in user.events[before:] if m.kind == "sent"]
            if fresh:
                await self.settle()
                return fresh[0]
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the bot did not answer {user!r}")
            await asyncio.sleep(0.01)

    async def settle(self) -> None:
        await self.sandbox.settle()
        self.capture()
        if self.stop_requested:
            raise Interrupted
        if self.pace:
            await asyncio.sleep(self.pace)

    async def deliver(self) -> None:
        """Run the cycle at the clock's instant and wait until the outbox sent what is due."""
        from bot.digest import board, post
        from bot.reporting.schedule import tick

        await tick(self.svc)  # what the cycle's jobs run (bot.wiring.app), at this instant
        await post.due(self.svc)
        await board.refresh(self.svc)
        await self.drain()

    async def drain(self) -> None:
        assert self.app is not None
        sender = self.app.bot_data["outbox"][0]
        await sender.drain(timeout=30)
        await self.settle()

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    # ------------------------------------------------------------------ the transcript

    def _said(self, user: SimUser, text: str, chat: SimGroup | None = None) -> None:
        self.capture()
        actor = self.actors[chat.chat_id if chat is not None else user.chat_id]
        who = self.actors[user.chat_id].label if user.chat_id in self.actors else user.first_name
        self.transcript.add(Entry(self.clock.now(), actor.label, who, text, actor.tz))

    def capture(self) -> None:
        """Every bot message since the last look, in each known chat, into the transcript."""
        for actor in self.actors.values():
            events = actor.chat.events
            for m in events[actor.seen :]:
                unchanged = actor.texts.get(m.message_id) == m.text
                actor.texts[m.message_id] = m.text
                if m.kind == "edited" and unchanged:
                    continue  # only the buttons went (an answered question): not news
                kind = "edit" if m.kind == "edited" else "message"
                if m.photo_bytes is not None:
                    kind = "photo"
                elif m.filename:
                    kind = "document"
                self.transcript.add(
                    Entry(
                        self.clock.now(),
                        actor.label,
                        "bot",
                        m.text,
                        actor.tz,
                        kind=kind,
                        buttons=tuple(m.button_texts()),
                        image=m.photo_bytes,
                        filename=m.filename,
                    )
                )
                if m.document_bytes is not None and m.filename:
                    self.files[m.filename] = m.document_bytes
                if m.photo_bytes is not None:
                    self.files[f"chart-{len(self.files) + 1}.png"] = m.photo_bytes
            actor.seen = len(events)

    def save_files(self, out: Path) -> list[Path]:
        saved = []
        for name, data in self.files.items():
            path = out / Path(name).name
            path.write_bytes(data)
            saved.append(path)
        return saved
