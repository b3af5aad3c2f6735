"""A running bot against the sandbox that tests can stop and restart on the same database."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from bot.config import Config
from bot.core.clock import FakeClock
from bot.core.services import Services
from bot.outbox.sender import OutboxSender
from bot.wiring.app import Options, build_application
from bot.wiring.context import BotApplication
from bot.wiring.runner import polling
from sandbox import Sandbox, SentMessage, SimUser

ADMIN_ID = 9001


class BotEnv:
    def __init__(self, sandbox: Sandbox, config: Config, clock: FakeClock) -> None:
        self.sandbox = sandbox
        self.config = config
        self.clock = clock
        self.app: BotApplication | None = None
        self._stack: AsyncExitStack | None = None

    @property
    def svc(self) -> Services:
        assert self.app is not None
        svc: Services = self.app.bot_data["svc"]
        return svc

    @property
    def outbox(self) -> OutboxSender:
        """The running outbox sender (to drain it)."""
        assert self.app is not None
        sender: OutboxSender = self.app.bot_data["outbox"][0]
        return sender

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
        """Send text and return the bot's reply (whatever arrived before is dropped).

        The reply is a new message: edits (an older screen losing its buttons) are skipped.
        """
        user.drain()
        await user.send(text)
        return await next_sent(user)

    async def quiet(self, *users: SimUser) -> None:
        """Let the bot finish what it is doing, then forget what it sent these users."""
        await self.sandbox.settle()
        for user in users:
            user.drain()

    async def press(self, user: SimUser, button: str) -> SentMessage:
        """Press a button and return the bot's next message or edit in that chat."""
        user.drain()
        await user.press(button)
        return await user.next_message()


async def until_polling(sandbox: Sandbox, polls: int = 1, timeout: float = 15.0) -> None:  # noqa: ASYNC109
    """Wait until the bot (a subprocess, say) has started its ``polls``-th getUpdates.

    ``sandbox.polls_started`` counts a poll on arrival; ``calls_to("getUpdates")`` only
    when it is answered, which for a long poll is its whole timeout (10 s) later.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while sandbox.polls_started < polls:
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"the bot did not start poll #{polls} within {timeout} s")
        await asyncio.sleep(0.02)


async def next_sent(user: SimUser, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
    """The next *new* message in the chat (edits of older ones are skipped)."""
    while True:
        msg = await user.next_message(timeout)
        if msg.kind == "sent":
            return msg


SKIP = object()

# A complete week in English, in the questionnaire's order (labels of config.toml).
ANSWERS_EN: dict[str, object] = {
    "new_cases": "1 234",
    "new_deaths": "5",
    "tests": SKIP,
    "hospitalised": "40",
    "measures": "Targeted measures",
    "lab_capacity": "Adequate",
    "needs": ["Test kits", "Disinfectants"],
    "training": SKIP,
    "developments": "Vaccination of health workers started.",
}


async def answer_all(
    env: BotEnv,
    user: SimUser,
    answers: dict[str, object],
    *,
    skip_label: str = "Skip",
    done_label: str = "Done",
) -> SentMessage:
    """Answer questions in order from the current one; return the screen after the last."""
    q = env.config.regions[0].questionnaire
    msg: SentMessage | None = None
    for key, value in answers.items():
        question = q.question(key)
        if value is SKIP:
            await user.press(skip_label)
        elif question.type in ("number", "text"):
            await user.send(str(value))
        elif question.type == "choice":
            await user.press(str(value))
        else:
            assert isinstance(value, list), f"{key}: a multi answer is a list of labels"
            for label in value:
                await user.press("▫️ " + label)
                edited = await user.next_message()
                assert edited.kind == "edited"
            await user.press(done_label)
        msg = await next_sent(user)
    assert msg is not None
    return msg


async def make_nfp(
    env: BotEnv, user_id: int, iso3: str, lang: str = "en", kind: str = "main", name: str = "NFP"
) -> SimUser:
    """An onboarded NFP (the onboarding conversation itself is tested in test_onboarding)."""
    from bot.people import roles as people

    user = env.sandbox.user(user_id, name, language_code=lang)
    invite = await people.create_invite(env.svc, ADMIN_ID, iso3, kind)
    await people.redeem_invite(env.svc, people.UserInfo(user_id, name), invite.code)
    await people.set_language(env.svc, user_id, lang)
    return user


async def deliver(env: BotEnv) -> None:
    """Run the cycle now and wait until the outbox has sent everything due."""
    from bot.digest import post
    from bot.reporting.schedule import tick

    await tick(env.svc)
    await post.due(env.svc)  # as the cycle's job does (bot.wiring.app)
    await env.outbox.drain(timeout=20)
    await env.sandbox.settle()
