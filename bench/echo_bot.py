"""A bare python-telegram-bot echo bot with PTB's defaults: the baseline for the benchmarks.

``NFPBOT_TOKEN=... python bench/echo_bot.py --api-url http://127.0.0.1:PORT/bot``
"""

from __future__ import annotations

import argparse
import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the same text."""
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


def main() -> None:
    """Poll the Bot API at ``--api-url`` until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-url", required=True, help="e.g. http://127.0.0.1:8081/bot")
    args = parser.parse_args()
    app = ApplicationBuilder().token(os.environ["NFPBOT_TOKEN"]).base_url(args.api_url).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling()


if __name__ == "__main__":
    main()
