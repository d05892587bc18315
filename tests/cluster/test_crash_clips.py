"""A worker SIGKILLed in the middle of export, keyframe, embed or archive: after a restart the
clip finishes, with no duplicate rows, artifacts or objects, and no stray temp files."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import psycopg
import pytest

from tests.cluster.test_crash import _start_worker
from tests.conftest import json_lines, run_heaters, wait_for


def _clip_state(url: str, clip_id: int) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT state FROM clips WHERE id = %s", (clip_id,)).fetchone()
    return str(row[0])


@pytest.mark.parametrize(
    ("stage", "running", "final"),
    [
        ("export", "exporting", "embedded"),
        ("keyframe", "keyframing", "embedded"),
        ("embed", "embedding", "embedded"),
        ("archive", "archiving", "archived"),
    ],
)
def test_sigkill_mid_clip_stage_then_restart_finishes(
    heaters_env: dict[str, str], small_video: Path, tmp_path: Path,
    stage: str, running: str, final: str,
) -> None:  # fmt: skip
    pytest.importorskip("torch")
    url = heaters_env["DATABASE_URL"]
    done = run_heaters(heaters_env, "ingest", str(small_video), "--wait", "--json")
    assert done.returncode == 0, done.stderr
    (video,) = json_lines(done.stdout)
    clip = video["clips"][1]["id"]
    with psycopg.connect(url) as conn:
        # The sprite stage is not under test: give every clip its sprite row up front.
        conn.execute(
            "INSERT INTO clip_artifacts (clip_id, kind, strategy, storage_key)"
            " SELECT id, 'sprite', 'grid', 'clips/' || id || '/sprite.jpg' FROM clips"
            " ON CONFLICT DO NOTHING"
        )
        new_state = "review_archived" if stage == "archive" else "review_approved"
        conn.execute("UPDATE clips SET state = %s WHERE id = %s", (new_state, clip))

    log = tmp_path / "worker.log"
    first = _start_worker(heaters_env, log, HEATERS_TEST_PAUSE_BEFORE_COMMIT=stage)
    try:
        wait_for(lambda: _clip_state(url, clip) == running, f"clip state {running}")
        wait_for(lambda: "pausing before commit" in log.read_text(), "the pause point")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert _clip_state(url, clip) == running
    finally:
        if first.poll() is None:
            first.kill()
    second = _start_worker(heaters_env, log)
    try:
        wait_for(lambda: _clip_state(url, clip) == final, f"clip state {final}", timeout=180)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    home = Path(heaters_env["HEATERS_HOME"])
    clip_dir = home / "storage" / "clips" / str(clip)
    files = sorted(
        str(p.relative_to(clip_dir)) for p in clip_dir.rglob("*")
        if p.is_file() and not p.name.startswith("sprite")
    ) if clip_dir.exists() else []  # fmt: skip
    with psycopg.connect(url) as conn:
        arts = conn.execute(
            "SELECT kind, strategy, tag FROM clip_artifacts WHERE clip_id = %s ORDER BY 1, 2, 3",
            (clip,),
        ).fetchall()
        n_emb = conn.execute(
            "SELECT count(*) FROM clip_embeddings WHERE clip_id = %s", (clip,)
        ).fetchone()[0]
        jobs = conn.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = %s", (f"heaters.{stage}",)
        ).fetchall()
        clip_path = conn.execute("SELECT clip_path FROM clips WHERE id = %s", (clip,)).fetchone()[0]
    if final == "archived":
        assert files == [] and arts == [] and n_emb == 0
        assert not list(clip_dir.glob("sprite*")) and clip_path is None
    else:
        # the clip under its (redone) export's key only: the killed claim's file went
        assert re.fullmatch(rf"clips/{clip}/clip-[0-9a-f]{{12}}\.mp4", clip_path), clip_path
        assert files == [
            clip_path.removeprefix(f"clips/{clip}/"), *sorted(f"keyframes/{k}.jpg" for k in
                                ("percentage_p25", "percentage_p50", "percentage_p75",
                                 "tag_first", "tag_last", "tag_mid")),
        ]  # fmt: skip
        assert len(arts) == 7 and n_emb == 1
    assert [j[0] for j in jobs] == ["succeeded"]
    assert not any(p.is_file() for p in (home / "tmp").rglob("*"))
