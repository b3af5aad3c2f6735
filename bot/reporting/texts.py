"""The texts the reporting capability sends on its own: prompts, reminders, notices.

Every message the cycle, a take-over or a follow-up queues in the outbox is worded here, in
the recipient's language, so a change of wording (or of how a week is named) is one edit
and one review; replies to what a person just did are rendered by ``handlers/``. Each
function returns escaped HTML, ready for the outbox.

:func:`week_title` is the one way a reporting week is titled ("Mongolia · week 47 (16 Nov –
22 Nov 2026)"), and in running text a week is always its number ("week 47"), never the
stored ``2026-W47``.
"""

from __future__ import annotations

import functools
import html
from datetime import date, datetime

from bot.config import Country
from bot.core.i18n import Translator
from bot.core.week import Week


def _week(week: str | Week) -> Week:
    return week if isinstance(week, Week) else Week.parse(week)


def week_title(tr: Translator, name: str, week: str | Week) -> str:
    """``{name} · week {number} ({monday} – {sunday})``: a country's or a region's week.

    Every questionnaire screen starts with it, and babel's two date formats were a
    measurable part of an answer's CPU: the title is kept per (language, name, week),
    which a running bot has a few hundred of at most.
    """
    return _week_title(tr.lang, name, str(_week(week)))


@functools.lru_cache(maxsize=4096)
def _week_title(lang: str, name: str, week: str) -> str:
    tr = Translator(lang)
    w = Week.parse(week)
    return tr.gettext("{country} · week {number} ({start} – {end})").format(
        country=html.escape(name),
        number=w.number,
        start=tr.date(w.monday(), "d MMM"),
        end=tr.date(w.sunday(), "d MMM y"),
    )


def local_time(tr: Translator, at: datetime, country: Country) -> str:
    """An instant as the country's weekday and wall time ("Wednesday 6:00 PM")."""
    local = at.astimezone(country.tz)
    return f"{tr.weekday(local.weekday())} {tr.time(local.time())}"


# --- the weekly cycle ---------------------------------------------------------------------


def prompt(tr: Translator, country: Country, week: str, deadline: datetime) -> tuple[str, str]:
    """The Monday prompt and its button's label."""
    text = tr.gettext(
        "It is time for the weekly COVID-19 situation report for {title}. "
        "The deadline is {deadline} your time."
    )
    return _with_deadline(tr, text, country, week, deadline), tr.gettext("Start the report")


def reminder(tr: Translator, country: Country, week: str, deadline: datetime) -> tuple[str, str]:
    """A reminder (scheduled, or the secretariat's /remind) and its button's label."""
    text = tr.gettext(
        "Reminder: the weekly report for {title} is not confirmed yet. "
        "The deadline is {deadline} your time."
    )
    return _with_deadline(tr, text, country, week, deadline), tr.gettext("Continue the report")


def _with_deadline(
    tr: Translator, text: str, country: Country, week: str, deadline: datetime
) -> str:
    return text.format(
        title=week_title(tr, country.name(tr.lang), week),
        deadline=local_time(tr, deadline, country),
    )


def late_notice(tr: Translator, country: Country, week: str, deadline: datetime) -> str:
    """To the secretariat: a country missed its deadline."""
    return tr.gettext(
        "{country} has not confirmed its report for week {number}; the deadline was "
        "{deadline} local time. Send /remind {iso3} to nudge its NFPs."
    ).format(
        country=html.escape(country.name(tr.lang)),
        number=_week(week).number,
        deadline=local_time(tr, deadline, country),
        iso3=country.iso3,
    )


def taken_over(tr: Translator, newcomer: str, country: Country, week: str) -> str:
    """To the NFP whose open report another NFP of the country took over."""
    return tr.gettext(
        "{name} has taken over the report for {country}, week {week}. Your answers so far are kept."
    ).format(
        name=html.escape(newcomer),
        country=html.escape(country.name(tr.lang)),
        week=_week(week).number,
    )


# --- follow-ups ---------------------------------------------------------------------------


def clarification_question(
    tr: Translator, country: Country, week: str, comment: str, asker: str | None
) -> str:
    """The secretariat's question to each NFP of the country, signed by who asked."""
    text = tr.gettext(
        "The secretariat asks about your report for {country}, week {number}:"
    ).format(country=html.escape(country.name(tr.lang)), number=_week(week).number)
    text += f"\n\n<i>{html.escape(comment)}</i>"
    if asker is not None:
        text += f"\n— {html.escape(asker)}"
    return text


def clarification_buttons(tr: Translator) -> tuple[str, str]:
    """The labels under a question: answer it, or correct the report instead."""
    return tr.gettext("Answer"), tr.gettext("Correct the report")


def question_not_delivered(tr: Translator, country: Country, week: str, nfp: str) -> str:
    """To the admin who asked: the question could not reach this NFP."""
    return tr.gettext(
        "Your question about {country}, week {number} was NOT delivered to {name}."
    ).format(
        country=html.escape(country.name(tr.lang)),
        number=_week(week).number,
        name=html.escape(nfp),
    )


def clarification_answered(
    tr: Translator, nfp: str, country: Country, week: str, answer: str
) -> str:
    """To the admin who asked: who answered, about what, and the answer."""
    head = tr.gettext("{name} answered your question on {country}, week {number}:").format(
        name=html.escape(nfp),
        country=html.escape(country.name(tr.lang)),
        number=_week(week).number,
    )
    return f"{head}\n\n{html.escape(answer)}"


def answer_not_delivered(tr: Translator, country: Country, week: str) -> str:
    """To the NFP who answered: the secretariat never got it; the question is open again."""
    return tr.gettext(
        "Your answer about {country}, week {number} was NOT delivered to the "
        "secretariat. The question is open again: press Answer under it to send "
        "your answer again."
    ).format(country=html.escape(country.name(tr.lang)), number=_week(week).number)


def answered_by_amendment(tr: Translator, version: int) -> str:
    """Stands as the answer to a question the NFP settled by amending the report."""
    return tr.gettext("(answered by amending the report: version {version})").format(
        version=version
    )


def delegated(tr: Translator, by: str, country: Country, until: date) -> str:
    """To the colleague an NFP handed the reports to while away."""
    return tr.gettext(
        "{name} asked you to handle the weekly reports for {country} until {date}. "
        "You will receive the prompts and reminders."
    ).format(
        name=html.escape(by),
        country=html.escape(country.name(tr.lang)),
        date=tr.date(until, "long"),
    )
