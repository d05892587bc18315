"""``/api/clips``: one clip as the review page sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar import Request, get
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
)
from litestar.params import Parameter

from heaters import review
from web.api._common import MAX_ID
from web.state import web_state


@dataclass
class ClipOut:
    """A clip: frames ``[start_frame, end_frame)``, seconds from PTS.

    ``is_transition``: the clip is the frames of a gradual transition (``transition_kind``:
    dissolve, fade_out, fade_in, wipe, unknown). ``confidence``: 0–1, the detector's
    confidence in the boundary the clip starts on (null at frame 0, after a transition, or
    for a clip a reviewer made).
    """

    id: int
    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float
    state: str
    is_transition: bool = False
    transition_kind: str | None = None
    confidence: float | None = None


@dataclass
class TransitionOut:
    """A gradual transition: frames ``[start_frame, end_frame)``, its kind and confidence."""

    start_frame: int
    end_frame: int
    kind: str
    confidence: float | None = None


@dataclass
class SuggestionOut:
    """A candidate cut the detector rejected (issue 19: "no silent veto"): ``frame`` would be
    the first frame of a new shot, ``seconds`` its PTS, ``confidence`` 0–1 (below 0.5),
    ``reason`` the rule that rejected it (``brightness_only``, ``camera_move``, ``flash``,
    ``local``, ``too_close``, ``weak``). Accept it with ``POST /api/clips/{id}/split`` at
    ``frame``."""

    frame: int
    seconds: float
    confidence: float
    reason: str


@dataclass
class PendingOut:
    """A decision on the clip that has not settled yet: undoable until ``settles_at``."""

    event_id: int
    action: str
    reviewer: str | None
    settles_at: datetime


@dataclass
class ClipDetail(ClipOut):
    """A clip with its video and review facts.

    ``claimed_by``: the reviewer whose lease on the clip is live (until
    ``claim_expires_at``), else null. ``pending``: the latest decision on it still settling
    (null once settled). ``superseded_by``: the clips that replaced it (merged or split).
    ``prev_clip_id`` / ``next_clip_id``: its live neighbours in the video.
    ``suggestions``: the detector's rejected candidate cuts strictly inside the clip.
    ``tags``: the names of its tags (sorted); ``note``: its note (null: none).
    """

    source_video_id: int = 0
    frame_count: int = 0
    is_virtual: bool = True
    clip_path: str | None = None
    grouped_with_clip_id: int | None = None
    reviewed_by: str | None = None
    last_error: str | None = None
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
    pending: PendingOut | None = None
    superseded_by: list[int] = field(default_factory=list)
    prev_clip_id: int | None = None
    next_clip_id: int | None = None
    suggestions: list[SuggestionOut] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    note: str | None = None


def suggestions_out(items: Any) -> list[SuggestionOut]:
    return [SuggestionOut(**sg.as_dict()) for sg in items]


@get("/clips/{clip_id:int}", summary="One clip", raises=[NotFoundException, NotAuthorizedException])
async def get_clip(
    request: Request[Any, Any, Any], clip_id: int = Parameter(ge=1, le=MAX_ID)
) -> ClipDetail:
    """A clip's state, frames, seconds, transition facts, holder and pending decision; 404
    when there is no such clip."""
    db = web_state(request).db
    async with db.acquire() as conn:
        row = await db.q.get_clip_row(conn, id=clip_id)
    if row is None:
        raise NotFoundException(f"no clip {clip_id}")
    try:
        view = await review.get_clip(db, clip_id)
    except review.ClipNotFound as exc:
        raise NotFoundException(str(exc)) from None
    p = view.pending
    return ClipDetail(
        id=view.id, start_frame=view.start_frame, end_frame=view.end_frame,
        start_seconds=view.start_seconds, end_seconds=view.end_seconds, state=view.state,
        is_transition=view.is_transition, transition_kind=view.transition_kind,
        confidence=None if view.boundary_confidence is None
        else round(view.boundary_confidence, 4),
        source_video_id=view.video_id, frame_count=view.frame_count,
        is_virtual=row["is_virtual"], clip_path=row["clip_path"],
        grouped_with_clip_id=view.grouped_with_clip_id, reviewed_by=view.reviewed_by,
        last_error=row["last_error"], claimed_by=view.claimed_by,
        claim_expires_at=view.claim_expires_at,
        pending=PendingOut(p.event_id, p.action, p.reviewer, p.settles_at) if p else None,
        superseded_by=list(view.superseded_by), prev_clip_id=view.prev_clip_id,
        next_clip_id=view.next_clip_id, suggestions=suggestions_out(view.suggestions),
        tags=list(view.tags), note=view.note,
    )  # fmt: skip
