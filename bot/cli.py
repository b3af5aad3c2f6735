"""The ``nfpbot`` command line. Imports stay inside commands so ``--help`` starts fast."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:  # type-only: keeps `nfpbot --help` from importing config and babel
    from bot.config import Config

EXIT_USAGE = 2
EXIT_FAILURE = 1


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
    import asyncio  # here, not at the top: `nfpbot --help` stays fast

    if args.command == "check-config":
        config = _load_config(args.config)
        n = sum(len(r.countries) for r in config.regions)
        print(
            f"{config.source}: OK — {len(config.regions)} region(s), {n} countries, "
            f"database {config.database}"
        )
    elif args.command == "migrate":
        config = _load_config(args.config)
        print(f"{config.database}: schema version {asyncio.run(_migrate(config))}")
    elif args.command == "admin":
        config = _load_config(args.config)
        asyncio.run(_admin(config, args.admin_command, getattr(args, "user_id", None)))
    elif args.command == "run":
        _run(args)


async def _migrate(config: Config) -> int:
    from storage.db import Database

    db = await Database.open(config.database)
    try:
        return await db.schema_version()
    finally:
        await db.close()


async def _admin(config: Config, action: str, user_id: int | None) -> None:
    from bot.app import open_services
    from bot.clock import SystemClock
    from bot.people import ConfigAdmin, add_admin, config_admin_keys, remove_admin, scope_from
    from storage import people

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
            rows = await people.admins_with_source(svc.db)
            for tg_id, source in rows:
                scope = scope_from(config, tg_id, source)
                where = "all regions" if scope.everywhere else ", ".join(sorted(scope.regions))
                print(f"{tg_id}\t{source}\t{where}")
            if not rows:
                print("no administrators yet: nfpbot admin add <telegram_user_id>")
    finally:
        await svc.db.close()


def _run(args: argparse.Namespace) -> None:
    config = _load_config(args.config)
    token = os.environ.get("NFPBOT_TOKEN", "").strip()
    if not token:
        _fail(
            "NFPBOT_TOKEN is not set. Create a bot with @BotFather in Telegram and run: "
            "export NFPBOT_TOKEN='<the token it gives you>'",
            EXIT_USAGE,
        )
    from bot.logs import setup_logging

    setup_logging(config.log_level, token=token)

    import asyncio
    import logging
    import signal

    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    from bot.app import DEFAULT_CONCURRENCY, Options, build_application, close_requests

    # PTB logs a rejected token with a traceback; the one line below says it better
    logging.getLogger("telegram.ext").addFilter(
        lambda record: not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))
    )
    options = Options(base_url=args.api_url, concurrency=args.concurrency or DEFAULT_CONCURRENCY)
    app = build_application(config, token, options)
    try:
        app.run_polling(
            allowed_updates=Update.ALL_TYPES,
            stop_signals=(signal.SIGINT, signal.SIGTERM),
            close_loop=False,
        )
    except (InvalidToken, NetworkError) as err:
        asyncio.get_event_loop().run_until_complete(close_requests(app))
        if isinstance(err, InvalidToken):
            _fail(
                "Telegram rejected the token in NFPBOT_TOKEN (401 Unauthorized). "
                "Copy it again from @BotFather."
            )
        _fail(f"cannot reach the Bot API at {args.api_url or 'api.telegram.org'}: {err}")
