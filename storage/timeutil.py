"""Timestamps are stored as ISO 8601 UTC text, which sorts and compares correctly in SQL."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous: pass an aware UTC datetime")
    return when.astimezone(UTC).isoformat(timespec="seconds")


def from_db(text: str | None) -> datetime | None:
    """A nullable column's timestamp (NULL stays None)."""
    return None if text is None else datetime.fromisoformat(text)


def from_db_required(text: str) -> datetime:
    """A NOT NULL column's timestamp: typed as a datetime, never None."""
    return datetime.fromisoformat(text)
