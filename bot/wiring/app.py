"""Application wiring: one place that builds the PTB Application and its lifecycle hooks."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from telegram import Bot, BotCommand
from telegram.ext import ApplicationBuilder, ContextTypes, Updater

from bot.config import Config
from bot.core import callbacks
from bot.core.clock import Clock, SystemClock
from bot.core.i18n import translator, use_languages
from bot.core.services import Services
from bot.outbox.pacer import Pacer
from bot.wiring.concurrency import DurablePolling, PerChatUpdateProcessor
from bot.wiring.context import BotApplication, BotContext
from bot.wiring.ratelimit import ReplyLimiter
from bot.wiring.request import ApiRequest, UpdatesRequest
from storage import people, regions
from storage.db import Database, require_fts5
from storage.regions import CountryRow

if TYPE_CHECKING:
    from bot.outbox.sender import OutboxSender

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 24
# How long the outbox waits at a start for the updates a crash left in the inbox: they are
# a handful and take well under a second; an outage must not hold up prompts for long.
REPLAY_HOLD_S = 10.0


@dataclass
class Options:
    """How to run: where Telegram is, which clock, how many updates at once."""

    base_url: str | None = None  # e.g. "http://127.0.0.1:8081/bot" for a local Bot API server
    base_file_url: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    concurrency: int = DEFAULT_CONCURRENCY
    # post a digest missed while the bot was down just after the start; the demo posts at
    # its story's times instead (its clock is scripted; this job runs on real time)
    digests_at_start: bool = True


def build_application(config: Config, token: str, options: Options | None = None) -> BotApplication:
    opts = options or Options()
    use_languages(config.languages, config.default_language)
    requests = (
        ApiRequest(opts.concurrency * 2 + 8, pool_timeout=10.0),
        UpdatesRequest(1, keep_buttons_for=callbacks.reading_pressed_buttons()),
    )
    processor = PerChatUpdateProcessor(opts.concurrency)
    # one budget for replies and the outbox: Telegram counts both against the same limit
    pacer = Pacer(config.messages_per_second)
    builder = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(processor)
        # replies: a few calls per update in flight (answer, edit, send) share the pool
        .request(requests[0])
        .get_updates_request(requests[1])
        .rate_limiter(ReplyLimiter(pacer))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if opts.base_url:
        file_url = _file_url_for(opts.base_url, opts.base_file_url)
        builder = builder.base_url(opts.base_url).base_file_url(file_url)
    app = builder.build()
    # fetched updates are kept in the database before Telegram forgets them (bot.wiring.concurrency)
    polling = DurablePolling(app.bot, processor, lambda: app.bot_data.get("svc"), requests[1])
    app.updater = Updater(cast(Bot, polling), app.update_queue)
    app.bot_data["polling"] = polling
    app.bot_data["config"] = config
    app.bot_data["options"] = opts
    app.bot_data["requests"] = requests
    app.bot_data["pacer"] = pacer
    from handlers import register_handlers

    register_handlers(app)
    return app


async def close_requests(app: BotApplication) -> None:
    """Close the HTTP sessions when start-up failed before PTB could shut them down."""
    for request in app.bot_data.get("requests", ()):
        await request.shutdown()


def _file_url(opts: Options) -> str | None:
    if not opts.base_url:
        return opts.base_file_url
    return _file_url_for(opts.base_url, opts.base_file_url)


def _file_url_for(base_url: str, base_file_url: str | None) -> str:
    """The given file URL, else the one beside a Bot API URL (``/bot`` -> ``/file/bot``)."""
    return base_file_url or base_url.replace("/bot", "/file/bot", 1)


async def open_services(config: Config, clock: Clock, bot_username: str = "") -> Services:
    """Open the database, migrate it and mirror config into it (regions, countries, admins).

    If mirroring fails (a read-only or locked file) the database is closed again before
    the error goes up: nobody else holds it yet, and its open thread would keep the
    process alive.
    """
    require_fts5()  # one clear line, not the migration's "no such module: fts5"
    db = await Database.open(config.database)
    try:
        await _mirror_config(db, config, clock)
    except BaseException:
        await db.close()
        raise
    return Services(config=config, db=db, clock=clock, bot_username=bot_username)


async def _mirror_config(db: Database, config: Config, clock: Clock) -> None:
    now = clock.now()
    async with db.transaction() as tx:
        await regions.sync(
            tx,
            [
                (
                    r.key,
                    [CountryRow(c.iso3, r.key, c.timezone, c.status) for c in r.countries],
                )
                for r in config.regions
            ],
        )
        config_admins = set(config.admins)
        for r in config.regions:
            config_admins.update(r.admins)
        await people.sync_config_admins(tx, now, config_admins)
        for r in config.regions:
            if r.group_chat_id:
                await regions.set_group_chat(tx, r.key, r.group_chat_id)


async def _post_init(app: BotApplication) -> None:
    config: Config = app.bot_data["config"]
    opts: Options = app.bot_data["options"]
    svc = await open_services(config, opts.clock, app.bot.username)
    app.bot_data["svc"] = svc
    svc.guidance_channel = await resolve_guidance_channel(app.bot, config)
    recovered = await app.bot_data["polling"].recover(app.update_queue)
    if recovered:
        log.info("%d update(s) fetched before the last stop were not processed: now", recovered)
    await _set_commands(app)
    await start_background(app, svc, after_replay=bool(recovered))
    log.info(
        "started as @%s: %d regions, %d countries, database %s (schema v%d)",
        app.bot.username,
        len(config.regions),
        sum(len(r.countries) for r in config.regions),
        config.database,
        await svc.db.schema_version(),
    )


async def resolve_guidance_channel(bot: Bot, config: Config) -> int | None:
    """The ``[guidance] channel``'s numeric id (an ``@username`` is looked up), once the bot
    is known to be an administrator there; else None, said in one log line, and items are
    not posted (an unreachable channel must not stop the bot, nor fill the outbox with
    posts Telegram refuses)."""
    from telegram.error import TelegramError

    from bot.config import guidance

    channel = guidance.of(config).channel
    if channel is None:
        return None
    try:
        chat = await bot.get_chat(channel)
        me = await bot.get_chat_member(chat.id, bot.id)
    except TelegramError as exc:
        log.error("guidance channel %s: not reachable (%s); items are not posted", channel, exc)
        return None
    if me.status not in ("administrator", "creator"):
        log.error(
            "guidance channel %s: the bot is %s there, not an administrator; items are not"
            " posted until it is made one and restarted",
            channel,
            me.status,
        )
        return None
    log.info("guidance channel %s (%d): each new item is posted there", channel, chat.id)
    return int(chat.id)


async def _set_commands(app: BotApplication) -> None:
    """The command menu Telegram shows, in each language (admin commands are in /help)."""
    from handlers.onboarding import menu_commands

    for lang in app.bot_data["config"].languages:
        tr = translator(lang)
        commands = [BotCommand(name, tr.gettext(desc)) for name, desc in menu_commands()]
        await app.bot.set_my_commands(commands, language_code=lang)
    tr = translator(app.bot_data["config"].default_language)
    await app.bot.set_my_commands([BotCommand(n, tr.gettext(d)) for n, d in menu_commands()])


async def start_background(
    app: BotApplication, svc: Services, *, after_replay: bool = False
) -> None:
    """The outbox sender (its own rate-limited Bot) and the cycle's jobs.

    ``after_replay``: updates a crash left in the inbox are queued; the sender starts once
    they are processed (at most :data:`REPLAY_HOLD_S` later), see
    :meth:`DurablePolling.replayed`.
    """
    from bot.outbox.sender import OutboxSender, make_outbox_bot
    from bot.reporting.schedule import tick

    opts: Options = app.bot_data["options"]
    outbox_bot = make_outbox_bot(app.bot.token, opts.base_url, _file_url(opts))
    await outbox_bot.initialize()
    sender = OutboxSender(svc, outbox_bot, pacer=app.bot_data.get("pacer"))
    svc.outbox_waker = sender.wake
    app.bot_data["outbox"] = (sender, outbox_bot)
    polling: DurablePolling | None = app.bot_data.get("polling")
    if after_replay and polling is not None:
        # a plain task (PTB's create_task is for a running Application): stop_background
        # cancels it if the bot stops first
        app.bot_data["outbox_hold"] = asyncio.create_task(
            _start_after_replay(app, sender, polling), name="outbox-after-replay"
        )
    else:
        sender.start()
    schedule_jobs(app, svc)
    await tick(svc)  # catch up on whatever fell due while the bot was stopped


async def _start_after_replay(
    app: BotApplication, sender: OutboxSender, polling: DurablePolling
) -> None:
    if not await polling.replayed(REPLAY_HOLD_S):
        log.warning(
            "updates kept from before the last stop still unprocessed after %.0f s: "
            "the outbox starts anyway",
            REPLAY_HOLD_S,
        )
    if app.bot_data.get("outbox", (None,))[0] is sender:  # not stopped meanwhile
        sender.start()


async def _digests_due(svc: Services) -> None:
    """Post the digests whose time has come (or came while the bot was down)."""
    from bot.digest import post

    try:
        await post.due(svc)
    except Exception:  # nothing was marked posted: the next tick tries again
        log.exception("posting a due digest failed; the next tick tries again")


def schedule_jobs(app: BotApplication, svc: Services) -> None:
    """Rebuild all jobs from config on every start (PTB jobs are not persisted).

    Here, not in bot.reporting.schedule: the JobQueue is PTB's, and the domain knows no Telegram; it
    only says when (:func:`bot.reporting.schedule.job_times`) and what
    (:func:`bot.reporting.schedule.tick`)."""
    from bot.reporting.schedule import SAFETY_INTERVAL, job_times, tick

    jq = app.job_queue
    assert jq is not None
    for job in jq.jobs():
        job.schedule_removal()

    async def run_tick(_context: object) -> None:
        await tick(svc)
        await _digests_due(svc)

    for name, at, day in job_times(svc, svc.clock.now()):
        jq.run_daily(run_tick, at, days=(day,), name=name)
    jq.run_repeating(run_tick, interval=SAFETY_INTERVAL, first=SAFETY_INTERVAL, name="tick")

    async def run_digests(_context: object) -> None:
        await _digests_due(svc)

    # a digest missed while the bot was down is posted just after the start, as a job: its
    # charts take seconds to draw, and the first updates must not wait for them
    opts: Options = app.bot_data["options"]
    if opts.digests_at_start:
        jq.run_once(run_digests, when=1.0, name="digests-at-start")

    from bot.digest import board

    async def run_board(_context: object) -> None:
        try:
            await board.refresh(svc)
        except Exception:  # the next run tries again; the board is a view, nothing is lost
            log.exception("status board refresh failed")

    every = board.REFRESH_INTERVAL.total_seconds()
    jq.run_repeating(run_board, interval=every, first=every, name="board")

    from bot.guidance import status as guidance_status
    from handlers.guidance import refresh_panels

    async def run_guidance(_context: object) -> None:
        try:
            await refresh_panels(svc, app.bot)
        except Exception:  # the next run tries again: notices are durable, panels are views
            log.exception("guidance status refresh failed")

    every = guidance_status.REFRESH_INTERVAL.total_seconds()
    jq.run_repeating(run_guidance, interval=every, first=every, name="guidance_status")


async def _post_stop(app: BotApplication) -> None:
    log.info("stopping")
    polling: DurablePolling | None = app.bot_data.get("polling")
    if polling is not None and "svc" in app.bot_data:
        try:
            await polling.forget_finished()
        except Exception as err:  # kept rows are only processed (once) at the next start
            log.warning("could not clear the processed updates: %s", err)
    await stop_background(app)


async def stop_background(app: BotApplication) -> None:
    """Stop the outbox sender and close its Bot; the Bot is closed even if stopping failed."""
    hold: asyncio.Task[None] | None = app.bot_data.pop("outbox_hold", None)
    if hold is not None and not hold.done():
        hold.cancel()
        await asyncio.wait({hold})  # not `await hold`: that would swallow our own cancel
    if "outbox" in app.bot_data:
        sender, outbox_bot = app.bot_data.pop("outbox")
        try:
            await sender.stop()
        finally:
            await outbox_bot.shutdown()


async def _post_shutdown(app: BotApplication) -> None:
    svc: Services | None = app.bot_data.get("svc")
    if svc is None:
        return  # never started: the caller says why in one line, nothing was running
    await svc.db.close()
    log.info("stopped")
