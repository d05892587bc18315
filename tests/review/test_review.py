"""Review actions on a real Postgres: decisions that settle, undo (repeatedly, in order),
merge/split/boundary moves applied at once, hard claims, the queue, reopen, and the refusals
(double clicks, stale pages, two reviewers, bad edits)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from heaters import review
from heaters.db import fetch_all, ready
from heaters.domain import states
from heaters.review import ClipNotFound, InvalidEdit, ReviewConflict

FPS = 24
#: A settle window no test outlives: decisions stay undoable for the whole test.
LONG = 600.0


async def _make_video(
    db: Any,
    cuts: list[int],
    n: int = 240,
    name: str = "v",
    *,
    proxy: str | None = "p.mp4",
    transitions: dict[int, str] | None = None,
    confidence: dict[int, float] | None = None,
) -> tuple[int, list[int]]:
    """A detected video with ``n`` frames and clips at ``cuts``; returns (video id, clip ids).

    ``transitions`` marks clip ``i`` (by index) as a transition of that kind; ``confidence``
    sets clip ``i``'s boundary confidence. ``proxy=None``: no proxy (no sprite jobs)."""
    pts = [i / FPS for i in range(n)]
    bounds = [0, *cuts, n]
    transitions = transitions or {}
    confidence = confidence or {}
    async with db.transaction() as conn:
        vid = await conn.fetchval(
            "INSERT INTO source_videos (source_path, title, state, fps_num, fps_den, frame_count,"
            " duration_seconds, proxy_path) VALUES ($1, $1, 'detected', $2, 1, $3, $4, $5)"
            " RETURNING id",
            name, FPS, n, n / FPS, proxy,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO frame_indexes VALUES ($1, $2, $3)", vid, pts, list(range(n))
        )
        ids = []
        for i, (a, b) in enumerate(itertools.pairwise(bounds)):
            ids.append(
                await conn.fetchval(
                    "INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame,"
                    " start_seconds, end_seconds, is_transition, transition_kind,"
                    " boundary_confidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                    " RETURNING id",
                    vid,
                    f"{vid}_{a}_{b}",
                    a,
                    b,
                    a / FPS,
                    b / FPS,
                    i in transitions,
                    transitions.get(i),
                    confidence.get(i),
                )
            )
    return vid, ids


async def _states(db: Any, ids: list[int]) -> list[str]:
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT id, state FROM clips WHERE id = ANY($1)", ids)
    by_id = {r["id"]: r["state"] for r in rows}
    return [by_id[i] for i in ids]


async def _live(db: Any, vid: int) -> list[tuple[int, int, str]]:
    return [
        (c["start_frame"], c["end_frame"], c["state"])
        for c in await review.video_clips(db, vid)
        if c["superseded_by"] is None
    ]


async def test_decisions_apply_once_and_undo_restores(db: Any) -> None:
    _, ids = await _make_video(db, [48, 96, 150])
    r = await review.decide(db, ids[0], "approve", "ann", settle_seconds=LONG)
    assert r.message == f"clip {ids[0]} approved" and r.live_clip_ids == (ids[0],)
    async with db.acquire() as conn:
        now = await conn.fetchval("SELECT now()")
    assert r.settles_at is not None and 590 < (r.settles_at - now).total_seconds() <= 600
    with pytest.raises(ReviewConflict, match="already approved by ann"):
        await review.decide(db, ids[0], "approve", "ann")  # the double click
    with pytest.raises(ReviewConflict):
        await review.decide(db, ids[0], "skip", "bob")  # the second reviewer / stale page
    await review.decide(db, ids[1], "skip", "ann", settle_seconds=LONG)
    await review.decide(db, ids[2], "archive", "ann", settle_seconds=LONG)
    assert await _states(db, ids) == [
        "review_approved", "review_skipped", "review_archived", "pending_review",
    ]  # fmt: skip
    # The clip's pending decision, as the page and the API show it.
    view = await review.get_clip(db, ids[2])
    assert view.pending is not None and view.pending.action == "archive"
    assert view.pending.reviewer == "ann" and view.pending.settles_at > now
    # Undo, undo, undo: the latest own decision each time.
    u = await review.undo(db, "ann")
    assert u.clip_ids == (ids[2],) and u.live_clip_ids == (ids[2],)
    u = await review.undo(db, "ann")
    assert u.clip_ids == (ids[1],)
    assert (await _states(db, ids))[:3] == ["review_approved", "pending_review", "pending_review"]
    assert (await review.get_clip(db, ids[2])).pending is None
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
    u = await review.undo(db, "ann")
    assert u.clip_ids == (ids[0],)
    with pytest.raises(ReviewConflict, match="nothing to undo"):
        await review.undo(db, "ann")
    assert await _states(db, ids) == ["pending_review"] * 4


async def test_settled_decisions_cannot_be_undone_or_reopened(db: Any) -> None:
    _, ids = await _make_video(db, [60, 120])
    r = await review.decide(db, ids[0], "approve", "ann", settle_seconds=0)
    with pytest.raises(ReviewConflict, match="nothing to undo"):
        await review.undo(db, "ann")
    with pytest.raises(ReviewConflict, match=r"approve of clip \d+ \(event \d+\) settled at"):
        await review.undo(db, "ann", event_id=r.event_id)
    with pytest.raises(ReviewConflict, match=r"decision has settled .* no longer be reopened"):
        await review.reopen(db, ids[0], "ann")
    with pytest.raises(ReviewConflict, match="decision has settled"):
        await review.merge(db, ids[1], "ann")  # into the settled approved clip
    with pytest.raises(ReviewConflict, match="pending review: there is nothing to reopen"):
        await review.reopen(db, ids[1], "ann")
    # Reopen inside the window: the skip is undone.
    await review.decide(db, ids[2], "skip", "ann", settle_seconds=LONG)
    o = await review.reopen(db, ids[2], "bob")
    assert o.action == "undo" and await _states(db, ids[2:]) == ["pending_review"]
    assert await _states(db, ids[:1]) == ["review_approved"]


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
    with pytest.raises(InvalidEdit, match="first of its video"):
        await review.decide(db, ids[0], "group", "ann")
    r = await review.decide(db, ids[1], "group", "ann", settle_seconds=LONG)
    assert set(r.clip_ids) == {ids[0], ids[1]}
    assert await _states(db, ids) == ["review_approved", "review_approved", "pending_review"]
    async with db.acquire() as conn:
        assert (
            await conn.fetchval("SELECT grouped_with_clip_id FROM clips WHERE id=$1", ids[1])
            == ids[0]
        )
    await review.undo(db, "ann")
    assert await _states(db, ids) == ["pending_review"] * 3


async def test_approve_then_group_the_next_into_it_then_undo_both(db: Any) -> None:
    _, ids = await _make_video(db, [50, 120])
    a = await review.decide(db, ids[0], "approve", "ann", settle_seconds=LONG)
    g = await review.decide(db, ids[1], "group", "ann", settle_seconds=LONG)
    assert g.clip_ids == (ids[1], ids[0])
    assert await _states(db, ids[:2]) == ["review_approved"] * 2
    # The approval cannot be undone under the group that builds on it.
    with pytest.raises(ReviewConflict, match=rf"later group .*event {g.event_id}.*undo that"):
        await review.undo(db, "ann", event_id=a.event_id)
    assert (await review.undo(db, "ann")).event_id == g.event_id
    assert await _states(db, ids[:2]) == ["review_approved", "pending_review"]
    assert (await review.undo(db, "ann")).event_id == a.event_id
    assert await _states(db, ids) == ["pending_review"] * 3


async def test_approve_then_merge_the_next_into_it_then_undo_both(db: Any) -> None:
    vid, ids = await _make_video(db, [50, 120])
    a = await review.decide(db, ids[0], "approve", "ann", settle_seconds=LONG)
    m = await review.merge(db, ids[1], "bob", settle_seconds=LONG)
    (merged,) = m.live_clip_ids
    assert m.clip_ids == (ids[0], ids[1], merged)
    assert (
        m.message
        == f"clips {ids[0]} and {ids[1]} merged into clip {merged} (frames 0–119, approved)"
    )
    assert await _live(db, vid) == [(0, 120, "review_approved"), (120, 240, "pending_review")]
    view = await review.get_clip(db, merged)
    assert view.reviewed_by == "ann" and view.pending is not None
    assert view.pending.event_id == m.event_id
    assert await _states(db, ids[:2]) == ["merged", "merged"]
    # bob undoes his merge, ann her approval.
    u = await review.undo(db, "bob")
    assert u.event_id == m.event_id and u.live_clip_ids == (ids[0], ids[1])
    assert await _live(db, vid) == [
        (0, 50, "review_approved"), (50, 120, "pending_review"), (120, 240, "pending_review"),
    ]  # fmt: skip
    assert await _states(db, [merged]) == ["split"]
    assert (await review.undo(db, "ann")).event_id == a.event_id
    assert await _live(db, vid) == [
        (0, 50, "pending_review"), (50, 120, "pending_review"), (120, 240, "pending_review"),
    ]  # fmt: skip


async def test_split_applies_at_once_and_undo_restores(db: Any) -> None:
    vid, ids = await _make_video(db, [100], confidence={1: 0.8})
    with pytest.raises(InvalidEdit, match="between 1 and 99"):
        await review.split(db, ids[0], 100, "ann")
    with pytest.raises(InvalidEdit):
        await review.split(db, ids[0], 0, "ann")
    r = await review.split(db, ids[1], 140, "ann", settle_seconds=LONG)
    assert r.message.startswith(f"clip {ids[1]} split at frame 140 into clips")
    assert await _live(db, vid) == [
        (0, 100, "pending_review"), (100, 140, "pending_review"), (140, 240, "pending_review"),
    ]  # fmt: skip
    first, second = [await review.get_clip(db, i) for i in r.live_clip_ids]
    assert (first.start_seconds, first.end_seconds) == (100 / FPS, 140 / FPS)
    assert first.boundary_confidence == pytest.approx(0.8), "the cut it starts on is the same"
    assert second.boundary_confidence is None, "a reviewer's cut has no detector confidence"
    old = next(c for c in await review.video_clips(db, vid) if c["id"] == ids[1])
    assert old["state"] == "split" and old["superseded_by"] == list(r.live_clip_ids)
    with pytest.raises(ReviewConflict, match=r"was split into #\d+, #\d+"):
        await review.decide(db, ids[1], "approve", "bob")  # a stale page
    u = await review.undo(db, "ann")
    assert u.live_clip_ids == (ids[1],)
    assert await _live(db, vid) == [(0, 100, "pending_review"), (100, 240, "pending_review")]


async def test_merge_undo_and_split_back_reuse_rows(db: Any) -> None:
    vid, ids = await _make_video(db, [60, 130])
    with pytest.raises(InvalidEdit, match="first of its video"):
        await review.merge(db, ids[0], "ann")
    r = await review.merge(db, ids[1], "ann", settle_seconds=LONG)
    assert r.clip_ids[:2] == (ids[0], ids[1])
    with pytest.raises(ReviewConflict, match="was merged into"):
        await review.split(db, ids[0], 10, "ann")
    u = await review.undo(db, "ann")
    assert u.event_id == r.event_id
    assert await _states(db, ids) == ["pending_review"] * 3
    # Merge again: the merged row comes back; split it back: the original rows come back.
    r2 = await review.merge(db, ids[1], "ann", settle_seconds=LONG)
    assert r2.live_clip_ids == r.live_clip_ids
    s = await review.split(db, r2.live_clip_ids[0], 60, "ann", settle_seconds=LONG)
    assert sorted(s.live_clip_ids) == sorted(ids[:2])
    live = [c["id"] for c in await review.video_clips(db, vid) if c["superseded_by"] is None]
    assert sorted(live) == sorted(ids)


async def test_move_boundary_by_frames_and_undo(db: Any) -> None:
    vid, ids = await _make_video(db, [60, 130], confidence={1: 0.4, 2: 0.9})
    m = await review.move_boundary(db, ids[1], "start", 62, "ann", settle_seconds=LONG)
    left, right = m.live_clip_ids
    assert m.message == (
        f"cut between clips {ids[0]} and {ids[1]} moved from frame 60 to 62 (+2 frames): "
        f"now clips {left} and {right}"
    )
    assert await _live(db, vid) == [
        (0, 62, "pending_review"), (62, 130, "pending_review"), (130, 240, "pending_review"),
    ]  # fmt: skip
    assert (await review.get_clip(db, right)).start_seconds == 62 / FPS
    # The new clips lack sprites: the sprite stage's finder finds them.
    async with db.acquire() as conn:
        found = await fetch_all(
            ready.finder("sprite")(conn, states=["pending_review"], stage="sprite", limit=100)
        )
    assert {left, right} <= {r["id"] for r in found}
    # Nudge again (the end of the right clip, -1), then undo both, newest first.
    m2 = await review.move_boundary(db, right, "end", 129, "ann", settle_seconds=LONG)
    assert await _live(db, vid) == [
        (0, 62, "pending_review"), (62, 129, "pending_review"), (129, 240, "pending_review"),
    ]  # fmt: skip
    assert (await review.get_clip(db, m2.live_clip_ids[1])).boundary_confidence is None
    assert (await review.undo(db, "ann")).event_id == m2.event_id
    assert (await review.undo(db, "ann")).event_id == m.event_id
    assert await _live(db, vid) == [
        (0, 60, "pending_review"), (60, 130, "pending_review"), (130, 240, "pending_review"),
    ]  # fmt: skip
    assert (await review.get_clip(db, ids[1])).boundary_confidence == pytest.approx(0.4)


async def test_move_boundary_refusals(db: Any) -> None:
    _, ids = await _make_video(db, [60, 130])
    _, other = await _make_video(db, [50], name="other")
    with pytest.raises(InvalidEdit, match="first of its video: its start cannot move"):
        await review.move_boundary(db, ids[0], "start", 5, "ann")
    with pytest.raises(InvalidEdit, match="last of its video: its end cannot move"):
        await review.move_boundary(db, ids[2], "end", 200, "ann")
    with pytest.raises(InvalidEdit, match="already at frame 60: nothing to move"):
        await review.move_boundary(db, ids[0], "end", 60, "ann")
    with pytest.raises(InvalidEdit, match="between 1 and 129, so that neither clip is empty"):
        await review.move_boundary(db, ids[1], "start", 130, "ann")  # empties the right clip
    with pytest.raises(InvalidEdit, match="between 1 and 129"):
        await review.move_boundary(db, ids[0], "end", 0, "ann")  # empties the left clip
    with pytest.raises(InvalidEdit, match="between 61 and 239"):
        await review.move_boundary(db, ids[1], "end", 250, "ann")  # crosses the next cut
    with pytest.raises(InvalidEdit, match="unknown edge"):
        await review.act(db, ids[1], "move_boundary", "ann", edge="middle", frame=70)
    with pytest.raises(InvalidEdit, match="needs 'edge'"):
        await review.act(db, ids[1], "move_boundary", "ann", frame=70)
    with pytest.raises(ClipNotFound):
        await review.move_boundary(db, 999999, "end", 10, "ann")
    await review.decide(db, ids[0], "approve", "ann", settle_seconds=LONG)
    with pytest.raises(ReviewConflict, match=rf"previous clip {ids[0]} is already approved"):
        await review.move_boundary(db, ids[1], "start", 58, "ann")
    await review.claim(db, ids[2], "bob")
    with pytest.raises(ReviewConflict, match=rf"next clip {ids[2]} is held by bob"):
        await review.move_boundary(db, ids[1], "end", 128, "ann")
    with pytest.raises(InvalidEdit, match="different videos"):
        await review.merge(db, other[1], "ann", with_clip_id=ids[2])
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM review_events") == 1


async def test_hard_claims_between_two_reviewers(db: Any) -> None:
    _, ids = await _make_video(db, [60, 130])
    got = await review.claim(db, ids[0], "ann")
    assert got.own and got.holder == "ann" and got.expires_at is not None
    theirs = await review.claim(db, ids[0], "bob")
    assert not theirs.own and theirs.holder == "ann"
    assert theirs.reason is not None and "held by ann" in theirs.reason
    view = await review.get_clip(db, ids[0])  # bob can read it
    assert view.claimed_by == "ann" and view.claim_expires_at == got.expires_at
    for action in ("approve", "skip", "archive"):
        with pytest.raises(ReviewConflict, match=rf"clip {ids[0]} is held by ann"):
            await review.act(db, ids[0], action, "bob")
    with pytest.raises(ReviewConflict, match="held by ann"):
        await review.split(db, ids[0], 10, "bob")
    with pytest.raises(ReviewConflict, match=rf"previous clip {ids[0]} is held by ann"):
        await review.merge(db, ids[1], "bob")
    with pytest.raises(ReviewConflict, match="held by ann"):
        await review.decide(db, ids[1], "group", "bob")
    # The queue skips it for bob; ann gets it back first.
    assert [q.id for q in await review.review_queue(db, "bob")] == ids[1:]
    assert (await review.review_queue(db, "ann"))[0].own_claim
    nxt = await review.next_clip(db, "bob")
    assert nxt is not None and nxt.id == ids[1]
    # A claim on another clip drops the reviewer's previous one (one clip at a time).
    await review.claim(db, ids[2], "bob")
    assert (await review.get_clip(db, ids[1])).claimed_by is None
    # Released (the page closed): bob may act.
    assert not await review.release(db, ids[0], "bob"), "not his to release"
    assert await review.release(db, ids[0], "ann")
    assert (await review.get_clip(db, ids[0])).claimed_by is None
    r = await review.decide(db, ids[0], "approve", "bob", settle_seconds=LONG)
    assert r.clip_ids == (ids[0],)
    with pytest.raises(ClipNotFound):
        await review.claim(db, 999999, "ann")


async def test_a_reserved_next_clip_is_left_to_its_reviewer(db: Any) -> None:
    """The page's next clip, reserved (issue 21): other queues and guesses skip it, an
    explicit claim takes it; one reservation per reviewer, in video order across videos."""
    _, ids = await _make_video(db, [60, 130, 180], transitions={2: "dissolve"})
    _, later = await _make_video(db, [100], name="w")
    assert (await review.claim(db, ids[0], "ann")).own
    assert await review.reserve_next(db, "ann", ids[0]) == ids[1]
    # bob's queue, next clip and guess skip ann's clip; the transition is no next clip.
    assert [q.id for q in await review.review_queue(db, "bob")] == [ids[3], *later]
    guess = await review.claim(db, ids[1], "bob", spare_reserved=True)
    assert not guess.own and guess.holder is None
    assert await review.reserve_next(db, "bob", ids[1]) == ids[3]
    assert await review.reserve_next(db, "bob", ids[3]) == later[0], "on to the next video"
    assert await review.reserve_next(db, "ann", ids[0]) == ids[1], "renewed, still hers"
    # An explicit claim (bob opens it) takes it and ends ann's reservation.
    assert (await review.claim(db, ids[1], "bob")).own
    assert await review.reserve_next(db, "ann", ids[0]) == ids[3]
    assert await review.reserve_next(db, "bob", later[1]) is None, "nothing left after it"
    assert (await review.claim(db, ids[3], "ann", spare_reserved=True)).own, "her own"
    assert await review.release(db, ids[3], "ann")
    # Released with her claim: bob's queue has it again (after his own claim, first).
    assert [q.id for q in await review.review_queue(db, "bob")] == [ids[1], ids[0], ids[3], *later]


async def test_a_lease_expires(db: Any) -> None:
    _, ids = await _make_video(db, [60])
    got = await review.claim(db, ids[0], "ann", claim_seconds=0.5)
    assert got.own
    # Wait on the condition (the lease's end), never a fixed sleep.
    async with asyncio.timeout(30):
        while not (await review.claim(db, ids[0], "bob")).own:
            await asyncio.sleep(0.05)
    assert (await review.get_clip(db, ids[0])).claimed_by == "bob"
    with pytest.raises(ReviewConflict, match="held by bob"):
        await review.decide(db, ids[0], "approve", "ann")


async def test_queue_skips_transitions_and_orders_by_confidence(db: Any) -> None:
    _, ids = await _make_video(
        db, [40, 50, 120, 200], transitions={1: "dissolve"},
        confidence={1: 0.3, 2: 0.9, 3: 0.2, 4: 0.6},
    )  # fmt: skip
    ovid, other = await _make_video(db, [100], name="other", confidence={1: 0.1})
    queue = [q.id for q in await review.review_queue(db, "ann")]
    assert queue == [ids[0], ids[2], ids[3], ids[4], *other], "no transition clip"
    with_transitions = await review.review_queue(db, "ann", include_transitions=True)
    assert [q.id for q in with_transitions][:3] == ids[:3]
    assert with_transitions[1].is_transition and with_transitions[1].transition_kind == "dissolve"
    low_first = await review.review_queue(db, "ann", order="confidence")
    assert [q.id for q in low_first] == [other[1], ids[3], ids[4], ids[2], ids[0], other[0]]
    one_video = await review.review_queue(db, "ann", video_id=ovid)
    assert [q.id for q in one_video] == other
    nxt = await review.next_clip(db, "ann", order="confidence")
    assert nxt is not None and nxt.id == other[1]
    t = await review.next_clip(db, "bob", include_transitions=True)
    assert t is not None and t.id == ids[0]
    with pytest.raises(InvalidEdit, match="unknown queue order"):
        await review.review_queue(db, "ann", order="random")  # type: ignore[arg-type]


async def test_undo_needs_the_later_events_undone_first(db: Any) -> None:
    _, ids = await _make_video(db, [60, 130])
    s = await review.split(db, ids[1], 100, "ann", settle_seconds=LONG)
    a = await review.decide(db, s.live_clip_ids[0], "approve", "bob", settle_seconds=LONG)
    with pytest.raises(ReviewConflict, match=rf"later approve .*event {a.event_id}, by bob"):
        await review.undo(db, "ann")
    with pytest.raises(ReviewConflict, match="no review event 999999") as err:
        await review.undo(db, "ann", event_id=999999)
    assert err.value.status == 404
    await review.undo(db, "bob")
    await review.undo(db, "ann")
    with pytest.raises(ReviewConflict, match="already undone"):
        await review.undo(db, "ann", event_id=s.event_id)
    assert await _states(db, ids) == ["pending_review"] * 3


async def test_merge_across_videos_and_unknown_clip_are_refused(db: Any) -> None:
    _, a = await _make_video(db, [50], name="a")
    _, b = await _make_video(db, [50], name="b")
    with pytest.raises(InvalidEdit, match="different videos"):
        await review.merge(db, b[1], "ann", with_clip_id=a[0])
    with pytest.raises(ClipNotFound):
        await review.decide(db, 999999, "approve", "ann")
    with pytest.raises(ClipNotFound):
        await review.get_clip(db, 999999)
    with pytest.raises(InvalidEdit, match="unknown action 'explode'"):
        await review.act(db, a[0], "explode", "ann")
    with pytest.raises(InvalidEdit, match="split needs the frame"):
        await review.act(db, a[0], "split", "ann")
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
    await review.decide(db, ids[0], "approve", "ann", settle_seconds=LONG)
    await review.decide(db, ids[1], "skip", "ann", settle_seconds=0)
    h = await review.history(db, limit=10)
    assert [(e["action"], e["pending"]) for e in h] == [("skip", False), ("approve", True)]
    async with db.acquire() as conn:
        rows = await fetch_all(db.q.event_history(conn, limit=10, offset=0))
    assert len(rows) == 2


async def test_failed_clips_are_listed_and_retried_together(db: Any) -> None:
    _, ids = await _make_video(db, [60, 130])
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE clips SET state = 'export_failed', last_error = 'disk full', attempts = 3,"
            " next_attempt_at = NULL WHERE id = $1",
            ids[0],
        )
        await conn.execute(
            "UPDATE clips SET last_error = 'sprite: bad proxy', next_attempt_at = NULL"
            " WHERE id = $1",
            ids[2],
        )
    failed = await review.failed_clips(db)
    assert {(f["id"], f["state"], f["last_error"]) for f in failed} == {
        (ids[0], "export_failed", "disk full"), (ids[2], "pending_review", "sprite: bad proxy"),
    }  # fmt: skip
    assert await review.retry_failed_clips(db) == sorted([ids[0], ids[2]])
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT attempts, next_attempt_at <= now() AS due FROM clips WHERE id = ANY($1)",
            [ids[0], ids[2]],
        )
    assert [(r["attempts"], r["due"]) for r in rows] == [(0, True), (0, True)]


async def test_a_settled_decision_is_changed_later_and_undone(db: Any) -> None:
    """Issue 21, part 2: a decided clip, settled, even past review (exported, embedded,
    archived), takes another decision with ``change``: a new event, undoable (the clip goes
    back to where it was); export follows it (a re-approved clip is found by the export
    finder once settled). Without ``change`` a decided clip is still refused."""
    _, ids = await _make_video(db, [48, 96, 150])
    await review.decide(db, ids[0], "skip", "ann", settle_seconds=0)
    await review.decide(db, ids[1], "approve", "ann", settle_seconds=0)
    with pytest.raises(ReviewConflict, match="already skipped by ann"):
        await review.decide(db, ids[0], "approve", "bob")  # a stale page: no change asked
    r = await review.act(db, ids[0], "approve", "bob", change=True, settle_seconds=0)
    assert r.message == f"clip {ids[0]} approved (was skipped)"
    assert await _states(db, ids[:1]) == ["review_approved"]
    async with db.acquire() as conn:
        due = [
            r["id"]
            for r in await fetch_all(
                db.q.find_clips(conn, states=list(states.EXPORT.ready), stage="export", limit=10)
            )
        ]
    assert ids[0] in due, "a re-approved clip is exported once its change settles"

    # Past review: an exported-then-embedded clip withdrawn, then the withdrawal undone.
    async with db.acquire() as conn:
        await conn.execute("UPDATE clips SET state = 'embedded' WHERE id = $1", ids[1])
    r = await review.decide(db, ids[1], "skip", "bob", change=True, settle_seconds=LONG)
    assert r.message == f"clip {ids[1]} skipped (was embedded)"
    assert await _states(db, ids[1:2]) == ["review_skipped"]
    u = await review.undo(db, "bob")
    assert u.clip_ids == (ids[1],)
    assert await _states(db, ids[1:2]) == ["embedded"]
    row = await review.get_clip(db, ids[1])
    assert row.reviewed_by == "ann", "the decision it had, with its reviewer"

    # The refusals: the same decision, group, a clip at work, a pending clip as usual.
    for clip_id, action, state, why in [
        (ids[1], "approve", "embedded", "already approved"),
        (ids[1], "group", "embedded", "changed by approve, skip or archive"),
        (ids[1], "archive", "exporting", "is exporting right now"),
    ]:
        async with db.acquire() as conn:
            await conn.execute("UPDATE clips SET state = $2 WHERE id = $1", clip_id, state)
        with pytest.raises(ReviewConflict, match=why):
            await review.decide(db, clip_id, action, "bob", change=True)  # type: ignore[arg-type]
    assert review.change_refusal(ids[2], "pending_review", "skip") is not None
    r = await review.decide(db, ids[2], "archive", "bob", change=True, settle_seconds=LONG)
    assert r.message == f"clip {ids[2]} archived"
