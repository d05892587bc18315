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
from tests.conftest import REPO, heaters_cmd, json_lines, run_heaters


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
