"""A worker SIGKILLed in the middle of a stage: a new worker finishes the video, with no
duplicate rows, no stray objects and no stray temp files."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import REPO, heaters_cmd, json_lines, run_heaters, wait_for


def _state(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT state FROM source_videos ORDER BY id LIMIT 1").fetchone()
    return row[0] if row else None


def _named(url: str, video_id: int) -> list[str]:
    """The names of the objects a video's row names (its original is its master), each
    under the key of the claim that wrote it (``original-<token>.mp4``, ``proxy-<token>.mp4``)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT original_path, master_path, proxy_path FROM source_videos WHERE id = %s",
            (video_id,),
        ).fetchone()
    assert row is not None and row[0] == row[1], row
    names = sorted(Path(k).name for k in (row[0], row[2]))
    assert re.fullmatch(r"original-[0-9a-f]{12}\.mp4", names[0]), names
    assert re.fullmatch(r"proxy-[0-9a-f]{12}\.mp4", names[1]), names
    return names


def _start_worker(env: dict[str, str], log: Path, **extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        heaters_cmd("worker", "-v"),
        env={**env, **extra},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )


@pytest.mark.parametrize(
    ("stage", "pause", "running"),
    [
        ("download", True, "downloading"),
        ("preprocess", True, "preprocessing"),
        ("preprocess", False, "preprocessing"),  # killed while ffmpeg runs
        ("detect", True, "detecting"),
    ],
)
def test_sigkill_mid_stage_then_restart_finishes(
    heaters_env: dict[str, str], small_video: Path, tmp_path: Path,
    stage: str, pause: bool, running: str,
) -> None:  # fmt: skip
    url = heaters_env["DATABASE_URL"]
    log = tmp_path / "worker.log"
    extra = {"HEATERS_TEST_PAUSE_BEFORE_COMMIT": stage} if pause else {}
    first = _start_worker(heaters_env, log, **extra)
    try:
        sub = run_heaters(heaters_env, "ingest", str(small_video), "--json")
        assert sub.returncode == 0, sub.stderr
        (video,) = json_lines(sub.stdout)
        wait_for(lambda: _state(url) == running, f"state {running}")
        if pause:
            wait_for(lambda: "pausing before commit" in log.read_text(), "the pause point")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert _state(url) == running, "the kill left the video mid-stage"
    finally:
        if first.poll() is None:
            first.kill()

    second = _start_worker(heaters_env, log)
    try:
        wait_for(lambda: _state(url) == "detected", "the video to finish after restart")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    with psycopg.connect(url) as conn:
        clips: list[Any] = conn.execute(
            "SELECT start_frame, end_frame FROM clips ORDER BY start_frame"
        ).fetchall()
        frame_count = conn.execute("SELECT frame_count FROM source_videos").fetchone()[0]
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM source_videos), (SELECT count(*) FROM frame_indexes),"
            " (SELECT count(*) FROM scene_scores), (SELECT count(DISTINCT clip_identifier)"
            " FROM clips), (SELECT count(*) FROM clips)"
        ).fetchone()
        jobs = conn.execute(
            "SELECT task_name, status FROM procrastinate_jobs WHERE task_name = %s",
            (f"heaters.{stage}",),
        ).fetchall()
    assert counts[:3] == (1, 1, 1)
    assert counts[3] == counts[4], "no duplicate clips"
    assert clips[0][0] == 0 and clips[-1][1] == frame_count
    assert all(a[1] == b[0] for a, b in itertools.pairwise(clips))
    assert [j[1] for j in jobs] == ["succeeded"], "the stalled job was retried, not duplicated"

    home = Path(heaters_env["HEATERS_HOME"])
    stored = sorted(p.name for p in (home / "storage" / "videos" / str(video["id"])).iterdir())
    assert stored == _named(url, video["id"]), (
        "no stray or partial objects (the original is the master)"
    )
    assert not (home / "tmp" / f"w{first.pid}").exists(), "the dead worker's temp files are gone"
    assert not any(p.is_file() for p in (home / "tmp").rglob("*"))
