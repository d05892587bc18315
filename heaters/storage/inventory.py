"""What a storage holds under a prefix: keys, sizes and times (for reconciliation).

:func:`list_objects` walks the files of a :class:`~heaters.storage.local.LocalStorage`
(temporary ``.part`` files of writes in flight or killed included: they are objects no row
names too) or pages through ``ListObjectsV2`` of an
:class:`~heaters.storage.s3.S3Storage`, under its prefix.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from heaters.errors import StorageError
from heaters.storage.base import Storage

if TYPE_CHECKING:
    from heaters.storage.s3 import S3Storage

MANAGED_PREFIXES = ("videos/", "clips/", "uploads/")
"""The prefixes Heaters writes its objects under (:mod:`heaters.storage.keys`); other keys
in the same bucket or folder (a dataset target, someone else's files) are not its own."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One object: its key, size in bytes and last modification time (UTC)."""

    key: str
    size: int
    modified: datetime


async def list_objects(storage: Storage, prefix: str) -> list[StoredObject]:
    """Every object under ``prefix`` (a key prefix ending in ``/``), sorted by key.

    Raises
    ------
    StorageError
        The backend cannot be listed (an S3 error, an unreadable folder), or is of a kind
        this function does not know.
    """
    from heaters.storage.local import LocalStorage
    from heaters.storage.s3 import S3Storage

    if isinstance(storage, LocalStorage):
        found = await asyncio.to_thread(_walk, storage.root, prefix)
    elif isinstance(storage, S3Storage):
        found = await _list_s3(storage, prefix)
    else:
        raise StorageError(f"cannot list the objects of {storage.url}", transient=False)
    return sorted(found, key=lambda o: o.key)


def _walk(root: Path, prefix: str) -> list[StoredObject]:
    top = root / prefix
    found: list[StoredObject] = []
    try:
        for folder, _, files in os.walk(top, onerror=_raise):
            for name in files:
                path = Path(folder) / name
                try:
                    st = path.stat()
                except FileNotFoundError:  # deleted meanwhile
                    continue
                key = path.relative_to(root).as_posix()
                found.append(
                    StoredObject(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))
                )
    except OSError as exc:
        raise StorageError(f"cannot list {top}: {exc.strerror or exc}") from exc
    return found


def _raise(exc: OSError) -> None:
    if not isinstance(exc, FileNotFoundError):  # an absent prefix holds nothing
        raise exc


async def _list_s3(storage: S3Storage, prefix: str) -> list[StoredObject]:
    base = f"{storage.prefix}/" if storage.prefix else ""
    client = await storage.client()
    found: list[StoredObject] = []
    try:
        paginator = client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=storage.bucket, Prefix=base + prefix):
            for item in page.get("Contents", ()):
                key = item["Key"].removeprefix(base)
                found.append(StoredObject(key, item["Size"], item["LastModified"]))
    except Exception as exc:  # botocore raises many types; one line names the bucket
        raise StorageError(f"cannot list {storage.url}/{prefix}: {exc}", transient=True) from exc
    return found


__all__ = ["MANAGED_PREFIXES", "StoredObject", "list_objects"]
