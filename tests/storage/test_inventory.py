"""heaters.storage.inventory.list_objects on both backends (the local folder, moto's S3):
the objects under a prefix with their sizes and times, nothing of other prefixes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from heaters.storage.inventory import StoredObject, list_objects
from tests.storage.conftest import Lister


async def test_list_objects_under_a_prefix(backend: tuple[Any, Lister], tmp_path: Path) -> None:
    storage, _ = backend
    sizes = {"videos/1/proxy-0123456789ab.mp4": 10, "videos/1/segments/00000-0123456789ab.rgb": 3,
             "videos/10/original-ba9876543210.mp4": 7, "clips/2/clip.mp4": 5,
             "datasets/x/dataset.json": 1}  # fmt: skip
    for key, size in sizes.items():
        local = tmp_path / "f"
        local.write_bytes(b"x" * size)
        await storage.put_file(local, key)
    before = datetime.now(UTC) - timedelta(minutes=5)
    found = await list_objects(storage, "videos/")
    assert [(o.key, o.size) for o in found] == sorted(
        (k, s) for k, s in sizes.items() if k.startswith("videos/")
    )
    assert all(isinstance(o, StoredObject) and o.modified > before for o in found)
    assert [o.key for o in await list_objects(storage, "clips/")] == ["clips/2/clip.mp4"]
    assert await list_objects(storage, "uploads/") == []
