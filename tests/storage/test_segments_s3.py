"""Segmented preprocess against S3 (moto): the segment jobs read the original by byte ranges
of a presigned URL and store their pieces in the bucket; the join downloads them; only the
original and the proxy remain."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tests.conftest import SAMPLE, ffmpeg, json_lines, run_heaters
from tests.storage.conftest import AWS_ENV, BUCKET, MotoS3
from tests.storage.test_pipeline_s3 import _list


@pytest.fixture
def keyed_video(tmp_path: Path) -> Path:
    """A 4 s 320x180 H.264/AAC cut of the sample with a keyframe every 12 frames."""
    out = tmp_path / "keyed.mp4"
    ffmpeg("-ss", "20", "-i", str(SAMPLE), "-t", "4", "-vf", "scale=320:180",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
           "-x264-params", "keyint=12:min-keyint=12:scenecut=0",
           "-c:a", "aac", "-b:a", "64k", str(out))  # fmt: skip
    return out


async def test_segmented_preprocess_on_s3(
    heaters_env: dict[str, str], moto_s3: MotoS3, s3_prefix: str, keyed_video: Path
) -> None:
    env = {
        **heaters_env,
        **AWS_ENV,
        "HEATERS_STORAGE_URL": f"s3://{BUCKET}/{s3_prefix}",
        "HEATERS_S3_ENDPOINT_URL": moto_s3.url,
        "HEATERS_SEGMENT_SECONDS": "1.5",
    }
    proc = run_heaters(env, "ingest", str(keyed_video), "--wait", "--json")
    assert proc.returncode == 0, proc.stderr
    (video,) = json_lines(proc.stdout)
    assert video["state"] == "detected", video
    with av.open(str(keyed_video)) as c:
        assert video["frame_count"] == sum(1 for _ in c.decode(video=0))

    import psycopg

    with psycopg.connect(heaters_env["DATABASE_URL"]) as conn:
        runs = conn.execute(
            "SELECT count(*) FROM stage_runs WHERE stage = 'preprocess_segment'"
            " AND outcome = 'done'"
        ).fetchone()
        left = conn.execute("SELECT count(*) FROM video_segments").fetchone()
        named = conn.execute(
            "SELECT original_path, proxy_path FROM source_videos WHERE id = %s", (video["id"],)
        ).fetchone()
    assert runs == (3,), "ceil(4 s / 1.5 s) segments, each encoded by its own job"
    assert left == (0,)
    objects = await _list(moto_s3, s3_prefix)
    vid = video["id"]
    assert named is not None and named[1].startswith(f"videos/{vid}/proxy-"), named
    assert {k for k in objects if not k.startswith("clips/")} == set(named), (
        "the segment pieces are deleted after the join"
    )
    home = Path(heaters_env["HEATERS_HOME"])
    assert not (home / "storage").exists(), "nothing went to a local storage"
