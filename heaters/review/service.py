"""Review actions (DESIGN.md §5, issue 12): decisions that settle, edits, undo, hard claims.

The service API (pages and the JSON API call these; one code path)
-----------------------------------------------------------------
Every action applies at once, in one transaction, and is logged in ``review_events`` with
``settles_at = now() + settle window`` (``HEATERS_REVIEW_SETTLE_SECONDS``, default 60;
``settle_seconds=`` overrides it per call). Until then it can be undone; the export and archive
finders only take clips with no unsettled, not-undone event, so the worker never races the
reviewer. ``ActionResult``: ``event_id``, ``action``, ``clip_ids`` (every clip the event
touched, old and new), ``live_clip_ids`` (the clips to show next: the decided clips, or the
clips an edit made / an undo restored, in frame order), ``message``, ``settles_at``.

- ``act(db, clip_id, action, reviewer, *, frame=None, edge=None, with_clip_id=None,
  settle_seconds=None) -> ActionResult``: one entry point for every action name
  ``approve | skip | archive | group | merge | split | move_boundary`` (InvalidEdit 422 for an
  unknown action or a missing ``frame``/``edge``). The functions it calls:
- ``decide(db, clip_id, action, reviewer, *, settle_seconds=None)`` approve/skip/archive/group.
- ``merge(db, clip_id, reviewer, *, with_clip_id=None, settle_seconds=None)``: the clip and its
  previous clip become one clip at once (new row). The previous clip may be pending or
  approved-and-still-settling; the merged clip takes the previous clip's state (approve 5,
  then merge 6 into it → one approved clip; undo → 5 approved again, 6 pending; undo → 5
  pending).
- ``split(db, clip_id, frame, reviewer, *, settle_seconds=None)``: two new clips at once.
- ``move_boundary(db, clip_id, edge, frame, reviewer, *, settle_seconds=None)``: ``edge``
  ``"start"`` moves the cut between the clip and its previous clip so that the clip starts at
  ``frame``; ``"end"`` moves the cut to its next clip so that the clip ends at ``frame``
  (exclusive, as ``end_frame`` everywhere: an "out at the current frame f" key sends f + 1).
  Both clips are replaced by two new ``pending_review`` clips (sprites remade by the
  dispatcher).
- ``undo(db, reviewer, *, event_id=None, cancel=None)``: undo ``event_id``, or the
  reviewer's latest own not-yet-settled event (repeatable: undo, undo, undo). 409 once
  settled, or when a later event touches the same clips (undo that first).
- ``reopen(db, clip_id, reviewer)``: undo the unsettled event that decided ``clip_id``; 409
  with the reason once it settled.
- ``claim(db, clip_id, reviewer, *, claim_seconds=None) -> Claim`` takes/renews the lease
  (``HEATERS_CLAIM_SECONDS``) when free, expired or own, and drops the reviewer's other claims;
  otherwise ``Claim.own`` is False and ``Claim.holder`` names who holds it. ``release(db,
  clip_id, reviewer) -> bool`` (page close, ``navigator.sendBeacon``). Any action on a clip
  another reviewer holds → ``ReviewConflict`` naming the holder.
- ``next_clip(db, reviewer, *, video_id=None, include_transitions=False, order="video",
  claim_seconds=None) -> ClipView | None`` claims the next clip; ``review_queue(db, reviewer,
  *, video_id=None, include_transitions=False, order="video", limit=20) -> list[QueueItem]``
  lists the next clips without claiming. ``order``: ``"video"`` (video, start frame) or
  ``"confidence"`` (low-confidence cuts first, nulls last). Both skip transition clips unless
  asked, and clips other reviewers hold.
- ``get_clip(db, clip_id) -> ClipView`` (frames, seconds, PTS, transition facts, holder,
  ``pending``: the latest unsettled decision as ``PendingDecision(event_id, action, reviewer,
  settles_at)`` or None). ``video_clips``, ``history`` as before.
- ``retry_failed_clips(db) -> list[int]`` (heaters.review.failures): every failed clip due now.

Errors: ``ClipNotFound`` (404), ``ReviewConflict`` (409, says why), ``InvalidEdit`` (422).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from heaters.db import Database, fetch_all
from heaters.db.pool import Connection
from heaters.domain.cuts import ClipSpan
from heaters.review.errors import ClipNotFound, InvalidEdit, ReviewConflict

log = logging.getLogger(__name__)

Decision = Literal["approve", "skip", "archive", "group"]
DECISIONS: dict[str, str] = {
    "approve": "review_approved",
    "skip": "review_skipped",
    "archive": "review_archived",
    "group": "review_approved",
}
PENDING = "pending_review"

#: Schedules the commit of edit event ``event_id`` in ``delay`` seconds; returns the job id.
EditScheduler = Callable[[int, float], Awaitable[int]]
#: Cancels a scheduled job by id; returns True when it was cancelled.
JobCanceller = Callable[[int], Awaitable[bool]]


@dataclass(frozen=True)
class ClipView:
    """A clip as the review page shows it.

    ``pts`` holds the PTS in seconds of frames ``start_frame … end_frame`` (the frame after
    the clip included when it exists), from the frame index: the page seeks with them, never
    with frame ÷ nominal fps.
    """

    id: int
    video_id: int
    video_title: str | None
    source: str | None
    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float
    state: str
    grouped_with_clip_id: int | None
    reviewed_by: str | None
    claimed_by: str | None
    proxy_key: str | None
    fps: float
    video_frame_count: int | None
    pts: tuple[float, ...]
    prev_clip_id: int | None
    next_clip_id: int | None
    sprite_key: str | None
    sprite_meta: dict[str, Any] | None
    pending_edit: dict[str, Any] | None

    @property
    def frame_count(self) -> int:
        """Frames in the clip (``end_frame`` is exclusive)."""
        return self.end_frame - self.start_frame


@dataclass(frozen=True)
class ActionResult:
    """What an action did: its event, the clips it touched, a message for the reviewer."""

    event_id: int
    action: str
    clip_ids: tuple[int, ...]
    message: str
    execute_after: datetime | None = None
    job_id: int | None = None


def _snapshot(clip: Any) -> dict[str, Any]:
    return {
        "id": clip["id"],
        "state": clip["state"],
        "reviewed_at": clip["reviewed_at"].isoformat() if clip["reviewed_at"] else None,
        "reviewed_by": clip["reviewed_by"],
        "grouped_with_clip_id": clip["grouped_with_clip_id"],
    }


async def _lock_clip(db: Database, conn: Connection, clip_id: int) -> Any:
    clip = await db.q.lock_clip(conn, id=clip_id)
    if clip is None:
        raise ClipNotFound(f"no clip {clip_id}")
    return clip


def _require_pending(clip: Any, what: str = "clip") -> None:
    if clip["state"] != PENDING:
        by = f" by {clip['reviewed_by']}" if clip["reviewed_by"] else ""
        raise ReviewConflict(
            f"{what} {clip['id']} is already {clip['state'].removeprefix('review_')}{by}; "
            "nothing was changed"
        )


async def _require_no_pending_edit(db: Database, conn: Connection, ids: list[int]) -> None:
    edit = await db.q.pending_edit_for(conn, clip_ids=ids)
    if edit is not None:
        raise ReviewConflict(
            f"clip {edit['clip_ids'][-1]} has a pending {edit['action']} (undo it first, or "
            "wait until it is committed)"
        )


async def get_clip(db: Database, clip_id: int) -> ClipView:
    """The clip ``clip_id`` with what the review page needs. Raises ClipNotFound."""
    async with db.acquire() as conn:
        row = await db.q.clip_view(conn, id=clip_id)
        if row is None:
            raise ClipNotFound(f"no clip {clip_id}")
        pts_row = await db.q.clip_pts(
            conn,
            video_id=row["source_video_id"],
            start_frame=row["start_frame"],
            end_frame=row["end_frame"],
        )
        edit = await db.q.pending_edit_for(conn, clip_ids=[clip_id])
    fps = row["fps_num"] / row["fps_den"] if row["fps_num"] and row["fps_den"] else 25.0
    return ClipView(
        id=row["id"],
        video_id=row["source_video_id"],
        video_title=row["video_title"],
        source=row["source_url"] or row["source_path"],
        start_frame=row["start_frame"],
        end_frame=row["end_frame"],
        start_seconds=row["start_seconds"],
        end_seconds=row["end_seconds"],
        state=row["state"],
        grouped_with_clip_id=row["grouped_with_clip_id"],
        reviewed_by=row["reviewed_by"],
        claimed_by=row["claimed_by"],
        proxy_key=row["proxy_path"],
        fps=fps,
        video_frame_count=row["video_frame_count"],
        pts=tuple(pts_row["pts"] or ()) if pts_row else (),
        prev_clip_id=row["prev_clip_id"],
        next_clip_id=row["next_clip_id"],
        sprite_key=row["sprite_key"],
        sprite_meta=row["sprite_meta"],
        pending_edit=dict(edit) if edit is not None else None,
    )


async def next_clip(
    db: Database, reviewer: str, *, claim_seconds: float = 600.0
) -> ClipView | None:
    """Claim and return the next clip for ``reviewer`` (None when the queue is empty).

    The reviewer's own live claim comes first; otherwise the oldest ``pending_review`` clip
    in (video, start frame) order that nobody else holds, taken with ``FOR UPDATE SKIP
    LOCKED`` so concurrent reviewers never get the same clip. A claim expires after
    ``claim_seconds``. Two indexed steps (own claim, then the queue's head), so the cost does
    not grow with the number of pending clips.
    """
    async with db.transaction() as conn:
        clip_id = await db.q.own_claimed_clip(conn, reviewer=reviewer)
        if clip_id is None:
            clip_id = await db.q.claim_next_clip(
                conn, reviewer=reviewer, claim_seconds=claim_seconds
            )
    if clip_id is None:
        return None
    return await get_clip(db, clip_id["id"])


async def decide(db: Database, clip_id: int, action: Decision, reviewer: str) -> ActionResult:
    """Apply approve / skip / archive / group to ``clip_id`` at once, logged for undo.

    ``group`` approves the clip and its previous clip (same video, adjacent) and links the
    clip to it (``grouped_with_clip_id``); the previous clip may be pending or approved.

    Raises
    ------
    ClipNotFound
        No such clip.
    ReviewConflict
        The clip (or, for group, the previous one) is not in a state the action applies to.
    InvalidEdit
        group on the first clip of a video.
    """
    if action not in DECISIONS:
        raise InvalidEdit(f"unknown action {action!r}")
    state = DECISIONS[action]
    async with db.transaction() as conn:
        clip = await _lock_clip(db, conn, clip_id)
        _require_pending(clip)
        ids = [clip_id]
        await _require_no_pending_edit(db, conn, ids)
        before = [_snapshot(clip)]
        grouped_with = clip["grouped_with_clip_id"]
        if action == "group":
            prev = await db.q.lock_previous_clip(
                conn, video_id=clip["source_video_id"], start_frame=clip["start_frame"]
            )
            if prev is None:
                raise InvalidEdit(
                    f"clip {clip_id} is the first of its video: nothing to group with"
                )
            if prev["state"] not in (PENDING, "review_approved"):
                raise ReviewConflict(
                    f"previous clip {prev['id']} is {prev['state']}: only pending or approved "
                    "clips can be grouped"
                )
            await _require_no_pending_edit(db, conn, [prev["id"]])
            before.append(_snapshot(prev))
            ids.append(prev["id"])
            if prev["state"] == PENDING:
                await db.q.set_clip_decision(
                    conn, id=prev["id"], state=state, reviewer=reviewer,
                    grouped_with=prev["grouped_with_clip_id"],
                )  # fmt: skip
            grouped_with = prev["id"]
        await db.q.set_clip_decision(
            conn, id=clip_id, state=state, reviewer=reviewer, grouped_with=grouped_with
        )
        event_id = await db.q.insert_event(
            conn, clip_ids=ids, action=action, reviewer=reviewer,
            payload={"before": before}, delay=None,
        )  # fmt: skip
    verb = {"approve": "approved", "skip": "skipped", "archive": "archived", "group": "grouped"}
    msg = f"clip {clip_id} {verb[action]}"
    if action == "group":
        msg += f" with clip {ids[1]}"
    log.info("%s: %s (event %s)", reviewer, msg, event_id)
    return ActionResult(event_id=event_id, action=action, clip_ids=tuple(ids), message=msg)


async def schedule_merge(
    db: Database,
    clip_id: int,
    reviewer: str,
    *,
    window_seconds: float,
    schedule: EditScheduler,
    with_clip_id: int | None = None,
) -> ActionResult:
    """Merge ``clip_id`` with its previous clip after ``window_seconds`` (undoable until then).

    ``with_clip_id``, when given, must be that previous clip (same video, adjacent).

    Raises ClipNotFound, ReviewConflict (not pending, or a pending edit on either clip),
    InvalidEdit (first clip of its video, clips of different videos or not adjacent).
    """
    async with db.transaction() as conn:
        clip = await _lock_clip(db, conn, clip_id)
        if with_clip_id is not None:
            other = await _lock_clip(db, conn, with_clip_id)
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
        _require_pending(clip)
        prev = await db.q.lock_previous_clip(
            conn, video_id=clip["source_video_id"], start_frame=clip["start_frame"]
        )
        if prev is None:
            raise InvalidEdit(f"clip {clip_id} is the first of its video: nothing to merge with")
        _require_pending(prev, "previous clip")
        await _require_no_pending_edit(db, conn, [prev["id"], clip_id])
        payload = {
            "before": [_snapshot(prev), _snapshot(clip)],
            "spans": [[prev["start_frame"], clip["end_frame"]]],
        }
        event_id = await db.q.insert_event(
            conn, clip_ids=[prev["id"], clip_id], action="merge", reviewer=reviewer,
            payload=payload, delay=window_seconds,
        )  # fmt: skip
        await db.q.release_claims(conn, reviewer=reviewer, keep=[prev["id"], clip_id])
    return await _schedule(
        db, event_id, "merge", (prev["id"], clip_id), window_seconds, schedule,
        f"clips {prev['id']} and {clip_id} will be merged into frames "
        f"{prev['start_frame']}–{clip['end_frame'] - 1}",
    )  # fmt: skip


async def schedule_split(
    db: Database,
    clip_id: int,
    frame: int,
    reviewer: str,
    *,
    window_seconds: float,
    schedule: EditScheduler,
) -> ActionResult:
    """Split ``clip_id`` at ``frame`` (video frame index; the first frame of the second part)
    after ``window_seconds`` (undoable until then).

    Raises ClipNotFound, ReviewConflict, InvalidEdit (frame not strictly inside the clip).
    """
    async with db.transaction() as conn:
        clip = await _lock_clip(db, conn, clip_id)
        start, end = clip["start_frame"], clip["end_frame"]
        if not start < frame < end:
            raise InvalidEdit(
                f"cannot split clip {clip_id} at frame {frame}: its frames are {start}–{end - 1}, "
                f"so a split frame must be between {start + 1} and {end - 1}"
            )
        _require_pending(clip)
        await _require_no_pending_edit(db, conn, [clip_id])
        payload = {"before": [_snapshot(clip)], "spans": [[start, frame], [frame, end]]}
        event_id = await db.q.insert_event(
            conn, clip_ids=[clip_id], action="split", reviewer=reviewer,
            payload=payload, delay=window_seconds,
        )  # fmt: skip
        await db.q.release_claims(conn, reviewer=reviewer, keep=[clip_id])
    return await _schedule(
        db, event_id, "split", (clip_id,), window_seconds, schedule,
        f"clip {clip_id} will be split at frame {frame}",
    )  # fmt: skip


async def _schedule(
    db: Database,
    event_id: int,
    action: str,
    ids: tuple[int, ...],
    window: float,
    schedule: EditScheduler,
    message: str,
) -> ActionResult:
    # The event is committed first: if the job is lost (crash here, a deleted job) the
    # commit_edits stage finds the overdue event and commits it.
    job_id = await schedule(event_id, window)
    async with db.transaction() as conn:
        await db.q.set_event_job(conn, id=event_id, job_id=job_id)
        ev = await db.q.lock_event(conn, id=event_id)
    return ActionResult(
        event_id=event_id,
        action=action,
        clip_ids=ids,
        message=f"{message} in {window:g} s (undo to cancel)",
        execute_after=ev["execute_after"],
        job_id=job_id,
    )


async def undo(
    db: Database, reviewer: str, *, cancel: JobCanceller, event_id: int | None = None
) -> ActionResult:
    """Undo ``event_id`` (default: the reviewer's last action that can still be undone).

    A decision is undone by restoring the states its event logged; a merge or split inside its
    window by marking the event undone and cancelling its job.

    Raises
    ------
    ReviewConflict
        Nothing to undo, already undone, an edit already committed, or a clip that has moved
        on since (e.g. exported).
    """
    job_id = None
    async with db.transaction() as conn:
        if event_id is None:
            ev = await db.q.last_undoable_event(conn, reviewer=reviewer)
            if ev is None:
                raise ReviewConflict("nothing to undo")
        else:
            ev = await db.q.lock_event(conn, id=event_id)
            if ev is None:
                raise ReviewConflict(f"no review event {event_id}", status=404)
        if ev["undone_at"] is not None:
            raise ReviewConflict(f"{ev['action']} (event {ev['id']}) was already undone")
        if ev["action"] == "undo":
            raise ReviewConflict("an undo cannot be undone; act on the clip again instead")
        if ev["execute_after"] is not None:
            if ev["committed_at"] is not None:
                raise ReviewConflict(
                    f"the {ev['action']} of event {ev['id']} was committed at "
                    f"{ev['committed_at']:%H:%M:%S}: it can no longer be undone"
                )
            job_id = ev["job_id"]
        else:
            expected = DECISIONS[ev["action"]]
            for snap in ev["payload"]["before"]:
                clip = await _lock_clip(db, conn, snap["id"])
                if clip["state"] not in (expected, snap["state"]):
                    raise ReviewConflict(
                        f"clip {clip['id']} has moved on to {clip['state']}: "
                        f"the {ev['action']} can no longer be undone"
                    )
            for snap in ev["payload"]["before"]:
                await db.q.restore_clip(
                    conn,
                    id=snap["id"],
                    state=snap["state"],
                    reviewed_at=datetime.fromisoformat(snap["reviewed_at"])
                    if snap["reviewed_at"]
                    else None,
                    reviewed_by=snap["reviewed_by"],
                    grouped_with=snap["grouped_with_clip_id"],
                )
        await db.q.mark_event_undone(conn, id=ev["id"])
        await db.q.insert_event(
            conn, clip_ids=list(ev["clip_ids"]), action="undo", reviewer=reviewer,
            payload={"undid": ev["id"], "action": ev["action"]}, delay=None,
        )  # fmt: skip
    if job_id is not None:
        await cancel(job_id)
    ids = tuple(ev["clip_ids"])
    msg = f"undid {ev['action']} of clip{'s' if len(ids) > 1 else ''} " + ", ".join(map(str, ids))
    log.info("%s: %s", reviewer, msg)
    return ActionResult(event_id=ev["id"], action="undo", clip_ids=ids, message=msg)


async def commit_edit(db: Database, event_id: int) -> str:
    """Commit a merge or split whose window has passed: ``"committed"`` or ``"noop"``.

    Re-checks the event under a row lock (undone or already committed → no-op), creates the
    new clips at ``pending_review`` (cut points only), and marks the old ones ``merged`` /
    ``split`` with ``superseded_by``. Idempotent.
    """
    async with db.transaction() as conn:
        ev = await db.q.lock_event(conn, id=event_id)
        if ev is None or ev["undone_at"] is not None or ev["committed_at"] is not None:
            return "noop"
        if ev["execute_after"] is None:
            return "noop"
        clips = [await _lock_clip(db, conn, cid) for cid in sorted(ev["clip_ids"])]
        if any(c["state"] != PENDING for c in clips):
            # Cannot happen through the actions (they refuse clips with a pending edit); keep
            # the data safe if it does: the edit is dropped, and the log says so.
            await db.q.mark_event_undone(conn, id=event_id)
            log.warning("edit %s dropped: its clips are no longer pending review", event_id)
            return "noop"
        video_id = clips[0]["source_video_id"]
        spans = [tuple(s) for s in ev["payload"]["spans"]]
        lo = min(s[0] for s in spans)
        hi = max(s[1] for s in spans)
        pts_row = await db.q.clip_pts(conn, video_id=video_id, start_frame=lo, end_frame=hi)
        pts = list(pts_row["pts"]) if pts_row else []
        end_seconds = max(c["end_seconds"] for c in clips)
        new_ids: list[int] = []
        for start, end in spans:
            span = ClipSpan(
                start_frame=start,
                end_frame=end,
                start_seconds=float(pts[start - lo]),
                end_seconds=float(pts[end - lo]) if end - lo < len(pts) else end_seconds,
            )
            new_id = await db.q.insert_edit_clip(
                conn, video_id=video_id, clip_identifier=span.identifier(video_id),
                start_frame=span.start_frame, end_frame=span.end_frame,
                start_seconds=span.start_seconds, end_seconds=span.end_seconds,
            )  # fmt: skip
            if new_id is None:
                raise ReviewConflict(f"a live clip already covers frames {start}–{end - 1}")
            new_ids.append(new_id)
        superseded = "merged" if ev["action"] == "merge" else "split"
        for c in clips:
            await db.q.supersede_clip(conn, id=c["id"], state=superseded, new_ids=new_ids)
        await db.q.mark_event_committed(conn, id=event_id)
    log.info("committed %s %s: clips %s → %s", ev["action"], event_id, ev["clip_ids"], new_ids)
    return "committed"


async def video_clips(db: Database, video_id: int) -> list[dict[str, Any]]:
    """All clips of a video (superseded ones too) in frame order, as dicts."""
    async with db.acquire() as conn:
        return [dict(r) for r in await fetch_all(db.q.video_clip_list(conn, video_id=video_id))]


async def history(db: Database, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Review events, newest first, as dicts (``pending`` = an edit still in its window)."""
    async with db.acquire() as conn:
        rows = await fetch_all(db.q.event_history(conn, limit=limit, offset=offset))
    return [dict(r) for r in rows]
