"""Where each country's report stands for a week: what /status shows the secretariat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.config import Region
from bot.core.services import Services
from bot.reporting import cycle
from storage import followups, people
from storage import reports as store
from storage.people import Person

State = Literal["on_time", "late", "in_progress", "missing", "not_due"]


@dataclass(frozen=True)
class CountryStatus:
    iso3: str
    state: State
    by: Person | None  # who confirmed (latest version), or who is filling it in
    at: datetime | None  # first confirmation
    answered: int
    total: int
    versions: int
    deadline: datetime
    open_clarification: bool
    answered_clarification: bool
    expected: bool = True  # a partner; observers and joining countries are not counted
    undelivered_clarification: bool = False  # asked, but no NFP could receive it


async def week_status(svc: Services, region: Region, week: str) -> list[CountryStatus]:
    now = svc.clock.now()
    result = []
    for country in region.countries:
        c = cycle.cycle_for(region, country, week)
        report = await store.find(svc.db, country.iso3, week)
        total = len(region.questionnaire.questions)
        by = None
        answered = versions = 0
        open_q = answered_q = undelivered_q = False
        at = None
        state: State
        if report is None:
            state = "missing" if now >= c.prompt else "not_due"
        else:
            answered = len(await store.answers(svc.db, report.id))
            if report.confirmed:
                latest = await store.latest_version(svc.db, report.id)
                by = await people.get(svc.db, latest.confirmed_by) if latest else None
                state = "late" if report.late else "on_time"
                at = report.first_confirmed_at
                versions = report.version
                clarifications = await followups.clarifications_of(svc.db, report.id)
                open_q = any(q.open for q in clarifications)
                answered_q = any(not q.open and not q.undelivered for q in clarifications)
                undelivered_q = any(q.undelivered for q in clarifications)
            else:
                state = "in_progress" if answered else "missing"
                by = await people.get(svc.db, report.editor) if report.editor else None
        result.append(
            CountryStatus(
                iso3=country.iso3,
                state=state,
                by=by,
                at=at,
                answered=answered,
                total=total,
                versions=versions,
                deadline=c.deadline,
                open_clarification=open_q,
                answered_clarification=answered_q,
                expected=country.status == "partner",
                undelivered_clarification=undelivered_q,
            )
        )
    return result
