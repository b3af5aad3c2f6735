"""/start (with or without an invitation code), language choice, /language and /help."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardMarkup, Update

from bot.core.callbacks import Language
from bot.core.i18n import N_, Translator, translator
from bot.people import roles as people
from bot.people.roles import InviteRefused, Role
from bot.wiring.context import BotContext
from handlers.common import (
    answer_query,
    drop_keyboard,
    keyboard,
    on_callback,
    reply,
    user_info,
)

log = logging.getLogger(__name__)

# (command, description) per role; each role also sees the commands of the roles above it.
USER_COMMANDS = [
    ("help", N_("what I can do for you")),
    ("language", N_("switch between English and Russian")),
    ("guidance", N_("WHO guidance and materials: /guidance or /guidance words to search")),
    ("subscribe", N_("choose the guidance alerts you receive")),
    ("unsubscribe", N_("stop guidance alerts")),
    ("forget_me", N_("remove your personal data from the bot")),
]
NFP_COMMANDS = [
    ("report", N_("fill in or correct this week's report; /report last for last week")),
    ("revise", N_("revise a figure of an earlier week, with the reason")),
    ("delegate", N_("let another NFP of your country report while you are away")),
]
ADMIN_COMMANDS = [
    ("addguidance", N_("add to the library: /addguidance https://link Title, or a document")),
    ("invite", N_("invite an NFP: /invite KGZ or /invite KGZ alternate")),
    ("nfps", N_("each country's NFPs and their language")),
    ("revoke", N_("remove an NFP or cancel an unused invitation")),
    ("status", N_("who has reported this week: /status or /status 47")),
    ("remind", N_("remind the countries that have not reported: /remind or /remind KGZ")),
    (
        "clarify",
        N_(
            "ask a country about its report: /clarify KGZ your question, "
            "or /clarify KGZ W47 your question for an earlier week"
        ),
    ),
    ("export", N_("every report as a file: /export 2020-W10 2020-W30 xlsx (or csv, dhis2)")),
    ("digest", N_("preview the weekly digest: /digest or /digest 30; post it: /digest post")),
]


def menu_commands() -> list[tuple[str, str]]:
    """The commands shown in Telegram's menu for everyone."""
    return [("start", N_("register or restart")), *USER_COMMANDS, *NFP_COMMANDS]


def language_keyboard(config_languages: tuple[str, ...], tr: Translator) -> InlineKeyboardMarkup:
    return keyboard(
        [[(tr.language_name(code), Language(code).pack()) for code in config_languages]]
    )


async def start(update: Update, context: BotContext) -> None:
    """``/start`` registers a user; ``/start <code>`` redeems an NFP invitation."""
    svc = context.svc
    user = user_info(context.user)
    if context.args:
        await _redeem(update, context, context.args[0])
        return
    person = await people.register(svc, user)
    tr = await context.reader()
    role = await people.role_of(svc, user.id)
    if person.language is None:
        await reply(
            update,
            tr.gettext("Welcome! I am the reporting assistant of the regional secretariat.")
            + "\n\n"
            + tr.gettext("Please choose your language:"),
            language_keyboard(svc.config.languages, tr),
        )
        return
    await reply(update, await welcome_text(context, user.id, role, tr))


async def _redeem(update: Update, context: BotContext, code: str) -> None:
    svc = context.svc
    user = user_info(context.user)
    try:
        redeemed = await people.redeem_invite(svc, user, code)
    except InviteRefused as refused:
        tr = await context.reader()
        log.info("invite refused for %s: %s", user.id, refused.reason)
        await reply(update, _refusal_text(tr, refused.reason))
        return
    tr = await context.reader()
    _, country = svc.config.country(redeemed.iso3)
    log.info("user %s registered as %s NFP of %s", user.id, redeemed.kind, redeemed.iso3)
    if redeemed.kind == "main":
        text = tr.gettext("You are now registered as the National Focal Point for {country}.")
    else:
        text = tr.gettext(
            "You are now registered as an alternate National Focal Point for {country}."
        )
    await reply(
        update,
        text.format(country=html.escape(country.name(tr.lang)))
        + "\n\n"
        + tr.gettext("Please choose your language:"),
        language_keyboard(svc.config.languages, tr),
    )


def _refusal_text(tr: Translator, reason: str) -> str:
    if reason == "expired":
        return tr.gettext(
            "This invitation link has expired. Please ask the secretariat for a new one."
        )
    if reason == "used":
        return tr.gettext(
            "This invitation link has already been used. Each link works only once: "
            "please ask the secretariat for a new one."
        )
    return tr.gettext(
        "This invitation link is not valid. Please check that you opened the whole link, "
        "or ask the secretariat for a new one."
    )


async def language_command(update: Update, context: BotContext) -> None:
    tr = await context.reader()
    if await people.get_person(context.svc, context.user_id) is None:
        await people.register(context.svc, user_info(context.user))
    await reply(
        update,
        tr.gettext("Please choose your language:"),
        language_keyboard(context.svc.config.languages, tr),
    )


@on_callback(Language)
async def language_chosen(update: Update, context: BotContext, data: Language) -> None:
    """``lang:<code>`` button: store the choice; a first choice is followed by the welcome."""
    query = update.callback_query
    assert query is not None
    svc = context.svc
    code = data.code
    person = await people.get_person(svc, context.user_id)
    if person is None:
        person = await people.register(svc, user_info(context.user))
    first_choice = person.language is None
    await people.set_language(svc, person.tg_id, code)
    tr = translator(code)
    await answer_query(update)
    if query.message is not None:
        await drop_keyboard(update)
    text = tr.gettext("From now on I will write to you in English.")
    markup = None
    if first_choice:
        from handlers.guidance import newcomer_offer

        role = await people.role_of(svc, person.tg_id)
        text += "\n\n" + await welcome_text(context, person.tg_id, role, tr)
        offer, markup = await newcomer_offer(context, person.tg_id, tr)  # issue 10
        text += "\n\n" + offer
    await reply(update, text, markup)


async def welcome_text(context: BotContext, tg_id: int, role: Role, tr: Translator) -> str:
    """What this person can expect from the bot, by role."""
    svc = context.svc
    _ = tr.gettext
    if role is Role.NFP or role is Role.ADMIN:
        parts = []
        for a in await people.assignments_of(svc, tg_id):
            region, country = svc.config.country(a.iso3)
            s = region.schedule
            parts.append(
                _(
                    "Each week I will ask you for {country}'s COVID-19 figures of the week "
                    "just ended: on {prompt_day} at {prompt_time} your time ({tz}). "
                    "The deadline is {deadline_day} at {deadline_time}; I will remind you "
                    "if the report is not in by then, and later reports are still accepted "
                    "and marked late."
                ).format(
                    country=html.escape(country.name(tr.lang)),
                    prompt_day=tr.weekday(s.prompt.weekday),
                    prompt_time=tr.time(s.prompt.time),
                    tz=html.escape(tr.zone(country.tz, svc.clock.now())),
                    deadline_day=tr.weekday(s.deadline.weekday),
                    deadline_time=tr.time(s.deadline.time),
                )
            )
        if parts:
            return "\n\n".join([*parts, _("Send /help to see all commands.")])
        if role is Role.ADMIN:
            return _(
                "You are an administrator of the secretariat. "
                "Send /help to see the commands for inviting NFPs and following the reports."
            )
    return _(
        "You are registered. I will keep you informed about the secretariat's work. "
        "Send /help to see what I can do."
    )


async def help_command(update: Update, context: BotContext) -> None:
    tr = await context.reader()
    role = await people.role_of(context.svc, context.user_id)
    commands = list(USER_COMMANDS)
    if role in (Role.NFP, Role.ADMIN):
        commands += NFP_COMMANDS
    if role is Role.ADMIN:
        commands += ADMIN_COMMANDS
    lines = [tr.gettext("Commands:")]
    lines += [f"/{name} — {html.escape(tr.gettext(desc))}" for name, desc in commands]
    if role is Role.STRANGER or role is Role.USER:
        lines += [
            "",
            tr.gettext(
                "National Focal Points join with the invitation link the secretariat sends them."
            ),
        ]
    await reply(update, "\n".join(lines))
