"""``nfpbot demo``: one real reporting week, played by the real bot on the embedded sandbox.

The demo is wiring, not domain: it starts the project's own Bot API sandbox on loopback, the
same Application as ``nfpbot run`` against it, and simulated people who act in scenes
(:mod:`bot.demo.scenes`), while an injected clock walks through the week. Nothing is mocked:
every message the transcript shows went through the Bot API, was checked by the sandbox as
Telegram checks it, and was stored by the bot in its SQLite file.
"""
