"""Render report :class:`~bot.reporting.reports.Screen` objects as HTML text and inline buttons."""

from __future__ import annotations

import html
from typing import Any, Literal

from bot.config import Config, Question, Questionnaire
from bot.core.callbacks import PickCountry, ReportButton, TakeOver
from bot.core.i18n import Translator
from bot.core.week import Week
from bot.reporting import texts
from bot.reporting.questionnaire import AnswerError, Warning
from bot.reporting.reports import Screen

Rows = list[list[tuple[str, str]]]


def title(tr: Translator, config: Config, iso3: str, week: str) -> str:
    _, country = config.country(iso3)
    return texts.week_title(tr, country.name(tr.lang), week)


def error_text(tr: Translator, err: AnswerError) -> str:
    _ = tr.gettext
    d = err.details
    messages = {
        "empty": _("The answer is empty."),
        "not_a_number": _("That is not a whole number. Please type digits only, e.g. 1 234."),
        "negative": _("The number cannot be negative."),
        "fraction": _("Please type a whole number, without decimals."),
        "use_buttons": _("Please answer with the buttons under the question."),
        "stale": _(
            "That button belongs to an earlier question, so nothing was changed. "
            "Send /report to see the current one."
        ),
        "incomplete": _("Some required questions are still unanswered."),
        "questionnaire_changed": _(
            "The questionnaire was updated and that question is no longer asked, "
            "so nothing was recorded for it. Here is the next question:"
        ),
    }
    if err.reason == "too_small":
        text = _("The number must be at least {minimum}.").format(
            minimum=tr.number(d.get("minimum") or 0)
        )
    elif err.reason == "too_large":
        text = _(
            "That is more than {maximum}, which cannot be right for one week. "
            "Please check the number."
        ).format(maximum=tr.number(d.get("maximum") or 0))
    elif err.reason == "typed_earlier":
        received = str(d.get("text", "")).strip()
        if len(received) > 60:
            received = received[:59] + "…"
        text = _(
            "I received “{text}” before the question below was on your screen, so I did "
            "not take it as its answer. If it is, please send it again."
        ).format(text=html.escape(received))
    elif err.reason == "too_long":
        text = _("That text is {length} characters long; the limit is {maximum}.").format(
            length=tr.number(d.get("length", 0)), maximum=tr.number(d.get("maximum", 0))
        )
    else:
        text = messages.get(err.reason, messages["stale"])
    return "⚠️ " + text


def no_longer_nfp_text(tr: Translator, config: Config, iso3: str) -> str:
    return tr.gettext(
        "You are no longer a National Focal Point of {country}, so this is closed for you. "
        "If this is a mistake, please ask the secretariat."
    ).format(country=html.escape(config.country(iso3)[1].name(tr.lang)))


def edit_note(
    tr: Translator,
    kind: Literal["command", "again", "confirmed", "ignored"],
    config: Config,
    screen: Screen | None = None,
) -> str:
    """Short notes about edited or re-delivered messages (they never answer a question)."""
    _ = tr.gettext
    if kind == "command":
        return _("Edited commands are not run again. To run it, send the command as a new message.")
    if kind == "again":
        return _("That message was already handled (I restarted just after it).")
    if kind == "confirmed" and screen is not None:
        return _(
            "That message answered the report for {country}, week {number}, which is already "
            "confirmed, so the edit changes nothing. To correct it, press the button below "
            "(or send /report) and change the answer there: it is saved as an amendment."
        ).format(
            country=html.escape(config.country(screen.iso3)[1].name(tr.lang)),
            number=Week.parse(screen.week).number,
        )
    return _(
        "You edited an earlier message; edits are not taken as answers. "
        "Please send a new message instead."
    )


def format_value(tr: Translator, question: Question, value: Any) -> str:
    """An answer as the reader should see it (escaped HTML)."""
    if value is None:
        return "—"
    if question.type == "number":
        return tr.number(value)
    if question.type == "choice":
        try:
            return html.escape(question.option(value).label[tr.lang])
        except KeyError:
            return html.escape(str(value))
    if question.type == "multi":
        labels = []
        for key in value.get("selected", []):
            try:
                option = question.option(key)
            except KeyError:
                continue
            label = option.label[tr.lang]
            if option.with_text and value.get("other"):
                label += f" ({value['other']})"
            labels.append(html.escape(label))
        return ", ".join(labels) if labels else tr.gettext("none")
    return html.escape(str(value))


def warning_text(tr: Translator, q: Questionnaire, warning: Warning) -> str:
    values = {
        key: tr.number(v) if isinstance(v, int | float) else v for key, v in warning.values.items()
    }
    values["field"] = q.question(warning.check.field).label[tr.lang]
    if warning.check.other:
        values["other"] = q.question(warning.check.other).label[tr.lang]
    values.setdefault("min_base", tr.number(warning.check.min_base))
    return "⚠️ " + html.escape(warning.check.message[tr.lang].format(**values))


def render(screen: Screen, tr: Translator, config: Config) -> tuple[str, Rows]:
    """Text and buttons for a screen; buttons carry ``r:<nonce>:<action>[:<arg>]``."""
    _ = tr.gettext
    n = screen.nonce
    if screen.kind == "busy":
        assert screen.other_person is not None and screen.report is not None
        text = _(
            "{name} is already filling in the report for {country}, week {week}. "
            "You can take it over: the answers given so far are kept."
        ).format(
            name=html.escape(screen.other_person.display_name),
            country=html.escape(config.country(screen.iso3)[1].name(tr.lang)),
            week=Week.parse(screen.week).number,
        )
        return text, [[(_("Take over the report"), TakeOver(screen.iso3, screen.week).pack())]]
    if screen.kind == "taken_over":
        name = screen.other_person.display_name if screen.other_person else "?"
        return _("{name} has taken over this report. Send /report to see where it stands.").format(
            name=html.escape(name)
        ), []
    if screen.kind == "pick_country":
        choices = [
            [(config.country(iso3)[1].name(tr.lang), PickCountry(iso3, screen.previous).pack())]
            for iso3 in screen.countries
        ]
        return _("Which country do you want to report for?"), choices
    if screen.kind == "not_nfp":
        return no_longer_nfp_text(tr, config, screen.iso3), []
    if screen.kind in ("idle", "stale"):
        return _("This button is no longer valid."), []
    if screen.kind == "edit_ignored":
        return edit_note(tr, "ignored", config), []
    if screen.kind == "edit_confirmed":
        return edit_note(tr, "confirmed", config, screen), [
            [(_("Correct the report"), f"rs:{screen.iso3}:{screen.week}")]
        ]
    region, _country = config.country(screen.iso3)
    q = region.questionnaire
    head = f"<b>{title(tr, config, screen.iso3, screen.week)}</b>"
    error = error_text(tr, screen.error) + "\n\n" if screen.error else ""
    if screen.corrected:
        error += _corrected_text(tr, screen, q) + "\n\n"
    if screen.kind == "confirmed":
        return _confirmed_text(tr, screen, head), []
    if screen.kind in ("review", "warnings"):
        return _review(tr, screen, q, head, error, config)
    question = screen.question
    assert question is not None
    rows: Rows = []
    label = html.escape(question.label[tr.lang])
    if screen.kind == "other_text":
        text = _("You chose “other”. Please describe what is needed:")
        return f"{error}{head}\n{label}\n\n{text}", []
    counter = _("Question {position} of {total}").format(
        position=screen.position, total=screen.total
    )
    lines = [f"{error}{head}", counter, "", f"<b>{label}</b>"]
    if question.hint:
        lines.append(f"<i>{html.escape(question.hint[tr.lang])}</i>")
    if question.type == "number":
        lines.append(_("Type a whole number, e.g. 1 234."))
    elif question.type == "text":
        lines.append(
            _("Type your answer (up to {limit} characters).").format(
                limit=tr.number(question.max_length)
            )
        )
    elif question.type == "choice":
        rows += [[(o.label[tr.lang], ReportButton(n, "c", o.key).pack())] for o in question.options]
    else:
        chosen = set((screen.selection or {}).get("selected", []))
        lines.append(_("Choose all that apply, then press Done."))
        rows += [
            [
                (
                    ("✅ " if o.key in chosen else "▫️ ") + o.label[tr.lang],
                    ReportButton(n, "t", o.key).pack(),
                )
            ]
            for o in question.options
        ]
        rows.append([(_("Done"), ReportButton(n, "d").pack())])
    if screen.last_week and question.key in screen.last_week:
        lines.append(
            _("Last week: {value}").format(
                value=format_value(tr, question, screen.last_week[question.key])
            )
        )
    if not question.required:
        rows.append([(_("Skip"), ReportButton(n, "s").pack())])
    if screen.offer_no_change:
        rows.append(
            [
                (
                    _("Same as last week for measures, laboratories and needs"),
                    ReportButton(n, "nc").pack(),
                )
            ]
        )
    if screen.mode == "edit":
        rows.append([(_("Back to the summary"), ReportButton(n, "back").pack())])
    return "\n".join(lines), rows


def _corrected_text(tr: Translator, screen: Screen, q: Questionnaire) -> str:
    """What an edited message did to the answer it gave."""
    try:
        question = q.question(screen.corrected)
    except KeyError:
        return ""
    label = html.escape(question.label[tr.lang])
    if screen.error:
        return tr.gettext(
            "Your edit was not taken; the answer to “{label}” stays as it was."
        ).format(label=label)
    value = format_value(tr, question, screen.answers.get(question.key))
    return "✏️ " + tr.gettext("Corrected: {label}: {value}").format(label=label, value=value)


def _review(
    tr: Translator, screen: Screen, q: Questionnaire, head: str, error: str, config: Config
) -> tuple[str, Rows]:
    _ = tr.gettext
    n = screen.nonce
    lines = [f"{error}{head}", _("Please check your answers:"), ""]
    for question in q.questions:
        value = screen.answers.get(question.key)
        mark = "🔸 " if question.key in screen.changed else ""
        label = html.escape(question.label[tr.lang])
        line = f"{mark}{label}: <b>{format_value(tr, question, value)}</b>"
        revision = screen.revised.get(question.key)
        if revision is not None:
            line += " " + _("(revised to {value} on {date}: {reason})").format(
                value=f"<b>{format_value(tr, question, revision.new_value)}</b>",
                date=tr.date(revision.at.astimezone(config.country(screen.iso3)[1].tz), "d MMM"),
                reason=html.escape(revision.reason),
            )
        lines.append(line)
    if screen.changed:
        lines += ["", _("🔸 changed since last week")]
    rows: Rows = [
        [("✏️ " + question.label[tr.lang], ReportButton(n, "e", question.key).pack())]
        for question in q.questions
    ]
    if screen.kind == "warnings":
        lines += ["", *(warning_text(tr, q, w) for w in screen.warnings)]
        lines += ["", _("Correct the figure, or confirm that it is right.")]
        rows.insert(0, [(_("The figures are right: confirm"), ReportButton(n, "ok!").pack())])
    else:
        label = _("Confirm and send") if screen.version == 0 else _("Confirm the amendment")
        rows.append([("✅ " + label, ReportButton(n, "ok").pack())])
    return "\n".join(lines), rows


def _confirmed_text(tr: Translator, screen: Screen, head: str) -> str:
    _ = tr.gettext
    if screen.version <= 1:
        text = _("Thank you! The report is confirmed and sent to the secretariat.")
        if screen.late:
            text += " " + _("It arrived after the deadline and is marked late.")
    else:
        text = _("Thank you! Your amendment is saved (version {version}).").format(
            version=screen.version
        )
        if screen.after_digest:
            text += " " + _(
                "This week's digest was already posted, so the secretariat will see it "
                "as a correction made after the digest."
            )
    text += "\n" + _("You can still correct it: send /report.")
    return f"{head}\n\n{text}"
