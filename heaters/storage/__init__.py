"""Where media objects live: the ``Storage`` protocol and its backends."""

from typing import TYPE_CHECKING

from heaters.storage.base import Storage, presigned_url
from heaters.storage.factory import storage_from_url
from heaters.storage.local import LocalStorage

if TYPE_CHECKING:
    from heaters.storage.s3 import S3Storage

__all__ = ["LocalStorage", "S3Storage", "Storage", "presigned_url", "storage_from_url"]


def __getattr__(name: str) -> object:
    # S3Storage imports aiobotocore and aiohttp (~0.3 s): load them only when asked for.
    if name == "S3Storage":
        from heaters.storage.s3 import S3Storage

        return S3Storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
