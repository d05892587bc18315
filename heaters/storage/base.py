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


OBJECT_KINDS = ("original", "master", "proxy", "clip", "keyframe", "sprite", "other")
"""Kinds of stored objects, for per-kind settings such as the S3 storage class."""


def object_kind(key: str) -> str:
    """The kind of the object ``key`` (one of :data:`OBJECT_KINDS`), from Heaters' key
    layout: ``videos/{id}/original.*`` → ``original`` (the master too, by default),
    ``videos/{id}/master.mkv`` → ``master`` (an FFV1 master), ``videos/{id}/proxy.mp4`` →
    ``proxy``, ``clips/{id}/clip.mp4`` → ``clip``, ``clips/{id}/keyframes/…`` → ``keyframe``,
    ``clips/{id}/sprite.jpg`` → ``sprite``, each also with the claim's tag before the
    suffix (``proxy-1a2b3c4d5e6f.mp4``, :mod:`heaters.pipeline.keys`); anything else →
    ``other``."""
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == "videos":
        name = parts[2]
        if name.startswith("original"):
            return "original"
        if name.startswith("master"):
            return "master"
        if name.startswith("proxy"):
            return "proxy"
    if len(parts) >= 3 and parts[0] == "clips":
        if parts[2].startswith("clip"):  # clip.mp4, or clip-<claim>.mp4
            return "clip"
        if parts[2] == "keyframes":
            return "keyframe"
        if parts[2].startswith("sprite"):
            return "sprite"
    return "other"


async def presigned_url(storage: Storage, key: str, *, expires_seconds: int) -> str | None:
    """A URL that GETs ``key`` (Range requests too) for ``expires_seconds``, when the backend
    can sign one (``S3Storage``), else None. Makes no request."""
    presign = getattr(storage, "presigned_url", None)
    if presign is None:
        return None
    url: str = await presign(key, expires_seconds=expires_seconds)
    return url


def storage_from_url(
    url: str, *, endpoint_url: str | None = None, region: str | None = None
) -> Storage:
    """The backend for a storage URL.

    Parameters
    ----------
    url:
        ``file:///abs/path`` (``LocalStorage``) or ``s3://bucket[/prefix]`` (``S3Storage``).
    endpoint_url, region:
        S3 only: an S3-compatible server's URL and the region; None falls back to the
        settings ``HEATERS_S3_ENDPOINT_URL`` / ``HEATERS_S3_REGION`` (unset: AWS and
        botocore's default region). Credentials come from botocore's chain
        (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile, an instance role).

    Returns
    -------
    Storage
        The backend (an ``S3Storage`` opens its client on first use).

    Raises
    ------
    ConfigError
        For an unknown scheme or an ``s3://`` URL without a bucket.
    """
    if url.startswith("file://"):
        from heaters.storage.local import LocalStorage

        return LocalStorage(Path(url.removeprefix("file://")))
    if url.startswith("s3://"):
        from heaters.config import get_settings
        from heaters.storage.s3 import S3Storage

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ConfigError(f"storage URL {url!r} names no bucket (expected s3://bucket/prefix)")
        settings = get_settings()
        endpoint_url = endpoint_url or settings.s3_endpoint_url
        region = region or settings.s3_region
        return S3Storage(
            bucket,
            prefix,
            endpoint_url=endpoint_url,
            region=region,
            storage_classes=settings.s3_storage_classes,
        )
    raise ConfigError(
        f"unsupported storage URL {url!r} (expected file:///path or s3://bucket/prefix)"
    )
