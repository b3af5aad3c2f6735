"""BotContext: handlers get the sender and their translator typed, from the update itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from telegram import Chat, Message, Update, User

from bot.people import roles as people
from bot.wiring.context import BotContext
from tests.support import BotEnv

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def private(update_id: int, user: User) -> Update:
    chat = Chat(user.id, "private")
    return Update(update_id, message=Message(update_id, NOW, chat, from_user=user, text="x"))


async def test_the_sender_and_their_language(env: BotEnv) -> None:
    assert env.app is not None
    kyrgyz = User(501, "Aibek", False, language_code="ky")
    context = BotContext.from_update(private(1, kyrgyz), env.app)
    assert context.user is kyrgyz and context.user_id == 501
    # a stranger: their app's language (Kyrgyz reads the region's Russian)
    assert (await context.reader()).lang == "ru"
    # a registered person's own choice wins, and is read anew (not cached) after a change
    await people.register(env.svc, people.UserInfo(501, "Aibek", language_code="ky"))
    await people.set_language(env.svc, 501, "en")
    assert (await context.reader()).lang == "en"


async def test_an_update_without_a_sender_is_a_wiring_mistake(env: BotEnv) -> None:
    assert env.app is not None
    post = Update(7, channel_post=Message(3, NOW, Chat(-1001, "channel"), text="news"))
    context = BotContext.from_update(post, env.app)
    assert context.sender is None
    with pytest.raises(RuntimeError, match="update 7 has no sender"):
        _ = context.user_id
    # its error reply, if any, is in the default language
    assert (await context.reader()).lang == env.config.default_language
