"""Where media objects live: the ``Storage`` protocol and its backends."""

from heaters.storage.base import Storage, storage_from_url
from heaters.storage.local import LocalStorage

__all__ = ["LocalStorage", "Storage", "storage_from_url"]
