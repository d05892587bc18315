"""The fence: a finish or a fail counts only under the claim's current token.

Every claim of an item takes a new ``claim_token``; a worker whose claim was taken over (it
stalled past the stalled-after time, or a partition cut it off and its job ran elsewhere)
can neither finish nor fail the item: its statement changes nothing, its rows roll back with
it, and ``run_stage`` logs ``video N: claim lost to another worker (stale token), result
discarded``. Shown for each lifecycle table (real Postgres), for the sprite, whose claim
does not count an attempt, and for a real stage (detect) whose claim is taken over just
before its commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from heaters.db import lifecycle
from heaters.domain import states
from heaters.domain.states import ItemKind, Transition
from heaters.errors import HeatersError
from heaters.pipeline import preprocess_stages, runner, video_stages
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit
from tests.conftest import run_to_detected

# (kind, transition, the state the item is made ready in, a column the finish sets)
CASES: list[tuple[ItemKind, Transition, str, str | None]] = [
    ("video", states.DETECT, str(states.VideoState.PREPROCESSED), None),
    ("clip", states.EXPORT, str(states.ClipState.REVIEW_APPROVED), "clip_path"),
    ("segment", states.ENCODE_SEGMENT, str(states.SegmentState.PENDING), "proxy_key"),
]


async def _item(db: Any, kind: ItemKind, state: str) -> int:
    """A fresh item of ``kind`` in ``state`` (a segment's video is being segmented)."""
    async with db.transaction() as conn:
        video_state = "segmenting" if kind == "segment" else "detected"
        vid = await conn.fetchval(
            "INSERT INTO source_videos (source_path, title, state, fps_num, fps_den,"
            " frame_count, duration_seconds, proxy_path, original_path)"
            " VALUES ('/x.mp4', 'x', $1, 25, 1, 50, 2.0, 'p.mp4', 'o.mp4') RETURNING id",
            state if kind == "video" else video_state,
        )
        if kind == "video":
            return int(vid)
        if kind == "clip":
            return int(
                await conn.fetchval(
                    "INSERT INTO clips (source_video_id, clip_identifier, start_frame,"
                    " end_frame, start_seconds, end_seconds, state)"
                    " VALUES ($1, $2, 0, 50, 0, 2.0, $3) RETURNING id",
                    vid,
                    f"{vid}_0_50",
                    state,
                )
            )
        return int(
            await conn.fetchval(
                "INSERT INTO video_segments (source_video_id, index, first_frame, frame_count,"
                " start_pts, time_base_num, time_base_den, origin_pts, state)"
                " VALUES ($1, 0, 0, 50, 0, 1, 25, 0, $2) RETURNING id",
                vid,
                state,
            )
        )


async def _row(db: Any, kind: ItemKind, item_id: int) -> asyncpg.Record:
    async with db.acquire() as conn:
        row: asyncpg.Record | None = await conn.fetchrow(
            f"SELECT * FROM {lifecycle.TABLES[kind]} WHERE id = $1", item_id
        )
    assert row is not None
    return row


async def _claim(db: Any, kind: ItemKind, t: Transition, item_id: int) -> asyncpg.Record:
    async with db.transaction() as conn:
        row = await lifecycle.claim(conn, kind, t, item_id)
    assert row is not None
    return row


async def _fail(db: Any, kind: ItemKind, t: Transition, item_id: int, token: Any) -> Any:
    async with db.transaction() as conn:
        return await lifecycle.fail(
            conn, kind, t, item_id, token=token, error="A's failure", transient=True,
            max_attempts=3, backoff_seconds=1.0,
        )  # fmt: skip


def _columns(column: str | None, value: str) -> dict[str, Any]:
    if column is None:
        return {}
    extra: dict[str, Any] = {"small_key": f"{value}-small"} if column == "proxy_key" else {}
    return {column: value, **extra}


@pytest.mark.parametrize(("kind", "t", "ready", "column"), CASES, ids=[c[0] for c in CASES])
async def test_a_stale_claim_can_neither_finish_nor_fail(
    db: Any, kind: ItemKind, t: Transition, ready: str, column: str | None
) -> None:
    item = await _item(db, kind, ready)
    a = await _claim(db, kind, t, item)
    # A's worker is presumed dead: the item is still running, and a redo claims it as B.
    b = await _claim(db, kind, t, item)
    assert a["claim_token"] is not None and b["claim_token"] is not None
    assert a["claim_token"] != b["claim_token"]
    assert (await _row(db, kind, item))["claim_token"] == b["claim_token"]

    # A's finish: refused, and the transaction it ran in rolls back with it.
    with pytest.raises(lifecycle.ClaimLost, match="claim lost to another worker"):
        async with db.transaction() as conn:
            await conn.execute(
                f"UPDATE {lifecycle.TABLES[kind]} SET last_error = 'A wrote this' WHERE id = $1",
                item,
            )
            await lifecycle.finish(
                conn, kind, t, item, token=a["claim_token"], **_columns(column, "A")
            )
    row = await _row(db, kind, item)
    assert row["state"] == t.running
    assert row["last_error"] is None

    # A's fail: nothing changed.
    assert await _fail(db, kind, t, item, a["claim_token"]) is None
    row = await _row(db, kind, item)
    assert (row["state"], row["last_error"], row["next_attempt_at"]) == (t.running, None, None)

    # B's finish works, and the row shows B's result only.
    async with db.transaction() as conn:
        await lifecycle.finish(conn, kind, t, item, token=b["claim_token"], **_columns(column, "B"))
    row = await _row(db, kind, item)
    assert row["state"] == t.done
    assert row["attempts"] == 0
    if column is not None:
        assert row[column] == "B"

    # A late finish or fail of A's, now that B has finished, changes nothing either.
    with pytest.raises(lifecycle.ClaimLost):
        async with db.transaction() as conn:
            await lifecycle.finish(
                conn, kind, t, item, token=a["claim_token"], **_columns(column, "A")
            )
    assert await _fail(db, kind, t, item, a["claim_token"]) is None
    row = await _row(db, kind, item)
    assert row["state"] == t.done
    if column is not None:
        assert row[column] == "B"


@pytest.mark.parametrize(("kind", "t", "ready", "column"), CASES, ids=[c[0] for c in CASES])
async def test_the_current_claim_fails_under_its_token(
    db: Any, kind: ItemKind, t: Transition, ready: str, column: str | None
) -> None:
    item = await _item(db, kind, ready)
    a = await _claim(db, kind, t, item)
    b = await _claim(db, kind, t, item)
    failed = await _fail(db, kind, t, item, b["claim_token"])
    assert failed is not None
    assert failed["state"] == t.failed
    assert (await _row(db, kind, item))["last_error"] == "A's failure"
    # A's token does not come back with a later claim: each claim takes a new one.
    c = await _claim(db, kind, t, item)
    assert c["claim_token"] not in (a["claim_token"], b["claim_token"])


async def test_the_sprite_claim_takes_a_new_token_though_its_attempts_do_not_count(
    db: Any,
) -> None:
    """The sprite changes no state and counts no attempt on a plain redo: the attempt counter
    cannot fence it, the token does."""
    clip = await _item(db, "clip", str(states.ClipState.PENDING_REVIEW))
    a = await _claim(db, "clip", states.SPRITE, clip)
    b = await _claim(db, "clip", states.SPRITE, clip)
    assert a["attempts"] == b["attempts"] == 1
    assert a["claim_token"] != b["claim_token"]
    with pytest.raises(lifecycle.ClaimLost):
        async with db.transaction() as conn:
            await lifecycle.finish(conn, "clip", states.SPRITE, clip, token=a["claim_token"])
    async with db.transaction() as conn:
        await lifecycle.finish(conn, "clip", states.SPRITE, clip, token=b["claim_token"])


async def _run_taken_over(
    db: Any, kind: ItemKind, t: Transition, item: int, then: Callable[[Any], Awaitable[Any]]
) -> tuple[str, asyncpg.Record]:
    """run_stage on ``item`` whose work sees the item claimed again (by "B") and then does
    ``then(row)``; returns the outcome and B's claim."""
    taken: list[asyncpg.Record] = []

    async def work(row: asyncpg.Record) -> Any:
        taken.append(await _claim(db, kind, t, item))
        return await then(row)

    async with open_runtime() as rt:
        outcome = await runner.run_stage(rt, kind, item, t, work)
    return outcome, taken[0]


async def test_run_stage_discards_a_lost_claims_finish_and_fail(
    db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="heaters.pipeline.runner")
    video = await _item(db, "video", str(states.VideoState.PREPROCESSED))

    async def finish(row: asyncpg.Record) -> None:
        async with db.transaction() as conn:
            await lifecycle.finish(conn, "video", states.DETECT, video, token=row["claim_token"])

    outcome, b = await _run_taken_over(db, "video", states.DETECT, video, finish)
    assert outcome == "lost"
    line = f"video {video}: claim lost to another worker (stale token), result discarded"
    assert [r.getMessage() for r in caplog.records].count(line) == 1
    row = await _row(db, "video", video)
    assert (row["state"], row["claim_token"]) == (states.DETECT.running, b["claim_token"])

    async def failing(row: asyncpg.Record) -> None:
        raise HeatersError("A's failure")

    caplog.clear()
    outcome, b = await _run_taken_over(db, "video", states.DETECT, video, failing)
    assert outcome == "lost"
    assert [r.getMessage() for r in caplog.records].count(line) == 1
    row = await _row(db, "video", video)
    assert (row["state"], row["last_error"]) == (states.DETECT.running, None)
    assert row["claim_token"] == b["claim_token"]
    async with db.acquire() as conn:
        outcomes = [r["outcome"] for r in await conn.fetch(
            "SELECT outcome FROM stage_runs WHERE item_id = $1 ORDER BY id", video
        )]  # fmt: skip
    assert outcomes == ["lost", "lost"]


async def test_a_detect_whose_claim_is_taken_over_commits_no_clips(
    db: Any, small_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real detect: just before its commit another worker claims the video and finishes
    its detect with no clips; the stale detect's clips roll back with its refused finish."""
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "done"
        assert await preprocess_stages.preprocess_video(rt, vid) == "done"

        async def other_worker(rt_: Any, stage: str) -> None:
            if stage == "detect":
                b = await _claim(db, "video", states.DETECT, vid)
                async with db.transaction() as conn:
                    await lifecycle.finish(
                        conn, "video", states.DETECT, vid, token=b["claim_token"]
                    )

        monkeypatch.setattr(video_stages, "pause_point", other_worker)
        assert await video_stages.detect_video(rt, vid) == "lost"
    assert (await _row(db, "video", vid))["state"] == states.VideoState.DETECTED
    async with db.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM clips WHERE source_video_id = $1", vid) == 0
        )


async def test_a_claim_whose_item_left_its_running_state_is_lost_but_not_taken_over(
    db: Any,
) -> None:
    item = await _item(db, "clip", str(states.ClipState.REVIEW_APPROVED))
    a = await _claim(db, "clip", states.EXPORT, item)
    async with db.acquire() as conn:  # an operator moved it on; nobody claimed it
        await conn.execute("UPDATE clips SET state = 'export_failed' WHERE id = $1", item)
    with pytest.raises(lifecycle.ClaimLost, match="it left its running state") as lost:
        async with db.transaction() as conn:
            await lifecycle.finish(conn, "clip", states.EXPORT, item, token=a["claim_token"])
    assert not lost.value.taken_over
    assert (await _row(db, "clip", item))["state"] == "export_failed"


@pytest.mark.parametrize("meanwhile", ["approved", "claimed again"])
async def test_a_sprite_whose_clip_moves_on_meanwhile(
    db: Any, small_video: Path, monkeypatch: pytest.MonkeyPatch, meanwhile: str
) -> None:
    """Approved while its sprite is made (nobody else claimed it): the sprite is kept, as
    before the fence, and the clip stays approved. Claimed again by another sprite job: the
    first one's result is discarded (no row of its own)."""
    from heaters.pipeline import artifact_stages

    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        await run_to_detected(rt, vid)
        async with db.acquire() as conn:
            clip = await conn.fetchval("SELECT min(id) FROM clips WHERE source_video_id = $1", vid)

        async def reviewer_or_other_worker(rt_: Any, stage: str) -> None:
            if stage != "sprite":
                return
            if meanwhile == "approved":
                async with db.acquire() as conn:
                    await conn.execute(
                        "UPDATE clips SET state = 'review_approved' WHERE id = $1", clip
                    )
            else:
                await _claim(db, "clip", states.SPRITE, clip)

        monkeypatch.setattr(artifact_stages, "pause_point", reviewer_or_other_worker)
        outcome = await artifact_stages.make_clip_sprite(rt, clip)
    async with db.acquire() as conn:
        sprites = await conn.fetchval(
            "SELECT count(*) FROM clip_artifacts WHERE clip_id = $1 AND kind = 'sprite'", clip
        )
    if meanwhile == "approved":
        assert (outcome, sprites) == ("done", 1)
        assert (await _row(db, "clip", clip))["state"] == "review_approved"
    else:
        assert (outcome, sprites) == ("lost", 0)
        assert (await _row(db, "clip", clip))["state"] == "pending_review"
