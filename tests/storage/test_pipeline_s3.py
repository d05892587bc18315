"""The main job once against S3: ``heaters ingest VIDEO --wait --json`` with an ``s3://`` URL.

The ``heaters`` subprocess talks to moto's real S3 server (a thread of this test process) on
127.0.0.1; the bucket is then listed with a real aiobotocore client.
"""

from __future__ import annotations

import itertools
import re
import uuid
from pathlib import Path
from typing import Any

import av
import psycopg
import pytest

from heaters.storage import keys
from tests.conftest import decoded_frames, json_lines, run_heaters, run_to_detected
from tests.storage.conftest import AWS_ENV, BUCKET, REGION, MotoS3


async def _list(moto_s3: MotoS3, prefix: str) -> dict[str, int]:
    """Every object under ``prefix/``: key (without the prefix) → size in bytes."""
    from aiobotocore.session import get_session

    found: dict[str, int] = {}
    async with get_session().create_client(
        "s3", endpoint_url=moto_s3.url, region_name=REGION
    ) as client:
        async for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=f"{prefix}/"
        ):
            for obj in page.get("Contents", []):
                found[obj["Key"].removeprefix(f"{prefix}/")] = obj["Size"]
        uploads = await client.list_multipart_uploads(Bucket=BUCKET, Prefix=f"{prefix}/")
        assert uploads.get("Uploads", []) == [], "no unfinished multipart upload"
    return found


async def _download(moto_s3: MotoS3, key: str, dest: Path) -> Path:
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "s3", endpoint_url=moto_s3.url, region_name=REGION
    ) as client:
        resp = await client.get_object(Bucket=BUCKET, Key=key)
        async with resp["Body"] as body:
            dest.write_bytes(await body.read())
    return dest


async def test_main_job_on_s3(
    heaters_env: dict[str, str],
    moto_s3: MotoS3,
    s3_prefix: str,
    small_video: Path,
    tmp_path: Path,
) -> None:
    env = {
        **heaters_env,
        **AWS_ENV,
        "HEATERS_STORAGE_URL": f"s3://{BUCKET}/{s3_prefix}",
        "HEATERS_S3_ENDPOINT_URL": moto_s3.url,
    }
    proc = run_heaters(env, "ingest", str(small_video), "--wait", "--json")
    assert proc.returncode == 0, proc.stderr
    (video,) = json_lines(proc.stdout)
    assert video["state"] == "detected", video
    assert video["error"] is None
    assert video["frame_count"] == 192
    clips: list[dict[str, Any]] = video["clips"]  # type: ignore[assignment]
    assert len(clips) >= 2, "the 8 s excerpt holds hard cuts"
    assert clips[0]["start_frame"] == 0
    assert clips[-1]["end_frame"] == video["frame_count"]
    for a, b in itertools.pairwise(clips):
        assert a["end_frame"] == b["start_frame"], "no gap, no overlap"

    objects = await _list(moto_s3, s3_prefix)
    vid = video["id"]
    with psycopg.connect(heaters_env["DATABASE_URL"]) as conn:
        row = conn.execute(
            "SELECT original_path, master_path, proxy_path FROM source_videos WHERE id = %s", (vid,)
        ).fetchone()
    assert row is not None
    original_key, master_key, proxy_key = row
    assert master_key == original_key, "the original is the master"
    assert re.fullmatch(rf"videos/{vid}/original-[0-9a-f]{{12}}\.mp4", original_key)
    assert re.fullmatch(rf"videos/{vid}/proxy-[0-9a-f]{{12}}\.mp4", proxy_key)
    media = {k for k in objects if not k.startswith("clips/")}
    assert media == {original_key, proxy_key}, objects
    # Anything else can only be a clip's sprite (a later stage that may already have run).
    assert all(re.fullmatch(r"clips/\d+/sprite-[0-9a-f]{12}\.jpg", k) for k in set(objects) - media)
    assert objects[original_key] == small_video.stat().st_size

    # The stored proxy is the real all-I-frame H.264 file, read back from the bucket.
    proxy = await _download(moto_s3, f"{s3_prefix}/{proxy_key}", tmp_path / "p.mp4")
    with av.open(str(proxy)) as c:
        packets = [p for p in c.demux(c.streams.video[0]) if p.size]
        assert c.streams.video[0].codec_context.name == "h264"
        assert len(packets) == video["frame_count"]
        assert all(p.is_keyframe for p in packets)

    # Nothing went to the local disk: no local storage, no temp file left.
    home = Path(heaters_env["HEATERS_HOME"])
    assert not (home / "storage").exists()
    tmp = home / "tmp"
    assert not tmp.exists() or not any(p for p in tmp.rglob("*") if p.is_file())
    assert "Unclosed" not in proc.stderr, "the S3 client is closed when the runtime ends"


def _use_s3(monkeypatch: pytest.MonkeyPatch, moto_s3: MotoS3, s3_prefix: str, **extra: str) -> None:
    """Point this process's settings at the moto bucket (plus ``extra`` settings)."""
    from heaters.config import get_settings

    settings = {**AWS_ENV, "HEATERS_STORAGE_URL": f"s3://{BUCKET}/{s3_prefix}",
                "HEATERS_S3_ENDPOINT_URL": moto_s3.url, **extra}  # fmt: skip
    for k, v in settings.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()


async def _detected_clips(db: Any, rt: Any, video: Path) -> tuple[int, list[Any]]:
    """Submit ``video`` and run download, preprocess and detect; (video id, its clip rows)."""
    from heaters.pipeline.submit import submit

    vid = (await submit(db, str(video))).video_id
    await run_to_detected(rt, vid)
    async with db.acquire() as conn:
        clips = await conn.fetch(
            "SELECT * FROM clips WHERE source_video_id = $1 ORDER BY start_frame", vid
        )
    return vid, list(clips)


async def _clip_row(db: Any, clip_id: int) -> Any:
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM clips WHERE id = $1", clip_id)


async def test_after_review_on_s3_with_an_outage_mid_stage(
    heaters_env: dict[str, str],
    moto_s3: MotoS3,
    s3_prefix: str,
    small_video: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Export, keyframes, embeddings and archive on S3; S3 stops before an export: the stage
    fails with a clear, transient reason, nothing is lost, and the retry succeeds once the
    server is back."""
    pytest.importorskip("torch")
    from heaters import review
    from heaters.db import Database
    from heaters.pipeline import artifact_stages, clip_stages
    from heaters.pipeline.runtime import open_runtime

    _use_s3(monkeypatch, moto_s3, s3_prefix)
    async with Database.connect(heaters_env["DATABASE_URL"]) as db, open_runtime() as rt:
        vid, clips = await _detected_clips(db, rt, small_video)
        keep, gone = clips[0]["id"], clips[1]["id"]
        assert await artifact_stages.make_clip_sprite(rt, gone) == "done"  # an object to delete
        await review.decide(db, keep, "approve", "ann")
        await review.decide(db, gone, "archive", "ann")

        moto_s3.stop()  # the outage
        try:
            assert await clip_stages.export_clip(rt, keep) == "failed"
            row = await _clip_row(db, keep)
            assert row["state"] == "export_failed"
            assert row["last_error"].startswith("storage unavailable"), row["last_error"]
            assert row["next_attempt_at"] is not None, "transient: retried with backoff"
            assert await clip_stages.archive_clip(rt, gone) == "failed"
            assert (await _clip_row(db, gone))["state"] == "archive_failed"
        finally:
            moto_s3.start()
        before = await _list(moto_s3, s3_prefix)
        async with db.acquire() as conn:
            proxy_key = await conn.fetchval(
                "SELECT proxy_path FROM source_videos WHERE id = $1", vid
            )
        assert proxy_key in before, "nothing was lost"

        assert await clip_stages.export_clip(rt, keep) == "done"
        assert await clip_stages.extract_clip_keyframes(rt, keep) == "done"
        assert await clip_stages.embed_clip(rt, keep) == "done"
        assert await clip_stages.archive_clip(rt, gone) == "done"
        clip_key = (await _clip_row(db, keep))["clip_path"]
    objects = await _list(moto_s3, s3_prefix)
    assert re.fullmatch(rf"clips/{keep}/clip-[0-9a-f]{{12}}\.mp4", clip_key), clip_key
    assert sorted(k.removeprefix(f"clips/{keep}/") for k in objects if k.startswith(f"clips/{keep}/")) == [
        clip_key.removeprefix(f"clips/{keep}/"), "keyframes/percentage_p25.jpg", "keyframes/percentage_p50.jpg",
        "keyframes/percentage_p75.jpg", "keyframes/tag_first.jpg", "keyframes/tag_last.jpg",
        "keyframes/tag_mid.jpg",
    ]  # fmt: skip
    assert not any(k.startswith(f"clips/{gone}/") for k in objects)
    async with Database.connect(heaters_env["DATABASE_URL"]) as db:
        assert (await _clip_row(db, keep))["state"] == "embedded"
        assert (await _clip_row(db, gone))["state"] == "archived"
    home = Path(heaters_env["HEATERS_HOME"])
    assert not (home / "storage").exists(), "nothing on the local disk"


@pytest.mark.parametrize("mode", ["copy", "master"])
async def test_export_on_s3_reads_ranges_not_whole_files(
    heaters_env: dict[str, str], moto_s3: MotoS3, s3_prefix: str, small_video: Path,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str,
) -> None:  # fmt: skip
    """On S3, export hands FFmpeg a presigned URL of the proxy (copy) or master: it seeks by
    Range requests and nothing is downloaded whole; the clip still has exactly its frames.
    A source object that has gone is a permanent, named failure."""
    from heaters import review
    from heaters.db import Database
    from heaters.pipeline import clip_stages
    from heaters.pipeline.runtime import open_runtime

    _use_s3(monkeypatch, moto_s3, s3_prefix, HEATERS_EXPORT_MODE=mode,
            HEATERS_EXPORT_PRESET="veryfast")  # fmt: skip
    async with Database.connect(heaters_env["DATABASE_URL"]) as db, open_runtime() as rt:
        vid, clips = await _detected_clips(db, rt, small_video)
        async with db.acquire() as conn:
            video = await conn.fetchrow("SELECT * FROM source_videos WHERE id = $1", vid)
        # the original is the master
        source = Path(video["proxy_path" if mode == "copy" else "master_path"]).name
        last, other = clips[-1], clips[0]
        for c in (last, other):
            await review.decide(db, c["id"], "approve", "ann")

        fetched: list[str] = []
        get_file = rt.storage.get_file

        async def recording_get_file(key: str, local: Path) -> None:
            fetched.append(key)
            await get_file(key, local)

        monkeypatch.setattr(rt.storage, "get_file", recording_get_file)
        assert await clip_stages.export_clip(rt, last["id"]) == "done"
        assert not any(k.endswith(source) for k in fetched), fetched
        last_key = (await _clip_row(db, last["id"]))["clip_path"]

        original = await _download(moto_s3, f"{s3_prefix}/videos/{vid}/{source}",
                                   tmp_path / source)  # fmt: skip
        await rt.storage.delete_many([f"videos/{vid}/{source}"])
        assert await clip_stages.export_clip(rt, other["id"]) == "failed"
        async with db.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM clips WHERE id = $1", other["id"])
        assert row["state"] == "export_failed"
        assert row["last_error"] == f"videos/{vid}/{source} is missing from the storage"
        assert row["next_attempt_at"] is None, "permanent: waits for an operator"

        junk = tmp_path / "junk"
        junk.write_bytes(b"not a video at all\n" * 1000)
        await rt.storage.put_file(junk, f"videos/{vid}/{source}")
        assert await clip_stages.export_clip(rt, other["id"]) == "failed"
        async with db.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM clips WHERE id = $1", other["id"])
        assert row["state"] == "export_failed"
        assert f"videos/{vid}/{source}" in row["last_error"], row["last_error"]
        assert "http" not in row["last_error"], "the signed URL is never stored"

    n = last["end_frame"] - last["start_frame"]
    got = decoded_frames(await _download(moto_s3, f"{s3_prefix}/{last_key}",
                                        tmp_path / "clip.mp4"))  # fmt: skip
    assert len(got) == n
    assert not (Path(heaters_env["HEATERS_HOME"]) / "storage").exists()
    ref = decoded_frames(original, last["start_frame"], n)
    diff = max(abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(got, ref, strict=True))
    if mode == "copy":
        assert diff == 0.0, "stream copy: the very same frames"
    else:
        assert diff < 3.0, "re-encoded from the master: the same frames, lossy"


async def test_storage_class_per_kind(
    moto_s3: MotoS3, s3_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HEATERS_S3_STORAGE_CLASSES sends each kind's class with its upload (PutObject and
    multipart alike); kinds not named keep the bucket's default."""
    from aiobotocore.session import get_session

    from heaters.storage import storage_from_url
    from heaters.storage.keys import object_kind
    from heaters.storage.s3 import S3Storage

    assert [object_kind(k) for k in (
        "videos/3/original.mp4", "videos/3/master.mkv", "videos/3/proxy.mp4",
        "clips/9/clip.mp4", "clips/9/keyframes/tag_first.jpg", "clips/9/sprite.jpg",
        "datasets/x/shard-0.tar",
    )] == ["original", "master", "proxy", "clip", "keyframe", "sprite", "other"]  # fmt: skip
    # the keys a claim writes now carry its tag (heaters.storage.keys)
    tok = uuid.UUID(int=0xABC)
    assert [object_kind(k) for k in (
        keys.original_key(3, ".mp4", tok), keys.master_key(3, tok), keys.proxy_key(3, tok),
        keys.clip_key(9, tok), keys.sprite_key(9, tok),
    )] == ["original", "master", "proxy", "clip", "sprite"]  # fmt: skip
    with pytest.raises(ValueError, match="unknown object kinds"):
        S3Storage(BUCKET, storage_classes={"masters": "STANDARD_IA"})

    _use_s3(monkeypatch, moto_s3, s3_prefix,
            HEATERS_S3_STORAGE_CLASSES='{"original": "STANDARD_IA", "master": "GLACIER_IR"}')  # fmt: skip
    store = storage_from_url(f"s3://{BUCKET}/{s3_prefix}")
    assert isinstance(store, S3Storage)
    store.multipart_threshold = 6 * 1024 * 1024  # the master goes up in parts
    small, big = tmp_path / "small.bin", tmp_path / "big.bin"
    small.write_bytes(b"x" * 1000)
    big.write_bytes(b"y" * (7 * 1024 * 1024))
    try:
        await store.put_file(small, "videos/1/original.mp4")
        await store.put_file(big, "videos/1/master.mkv")
        await store.put_file(small, "videos/1/proxy.mp4")
    finally:
        await store.aclose()
    async with get_session().create_client(
        "s3", endpoint_url=moto_s3.url, region_name=REGION
    ) as client:
        classes = {
            name: (await client.head_object(Bucket=BUCKET, Key=f"{s3_prefix}/videos/1/{name}")).get(
                "StorageClass", "STANDARD"
            )
            for name in ("original.mp4", "master.mkv", "proxy.mp4")
        }
    assert classes == {
        "original.mp4": "STANDARD_IA", "master.mkv": "GLACIER_IR", "proxy.mp4": "STANDARD"
    }  # fmt: skip
