"""NFP follow-ups: answering a query, /revise an earlier week, /delegate during a holiday."""

from __future__ import annotations

import html

from telegram import Update

from bot.config import Config
from bot.core.callbacks import (
    DELEGATION_DAYS,
    AnswerClarification,
    DelegateFor,
    DelegateTo,
    ReviseField,
    ReviseWeek,
)
from bot.core.i18n import Translator
from bot.core.week import Week
from bot.people import roles as people
from bot.reporting import followups
from bot.reporting.followups import FollowupError, Reply
from bot.wiring.context import BotContext
from handlers.common import (
    answer_query,
    drop_keyboard,
    keyboard,
    on_callback,
    reply,
)
from handlers.report_views import error_text, format_value, no_longer_nfp_text


@on_callback(AnswerClarification)
async def clarification_answer_button(
    update: Update, context: BotContext, data: AnswerClarification
) -> None:
    """``cq:<id>``: the next text message answers the secretariat's question."""
    tr = await context.reader()
    try:
        await followups.start_clarification_answer(
            context.svc,
            context.user_id,
            data.clarification_id,
        )
    except FollowupError:
        await answer_query(update, tr.gettext("This question is already answered."), alert=True)
        return
    await answer_query(update)
    await reply(update, tr.gettext("Please type your answer to the secretariat:"))


async def _not_an_nfp(update: Update, context: BotContext, tr: Translator, action: str) -> bool:
    """Answer someone who is no NFP in words that fit them (True if so): a stranger is told
    how to join, a registered non-NFP what the command is for; never "your country"."""
    svc = context.svc
    user_id = context.user_id
    if await people.assignments_of(svc, user_id):
        return False
    stranger = await people.role_of(svc, user_id) is people.Role.STRANGER
    await people.log_refusal(svc, user_id, action, "stranger" if stranger else "not_nfp")
    if stranger:
        text = tr.gettext(
            "I don't know you yet. If the secretariat sent you an invitation link, "
            "please open it; otherwise send /start."
        )
    elif action == "revise":
        text = tr.gettext(
            "Only the National Focal Points of a country can revise its figures. "
            "If you should be one, ask the secretariat for an invitation link."
        )
    else:
        text = tr.gettext(
            "Only the National Focal Points of a country can hand its reports to a colleague. "
            "If you should be one, ask the secretariat for an invitation link."
        )
    await reply(update, text)
    return True


async def revise(update: Update, context: BotContext) -> None:
    """``/revise``: pick a confirmed week, then a figure, then type the new value and why."""
    tr = await context.reader()
    if await _not_an_nfp(update, context, tr, "revise"):
        return
    weeks = await followups.revisable_weeks(context.svc, context.user_id)
    if not weeks:
        await reply(update, tr.gettext("There is no confirmed report to revise yet."))
        return
    several = len({iso3 for iso3, _ in weeks}) > 1
    rows = [
        [
            (
                (f"{iso3} · " if several else "")
                + tr.gettext("week {number}, {year}").format(
                    number=Week.parse(w).number, year=Week.parse(w).year
                ),
                ReviseWeek(iso3, w).pack(),
            )
        ]
        for iso3, w in weeks
    ]
    await reply(
        update,
        tr.gettext(
            "Revise a figure of an earlier week (for example after a reclassification). Which week?"
        ),
        keyboard(rows),
    )


@on_callback(ReviseWeek)
async def revise_week_chosen(update: Update, context: BotContext, data: ReviseWeek) -> None:
    """``rvw:ISO3:WEEK``: which figure?"""
    tr = await context.reader()
    iso3, week = data.iso3, data.week
    try:
        fields = await followups.revision_fields(
            context.svc,
            context.user_id,
            iso3,
            week,
        )
    except (FollowupError, KeyError):
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    rows = [
        [
            (
                f"{q.label[tr.lang]}: {format_value(tr, q, value)}",
                ReviseField(iso3, week, q.key).pack(),
            )
        ]
        for q, value in fields
    ]
    await answer_query(update)
    await reply(update, tr.gettext("Which figure do you want to revise?"), keyboard(rows))


@on_callback(ReviseField)
async def revise_field_chosen(update: Update, context: BotContext, data: ReviseField) -> None:
    """``rvf:ISO3:WEEK:KEY``: ask for the corrected figure."""
    tr = await context.reader()
    iso3, week, key = data.iso3, data.week, data.key
    svc = context.svc
    try:
        value = await followups.start_revision(
            svc,
            context.user_id,
            iso3,
            week,
            key,
        )
        question = svc.config.country(iso3)[0].questionnaire.question(key)
    except (FollowupError, KeyError):
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer_query(update)
    await reply(
        update,
        tr.gettext(
            "{label}, week {number}: currently {value}. Type the corrected figure for that week."
        ).format(
            label=html.escape(question.label[tr.lang]),
            number=Week.parse(week).number,
            value=format_value(tr, question, value),
        ),
    )


def reply_text(tr: Translator, r: Reply, config: Config) -> str:
    _ = tr.gettext
    data = r.data or {}
    if r.kind == "not_nfp":
        return no_longer_nfp_text(tr, config, data["iso3"])
    if r.kind == "clarification_answered":
        return _("Thank you, your answer was sent to the secretariat.")
    if r.kind == "clarification_closed":
        return _("This question was already answered.")
    if r.kind == "clarification_empty":
        return _("The answer is empty.") + " " + _("Please type your answer to the secretariat:")
    if r.kind == "clarification_too_long":
        return _(
            "Your answer is {length} characters long; the limit is {maximum}. Nothing was sent: "
            "please send a shorter answer."
        ).format(length=tr.number(data["length"]), maximum=tr.number(data["maximum"]))
    if r.kind == "revision_bad_number":
        return error_text(tr, data["error"]) + "\n" + _("Please type the corrected figure.")
    if r.kind == "revision_ask_reason":
        return _(
            "New figure: {value}. Now briefly give the reason for the revision "
            "(for example: deaths reclassified after a review)."
        ).format(value=tr.number(data["value"]))
    if r.kind == "revision_reason_short":
        return _("Please give a reason of a few words.")
    if r.kind == "revision_reason_long":
        return _(
            "The reason is {length} characters long; the limit is {maximum}. Nothing is saved "
            "yet: please send a shorter reason."
        ).format(length=tr.number(data["length"]), maximum=tr.number(data["maximum"]))
    old = tr.number(data["old"]) if isinstance(data.get("old"), int) else "—"
    return _(
        "The revision is saved: week {number}, {old} → {new}. The original report is kept, "
        "and the digest will show this as a revision."
    ).format(number=Week.parse(data["week"]).number, old=old, new=tr.number(data["value"]))


async def delegate(update: Update, context: BotContext) -> None:
    """``/delegate``: choose a colleague; ``/delegate off`` ends a delegation early."""
    tr = await context.reader()
    svc = context.svc
    user_id = context.user_id
    if await _not_an_nfp(update, context, tr, "delegate"):
        return
    if context.args and context.args[0].lower() in ("off", "stop", "end"):
        ended = await followups.end_delegation(svc, user_id)
        await reply(
            update,
            tr.gettext("Delegation ended: you will receive the prompts again.")
            if ended
            else tr.gettext("You have no delegation in force."),
        )
        return
    candidates = await followups.delegation_candidates(svc, user_id)
    if not candidates:
        await reply(
            update,
            tr.gettext(
                "There is no other NFP of your country to delegate to. "
                "Ask the secretariat to invite an alternate."
            ),
        )
        return
    rows = [
        [(person.display_name, DelegateTo(iso3, person.tg_id).pack())]
        for iso3, person in candidates
    ]
    await reply(
        update,
        tr.gettext("Who should handle the weekly reports while you are away?"),
        keyboard(rows),
    )


@on_callback(DelegateTo)
async def delegate_person_chosen(update: Update, context: BotContext, data: DelegateTo) -> None:
    """``dg:ISO3:ID``: for how long? (only for a colleague the caller may delegate to)"""
    tr = await context.reader()
    user_id = context.user_id
    if not await followups.may_delegate(context.svc, user_id, data.iso3, data.to_id):
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer_query(update)
    rows = [
        [
            (
                tr.ngettext("{n} week", "{n} weeks", days // 7).format(n=days // 7),
                DelegateFor(data.iso3, data.to_id, days).pack(),
            )
            for days in DELEGATION_DAYS
        ]
    ]
    await reply(update, tr.gettext("For how long?"), keyboard(rows))


@on_callback(DelegateFor)
async def delegate_until_chosen(update: Update, context: BotContext, data: DelegateFor) -> None:
    """``dgu:ISO3:ID:DAYS``: record the delegation."""
    tr = await context.reader()
    try:
        until = await followups.delegate(
            context.svc,
            context.user_id,
            data.iso3,
            data.to_id,
            data.days,
        )
    except FollowupError:
        await answer_query(update, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer_query(update)
    await drop_keyboard(update)
    await reply(
        update,
        tr.gettext(
            "Done: until {date} your colleague receives the prompts and reminders instead of you. "
            "Send /delegate off to end it earlier."
        ).format(date=tr.date(until, "long")),
    )
