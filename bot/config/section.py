"""What a capability registers to own a top-level section of ``config.toml``.

A capability (reporting's questionnaire, guidance's topics, the digest, meetings, ...) keeps
its section's data model and parser in one module of bot/config/ and exposes it as a
:class:`Section`. bot/config/__init__.py lists the sections in one place, in the order they
are read; a section may read the result of one listed before it (every section needs
``bot.languages``) through :meth:`Context.get`. The top-level keys the file may have are
exactly the listed sections' keys, so a new section is known to the "did you mean" check
the moment it is listed, and nothing else has to change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar, cast

from bot.config.reader import Table

__all__ = ["Context", "Section"]

_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class Section(Generic[_T]):
    """A top-level section: its key and the function that reads it from the root table.

    ``parse`` gets the whole root table (not only its own sub-table) because sections differ
    in shape: ``[bot]`` is a table that may be absent, ``[[regions]]`` an array that must not
    be; each reads its own key with the reader's getters, so errors name the key as usual.
    """

    key: str
    parse: Callable[[Table, Context], _T]


@dataclass
class Context:
    """Where the file came from, and the sections read so far (by their :class:`Section`)."""

    source: Path | None
    env: Mapping[str, str]
    results: dict[str, object] = field(default_factory=dict)

    def get(self, section: Section[_T]) -> _T:
        """The value an earlier section parsed; KeyError if it is not listed before this one."""
        return cast(_T, self.results[section.key])
