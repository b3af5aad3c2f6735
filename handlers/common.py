"""Small helpers shared by handlers: who is talking, in which language, and safe replies."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar, cast

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.core.callbacks import BadCallback, Callback
from bot.core.i18n import N_, Translator
from bot.core.textlimits import MESSAGE_LIMIT, split_html
from bot.outbox.messages import keyboard_json
from bot.people.roles import NotAllowed, UserInfo, require_admin
from bot.wiring.context import BotContext

log = logging.getLogger(__name__)

STALE_BUTTON = N_("This button is no longer valid.")


def user_info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def not_admin_text(tr: Translator) -> str:
    return tr.gettext("This command is for the secretariat's administrators only.")


def admin_only(action: str) -> Callable[[Handler], Handler]:
    """Refuse (politely, and logged in the audit trail) anyone who is not an admin."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(update: Update, context: BotContext) -> None:
            try:
                await require_admin(context.svc, context.user_id, action)
            except NotAllowed:
                tr = await context.reader()
                if update.callback_query is not None:
                    await answer_query(update, not_admin_text(tr), alert=True)
                else:
                    await reply(update, not_admin_text(tr))
                return
            await handler(update, context)

        return checked

    return decorate


C = TypeVar("C", bound=Callback)
CallbackHandler = Callable[[Update, BotContext, C], Coroutine[Any, Any, None]]


def on_callback(
    kind: type[C], *, in_groups: bool = False
) -> Callable[[CallbackHandler[C]], Handler]:
    """Hand the handler the button's data parsed by its :mod:`bot.core.callbacks` class.

    The one place callback data is read: data that does not parse within its bounds, and any
    button pressed in the wrong kind of chat (every flow is private, so a forged press on a
    group message must not answer into the group; the few group buttons, ``in_groups``,
    count only in a group), get the stale-button answer and nothing else.
    Whatever the handler does, the query is answered (an unanswered one spins in the app).
    """

    def decorate(handler: CallbackHandler[C]) -> Handler:
        @functools.wraps(handler)
        async def parsed(update: Update, context: BotContext) -> None:
            query = update.callback_query
            assert query is not None
            message = query.message
            try:
                private = message is not None and message.chat.type == ChatType.PRIVATE
                if message is None or private == in_groups:
                    raise BadCallback("not a chat of this kind of button")
                data = kind.unpack(query.data or "", context.svc.config)
            except BadCallback:
                log.info(
                    "refused callback data %r from %s", (query.data or "")[:64], query.from_user.id
                )
                tr = await context.reader()
                await answer_query(update, tr.gettext(STALE_BUTTON), alert=True)
                return
            try:
                await handler(update, context, data)
            except Exception:
                # already answered, or Telegram is down: the error handler reports the cause
                with contextlib.suppress(TelegramError):
                    await query.answer()
                raise

        return parsed

    return decorate


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline keyboard from ``[[(label, callback_data), ...], ...]``."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
log = logging.getLogger(__name__)

# A reply refused with 429 is sent again after ``retry_after`` while the waits stay within
# this budget (the chat's next update waits meanwhile, which keeps its order); a longer
# flood pause is left to the caller, e.g. the outbox, which waits without holding anyone.
REPLY_RETRY_BUDGET = 5.0
REPLY_ATTEMPTS = 3


# The same parameters as JSON text, for the raw calls below (PTB would serialise the object)
NO_PREVIEW_JSON = '{"is_disabled":true}'


async def api_call(bot: Bot, method: str, params: dict[str, Any]) -> Any:
    """Call a Bot API method and return Telegram's JSON result as it came (no PTB objects).

    For the replies of the hot path, where the answer is not needed (an edit, a toast) or
    only its ``message_id`` is: PTB's ``Message.de_json`` for every sent or edited message
    was the largest single cost of an answer (bench.report_throughput, py-spy). Goes
    through PTB's ``_post``, so the rate limiter (replies' share of the budget), the
    request backend and PTB's error mapping (``BadRequest``, ``RetryAfter``, ``TimedOut``
    ...) are the same as for ``Bot.send_message``; ``Bot.do_api_request`` would be the
    public door, but it warns for every method PTB has a function for. ``None`` values
    are dropped (Telegram's optional parameters), as PTB does.
    """
    return await bot._post(method, params)


def _chat_id(update: Update) -> int | None:
    chat = update.effective_chat
    return None if chat is None else chat.id


def retry_after_seconds(exc: RetryAfter) -> float:
    """``retry_after`` as seconds: PTB gives an int (deprecated) or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer in the chat the update came from (a message or a pressed button), as HTML.

    Flood control (429) is obeyed: the reply is sent again after ``retry_after``, within
    :data:`REPLY_RETRY_BUDGET`; past it the :class:`RetryAfter` reaches the caller.

    Parse mode is passed per call, not via PTB ``Defaults``: with defaults PTB also sends
    ``parse_mode`` to methods that have no such parameter (editMessageReplyMarkup).
    """
    chat = update.effective_chat
    if chat is None:
        return None
    return await _flood_retried(
        lambda: chat.send_message(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=NO_PREVIEW,
        )
    )


async def reply_id(
    update: Update, text: str, rows: list[list[tuple[str, str]]] | None = None
) -> int | None:
    """:func:`reply` for the hot path: the same message, retried the same way; only the
    sent message's id comes back (no PTB ``Message`` is built, see :func:`api_call`)."""
    chat_id = _chat_id(update)
    if chat_id is None:
        return None
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": ParseMode.HTML.value,
        "link_preview_options": NO_PREVIEW_JSON,
    }
    if rows:
        params["reply_markup"] = keyboard_json(rows)
    bot = update.get_bot()
    # a dict of our own each attempt: PTB's _post adds to the one it is given
    result = await _flood_retried(lambda: api_call(bot, "sendMessage", dict(params)))
    return int(cast(dict[str, Any], result)["message_id"])


T = TypeVar("T")


async def _flood_retried(send: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``send()`` again after a 429's ``retry_after`` while the waits stay within
    :data:`REPLY_RETRY_BUDGET` (at most :data:`REPLY_ATTEMPTS` tries); then it raises."""
    waited = 0.0
    attempt = 1
    while True:
        try:
            return await send()
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            if attempt == REPLY_ATTEMPTS or waited + wait > REPLY_RETRY_BUDGET:
                raise
            log.info("reply refused by flood control (429): again in %.1f s", wait)
            waited += wait
            attempt += 1
            await asyncio.sleep(wait)


async def remove_keyboard(bot: Bot, chat_id: int, message_id: int) -> None:
    """Take the buttons off a message that no longer applies; cosmetic, so never raises.

    An edit is not a new message (flood control counts sends), and it is skipped rather
    than retried when Telegram asks to slow down.
    """
    try:
        await api_call(
            bot, "editMessageReplyMarkup", {"chat_id": chat_id, "message_id": message_id}
        )
    except TelegramError as err:
        log.debug("could not remove the keyboard of message %d: %s", message_id, err)


async def edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the text (and buttons) of the message whose button was pressed."""
    query = update.callback_query
    if query is None:
        return
    await query.edit_message_text(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
    )


async def drop_keyboard(update: Update) -> None:
    """Remove the buttons of the message whose button was pressed (already gone is fine).

    Cosmetic: a refusal (429, 5xx) is logged, never raised, so it cannot stand between the
    person and the next screen sent alongside.
    """
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await set_pressed_keyboard(update, None)
    except BadRequest as err:
        if "not modified" not in err.message and "not found" not in err.message:
            raise
    except TelegramError as err:
        log.info("could not remove the pressed message's keyboard: %s", err)


async def set_pressed_keyboard(update: Update, rows: list[list[tuple[str, str]]] | None) -> None:
    """Replace (``rows``) or remove (``None``) the buttons of the message whose button was
    pressed; raises as Telegram refuses (the callers decide what is cosmetic)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    params: dict[str, Any] = {
        "chat_id": query.message.chat.id,
        "message_id": query.message.message_id,
    }
    if rows is not None:
        params["reply_markup"] = keyboard_json(rows)
    await api_call(update.get_bot(), "editMessageReplyMarkup", params)


async def answer_query(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the pressed button (the toast, or an alert), through :func:`api_call`."""
    query = update.callback_query
    if query is not None:
        params: dict[str, Any] = {"callback_query_id": query.id}
        if text is not None:
            params["text"] = text
        if alert:
            params["show_alert"] = True
        await api_call(update.get_bot(), "answerCallbackQuery", params)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut a long HTML text at line breaks into pieces within Telegram's message limit."""
    return split_html(text, limit)


async def reply_long(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> list[Message]:
    """Reply with as many messages as the text needs (whole lines), buttons on the last.

    A screen that does not fit one message is sent as several by design, never refused by
    Telegram: the buttons (e.g. "Confirm") come last, under the end of what they act on.
    """
    pieces = split_text(text)
    sent = []
    for i, piece in enumerate(pieces):
        message = await reply(update, piece, markup if i == len(pieces) - 1 else None)
        if message is not None:
            sent.append(message)
    return sent
