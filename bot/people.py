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

from bot.services import Services
from storage import audit, invites, people
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
    """The caller lacks the role this action needs (already logged to the audit trail)."""


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
    if await people.is_admin(svc.db, tg_id):
        return Role.ADMIN
    if await people.assignments_of(svc.db, tg_id):
        return Role.NFP
    if await people.get(svc.db, tg_id) is not None:
        return Role.USER
    return Role.STRANGER


async def require_admin(svc: Services, tg_id: int, action: str) -> None:
    """Raise :class:`NotAllowed` (and log the attempt) unless the caller is an admin."""
    if await people.is_admin(svc.db, tg_id):
        return
    async with svc.db.transaction() as tx:
        await audit.record(tx, svc.clock.now(), tg_id, "refused", action, reason="not_admin")
    raise NotAllowed(action)


async def log_refusal(svc: Services, tg_id: int | None, action: str, reason: str) -> None:
    async with svc.db.transaction() as tx:
        await audit.record(tx, svc.clock.now(), tg_id, "refused", action, reason=reason)


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
    await require_admin(svc, admin_id, "nfps")
    return await people.all_nfps(svc.db)


async def pending_invites(svc: Services, admin_id: int) -> list[Invite]:
    await require_admin(svc, admin_id, "invites")
    return await invites.pending(svc.db, svc.clock.now())


async def revoke_assignment(svc: Services, admin_id: int, assignment_id: int) -> Assignment | None:
    await require_admin(svc, admin_id, "revoke")
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        revoked = await people.revoke_assignment(tx, now, assignment_id, admin_id)
        if revoked is not None:
            await audit.record(
                tx, now, admin_id, "revoke", revoked.iso3, nfp=revoked.tg_id, kind=revoked.kind
            )
    return revoked


async def revoke_invite(svc: Services, admin_id: int, code: str) -> bool:
    await require_admin(svc, admin_id, "revoke")
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        done = await invites.revoke(tx, code, now)
        if done:
            await audit.record(tx, now, admin_id, "revoke_invite", code[:4] + "…")
    return done


async def assignments_of(svc: Services, tg_id: int) -> list[Assignment]:
    return await people.assignments_of(svc.db, tg_id)


async def add_admin(svc: Services, tg_id: int, *, by: int | None, source: str) -> bool:
    now = svc.clock.now()
    async with svc.db.transaction() as tx:
        added = await people.add_admin(tx, now, tg_id, source, by)
        if added:
            await audit.record(tx, now, by, "admin_add", str(tg_id), source=source)
    return added
