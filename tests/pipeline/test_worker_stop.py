"""Faults that are not the item's spend nothing (issue 20, item 3): a stop of the worker's
whole process group (SIGINT as Ctrl-C sends it, SIGTERM as systemd sends it, which also kill
its ffmpeg and pool processes) puts the items of its running stages back as their claims
found them (state, attempts, crash count), and so does a worker whose heartbeat lease ran
out in a database outage, once the database answers: the redo, in any worker, is attempt 1
with no crash counted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from heaters.db import lifecycle
from heaters.domain import states
from heaters.errors import HeatersError
from heaters.pipeline import runner, video_stages
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit
from tests.cluster.cluster_harness import Postgres, free_port, wait_until
from tests.conftest import REPO, SAMPLE, ffmpeg, heaters_cmd, json_lines, run_heaters


def _worker(env: dict[str, str], log: Path, **extra: str) -> subprocess.Popen[bytes]:
    """``heaters worker`` as the leader of its own process group (as a shell or systemd
    starts it), so the test can signal the whole group."""
    with log.open("ab") as out:
        return subprocess.Popen(heaters_cmd("worker", "-v"), env={**env, **extra}, cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)  # fmt: skip


def _stop_group(worker: subprocess.Popen[bytes], sig: signal.Signals) -> int:
    os.killpg(worker.pid, sig)
    return worker.wait(60)


def _sql(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(query, params).fetchall())


def _children_named(pid: int, prefix: str) -> list[psutil.Process]:
    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for p in kids:
        try:
            if p.name().startswith(prefix):
                out.append(p)
        except psutil.Error:
            pass
    return out


@pytest.mark.parametrize(
    ("sig", "held", "ready"),
    [
        (signal.SIGINT, "download", "new"),  # held just before its commit
        (signal.SIGTERM, "ffmpeg", "downloaded"),  # its ffmpeg killed by the same signal
    ],
)
def test_a_stop_of_the_process_group_puts_the_items_back(
    heaters_env: dict[str, str], tmp_path: Path, sig: signal.Signals, held: str, ready: str
) -> None:
    url = heaters_env["DATABASE_URL"]
    video = tmp_path / "v.mp4"  # long enough that the proxy's ffmpeg is caught running
    ffmpeg("-ss", "5", "-i", str(SAMPLE), "-t", "12", "-vf", "scale=640:360", "-c:v", "libx264",
           "-preset", "ultrafast", "-an", str(video))  # fmt: skip
    log = tmp_path / "worker.log"
    extra = {"HEATERS_TEST_PAUSE_BEFORE_COMMIT": "download"} if held == "download" else {}
    first = _worker(heaters_env, log, **extra)
    try:
        sub = run_heaters(heaters_env, "ingest", str(video), "--json")
        assert sub.returncode == 0, sub.stderr
        (row,) = json_lines(sub.stdout)
        if held == "download":
            wait_until(lambda: "pausing before commit" in log.read_text(), "the pause", 120)
        else:
            wait_until(lambda: _sql(url, "SELECT 1 FROM source_videos WHERE state ="
                                    " 'preprocessing'") and _children_named(first.pid, "ffmpeg"),
                       "the proxy's ffmpeg", 120, every=0.01)  # fmt: skip
        assert _stop_group(first, sig) == 0, log.read_text()[-3000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    text = log.read_text()
    assert f"video {row['id']}: put back in {ready} (the worker stops): no attempt spent" in text
    assert "Traceback" not in text, text[-5000:]
    assert "internal error" not in text, text[-5000:]
    item = _sql(url, "SELECT state, attempts, crashes, last_error FROM source_videos")
    assert item == [(ready, 0, 0, None)], "as the claim found it"
    assert _sql(url, "SELECT outcome FROM stage_runs WHERE outcome <> 'done'") == []
    stage = "download" if held == "download" else "preprocess"
    jobs = _sql(url, "SELECT status FROM procrastinate_jobs WHERE task_name = %s",
                f"heaters.{stage}")  # fmt: skip
    assert jobs == [("todo",)], "the job is retried, not failed or aborted"

    second = _worker(heaters_env, log, HEATERS_STORAGE_CHECK_EVERY="1")
    try:
        wait_until(lambda: _sql(url, "SELECT state FROM source_videos")[0][0] == "detected",
                   "the video detected by the next worker", 240)  # fmt: skip
        # the worker's periodic storage check: what the interrupted stage wrote is gone
        wait_until(lambda: _sql(url, "SELECT 1 FROM storage_checks WHERE objects > 0"
                                " AND orphans = 0 AND missing = 0"),
                   "a storage check with no orphan", 60)  # fmt: skip
    finally:
        assert _stop_group(second, signal.SIGTERM) == 0
    runs = _sql(url, "SELECT outcome, attempt, worker FROM stage_runs WHERE stage = %s", stage)
    assert [r[:2] for r in runs] == [("done", 1)], "the redo is the first attempt"
    assert runs[0][2].endswith(f":{second.pid}")


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    pg = Postgres("127.0.0.1", free_port())
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.destroy()


def test_an_outage_longer_than_the_lease_spends_nothing_wherever_the_redo_runs(
    postgres: Postgres, tmp_path: Path, small_video: Path
) -> None:
    """Postgres is down longer than the worker's lease (3.2 s here): the worker gives its
    held download up, and once Postgres is back puts the item back before any other worker
    may retry the job; the redo by another worker is attempt 1."""
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url(),
        "HEATERS_HOME": str(tmp_path / "home"),
        "HEATERS_HEARTBEAT_SECONDS": "0.5",
        "HEATERS_STALLED_AFTER_SECONDS": "4",
        "HEATERS_JOB_POLL_SECONDS": "0.2",
        "HEATERS_DISPATCH_PERIOD_SECONDS": "1",
        "HEATERS_PROCESS_POOL_SIZE": "1",
    }
    assert run_heaters(env, "db", "upgrade").returncode == 0
    log = tmp_path / "first.log"
    first = _worker(env, log, HEATERS_TEST_PAUSE_BEFORE_COMMIT="download")
    try:
        sub = run_heaters(env, "ingest", str(small_video), "--json")
        assert sub.returncode == 0, sub.stderr
        (row,) = json_lines(sub.stdout)
        wait_until(lambda: "pausing before commit" in log.read_text(), "the pause", 120)
        postgres.stop()
        wait_until(lambda: "wrote no heartbeat" in log.read_text() or first.poll() is not None,
                   "the lease to run out", 60)  # fmt: skip
        postgres.start()
        put_back = f"video {row['id']}: put back in new (given up in a database outage)"
        wait_until(lambda: put_back in log.read_text() or first.poll() is not None,
                   "the item put back", 60)  # fmt: skip
        assert first.poll() is None, log.read_text()[-3000:]
        # this worker may have taken the item again meanwhile: its stop puts that back too
        assert _stop_group(first, signal.SIGTERM) == 0, log.read_text()[-3000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    url = postgres.url()
    assert _sql(url, "SELECT state, attempts, crashes FROM source_videos") == [("new", 0, 0)]
    second = _worker(env, tmp_path / "second.log")
    try:
        wait_until(lambda: _sql(url, "SELECT state FROM source_videos")[0][0] == "detected",
                   "the video detected by the other worker", 240)  # fmt: skip
    finally:
        assert _stop_group(second, signal.SIGTERM) == 0
    runs = _sql(url, "SELECT outcome, attempt, worker FROM stage_runs WHERE stage = 'download'")
    assert [r[:2] for r in runs] == [("done", 1)], runs
    assert runs[0][2].endswith(f":{second.pid}")
    assert "Traceback" not in log.read_text()


async def test_put_back_restores_what_each_claim_found(db: Any, small_video: Path) -> None:
    """In one process: a stage cancelled in an outage and put back once the database answers
    leaves nothing counted for a redo elsewhere; a stop during a redo after a crash, or during
    a retry after a failure, leaves the crash and attempt counts the redo found."""
    vid = (await submit(db, str(small_video))).video_id
    t = states.DOWNLOAD

    async def item() -> tuple[Any, ...]:
        async with db.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT state, attempts, crashes FROM source_videos WHERE id=$1", vid
            )
        return tuple(row)

    async def cancelled(row: Any) -> None:
        raise asyncio.CancelledError

    async def killed_child(row: Any) -> None:  # what a stage sees when ffmpeg dies of SIGINT
        raise HeatersError("ffmpeg failed: Exiting normally, received signal 2.")

    async with open_runtime() as rt:
        with pytest.raises(asyncio.CancelledError):  # the lease ran out in an outage
            await runner.run_stage(rt, "video", vid, t, cancelled)
        assert await item() == ("downloading", 1, 0)
        assert await runner.put_back_abandoned(rt) == 1  # the database answers again
        assert await item() == ("new", 0, 0)
        runner._resume.clear()  # the redo lands in another process

        async with db.transaction() as conn:  # a worker dies holding it: the redo's claim
            await lifecycle.claim(conn, "video", t, vid)  # counts a crash
        assert await item() == ("downloading", 1, 0)
        runner.request_stop()
        try:
            for work in (cancelled, killed_child):
                with pytest.raises(runner.Interrupted):
                    await runner.run_stage(rt, "video", vid, t, work)
                assert await item() == ("downloading", 1, 0), "as the redo found it"
        finally:
            runner.clear_stop()
        async with db.acquire() as conn:
            runs = await conn.fetchval("SELECT count(*) FROM stage_runs WHERE item_id=$1", vid)
        assert runs == 0
        assert await video_stages.download_video(rt, vid) == "done"
        assert await item() == ("downloaded", 0, 0)
