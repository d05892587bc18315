"""Each stage service on a real database, real ffmpeg and a real video: results, and re-runs
that change nothing (no duplicate rows, no duplicate files)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

from heaters.media import scenes
from heaters.pipeline import preprocess_stages, video_stages
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit
from tests.conftest import run_to_detected


async def _snapshot(db: Any, home: Path) -> dict[str, Any]:
    async with db.acquire() as conn:
        clips = await conn.fetch(
            "SELECT clip_identifier, start_frame, end_frame, start_seconds, end_seconds "
            "FROM clips ORDER BY start_frame"
        )
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM source_videos) v, (SELECT count(*) FROM frame_indexes) f,"
            " (SELECT count(*) FROM scene_scores) s, (SELECT count(*) FROM clips) c"
        )
    # an object a redo replaced carries the redo's claim in its key (heaters.storage.keys)
    files = sorted(re.sub(r"-[0-9a-f]{12}(?=\.)", "-<claim>", str(p.relative_to(home)))
                   for p in home.rglob("*") if p.is_file() and "pgdata" not in p.parts)  # fmt: skip
    return {"clips": [tuple(c) for c in clips], "counts": tuple(counts), "files": files}


async def _set_state(db: Any, video_id: int, state: str) -> None:
    async with db.acquire() as conn:
        await conn.execute("UPDATE source_videos SET state = $2 WHERE id = $1", video_id, state)


async def test_each_stage_is_idempotent(
    db: Any, heaters_env: dict[str, str], small_video: Path
) -> None:
    home = Path(heaters_env["HEATERS_HOME"])
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "done"
        assert await video_stages.download_video(rt, vid) == "noop", "already downloaded"
        assert await preprocess_stages.preprocess_video(rt, vid) == "done"
        assert await video_stages.detect_video(rt, vid) == "done"
        assert await video_stages.detect_video(rt, vid) == "noop"
        done = await _snapshot(db, home)
        assert done["counts"][:3] == (1, 1, 1) and done["counts"][3] >= 2

        # A re-run from each in-progress state (what a crashed worker leaves) changes nothing.
        for stage, state, fn in [
            ("download", "downloading", video_stages.download_video),
            ("preprocess", "preprocessing", preprocess_stages.preprocess_video),
            ("detect", "detecting", video_stages.detect_video),
        ]:
            await _set_state(db, vid, state)
            assert await fn(rt, vid) == "done", stage
            await _set_state(db, vid, "detected")
            assert await _snapshot(db, home) == done, stage


async def test_frame_index_and_scores_are_stored(
    db: Any, heaters_env: dict[str, str], small_video: Path
) -> None:
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        await run_to_detected(rt, vid)
    async with db.acquire() as conn:
        v = await conn.fetchrow("SELECT * FROM source_videos WHERE id = $1", vid)
        idx = await conn.fetchrow("SELECT * FROM frame_indexes WHERE source_video_id = $1", vid)
        stored = await conn.fetch("SELECT * FROM scene_scores WHERE source_video_id = $1", vid)
    assert (v["fps_num"], v["fps_den"]) == (24, 1)
    assert v["is_vfr"] is False and v["has_audio"] is True
    pts = idx["pts_seconds"]
    assert len(pts) == len(idx["byte_offsets"]) == v["frame_count"] == 192
    assert [r["detector"] for r in stored] == [scenes.DETECTOR_NAME]
    assert len(stored[0]["scores"]) == 192 * stored[0]["feature_count"]
    assert all(b > a for a, b in itertools.pairwise(pts))
    offsets = idx["byte_offsets"]
    assert all(b > a for a, b in itertools.pairwise(offsets))


async def test_features_of_another_detector_are_never_reused(
    db: Any, heaters_env: dict[str, str], small_video: Path
) -> None:
    """Stored features name their detector; detect ignores another detector's (here: an
    older version's, full of junk) and computes and stores its own."""
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        await run_to_detected(rt, vid)
        clips_before = await _clip_spans(db, vid)
        async with db.acquire() as conn:
            await conn.execute(
                "UPDATE scene_scores SET detector = 'heaters-hsv-adaptive/1', feature_count = 1,"
                " scores = array_fill(255::real, ARRAY[192]) WHERE source_video_id = $1",
                vid,
            )
            await conn.execute("DELETE FROM clips WHERE source_video_id = $1", vid)
        await _set_state(db, vid, "preprocessed")
        assert await video_stages.detect_video(rt, vid) == "done"
    assert await _clip_spans(db, vid) == clips_before
    async with db.acquire() as conn:
        detectors = await conn.fetch(
            "SELECT detector FROM scene_scores WHERE source_video_id = $1 ORDER BY detector", vid
        )
    assert sorted(r["detector"] for r in detectors) == sorted(
        ["heaters-hsv-adaptive/1", scenes.DETECTOR_NAME]
    )


async def _clip_spans(db: Any, vid: int) -> list[tuple[Any, ...]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT start_frame, end_frame, is_transition, transition_kind FROM clips"
            " WHERE source_video_id = $1 ORDER BY start_frame",
            vid,
        )
    return [tuple(r) for r in rows]


async def test_a_dissolve_becomes_a_transition_clip(
    db: Any, heaters_env: dict[str, str], tmp_path: Path
) -> None:
    """Two real shots joined by a 12-frame cross-dissolve (ffmpeg xfade): the pipeline writes
    shot, transition clip (marked by its column), shot: no gap, no overlap, clean shots."""
    from tests.conftest import SAMPLE, ffmpeg

    a, b, out = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "dissolve.mp4"
    for src, start in ((a, "2"), (b, "50")):  # two shots of the sample with no cut inside
        ffmpeg("-ss", start, "-i", str(SAMPLE), "-frames:v", "48", "-vf", "scale=320:180",
               "-an", "-c:v", "libx264", "-preset", "veryfast", str(src))  # fmt: skip
    # xfade at offset 1.5 s (frame 36) for 0.5 s (12 frames): frames 36..47 blend a into b.
    ffmpeg("-i", str(a), "-i", str(b), "-filter_complex",
           "xfade=transition=dissolve:duration=0.5:offset=1.5,format=yuv420p",
           "-c:v", "libx264", "-preset", "veryfast", str(out))  # fmt: skip
    vid = (await submit(db, str(out))).video_id
    async with open_runtime() as rt:
        await run_to_detected(rt, vid)
    spans = await _clip_spans(db, vid)
    assert spans[0][0] == 0 and spans[-1][1] == 84
    assert all(x[1] == y[0] for x, y in itertools.pairwise(spans))
    transitions = [s for s in spans if s[2]]
    assert len(transitions) == 1, spans
    start, end, _, kind = transitions[0]
    assert kind in ("dissolve", "unknown")
    assert abs(start - 36) <= 2 and abs(end - 48) <= 2, transitions


async def test_an_api_upload_is_removed_once_stored(
    db: Any, heaters_env: dict[str, str], small_video: Path, tmp_path: Path
) -> None:
    import shutil

    home = Path(heaters_env["HEATERS_HOME"])
    uploads = home / "uploads"
    uploads.mkdir()
    upload = uploads / "abc_clip.mp4"
    shutil.copy(small_video, upload)
    own = tmp_path / "mine.mp4"  # a user's own file: never touched
    shutil.copy(small_video, own)
    with own.open("ab") as f:
        f.write(b"\0")  # different bytes, so not a duplicate
    up = (await submit(db, str(upload))).video_id
    mine = (await submit(db, str(own))).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, up) == "done"
        assert await video_stages.download_video(rt, mine) == "done"
    assert not upload.exists()
    assert own.exists()
    async with db.acquire() as conn:
        original = await conn.fetchval("SELECT original_path FROM source_videos WHERE id = $1", up)
    assert original.startswith(f"videos/{up}/original-") and original.endswith(".mp4")
    assert (home / "storage" / original).stat().st_size == small_video.stat().st_size
