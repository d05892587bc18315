"""The ``Storage`` protocol: every stage reads and writes media through it.

Backends: :mod:`heaters.storage.local`, :mod:`heaters.storage.s3`; the one a URL names:
:func:`heaters.storage.factory.storage_from_url`; the key layout: :mod:`heaters.storage.keys`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Storage(Protocol):
    """An object store addressed by keys such as ``videos/12/proxy.mp4``.

    Writes are atomic: an object is either absent or complete under its key, so a stage killed
    mid-write leaves no half object, and writing the same key again replaces it (no
    duplicates).
    """

    url: str

    async def put_file(self, local: Path, key: str, *, move: bool = False) -> None:
        """Store the file ``local`` under ``key`` (``move`` lets the backend consume it).

        Raises StorageError if the backend cannot write.
        """
        ...

    async def get_file(self, key: str, local: Path) -> None:
        """Copy the object ``key`` to the file ``local``. Raises StorageError if missing."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A path on this machine's disk that holds ``key``, when the backend has one."""
        ...

    async def exists(self, key: str) -> bool:
        """True when an object is stored under ``key``."""
        ...

    async def copy(self, src_key: str, dest_key: str) -> None:
        """Store the object ``src_key`` also under ``dest_key``, inside the backend (no bytes
        through this machine: a hard link on one disk, S3's server-side copy).

        Atomic like a write: ``dest_key`` appears whole or not at all, replacing an older
        object. Raises StorageError ("object not found in storage: KEY", permanent) if
        ``src_key`` is missing, or if the backend cannot copy.
        """
        ...

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Delete objects; a missing one is not an error. Raises StorageError on failure."""
        ...


async def presigned_url(storage: Storage, key: str, *, expires_seconds: int) -> str | None:
    """A URL that GETs ``key`` (Range requests too) for ``expires_seconds``, when the backend
    can sign one (``S3Storage``), else None. Makes no request."""
    presign = getattr(storage, "presigned_url", None)
    if presign is None:
        return None
    url: str = await presign(key, expires_seconds=expires_seconds)
    return url
