"""Ordered schema migrations, tracked with ``PRAGMA user_version``.

Each ``migrations/NNNN_name.sql`` file is applied once, in order, inside one transaction
together with the version bump, so a crash leaves the file at the last complete version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import aiosqlite

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    """All migrations shipped with the package, checked to be numbered 1, 2, 3 … without gaps."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise RuntimeError(f"badly named migration file: {path.name}")
        found.append(Migration(int(m.group(1)), path.stem, path.read_text(encoding="utf-8")))
    for expected, mig in enumerate(found, start=1):
        if mig.version != expected:
            raise RuntimeError(f"migration {mig.name} should be numbered {expected:04d}")
    return tuple(found)


def latest_version() -> int:
    return len(migrations())


async def apply_migrations(conn: aiosqlite.Connection, target: int | None = None) -> int:
    """Bring the schema from its current ``user_version`` up to ``target`` (default: latest)."""
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    target = latest_version() if target is None else target
    if current > latest_version():
        raise RuntimeError(
            f"the database is at schema version {current}, newer than this nfpbot "
            f"({latest_version()}): upgrade nfpbot instead of downgrading the data"
        )
    for mig in migrations():
        if current < mig.version <= target:
            script = f"BEGIN IMMEDIATE;\n{mig.sql}\nPRAGMA user_version = {mig.version};\nCOMMIT;"
            try:
                await conn.executescript(script)
            except Exception:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise
            current = mig.version
    return current
