"""``Storage.copy``: a copy inside the backend (a hard link on one disk, S3's server-side copy,
in parts past S3's single-copy limit), whole under the new key; the source stays; a missing
source is a permanent "object not found"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from heaters.errors import StorageError
from tests.storage.conftest import Lister


async def test_copy_stores_the_object_under_a_second_key(
    backend: tuple[Any, Lister], tmp_path: Path
) -> None:
    storage, listing = backend
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc" * 1000)
    await storage.put_file(src, "uploads/u_1.mp4")
    await storage.copy("uploads/u_1.mp4", "videos/1/original.mp4")
    assert await listing() == {"uploads/u_1.mp4", "videos/1/original.mp4"}
    back = tmp_path / "back.bin"
    await storage.get_file("videos/1/original.mp4", back)
    assert back.read_bytes() == src.read_bytes()

    # Deleting the source leaves the copy whole; copying again replaces the copy.
    await storage.delete_many(["uploads/u_1.mp4"])
    await storage.get_file("videos/1/original.mp4", back)
    assert back.read_bytes() == src.read_bytes()
    src.write_bytes(b"other")
    await storage.put_file(src, "uploads/u_2.mp4")
    await storage.copy("uploads/u_2.mp4", "videos/1/original.mp4")
    await storage.get_file("videos/1/original.mp4", back)
    assert back.read_bytes() == b"other"
    assert await listing() == {"uploads/u_2.mp4", "videos/1/original.mp4"}

    with pytest.raises(StorageError, match="object not found in storage: uploads/gone") as err:
        await storage.copy("uploads/gone.mp4", "videos/2/original.mp4")
    assert err.value.transient is False
    assert await listing() == {"uploads/u_2.mp4", "videos/1/original.mp4"}


async def test_local_copy_is_a_hard_link(tmp_path: Path) -> None:
    from heaters.storage.local import LocalStorage

    storage = LocalStorage(tmp_path / "root")
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 4096)
    await storage.put_file(src, "uploads/a.mp4")
    await storage.copy("uploads/a.mp4", "videos/1/original.mp4")
    a = storage.local_path("uploads/a.mp4")
    b = storage.local_path("videos/1/original.mp4")
    assert a is not None and b is not None
    assert a.stat().st_ino == b.stat().st_ino, "no bytes copied on one disk"


async def test_s3_copy_in_parts_past_the_single_copy_limit(s3_storage: Any, tmp_path: Path) -> None:
    from tests.storage.conftest import BUCKET

    mib = 1024 * 1024
    src = tmp_path / "big.bin"
    src.write_bytes(bytes(range(256)) * (12 * mib // 256) + b"tail")
    await s3_storage.put_file(src, "uploads/big.mp4")
    s3_storage.max_copy_size = s3_storage.copy_part_size = 5 * mib  # 3 parts of 5 MiB
    await s3_storage.copy("uploads/big.mp4", "videos/7/original.mp4")
    back = tmp_path / "back.bin"
    await s3_storage.get_file("videos/7/original.mp4", back)
    assert back.read_bytes() == src.read_bytes()
    client = await s3_storage.client()
    head = await client.head_object(Bucket=BUCKET, Key=f"{s3_storage.prefix}/videos/7/original.mp4")
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]
    uploads = await client.list_multipart_uploads(Bucket=BUCKET, Prefix=f"{s3_storage.prefix}/")
    assert uploads.get("Uploads", []) == [], "no multipart upload left open"
