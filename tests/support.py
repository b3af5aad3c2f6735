"""A running bot against the sandbox that tests can stop and restart on the same database."""

from __future__ import annotations

from contextlib import AsyncExitStack

from telegram.ext import Application

from bot.app import Options, build_application
from bot.clock import FakeClock
from bot.config import Config
from bot.runner import polling
from bot.sandbox import Sandbox, SentMessage, SimUser
from bot.services import Services

ADMIN_ID = 9001


class BotEnv:
    def __init__(self, sandbox: Sandbox, config: Config, clock: FakeClock) -> None:
        self.sandbox = sandbox
        self.config = config
        self.clock = clock
        self.app: Application | None = None
        self._stack: AsyncExitStack | None = None

    @property
    def svc(self) -> Services:
        assert self.app is not None
        return self.app.bot_data["svc"]

    async def start(self) -> None:
        self.app = build_application(
            self.config,
            self.sandbox.token,
            Options(base_url=self.sandbox.base_url, clock=self.clock),
        )
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(polling(self.app))

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def restart(self) -> None:
        """A new Application (new process state) on the same database file."""
        await self.stop()
        await self.start()

    def admin(self) -> SimUser:
        return self.sandbox.user(ADMIN_ID, "Secretariat", username="secretariat")

    async def say(self, user: SimUser, text: str) -> SentMessage:
        """Send text and return the bot's next message in that chat."""
        await user.send(text)
        return await user.next_message()

    async def quiet(self, *users: SimUser) -> None:
        """Let the bot finish what it is doing, then forget what it sent these users."""
        await self.sandbox.settle()
        for user in users:
            user.drain()

    async def press(self, user: SimUser, button: str) -> SentMessage:
        await user.press(button)
        return await user.next_message()
