"""A strict local Telegram Bot API server for tests, benchmarks and the no-token demo.

``Sandbox`` serves the Bot API on loopback; python-telegram-bot talks to it through
``base_url``/``base_file_url``.  It rejects what Telegram rejects (spec, sizes, HTML,
keyboards, flood control), records every call and simulates users and groups.
"""

from .errors import SandboxError
from .faults import RandomFaults
from .server import Call, Sandbox
from .store import SentMessage
from .users import SimGroup, SimUser, make_png

__all__ = [
    "Call",
    "RandomFaults",
    "Sandbox",
    "SandboxError",
    "SentMessage",
    "SimGroup",
    "SimUser",
    "make_png",
]
