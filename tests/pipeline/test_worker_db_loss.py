"""``heaters worker`` and a database that goes away: one line saying why, then it waits and
reconnects, and finishes a job after the database is back; at start-up it waits at most
HEATERS_WORKER_DB_WAIT_SECONDS, then exits 1 with one line (docs/architecture.md)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.cluster.cluster_harness import Postgres, Proc, free_port, start, wait_until
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
    never exiting. The lost database is not the item's failure: no attempt is spent (the
    preprocess that succeeds is attempt 1, no failed run is recorded), no traceback, one
    line: ``video N: database unavailable in preprocessing (…): retried once it is back, no
    attempt spent``; the job is retried."""
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
        retried = f"video {row['id']}: database unavailable in preprocessing"
        wait_until(lambda: retried in worker.text() or not worker.alive(),
                   "the preprocess to lose the database", 120)  # fmt: skip
        assert worker.alive(), worker.text()[-3000:]
        postgres.start()
        # the run is recorded just after the stage commits (runner._record): wait for both
        wait_until(lambda: (sql("SELECT state FROM source_videos")[0][0] == "detected"
                            and sql("SELECT 1 FROM stage_runs WHERE stage = 'detect'"
                                    " AND outcome = 'done'"))
                   or not worker.alive(), "the video detected", 240)  # fmt: skip
        assert worker.alive(), worker.text()[-3000:]
        runs = sql("SELECT stage, outcome, attempt FROM stage_runs WHERE item_kind = 'video'")
        done = sorted(r[:2] for r in runs if r[1] == "done")
        assert done == [("detect", "done"), ("download", "done"), ("preprocess", "done")], runs
        # the outage spent no attempt: one preprocess run, the first attempt, and it succeeded
        assert [r for r in runs if r[0] == "preprocess"] == [("preprocess", "done", 1)], runs
    finally:
        worker.stop()
    assert worker.popen.returncode == 0
    text = worker.text()
    assert "Traceback" not in text, text[-5000:]
    assert "internal error" not in text, text[-5000:]
    assert text.count(retried) == 1, text[-5000:]


async def test_run_stage_passes_a_lost_database_on_without_spending_an_attempt(db: Any) -> None:
    """A stage's work that cannot reach the database: ``run_stage`` re-raises (the worker
    retries the job), writes nothing, and the redo in this process is the same attempt. A
    refused connection that is not the database's (a storage server, say) is the item's
    internal error, as before."""
    import asyncpg

    from heaters.db import lifecycle
    from heaters.db.errors import stage_lost_database
    from heaters.domain import states
    from heaters.pipeline import runner
    from heaters.pipeline.runtime import open_runtime

    async with db.transaction() as conn:
        vid = await conn.fetchval(
            "INSERT INTO source_videos (source_path, title, state)"
            " VALUES ('/x.mp4', 'x', 'preprocessed') RETURNING id"
        )
    nowhere = f"postgresql://heaters@127.0.0.1:{free_port()}/heaters"

    async def lose_the_database(row: Any) -> None:
        await asyncpg.connect(nowhere, timeout=5)  # refused, inside the driver

    async def finish(row: Any) -> None:
        async with db.transaction() as conn:
            await lifecycle.finish(conn, "video", states.DETECT, vid, token=row["claim_token"])

    async def refused_elsewhere(row: Any) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    async def video() -> Any:
        async with db.acquire() as conn:
            return await conn.fetchrow(
                "SELECT state, attempts, last_error FROM source_videos WHERE id = $1", vid
            )

    async def runs() -> list[tuple[Any, ...]]:
        async with db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT outcome, attempt FROM stage_runs WHERE item_id = $1 ORDER BY id", vid
            )
        return [tuple(r) for r in rows]

    async with open_runtime() as rt:
        with pytest.raises(OSError) as lost:
            await runner.run_stage(rt, "video", vid, states.DETECT, lose_the_database)
        assert stage_lost_database(lost.value) == "connection refused"
        assert tuple(await video()) == ("detecting", 1, None)
        assert await runs() == []
        # the job's retry, in this process: the same attempt, and it succeeds
        assert await runner.run_stage(rt, "video", vid, states.DETECT, finish) == "done"
        assert await runs() == [("done", 1)]

        async with db.acquire() as conn:
            await conn.execute("UPDATE source_videos SET state = 'preprocessed' WHERE id = $1", vid)
        outcome = await runner.run_stage(rt, "video", vid, states.DETECT, refused_elsewhere)
        assert outcome == "failed"
        row = await video()
        assert row["state"] == "detect_failed"
        assert row["last_error"].startswith("internal error: ConnectionRefusedError")


async def test_a_server_that_does_not_answer_is_unavailable_within_the_connect_timeout() -> None:
    """A host that accepts the TCP connection and says nothing (a cut link, a hung server):
    opening the pool fails after ``connect_timeout`` with the driver's timeout, which both
    the worker and the web count as "database unavailable" (the outer 60 s bound only
    guards the test: asyncpg's own default would wait as long)."""
    import asyncio
    import socket

    from heaters.db import Database
    from heaters.db.errors import database_error, unavailable

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql://heaters@127.0.0.1:{silent.getsockname()[1]}/heaters"

        async def open_pool() -> None:
            async with Database.connect(url, connect_timeout=0.5):
                pass

        with pytest.raises(TimeoutError) as timed_out:
            await asyncio.wait_for(open_pool(), 60)
    assert database_error(timed_out.value) is not None  # raised by the driver, not the guard
    assert unavailable(timed_out.value) == "timed out"


async def test_waiting_for_a_pooled_connection_is_bounded(heaters_env: dict[str, str]) -> None:
    """Every pooled connection held (a stalled stage, an outage's reconnects): the next
    ``transaction()`` gives up after three connect timeouts with the driver's timeout."""
    import asyncio

    from heaters.db import Database
    from heaters.db.errors import database_error

    async with Database.connect(
        heaters_env["DATABASE_URL"], min_size=1, max_size=1, connect_timeout=0.2
    ) as db:
        assert db.acquire_timeout == pytest.approx(0.6)
        async with db.acquire():
            with pytest.raises(TimeoutError) as timed_out:
                await asyncio.wait_for(db.transaction().__aenter__(), 60)
    assert database_error(timed_out.value) is not None
