"""``LocalStorage``: objects are files under one root folder (the default backend)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from heaters.errors import StorageError
from heaters.media.files import written_whole


class LocalStorage:
    """Objects stored as files under ``root``; writes go to a temp name, then ``os.replace``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise StorageError(f"storage key escapes the storage root: {key!r}", transient=False)
        return path

    def local_path(self, key: str) -> Path | None:
        """The file of ``key`` (it may not exist)."""
        return self._path(key)

    async def put_file(self, local: Path, key: str, *, move: bool = False) -> None:
        """Store ``local`` under ``key`` atomically (rename when ``move`` and on one disk)."""
        dest = self._path(key)

        def _put() -> None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if move:
                try:
                    os.replace(local, dest)
                    return
                except OSError:
                    pass
            with written_whole(dest, unique=True) as part:
                shutil.copyfile(local, part)

        try:
            await asyncio.to_thread(_put)
        except OSError as exc:
            raise StorageError(f"cannot write {key} to {self.root}: {exc.strerror}") from exc

    async def get_file(self, key: str, local: Path) -> None:
        """Copy ``key`` to ``local``."""
        src = self._path(key)
        try:
            await asyncio.to_thread(shutil.copyfile, src, local)
        except FileNotFoundError as exc:
            raise StorageError(f"object not found in storage: {key}", transient=False) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror}") from exc

    async def copy(self, src_key: str, dest_key: str) -> None:
        """Store ``src_key`` also under ``dest_key``: a hard link (no bytes copied) to a temp
        name, then ``os.replace``; a byte copy where links are not possible.

        Objects are never changed in place (every write is a new file renamed over the old),
        so the two keys sharing one file is safe: deleting either leaves the other whole.
        """
        src, dest = self._path(src_key), self._path(dest_key)

        def _copy() -> None:
            if not src.is_file():
                raise FileNotFoundError(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with written_whole(dest, unique=True) as part:
                try:
                    os.link(src, part)
                except OSError as exc:
                    if isinstance(exc, FileNotFoundError):
                        raise
                    shutil.copyfile(src, part)

        try:
            await asyncio.to_thread(_copy)
        except FileNotFoundError as exc:
            raise StorageError(f"object not found in storage: {src_key}", transient=False) from exc
        except OSError as exc:
            raise StorageError(
                f"cannot copy {src_key} to {dest_key} in {self.root}: {exc.strerror}"
            ) from exc

    async def exists(self, key: str) -> bool:
        """True when the file of ``key`` exists."""
        return self._path(key).is_file()

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Delete files; missing ones are skipped."""

        def _delete() -> None:
            for key in keys:
                self._path(key).unlink(missing_ok=True)

        try:
            await asyncio.to_thread(_delete)
        except OSError as exc:
            raise StorageError(f"cannot delete from {self.root}: {exc.strerror}") from exc
