"""The main job end to end, as a user runs it: ``heaters ingest … --wait --json``."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path
from typing import Any

import av
import psycopg

from tests.conftest import json_lines, run_heaters

CLIP_KEYS = {"id", "start_frame", "end_frame", "start_seconds", "end_seconds", "state",
             "is_transition", "transition_kind", "confidence"}  # fmt: skip
VIDEO_KEYS = {"id", "source", "state", "error", "frame_count", "fps", "duration_seconds",
              "width", "height", "clips", "transitions"}  # fmt: skip


def _assert_covers(video: dict[str, Any]) -> None:
    clips = video["clips"]
    assert clips, "a detected video has at least one clip"
    assert clips[0]["start_frame"] == 0
    assert clips[-1]["end_frame"] == video["frame_count"]
    for a, b in itertools.pairwise(clips):
        assert a["end_frame"] == b["start_frame"], "no gap, no overlap"
        assert a["end_seconds"] == b["start_seconds"]
    for c in clips:
        assert c["end_frame"] > c["start_frame"]
        assert c["end_seconds"] > c["start_seconds"]
        assert c["state"] == "pending_review"
    assert (
        abs(clips[-1]["end_seconds"] - clips[0]["start_seconds"] - video["duration_seconds"]) < 0.1
    )


def test_ingest_wait_json_end_to_end(heaters_env: dict[str, str], small_video: Path) -> None:
    proc = run_heaters(heaters_env, "ingest", str(small_video), "--wait", "--json")
    assert proc.returncode == 0, proc.stderr
    (video,) = json_lines(proc.stdout)
    assert set(video) >= VIDEO_KEYS
    assert video["state"] == "detected", video
    assert video["error"] is None
    assert (video["width"], video["height"]) == (320, 180)
    assert abs(video["fps"] - 24.0) < 0.01
    assert video["frame_count"] == 192  # 8 s at 24 fps
    assert abs(video["duration_seconds"] - 8.0) < 0.1
    assert all(set(c) == CLIP_KEYS for c in video["clips"])
    _assert_covers(video)
    assert len(video["clips"]) >= 2, "the 8 s excerpt holds hard cuts"
    cut_clips = [b for a, b in itertools.pairwise(video["clips"])
                 if not a["is_transition"] and not b["is_transition"]]  # fmt: skip
    assert cut_clips and all(0 < c["confidence"] <= 1 for c in cut_clips), "cuts carry confidence"

    # The stored files: the original (it is the master: no FFV1 copy) and an all-I-frame
    # H.264 proxy with every frame.
    # Each under the key of the claim that wrote it, named by the video's row.
    storage = Path(heaters_env["HEATERS_HOME"]) / "storage" / "videos" / str(video["id"])
    with psycopg.connect(heaters_env["DATABASE_URL"]) as conn:
        row = conn.execute(
            "SELECT original_path, master_path, proxy_path FROM source_videos WHERE id = %s",
            (video["id"],),
        ).fetchone()
    assert row is not None and row[0] == row[1], row
    original, proxy = Path(row[0]).name, Path(row[2]).name
    assert re.fullmatch(r"original-[0-9a-f]{12}\.mp4", original), original
    assert re.fullmatch(r"proxy-[0-9a-f]{12}\.mp4", proxy), proxy
    assert sorted(p.name for p in storage.iterdir()) == [original, proxy]
    assert (storage / original).read_bytes() == small_video.read_bytes()
    with av.open(str(storage / proxy)) as c:
        packets = [p for p in c.demux(c.streams.video[0]) if p.size]
        assert c.streams.video[0].codec_context.name == "h264"
        assert len(packets) == video["frame_count"]
        assert all(p.is_keyframe for p in packets)

    # status sees it; nothing left in the temp root.
    status = run_heaters(heaters_env, "status", "--json")
    assert status.returncode == 0, status.stderr
    (s,) = json_lines(status.stdout)
    assert s["videos"] == {"detected": 1}
    assert s["clips"] == {"pending_review": len(video["clips"])}
    tmp = Path(heaters_env["HEATERS_HOME"]) / "tmp"
    assert not tmp.exists() or not any(p for p in tmp.rglob("*") if p.is_file())


def test_duplicate_submission_returns_the_existing_video(
    heaters_env: dict[str, str], small_video: Path, tmp_path: Path, http_server: str
) -> None:
    copy = tmp_path / "same_content.mp4"
    shutil.copy(small_video, copy)
    url = f"{http_server}/clip.mp4"
    first = run_heaters(heaters_env, "ingest", str(small_video), url, "--json")
    assert first.returncode == 0, first.stderr
    a, u = json_lines(first.stdout)
    assert a["existing"] is False and a["state"] == "new"
    second = run_heaters(heaters_env, "ingest", str(copy), url, "--json")
    assert second.returncode == 0, second.stderr
    b, u2 = json_lines(second.stdout)
    assert b["id"] == a["id"] and b["existing"] is True
    assert u2["id"] == u["id"] and u2["existing"] is True
    human = run_heaters(heaters_env, "ingest", str(copy))
    assert f"already ingested as video {a['id']}" in human.stderr
