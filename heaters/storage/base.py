"""The ``Storage`` protocol: every stage reads and writes media through it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from heaters.errors import ConfigError


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

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Delete objects; a missing one is not an error. Raises StorageError on failure."""
        ...


def storage_from_url(url: str) -> Storage:
    """The backend for a storage URL: ``file:///abs/path`` (more schemes come with S3).

    Raises ConfigError for an unknown scheme.
    """
    if url.startswith("file://"):
        from heaters.storage.local import LocalStorage

        return LocalStorage(Path(url.removeprefix("file://")))
    raise ConfigError(f"unsupported storage URL {url!r} (expected file:///path)")
