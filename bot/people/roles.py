"""People and roles: registration, invitations, NFP assignments, admin rights.

Knows nothing of Telegram: callers pass a :class:`UserInfo` and get domain results back;
refusals are exceptions carrying a reason that handlers turn into a localized message.
"""

from __future__ import annotations

import enum
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from bot.config import Config
from bot.core.services import Services
from storage import audit, invites, people, reports
from storage.db import Tx
from storage.invites import Invite
from storage.people import Assignment, Person

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserInfo:
    """The Telegram-independent part of whoever sent an update."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class Role(enum.Enum):
    STRANGER = "stranger"  # never registered (no /start yet)
    USER = "user"
    NFP = "nfp"
    ADMIN = "admin"


class NotAllowed(Exception):
    """The caller lacks the role this action needs (already logged to the audit trail).

    ``reason`` is "not_admin" (no admin rights at all) or "other_region" (an admin, but not
    of the region the action is about).
    """

    def __init__(self, action: str, reason: str = "not_admin") -> None:
        super().__init__(action)
        self.reason = reason


@dataclass(frozen=True)
class AdminScope:
    """The regions someone administers: all of them (deployment-wide) or those listed.

    Config says it: ``bot.admins`` are deployment-wide, a region's ``admins`` administer that
    region only. An admin added with ``nfpbot admin add`` is deployment-wide (the CLI says so).
    """

    everywhere: bool = False
    regions: frozenset[str] = frozenset()

    def covers(self, region_key: str) -> bool:
        return self.everywhere or region_key in self.regions

    def __bool__(self) -> bool:
        return self.everywhere or bool(self.regions)


def scope_from(config: Config, tg_id: int, source: str | None) -> AdminScope:
    """The scope of an ``admins`` row (``source`` None: no row, not an admin)."""
    if source is None:
        return AdminScope()
    if source != "config" or tg_id in config.admins:
        return AdminScope(everywhere=True)
    return AdminScope(regions=frozenset(r.key for r in config.regions if tg_id in r.admins))


async def admin_scope(svc: Services, tg_id: int) -> AdminScope:
    return scope_from(svc.config, tg_id, await people.admin_source(svc.db, tg_id))


def covers_country(svc: Services, scope: AdminScope, iso3: str) -> bool:
    """Whether the scope covers the country's region (a country gone from config: only
    deployment-wide admins)."""
    if scope.everywhere:
        return True
    try:
        return scope.covers(svc.config.region_of(iso3).key)
    except KeyError:
        return False


class InviteRefused(Exception):
    """An invitation code could not be redeemed; ``reason`` says why."""

    def __init__(self, reason: str, invite: Invite | None = None) -> None:
        super().__init__(reason)
        self.reason = reason  # "unknown" | "expired" | "used" | "revoked"
        self.invite = invite


@dataclass(frozen=True)
class Redeemed:
    person: Person
    assignment: Assignment
    iso3: str
    kind: str


INVITE_KINDS = ("main", "alternate")


async def register(svc: Services, user: UserInfo) -> Person:
    """Record (or refresh) the person; plain /start makes them a user.

    An upsert, safe to repeat, so it does not claim the update being processed: the
    invitation redeemed right after it in ``/start CODE`` is that update's effect.
    """
    now = svc.clock.now()
    async with svc.db.transaction(claim=False) as tx:
        existed = await people.get(tx, user.id) is not None
        await people.upsert(tx, now, user.id, user.first_name, user.last_name, user.username)
        if not existed:
            await audit.record(tx, now, user.id, "register")
            log.info("new person %s (%s) registered", user.id, user.first_name)
        person = await people.get(tx, user.id)
    assert person is not None
    return person


async def get_person(svc: Services, tg_id: int) -> Person | None:
    return await people.get(svc.db, tg_id)


async def role_of(svc: Services, tg_id: int) -> Role:
    if await admin_scope(svc, tg_id):
        return Role.ADMIN
    if await people.assignments_of(svc.db, tg_id):
        return Role.NFP
    if await people.get(svc.db, tg_id) is not None:
        return Role.USER
    return Role.STRANGER


async def require_admin(
    svc: Services, tg_id: int, action: str, *, iso3: str | None = None
) -> AdminScope:
    """Raise :class:`NotAllowed` (and log the attempt) unless the caller is an admin, and,
    when the action is about a country, an admin of its region."""
    scope = await admin_scope(svc, tg_id)
    if scope and (iso3 is None or covers_country(svc, scope, iso3)):
        return scope
    reason = "other_region" if scope else "not_admin"
    async with svc.db.transaction() as tx:
        await audit.record(tx, svc.clock.now(), tg_id, "refused", action, reason=reason, iso3=iso3)
    raise NotAllowed(action, reason)


async def log_refusal(svc: Services, tg_id: int | None, action: str, reason: str) -> None:
    async with svc.db.transaction() as tx:
        await audit.record(tx, svc.clock.now(), tg_id, "refused", action, reason=reason)


async def set_blocked(svc: Services, tg_id: int, blocked: bool) -> None:
    """Someone blocked (or unblocked) the bot in their private chat: recorded, so their
    admin's list of NFPs shows who cannot be reached."""
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        if blocked:
            await people.mark_blocked(tx, now, tg_id)
        else:
            await people.mark_unblocked(tx, now, tg_id)


async def set_language(svc: Services, tg_id: int, language: str) -> None:
    if language not in svc.config.languages:
        raise ValueError(f"unsupported language {language!r}")
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        await people.set_language(tx, now, tg_id, language)
        await audit.record(tx, now, tg_id, "language", language)


async def create_invite(svc: Services, admin_id: int, iso3: str, kind: str = "main") -> Invite:
    """A single-use code for one country and kind, valid for ``config.invite_ttl``."""
    await require_admin(svc, admin_id, "invite")
    svc.config.country(iso3)  # KeyError for a country not in config
    await require_admin(svc, admin_id, "invite", iso3=iso3)
    if kind not in INVITE_KINDS:
        raise ValueError(kind)
    now = svc.clock.now()
    code = secrets.token_urlsafe(12)  # 16 URL-safe chars: fits Telegram's 64-char start param
    async with svc.db.transaction() as tx:
        await invites.create(tx, code, iso3, kind, admin_id, now, now + svc.config.invite_ttl)
        await audit.record(tx, now, admin_id, "invite", iso3, kind=kind, code=code[:4] + "…")
        invite = await invites.get(tx, code)
    assert invite is not None
    return invite


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


async def redeem_invite(svc: Services, user: UserInfo, code: str) -> Redeemed:
    """Check and claim the code and assign the person, all in one transaction."""
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        await people.upsert(tx, now, user.id, user.first_name, user.last_name, user.username)
        invite = await invites.get(tx, code)
        reason = _refusal(invite, now)
        if reason is None and not await invites.mark_used(tx, code, user.id, now):
            reason = "used"
        if reason is not None:
            await audit.record(
                tx,
                now,
                user.id,
                "refused",
                "redeem_invite",
                reason=reason,
                iso3=invite.iso3 if invite else None,
            )
        else:
            assert invite is not None
            assignment_id = await people.assign(tx, now, user.id, invite.iso3, invite.kind, code)
            await audit.record(tx, now, user.id, "redeem_invite", invite.iso3, kind=invite.kind)
            person = await people.get(tx, user.id)
            assignment = next(
                a for a in await people.assignments_of(tx, user.id) if a.id == assignment_id
            )
    if reason is not None:
        raise InviteRefused(reason, invite)
    assert person is not None and invite is not None
    return Redeemed(person, assignment, invite.iso3, invite.kind)


def _refusal(invite: Invite | None, now: datetime) -> str | None:
    if invite is None:
        return "unknown"
    if invite.revoked_at is not None:
        return "revoked"
    if invite.used_by is not None:
        return "used"
    if invite.expires_at <= now:
        return "expired"
    return None


async def nfps(svc: Services, admin_id: int) -> list[Assignment]:
    """The NFPs of the regions the admin administers."""
    scope = await require_admin(svc, admin_id, "nfps")
    return [a for a in await people.all_nfps(svc.db) if covers_country(svc, scope, a.iso3)]


async def pending_invites(svc: Services, admin_id: int) -> list[Invite]:
    scope = await require_admin(svc, admin_id, "invites")
    pending = await invites.pending(svc.db, svc.clock.now())
    return [i for i in pending if covers_country(svc, scope, i.iso3)]


async def revoke_assignment(svc: Services, admin_id: int, assignment_id: int) -> Assignment | None:
    """Remove an NFP of a region the admin administers; None if there is no such NFP."""
    scope = await require_admin(svc, admin_id, "revoke")
    target = await people.assignment(svc.db, assignment_id)
    if target is not None and not covers_country(svc, scope, target.iso3):
        await require_admin(svc, admin_id, "revoke", iso3=target.iso3)
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        revoked = await people.revoke_assignment(tx, now, assignment_id, admin_id)
        if revoked is not None:
            await _release_report(tx, now, revoked)
            await audit.record(
                tx, now, admin_id, "revoke", revoked.iso3, nfp=revoked.tg_id, kind=revoked.kind
            )
    return revoked


async def _release_report(tx: Tx, now: datetime, revoked: Assignment) -> None:
    """Free the country's report the revoked NFP was filling in, so a colleague opens it
    without a take-over. Their session stays until their next step, which is refused with
    a clear message (``bot.reporting.reports`` checks the current assignment at every step)."""
    session = await reports.session(tx, revoked.tg_id)
    if session is None or session.report_id is None:
        return
    report = await reports.get(tx, session.report_id)
    if report is not None and report.iso3 == revoked.iso3 and report.editor == revoked.tg_id:
        await reports.set_editor(tx, now, report.id, None)


async def revoke_invite(svc: Services, admin_id: int, code: str) -> bool:
    scope = await require_admin(svc, admin_id, "revoke")
    invite = await invites.get(svc.db, code)
    if invite is not None and not covers_country(svc, scope, invite.iso3):
        await require_admin(svc, admin_id, "revoke", iso3=invite.iso3)
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        done = await invites.revoke(tx, code, now)
        if done:
            await audit.record(tx, now, admin_id, "revoke_invite", code[:4] + "…")
    return done


async def assignments_of(svc: Services, tg_id: int) -> list[Assignment]:
    return await people.assignments_of(svc.db, tg_id)


async def admins(svc: Services) -> list[tuple[int, str, AdminScope]]:
    """Every administrator with where the right comes from (``config``, ``cli``, ...) and
    the regions it covers, by id: what ``nfpbot admin list`` prints."""
    rows = await people.admins_with_source(svc.db)
    return [(tg_id, source, scope_from(svc.config, tg_id, source)) for tg_id, source in rows]


async def add_admin(svc: Services, tg_id: int, *, by: int | None, source: str) -> bool:
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        added = await people.add_admin(tx, now, tg_id, source, by)
        if added:
            await audit.record(tx, now, by, "admin_add", str(tg_id), source=source)
    return added


class ConfigAdmin(Exception):
    """The id is an admin because config names it: removing it from the database would be
    undone at the next start (config is mirrored then), so only config can take it away.
    ``keys`` are the config keys that name it."""

    def __init__(self, tg_id: int, keys: list[str]) -> None:
        super().__init__(f"{tg_id} is named in {', '.join(keys)}")
        self.keys = keys


def config_admin_keys(config: Config, tg_id: int) -> list[str]:
    """Where config makes the id an admin: ``bot.admins`` and/or ``regions.<key>.admins``."""
    keys = ["bot.admins"] if tg_id in config.admins else []
    return keys + [f"regions.{r.key}.admins" for r in config.regions if tg_id in r.admins]


async def remove_admin(svc: Services, tg_id: int, *, by: int | None, source: str) -> bool:
    """Take admin rights away (audited like :func:`add_admin`); False if there were none.

    Refuses with :class:`ConfigAdmin` for an id config names, instead of a removal that the
    next start would silently revert.
    """
    keys = config_admin_keys(svc.config, tg_id)
    if keys:
        raise ConfigAdmin(tg_id, keys)
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        removed = await people.remove_admin(tx, tg_id)
        if removed:
            await audit.record(tx, now, by, "admin_remove", str(tg_id), source=source)
    return removed
