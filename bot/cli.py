"""The ``nfpbot`` command line. Imports stay inside commands so ``--help`` starts fast."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

if TYPE_CHECKING:  # type-only: keeps `nfpbot --help` from importing config and babel
    import asyncio

    from bot.config import Config

EXIT_USAGE = 2
EXIT_FAILURE = 1
T = TypeVar("T")


def _fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    print(f"nfpbot: {message}", file=sys.stderr)
    raise SystemExit(code)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nfpbot",
        description="Telegram bot for the weekly reporting cycle of a regional secretariat "
        "and its National Focal Points.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: $NFPBOT_CONFIG, else ./config.toml)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start the bot (long polling); token from $NFPBOT_TOKEN")
    run.add_argument(
        "--api-url",
        metavar="URL",
        help="Bot API server base URL, e.g. http://127.0.0.1:8081/bot (default: Telegram)",
    )
    run.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="updates processed at once, one chat's always in order (default: 24)",
    )

    sub.add_parser("check-config", help="validate the configuration file and exit")
    sub.add_parser("migrate", help="create or upgrade the database schema and exit")

    admin = sub.add_parser("admin", help="manage administrators")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    add = admin_sub.add_parser("add", help="make a Telegram user id an administrator")
    add.add_argument("user_id", type=int)
    remove = admin_sub.add_parser("remove", help="take administrator rights away")
    remove.add_argument("user_id", type=int)
    admin_sub.add_parser("list", help="list administrators")

    demo = sub.add_parser(
        "demo-data", help="load the real weekly figures (2020-2021) as confirmed reports"
    )
    demo.add_argument("--region", default=None, metavar="KEY", help="default: the first region")
    demo.add_argument(
        "--csv",
        default=None,
        metavar="FILE",
        help="iso3,iso_week,new_cases,new_deaths rows (default: the shipped Central Asia file)",
    )

    digest = sub.add_parser("digest", help="write a week's digest (HTML, charts, PDF) to DIR")
    digest.add_argument("--region", default=None, metavar="KEY", help="default: the first region")
    digest.add_argument("--week", required=True, metavar="YYYY-Www", help="e.g. 2020-W30")
    digest.add_argument("--out", required=True, metavar="DIR")
    digest.add_argument(
        "--lang",
        action="append",
        default=None,
        metavar="LANG",
        help="language(s) to write (default: every configured language)",
    )

    export = sub.add_parser("export", help="write every confirmed report of a range of weeks")
    export.add_argument("--from", dest="first", required=True, metavar="YYYY-Www")
    export.add_argument("--to", dest="last", required=True, metavar="YYYY-Www")
    export.add_argument("--format", choices=("csv", "xlsx", "dhis2"), default="csv")
    export.add_argument("--region", default=None, metavar="KEY", help="default: every region")
    export.add_argument("--out", required=True, metavar="FILE")

    play = sub.add_parser(
        "demo", help="play one real reporting week on the embedded sandbox (no token needed)"
    )
    play.add_argument("--out", metavar="DIR", help="folder for the transcript and the database")
    play.add_argument("--lang", choices=("en", "ru"), default="en", help="the group's language")
    play.add_argument(
        "--speed",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="pause after each message, to watch it (default: 0, as fast as it goes)",
    )
    return parser


def _load_config(path: str | None) -> Config:
    from bot.config import ConfigError, load_config, resolve_config_path

    resolved = resolve_config_path(path, os.environ)
    try:
        return load_config(resolved, os.environ)
    except ConfigError as err:
        _fail(str(err) if err.key.startswith(str(resolved)) else f"{resolved}: {err}", EXIT_USAGE)


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    token = os.environ.get("NFPBOT_TOKEN", "").strip()
    if token:  # whatever the command, no line this process writes may hold the token
        from bot.core.logs import guard_output

        guard_output(token)

    if args.command == "check-config":
        config = _load_config(args.config)
        n = sum(len(r.countries) for r in config.regions)
        print(
            f"{config.source}: OK — {len(config.regions)} region(s), {n} countries, "
            f"database {config.database}"
        )
    elif args.command == "migrate":
        config = _load_config(args.config)
        print(f"{config.database}: schema version {_with_database(config, _migrate(config))}")
    elif args.command == "admin":
        config = _load_config(args.config)
        _with_database(config, _admin(config, args.admin_command, getattr(args, "user_id", None)))
    elif args.command == "run":
        _run(args)
    elif args.command == "demo":
        from bot.config import resolve_config_path
        from bot.demo.run import main as demo

        out = Path(args.out) if args.out else None
        path = resolve_config_path(args.config, os.environ)
        raise SystemExit(demo(path, out, args.lang, args.speed))
    elif args.command == "demo-data":
        config = _load_config(args.config)
        _with_database(config, _demo_data(config, _region_key(config, args.region), args.csv))
    elif args.command == "digest":
        config = _load_config(args.config)
        week = _week(args.week, "--week")
        region_key = _region_key(config, args.region)
        languages = args.lang or list(config.languages)
        for lang in languages:
            if lang not in config.languages:
                _fail(f"--lang {lang}: not one of {', '.join(config.languages)}", EXIT_USAGE)
        from bot.core.i18n import use_languages

        use_languages(config.languages, config.default_language)
        digest = _with_database(config, _build_digest(config, region_key, week))
        _write_digest(digest, Path(args.out), languages)
    elif args.command == "export":
        config = _load_config(args.config)
        first, last = _week(args.first, "--from"), _week(args.last, "--to")
        if last < first:
            _fail(f"--to {last} is before --from {first}", EXIT_USAGE)
        if args.region is not None:
            _region_key(config, args.region)
        data = _with_database(config, _export(config, first, last, args.format, args.region))
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        print(f"{out}: {len(data):,} bytes")


def _region_key(config: Config, key: str | None) -> str:
    if key is None:
        return config.regions[0].key
    if not any(r.key == key for r in config.regions):
        known = ", ".join(r.key for r in config.regions)
        _fail(f"--region {key}: no such region (configured: {known})", EXIT_USAGE)
    return key


def _week(text: str, option: str) -> Any:
    from bot.core.week import Week

    try:
        return Week.parse(text)
    except ValueError as err:
        _fail(f"{option} {text}: {err}", EXIT_USAGE)


async def _demo_data(config: Config, region_key: str, csv_path: str | None) -> None:
    from bot.core.clock import SystemClock
    from bot.digest import demo
    from bot.wiring.app import open_services

    path = Path(csv_path) if csv_path else demo.default_csv()
    try:
        rows = demo.read_csv(path)
    except (OSError, KeyError, ValueError) as err:
        _fail(f"{path}: cannot read the figures: {err}", EXIT_USAGE)
    svc = await open_services(config, SystemClock())
    try:
        loaded = await demo.load(svc.db, config, config.region(region_key), rows)
    finally:
        await svc.db.close()
    print(
        f"{config.database}: {loaded.reports} reports and {loaded.revisions} revisions loaded "
        f"for {region_key}, {loaded.skipped} already there"
    )


async def _build_digest(config: Config, region_key: str, week: Any) -> Any:
    from bot.core.clock import SystemClock
    from bot.digest import content
    from bot.wiring.app import open_services

    svc = await open_services(config, SystemClock())
    try:
        return await content.build(svc.db, config.region(region_key), week)
    finally:
        await svc.db.close()


def _write_digest(digest: Any, out: Path, languages: list[str]) -> None:
    """The messages as HTML files, the charts (PNG) and the PDF bulletin, per language."""
    import asyncio

    from bot.core.i18n import translator
    from bot.digest import render, texts
    from bot.digest.charts import render_charts
    from bot.digest.pdf import render_pdfs

    region_key, week = digest.region.key, digest.week
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    async def draw() -> tuple[dict[str, list[tuple[str, bytes]]], list[bytes]]:
        charts = {
            lang: await render_charts(render.chart_request(digest, translator(lang)))
            for lang in languages
        }
        bulletins = [render.bulletin(digest, translator(lang), charts[lang]) for lang in languages]
        return charts, await render_pdfs(bulletins)

    charts, pdfs = asyncio.run(draw())
    for lang, pdf in zip(languages, pdfs, strict=True):
        for i, message in enumerate(texts.messages(digest, translator(lang)), start=1):
            path = out / f"digest_{region_key}_{week}_{lang}_{i}.html"
            path.write_text(message + "\n", encoding="utf-8")
            written.append(path)
        for name, data in charts[lang]:
            path = out / f"digest_{region_key}_{week}_{lang}_{name}"
            path.write_bytes(data)
            written.append(path)
        path = out / f"bulletin_{region_key}_{week}_{lang}.pdf"
        path.write_bytes(pdf)
        written.append(path)
    for path in written:
        print(path)


async def _export(config: Config, first: Any, last: Any, fmt: Any, region_key: str | None) -> bytes:
    from bot.digest import exports
    from storage.db import Database

    db = await Database.open(config.database)
    try:
        data, _ = await exports.export(
            db, config, first, last, fmt, [region_key] if region_key else None
        )
    finally:
        await db.close()
    return data


def database_problem(path: Path, err: BaseException) -> str:
    """One line for the operator saying what is wrong with the database file, and what to do."""
    from storage.db import BUSY_TIMEOUT_MS, write_failure

    if path.is_dir():
        return f"the database {path} is a directory; set `database` (or NFPBOT_DB) to a file"
    kind = write_failure(err)
    if kind == "read-only":
        return (
            f"the database {path} is read-only: nfpbot must be able to write it "
            "(and its directory, for the -wal and -shm files)"
        )
    if kind == "busy":
        return (
            f"the database {path} is locked by another process "
            f"(waited {BUSY_TIMEOUT_MS / 1000:g} s): {err}"
        )
    return f"cannot use the database {path}: {err}"


def _with_database(config: Config, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; whatever happens, every database is closed before exit.

    aiosqlite's worker thread is not a daemon: one connection left open on an error path
    keeps the process alive forever. A database that cannot be used is one line, exit 1.
    """
    import asyncio  # here, not at the top: `nfpbot --help` stays fast
    import sqlite3

    from storage.db import close_all

    async def guarded() -> T:
        try:
            return await work
        finally:
            await close_all()

    try:
        return asyncio.run(guarded())
    except (sqlite3.Error, OSError) as err:
        _fail(database_problem(Path(config.database), err))


async def _migrate(config: Config) -> int:
    from storage.db import Database

    db = await Database.open(config.database)
    try:
        return await db.schema_version()
    finally:
        await db.close()


async def _admin(config: Config, action: str, user_id: int | None) -> None:
    from bot.core.clock import SystemClock
    from bot.people.roles import ConfigAdmin, add_admin, admins, config_admin_keys, remove_admin
    from bot.wiring.app import open_services

    svc = await open_services(config, SystemClock())
    try:
        if action == "add":
            assert user_id is not None
            if user_id <= 0:
                _fail("a Telegram user id is a positive number", EXIT_USAGE)
            added = await add_admin(svc, user_id, by=None, source="cli")
            keys = config_admin_keys(config, user_id)
            if added:
                print(
                    f"{user_id} is now an administrator of every region (deployment-wide); "
                    "to limit someone to one region, list the id in that region's admins "
                    f"in {config.source or 'the config file'} instead"
                )
            else:
                where = f" ({', '.join(keys)} in {config.source})" if keys else ""
                print(f"{user_id} is already an administrator{where}")
        elif action == "remove":
            assert user_id is not None
            try:
                removed = await remove_admin(svc, user_id, by=None, source="cli")
            except ConfigAdmin as named:
                _fail(
                    f"{user_id} is an administrator because {config.source} names it in "
                    f"{', '.join(named.keys)}: delete it there (removing it here would be "
                    "undone at the next start); nothing was changed"
                )
            print(f"{user_id} {'removed' if removed else 'was not an administrator'}")
        else:
            rows = await admins(svc)
            for tg_id, source, scope in rows:
                where = "all regions" if scope.everywhere else ", ".join(sorted(scope.regions))
                print(f"{tg_id}\t{source}\t{where}")
            if not rows:
                print("no administrators yet: nfpbot admin add <telegram_user_id>")
    finally:
        await svc.db.close()


def check_api_url(url: str) -> str:
    """The ``--api-url`` as given, or exit 2 with one line saying what is wrong with it.

    Checked before anything is sent: PTB appends ``<token>/<method>`` to this URL, and a
    URL the HTTP client cannot use comes back inside an error message, token and all.
    """
    from urllib.parse import urlsplit

    example = "e.g. http://127.0.0.1:8081/bot"
    problem = ""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as err:
        parts, port, problem = None, None, f"{err} ({example})"
    if parts is not None:
        if parts.scheme not in ("http", "https"):
            problem = f"must start with http:// or https:// ({example})"
        elif not parts.hostname:
            problem = f"has no host name ({example})"
        elif port == 0:
            problem = f"port must be 1-65535 ({example})"
        elif parts.username or parts.password or parts.query or parts.fragment:
            problem = "must not contain a user name, password, query (?) or fragment (#)"
        elif not parts.path.endswith("/bot"):
            problem = (
                f"must end with /bot: the token and the method name are appended to it ({example})"
            )
    if problem:
        _fail(f"--api-url {url}: {problem}", EXIT_USAGE)
    return url


def _run(args: argparse.Namespace) -> None:
    config = _load_config(args.config)
    token = os.environ.get("NFPBOT_TOKEN", "").strip()
    if not token:
        _fail(
            "NFPBOT_TOKEN is not set. Create a bot with @BotFather in Telegram and run: "
            "export NFPBOT_TOKEN='<the token it gives you>'",
            EXIT_USAGE,
        )
    api_url = check_api_url(args.api_url) if args.api_url else None
    from bot.core.logs import setup_logging

    setup_logging(config.log_level, token=token)

    from bot.core.instance import AlreadyRunning, RunLock

    lock = RunLock(config.database)
    try:
        lock.acquire()
    except AlreadyRunning as err:
        _fail(str(err))
    except OSError as err:
        _fail(f"cannot take the lock {lock.path} (one bot per database): {err}")
    try:
        failure = _serve(config, token, api_url, args.concurrency)
    finally:
        lock.release()
    if failure:
        _fail(failure)


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (not on Windows), else asyncio's own.

    Every answer is a few socket reads and writes, timers and task hand-offs; on uvloop
    those cost about a tenth less of the bot's CPU per answer (bench.report_throughput).
    Nothing in the bot depends on which loop runs it: the tests run most of it on asyncio's.
    """
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _serve(config: Config, token: str, api_url: str | None, concurrency: int | None) -> str:
    """Poll until stopped; return "" after a clean stop, else the one line saying why not.

    Whatever fails (start-up, polling, shutdown), every task is cancelled and every HTTP
    session and database connection is closed before this returns, so the process ends.
    """
    import asyncio
    import logging
    import signal
    import sqlite3

    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    from bot.wiring.app import DEFAULT_CONCURRENCY, Options, build_application
    from storage.db import FTS5Unavailable

    # PTB logs a rejected token with a traceback; the one line below says it better
    logging.getLogger("telegram.ext").addFilter(
        lambda record: not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))
    )
    options = Options(base_url=api_url, concurrency=concurrency or DEFAULT_CONCURRENCY)
    app = build_application(config, token, options)
    loop = _event_loop()
    asyncio.set_event_loop(loop)
    failure = ""
    try:
        # initialized here, not by run_polling, whose bootstrap logs a 60-line traceback
        # before re-raising a start-up failure that is said better in one line
        loop.run_until_complete(app.initialize())
        app.run_polling(
            allowed_updates=Update.ALL_TYPES,
            stop_signals=(signal.SIGINT, signal.SIGTERM),
            close_loop=False,
        )
    except InvalidToken:
        failure = (
            "Telegram rejected the token in NFPBOT_TOKEN (401 Unauthorized). "
            "Copy it again from @BotFather."
        )
    except NetworkError as err:
        failure = f"cannot reach the Bot API at {api_url or 'api.telegram.org'}: {err}"
    except FTS5Unavailable as err:
        failure = str(err)
    except (sqlite3.Error, OSError) as err:
        failure = database_problem(Path(config.database), err)
    except (KeyboardInterrupt, SystemExit):
        pass  # a signal before polling started: stop like after it
    except Exception as err:  # a bug: its traceback is logged (redacted), the process ends
        logging.getLogger("bot.cli").exception("nfpbot stopped on an unexpected error")
        failure = f"stopped on an unexpected error: {type(err).__name__}: {err}"
    finally:
        loop.run_until_complete(_release_everything(app))
        loop.close()
    return failure


async def _release_everything(app: Any) -> None:
    """Cancel what is still running, then close HTTP sessions and databases (each guarded)."""
    import asyncio
    import contextlib
    import logging

    from bot.wiring.app import close_requests, stop_background
    from storage.db import close_all

    log = logging.getLogger("bot.cli")
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current]
    for task in pending:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 10)
    for step in (stop_background(app), close_requests(app), close_all()):
        try:
            await step
        except Exception as err:  # the next step must run, and the process must end
            log.warning("while shutting down: %s: %s", type(err).__name__, err)
