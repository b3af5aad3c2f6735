"""/guidance, /subscribe, /unsubscribe, /addguidance, /forget_me and their buttons."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.core import callbacks as cb
from bot.core.i18n import Translator
from bot.core.services import Services
from bot.guidance import library, status, subscriptions
from bot.guidance.library import Draft, Page, Refused
from bot.guidance.subscriptions import Choice
from bot.guidance.texts import item_text, source_label, topic_labels, withdrawn_text
from bot.people import roles as people
from bot.people.roles import NotAllowed, Role
from bot.wiring.context import BotContext
from handlers import fallback
from handlers.common import (
    NO_PREVIEW,
    Handler,
    answer_query,
    edit,
    keyboard,
    on_callback,
    reply,
    user_info,
)

log = logging.getLogger(__name__)

ON, OFF = "✅", "▫️"


# --- texts --------------------------------------------------------------------------------


def refusal_text(tr: Translator, refused: Refused, context: BotContext) -> str:
    """Bad input, said plainly: what was wrong and what to send instead."""
    _ = tr.gettext
    r = refused.reason
    if r == "not_https":
        return _(
            "Only https links are accepted (the link must start with https://), so that "
            "readers open the original securely. Please send the https address of the document."
        )
    if r == "bad_link":
        return _(
            "This is not a link I can use. Send it as /addguidance https://example.org/doc Title."
        )
    if r == "no_title":
        return _("Please give the item a title after the link: /addguidance https://… Title")
    if r == "title_too_long":
        return _(
            "The title is {n} characters long; at most {max} fit an alert. Put the rest on the "
            "next lines: they become the summary."
        ).format(n=refused.detail, max=library.MAX_TITLE)
    if r == "summary_too_long":
        return _("The summary is {n} characters long; at most {max} fit an alert.").format(
            n=refused.detail, max=library.MAX_SUMMARY
        )
    if r == "unknown_topic":
        return _("There is no topic “{tag}”. The topics are: {topics}.").format(
            tag=html.escape(refused.detail),
            topics=", ".join(f"#{t.key}" for t in context.svc.config.topics),
        )
    if r == "duplicate" and refused.item is not None:
        return _(
            "This link is already in the library as “{title}” (#{id}). "
            "Update that item with what you sent instead?"
        ).format(title=html.escape(refused.item.title), id=refused.item.id)
    if r == "no_topic":
        return _("Choose at least one topic first.")
    if r == "not_a_document":
        return _("Please send the document as a PDF or DOCX file.")
    if r == "no_draft":
        return _("There is no item being added. Start with /addguidance.")
    return _("This item no longer exists or has been withdrawn.")


def stranger_text(tr: Translator) -> str:
    return tr.gettext(
        "Only the secretariat's administrators can add guidance to the library. "
        "You can read it with /guidance and choose alerts with /subscribe."
    )


def _toggle(on: bool, label: str) -> str:
    return f"{ON if on else OFF} {label}"


def subscription_screen(
    tr: Translator, context: BotContext, c: Choice
) -> tuple[str, InlineKeyboardMarkup]:
    cfg = context.svc.config
    _ = tr.gettext
    if c.on:
        head = _("You receive guidance alerts on the topics and in the languages ticked below.")
    else:
        head = _("You do not receive guidance alerts. Tick topics below, or tap Subscribe.")
    lines = [head]
    if c.on and c.default:
        lines.append(_("As a National Focal Point you are subscribed by default."))
    if c.on and (not c.topics or not c.languages):
        lines.append(_("With no topic or no language ticked, no alert can reach you."))
    rows: list[list[tuple[str, str]]] = []
    topic_buttons = [
        (
            _toggle(t.key in c.topics and c.on, t.label.get(tr.lang) or t.key),
            cb.SubTopic(t.key, 0 if (t.key in c.topics and c.on) else 1).pack(),
        )
        for t in cfg.topics
    ]
    rows += [topic_buttons[i : i + 2] for i in range(0, len(topic_buttons), 2)]
    rows.append(
        [
            (
                _toggle(code in c.languages and c.on, tr.language_name(code)),
                cb.SubLanguage(code, 0 if (code in c.languages and c.on) else 1).pack(),
            )
            for code in cfg.languages
        ]
    )
    if c.on:
        rows.append([(_("Unsubscribe from all alerts"), cb.SubscribeOff().pack())])
    else:
        rows.append([(_("Subscribe"), cb.SubscribeOn().pack())])
    return "\n".join(lines), keyboard(rows)


def draft_screen(tr: Translator, context: BotContext, d: Draft) -> tuple[str, InlineKeyboardMarkup]:
    cfg = context.svc.config
    _ = tr.gettext
    head = _("New item for the library:") if d.item_id is None else _("Editing item #{id}:")
    lines = [head.format(id=d.item_id), f"<b>{html.escape(d.title)}</b>"]
    if d.url:
        lines.append(html.escape(d.url))
    if d.file_name:
        lines.append(_("Document: {name}").format(name=html.escape(d.file_name)))
    if d.summary:
        lines.append(html.escape(d.summary))
    lines += [
        "",
        _("Topics: {topics}").format(
            topics=html.escape(topic_labels(cfg, d.topics, tr.lang) or "—")
        ),
        _("Choose the topics, the language and the source, then save."),
    ]
    rows: list[list[tuple[str, str]]] = []
    topic_buttons = [
        (
            _toggle(t.key in d.topics, t.label.get(tr.lang) or t.key),
            cb.DraftTopic(t.key, 0 if t.key in d.topics else 1).pack(),
        )
        for t in cfg.topics
    ]
    rows += [topic_buttons[i : i + 2] for i in range(0, len(topic_buttons), 2)]
    rows.append(
        [
            (
                ("• " if code == d.language else "") + tr.language_name(code),
                cb.DraftLanguage(code).pack(),
            )
            for code in cfg.languages
        ]
    )
    rows.append(
        [
            (("• " if s == d.source else "") + source_label(tr, s), cb.DraftSource(s).pack())
            for s in cb.GUIDANCE_SOURCES
        ]
    )
    save = _("Add and send alerts") if d.item_id is None else _("Save")
    rows.append([(save, cb.DraftSave().pack()), (_("Cancel"), cb.DraftCancel().pack())])
    return "\n".join(lines), keyboard(rows)


def list_screen(
    tr: Translator, p: Page, words: str | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = tr.gettext
    if not p.items:
        if words is not None:
            return _("Nothing in the library matches “{words}”.").format(
                words=html.escape(words)
            ), None
        return _("The library has no items in your language yet."), None
    head = (
        _("Found for “{words}” (page {page} of {pages}):")
        if words is not None
        else _("Latest guidance (page {page} of {pages}):")
    )
    lines = [head.format(words=html.escape(words or ""), page=p.page + 1, pages=p.pages)]
    rows: list[list[tuple[str, str]]] = []
    for n, item in enumerate(p.items, start=p.page * library.PAGE_SIZE + 1):
        lines.append(
            f"{n}. <b>{html.escape(item.title)}</b> — {html.escape(source_label(tr, item.source))},"
            f" {tr.date(item.created_at.date())}"
        )
        label = f"{n}. {item.title}"
        rows.append([(label[:60], cb.GuidanceOpen(item.id).pack())])
    nav = []
    if p.page > 0:
        nav.append(("◀", cb.GuidancePage(p.search_id, p.page - 1).pack()))
    if p.page + 1 < p.pages:
        nav.append(("▶", cb.GuidancePage(p.search_id, p.page + 1).pack()))
    if nav:
        rows.append(nav)
    lines.append(_("Tap an item to open it."))
    return "\n".join(lines), keyboard(rows)


# --- commands -----------------------------------------------------------------------------


def _command_text(update: Update) -> str:
    """The message text after the command, newlines kept (summary lines)."""
    message = update.effective_message
    text = (message.text if message is not None else None) or ""
    return re.sub(r"^/\S+", "", text, count=1)


async def guidance(update: Update, context: BotContext) -> None:
    """``/guidance`` lists the latest in the reader's language; ``/guidance words`` searches."""
    tr = await context.reader()
    svc = context.svc
    words = " ".join(context.args or [])
    if words.strip().lower() == "status":
        await _status(update, context, tr)
        return
    if words.strip():
        page = await library.search(svc, context.user_id, words)
        text, markup = list_screen(tr, page, words)
    else:
        page = await library.latest_page(svc, tr.lang, 0)
        text, markup = list_screen(tr, page, None)
    await reply(update, text, markup)


async def _status(update: Update, context: BotContext, tr: Translator) -> None:
    """Per item, its broadcast's progress (with Pause / Resume / Cancel) and which
    countries' NFPs acknowledged it; the message is kept up to date while it drains."""
    svc = context.svc
    try:
        await people.require_admin(svc, context.user_id, "guidance_status")
    except NotAllowed:
        await reply(
            update, tr.gettext("This command is for the secretariat's administrators only.")
        )
        return
    s = await status.screen(svc, tr.lang)
    sent = await reply(update, s.text, keyboard(s.buttons) if s.buttons else None)
    if sent is not None:
        await status.open_panel(svc, sent.chat_id, sent.message_id, tr.lang, s)


@on_callback(cb.BroadcastControl)
async def broadcast_control(update: Update, context: BotContext, data: cb.BroadcastControl) -> None:
    """Pause, resume or cancel a broadcast from the status panel (admins only), then show
    the panel as it is now."""
    svc = context.svc
    tr = await context.reader()
    try:
        changed = await status.control(svc, context.user_id, data.broadcast_id, data.action)
    except NotAllowed:
        await answer_query(
            update,
            tr.gettext("This command is for the secretariat's administrators only."),
            alert=True,
        )
        return
    if changed is None:
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    done = {
        "pause": tr.gettext("Paused: nothing more is sent until you resume."),
        "resume": tr.gettext("Resumed."),
        "cancel": tr.gettext("Cancelled: what was not sent yet will not be sent."),
    }[data.action]
    await answer_query(update, done if changed else tr.gettext("Nothing to change."))
    s = await status.screen(svc, tr.lang)
    await edit(update, s.text, keyboard(s.buttons) if s.buttons else None)
    query = update.callback_query
    message = query.message if query is not None else None
    if message is not None:
        await status.open_panel(svc, message.chat.id, message.message_id, tr.lang, s)


async def refresh_panels(svc: Services, bot: Bot) -> int:
    """The timer's step: announce finished broadcasts, then edit each status panel whose
    text changed (``bot.guidance.status.due_edits``); how many were edited.

    An edit refused for a lack of change is success; a message that is gone closes its
    panel; any other failure is left for the next run (the panel is a view: nothing is lost).
    """
    await status.announce_completed(svc)
    n = 0
    for e in await status.due_edits(svc):
        markup = keyboard(e.screen.buttons) if e.screen.buttons else None
        try:
            await bot.edit_message_text(
                e.screen.text,
                chat_id=e.chat_id,
                message_id=e.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.info("status panel %d/%d gone: %s", e.chat_id, e.message_id, exc.message)
                await status.gone(svc, e.chat_id, e.message_id)
                continue
        except TelegramError as exc:
            log.info("status panel %d/%d not edited now: %s", e.chat_id, e.message_id, exc)
            continue
        await status.edited(svc, e)
        n += 1
    return n


async def subscribe(update: Update, context: BotContext) -> None:
    tr = await context.reader()
    await people.register(context.svc, user_info(context.user))
    c = await subscriptions.choice(context.svc, context.user_id)
    if not c.on:
        c = await subscriptions.subscribe(context.svc, context.user_id, context.user.language_code)
    text, markup = subscription_screen(tr, context, c)
    await reply(update, text, markup)


async def unsubscribe(update: Update, context: BotContext) -> None:
    tr = await context.reader()
    if await people.get_person(context.svc, context.user_id) is None:
        await reply(update, tr.gettext("You are not subscribed to guidance alerts."))
        return
    c = await subscriptions.unsubscribe(context.svc, context.user_id)
    text, markup = subscription_screen(tr, context, c)
    await reply(
        update, tr.gettext("You will receive no more guidance alerts.") + "\n\n" + text, markup
    )


async def add_guidance(update: Update, context: BotContext) -> None:
    """``/addguidance <https-link> <title>`` (summary on the next lines, ``#topic`` tags), or
    ``/addguidance`` alone and then a PDF/DOCX."""
    tr = await context.reader()
    admin_id = context.user_id
    try:
        draft = await library.start(context.svc, admin_id, _command_text(update))
    except NotAllowed:
        await reply(update, stranger_text(tr))
        return
    except Refused as refused:
        markup = None
        if refused.reason == "duplicate" and refused.item is not None:
            markup = keyboard(
                [
                    [
                        (tr.gettext("Update it"), cb.DraftUpdateExisting(refused.item.id).pack()),
                        (tr.gettext("Cancel"), cb.DraftCancel().pack()),
                    ]
                ]
            )
        await reply(update, refusal_text(tr, refused, context), markup)
        return
    if draft.awaiting_document:
        await reply(
            update,
            tr.gettext(
                "Send the document (PDF or DOCX) with its title as the caption, or send "
                "/addguidance https://… Title for a link."
            ),
        )
        return
    text, markup = draft_screen(tr, context, draft)
    await reply(update, text, markup)


async def document(update: Update, context: BotContext) -> None:
    """A document: the one an admin's /addguidance waits for, else refused as other media."""
    svc = context.svc
    message = update.effective_message
    tg_id = context.user_id
    if (
        message is None
        or message.document is None
        or not await library.awaiting_document(svc, tg_id)
    ):
        await fallback.unsupported_message(update, context)
        return
    tr = await context.reader()
    doc = message.document
    try:
        draft = await library.attach_document(
            svc,
            tg_id,
            doc.file_id,
            doc.file_name or "document",
            doc.mime_type or "",
            message.caption or "",
        )
    except NotAllowed:
        await reply(update, stranger_text(tr))
        return
    except Refused as refused:
        await reply(update, refusal_text(tr, refused, context))
        return
    text, markup = draft_screen(tr, context, draft)
    await reply(update, text, markup)


async def forget_me(update: Update, context: BotContext) -> None:
    tr = await context.reader()
    await reply(
        update,
        tr.gettext(
            "This removes your name, username, subscriptions and the messages queued or sent "
            "to you from the bot's database. If you are a National Focal Point, your "
            "country's reports stay, under your role instead of your name. Continue?"
        ),
        keyboard(
            [
                [
                    (tr.gettext("Yes, forget me"), cb.ForgetConfirm().pack()),
                    (tr.gettext("No"), cb.ForgetCancel().pack()),
                ]
            ]
        ),
    )


# --- buttons ------------------------------------------------------------------------------


@on_callback(cb.ForgetConfirm)
async def forget_confirmed(update: Update, context: BotContext, data: cb.ForgetConfirm) -> None:
    tr = await context.reader()
    done = await subscriptions.forget(context.svc, context.user_id)
    await answer_query(update)
    await edit(
        update,
        tr.gettext("Done: your personal data has been removed.")
        if done
        else tr.gettext("There is nothing stored about you."),
    )


@on_callback(cb.ForgetCancel)
async def forget_cancelled(update: Update, context: BotContext, data: cb.ForgetCancel) -> None:
    tr = await context.reader()
    await answer_query(update)
    await edit(update, tr.gettext("Nothing was removed."))


async def _show_subscription(update: Update, context: BotContext, c: Choice) -> None:
    tr = await context.reader()
    await answer_query(update)
    text, markup = subscription_screen(tr, context, c)
    await edit(update, text, markup)


async def _known(update: Update, context: BotContext) -> bool:
    """A button from someone the bot no longer knows (forgot them): refused as stale."""
    if await people.get_person(context.svc, context.user_id) is not None:
        return True
    tr = await context.reader()
    await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
    return False


@on_callback(cb.SubTopic)
async def sub_topic(update: Update, context: BotContext, data: cb.SubTopic) -> None:
    if await _known(update, context):
        c = await subscriptions.set_topic(context.svc, context.user_id, data.topic, bool(data.on))
        await _show_subscription(update, context, c)


@on_callback(cb.SubLanguage)
async def sub_language(update: Update, context: BotContext, data: cb.SubLanguage) -> None:
    if await _known(update, context):
        c = await subscriptions.set_language(context.svc, context.user_id, data.code, bool(data.on))
        await _show_subscription(update, context, c)


@on_callback(cb.SubscribeOn)
async def sub_on(update: Update, context: BotContext, data: cb.SubscribeOn) -> None:
    await people.register(context.svc, user_info(context.user))
    c = await subscriptions.subscribe(context.svc, context.user_id, context.user.language_code)
    await _show_subscription(update, context, c)


@on_callback(cb.SubscribeOff)
async def sub_off(update: Update, context: BotContext, data: cb.SubscribeOff) -> None:
    """Unsubscribe: on the /subscribe screen it is redrawn; under an alert, the alert stays
    as it is and the answer comes as a new message with the way back."""
    if not await _known(update, context):
        return
    tg_id = context.user_id
    c = await subscriptions.unsubscribe(context.svc, tg_id)
    query = update.callback_query
    assert query is not None
    tr = await context.reader()
    markup = getattr(query.message, "reply_markup", None)
    pressed = [b.callback_data for row in (markup.inline_keyboard if markup else ()) for b in row]
    if any(str(d).startswith(cb.GuidanceOpen.PREFIX + ":") for d in pressed):  # an alert
        done = tr.gettext("You will receive no more guidance alerts.")
        await answer_query(update, done)
        text, screen = subscription_screen(tr, context, c)
        await reply(update, done + "\n\n" + text, screen)
        return
    await _show_subscription(update, context, c)


@on_callback(cb.GuidanceOpen)
async def open_item(update: Update, context: BotContext, data: cb.GuidanceOpen) -> None:
    svc = context.svc
    tr = await context.reader()
    item = await library.get(svc, data.item_id)
    if item is None:
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer_query(update)
    if item.withdrawn_at is not None:
        await reply(update, withdrawn_text(tr, item))
        return
    markup = None
    if await people.role_of(svc, context.user_id) is Role.ADMIN:
        markup = keyboard(
            [
                [
                    (tr.gettext("Edit"), cb.ItemEdit(item.id).pack()),
                    (tr.gettext("Withdraw"), cb.ItemWithdraw(item.id).pack()),
                ]
            ]
        )
    if item.file_id is not None and update.effective_chat is not None:
        await update.effective_chat.send_document(
            item.file_id, caption=html.escape(item.title[:1000]), parse_mode=ParseMode.HTML
        )
    await reply(update, item_text(tr, svc.config, item), markup)


@on_callback(cb.GuidanceRead)
async def read_item(update: Update, context: BotContext, data: cb.GuidanceRead) -> None:
    tr = await context.reader()
    recorded = await library.acknowledge(context.svc, context.user_id, data.item_id)
    if recorded is None:
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer_query(
        update,
        tr.gettext("Thank you: the secretariat sees that you have read it.")
        if recorded
        else tr.gettext("Already marked as read."),
    )


@on_callback(cb.GuidancePage)
async def page(update: Update, context: BotContext, data: cb.GuidancePage) -> None:
    svc = context.svc
    tr = await context.reader()
    tg_id = context.user_id
    try:
        if data.search_id == 0:
            p = await library.latest_page(svc, tr.lang, data.page)
            words = None
        else:
            p = await library.search_page(svc, tg_id, data.search_id, data.page)
            words = p.words
    except Refused:
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer_query(update)
    text, markup = list_screen(tr, p, words)
    await edit(update, text, markup)


async def _draft_step(
    update: Update, context: BotContext, step: Awaitable[Draft], *, new_message: bool = False
) -> None:
    """Run a draft change and redraw the draft (in place, or as a new message); refusals are
    answered on the button."""
    tr = await context.reader()
    try:
        draft = await step
    except NotAllowed:
        await answer_query(update, stranger_text(tr), alert=True)
        return
    except Refused as refused:
        await answer_query(update, refusal_text(tr, refused, context), alert=True)
        return
    await answer_query(update)
    text, markup = draft_screen(tr, context, draft)
    await (reply if new_message else edit)(update, text, markup)


@on_callback(cb.DraftTopic)
async def draft_topic(update: Update, context: BotContext, data: cb.DraftTopic) -> None:
    await _draft_step(
        update,
        context,
        library.set_topic(context.svc, context.user_id, data.topic, bool(data.on)),
    )


@on_callback(cb.DraftLanguage)
async def draft_language(update: Update, context: BotContext, data: cb.DraftLanguage) -> None:
    await _draft_step(
        update, context, library.set_language(context.svc, context.user_id, data.code)
    )


@on_callback(cb.DraftSource)
async def draft_source(update: Update, context: BotContext, data: cb.DraftSource) -> None:
    await _draft_step(
        update, context, library.set_source(context.svc, context.user_id, data.source)
    )


@on_callback(cb.DraftUpdateExisting)
async def draft_update_existing(
    update: Update, context: BotContext, data: cb.DraftUpdateExisting
) -> None:
    await _draft_step(
        update, context, library.update_existing(context.svc, context.user_id, data.item_id)
    )


@on_callback(cb.ItemEdit)
async def item_edit(update: Update, context: BotContext, data: cb.ItemEdit) -> None:
    await _draft_step(
        update,
        context,
        library.edit(context.svc, context.user_id, data.item_id),
        new_message=True,
    )


@on_callback(cb.DraftSave)
async def draft_save(update: Update, context: BotContext, data: cb.DraftSave) -> None:
    tr = await context.reader()
    try:
        saved = await library.save(context.svc, context.user_id)
    except NotAllowed:
        await answer_query(update, stranger_text(tr), alert=True)
        return
    except Refused as refused:
        await answer_query(update, refusal_text(tr, refused, context), alert=True)
        return
    await answer_query(update)
    if saved.new:
        text = tr.ngettext(
            "Added as #{id}. An alert is on its way to {n} subscriber.",
            "Added as #{id}. An alert is on its way to {n} subscribers.",
            saved.queued,
        ).format(id=saved.item.id, n=saved.queued)
    else:
        text = tr.gettext("Item #{id} saved.").format(id=saved.item.id)
    await edit(update, text + "\n\n" + item_text(tr, context.svc.config, saved.item))


@on_callback(cb.DraftCancel)
async def draft_cancel(update: Update, context: BotContext, data: cb.DraftCancel) -> None:
    tr = await context.reader()
    try:
        await library.cancel(context.svc, context.user_id)
    except NotAllowed:
        await answer_query(update, stranger_text(tr), alert=True)
        return
    await answer_query(update)
    await edit(update, tr.gettext("Cancelled: nothing was added."))


@on_callback(cb.ItemWithdraw)
async def item_withdraw(update: Update, context: BotContext, data: cb.ItemWithdraw) -> None:
    tr = await context.reader()
    if await people.role_of(context.svc, context.user_id) is not Role.ADMIN:
        await answer_query(update, stranger_text(tr), alert=True)
        return
    await answer_query(update)
    await reply(
        update,
        tr.gettext("Withdraw item #{id}? It will no longer be listed.").format(id=data.item_id),
        keyboard(
            [
                [
                    (tr.gettext("Withdraw"), cb.ItemWithdrawConfirm(data.item_id).pack()),
                    (tr.gettext("Cancel"), cb.DraftCancel().pack()),
                ]
            ]
        ),
    )


@on_callback(cb.ItemWithdrawConfirm)
async def item_withdraw_confirmed(
    update: Update, context: BotContext, data: cb.ItemWithdrawConfirm
) -> None:
    tr = await context.reader()
    try:
        item = await library.withdraw(context.svc, context.user_id, data.item_id)
    except NotAllowed:
        await answer_query(update, stranger_text(tr), alert=True)
        return
    except Refused as refused:
        await answer_query(update, refusal_text(tr, refused, context), alert=True)
        return
    await answer_query(update)
    await edit(
        update,
        tr.gettext("Item #{id} “{title}” withdrawn.").format(
            id=item.id, title=html.escape(item.title)
        ),
    )


# --- onboarding ---------------------------------------------------------------------------


async def newcomer_offer(
    context: BotContext, tg_id: int, tr: Translator
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What /start adds for a newcomer: the offer to subscribe (NFPs: that they are)."""
    c = await subscriptions.choice(context.svc, tg_id)
    if c.on:
        return tr.gettext(
            "You receive the secretariat's guidance alerts; send /subscribe to choose topics."
        ), None
    return tr.gettext(
        "Would you like alerts when the secretariat adds WHO guidance and information "
        "materials? You choose the topics."
    ), keyboard([[(tr.gettext("Subscribe"), cb.SubscribeOn().pack())]])


#: Each guidance button kind and its handler (registered in ``handlers.register_handlers``).
BUTTONS: dict[type[cb.Callback], Handler] = {
    cb.GuidanceOpen: open_item,
    cb.GuidanceRead: read_item,
    cb.GuidancePage: page,
    cb.SubTopic: sub_topic,
    cb.SubLanguage: sub_language,
    cb.SubscribeOn: sub_on,
    cb.SubscribeOff: sub_off,
    cb.BroadcastControl: broadcast_control,
    cb.DraftTopic: draft_topic,
    cb.DraftLanguage: draft_language,
    cb.DraftSource: draft_source,
    cb.DraftSave: draft_save,
    cb.DraftCancel: draft_cancel,
    cb.DraftUpdateExisting: draft_update_existing,
    cb.ItemEdit: item_edit,
    cb.ItemWithdraw: item_withdraw,
    cb.ItemWithdrawConfirm: item_withdraw_confirmed,
    cb.ForgetConfirm: forget_confirmed,
    cb.ForgetCancel: forget_cancelled,
}
