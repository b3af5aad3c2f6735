"""The week, scene by scene. A scene is a small piece with a title and a ``run``: later
capabilities (guidance alerts, meetings) add theirs to :data:`WEEK` without touching these.

The figures are the real ones of 2020-W30 (bot/digest/data/central_asia_weekly.csv); what the
data does not hold (tests, hospital patients, measures, needs, developments) is typed as an
NFP plausibly would, and said so in the transcript's scene titles.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.demo.world import World
from bot.reporting import cycle
from sandbox import SimGroup, SimUser

WEEK = "2020-W30"
LINK = re.compile(r"https://t\.me/\w+\?start=([\w-]+)")


@dataclass(frozen=True)
class Nfp:
    tg_id: int
    name: str
    iso3: str
    lang: str
    tz: str  # the country's zone, for the transcript's local times


#: The four NFPs who play the week (the other countries' NFPs are not in the demo: their
#: reports of this week stay missing, which the board and the digest show as such).
CAST = (
    Nfp(7101, "Ahmad", "AFG", "en", "Asia/Kabul"),
    Nfp(7102, "Айгуль", "KGZ", "ru", "Asia/Bishkek"),
    Nfp(7103, "Bold", "MNG", "en", "Asia/Ulaanbaatar"),
    Nfp(7104, "Ayesha", "PAK", "en", "Asia/Karachi"),
)


@dataclass
class Stage:
    """What scenes share: the world, the figures, and who is who once invited."""

    world: World
    figures: dict[str, dict[str, int]]  # iso3 -> {"new_cases": …, "new_deaths": …} of WEEK
    users: dict[str, SimUser] = field(default_factory=dict)  # iso3 -> the NFP
    group: SimGroup | None = None

    def local(self, iso3: str, day: int, at: time) -> datetime:
        """``at`` on the ``day``-th day (0 = Monday) after WEEK, in the country's own zone."""
        _region, country = self.world.config.country(iso3)
        monday = cycle.week_monday(WEEK) + timedelta(days=7 + day)
        return datetime.combine(monday, at, tzinfo=country.tz).astimezone(UTC)


@dataclass(frozen=True)
class Scene:
    title: str
    run: Callable[[Stage], Awaitable[None]]


def labels(lang: str) -> dict[str, str]:
    """The button labels a person of that language sees (the bot's own catalog)."""
    from bot.core.i18n import translator

    tr = translator(lang)
    return {
        "start": tr.gettext("Start the report"),
        "skip": tr.gettext("Skip"),
        "done": tr.gettext("Done"),
        "confirm": "✅ " + tr.gettext("Confirm and send"),
    }


# ---------------------------------------------------------------------- the scenes


async def invitations(stage: Stage) -> None:
    """The secretariat adds the bot to its group and invites the four NFPs."""
    w = stage.world
    admin = w.admin()
    await w.say(admin, "/start")
    stage.group = w.group(-1001234567890, "CBRN CoE Central Asia secretariat")
    w._said(admin, "[adds the bot to the group]", stage.group)
    await stage.group.add_bot(by=admin)
    stage.group.promote_bot()
    await w.settle()
    for nfp in CAST:
        reply = await w.say(admin, f"/invite {nfp.iso3}")
        match = LINK.search(reply.text)
        assert match, reply.text
        user = w.person(nfp.tg_id, nfp.name, ZoneInfo(nfp.tz), nfp.lang, f"{nfp.name} ({nfp.iso3})")
        await w.say(user, f"/start {match.group(1)}")
        await w.tap(user, "Русский" if nfp.lang == "ru" else "English")
        stage.users[nfp.iso3] = user


async def monday_prompts(stage: Stage) -> None:
    """Monday 09:00 in each NFP's own timezone: the prompt; three answer at once."""
    w = stage.world
    for nfp in sorted(CAST, key=lambda n: stage.local(n.iso3, 0, time(9))):
        w.at(stage.local(nfp.iso3, 0, time(9)))
        await w.deliver()
    # Afghanistan answers straight away, in English
    w.at(stage.local("AFG", 0, time(9, 20)))
    await answer(
        stage,
        "AFG",
        measures="Partial lockdown",
        needs=["Test kits", "Ventilators and oxygen"],
        developments="Lockdown in Kabul eased; mosques reopened with distancing.",
    )
    # Kyrgyzstan in Russian; a figure typed wrongly, corrected on the review screen
    w.at(stage.local("KGZ", 0, time(10, 5)))
    await answer(
        stage,
        "KGZ",
        measures="Частичный карантин",
        needs=["Аппараты ИВЛ и кислород"],
        developments="Пик госпитализаций прошёл; открыты дневные стационары.",
        typo=True,
    )
    # Pakistan
    w.at(stage.local("PAK", 0, time(11, 30)))
    await answer(
        stage,
        "PAK",
        measures="Targeted measures",
        needs=["Personal protective equipment (PPE)"],
        developments="Smart lockdowns lifted in most districts before Eid.",
    )


async def tuesday_reminder(stage: Stage) -> None:
    """Tuesday 09:00 local: Mongolia has not reported and is reminded; then it reports."""
    w = stage.world
    for when in sorted(stage.local(n.iso3, 1, time(9)) for n in CAST):
        w.at(when)
        await w.deliver()
    w.at(stage.local("MNG", 1, time(9, 40)))
    await answer(
        stage,
        "MNG",
        measures="Targeted measures",
        needs=["Laboratory consumables"],
        developments="No local transmission; border crossings stay closed.",
    )


async def clarification(stage: Stage) -> None:
    """Wednesday: the secretariat asks Kyrgyzstan about its figures; the NFP answers."""
    w = stage.world
    w.at(stage.local("KGZ", 2, time(11)))
    admin = w.admin()
    await w.say(admin, "/clarify KGZ Cases fell by two thirds from last week: is testing lower?")
    await w.drain()
    user = stage.users["KGZ"]
    w.at(stage.local("KGZ", 2, time(11, 45)))
    inbox = [m for m in user.events if m.buttons]
    if inbox:  # the question arrives with a button to answer it
        await w.press(user, inbox[-1].button_texts()[0])
    await w.say(user, "Нет, тестов столько же; после реклассификации прошлой недели цифры ниже.")
    await w.drain()


async def deadline(stage: Stage) -> None:
    """Wednesday 18:00 local: the deadline; the countries without a report are noted."""
    w = stage.world
    for when in sorted(stage.local(n.iso3, 2, time(18, 1)) for n in CAST):
        w.at(when)
        await w.deliver()


async def thursday_digest(stage: Stage) -> None:
    """Thursday 10:00 Tashkent: the digest is posted to the group."""
    w = stage.world
    monday = cycle.week_monday(WEEK) + timedelta(days=10)
    w.at(datetime.combine(monday, time(10, 1), tzinfo=w.home).astimezone(UTC))
    await w.deliver()
    await w.drain()


async def guidance(stage: Stage) -> None:
    """Thursday afternoon: the secretariat adds WHO's advice on masks, in English and in
    Russian; subscribers get it in their language, once; one of them has blocked the bot."""
    w = stage.world
    monday = cycle.week_monday(WEEK) + timedelta(days=10)
    w.at(datetime.combine(monday, time(15, 0), tzinfo=w.home).astimezone(UTC))
    expert = w.person(7201, "Dr. Hanna (partner expert)", w.home, "en")
    expert_ru = w.person(7202, "Тимур (эксперт)", ZoneInfo("Asia/Almaty"), "ru")
    gone = w.person(7203, "Sam (left the bot)", w.home, "en")
    for person in (expert, expert_ru, gone):
        await w.say(person, "/subscribe")
    w._said(gone, "[blocks the bot]")
    gone.block()
    await w.settle()
    admin = w.admin()
    await w.say(
        admin,
        "/addguidance https://www.who.int/publications/i/item/advice-on-the-use-of-masks-in-"
        "the-community-during-home-care-and-in-healthcare-settings-in-the-context-of-the-"
        "novel-coronavirus-(2019-ncov)-outbreak Advice on the use of masks in the context "
        "of COVID-19 #covid19",
    )
    await w.press(admin, "Add and send alerts")
    await w.say(
        admin,
        "/addguidance https://www.who.int/ru/publications/i/item/advice-on-the-use-of-masks-"
        "in-the-community-during-home-care-and-in-healthcare-settings-in-the-context-of-"
        "the-novel-coronavirus-(2019-ncov)-outbreak Рекомендации по использованию масок "
        "в контексте COVID-19 #covid19",
    )
    await w.press(admin, "Русский")
    await w.press(admin, "Add and send alerts")
    await w.drain()


WEEK_SCENES: tuple[Scene, ...] = (
    Scene("The secretariat sets up the group and invites four NFPs", invitations),
    Scene("Monday: each NFP is prompted at 09:00 in their own timezone", monday_prompts),
    Scene("Tuesday: a reminder to the country that has not reported", tuesday_reminder),
    Scene("Wednesday: the secretariat asks for a clarification", clarification),
    Scene("Wednesday 18:00: the deadline", deadline),
    Scene("Thursday 10:00 Tashkent: the regional digest", thursday_digest),
    Scene("Thursday: WHO guidance to the subscribers, in their language", guidance),
)


# ---------------------------------------------------------------------- answering


async def answer(
    stage: Stage,
    iso3: str,
    *,
    measures: str,
    needs: list[str],
    developments: str,
    typo: bool = False,
) -> None:
    """The NFP opens the report from the prompt and answers every question."""
    w = stage.world
    user = stage.users[iso3]
    nfp = next(n for n in CAST if n.iso3 == iso3)
    lab = labels(nfp.lang)
    cases = stage.figures[iso3]["new_cases"]
    deaths = stage.figures[iso3]["new_deaths"]
    await w.tap(user, lab["start"])
    typed = cases * 10 + 7 if typo else cases  # a stray key: the review screen catches it
    await w.say(user, _typed(typed, nfp.lang))
    await w.say(user, _typed(deaths, nfp.lang))
    await w.tap(user, lab["skip"])  # tests: not at hand
    await w.tap(user, lab["skip"])  # hospital patients
    await w.tap(user, measures)
    await w.tap(user, "Достаточный" if nfp.lang == "ru" else "Adequate")
    for need in needs:
        await w.press(user, "▫️ " + need)
    await w.tap(user, lab["done"])
    await w.tap(user, lab["skip"])  # training topics
    review = await w.say(user, developments)
    if typo:
        q = w.region.questionnaire.question("new_cases")
        fix = "✏️ " + q.label[nfp.lang]
        if fix not in review.button_texts():  # a plausibility warning came first
            review = await w.tap(user, review.button_texts()[0])
        await w.tap(user, fix)
        await w.say(user, _typed(cases, nfp.lang))
    await w.tap(user, lab["confirm"])


def _typed(value: int, lang: str) -> str:
    """As people type counts: "8 030" in Russian, "8,030" in English."""
    grouped = f"{value:,}"
    return grouped.replace(",", " ") if lang == "ru" else grouped
