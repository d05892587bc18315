"""``heaters db reconcile-storage`` (issue 20, item 4): objects no row names are found, and
with --delete removed once older than the grace period (never a stage's object at work);
rows whose objects are gone are listed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit
from tests.conftest import run_heaters, run_to_detected

HOUR = 3600


def _plant(root: Path, key: str, *, age: float) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 100)
    then = time.time() - age
    os.utime(path, (then, then))


@pytest.mark.slow  # a pipeline run, then the reconcile (~5 s)
async def test_orphans_found_and_removed_missing_objects_listed(
    db: Any, heaters_env: dict[str, str], other_video: Path
) -> None:
    root = Path(heaters_env["HEATERS_HOME"]) / "storage"
    vid = gone = (await submit(db, str(other_video))).video_id
    async with open_runtime() as rt:
        await run_to_detected(rt, vid)
    async with db.acquire() as conn:
        token = await conn.fetchval("SELECT claim_token FROM source_videos WHERE id=$1", vid)
        proxy = await conn.fetchval("SELECT proxy_path FROM source_videos WHERE id=$1", gone)
    (root / proxy).unlink()  # a named object lost
    async with db.acquire() as conn:  # as if uploaded: the upload is gone once downloaded
        await conn.execute(
            "UPDATE source_videos SET source_key = 'uploads/00000000000000000000000000000000_a.mp4'"
            " WHERE id = $1", vid,
        )  # fmt: skip

    old = [  # what dead workers left: a put before a commit that never came, a killed write
        f"videos/{vid}/proxy-0123456789ab.mp4",
        f"videos/{vid}/segments/00001-0123456789ab.rgb",
        f"videos/{vid}/.original-0123456789ab.mp4.1f2e.part",
        "clips/999/clip-ba9876543210.mp4",
        "uploads/0123456789abcdef0123456789abcdef_lost.mp4",
    ]
    young = f"videos/{vid}/proxy-aaaaaaaaaaaa.mp4"  # may be a commit about to come
    at_work = f"videos/{vid}/master-{token.hex[:12]}.mkv"  # the item's current claim's tag
    for key in old:
        _plant(root, key, age=2 * HOUR)
    _plant(root, young, age=60)
    _plant(root, at_work, age=2 * HOUR)

    found = run_heaters(heaters_env, "db", "reconcile-storage", "--json")
    assert found.returncode == 1, found.stderr
    report = json.loads(found.stdout)
    assert sorted(o["key"] for o in report["orphans"]) == sorted([*old, young, at_work])
    assert report["orphan_bytes"] == 700 and report["deleted"] == 0
    assert [o["key"] for o in report["orphans"] if o["in_flight"]] == [at_work]
    assert report["missing"] == [
        {"kind": "video", "id": gone, "column": "proxy_path", "key": proxy}
    ]

    deleted = run_heaters(heaters_env, "db", "reconcile-storage", "--delete")
    assert deleted.returncode == 1, deleted.stderr  # the young orphan and the missing proxy
    lines = deleted.stdout.splitlines()
    assert lines[0].endswith("7 orphans (700 bytes), 5 deleted, 2 kept; 1 missing"), lines
    assert f"kept: a stage at work: {at_work}" in deleted.stdout
    assert f"missing: {proxy} (video {gone}, proxy_path)" in deleted.stdout
    assert not any((root / key).exists() for key in old)
    assert (root / young).exists() and (root / at_work).exists()
    # the committed objects are untouched
    async with db.acquire() as conn:
        original = await conn.fetchval("SELECT original_path FROM source_videos WHERE id=$1", vid)
    assert (root / original).is_file()

    later = run_heaters(heaters_env, "db", "reconcile-storage", "--delete", "--older-than", "0s")
    assert f"deleted: {young}" in later.stdout and (root / at_work).exists()


async def test_the_periodic_check_records_its_counts_for_metrics(
    db: Any, heaters_env: dict[str, str], monkeypatch: Any
) -> None:
    """HEATERS_STORAGE_CHECK_EVERY: the workers' check runs when due, only reports (the
    orphan stays), stores its counts, and /metrics' collector renders the last one; 0: off."""
    from prometheus_client import CollectorRegistry, generate_latest

    from heaters.config import get_settings
    from heaters.pipeline.reconcile import periodic_storage_check
    from web.storage_metrics import storage_check_collector

    root = Path(heaters_env["HEATERS_HOME"]) / "storage"
    orphan = "clips/7/clip-0123456789ab.mp4"
    _plant(root, orphan, age=2 * HOUR)

    async def render() -> str:
        registry = CollectorRegistry()
        registry.register(await storage_check_collector(db))
        return generate_latest(registry).decode()

    assert "heaters_storage" not in await render()  # no check yet: no gauge
    monkeypatch.setenv("HEATERS_STORAGE_CHECK_EVERY", "0")
    get_settings.cache_clear()
    async with open_runtime() as rt:
        assert await periodic_storage_check(rt.db, rt.storage, get_settings()) is None  # off
        monkeypatch.setenv("HEATERS_STORAGE_CHECK_EVERY", "3600")
        get_settings.cache_clear()
        report = await periodic_storage_check(rt.db, rt.storage, get_settings())
        assert report is not None and [o.key for o in report.orphans] == [orphan]
        assert report.deleted == [] and (root / orphan).exists()  # a report, nothing deleted
        assert await periodic_storage_check(rt.db, rt.storage, get_settings()) is None  # not due
    get_settings.cache_clear()
    text = await render()
    assert "heaters_storage_orphans 1.0" in text
    assert "heaters_storage_orphan_bytes 100.0" in text
    assert "heaters_storage_missing 0.0" in text
    assert "heaters_storage_orphans_deleted 0.0" in text
