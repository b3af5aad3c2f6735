"""The callback context handlers receive: PTB's, plus typed access to the services."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.core.services import Services


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def svc(self) -> Services:
        svc: Services = self.application.bot_data["svc"]
        return svc


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
