"""Media the outbox sends, stored once by content hash, with Telegram's file_id once known.

The bytes are a BLOB in the ``media`` table (migration 0004 says why not a file beside the
database). :func:`put` is idempotent: the same bytes queued for a group and three admins
are one row. After the first upload the sender records the ``file_id`` Telegram answered
(:func:`remember_file_id`), and every later send of those bytes names it instead of
uploading them again. A photo and a document of the same bytes are different files at
Telegram (a photo is recompressed), so each way of sending has its own ``file_id``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from storage.db import Database, Tx
from storage.timeutil import to_db

SendAs = Literal["photo", "document"]
_COLUMN: dict[str, str] = {"photo": "photo_file_id", "document": "document_file_id"}


@dataclass(frozen=True)
class StoredMedia:
    sha256: str
    mime_type: str
    filename: str
    size: int
    photo_file_id: str | None
    document_file_id: str | None
    data: bytes = field(repr=False)

    def file_id(self, send_as: SendAs) -> str | None:
        return self.photo_file_id if send_as == "photo" else self.document_file_id


def digest(data: bytes) -> str:
    """The key of ``data``: its SHA-256, hex."""
    return hashlib.sha256(data).hexdigest()


async def put(tx: Tx, now: datetime, data: bytes, mime_type: str, filename: str) -> str:
    """Store ``data`` unless the same bytes are stored already; return its hash.

    A second put of the same bytes changes nothing (the first name and type stay, and so
    does a file_id already learnt): it is the same file at Telegram.
    """
    sha = digest(data)
    await tx.execute(
        "INSERT INTO media (sha256, data, mime_type, filename, size, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING",
        (sha, data, mime_type, filename, len(data), to_db(now)),
    )
    return sha


async def exists(db: Database | Tx, sha256: str) -> bool:
    return bool(await db.fetchval("SELECT count(*) FROM media WHERE sha256 = ?", (sha256,)))


async def get(db: Database | Tx, sha256: str, *, with_data: bool = True) -> StoredMedia | None:
    """The stored media, or None; ``with_data=False`` leaves the bytes out (``data`` empty)."""
    data = "data" if with_data else "x'' AS data"
    row = await db.fetchone(
        f"SELECT sha256, {data}, mime_type, filename, size, photo_file_id, document_file_id"
        " FROM media WHERE sha256 = ?",
        (sha256,),
    )
    if row is None:
        return None
    return StoredMedia(
        sha256=row["sha256"],
        mime_type=row["mime_type"],
        filename=row["filename"],
        size=row["size"],
        photo_file_id=row["photo_file_id"],
        document_file_id=row["document_file_id"],
        data=bytes(row["data"]),
    )


async def file_id(db: Database | Tx, sha256: str, send_as: SendAs) -> str | None:
    """Telegram's file_id for these bytes sent this way, if one was learnt (bytes not read)."""
    value = await db.fetchval(f"SELECT {_COLUMN[send_as]} FROM media WHERE sha256 = ?", (sha256,))
    return None if value is None else str(value)


async def remember_file_id(tx: Tx, sha256: str, send_as: SendAs, file_id: str) -> None:
    """Record the file_id Telegram gave an upload; later sends of the bytes name it."""
    await tx.execute(f"UPDATE media SET {_COLUMN[send_as]} = ? WHERE sha256 = ?", (file_id, sha256))


async def forget_file_id(tx: Tx, sha256: str, send_as: SendAs) -> None:
    """Telegram no longer knows the file_id (another bot token): the next send uploads again."""
    await tx.execute(f"UPDATE media SET {_COLUMN[send_as]} = NULL WHERE sha256 = ?", (sha256,))
