"""The callback context handlers receive: PTB's, plus typed access to the services."""

from __future__ import annotations

from telegram.ext import CallbackContext, ExtBot

from bot.services import Services


class BotContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    @property
    def svc(self) -> Services:
        return self.application.bot_data["svc"]
