"""The main job once against S3: ``heaters ingest VIDEO --wait --json`` with an ``s3://`` URL.

The ``heaters`` subprocess talks to moto's real S3 server (a thread of this test process) on
127.0.0.1; the bucket is then listed with a real aiobotocore client.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import av

from tests.conftest import json_lines, run_heaters
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
    media = {k for k in objects if not k.startswith("clips/")}
    assert media == {
        f"videos/{vid}/original.mp4",
        f"videos/{vid}/master.mkv",
        f"videos/{vid}/proxy.mp4",
    }, objects
    # Anything else can only be a clip's sprite (a later stage that may already have run).
    assert all(k.startswith("clips/") and k.endswith("/sprite.jpg") for k in set(objects) - media)
    assert objects[f"videos/{vid}/original.mp4"] == small_video.stat().st_size

    # The stored proxy is the real all-I-frame H.264 file, read back from the bucket.
    proxy = await _download(moto_s3, f"{s3_prefix}/videos/{vid}/proxy.mp4", tmp_path / "p.mp4")
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
