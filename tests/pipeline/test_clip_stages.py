"""Export, keyframes, embeddings and archive on a real video, real ffmpeg, real Postgres."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from heaters import review
from heaters.config import get_settings
from heaters.pipeline import clip_stages
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.search import SearchError, similar_clips
from heaters.pipeline.submit import submit
from tests.conftest import decoded_frames, detected_video, run_to_detected


@pytest.mark.parametrize("mode", ["copy", "master", "master_ffv1", "master_segments"])
@pytest.mark.slow  # exports every master kind (~9 s)
async def test_export_has_exactly_the_clips_frames(
    db: Any, heaters_env: dict[str, str], small_video: Path, monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:  # fmt: skip
    """``master``: the original is the master; ``master_ffv1``: an FFV1 master, as every video
    preprocessed before issue 13 has (``HEATERS_MASTER=ffv1`` makes one): both export."""
    monkeypatch.setenv("HEATERS_EXPORT_MODE", mode.split("_")[0])
    if mode == "master_segments":  # preprocessed by segment jobs of ~3 s, joined
        monkeypatch.setenv("HEATERS_SEGMENT_SECONDS", "3")
    monkeypatch.setenv("HEATERS_MASTER", "ffv1" if mode == "master_ffv1" else "original")
    monkeypatch.setenv("HEATERS_EXPORT_PRESET", "veryfast")
    get_settings.cache_clear()
    home = Path(heaters_env["HEATERS_HOME"]) / "storage"
    if mode == "master_segments":
        vid = (await submit(db, str(small_video))).video_id
        async with open_runtime() as rt:
            assert await run_to_detected(rt, vid) >= 2, "preprocessed by segment jobs"
        async with db.acquire() as conn:
            clips = await conn.fetch(
                "SELECT * FROM clips WHERE source_video_id=$1 ORDER BY start_frame", vid
            )
    else:
        vid, clips = await detected_video(db, small_video)
    await review.decide(db, clips[1]["id"], "approve", "ann")
    await review.decide(db, clips[-1]["id"], "approve", "ann")
    async with open_runtime() as rt:
        for c in (clips[1], clips[-1]):
            assert await clip_stages.export_clip(rt, c["id"]) == "done"
            assert await clip_stages.export_clip(rt, c["id"]) == "noop"
    async with db.acquire() as conn:
        video = await conn.fetchrow("SELECT * FROM source_videos WHERE id = $1", vid)
        clip_paths = {
            r["id"]: r["clip_path"]
            for r in await conn.fetch("SELECT id, clip_path FROM clips WHERE clip_path IS NOT NULL")
        }
    if mode == "master_ffv1":
        assert video["master_kind"] == "ffv1"
        assert re.fullmatch(rf"videos/{vid}/master-[0-9a-f]{{12}}\.mkv", video["master_path"])
        assert video["master_reason"] == "asked for (HEATERS_MASTER=ffv1)"
    else:
        assert (video["master_kind"], video["master_reason"]) == ("original", None)
        assert video["master_path"] == video["original_path"]
        assert not list((home / f"videos/{vid}").glob("master*"))
    source = home / ("" if mode == "copy" else video["master_path"])
    if mode == "copy":
        source = home / video["proxy_path"]
    assert sorted(clip_paths) == sorted(c["id"] for c in (clips[1], clips[-1]))
    for c in (clips[1], clips[-1]):
        n = c["end_frame"] - c["start_frame"]
        assert re.fullmatch(rf"clips/{c['id']}/clip-[0-9a-f]{{12}}\.mp4", clip_paths[c["id"]])
        got = decoded_frames(home / clip_paths[c["id"]])
        ref = decoded_frames(source, c["start_frame"], n)
        assert len(got) == n
        diff = [
            float(np.abs(a.astype(int) - b.astype(int)).mean())
            for a, b in zip(got, ref, strict=True)
        ]
        if mode == "copy":
            assert max(diff) == 0.0, "stream copy: the very same frames"
        else:
            assert max(diff) < 3.0, "re-encoded from the master: the same frames, lossy"
        with av.open(str(home / clip_paths[c["id"]])) as container:
            assert container.streams.video[0].codec_context.name == "h264"
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT state, is_virtual, clip_path FROM clips WHERE clip_path IS NOT NULL"
        )
    assert [(r["state"], r["is_virtual"]) for r in rows] == [("exported", False)] * 2


@pytest.mark.slow  # the embedding model on every clip (~5 s)
async def test_keyframes_embeddings_similar_and_archive(
    db: Any, heaters_env: dict[str, str], small_video: Path
) -> None:
    pytest.importorskip("torch")
    storage = Path(heaters_env["HEATERS_HOME"]) / "storage"
    vid, clips = await detected_video(db, small_video)
    ids = [c["id"] for c in clips]
    for cid in ids[:-1]:
        await review.decide(db, cid, "approve", "ann")
    await review.decide(db, ids[-1], "archive", "ann")
    async with open_runtime() as rt:
        for cid in ids[:-1]:
            assert await clip_stages.export_clip(rt, cid) == "done"
            assert await clip_stages.extract_clip_keyframes(rt, cid) == "done"
            assert await clip_stages.embed_clip(rt, cid) == "done"
        # The archived clip had a sprite-like object: give it one to delete.
        (storage / f"clips/{ids[-1]}").mkdir(parents=True, exist_ok=True)
        (storage / f"clips/{ids[-1]}/sprite.jpg").write_bytes(b"jpeg")
        async with db.acquire() as conn:
            await conn.execute(
                "INSERT INTO clip_artifacts (clip_id, kind, strategy, storage_key) VALUES ($1, 'sprite', 'grid', $2)",
                ids[-1], f"clips/{ids[-1]}/sprite.jpg",
            )  # fmt: skip
        assert await clip_stages.archive_clip(rt, ids[-1]) == "done"
        assert await clip_stages.archive_clip(rt, ids[-1]) == "noop"

        # Re-running each stage from its running state changes nothing.
        async with db.acquire() as conn:
            before = await conn.fetch(
                "SELECT clip_id, kind, strategy, tag, storage_key FROM clip_artifacts ORDER BY 1,2,3,4"
            )
            n_emb = await conn.fetchval("SELECT count(*) FROM clip_embeddings")
            for state, fn in [("exporting", clip_stages.export_clip),
                              ("keyframing", clip_stages.extract_clip_keyframes),
                              ("embedding", clip_stages.embed_clip)]:  # fmt: skip
                await conn.execute("UPDATE clips SET state=$2 WHERE id=$1", ids[0], state)
                assert await fn(rt, ids[0]) == "done"
                await conn.execute("UPDATE clips SET state='embedded' WHERE id=$1", ids[0])
            after = await conn.fetch(
                "SELECT clip_id, kind, strategy, tag, storage_key FROM clip_artifacts ORDER BY 1,2,3,4"
            )
            assert (
                after == before
                and await conn.fetchval("SELECT count(*) FROM clip_embeddings") == n_emb
            )

    async with db.acquire() as conn:
        states = await conn.fetch(
            "SELECT id, state FROM clips WHERE source_video_id=$1 ORDER BY start_frame", vid
        )
        kf = await conn.fetch(
            "SELECT * FROM clip_artifacts WHERE clip_id=$1 AND kind='keyframe' ORDER BY strategy, tag",
            ids[0],
        )
        emb = await conn.fetch(
            "SELECT clip_id, model_name, strategy, embedding FROM clip_embeddings ORDER BY clip_id"
        )
        archived = await conn.fetchrow("SELECT * FROM clips WHERE id=$1", ids[-1])
        left = await conn.fetchval("SELECT count(*) FROM clip_artifacts WHERE clip_id=$1", ids[-1])
    assert [s["state"] for s in states] == ["embedded"] * (len(ids) - 1) + ["archived"]
    assert [(k["strategy"], k["tag"]) for k in kf] == [
        ("percentage", "p25"), ("percentage", "p50"), ("percentage", "p75"),
        ("tag", "first"), ("tag", "last"), ("tag", "mid"),
    ]  # fmt: skip
    n = clips[0]["end_frame"] - clips[0]["start_frame"]
    first = next(k for k in kf if k["tag"] == "first")
    assert first["metadata"]["frame"] == clips[0]["start_frame"]
    assert next(k for k in kf if k["tag"] == "last")["metadata"]["clip_frame"] == n - 1
    for k in kf:
        assert (storage / k["storage_key"]).stat().st_size > 1000
    assert len(emb) == len(ids) - 1
    assert {e["model_name"] for e in emb} == {"efficientnet-lite0"}
    for e in emb:
        v = np.asarray(e["embedding"])
        assert v.shape == (1280,) and abs(float(np.linalg.norm(v)) - 1) < 1e-4
    near = await similar_clips(db, ids[0], k=3)
    assert [r["clip_id"] for r in near] != [] and ids[0] not in [r["clip_id"] for r in near]
    assert len(near) == min(3, len(ids) - 2)
    assert [r["distance"] for r in near] == sorted(r["distance"] for r in near)
    with pytest.raises(SearchError, match="no efficientnet-lite0 embedding"):
        await similar_clips(db, ids[-1])
    assert archived["clip_path"] is None and left == 0
    assert not (storage / f"clips/{ids[-1]}/sprite.jpg").exists()
    async with db.acquire() as conn:
        proxy_key = await conn.fetchval("SELECT proxy_path FROM source_videos WHERE id = $1", vid)
        clip_key = await conn.fetchval("SELECT clip_path FROM clips WHERE id = $1", ids[0])
    assert (storage / proxy_key).exists(), "the video itself is kept"
    # the export redone above replaced its file: only the one the row names is left
    assert [p.name for p in (storage / f"clips/{ids[0]}").glob("clip*")] == [Path(clip_key).name]


async def test_video_preprocessed_before_issue_13_still_exports(
    db: Any, heaters_env: dict[str, str], small_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A video preprocessed before migration 0009 (an FFV1 master, no master_kind column):
    the migration records its master as FFV1 and master-mode export reads it."""
    from alembic import command

    from heaters.db.migrate import alembic_config, upgrade

    monkeypatch.setenv("HEATERS_MASTER", "ffv1")  # the only master there was
    monkeypatch.setenv("HEATERS_EXPORT_PRESET", "veryfast")
    get_settings.cache_clear()
    home = Path(heaters_env["HEATERS_HOME"]) / "storage"
    vid, clips = await detected_video(db, small_video)
    url = heaters_env["DATABASE_URL"]
    command.downgrade(alembic_config(url), "0008")
    from heaters.db import Database

    async with Database.connect(url) as old:
        async with old.acquire() as conn:
            cols = {r["column_name"] for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'source_videos'")}  # fmt: skip
        assert "master_kind" not in cols
    upgrade(url)
    async with Database.connect(url) as new:
        async with new.acquire() as conn:
            video = await conn.fetchrow("SELECT * FROM source_videos WHERE id = $1", vid)
        assert video["master_kind"] == "ffv1"
        assert re.fullmatch(rf"videos/{vid}/master-[0-9a-f]{{12}}\.mkv", video["master_path"])
        assert video["master_reason"] == "made before issue 13 (FFV1 for every video)"
        await review.decide(new, clips[1]["id"], "approve", "ann")
        async with open_runtime() as rt:
            assert await clip_stages.export_clip(rt, clips[1]["id"]) == "done"
        async with new.acquire() as conn:
            clip_key = await conn.fetchval(
                "SELECT clip_path FROM clips WHERE id = $1", clips[1]["id"]
            )
    n = clips[1]["end_frame"] - clips[1]["start_frame"]
    got = decoded_frames(home / clip_key)
    ref = decoded_frames(small_video, clips[1]["start_frame"], n)
    assert len(got) == n
    diff = [
        float(np.abs(a.astype(int) - b.astype(int)).mean()) for a, b in zip(got, ref, strict=True)
    ]
    assert max(diff) < 3.0, "the clip's own frames, re-encoded"
