"""Review actions (docs/architecture.md, "Review"): decisions that settle, edits, undo, leases.

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
  settles_at)`` or None; ``suggestions``: the detector's rejected candidate cuts strictly
  inside it, ``SuggestionView``). ``clip_suggestions(db, clip_ids)`` the same for many
  clips. ``video_clips``, ``history`` as before.
- ``retry_failed_clips(db) -> list[int]`` (heaters.review.failures): every failed clip due now.

Errors: ``ClipNotFound`` (404), ``ReviewConflict`` (409, says why), ``InvalidEdit`` (422).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast, get_args

import asyncpg

from heaters.config import get_settings
from heaters.db import Database, fetch_all
from heaters.db.pool import Connection
from heaters.domain.cuts import ClipSpan
from heaters.domain.states import ClipState
from heaters.review.errors import ClipNotFound, InvalidEdit, ReviewConflict

log = logging.getLogger(__name__)

Decision = Literal["approve", "skip", "archive", "group"]
Edit = Literal["merge", "split", "move_boundary"]
Action = Literal[Decision, Edit]
Edge = Literal["start", "end"]
QueueOrder = Literal["video", "confidence"]
ACTIONS: tuple[str, ...] = get_args(Action)
EDGES: tuple[str, ...] = get_args(Edge)
QUEUE_ORDERS: tuple[str, ...] = get_args(QueueOrder)

DECISIONS: dict[str, ClipState] = {
    "approve": ClipState.REVIEW_APPROVED,
    "skip": ClipState.REVIEW_SKIPPED,
    "archive": ClipState.REVIEW_ARCHIVED,
    "group": ClipState.REVIEW_APPROVED,
}
PENDING = ClipState.PENDING_REVIEW
SUPERSEDED = (ClipState.MERGED, ClipState.SPLIT)
_PAST = {
    "approve": "approved", "skip": "skipped", "archive": "archived", "group": "grouped",
    "merge": "merged", "split": "split", "move_boundary": "moved",
}  # fmt: skip

#: Schedules the commit of edit event ``event_id`` in ``delay`` seconds; returns the job id.
#: (Edits are applied when logged since issue 12; only edits logged before wait for a job.)
EditScheduler = Callable[[int, float], Awaitable[int]]
#: Cancels a scheduled job by id; returns True when it was cancelled.
JobCanceller = Callable[[int], Awaitable[bool]]


@dataclass(frozen=True)
class PendingDecision:
    """The latest event on a clip that has not settled yet: undoable until ``settles_at``."""

    event_id: int
    action: str
    reviewer: str | None
    settles_at: datetime


@dataclass(frozen=True)
class SuggestionView:
    """A candidate cut the detector rejected (``boundary_suggestions``), strictly inside a
    clip: ``frame`` would start the new shot, ``seconds`` is its PTS, ``confidence`` 0–1,
    ``reason`` the rule that rejected it. Accepting it is a split at ``frame``."""

    frame: int
    seconds: float
    confidence: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """``{"frame", "seconds", "confidence", "reason"}`` (JSON-ready)."""
        return {
            "frame": self.frame,
            "seconds": self.seconds,
            "confidence": round(self.confidence, 4),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ClipView:
    """A clip as the review page and the API show it.

    Frames are ``[start_frame, end_frame)``; seconds are PTS. ``pts`` holds the PTS in seconds
    of frames ``start_frame … end_frame`` (the frame after the clip included when it exists),
    from the frame index: the page seeks with them, never with frame ÷ nominal fps.
    ``claimed_by`` is the reviewer holding a live lease on the clip (None: nobody), until
    ``claim_expires_at``. ``pending`` is the latest decision on it still settling.
    ``boundary_confidence`` (0–1 or None) is the detector's confidence in the cut the clip
    starts on; ``is_transition`` marks a gradual transition's frames (``transition_kind``).
    ``suggestions``: the candidate cuts strictly inside the clip, in frame order.
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
    pending: PendingDecision | None = None
    claim_expires_at: datetime | None = None
    superseded_by: tuple[int, ...] = ()
    is_transition: bool = False
    transition_kind: str | None = None
    boundary_confidence: float | None = None
    suggestions: tuple[SuggestionView, ...] = ()

    @property
    def frame_count(self) -> int:
        """Frames in the clip (``end_frame`` is exclusive)."""
        return self.end_frame - self.start_frame


@dataclass(frozen=True)
class QueueItem:
    """A clip in the review queue (frames ``[start_frame, end_frame)``, seconds from PTS);
    ``own_claim``: the reviewer already holds it."""

    id: int
    video_id: int
    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float
    is_transition: bool
    transition_kind: str | None
    boundary_confidence: float | None
    own_claim: bool


@dataclass(frozen=True)
class Claim:
    """The outcome of :func:`claim`.

    ``own``: the reviewer holds the lease now, until ``expires_at``. Otherwise ``holder`` is the
    reviewer who does (None when nobody can: the clip was merged or split away) and ``reason``
    says why the clip is read-only.
    """

    clip_id: int
    own: bool
    holder: str | None
    expires_at: datetime | None
    reason: str | None = None


@dataclass(frozen=True)
class ActionResult:
    """What an action did.

    ``event_id``: its review event (for an undo: the event undone). ``clip_ids``: every clip
    the event touched (for an edit, the old clips then the new ones). ``live_clip_ids``: the
    clips to show now, in frame order (the decided clips, the clips an edit made, the clips an
    undo restored). ``settles_at``: until when the action can be undone (None for an undo).
    ``job_id``: only for the undo of an edit logged before issue 12 (its cancelled job).
    """

    event_id: int
    action: str
    clip_ids: tuple[int, ...]
    message: str
    settles_at: datetime | None = None
    live_clip_ids: tuple[int, ...] = ()
    job_id: int | None = None


def _settle(settle_seconds: float | None) -> float:
    return get_settings().review_settle_seconds if settle_seconds is None else settle_seconds


_CLAIM_TRIES = 3
"""Takes of a lease that :func:`claim` tries when its holder lets go in between."""


def _clock(t: datetime) -> str:
    return t.astimezone().strftime("%H:%M:%S")


def _label(state: str) -> str:
    return state.removeprefix("review_").replace("_", " ")


def _clips_text(ids: Sequence[int]) -> str:
    return ("clips " if len(ids) > 1 else "clip ") + " and ".join(
        [", ".join(map(str, ids[:-1])), str(ids[-1])] if len(ids) > 1 else [str(ids[0])]
    )


@asynccontextmanager
async def _transaction(db: Database) -> AsyncIterator[Connection]:
    """A transaction whose deadlock (two actions on the same clips at once) is a 409."""
    try:
        async with db.transaction() as conn:
            yield conn
    except asyncpg.exceptions.DeadlockDetectedError as exc:
        raise ReviewConflict(
            "another action on the same clips ran at the same moment; nothing was changed: "
            "try again"
        ) from exc


def _snapshot(clip: Any) -> dict[str, Any]:
    return {
        "id": clip["id"],
        "state": clip["state"],
        "reviewed_at": clip["reviewed_at"].isoformat() if clip["reviewed_at"] else None,
        "reviewed_by": clip["reviewed_by"],
        "grouped_with_clip_id": clip["grouped_with_clip_id"],
    }


async def _lock_clip(db: Database, conn: Connection, clip_id: int, reviewer: str | None) -> Any:
    clip = await db.q.lock_clip(conn, id=clip_id, reviewer=reviewer)
    if clip is None:
        raise ClipNotFound(f"no clip {clip_id}")
    return clip


def _require_free(clip: Any, what: str = "clip") -> None:
    """Hard claims: a clip another reviewer holds can be read, not changed."""
    if clip["held_by"] is not None:
        raise ReviewConflict(
            f"{what} {clip['id']} is held by {clip['held_by']} (until "
            f"{_clock(clip['claim_expires_at'])}): it can be viewed but not changed"
        )


def _require_pending(clip: Any, what: str = "clip") -> None:
    if clip["state"] in SUPERSEDED:
        into = ", ".join(f"#{i}" for i in clip["superseded_by"] or ())
        raise ReviewConflict(
            f"{what} {clip['id']} was {clip['state']} into {into or 'other clips'}; "
            "nothing was changed"
        )
    if clip["state"] != PENDING:
        by = f" by {clip['reviewed_by']}" if clip["reviewed_by"] else ""
        raise ReviewConflict(
            f"{what} {clip['id']} is already {_label(clip['state'])}{by}; nothing was changed"
        )


async def _insert_event(
    db: Database,
    conn: Connection,
    *,
    clip_ids: Sequence[int],
    action: str,
    reviewer: str,
    payload: dict[str, Any],
    settle_seconds: float,
    applied: bool = False,
) -> Any:
    return await db.q.insert_event(
        conn, clip_ids=list(clip_ids), action=action, reviewer=reviewer, payload=payload,
        settle_seconds=settle_seconds, applied=applied,
    )  # fmt: skip


async def get_clip(db: Database, clip_id: int) -> ClipView:
    """The clip ``clip_id`` with what the review page and the API need. Raises ClipNotFound."""
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
        ev = await db.q.settling_event_for(conn, id=clip_id)
        inside = await _suggestions_in(db, conn, [clip_id])
    fps = row["fps_num"] / row["fps_den"] if row["fps_num"] and row["fps_den"] else 25.0
    confidence = row["boundary_confidence"]
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
        claimed_by=row["holder"],
        claim_expires_at=row["claim_expires_at"] if row["holder"] else None,
        proxy_key=row["proxy_path"],
        fps=fps,
        video_frame_count=row["video_frame_count"],
        pts=tuple(pts_row["pts"] or ()) if pts_row else (),
        prev_clip_id=row["prev_clip_id"],
        next_clip_id=row["next_clip_id"],
        sprite_key=row["sprite_key"],
        sprite_meta=row["sprite_meta"],
        pending=PendingDecision(ev["id"], ev["action"], ev["reviewer"], ev["settles_at"])
        if ev is not None
        else None,
        superseded_by=tuple(row["superseded_by"] or ()),
        is_transition=row["is_transition"],
        transition_kind=row["transition_kind"],
        boundary_confidence=None if confidence is None else float(confidence),
        suggestions=tuple(inside.get(clip_id, ())),
    )


async def _suggestions_in(
    db: Database, conn: Connection, clip_ids: Sequence[int]
) -> dict[int, list[SuggestionView]]:
    out: dict[int, list[SuggestionView]] = {}
    for r in await fetch_all(db.q.clip_suggestions(conn, ids=list(clip_ids))):
        out.setdefault(r["clip_id"], []).append(
            SuggestionView(r["frame"], r["seconds"], float(r["confidence"]), r["reason"])
        )
    return out


async def clip_suggestions(
    db: Database, clip_ids: Sequence[int]
) -> dict[int, list[SuggestionView]]:
    """The boundary suggestions strictly inside each clip of ``clip_ids`` (start_frame <
    frame < end_frame), in frame order; clips with none are left out."""
    async with db.acquire() as conn:
        return await _suggestions_in(db, conn, clip_ids)


# --- queue and claims ------------------------------------------------------------------------


async def review_queue(
    db: Database,
    reviewer: str,
    *,
    video_id: int | None = None,
    include_transitions: bool = False,
    order: QueueOrder = "video",
    limit: int = 20,
) -> list[QueueItem]:
    """The next ``limit`` clips ``reviewer`` may review, without claiming them.

    ``pending_review`` clips nobody else holds; the reviewer's own claim first, then ``order``:
    ``"video"`` (video id, start frame) or ``"confidence"`` (least confident cut first, clips
    with no confidence last). Transition clips only with ``include_transitions``; one video
    with ``video_id``. Raises InvalidEdit for an unknown order.
    """
    if order not in QUEUE_ORDERS:
        raise InvalidEdit(f"unknown queue order {order!r}: use video or confidence")
    filters: dict[str, Any] = {"video_id": video_id, "include_transitions": include_transitions}
    async with db.acquire() as conn:
        own = await db.q.own_claimed_clip(conn, reviewer=reviewer, **filters)
        rows = await fetch_all(
            db.q.review_queue(conn, reviewer=reviewer, queue_order=order, limit=limit, **filters)
        )
    if own is not None:
        rows = [own, *(r for r in rows if r["id"] != own["id"])][:limit]
    return [
        QueueItem(
            id=r["id"],
            video_id=r["source_video_id"],
            start_frame=r["start_frame"],
            end_frame=r["end_frame"],
            start_seconds=r["start_seconds"],
            end_seconds=r["end_seconds"],
            is_transition=r["is_transition"],
            transition_kind=r["transition_kind"],
            boundary_confidence=None
            if r["boundary_confidence"] is None
            else float(r["boundary_confidence"]),
            own_claim=own is not None and r["id"] == own["id"],
        )
        for r in rows
    ]


async def claim(
    db: Database, clip_id: int, reviewer: str, *, claim_seconds: float | None = None
) -> Claim:
    """Take or renew ``reviewer``'s lease on ``clip_id`` (``HEATERS_CLAIM_SECONDS`` unless
    ``claim_seconds`` is given) when nobody else holds it; the reviewer's other claims are
    dropped (one clip at a time). When another reviewer holds it, nothing changes and the
    answer names them (``own`` False). Raises ClipNotFound.
    """
    lease = get_settings().claim_seconds if claim_seconds is None else claim_seconds
    # The holder can let go between the refused take and the look at who holds it (each
    # statement sees the latest commits): then take it again, a bounded number of times.
    for _ in range(_CLAIM_TRIES):
        async with db.transaction() as conn:
            row = await db.q.take_claim(conn, id=clip_id, reviewer=reviewer, claim_seconds=lease)
            if row is not None:
                await db.q.release_claims(conn, reviewer=reviewer, keep=[clip_id])
                return Claim(clip_id, True, reviewer, row["claim_expires_at"])
            now = await db.q.claim_holder(conn, id=clip_id)
        if now is None or now["superseded_by"] is not None or now["claimed_by"] is not None:
            break
    if now is None:
        raise ClipNotFound(f"no clip {clip_id}")
    if now["superseded_by"] is not None:
        into = ", ".join(f"#{i}" for i in now["superseded_by"])
        return Claim(clip_id, False, None, None, f"clip {clip_id} was {now['state']} into {into}")
    if now["claimed_by"] is None:  # taken and let go again on every try: busy, not held
        return Claim(
            clip_id, False, None, None,
            f"clip {clip_id} is changing hands between reviewers: try again",
        )  # fmt: skip
    return Claim(
        clip_id, False, now["claimed_by"], now["claim_expires_at"],
        f"clip {clip_id} is held by {now['claimed_by']} (until "
        f"{_clock(now['claim_expires_at'])}): it can be viewed but not changed",
    )  # fmt: skip


async def release(db: Database, clip_id: int, reviewer: str) -> bool:
    """Drop ``reviewer``'s claim on ``clip_id`` (page closed); False when they held none."""
    async with db.acquire() as conn:
        return await db.q.release_claim(conn, id=clip_id, reviewer=reviewer) is not None


async def next_clip(
    db: Database,
    reviewer: str,
    *,
    video_id: int | None = None,
    include_transitions: bool = False,
    order: QueueOrder = "video",
    claim_seconds: float | None = None,
) -> ClipView | None:
    """Claim and return the next clip of :func:`review_queue` for ``reviewer`` (None when the
    queue is empty). The reviewer's own live claim comes first. Concurrent reviewers never
    get the same clip: the claim is a conditional update, and a clip taken meanwhile is
    skipped for the next one.
    """
    for _ in range(20):
        items = await review_queue(
            db, reviewer, video_id=video_id, include_transitions=include_transitions,
            order=order, limit=16,
        )  # fmt: skip
        if not items:
            return None
        for item in items:
            got = await claim(db, item.id, reviewer, claim_seconds=claim_seconds)
            if not got.own:
                continue
            view = await get_clip(db, item.id)
            if view.state == PENDING:
                return view
            await release(db, item.id, reviewer)  # decided meanwhile
    return None


# --- decisions and edits ---------------------------------------------------------------------


def _live_order(rows: Sequence[Any]) -> tuple[int, ...]:
    return tuple(r["id"] for r in sorted(rows, key=lambda r: (r["start_frame"], r["id"])))


async def decide(
    db: Database,
    clip_id: int,
    action: Decision,
    reviewer: str,
    *,
    settle_seconds: float | None = None,
) -> ActionResult:
    """Apply approve / skip / archive / group to ``clip_id`` at once, undoable until it
    settles (``settle_seconds``, default ``HEATERS_REVIEW_SETTLE_SECONDS``).

    ``group`` approves the clip and links it to its previous clip (same video, adjacent;
    ``grouped_with_clip_id``); a pending previous clip is approved too; an approved one (even
    still settling) is linked as it is.

    Raises
    ------
    ClipNotFound
        No such clip.
    ReviewConflict
        The clip (or, for group, the previous one) is not in a state the action applies to,
        or another reviewer holds it.
    InvalidEdit
        An unknown action; group on the first clip of a video.
    """
    if action not in DECISIONS:
        raise InvalidEdit(f"unknown decision {action!r}: use approve, skip, archive or group")
    state = DECISIONS[action]
    window = _settle(settle_seconds)
    async with _transaction(db) as conn:
        clip = await _lock_clip(db, conn, clip_id, reviewer)
        _require_pending(clip)
        _require_free(clip)
        ids = [clip_id]
        before = [_snapshot(clip)]
        after = [{"id": clip_id, "state": state}]
        shown = [clip]
        grouped_with = clip["grouped_with_clip_id"]
        if action == "group":
            prev = await db.q.lock_previous_clip(
                conn, video_id=clip["source_video_id"], start_frame=clip["start_frame"],
                reviewer=reviewer,
            )  # fmt: skip
            if prev is None:
                raise InvalidEdit(
                    f"clip {clip_id} is the first of its video: nothing to group with"
                )
            if prev["state"] not in (PENDING, ClipState.REVIEW_APPROVED):
                raise ReviewConflict(
                    f"previous clip {prev['id']} is {_label(prev['state'])}: only pending or "
                    "approved clips can be grouped"
                )
            ids.append(prev["id"])
            if prev["state"] == PENDING:
                _require_free(prev, "previous clip")
                before.append(_snapshot(prev))
                after.append({"id": prev["id"], "state": state})
                shown.append(prev)
                await db.q.set_clip_decision(
                    conn, id=prev["id"], state=state, reviewer=reviewer,
                    grouped_with=prev["grouped_with_clip_id"],
                )  # fmt: skip
            grouped_with = prev["id"]
        await db.q.set_clip_decision(
            conn, id=clip_id, state=state, reviewer=reviewer, grouped_with=grouped_with
        )
        ev = await _insert_event(
            db, conn, clip_ids=ids, action=action, reviewer=reviewer,
            payload={"before": before, "after": after}, settle_seconds=window,
        )  # fmt: skip
    msg = f"clip {clip_id} {_PAST[action]}"
    if action == "group":
        msg += f" with clip {ids[1]}"
    log.info("%s: %s (event %s)", reviewer, msg, ev["id"])
    return ActionResult(
        event_id=ev["id"], action=action, clip_ids=tuple(ids),
        message=msg,
        settles_at=ev["settles_at"], live_clip_ids=_live_order(shown),
    )  # fmt: skip


def _superseded_state(replacements: int) -> ClipState:
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
    work): new rows, or earlier rows of the same span brought back. Returns the new ids."""
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
        new_ids.append(new_id)
    superseded = _superseded_state(len(new_ids))
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
    superseded = _superseded_state(len(new_ids))
    payload = {
        "before": [_snapshot(c) for c in old],
        "after": [{"id": c["id"], "state": superseded} for c in old]
        + [{"id": i, "state": new_state} for i in new_ids],
        "new": list(new_ids),
        "spans": [[p.start, p.end] for p in parts],
    }
    return await _insert_event(
        db, conn, clip_ids=[*(c["id"] for c in old), *new_ids], action=action,
        reviewer=reviewer, payload=payload, settle_seconds=window, applied=True,
    )  # fmt: skip


def _edit_result(
    action: Edit, old: Sequence[Any], new_ids: Sequence[int], ev: Any, message: str
) -> ActionResult:
    log.info("%s (event %s)", message, ev["id"])
    return ActionResult(
        event_id=ev["id"], action=action,
        clip_ids=(*(c["id"] for c in old), *new_ids),
        message=message,
        settles_at=ev["settles_at"], live_clip_ids=tuple(new_ids),
    )  # fmt: skip


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
    window = _settle(settle_seconds)
    async with _transaction(db) as conn:
        clip = await _lock_clip(db, conn, clip_id, reviewer)
        if with_clip_id is not None:
            other = await _lock_clip(db, conn, with_clip_id, reviewer)
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
        _require_free(clip)
        prev = await db.q.lock_previous_clip(
            conn, video_id=clip["source_video_id"], start_frame=clip["start_frame"],
            reviewer=reviewer,
        )  # fmt: skip
        if prev is None:
            raise InvalidEdit(f"clip {clip_id} is the first of its video: nothing to merge with")
        _require_free(prev, "previous clip")
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
            _require_pending(prev, "previous clip")
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
    window = _settle(settle_seconds)
    async with _transaction(db) as conn:
        clip = await _lock_clip(db, conn, clip_id, reviewer)
        start, end = clip["start_frame"], clip["end_frame"]
        if not start < frame < end:
            raise InvalidEdit(
                f"cannot split clip {clip_id} at frame {frame}: its frames are {start}–{end - 1}, "
                f"so a split frame must be between {start + 1} and {end - 1}"
            )
        _require_pending(clip)
        _require_free(clip)
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
    window = _settle(settle_seconds)
    async with _transaction(db) as conn:
        # Locks go from the later clip to the earlier one, as in merge and group.
        if edge == "start":
            right = await _lock_clip(db, conn, clip_id, reviewer)
            left = await db.q.lock_previous_clip(
                conn, video_id=right["source_video_id"], start_frame=right["start_frame"],
                reviewer=reviewer,
            )  # fmt: skip
            if left is None or right["superseded_by"] is not None:
                _require_pending(right)
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
            left = await _lock_clip(db, conn, clip_id, reviewer)
            _require_pending(left)
            if right is None or left["end_frame"] != right["start_frame"]:
                raise InvalidEdit(f"clip {clip_id} is the last of its video: its end cannot move")
        near = "previous clip" if edge == "start" else "next clip"
        here, there = (right, left) if edge == "start" else (left, right)
        _require_pending(here)
        _require_pending(there, near)
        _require_free(here)
        _require_free(there, near)
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


async def act(
    db: Database,
    clip_id: int,
    action: str,
    reviewer: str,
    *,
    frame: int | None = None,
    edge: str | None = None,
    with_clip_id: int | None = None,
    settle_seconds: float | None = None,
) -> ActionResult:
    """Any review action by name (``ACTIONS``): the one entry point of pages and API.

    ``split`` needs ``frame``; ``move_boundary`` needs ``edge`` and ``frame``; ``merge`` takes
    ``with_clip_id``. Raises InvalidEdit for an unknown action or a missing field, and what
    the action raises.
    """
    if action in DECISIONS:
        return await decide(
            db, clip_id, cast(Decision, action), reviewer, settle_seconds=settle_seconds
        )
    if action == "merge":
        return await merge(
            db, clip_id, reviewer, with_clip_id=with_clip_id, settle_seconds=settle_seconds
        )
    if action == "split":
        if frame is None:
            raise InvalidEdit("split needs the frame that starts the second part ('frame')")
        return await split(db, clip_id, frame, reviewer, settle_seconds=settle_seconds)
    if action == "move_boundary":
        if frame is None or edge is None:
            raise InvalidEdit("move_boundary needs 'edge' (start or end) and 'frame'")
        if edge not in EDGES:
            raise InvalidEdit(f"unknown edge {edge!r}: use start or end")
        return await move_boundary(
            db, clip_id, cast(Edge, edge), frame, reviewer, settle_seconds=settle_seconds
        )
    raise InvalidEdit(f"unknown action {action!r}: use {', '.join(ACTIONS)}")


# --- undo and reopen -------------------------------------------------------------------------


async def undo(
    db: Database,
    reviewer: str,
    *,
    event_id: int | None = None,
    cancel: JobCanceller | None = None,
) -> ActionResult:
    """Undo ``event_id``, or else ``reviewer``'s latest own event still settling (so undo,
    undo, undo takes back one decision after the other).

    The clips come back as the event found them (an edit's new clips are superseded by them
    again). An event can be undone until it settles, and only when no later event (not undone)
    touched its clips: undo that one first. ``cancel`` cancels the commit job of an edit logged
    before issue 12.

    Raises
    ------
    ReviewConflict
        Nothing to undo; already undone; settled; a later event on the same clips; a clip that
        has moved on since (e.g. archived by an operator) or that another reviewer holds.
        Status 404 for an unknown ``event_id``.
    """
    job_id = None
    async with _transaction(db) as conn:
        if event_id is None:
            event_id = await db.q.last_settling_event_of(conn, reviewer=reviewer)
            if event_id is None:
                raise ReviewConflict("nothing to undo: none of your decisions is still settling")
        ev = await db.q.lock_event(conn, id=event_id)
        if ev is None:
            raise ReviewConflict(f"no review event {event_id}", status=404)
        what = f"the {ev['action']} of {_clips_text(ev['clip_ids'])} (event {ev['id']})"
        if ev["undone_at"] is not None:
            raise ReviewConflict(f"{what} was already undone")
        if ev["action"] == "undo":
            raise ReviewConflict("an undo cannot be undone; act on the clip again instead")
        if not ev["settling"]:
            raise ReviewConflict(
                f"{what} settled at {_clock(ev['settles_at'])}: it can no longer be undone"
            )
        later = await db.q.later_event_on(conn, id=ev["id"], clip_ids=list(ev["clip_ids"]))
        if later is not None:
            raise ReviewConflict(
                f"{what} cannot be undone before the later {later['action']} of "
                f"{_clips_text(later['clip_ids'])} (event {later['id']}"
                + (f", by {later['reviewer']}" if later["reviewer"] != reviewer else "")
                + "): undo that first"
            )
        payload = ev["payload"]
        live: list[Any] = []
        if "after" not in payload:
            # An edit logged before issue 12, still waiting for its commit job.
            job_id = ev["job_id"]
        else:
            for a in payload["after"]:
                clip = await _lock_clip(db, conn, a["id"], reviewer)
                if clip["state"] != a["state"]:
                    raise ReviewConflict(
                        f"clip {clip['id']} has moved on to {_label(clip['state'])}: "
                        f"{what} can no longer be undone"
                    )
                _require_free(clip)
                if any(a["id"] == s["id"] for s in payload["before"]):
                    live.append(clip)
            for snap in payload["before"]:
                await db.q.restore_clip(
                    conn, id=snap["id"], state=snap["state"],
                    reviewed_at=datetime.fromisoformat(snap["reviewed_at"])
                    if snap["reviewed_at"] else None,
                    reviewed_by=snap["reviewed_by"], grouped_with=snap["grouped_with_clip_id"],
                )  # fmt: skip
            restored = [s["id"] for s in payload["before"]]
            for new_id in payload.get("new", ()):
                await db.q.supersede_clip(
                    conn, id=new_id, state=_superseded_state(len(restored)), new_ids=restored
                )
        await db.q.mark_event_undone(conn, id=ev["id"])
        await _insert_event(
            db, conn, clip_ids=list(ev["clip_ids"]), action="undo", reviewer=reviewer,
            payload={"undid": ev["id"], "action": ev["action"]}, settle_seconds=0,
        )  # fmt: skip
    if job_id is not None and cancel is not None:
        await cancel(job_id)
    ids = tuple(ev["clip_ids"])
    shown = live or []
    msg = f"undid {ev['action']} of {_clips_text(ids)}"
    log.info("%s: %s", reviewer, msg)
    return ActionResult(
        event_id=ev["id"], action="undo", clip_ids=ids, message=msg,
        live_clip_ids=_live_order(shown), job_id=job_id,
    )  # fmt: skip


async def reopen(db: Database, clip_id: int, reviewer: str) -> ActionResult:
    """Take a decided clip back to review: undo the event that decided it (see :func:`undo`)
    while it is settling.

    Raises ClipNotFound; ReviewConflict saying why not: the clip is pending already, was merged
    or split away, or its decision settled (it went on to export or archive).
    """
    async with db.acquire() as conn:
        clip = await db.q.get_clip_row(conn, id=clip_id)
        if clip is None:
            raise ClipNotFound(f"no clip {clip_id}")
        if clip["state"] == PENDING:
            raise ReviewConflict(f"clip {clip_id} is pending review: there is nothing to reopen")
        if clip["state"] in SUPERSEDED:
            into = ", ".join(f"#{i}" for i in clip["superseded_by"] or ())
            raise ReviewConflict(f"clip {clip_id} was {clip['state']} into {into}: open that")
        event_id = await db.q.deciding_event_for(conn, id=clip_id)
        settling = await db.q.settling_event_for(conn, id=clip_id)
    state = _label(clip["state"])
    if event_id is None:
        raise ReviewConflict(
            f"clip {clip_id} is {state} and no review decision of it can be undone"
        )
    if settling is None:
        by = f" by {clip['reviewed_by']}" if clip["reviewed_by"] else ""
        raise ReviewConflict(
            f"clip {clip_id} was decided{by} and that decision has settled (the settle window "
            f"is over; the clip is now {state}): it can no longer be reopened"
        )
    return await undo(db, reviewer, event_id=event_id)


# --- edits logged before issue 12 --------------------------------------------------------------


async def commit_edit(db: Database, event_id: int) -> str:
    """Commit a merge or split logged before issue 12 (it waited for this job): ``"committed"``
    or ``"noop"``. Edits logged since are applied when logged, so this is a no-op for them.

    Re-checks the event under a row lock (undone or already committed → no-op), creates the
    new clips at ``pending_review`` and supersedes the old ones. Idempotent.
    """
    async with _transaction(db) as conn:
        ev = await db.q.lock_event(conn, id=event_id)
        if ev is None or ev["undone_at"] is not None or ev["committed_at"] is not None:
            return "noop"
        if ev["action"] not in ("merge", "split"):
            return "noop"
        clips = [await _lock_clip(db, conn, cid, None) for cid in sorted(ev["clip_ids"])]
        if any(c["state"] != PENDING for c in clips):
            await db.q.mark_event_undone(conn, id=event_id)
            log.warning("edit %s dropped: its clips are no longer pending review", event_id)
            return "noop"
        by_start = {c["start_frame"]: c for c in clips}
        parts = []
        for start, end in ev["payload"]["spans"]:
            origin = by_start.get(start) or clips[0]
            parts.append(_Part(start, end, origin))
        new_ids = await _apply_edit(db, conn, clips, parts)
        await db.q.mark_event_committed(conn, id=event_id)
    log.info("committed %s %s: clips %s → %s", ev["action"], event_id, ev["clip_ids"], new_ids)
    return "committed"


# --- lists -----------------------------------------------------------------------------------


async def video_clips(db: Database, video_id: int) -> list[dict[str, Any]]:
    """All clips of a video (superseded ones too) in frame order, as dicts: ``id``,
    ``start_frame``, ``end_frame`` (exclusive), ``start_seconds``, ``end_seconds``, ``state``,
    ``grouped_with_clip_id``, ``reviewed_by``, ``reviewed_at``, ``superseded_by``,
    ``claimed_by`` (live lease holder or None), ``is_transition``, ``transition_kind``,
    ``boundary_confidence``, ``settles_at`` (of the latest event on it still settling, or
    None)."""
    async with db.acquire() as conn:
        return [dict(r) for r in await fetch_all(db.q.video_clip_list(conn, video_id=video_id))]


async def history(db: Database, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Review events, newest first, as dicts (the ``review_events`` columns, ``settles_at``
    included; ``pending``: still settling, so undoable)."""
    async with db.acquire() as conn:
        rows = await fetch_all(db.q.event_history(conn, limit=limit, offset=offset))
    return [dict(r) for r in rows]
