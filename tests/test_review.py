"""Review actions on a real Postgres: decisions, undo, merge/split with a window, the
next-clip queue, and the refusals (double clicks, stale pages, two reviewers, bad edits)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from heaters import review
from heaters.db import fetch_all
from heaters.review import ClipNotFound, InvalidEdit, ReviewConflict

FPS = 24


async def _make_video(
    db: Any, cuts: list[int], n: int = 240, name: str = "v"
) -> tuple[int, list[int]]:
    """A detected video with ``n`` frames and clips at ``cuts``; returns (video id, clip ids)."""
    pts = [i / FPS for i in range(n)]
    bounds = [0, *cuts, n]
    async with db.transaction() as conn:
        vid = await conn.fetchval(
            "INSERT INTO source_videos (source_path, title, state, fps_num, fps_den, frame_count,"
            " duration_seconds, proxy_path) VALUES ($1, $1, 'detected', $2, 1, $3, $4, 'p.mp4')"
            " RETURNING id",
            name, FPS, n, n / FPS,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO frame_indexes VALUES ($1, $2, $3)", vid, pts, list(range(n))
        )
        ids = []
        for a, b in itertools.pairwise(bounds):
            ids.append(
                await conn.fetchval(
                    "INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame,"
                    " start_seconds, end_seconds) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    vid,
                    f"{vid}_{a}_{b}",
                    a,
                    b,
                    a / FPS,
                    b / FPS,
                )
            )
    return vid, ids


async def _states(db: Any, ids: list[int]) -> list[str]:
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT id, state FROM clips WHERE id = ANY($1)", ids)
    by_id = {r["id"]: r["state"] for r in rows}
    return [by_id[i] for i in ids]


class Jobs:
    """Records scheduled edit commits; cancels them (no queue needed for the service)."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[int, float]] = []
        self.cancelled: list[int] = []

    async def schedule(self, event_id: int, delay: float) -> int:
        self.scheduled.append((event_id, delay))
        return 1000 + event_id

    async def cancel(self, job_id: int) -> bool:
        self.cancelled.append(job_id)
        return True


async def test_decisions_apply_once_and_undo_restores(db: Any) -> None:
    _, ids = await _make_video(db, [48, 96, 150])
    jobs = Jobs()
    r = await review.decide(db, ids[0], "approve", "ann")
    assert r.message == f"clip {ids[0]} approved"
    with pytest.raises(ReviewConflict, match="already approved by ann"):
        await review.decide(db, ids[0], "approve", "ann")  # the double click
    with pytest.raises(ReviewConflict):
        await review.decide(db, ids[0], "skip", "bob")  # the second reviewer / stale page
    await review.decide(db, ids[1], "skip", "ann")
    await review.decide(db, ids[2], "archive", "ann")
    assert await _states(db, ids) == [
        "review_approved", "review_skipped", "review_archived", "pending_review",
    ]  # fmt: skip
    u = await review.undo(db, "ann", cancel=jobs.cancel)
    assert u.clip_ids == (ids[2],)
    u = await review.undo(db, "ann", cancel=jobs.cancel)
    assert u.clip_ids == (ids[1],)
    assert (await _states(db, ids))[:3] == ["review_approved", "pending_review", "pending_review"]
    async with db.acquire() as conn:
        reviewed = await conn.fetchrow(
            "SELECT reviewed_at, reviewed_by FROM clips WHERE id=$1", ids[1]
        )
        log = await conn.fetch(
            "SELECT action, undone_at IS NOT NULL AS undone FROM review_events ORDER BY id"
        )
    assert tuple(reviewed) == (None, None)
    assert [(e["action"], e["undone"]) for e in log] == [
        ("approve", False), ("skip", True), ("archive", True), ("undo", False), ("undo", False),
    ]  # fmt: skip
    assert jobs.cancelled == []


async def test_concurrent_double_click_applies_once(db: Any) -> None:
    _, ids = await _make_video(db, [100])
    results = await asyncio.gather(
        *(review.decide(db, ids[0], "approve", "ann") for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, ReviewConflict) for r in results if isinstance(r, Exception))
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM review_events") == 1


async def test_group_links_with_previous_and_undo(db: Any) -> None:
    _, ids = await _make_video(db, [50, 120])
    jobs = Jobs()
    with pytest.raises(InvalidEdit, match="first of its video"):
        await review.decide(db, ids[0], "group", "ann")
    r = await review.decide(db, ids[1], "group", "ann")
    assert set(r.clip_ids) == {ids[0], ids[1]}
    assert await _states(db, ids) == ["review_approved", "review_approved", "pending_review"]
    async with db.acquire() as conn:
        assert (
            await conn.fetchval("SELECT grouped_with_clip_id FROM clips WHERE id=$1", ids[1])
            == ids[0]
        )
    await review.undo(db, "ann", cancel=jobs.cancel)
    assert await _states(db, ids) == ["pending_review"] * 3


async def test_split_commits_after_the_window(db: Any) -> None:
    vid, ids = await _make_video(db, [100])
    jobs = Jobs()
    with pytest.raises(InvalidEdit, match="between 1 and 99"):
        await review.schedule_split(
            db, ids[0], 100, "ann", window_seconds=60, schedule=jobs.schedule
        )
    with pytest.raises(InvalidEdit):
        await review.schedule_split(db, ids[0], 0, "ann", window_seconds=60, schedule=jobs.schedule)
    r = await review.schedule_split(
        db, ids[0], 40, "ann", window_seconds=60, schedule=jobs.schedule
    )
    assert r.job_id == 1000 + r.event_id and jobs.scheduled == [(r.event_id, 60)]
    assert r.execute_after is not None
    # While pending, the clip is out of the queue and refuses other actions.
    with pytest.raises(ReviewConflict, match="pending split"):
        await review.decide(db, ids[0], "approve", "bob")
    nxt = await review.next_clip(db, "bob")
    assert nxt is not None and nxt.id == ids[1]

    assert await review.commit_edit(db, r.event_id) == "committed"
    assert await review.commit_edit(db, r.event_id) == "noop", "idempotent"
    clips = await review.video_clips(db, vid)
    live = [
        (c["start_frame"], c["end_frame"], c["state"]) for c in clips if c["superseded_by"] is None
    ]
    assert live == [
        (0, 40, "pending_review"),
        (40, 100, "pending_review"),
        (100, 240, "pending_review"),
    ]
    old = next(c for c in clips if c["id"] == ids[0])
    assert old["state"] == "split" and len(old["superseded_by"]) == 2
    new = next(c for c in clips if (c["start_frame"], c["end_frame"]) == (40, 100))
    assert new["start_seconds"] == 40 / FPS
    with pytest.raises(ReviewConflict, match="committed"):
        await review.undo(db, "ann", cancel=jobs.cancel, event_id=r.event_id)


async def test_merge_undo_inside_the_window_cancels(db: Any) -> None:
    vid, ids = await _make_video(db, [60, 130])
    jobs = Jobs()
    with pytest.raises(InvalidEdit, match="first of its video"):
        await review.schedule_merge(db, ids[0], "ann", window_seconds=60, schedule=jobs.schedule)
    r = await review.schedule_merge(db, ids[1], "ann", window_seconds=60, schedule=jobs.schedule)
    assert r.clip_ids == (ids[0], ids[1])
    with pytest.raises(ReviewConflict, match="pending merge"):
        await review.schedule_split(
            db, ids[0], 10, "ann", window_seconds=60, schedule=jobs.schedule
        )
    u = await review.undo(db, "ann", cancel=jobs.cancel)
    assert u.event_id == r.event_id and jobs.cancelled == [r.job_id]
    assert await review.commit_edit(db, r.event_id) == "noop", "an undone edit never commits"
    assert await _states(db, ids) == ["pending_review"] * 3
    # Merge, commit, then split back: the original clip row comes back, no duplicate.
    r = await review.schedule_merge(db, ids[1], "ann", window_seconds=60, schedule=jobs.schedule)
    await review.commit_edit(db, r.event_id)
    merged = next(c for c in await review.video_clips(db, vid) if c["superseded_by"] is None)
    assert (merged["start_frame"], merged["end_frame"]) == (0, 130)
    s = await review.schedule_split(
        db, merged["id"], 60, "ann", window_seconds=60, schedule=jobs.schedule
    )
    await review.commit_edit(db, s.event_id)
    live = [c["id"] for c in await review.video_clips(db, vid) if c["superseded_by"] is None]
    assert sorted(live) == sorted(ids)


async def test_merge_across_videos_and_unknown_clip_are_refused(db: Any) -> None:
    _, a = await _make_video(db, [50], name="a")
    _, b = await _make_video(db, [50], name="b")
    jobs = Jobs()
    with pytest.raises(InvalidEdit, match="different videos"):
        await review.schedule_merge(db, b[1], "ann", window_seconds=60, schedule=jobs.schedule,
                                    with_clip_id=a[0])  # fmt: skip
    with pytest.raises(ClipNotFound):
        await review.decide(db, 999999, "approve", "ann")
    with pytest.raises(ClipNotFound):
        await review.get_clip(db, 999999)
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM review_events") == 0


async def test_two_reviewers_never_get_the_same_clip(db: Any) -> None:
    _, _ids = await _make_video(db, [20, 40, 60, 80, 100, 120, 140, 160])
    got = await asyncio.gather(*(review.next_clip(db, f"r{i}") for i in range(8)))
    seen = [c.id for c in got if c is not None]
    assert len(seen) == len(set(seen)) == 8
    # A reviewer asking again keeps their clip; it comes with its PTS and neighbours.
    again = await review.next_clip(db, "r0")
    first = next(c for c in got if c is not None and c.claimed_by == "r0")
    assert again is not None and again.id == first.id
    assert len(again.pts) == again.frame_count + 1 or again.end_frame == 240
    assert again.pts[0] == again.start_frame / FPS
    queue = await review.next_clip(db, "r8")
    assert queue is not None and queue.id not in seen
    assert await review.next_clip(db, "r9") is None, "all nine clips are claimed"


async def test_history_lists_events(db: Any) -> None:
    _, ids = await _make_video(db, [100])
    await review.decide(db, ids[0], "approve", "ann")
    h = await review.history(db, limit=10)
    assert [e["action"] for e in h] == ["approve"] and h[0]["pending"] is False
    async with db.acquire() as conn:
        rows = await fetch_all(db.q.event_history(conn, limit=10, offset=0))
    assert len(rows) == 1
