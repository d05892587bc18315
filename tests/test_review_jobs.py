"""Merge/split through the real queue: the scheduled job commits after the window, undo
cancels it, and a lost job is committed by the dispatcher's commit_edits stage."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from heaters import review
from tests.test_review import _make_video


async def _wait_committed(db: Any, event_id: int, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while True:
            async with db.acquire() as conn:
                if await conn.fetchval(
                    "SELECT committed_at IS NOT NULL FROM review_events WHERE id=$1", event_id
                ):
                    return
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def _worker() -> Any:
    from workers.app import run_worker
    from workers.runtime import close_runtime

    task = asyncio.create_task(run_worker(install_signal_handlers=False))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await close_runtime()


async def test_scheduled_commit_undo_and_lost_job(db: Any, heaters_env: dict[str, str]) -> None:
    from workers.app import app, cancel_job, schedule_edit_commit

    vid, ids = await _make_video(db, [60, 130])
    async with app.open_async():
        # Undo inside the window cancels the real job.
        r = await review.schedule_merge(
            db, ids[1], "ann", window_seconds=30, schedule=schedule_edit_commit
        )
        await review.undo(db, "ann", cancel=cancel_job)
        async with db.acquire() as conn:
            status = await conn.fetchval(
                "SELECT status FROM procrastinate_jobs WHERE id=$1", r.job_id
            )
        assert status == "cancelled"

        # A split with a 1 s window is committed by its scheduled job.
        s = await review.schedule_split(
            db, ids[0], 30, "ann", window_seconds=1, schedule=schedule_edit_commit
        )

        # A merge whose job was lost (never deferred) is committed by the dispatcher.
        async def lose(event_id: int, delay: float) -> int:
            return -1

        m = await review.schedule_merge(db, ids[2], "ann", window_seconds=0.5, schedule=lose)
        async with _worker():
            await _wait_committed(db, s.event_id)
            await _wait_committed(db, m.event_id)
    live = [(c["start_frame"], c["end_frame"]) for c in await review.video_clips(db, vid)
            if c["superseded_by"] is None]  # fmt: skip
    assert live == [(0, 30), (30, 60), (60, 240)]
    async with db.acquire() as conn:
        jobs = await conn.fetch(
            "SELECT args, status FROM procrastinate_jobs WHERE task_name = 'heaters.commit_edits'"
            " ORDER BY id"
        )
    assert [(j["args"]["item_id"], j["status"]) for j in jobs] == [
        (r.event_id, "cancelled"), (s.event_id, "succeeded"), (m.event_id, "succeeded"),
    ]  # fmt: skip
