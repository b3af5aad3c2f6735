"""The weekly cycle in motion: prompts, reminders with escalation, late notices.

:func:`tick` is idempotent: it looks at the clock, at what ``cycle_events`` says was already
done, and queues what is due now (in the same transaction as the mark). PTB's JobQueue calls
it at each configured local time, every few minutes as a safety net, and once at start-up
(:func:`bot.wiring.app.schedule_jobs` registers those jobs: the JobQueue is PTB wiring), so
a restart or a stop over the prompt time neither loses nor repeats a prompt. Tests call it
directly after moving the injected clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time

from bot.config import Country, Region
from bot.core.callbacks import OpenReport
from bot.core.i18n import translator
from bot.core.services import Services
from bot.people.roles import scope_from
from bot.reporting import cycle, texts
from bot.reporting.cycle import CountryCycle
from storage import followups, outbox, people, regions
from storage import reports as store
from storage.db import Tx
from storage.people import Assignment

log = logging.getLogger(__name__)

SAFETY_INTERVAL = 300  # seconds between catch-up ticks besides the exact jobs


@dataclass
class TickResult:
    prompts: int = 0
    reminders: int = 0
    late_notices: int = 0

    @property
    def queued(self) -> int:
        return self.prompts + self.reminders + self.late_notices


async def tick(svc: Services) -> TickResult:
    """Queue every cycle step that is due now and was not done yet."""
    now = svc.clock.now()
    result = TickResult()
    for region in svc.config.regions:
        for country in region.countries:
            week = cycle.current_week(region, country, now)
            c = cycle.cycle_for(region, country, week)
            async with svc.db.transaction() as tx:
                await _country_tick(tx, svc, now, region, country, c, result)
    if result.queued:
        log.info(
            "cycle: queued %d prompts, %d reminders, %d late notices",
            result.prompts,
            result.reminders,
            result.late_notices,
        )
        svc.wake_outbox()
    return result


async def _country_tick(
    tx: Tx,
    svc: Services,
    now: datetime,
    region: Region,
    country: Country,
    c: CountryCycle,
    result: TickResult,
) -> None:
    if now >= c.digest:
        return  # the period is closed for prompting; late reports still come in via /report
    done = await store.events(tx, country.iso3, c.week)
    report = await store.find(tx, country.iso3, c.week)
    confirmed = report is not None and report.confirmed
    nfps = await people.nfps_of(tx, country.iso3)
    away, covering = await _delegation(tx, now, country)
    if report is None:
        # per NFP, deduplicated by the outbox: someone who joins mid-week is prompted too;
        # once anyone has opened the report, reminders take over
        await store.mark_event(tx, now, country.iso3, c.week, "prompt")
        for a in nfps:
            if a.tg_id not in away:
                result.prompts += await _enqueue_prompt(tx, svc, now, a, c, "prompt")
    due = [i for i, at in enumerate(c.reminders) if at <= now < c.deadline]
    if due and not confirmed:
        latest = due[-1]
        if f"reminder:{latest}" not in done:
            for i in due:  # earlier ones missed while stopped are not sent late
                await store.mark_event(tx, now, country.iso3, c.week, f"reminder:{i}")
            for a in _reminder_recipients(nfps, c.reminders[latest] >= c.alternates_from):
                if a.tg_id in away:
                    continue
                result.reminders += await _enqueue_prompt(tx, svc, now, a, c, f"reminder:{latest}")
            for a in nfps:
                if a.tg_id in covering and a.kind != "main":
                    result.reminders += await _enqueue_prompt(
                        tx, svc, now, a, c, f"reminder:{latest}"
                    )
    if now >= c.secretariat_at and not confirmed and "late_notice" not in done:
        await store.mark_event(tx, now, country.iso3, c.week, "late_notice")
        result.late_notices += await _enqueue_late_notice(tx, svc, now, region, country, c)


def _reminder_recipients(nfps: list[Assignment], with_alternates: bool) -> list[Assignment]:
    """The main NFP first; alternates too once escalation has begun (or when there is no main)."""
    if with_alternates or not any(a.kind == "main" for a in nfps):
        return nfps
    return [a for a in nfps if a.kind == "main"]


async def _delegation(tx: Tx, now: datetime, country: Country) -> tuple[set[int], set[int]]:
    """Who is away (delegated their duty) and who covers for them, today in the country."""
    today = cycle.local_date(now, country.tz)
    active = await followups.active_delegations(tx, country.iso3, today)
    return {d.from_id for d in active}, {d.to_id for d in active}


async def _enqueue_prompt(
    tx: Tx, svc: Services, now: datetime, a: Assignment, c: CountryCycle, event: str
) -> int:
    _, country = svc.config.country(c.iso3)
    tr = translator(a.person.language)
    compose = texts.prompt if event == "prompt" else texts.reminder
    text, button = compose(tr, country, c.week, c.deadline)
    queued = await outbox.enqueue(
        tx,
        now,
        dedup_key=f"{event}:{c.iso3}:{c.week}:{a.tg_id}",
        chat_id=a.tg_id,
        kind="prompt" if event == "prompt" else "reminder",
        text=text,
        buttons=[[(button, OpenReport(c.iso3, c.week).pack())]],
    )
    return int(queued)


async def secretariat_chats(tx: Tx, svc: Services, region: Region) -> list[tuple[int, str]]:
    """Where the secretariat is told things: its group, else each admin of the region privately
    (deployment-wide admins and the region's own, not other regions' admins)."""
    group = await regions.group_chat(tx, region.key)
    if group:
        return [(group, region.default_language)]
    chats = []
    for admin_id, source in await people.admins_with_source(tx):
        if not scope_from(svc.config, admin_id, source).covers(region.key):
            continue
        person = await people.get(tx, admin_id)
        chats.append((admin_id, (person.language if person else None) or region.default_language))
    return chats


async def _enqueue_late_notice(
    tx: Tx, svc: Services, now: datetime, region: Region, country: Country, c: CountryCycle
) -> int:
    n = 0
    for chat_id, lang in await secretariat_chats(tx, svc, region):
        tr = translator(lang)
        text = texts.late_notice(tr, country, c.week, c.deadline)
        n += int(
            await outbox.enqueue(
                tx,
                now,
                dedup_key=f"late:{country.iso3}:{c.week}:{chat_id}",
                chat_id=chat_id,
                kind="late_notice",
                text=text,
            )
        )
    return n


async def remind_now(svc: Services, iso3s: list[str]) -> dict[str, int]:
    """The secretariat's nudge: a reminder now to every NFP of each unconfirmed country."""
    now = svc.clock.now()
    sent: dict[str, int] = {}
    for iso3 in iso3s:
        region, country = svc.config.country(iso3)
        week = cycle.current_week(region, country, now)
        c = cycle.cycle_for(region, country, week)
        async with svc.db.transaction() as tx:
            report = await store.find(tx, iso3, week)
            if report is not None and report.confirmed:
                continue
            sent[iso3] = 0
            for a in await people.nfps_of(tx, iso3):
                sent[iso3] += await _enqueue_prompt(
                    tx, svc, now, a, c, f"manual:{now.isoformat(timespec='seconds')}"
                )
    svc.wake_outbox()
    return sent


# --- JobQueue -----------------------------------------------------------------------------


def _ptb_day(weekday: int) -> int:
    """Python's Monday=0 to PTB's run_daily Sunday=0."""
    return (weekday + 1) % 7


def job_times(svc: Services, now: datetime) -> list[tuple[str, time, int]]:
    """(job name, local time with tzinfo, PTB weekday) for every step of every country."""
    jobs = []
    for region in svc.config.regions:
        for country in region.countries:
            c = cycle.cycle_for(region, country, cycle.current_week(region, country, now))
            steps = [("prompt", c.prompt), ("late_notice", c.secretariat_at)]
            steps += [(f"reminder:{i}", at) for i, at in enumerate(c.reminders)]
            for name, at in steps:
                local = at.astimezone(country.tz)
                jobs.append(
                    (
                        f"{country.iso3}:{name}",
                        local.time().replace(tzinfo=country.tz),
                        _ptb_day(local.weekday()),
                    )
                )
        # the digest (bot.digest.post.due runs with every tick): at its minute, not up to a
        # catch-up interval later
        first = region.countries[0]
        digest = cycle.cycle_for(region, first, cycle.current_week(region, first, now)).digest
        local = digest.astimezone(region.tz)
        jobs.append(
            (
                f"{region.key}:digest",
                local.time().replace(tzinfo=region.tz),
                _ptb_day(local.weekday()),
            )
        )
    return jobs
