"""Reading stored objects in a stage: a local file, or a URL FFmpeg can seek into.

Used by every stage that reads media; a storage error is raised as the storage's own
(transient when the server cannot be reached) ``StorageError``.
"""

from __future__ import annotations

from pathlib import Path

from heaters.pipeline.runtime import Runtime


async def local_copy(rt: Runtime, key: str, tmp: Path) -> Path:
    """A local file with the object ``key``: the storage's own file when it is on this disk,
    else a download into ``tmp``."""
    local = rt.storage.local_path(key)
    if local is not None and local.exists():
        return local
    dest = tmp / Path(key).name
    await rt.storage.get_file(key, dest)
    return dest


MEDIA_URL_SECONDS = 3600
"""Lifetime of the presigned URLs a stage hands to FFmpeg (far longer than one clip's job)."""


async def media_source(rt: Runtime, key: str, tmp: Path) -> Path | str:
    """Where FFmpeg should read the object ``key`` for a job that seeks into it.

    The storage's own file when it is on this disk; else a presigned http(s) URL when the
    backend signs them (S3), so FFmpeg fetches only the byte ranges it seeks to; else a
    download into ``tmp`` (:func:`local_copy`).
    """
    from heaters.storage.base import presigned_url

    local = rt.storage.local_path(key)
    if local is not None and local.exists():
        return local
    url = await presigned_url(rt.storage, key, expires_seconds=MEDIA_URL_SECONDS)
    return url if url is not None else await local_copy(rt, key, tmp)


async def check_source(rt: Runtime, key: str) -> None:
    """After reading ``key`` over the network failed: tell a storage outage or a missing
    object (raise :class:`StorageError`) from bad media (return; the caller re-raises).

    One ``exists`` request: it raises the backend's own transient "storage unavailable" error
    when the server cannot be reached.
    """
    from heaters.errors import StorageError

    if not await rt.storage.exists(key):
        raise StorageError(f"{key} is missing from the storage", transient=False) from None
