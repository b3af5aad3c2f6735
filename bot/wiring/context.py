"""The callback context handlers receive: PTB's, plus typed access to the services, to whoever
sent the update and to the translator for them.

PTB types ``update.effective_user`` as optional, since a channel post or a poll update has no
sender; every handler of ours that asks is registered for private messages, commands or
button presses, which always have one. So the question is answered once, here:
:attr:`BotContext.user` is a :class:`telegram.User` or a loud error naming the update (a
wiring mistake for the error handler to report), never a ``None`` each handler has to
assert away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from telegram import Update, User
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.core.i18n import Translator, pick_language, translator
from bot.core.services import Services

if TYPE_CHECKING:
    from bot.wiring.concurrency import DurablePolling
from bot.people.roles import get_person


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self._sender: User | None = None
        self._update_id: int | None = None

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> Self:
        """PTB builds one context per update through here: remember who sent it."""
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context._sender = update.effective_user
            context._update_id = update.update_id
        return context

    @property
    def svc(self) -> Services:
        svc: Services = self.application.bot_data["svc"]
        return svc

    @property
    def sender(self) -> User | None:
        """Whoever sent the update, if it has a sender (a group's service message may not)."""
        return self._sender

    @property
    def user(self) -> User:
        """Whoever sent the update (the person typing or pressing a button)."""
        if self._sender is None:
            raise RuntimeError(f"update {self._update_id} has no sender")
        return self._sender

    @property
    def user_id(self) -> int:
        """The Telegram id of :attr:`user`."""
        return self.user.id

    @property
    def recovered(self) -> bool:
        """Whether this update was kept from before the last stop and is processed only now.

        Its reply, or the screen it answered, may have died with that process: handlers that
        would otherwise send nothing new show where the person stands.
        """
        polling: DurablePolling | None = self.application.bot_data.get("polling")
        return (
            polling is not None
            and self._update_id is not None
            and polling.is_recovered(self._update_id)
        )

    async def reader(self) -> Translator:
        """The translator for whoever sent the update: their chosen language, else their app's.

        Looked up on each call, not cached: a handler that changes the person's language
        (onboarding) asks again and gets the new one.
        """
        if self._sender is None:
            return translator(self.svc.config.default_language)
        person = await get_person(self.svc, self._sender.id)
        return translator(
            pick_language(person.language if person else None, self._sender.language_code)
        )


#: The Application :func:`bot.wiring.app.build_application` builds, as PTB's builder types it (its
#: job queue keeps the default context type: ``context_types`` does not change it).
BotApplication = Application[
    ExtBot[None],
    BotContext,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]],
]
