"""Scale-out: three worker processes on different queues share one database; a dozen videos
are each processed exactly once."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import psycopg

from tests.conftest import REPO, SAMPLE, ffmpeg, heaters_cmd, json_lines, run_heaters


def test_three_workers_process_a_dozen_videos_exactly_once(
    heaters_env: dict[str, str], tmp_path: Path
) -> None:
    videos = []
    for i in range(12):
        out = tmp_path / f"v{i:02d}.mp4"
        ffmpeg("-ss", str(2 + 4 * i), "-i", str(SAMPLE), "-t", "2", "-vf", "scale=160:90",
               "-c:v", "libx264", "-preset", "ultrafast", "-an", str(out))  # fmt: skip
        videos.append(out)
    sub = run_heaters(heaters_env, "ingest", *map(str, videos), "--json")
    assert sub.returncode == 0, sub.stderr
    ids = [v["id"] for v in json_lines(sub.stdout)]
    assert len(set(ids)) == 12

    logs = [(tmp_path / f"w{i}.log").open("wb") for i in range(3)]
    queues = ["io,default", "cpu", "cpu,ml,default"]
    workers = [
        subprocess.Popen(
            heaters_cmd("worker", "--queues", q, "-v"),
            env=heaters_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        for q, log in zip(queues, logs, strict=True)
    ]
    url = heaters_env["DATABASE_URL"]
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with psycopg.connect(url) as conn:
                states = [r[0] for r in conn.execute("SELECT state FROM source_videos").fetchall()]
                # each run is recorded (stage_runs) just after its stage commits: wait for the
                # last detect run's record too before stopping the workers
                recorded = conn.execute(
                    "SELECT count(DISTINCT item_id) FROM stage_runs"
                    " WHERE stage = 'detect' AND outcome = 'done'"
                ).fetchone()
            if states.count("detected") == 12 and recorded == (12,):
                break
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.2)
        assert states.count("detected") == 12, states
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(60)
        for log in logs:
            log.close()

    with psycopg.connect(url) as conn:
        runs = conn.execute(
            "SELECT stage, item_id, outcome, worker FROM stage_runs WHERE item_kind = 'video'"
        ).fetchall()
        jobs = conn.execute(
            "SELECT task_name, args->>'item_id', queue_name FROM procrastinate_jobs"
            " WHERE task_name IN ('heaters.download', 'heaters.preprocess', 'heaters.detect')"
        ).fetchall()
    for stage in ("download", "preprocess", "detect"):
        per_video = sorted(r[1] for r in runs if r[0] == stage)
        assert per_video == sorted(ids), f"{stage}: every video exactly once"
        assert {r[2] for r in runs if r[0] == stage} == {"done"}
        assert sorted(int(j[1]) for j in jobs if j[0] == f"heaters.{stage}") == sorted(ids)
    # Each queue's jobs ran on a worker that listens to it.
    assert {j[2] for j in jobs if j[0] == "heaters.download"} == {"io"}
    assert len({r[3] for r in runs}) >= 2, "the work was shared between processes"
