"""The crash budget (issue 20, item 3): an item whose worker dies every time it works on it is
given up after HEATERS_MAX_CRASHES deaths with "the worker died N times on this item",
instead of being redone for ever; a success or an operator's retry starts the count over."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from heaters.db import lifecycle
from heaters.domain import states
from heaters.pipeline import runner, video_stages
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit
from tests.cluster.test_crash import _start_worker, _state
from tests.conftest import json_lines, run_heaters, wait_for

REASON = (
    "the worker died 3 times on this item (HEATERS_MAX_CRASHES=3): given up, 'heaters retry' "
    "tries again"
)


def _download_runs(url: str) -> list[tuple[Any, ...]]:
    """The (outcome, error) of every recorded run of the download stage."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT outcome, error FROM stage_runs WHERE stage = 'download'")
        return [tuple(r) for r in rows.fetchall()]


def test_a_worker_killed_three_times_on_one_item_fails_it(
    heaters_env: dict[str, str], small_video: Path, tmp_path: Path
) -> None:
    url = heaters_env["DATABASE_URL"]
    log = tmp_path / "worker.log"
    sub = run_heaters(heaters_env, "ingest", str(small_video), "--json")
    assert sub.returncode == 0, sub.stderr
    (video,) = json_lines(sub.stdout)
    for death in range(1, 4):  # the poison: every worker that takes the item dies on it
        worker = _start_worker(heaters_env, log, HEATERS_TEST_PAUSE_BEFORE_COMMIT="download")
        try:
            wait_for(
                lambda n=death: log.read_text().count("pausing before commit") == n,  # type: ignore[misc]
                f"worker {death} to reach the item",
            )
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert _state(url) == "downloading"
    last = _start_worker(heaters_env, log)
    try:
        # the runner records the run (stage_runs) just after the failure commits: wait for
        # both before stopping the worker, or a stop in between leaves the record unwritten
        wait_for(
            lambda: _state(url) == "download_failed" and _download_runs(url) != [],
            "the item to be given up and its run recorded",
        )
    finally:
        last.send_signal(signal.SIGTERM)
        last.wait(30)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT last_error, crashes, next_attempt_at FROM source_videos WHERE id = %s",
            (video["id"],),
        ).fetchone()
    runs = _download_runs(url)
    assert row == (REASON, 3, None), row  # given up: no backoff, waits for an operator
    assert runs == [("failed", REASON)], "the dead workers recorded nothing; the stage never ran"
    assert log.read_text().count("pausing before commit") == 3


async def test_the_count_starts_over_after_a_retry_and_a_success(
    db: Any, small_video: Path
) -> None:
    vid = (await submit(db, str(small_video))).video_id
    t = states.DOWNLOAD

    async def crashes() -> Any:
        async with db.acquire() as conn:
            return await conn.fetchval("SELECT crashes FROM source_videos WHERE id=$1", vid)

    async def claim() -> None:  # a worker takes the item and dies holding it
        async with db.transaction() as conn:
            assert await lifecycle.claim(conn, "video", t, vid) is not None

    async with open_runtime() as rt:
        for _ in range(3):
            await claim()
        assert await crashes() == 2  # two redos so far, each after a death
        assert await video_stages.download_video(rt, vid) == "failed"
        assert await crashes() == 3
        # an operator's retry starts the count over: the stage runs and succeeds
        async with db.acquire() as conn:
            assert await db.q.retry_video(conn, id=vid) is not None
        assert await video_stages.download_video(rt, vid) == "done"
        assert await crashes() == 0


async def test_a_cancelled_stage_redone_in_its_process_counts_no_crash(
    db: Any, small_video: Path
) -> None:
    """A worker whose heartbeat lease ran out in a database outage cancels its stages; the
    retried job, in the same process, resumes the claim: no attempt, no crash. Another
    process's redo is a crash (it cannot tell a death from a stall)."""
    vid = (await submit(db, str(small_video))).video_id

    async def cancelled(row: Any) -> None:
        raise asyncio.CancelledError

    async def state() -> tuple[Any, ...]:
        async with db.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT state, attempts, crashes FROM source_videos WHERE id=$1", vid
            )
        return tuple(row)

    async with open_runtime() as rt:
        for _ in range(2):
            with pytest.raises(asyncio.CancelledError):
                await runner.run_stage(rt, "video", vid, states.DOWNLOAD, cancelled)
            assert await state() == ("downloading", 1, 0)
        runner._resume.clear()  # the job's retry lands in another process
        with pytest.raises(asyncio.CancelledError):
            await runner.run_stage(rt, "video", vid, states.DOWNLOAD, cancelled)
        assert await state() == ("downloading", 2, 1)
        assert await video_stages.download_video(rt, vid) == "done"
        assert await state() == ("downloaded", 0, 0)
