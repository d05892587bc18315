"""The dispatcher on a real Postgres with procrastinate: one job per stage and item, ever."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from heaters.pipeline.dispatcher import dispatch
from heaters.pipeline.stages import STAGES
from heaters.pipeline.submit import submit


async def _jobs(db: Any) -> list[Any]:
    async with db.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT task_name, queueing_lock, lock, queue_name AS queue, status, args "
                "FROM procrastinate_jobs WHERE task_name <> 'heaters.dispatch' ORDER BY id"
            )
        )


async def test_dispatcher_never_queues_an_item_twice(db: Any, tmp_path: Path) -> None:
    from workers.app import app, defer_stage

    ids = []
    for i in range(5):
        f = tmp_path / f"v{i}.mp4"
        f.write_bytes(b"x" * (i + 1))
        ids.append((await submit(db, str(f))).video_id)
    async with app.open_async():
        first = await dispatch(db, defer_stage)
        # Concurrent and repeated runs find the same items but defer nothing more.
        again = await asyncio.gather(*(dispatch(db, defer_stage) for _ in range(4)))
    assert first.deferred == {"download": ids}
    assert all(r.total == 0 for r in again)
    jobs = await _jobs(db)
    assert [j["queueing_lock"] for j in jobs] == [f"download:{i}" for i in ids]
    assert {j["lock"] for j in jobs} == {f"video:{i}" for i in ids}
    assert {j["queue"] for j in jobs} == {"io"}
    assert [j["args"]["item_id"] for j in jobs] == ids


async def test_running_job_blocks_a_second_defer(db: Any, tmp_path: Path) -> None:
    """A job being worked on (``doing``) is not queued again even though the item's state
    has not moved yet (the queueing lock alone only covers ``todo``)."""
    from workers.app import app, defer_stage

    f = tmp_path / "v.mp4"
    f.write_bytes(b"data")
    vid = (await submit(db, str(f))).video_id
    async with app.open_async():
        await dispatch(db, defer_stage)
        worker_id = await app.job_manager.register_worker()
        job = await app.job_manager.fetch_job(queues=["io"], worker_id=worker_id)
        assert job is not None and job.status == "doing"
        report = await dispatch(db, defer_stage)
    assert report.total == 0
    assert len(await _jobs(db)) == 1
    assert vid


def test_stage_list_reads_as_the_pipeline() -> None:
    names = ["download", "preprocess", "preprocess_segment", "join", "detect"]
    assert [s.name for s in STAGES][:5] == names
    assert [s.states for s in STAGES][:5] == [
        ("new", "download_failed"),
        ("downloaded", "preprocess_failed"),
        ("pending", "encode_failed"),  # a long video's segments (video_segments)
        ("segmenting", "join_failed"),
        ("preprocessed", "detect_failed"),
    ]
    assert STAGES[0].queueing_lock(3) == "download:3" and STAGES[1].lock(3) == "video:3"
    assert STAGES[2].lock(3) == "segment:3" and STAGES[3].lock(3) == "video:3"


async def test_tick_retries_stalled_jobs_even_when_a_dispatcher_copy_waits(
    db: Any, tmp_path: Path
) -> None:
    """A killed worker leaves a stage job and a dispatcher run ``doing``; a new dispatcher run
    is already waiting under the same queueing lock. The tick must still put the stage job
    back in the queue (and close the redundant dispatcher run)."""
    from workers.app import app, defer_dispatch, defer_stage, tick

    f = tmp_path / "v.mp4"
    f.write_bytes(b"data")
    await submit(db, str(f))
    async with app.open_async():
        await dispatch(db, defer_stage)
        dead = await app.job_manager.register_worker()
        stage_job = await app.job_manager.fetch_job(queues=["io"], worker_id=dead)
        await defer_dispatch()
        dispatch_job = await app.job_manager.fetch_job(queues=["default"], worker_id=dead)
        assert stage_job is not None and dispatch_job is not None
        await defer_dispatch()  # the next run, waiting under the same queueing lock
        await app.job_manager.unregister_worker(dead)  # the worker is gone: its jobs stall
        await tick.func(None, timestamp=0)
    async with db.acquire() as conn:
        status = {
            r["id"]: r["status"]
            for r in await conn.fetch("SELECT id, status::text FROM procrastinate_jobs")
        }
    assert status[stage_job.id] == "todo", "the stalled stage job is queued again"
    assert status[dispatch_job.id] == "failed", "the redundant dispatcher run is closed"
    assert sorted(status.values()).count("todo") == 2


async def test_a_paused_queue_gets_no_work_until_resumed(db: Any, tmp_path: Path) -> None:
    """Pausing ``io`` withdraws its waiting download jobs and defers none; the videos stay
    ``new`` (nothing lost); resuming hands them out again."""
    from heaters.pipeline.dispatcher import pause_queue, resume_queue
    from workers.app import app, defer_stage

    ids = []
    for i in range(3):
        f = tmp_path / f"v{i}.mp4"
        f.write_bytes(b"x" * (i + 1))
        ids.append((await submit(db, str(f))).video_id)
    async with app.open_async():
        assert (await dispatch(db, defer_stage)).deferred == {"download": ids}
        assert await pause_queue(db, "io", by="ops") == 3
        assert await _jobs(db) == []
        assert (await dispatch(db, defer_stage)).total == 0
        async with db.acquire() as conn:
            states = await conn.fetch("SELECT state FROM source_videos ORDER BY id")
        assert [r["state"] for r in states] == ["new"] * 3
        assert await resume_queue(db, "io") and not await resume_queue(db, "io")
        assert (await dispatch(db, defer_stage)).deferred == {"download": ids}
    with pytest.raises(ValueError, match="unknown queue 'nope'"):
        await pause_queue(db, "nope")
