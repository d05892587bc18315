"""Edits of clip boundaries: merge, split, move a cut. Each applies at once in one
transaction and is logged as an undoable event."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from heaters.db import Database
from heaters.db.pool import Connection
from heaters.domain.cuts import ClipSpan
from heaters.domain.states import ClipState
from heaters.review._base import (
    EDGES,
    PENDING,
    ActionResult,
    Edge,
    Edit,
    event_result,
    insert_event,
    lock_clip,
    require_free,
    require_pending,
    review_transaction,
    settle_window,
    snapshot,
)
from heaters.review.errors import ClipNotFound, InvalidEdit, ReviewConflict

log = logging.getLogger(__name__)


def superseded_state(replacements: int) -> ClipState:
    """A clip replaced by one clip was merged into it; by several, split into them."""
    return ClipState.MERGED if replacements == 1 else ClipState.SPLIT


@dataclass(frozen=True)
class _Part:
    """A clip an edit makes: frames ``[start, end)``, and the old clip it comes from (its
    transition flags; its boundary confidence too when it starts where that clip started)."""

    start: int
    end: int
    origin: Any


async def _apply_edit(
    db: Database,
    conn: Connection,
    old: Sequence[Any],
    parts: Sequence[_Part],
    *,
    state: str = PENDING,
    reviewed_by: str | None = None,
    grouped_with: int | None = None,
) -> list[int]:
    """Replace the (locked) clips ``old`` by clips on ``parts`` (cut points only, no media
    work): new rows, or earlier rows of the same span brought back, each with the tags and
    notes of the old clips it overlaps. Returns the new ids."""
    video_id = old[0]["source_video_id"]
    lo = min(p.start for p in parts)
    hi = max(p.end for p in parts)
    pts_row = await db.q.clip_pts(conn, video_id=video_id, start_frame=lo, end_frame=hi)
    pts = list(pts_row["pts"] or ()) if pts_row else []
    if len(pts) < hi - lo:
        raise InvalidEdit(f"video {video_id} has no frame index for frames {lo}–{hi - 1}")
    end_seconds = max(c["end_seconds"] for c in old)
    new_ids: list[int] = []
    for p in parts:
        span = ClipSpan(
            start_frame=p.start,
            end_frame=p.end,
            start_seconds=float(pts[p.start - lo]),
            end_seconds=float(pts[p.end - lo]) if p.end - lo < len(pts) else end_seconds,
        )
        same_start = p.origin["start_frame"] == p.start
        new_id = await db.q.insert_edit_clip(
            conn, video_id=video_id, clip_identifier=span.identifier(video_id),
            start_frame=span.start_frame, end_frame=span.end_frame,
            start_seconds=span.start_seconds, end_seconds=span.end_seconds,
            state=state, reviewed_by=reviewed_by, grouped_with=grouped_with,
            is_transition=p.origin["is_transition"],
            transition_kind=p.origin["transition_kind"],
            boundary_confidence=p.origin["boundary_confidence"] if same_start else None,
        )  # fmt: skip
        if new_id is None:
            raise ReviewConflict(f"a live clip already covers frames {p.start}–{p.end - 1}")
        from_ids = [c["id"] for c in old if c["start_frame"] < p.end and p.start < c["end_frame"]]
        await db.q.carry_annotations(conn, clip_id=new_id, old_ids=from_ids)
        new_ids.append(new_id)
    superseded = superseded_state(len(new_ids))
    for c in old:
        await db.q.supersede_clip(conn, id=c["id"], state=superseded, new_ids=new_ids)
    return new_ids


async def _log_edit(
    db: Database,
    conn: Connection,
    action: Edit,
    reviewer: str,
    old: Sequence[Any],
    parts: Sequence[_Part],
    new_ids: Sequence[int],
    new_state: str,
    window: float,
) -> Any:
    superseded = superseded_state(len(new_ids))
    payload = {
        "before": [snapshot(c) for c in old],
        "after": [{"id": c["id"], "state": superseded} for c in old]
        + [{"id": i, "state": new_state} for i in new_ids],
        "new": list(new_ids),
        "spans": [[p.start, p.end] for p in parts],
    }
    return await insert_event(
        db, conn, clip_ids=[*(c["id"] for c in old), *new_ids], action=action,
        reviewer=reviewer, payload=payload, settle_seconds=window, applied=True,
    )  # fmt: skip


def _edit_result(
    action: Edit, old: Sequence[Any], new_ids: Sequence[int], ev: Any, message: str
) -> ActionResult:
    return event_result(log, ev, action, [*(c["id"] for c in old), *new_ids], message, new_ids)


async def merge(
    db: Database,
    clip_id: int,
    reviewer: str,
    *,
    with_clip_id: int | None = None,
    settle_seconds: float | None = None,
) -> ActionResult:
    """Merge ``clip_id`` with its previous clip at once, undoable until it settles.

    ``clip_id`` must be pending review. The previous clip (same video, adjacent;
    ``with_clip_id``, when given, must be it) may be pending, or approved with its decision
    still settling: the merged clip takes the previous clip's state (approved, by whom, group
    link), so "approve clip 5, then merge clip 6 into it" gives one approved clip; undo gives
    back clip 5 approved and clip 6 pending.

    Raises ClipNotFound; ReviewConflict (a clip not pending, the previous clip's decision
    settled, another reviewer holds either clip); InvalidEdit (first clip of its video, clips
    of different videos or not adjacent).
    """
    window = settle_window(settle_seconds)
    async with review_transaction(db) as conn:
        clip = await lock_clip(db, conn, clip_id, reviewer)
        if with_clip_id is not None:
            other = await lock_clip(db, conn, with_clip_id, reviewer)
            if other["source_video_id"] != clip["source_video_id"]:
                raise InvalidEdit(
                    f"clips {with_clip_id} and {clip_id} are from different videos: "
                    "only adjacent clips of one video can be merged"
                )
            if other["end_frame"] != clip["start_frame"] or other["superseded_by"] is not None:
                raise InvalidEdit(
                    f"clip {with_clip_id} is not the clip just before {clip_id}: "
                    "only adjacent clips can be merged"
                )
        require_pending(clip)
        require_free(clip)
        prev = await db.q.lock_previous_clip(
            conn, video_id=clip["source_video_id"], start_frame=clip["start_frame"],
            reviewer=reviewer,
        )  # fmt: skip
        if prev is None:
            raise InvalidEdit(f"clip {clip_id} is the first of its video: nothing to merge with")
        require_free(prev, "previous clip")
        carried: dict[str, Any] = {}
        if prev["state"] == ClipState.REVIEW_APPROVED:
            if await db.q.settling_event_for(conn, id=prev["id"]) is None:
                raise ReviewConflict(
                    f"previous clip {prev['id']} was approved and that decision has settled "
                    "(it goes to export): it can no longer be merged"
                )
            carried = {
                "reviewed_by": prev["reviewed_by"],
                "grouped_with": prev["grouped_with_clip_id"],
            }
        else:
            require_pending(prev, "previous clip")
        state = prev["state"]
        old = [prev, clip]
        parts = [_Part(prev["start_frame"], clip["end_frame"], prev)]
        new_ids = await _apply_edit(db, conn, old, parts, state=state, **carried)
        ev = await _log_edit(db, conn, "merge", reviewer, old, parts, new_ids, state, window)
    msg = (
        f"clips {prev['id']} and {clip_id} merged into clip {new_ids[0]} (frames "
        f"{prev['start_frame']}–{clip['end_frame'] - 1}"
        + (", approved)" if state == ClipState.REVIEW_APPROVED else ")")
    )
    return _edit_result("merge", old, new_ids, ev, msg)


async def split(
    db: Database,
    clip_id: int,
    frame: int,
    reviewer: str,
    *,
    settle_seconds: float | None = None,
) -> ActionResult:
    """Split ``clip_id`` at ``frame`` (video frame index: the first frame of the second part)
    into two new ``pending_review`` clips at once, undoable until it settles.

    Raises ClipNotFound, ReviewConflict (not pending, held by another reviewer), InvalidEdit
    (frame not strictly inside the clip).
    """
    window = settle_window(settle_seconds)
    async with review_transaction(db) as conn:
        clip = await lock_clip(db, conn, clip_id, reviewer)
        start, end = clip["start_frame"], clip["end_frame"]
        if not start < frame < end:
            raise InvalidEdit(
                f"cannot split clip {clip_id} at frame {frame}: its frames are {start}–{end - 1}, "
                f"so a split frame must be between {start + 1} and {end - 1}"
            )
        require_pending(clip)
        require_free(clip)
        parts = [_Part(start, frame, clip), _Part(frame, end, clip)]
        new_ids = await _apply_edit(db, conn, [clip], parts)
        ev = await _log_edit(db, conn, "split", reviewer, [clip], parts, new_ids, PENDING, window)
    msg = f"clip {clip_id} split at frame {frame} into clips {new_ids[0]} and {new_ids[1]}"
    return _edit_result("split", [clip], new_ids, ev, msg)


async def move_boundary(
    db: Database,
    clip_id: int,
    edge: Edge,
    frame: int,
    reviewer: str,
    *,
    settle_seconds: float | None = None,
) -> ActionResult:
    """Move the cut between ``clip_id`` and its neighbour (same video, adjacent) to ``frame``,
    at once, undoable until it settles.

    ``edge="start"``: the cut before the clip moves so that the clip starts at ``frame`` (its
    previous clip ends there). ``edge="end"``: the cut after it moves so that the clip ends at
    ``frame``, exclusive like every ``end_frame`` (the next clip starts there). Both clips are
    replaced by two new ``pending_review`` clips (their sprites are made again by the sprite
    stage); the new cut has no detector confidence.

    Raises
    ------
    ClipNotFound
        No such clip.
    ReviewConflict
        Either clip is not pending review (decided: reopen it first; merged or split away),
        or another reviewer holds either clip.
    InvalidEdit
        An unknown edge; no neighbour on that edge (first/last clip of its video); ``frame``
        equal to the cut, or one that would empty a clip or cross the neighbour.
    """
    if edge not in EDGES:
        raise InvalidEdit(f"unknown edge {edge!r}: use start or end")
    window = settle_window(settle_seconds)
    async with review_transaction(db) as conn:
        # Locks go from the later clip to the earlier one, as in merge and group.
        if edge == "start":
            right = await lock_clip(db, conn, clip_id, reviewer)
            left = await db.q.lock_previous_clip(
                conn, video_id=right["source_video_id"], start_frame=right["start_frame"],
                reviewer=reviewer,
            )  # fmt: skip
            if left is None or right["superseded_by"] is not None:
                require_pending(right)
                raise InvalidEdit(
                    f"clip {clip_id} is the first of its video: its start cannot move"
                )
        else:
            peek = await db.q.get_clip_row(conn, id=clip_id)
            if peek is None:
                raise ClipNotFound(f"no clip {clip_id}")
            right = await db.q.lock_next_clip(
                conn, video_id=peek["source_video_id"], end_frame=peek["end_frame"],
                reviewer=reviewer,
            )  # fmt: skip
            left = await lock_clip(db, conn, clip_id, reviewer)
            require_pending(left)
            if right is None or left["end_frame"] != right["start_frame"]:
                raise InvalidEdit(f"clip {clip_id} is the last of its video: its end cannot move")
        near = "previous clip" if edge == "start" else "next clip"
        here, there = (right, left) if edge == "start" else (left, right)
        require_pending(here)
        require_pending(there, near)
        require_free(here)
        require_free(there, near)
        a, cut, b = left["start_frame"], left["end_frame"], right["end_frame"]
        if frame == cut:
            raise InvalidEdit(
                f"the cut between clips {left['id']} and {right['id']} is already at frame "
                f"{cut}: nothing to move"
            )
        if not a < frame < b:
            raise InvalidEdit(
                f"cannot move the cut between clips {left['id']} (frames {a}–{cut - 1}) and "
                f"{right['id']} (frames {cut}–{b - 1}) to frame {frame}: it must stay between "
                f"{a + 1} and {b - 1}, so that neither clip is empty nor crosses its neighbour"
            )
        old = [left, right]
        parts = [_Part(a, frame, left), _Part(frame, b, right)]
        new_ids = await _apply_edit(db, conn, old, parts)
        ev = await _log_edit(db, conn, "move_boundary", reviewer, old, parts, new_ids, PENDING,
                             window)  # fmt: skip
    msg = (
        f"cut between clips {left['id']} and {right['id']} moved from frame {cut} to {frame} "
        f"({frame - cut:+d} frames): now clips {new_ids[0]} and {new_ids[1]}"
    )
    return _edit_result("move_boundary", old, new_ids, ev, msg)
