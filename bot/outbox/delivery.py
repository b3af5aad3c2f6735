"""When an outbox message never arrives: tell the person who caused it, and let the cause know.

A message Telegram refuses (400), one to a recipient who blocked the bot (403), or one whose
retries ran out must not leave a state that claims it was delivered. The row itself carries
what to do (``on_failure`` in its payload, written by the domain code that queued it, in the
same transaction as its cause):

- ``tell``, ``lang``, ``text``: whom to tell, in which language, and what was not delivered
  (already phrased in that language when queued); the reason is added here.
- ``hook``, ``args``: a domain function registered with :func:`hook` under that name, run in
  the transaction that marks the row failed, so the domain state and the row agree.

The sender (``bot.outbox.sender``) calls :func:`failed`; this module knows nothing of Telegram.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.i18n import translator
from storage import outbox as store

if TYPE_CHECKING:
    from bot.core.services import Services
    from storage.db import Conn, Tx
    from storage.outbox import OutboxItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """Why a row failed for good: ``refused`` (400), ``blocked`` (403), ``gave_up``, ``bug``."""

    kind: str
    detail: str = ""  # Telegram's own description, for ``refused``
    attempts: int = 0

    @property
    def status(self) -> str:
        """The row's final status."""
        return "blocked" if self.kind == "blocked" else "failed"


FailureHook = Callable[["Tx", "Services", "OutboxItem", Failure, dict[str, Any]], Awaitable[None]]
_HOOKS: dict[str, FailureHook] = {}


def hook(name: str) -> Callable[[FailureHook], FailureHook]:
    """Register a domain function to run when a row naming ``name`` fails for good."""

    def register(fn: FailureHook) -> FailureHook:
        _HOOKS[name] = fn
        return fn

    return register


ValidityCheck = Callable[["Conn", "Services", dict[str, Any]], bool]
_CONDITIONS: dict[str, ValidityCheck] = {}


def condition(name: str) -> Callable[[ValidityCheck], ValidityCheck]:
    """Register a domain check that a row naming ``name`` in ``valid_while`` still applies.

    The check is plain synchronous code run on the database thread, inside the transaction
    that claims the row (``storage.outbox.claim_many``): a broadcast's rows are checked and
    claimed many at a time, one round trip and one short hold of the write lock per batch,
    instead of a transaction of their own each. It reads only; a check that raises is a bug,
    logged, and its row is sent, as with an unknown condition.
    """

    def register(fn: ValidityCheck) -> ValidityCheck:
        _CONDITIONS[name] = fn
        return fn

    return register


def still_valid(conn: Conn, svc: Services, item: OutboxItem) -> bool:
    """On the database thread: whether the row may go now (rows without a condition may)."""
    spec = item.valid_while
    if not spec:
        return True
    fn = _CONDITIONS.get(str(spec.get("hook")))
    if fn is None:
        log.error("outbox: #%d names an unknown condition %r; sent", item.id, spec.get("hook"))
        return True
    try:
        return fn(conn, svc, dict(spec.get("args") or {}))
    except Exception:
        log.exception("outbox: #%d: its condition %r failed; sent", item.id, spec.get("hook"))
        return True


def reason_text(lang: str | None, failure: Failure) -> str:
    """Why it was not delivered, in the reader's language."""
    tr = translator(lang)
    if failure.kind == "blocked":
        return tr.gettext("the recipient has blocked the bot.")
    if failure.kind == "refused" and "too long" in failure.detail.lower():
        return tr.gettext("the message is longer than Telegram allows (4,096 characters).")
    if failure.kind == "refused":  # Telegram's own words, as there is nothing better
        return tr.gettext("Telegram refused the message ({detail}).").format(
            detail=html.escape(failure.detail)
        )
    if failure.kind == "gave_up":
        return tr.ngettext(
            "it could not be sent after {n} attempt (Telegram or the network kept failing).",
            "it could not be sent after {n} attempts (Telegram or the network kept failing).",
            failure.attempts,
        ).format(n=failure.attempts)
    return tr.gettext("an internal error; the operator can find it in the log.")


async def failed(tx: Tx, svc: Services, item: OutboxItem, failure: Failure) -> None:
    """Run the row's failure instructions inside the transaction that marks it failed."""
    spec = item.on_failure
    if not spec:
        return
    name = spec.get("hook")
    if name:
        fn = _HOOKS.get(name)
        if fn is None:
            log.error("outbox: #%d names an unknown failure hook %r", item.id, name)
        else:
            await fn(tx, svc, item, failure, dict(spec.get("args") or {}))
    tell = spec.get("tell")
    if tell and spec.get("text"):
        tr = translator(spec.get("lang"))
        reason = tr.gettext("Reason: {reason}").format(
            reason=reason_text(spec.get("lang"), failure)
        )
        await store.enqueue(
            tx,
            svc.clock.now(),
            dedup_key=f"undelivered:{item.id}",
            chat_id=int(tell),
            kind="undelivered",
            text=f"{spec['text']}\n{reason}",
        )
