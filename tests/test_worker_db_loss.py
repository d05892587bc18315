"""``heaters worker`` and a database that goes away: one line saying why, then it waits and
reconnects, and finishes a job after the database is back; at start-up it waits at most
HEATERS_WORKER_DB_WAIT_SECONDS, then exits 1 with one line (docs/architecture.md)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.cluster_harness import Postgres, Proc, free_port, start, wait_until
from tests.conftest import REPO, SAMPLE, ffmpeg, heaters_cmd, json_lines, run_heaters


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    pg = Postgres("127.0.0.1", free_port())
    try:
        pg.init()
        yield pg
    finally:
        pg.destroy()


def _env(pg: Postgres, home: Path) -> dict[str, str]:
    import os

    return {
        **os.environ,
        "DATABASE_URL": pg.url(),
        "HEATERS_HOME": str(home),
        "HEATERS_HEARTBEAT_SECONDS": "0.5",
        # a long lease: this outage is shorter, so the worker keeps its registration and jobs
        "HEATERS_STALLED_AFTER_SECONDS": "30",
        "HEATERS_JOB_POLL_SECONDS": "0.2",
        "HEATERS_DISPATCH_PERIOD_SECONDS": "1",
        "HEATERS_PROCESS_POOL_SIZE": "1",
        "HEATERS_RETRY_BACKOFF_SECONDS": "0.5",
    }


def test_worker_start_with_database_down_exits_after_the_wait(
    postgres: Postgres, tmp_path: Path
) -> None:
    env = {**_env(postgres, tmp_path / "home"), "HEATERS_WORKER_DB_WAIT_SECONDS": "2"}
    done = subprocess.run(heaters_cmd("worker"), env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    where = f"127.0.0.1:{postgres.port}"
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert f"database unavailable (connection refused at {where}): retrying in 1 s" in lines[0]
    assert lines[-1] == (
        f"heaters worker: database unavailable (connection refused at {where}): gave up after"
        " 2 s (HEATERS_WORKER_DB_WAIT_SECONDS)"
    ), lines


def test_worker_waits_through_a_postgres_restart_and_finishes_a_job(
    postgres: Postgres, tmp_path: Path, small_video: Path
) -> None:
    postgres.start()
    env = _env(postgres, tmp_path / "home")
    up = run_heaters(env, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    worker: Proc = start("worker", heaters_cmd("worker"), env=env, logs=tmp_path, cwd=REPO)
    try:
        wait_until(lambda: "registered" in worker.text(), "the worker to register", 60)
        postgres.stop()
        line = f"database unavailable (connection refused at 127.0.0.1:{postgres.port}): retrying"
        wait_until(lambda: worker.text().count(line) >= 2 or not worker.alive(),
                   "two retries while the database is down", 60)  # fmt: skip
        assert worker.alive(), worker.text()[-3000:]
        postgres.start()
        wait_until(lambda: "database available again" in worker.text() or not worker.alive(),
                   "the worker to reconnect", 60)  # fmt: skip
        assert worker.alive(), worker.text()[-3000:]

        sub = run_heaters(env, "ingest", str(small_video), "--json")
        assert sub.returncode == 0, sub.stderr
        (video,) = json_lines(sub.stdout)

        def state() -> str:
            with psycopg.connect(postgres.url()) as conn:
                row = conn.execute("SELECT state FROM source_videos WHERE id = %s",
                                   (video["id"],)).fetchone()  # fmt: skip
            assert row is not None
            return str(row[0])

        wait_until(lambda: state() == "detected" or not worker.alive(), "the video detected", 240)
        assert worker.alive(), worker.text()[-3000:]
        assert state() == "detected"
    finally:
        worker.stop()
    text = worker.text()
    assert "Traceback" not in text, text[-5000:]
    assert worker.popen.returncode == 0, text[-3000:]


def test_a_stage_that_loses_the_database_mid_run_is_redone_once_it_is_back(
    postgres: Postgres, tmp_path: Path
) -> None:
    """Postgres stops while a preprocess runs: the stage cannot commit; once the database is
    back the video is preprocessed again and ends detected, preprocessed once, the worker
    never exiting. (Today the stage records the lost connection as a transient failure of the
    item, one attempt; a stage whose failure cannot be written either is retried as a job:
    ``database unavailable (…): preprocess of video N will be retried``.)"""
    video = tmp_path / "longer.mp4"  # a preprocess of a few seconds: the stop lands inside it
    ffmpeg("-ss", "5", "-i", str(SAMPLE), "-t", "10", "-vf", "scale=640:360", "-c:v", "libx264",
           "-preset", "ultrafast", "-an", str(video))  # fmt: skip
    postgres.start()
    # a lease longer than this outage on a busy machine: the job is not given up
    env = {**_env(postgres, tmp_path / "home"), "HEATERS_STALLED_AFTER_SECONDS": "120"}
    up = run_heaters(env, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    worker: Proc = start("worker", heaters_cmd("worker"), env=env, logs=tmp_path, cwd=REPO)
    try:
        sub = run_heaters(env, "ingest", str(video), "--json")
        assert sub.returncode == 0, sub.stderr
        (row,) = json_lines(sub.stdout)

        def sql(query: str) -> list[tuple[object, ...]]:
            with psycopg.connect(postgres.url()) as conn:
                return list(conn.execute(query).fetchall())

        wait_until(lambda: sql("SELECT state FROM source_videos")[0][0] == "preprocessing",
                   "the preprocess to start", 120, every=0.02)  # fmt: skip
        postgres.stop()
        gave_up = (f"video {row['id']}: internal error in preprocessing",
                   f"preprocess of video {row['id']} will be retried")  # fmt: skip
        wait_until(lambda: any(g in worker.text() for g in gave_up) or not worker.alive(),
                   "the preprocess to lose the database", 120)  # fmt: skip
        assert worker.alive(), worker.text()[-3000:]
        postgres.start()
        wait_until(lambda: sql("SELECT state FROM source_videos")[0][0] == "detected"
                   or not worker.alive(), "the video detected", 240)  # fmt: skip
        assert worker.alive(), worker.text()[-3000:]
        runs = sql("SELECT stage, outcome FROM stage_runs WHERE item_kind = 'video'")
        done = sorted(r for r in runs if r[1] == "done")
        assert done == [("detect", "done"), ("download", "done"), ("preprocess", "done")], runs
    finally:
        worker.stop()
    assert worker.popen.returncode == 0
    # the only tracebacks are the stage's own report of its internal error, none the worker's
    for line in worker.text().splitlines():
        if "Traceback" in line:
            assert "internal error in preprocessing" in line, line[:3000]
