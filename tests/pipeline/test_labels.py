"""Labels from review (issue 22): settled decisions become boundary labels through the
label_reviews stage; an undone one never does; the stage is idempotent."""

from __future__ import annotations

from typing import Any

from heaters import review
from heaters.db import fetch_all
from heaters.pipeline import labels
from heaters.pipeline.dispatcher import dispatch
from heaters.pipeline.labels import ClipFacts, Label, labels_of_event
from heaters.pipeline.stages import Stage, stage_named
from tests.review.test_review import LONG, _make_video


async def _labels(db: Any, vid: int) -> list[tuple[int, int, str, str]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT l.start_frame, l.end_frame, l.label, e.action FROM boundary_labels l"
            " JOIN review_events e ON e.id = l.event_id WHERE l.source_video_id = $1"
            " ORDER BY l.start_frame, l.label",
            vid,
        )
    return [(r["start_frame"], r["end_frame"], r["label"], r["action"]) for r in rows]


async def _found(db: Any) -> list[int]:
    """The events the label_reviews stage's finder hands out now (through the dispatcher)."""
    got: list[int] = []

    async def defer(stage: Stage, item: int) -> bool:
        got.append(item)
        return True

    await dispatch(db, defer, stages=[stage_named("label_reviews")])
    return got


async def _settle_all(db: Any) -> None:
    """Every event's window passes now (as time would; no sleep)."""
    async with db.acquire() as conn:
        await conn.execute("UPDATE review_events SET settles_at = now() - interval '1 second'")


async def test_settled_decisions_become_labels_and_undone_ones_never(db: Any) -> None:
    from heaters.pipeline.runtime import open_runtime

    vid, ids = await _make_video(db, [60, 120, 180], proxy=None)
    approved = await review.decide(db, ids[0], "approve", "ann", settle_seconds=LONG)
    split = await review.split(db, ids[1], 90, "ann", settle_seconds=LONG)
    moved = await review.move_boundary(db, ids[3], "start", 170, "bob", settle_seconds=LONG)
    merged = await review.merge(db, split.live_clip_ids[1], "bob", settle_seconds=LONG)
    await review.undo(db, "bob", event_id=merged.event_id)
    assert await _found(db) == []  # nothing has settled yet
    assert await _labels(db, vid) == []

    await _settle_all(db)
    found = await _found(db)
    assert set(found) == {approved.event_id, split.event_id, moved.event_id}
    async with open_runtime() as rt:
        for event_id in found:
            assert await stage_named("label_reviews").task(rt, event_id) == "done"
        again = await labels.label_event(rt, found[0])
    assert again == "noop"  # a repeat writes nothing twice
    assert await _found(db) == []
    assert await _labels(db, vid) == [
        (1, 60, "not_cut", "approve"),  # approved [0, 60): nothing inside it...
        (60, 61, "cut", "approve"),  # ... and its end confirmed
        (90, 91, "cut", "split"),
        (170, 171, "cut", "move_boundary"),
        (180, 181, "not_cut", "move_boundary"),
    ]  # and nothing from the undone merge
    async with db.acquire() as conn:
        settled = await fetch_all(db.q.video_labels(conn, ids=[vid]))
    assert {r["reviewer"] for r in settled} == {"ann", "bob"}


async def test_a_skip_is_read_once_and_says_nothing(db: Any) -> None:
    vid, ids = await _make_video(db, [60], proxy=None)
    skipped = await review.decide(db, ids[0], "skip", "ann", settle_seconds=0)
    await _settle_all(db)
    assert await _found(db) == [skipped.event_id]
    assert await labels.record_labels(db, skipped.event_id) == 0
    assert await _found(db) == []
    assert await _labels(db, vid) == []


def _clip(i: int, s: int, e: int, **kw: Any) -> ClipFacts:
    return ClipFacts(i, 7, s, e, kw.pop("is_transition", False), 240, **kw)


def test_what_each_action_says() -> None:
    clips = {
        1: _clip(1, 0, 50, transition_after=True),
        2: _clip(2, 50, 62, is_transition=True),
        3: _clip(3, 62, 240),
    }
    # an approved shot next to a transition: its edge there is the transition's, not a cut
    assert labels_of_event("approve", {"after": [{"id": 1}]}, clips) == [
        Label(7, 1, 50, "not_cut"),
    ]
    assert labels_of_event("approve", {"after": [{"id": 2}]}, clips) == [
        Label(7, 50, 62, "gradual"),
    ]
    # the last clip: its end is the video's end, no cut
    assert labels_of_event("group", {"after": [{"id": 3}]}, clips) == [
        Label(7, 62, 63, "cut"),
        Label(7, 63, 240, "not_cut"),
    ]
    # a transition clip merged away into the shot before it: no boundary over its frames
    merge = {"before": [{"id": 1}, {"id": 2}], "spans": [[0, 62]]}
    assert labels_of_event("merge", merge, clips) == [Label(7, 50, 62, "not_cut")]
    assert labels_of_event("skip", {"after": [{"id": 3}]}, clips) == []
