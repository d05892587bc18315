"""The storage backend a URL names (``file://`` or ``s3://``)."""

from __future__ import annotations

from pathlib import Path

from heaters.errors import ConfigError
from heaters.storage.base import Storage


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
