"""The settle window with a real worker: export and archive wait until a decision settles,
an undo inside the window leaves nothing for the worker, and an edit logged before issue 12
(waiting for a commit job) is closed by migration 0018."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from heaters import review
from tests.review.test_review import LONG, _make_video


async def _wait_for(db: Any, sql: str, *args: Any, timeout: float = 60) -> Any:
    """Poll ``sql`` until it returns a truthy value (the condition), then return it."""
    async with asyncio.timeout(timeout):
        while True:
            async with db.acquire() as conn:
                value = await conn.fetchval(sql, *args)
            if value:
                return value
            await asyncio.sleep(0.1)


async def _dispatches(db: Any) -> int:
    async with db.acquire() as conn:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'heaters.dispatch'"
            " AND status = 'succeeded'"
        )
    return n


async def _runs_on(db: Any, ids: list[int]) -> list[tuple[str, int]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT stage, item_id FROM stage_runs WHERE item_kind = 'clip'"
            " AND item_id = ANY($1) AND stage IN ('export', 'archive')",
            ids,
        )
    return [(r["stage"], r["item_id"]) for r in rows]


@contextlib.asynccontextmanager
async def _worker() -> Any:
    from workers.app import app, run_worker
    from workers.runtime import close_runtime

    async with app.open_async():
        task = asyncio.create_task(run_worker(install_signal_handlers=False))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await close_runtime()


async def test_export_and_archive_wait_for_the_settle_window(
    db: Any, heaters_env: dict[str, str]
) -> None:
    # No proxy: no sprite jobs, and the export fails fast; what matters is when it starts.
    _, ids = await _make_video(db, [60, 130], proxy=None)
    async with _worker():
        a = await review.decide(db, ids[0], "approve", "ann", settle_seconds=2)
        k = await review.decide(db, ids[1], "archive", "ann", settle_seconds=2)
        assert a.settles_at is not None and k.settles_at is not None
        for stage, clip_id in (("export", ids[0]), ("archive", ids[1])):
            started = await _wait_for(
                db,
                "SELECT min(started_at) FROM stage_runs WHERE stage = $1 AND item_id = $2",
                stage, clip_id,
            )  # fmt: skip
            settles = a.settles_at if stage == "export" else k.settles_at
            assert started >= settles, f"{stage} started before the decision settled"


@pytest.mark.parametrize("join", ["merge", "group"])
async def test_approve_then_join_the_next_then_undo_both_while_the_worker_runs(
    db: Any, heaters_env: dict[str, str], join: str
) -> None:
    """Approve clip A, then merge (or group) clip B into it, with a worker exporting what
    settles: nothing of A or B is exported inside the window; undo, undo restores both."""
    vid, ids = await _make_video(db, [60, 130], proxy=None)
    async with _worker():
        await review.decide(db, ids[0], "approve", "ann", settle_seconds=LONG)
        m = await review.act(db, ids[1], join, "ann", settle_seconds=LONG)
        (merged,) = m.live_clip_ids if join == "merge" else (ids[1],)
        assert (await review.get_clip(db, merged)).state == "review_approved"
        # The worker keeps dispatching (every second) and exports what has settled…
        seen = await _dispatches(db)
        other = await review.decide(db, ids[2], "approve", "bob", settle_seconds=0)
        await _wait_for(
            db, "SELECT 1 FROM stage_runs WHERE stage = 'export' AND item_id = $1", ids[2]
        )
        await _wait_for(
            db,
            "SELECT count(*) >= $1 FROM procrastinate_jobs WHERE task_name = 'heaters.dispatch'"
            " AND status = 'succeeded'",
            seen + 2,
        )
        # …but nothing of what is still settling.
        assert await _runs_on(db, [ids[0], ids[1], merged]) == []
        await review.undo(db, "ann")
        await review.undo(db, "ann")
        assert other.event_id > m.event_id
    live = [(c["start_frame"], c["end_frame"], c["state"]) for c in await review.video_clips(db, vid)
            if c["superseded_by"] is None]  # fmt: skip
    assert live[:2] == [(0, 60, "pending_review"), (60, 130, "pending_review")]
    assert await _runs_on(db, [ids[0], ids[1], merged]) == []


async def test_edits_logged_before_issue_12_are_closed_by_migration_0018(
    db: Any, heaters_env: dict[str, str]
) -> None:
    """Merges logged by the former code (waiting for a commit job, no ``after`` snapshot) are
    committed by migration 0018 as the removed commit_edits stage did, or dropped (marked
    undone) when their clips moved on; nothing else changes."""
    from alembic import command

    from heaters.db.migrate import alembic_config, upgrade

    vid, ids = await _make_video(db, [60, 130], proxy=None)
    url = heaters_env["DATABASE_URL"]
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0017")
    async with db.acquire() as conn:
        legacy = await conn.fetchval(
            "INSERT INTO review_events (clip_ids, action, reviewer, payload, settles_at)"
            " VALUES ($1, 'merge', 'ann', $2, now()) RETURNING id",
            [ids[0], ids[1]],
            {"before": [], "spans": [[0, 130]]},
        )
        await conn.execute("UPDATE clips SET state = 'review_approved' WHERE id = $1", ids[2])
        dropped = await conn.fetchval(
            "INSERT INTO review_events (clip_ids, action, reviewer, payload, settles_at)"
            " VALUES ($1, 'merge', 'bob', $2, now()) RETURNING id",
            [ids[1], ids[2]],
            {"before": [], "spans": [[60, 240]]},
        )
    await asyncio.to_thread(upgrade, url)
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM review_events WHERE id = ANY($1)", [legacy, dropped]
        )
    events = {r["id"]: (r["committed_at"] is not None, r["undone_at"] is not None) for r in rows}
    assert events == {legacy: (True, False), dropped: (False, True)}
    live = [(c["start_frame"], c["end_frame"], c["state"]) for c in await review.video_clips(db, vid)
            if c["superseded_by"] is None]  # fmt: skip
    assert live == [(0, 130, "pending_review"), (130, 240, "review_approved")]
    merged = next(c for c in await review.video_clips(db, vid) if c["id"] == ids[0])
    assert merged["state"] == "merged" and len(merged["superseded_by"]) == 1
