"""The guidance library's optional channel (``[guidance]``): where each new item is also posted.

``channel`` names a Telegram channel the bot is an administrator of, by its public
``@username`` or its numeric id (``-100…``; a private channel has no username). Absent: no
channel, nothing is posted. The bot checks at start that it may post there
(``bot.wiring.app``) and says so in one log line if not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config.reader import Table, is_int, type_name
from bot.config.section import Context, Section

if TYPE_CHECKING:
    from bot.config import Config

__all__ = ["SECTION", "Guidance", "of"]

#: A public chat's username as Telegram allows it: 5-32 letters, digits and underscores.
USERNAME_RE = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")


@dataclass(frozen=True)
class Guidance:
    channel: int | str | None = None  # a negative id, or "@username"


def parse_guidance(root: Table, context: Context) -> Guidance:
    table = root.get_table("guidance", ("channel",))
    if "channel" not in table.data:
        return Guidance()
    value = table.data["channel"]
    if is_int(value):
        if value >= 0:
            table.fail("channel", f"a channel's id is negative (-100…), got {value}")
        return Guidance(int(value))
    if isinstance(value, str):
        if not USERNAME_RE.fullmatch(value):
            table.fail("channel", f"expected the channel's @username, got {value!r}")
        return Guidance(value)
    table.fail("channel", f"expected an @username or a numeric id, got {type_name(value)}")


def of(config: Config) -> Guidance:
    """The section's value (no channel when the file has none, or the config was built by hand)."""
    found = config.sections.get(SECTION.key)
    return found if isinstance(found, Guidance) else Guidance()


SECTION = Section("guidance", parse_guidance)
