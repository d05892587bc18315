"""``/api/review``: the queue, actions on clips, undo, retrying failed clips."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from heaters import review
from web.api._common import (
    MAX_FRAME,
    MAX_ID,
    ErrorOut,
    QueueOrder,
    ReviewAction,
    dispatch_now,
    reviewer_of,
)
from web.api.clips import SuggestionOut, suggestions_out
from web.state import web_state


class ActionIn(msgspec.Struct):
    """The body of a review action: ``split`` needs ``frame`` (the first frame of the second
    part); ``move_boundary`` needs ``edge`` and ``frame`` (the clip's new ``start_frame``, or
    its new ``end_frame``, exclusive); ``merge`` takes ``with_clip_id`` (must be the clip just
    before); ``approve`` / ``skip`` / ``archive`` take ``change`` (true: replace the decision
    of a decided clip, settled too, by this one). Other actions need no body."""

    frame: Annotated[int, msgspec.Meta(le=MAX_FRAME)] | None = None
    edge: Literal["start", "end"] | None = None
    with_clip_id: Annotated[int, msgspec.Meta(le=MAX_ID)] | None = None
    change: bool = False


@dataclass
class ActionOut:
    """What a review action did: its event (for an undo: the event undone), until when it can
    be undone (``settles_at``; null for an undo), every clip it touched (``clip_ids``), the
    clips to show next (``live_clip_ids``, frame order), and a message for people."""

    event_id: int
    action: str
    settles_at: datetime | None
    clip_ids: list[int]
    live_clip_ids: list[int]
    message: str


@dataclass
class QueueClipOut:
    """A clip waiting for review (frames ``[start_frame, end_frame)``, seconds from PTS);
    ``own_claim``: the caller already holds it; ``suggestions``: the detector's rejected
    candidate cuts strictly inside it."""

    id: int
    source_video_id: int
    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float
    is_transition: bool
    transition_kind: str | None
    confidence: float | None
    own_claim: bool
    suggestions: list[SuggestionOut] = field(default_factory=list)


@dataclass
class QueueOut:
    """The next clips to review, in queue order."""

    items: list[QueueClipOut]


@dataclass
class RetryFailedOut:
    """The failed clips made due again."""

    retried: list[int]


def _action_out(result: review.ActionResult) -> ActionOut:
    return ActionOut(
        event_id=result.event_id, action=result.action, settles_at=result.settles_at,
        clip_ids=list(result.clip_ids), live_clip_ids=list(result.live_clip_ids),
        message=result.message,
    )  # fmt: skip


_REVIEW_ERRORS = {
    404: ResponseSpec(ErrorOut, description="No such clip (or event)"),
    409: ResponseSpec(
        ErrorOut,
        description="The clip is not in a state the action applies to (decided, merged or "
        "split away, held by another reviewer, settled); the detail says why",
    ),
    422: ResponseSpec(ErrorOut, description="An edit that makes no sense (the detail says why)"),
}


_QUEUE_PARAMS = frozenset({"video_id", "include_transitions", "order", "limit"})


@get(
    "/review/queue",
    summary="The next clips to review",
    raises=[ClientException, NotAuthorizedException],
)
async def review_queue(
    request: Request[Any, Any, Any],
    video_id: int | None = Parameter(
        default=None, ge=1, le=MAX_ID, description="Only clips of this video."
    ),
    include_transitions: bool = Parameter(
        default=False, description="Also offer transition clips (dissolves, fades, wipes)."
    ),
    order: QueueOrder = Parameter(
        default="video",
        description="video: by video, then start frame; confidence: the least confident cuts "
        "first (clips with no confidence last).",
    ),
    limit: int = Parameter(default=20, ge=1, le=200),
) -> QueueOut:
    """``pending_review`` clips nobody else holds (the caller's own claim first), without
    claiming them; act on one with ``POST /api/clips/{clip_id}/{action}``; 400 for a query
    parameter it does not know."""
    unknown = set(request.query_params) - _QUEUE_PARAMS
    if unknown:
        known = ", ".join(sorted(_QUEUE_PARAMS))
        raise ClientException(f"unknown query parameter {sorted(unknown)[0]!r}: use {known}")
    items = await review.review_queue(
        web_state(request).db, reviewer_of(request), video_id=video_id,
        include_transitions=include_transitions, order=order, limit=limit,
    )  # fmt: skip
    inside = await review.clip_suggestions(web_state(request).db, [q.id for q in items])
    return QueueOut(
        [
            QueueClipOut(
                id=q.id,
                source_video_id=q.video_id,
                start_frame=q.start_frame,
                end_frame=q.end_frame,
                start_seconds=q.start_seconds,
                end_seconds=q.end_seconds,
                is_transition=q.is_transition,
                transition_kind=q.transition_kind,
                confidence=None
                if q.boundary_confidence is None
                else round(q.boundary_confidence, 4),
                own_claim=q.own_claim,
                suggestions=suggestions_out(inside.get(q.id, ())),
            )
            for q in items
        ]
    )


@post(
    "/clips/{clip_id:int}/{action:str}",
    status_code=200,
    summary="Review a clip: approve, skip, archive, group, merge, split, move_boundary, reopen",
    raises=[ClientException, NotAuthorizedException],
    responses=_REVIEW_ERRORS,
)
async def review_clip(
    request: Request[Any, Any, Any],
    action: ReviewAction,
    clip_id: int = Parameter(ge=1, le=MAX_ID),
    data: ActionIn | None = None,
) -> ActionOut:
    """One review action by the token's name, the same service as the review page.

    Every action applies at once and can be undone until ``settles_at``
    (``HEATERS_REVIEW_SETTLE_SECONDS``): ``POST /api/review/undo/{event_id}``; export and
    archive wait until then. ``group`` and ``merge`` join the clip with its previous clip
    (a previous clip approved but still settling may be merged: the merged clip stays
    approved). ``reopen`` undoes the decision of a decided clip that has not settled.
    """
    state = web_state(request)
    body = data or ActionIn()
    async with state.db.acquire() as conn:
        if await state.db.q.get_clip_row(conn, id=clip_id) is None:
            raise review.ClipNotFound(f"no clip {clip_id}")  # before any check of the body
    if action == "reopen":
        result = await review.reopen(state.db, clip_id, reviewer_of(request))
    else:
        result = await review.act(
            state.db, clip_id, action, reviewer_of(request), frame=body.frame, edge=body.edge,
            with_clip_id=body.with_clip_id, change=body.change,
        )  # fmt: skip
    await dispatch_now(request)
    return _action_out(result)


@post(
    "/review/undo/{event_id:int}",
    status_code=200,
    summary="Undo a review action that has not settled",
    raises=[NotAuthorizedException],
    responses=_REVIEW_ERRORS,
)
async def undo_event(
    request: Request[Any, Any, Any], event_id: int = Parameter(ge=1, le=MAX_ID)
) -> ActionOut:
    """Undo event ``event_id`` (an action's ``event_id``): its clips come back as it found
    them. 404 for an unknown event; 409 once it settled, when it was undone already, or when a
    later action touched the same clips (undo that first)."""
    result = await review.undo(web_state(request).db, reviewer_of(request), event_id=event_id)
    await dispatch_now(request)
    return _action_out(result)


@post(
    "/review/undo",
    status_code=200,
    summary="Undo the caller's latest action that has not settled",
    raises=[NotAuthorizedException],
    responses={409: _REVIEW_ERRORS[409]},
)
async def undo_latest(request: Request[Any, Any, Any]) -> ActionOut:
    """Undo the latest action of this token's name still settling (again: the one before);
    409 when there is none."""
    result = await review.undo(web_state(request).db, reviewer_of(request))
    await dispatch_now(request)
    return _action_out(result)


@post(
    "/clips/retry-failed",
    status_code=200,
    summary="Retry every failed clip now",
    raises=[NotAuthorizedException],
)
async def retry_failed_clips(request: Request[Any, Any, Any]) -> RetryFailedOut:
    """Every failed clip (export, keyframes, embedding, archive, or a sprite of a clip in
    review) becomes due now with a fresh attempt budget; a worker picks them up."""
    retried = await review.retry_failed_clips(web_state(request).db)
    if retried:
        await dispatch_now(request)
    return RetryFailedOut(retried)
