"""Segmented preprocess (issue 13, part 4): a long video's keyframe-aligned segments are
encoded by separate jobs (any worker), joined without re-encoding, and the result is the
one-pass preprocess's; a segment job killed mid-way resumes on its own."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np
import psycopg
import pytest

from tests.conftest import REPO, SAMPLE, ffmpeg, heaters_cmd, json_lines, run_heaters, wait_for

SEGMENT_SECONDS = "1.5"


@pytest.fixture(scope="session")
def keyed_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 6 s, 320x180, 24 fps H.264/AAC cut of the sample with a keyframe every 12
    frames (0.5 s) and B-frames, so it splits into several keyframe-aligned segments."""
    out = tmp_path_factory.mktemp("videos") / "bbb_6s_keyed.mp4"
    ffmpeg("-ss", "20", "-i", str(SAMPLE), "-t", "6", "-vf", "scale=320:180",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-bf", "2",
           "-x264-params", "keyint=12:min-keyint=12:scenecut=0",
           "-c:a", "aac", "-b:a", "64k", str(out))  # fmt: skip
    return out


def _frame_count(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


async def test_segmented_preprocess_equals_one_pass(
    db: Any, keyed_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from heaters.config import get_settings
    from heaters.media import scenes
    from heaters.media.preprocess import preprocess
    from heaters.pipeline import preprocess_stages, video_stages
    from heaters.pipeline.dispatcher import dispatch
    from heaters.pipeline.runtime import open_runtime
    from heaters.pipeline.stages import Stage
    from heaters.pipeline.submit import submit

    monkeypatch.setenv("HEATERS_SEGMENT_SECONDS", SEGMENT_SECONDS)
    get_settings.cache_clear()
    one = await preprocess(
        keyed_video, tmp_path / "m.mkv", tmp_path / "one.mp4",
        small_frames=tmp_path / "one.rgb", small_size=scenes.ANALYSIS_SIZE,
    )  # fmt: skip

    deferred: list[tuple[str, int]] = []

    async def defer(stage: Stage, item_id: int) -> bool:
        deferred.append((stage.name, item_id))
        return True

    vid = (await submit(db, str(keyed_video))).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "done"
        assert await preprocess_stages.preprocess_video(rt, vid) == "done"
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT state FROM source_videos") == "segmenting"
            segs = await conn.fetch("SELECT * FROM video_segments ORDER BY index")
        assert len(segs) == 4  # ceil(6 s / 1.5 s)
        assert [s["first_frame"] for s in segs] == [0, 36, 72, 108]  # keyframes every 12
        assert sum(s["frame_count"] for s in segs) == one.frame_count

        # The dispatcher finds every segment and no join yet (workers never enqueue).
        await dispatch(rt.db, defer)
        seg_jobs = [i for name, i in deferred if name == "preprocess_segment"]
        assert sorted(seg_jobs) == sorted(s["id"] for s in segs)
        assert not [i for name, i in deferred if name == "join"]

        # Two at a time, as two workers would; a second run of an encoded one is a no-op.
        results = await asyncio.gather(
            *(preprocess_stages.encode_video_segment(rt, i) for i in seg_jobs)
        )
        assert results == ["done"] * 4
        assert await preprocess_stages.encode_video_segment(rt, seg_jobs[0]) == "noop"

        deferred.clear()
        await dispatch(rt.db, defer)
        assert ("join", vid) in deferred
        assert await preprocess_stages.join_video_segments(rt, vid) == "done"
        assert await video_stages.detect_video(rt, vid) == "done"

        async with db.acquire() as conn:
            v = await conn.fetchrow("SELECT * FROM source_videos")
            index = await conn.fetchrow("SELECT * FROM frame_indexes")
            left = await conn.fetchval("SELECT count(*) FROM video_segments")
            clips = await conn.fetch("SELECT start_frame, end_frame FROM clips ORDER BY 1")
        proxy = rt.storage.local_path(v["proxy_path"])
        home = Path(os.environ["HEATERS_HOME"])

    assert v["state"] == "detected"
    assert left == 0, "the segment rows go with the join's commit"
    assert v["frame_count"] == one.frame_count
    assert v["master_kind"] == "original" and v["master_path"] == v["original_path"]
    assert v["has_audio"] is True and v["duration_seconds"] == pytest.approx(
        one.duration_seconds, abs=1e-3
    )
    assert (v["fps_num"], v["fps_den"]) == (one.fps.numerator, one.fps.denominator)
    assert list(index["pts_seconds"]) == pytest.approx(list(one.frame_index.pts_seconds), abs=1e-6)
    assert clips[0]["start_frame"] == 0 and clips[-1]["end_frame"] == one.frame_count

    assert proxy is not None
    # Frame k of the joined proxy is frame k of the source, as faithfully as the one-pass
    # proxy's (x264's rate control restarts at each segment, so the bits differ: on this
    # file the joined frames are never worse; 1 dB of slack for the encoder's choices).
    joined, single, source = _frames(proxy), _frames(tmp_path / "one.mp4"), _frames(keyed_video)
    assert len(joined) == len(single) == len(source) == one.frame_count
    for k, (j, o, src) in enumerate(zip(joined, single, source, strict=True)):
        assert _psnr(j, src) >= _psnr(o, src) - 1.0, f"frame {k} of the joined proxy"
    with av.open(str(proxy)) as c:
        assert c.streams.audio, "the joined proxy has the audio"
        assert all(p.is_keyframe for p in c.demux(video=0) if p.size)

    stored = sorted(
        str(p.relative_to(home / "storage")) for p in (home / "storage").rglob("*") if p.is_file()
    )
    assert stored == sorted([v["original_path"], v["proxy_path"]]), "the objects the row names"
    assert re.fullmatch(rf"videos/{vid}/original-[0-9a-f]{{12}}\.mp4", v["original_path"])
    assert re.fullmatch(rf"videos/{vid}/proxy-[0-9a-f]{{12}}\.mp4", v["proxy_path"])
    assert not (home / "storage" / "videos" / str(vid) / "segments").exists()


def _query(url: str, sql: str) -> list[Any]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def _worker(env: dict[str, str], log: Path, **extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        heaters_cmd("worker", "-v"),
        env={**env, "HEATERS_SEGMENT_SECONDS": SEGMENT_SECONDS,
             "HEATERS_WORKER_CONCURRENCY": "1", "HEATERS_PROCESS_POOL_SIZE": "1", **extra},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )  # fmt: skip


def test_two_workers_share_segments_and_a_killed_segment_job_resumes(
    heaters_env: dict[str, str], keyed_video: Path, tmp_path: Path
) -> None:
    """Worker A encodes segment 0, then is SIGKILLed holding segment 1 (stored, not yet
    committed); worker B meanwhile encodes the others, then redoes segment 1 alone (the
    stalled job is retried), joins and detects. Every segment is encoded exactly once."""
    url = heaters_env["DATABASE_URL"]
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = _worker(heaters_env, log_a, HEATERS_TEST_PAUSE_BEFORE_COMMIT="preprocess_segment:1")
    b: subprocess.Popen[bytes] | None = None
    try:
        sub = run_heaters(heaters_env, "ingest", str(keyed_video), "--json")
        assert sub.returncode == 0, sub.stderr
        (video,) = json_lines(sub.stdout)
        wait_for(lambda: "pausing before commit" in log_a.read_text(), "A's pause point")
        assert _query(url, "SELECT index, state FROM video_segments ORDER BY index")[:2] == [
            (0, "encoded"),
            (1, "encoding"),
        ]
        b = _worker(heaters_env, log_b)
        wait_for(
            lambda: (
                _query(url, "SELECT count(*) FROM video_segments WHERE state = 'encoded'")[0][0]
                == 3
            ),
            "B to encode the segments A does not hold",
        )
        os.kill(a.pid, signal.SIGKILL)
        a.wait(10)
        assert _query(url, "SELECT state FROM video_segments WHERE index = 1") == [("encoding",)]
        wait_for(
            lambda: _query(url, "SELECT state FROM source_videos") == [("detected",)],
            "the video to finish after the kill",
        )
    finally:
        for w in (a, b):
            if w is not None and w.poll() is None:
                w.send_signal(signal.SIGTERM)
                w.wait(30)

    runs = _query(
        url,
        "SELECT item_id, worker, attempt FROM stage_runs"
        " WHERE stage = 'preprocess_segment' AND outcome = 'done' ORDER BY item_id",
    )
    assert len(runs) == 4 and len({r[0] for r in runs}) == 4, "each segment encoded once"
    a_name, b_name = f":{a.pid}", f":{b.pid if b else 0}"
    assert runs[0][1].endswith(a_name), "A encoded segment 0"
    assert all(r[1].endswith(b_name) for r in runs[1:]), "B encoded the rest"
    assert runs[1][2] == 2, "segment 1 was resumed (second attempt), not started over"
    assert not _query(url, "SELECT * FROM stage_runs WHERE outcome <> 'done'"
                      " AND stage IN ('preprocess_segment', 'join')")  # fmt: skip

    (v,) = _query(url, "SELECT id, frame_count FROM source_videos")
    clips = _query(url, "SELECT start_frame, end_frame FROM clips ORDER BY 1")
    assert v[1] == _frame_count(keyed_video)
    assert clips[0][0] == 0 and clips[-1][1] == v[1]
    assert _query(url, "SELECT count(*) FROM video_segments") == [(0,)]
    home = Path(heaters_env["HEATERS_HOME"])
    stored = sorted(p.name for p in (home / "storage" / "videos" / str(video["id"])).iterdir())
    ((original, proxy),) = _query(url, "SELECT original_path, proxy_path FROM source_videos")
    assert stored == sorted(Path(k).name for k in (original, proxy)), "no stray segment pieces"
    assert re.fullmatch(r"proxy-[0-9a-f]{12}\.mp4", Path(proxy).name), proxy


async def test_a_segment_given_up_fails_its_video_and_a_retry_keeps_the_encoded_ones(
    db: Any, keyed_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Segment 0 cannot read the original (gone from storage) and has no attempts left: the
    video fails with the segment's reason. Once the original is back, an operator's retry
    re-plans it, keeps segments 1–3 encoded, and encodes only segment 0."""
    from heaters.config import get_settings
    from heaters.pipeline import preprocess_stages, video_stages
    from heaters.pipeline.runtime import open_runtime
    from heaters.pipeline.submit import submit

    monkeypatch.setenv("HEATERS_SEGMENT_SECONDS", SEGMENT_SECONDS)
    monkeypatch.setenv("HEATERS_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    vid = (await submit(db, str(keyed_video))).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "done"
        assert await preprocess_stages.preprocess_video(rt, vid) == "done"
        async with db.acquire() as conn:
            ids = [
                r["id"] for r in await conn.fetch("SELECT id FROM video_segments ORDER BY index")
            ]
            original = await conn.fetchval("SELECT original_path FROM source_videos")
        for i in ids[1:]:
            assert await preprocess_stages.encode_video_segment(rt, i) == "done"
        path = rt.storage.local_path(original)
        assert path is not None
        path.rename(path.with_name("away"))
        assert await preprocess_stages.encode_video_segment(rt, ids[0]) == "failed"
        async with db.acquire() as conn:
            v = await conn.fetchrow("SELECT state, last_error, next_attempt_at FROM source_videos")
            segs = await conn.fetch("SELECT state, attempts FROM video_segments ORDER BY index")
        assert v["state"] == "preprocess_failed" and v["next_attempt_at"] is None
        assert v["last_error"].startswith("segment 0: "), v["last_error"]
        assert [s["state"] for s in segs] == ["encode_failed", "encoded", "encoded", "encoded"]
        # Nothing more for the segments of a failed video.
        assert await preprocess_stages.encode_video_segment(rt, ids[0]) == "noop"

        path.with_name("away").rename(path)
        async with db.acquire() as conn:
            assert await db.q.retry_video(conn, id=vid) is not None
        assert await preprocess_stages.preprocess_video(rt, vid) == "done"
        async with db.acquire() as conn:
            segs = await conn.fetch("SELECT id, state FROM video_segments ORDER BY index")
        assert [s["id"] for s in segs] == ids, "the same segments, re-planned in place"
        assert [s["state"] for s in segs] == ["pending", "encoded", "encoded", "encoded"]
        assert await preprocess_stages.encode_video_segment(rt, ids[0]) == "done"
        assert await preprocess_stages.join_video_segments(rt, vid) == "done"
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT state FROM source_videos") == "preprocessed"
            runs = await conn.fetch(
                "SELECT item_id, outcome FROM stage_runs WHERE stage = 'preprocess_segment'"
                " AND outcome = 'done' ORDER BY id"
            )
    assert sorted(r["item_id"] for r in runs) == sorted(ids), "each segment encoded once"
