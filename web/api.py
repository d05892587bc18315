"""The JSON API (``/api``): submit and inspect videos and clips, review them; OpenAPI at
``/schema``.

Every route needs ``Authorization: Bearer <token>`` (``heaters token create NAME``); a
missing or wrong token gets 401. Submissions follow the CLI's rules: a source already
ingested returns the existing video (200, ``existing: true``) instead of a new one (201).
URLs must be http(s) and, unless ``HEATERS_API_ALLOW_PRIVATE_URLS`` is set, resolve only to
public addresses. Uploads are streamed to disk by the multipart parser (spooled, never whole
in memory), refused with 413 past ``HEATERS_API_MAX_UPLOAD_BYTES``, and put into the storage
at once (``uploads/{uuid}_{name}``, S3 or the local storage root), so a worker on any
machine can fetch them; an upload of content already ingested is not stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import Parameter

from heaters import review
from heaters.api_tokens import verify_token
from heaters.config import get_settings
from heaters.domain.states import VideoState
from heaters.errors import StorageError
from heaters.pipeline.profiles import (
    DEFAULT_COLLECTION,
    ProfileError,
    check_collection,
    put_in_collection,
)
from heaters.pipeline.report import video_reports
from heaters.pipeline.submit import Submission, SubmitError, is_url, submit, submit_upload
from heaters.pipeline.tmp import TempRoot
from heaters.pipeline.url_check import MAX_URL_LENGTH, check_url
from web.state import web_state

#: Every video state, as ``heaters.domain.states.VideoState`` spells them.
VIDEO_STATES: tuple[str, ...] = tuple(s.value for s in VideoState)
#: Largest id a path accepts (documented exactly in the schema, far below bigint's range).
MAX_ID = 10**15
#: Largest frame index a review body accepts (far beyond any video's frame count).
MAX_FRAME = 10**9
ReviewAction = Literal[
    "approve", "skip", "archive", "group", "merge", "split", "move_boundary", "reopen",
]  # fmt: skip
QueueOrder = Literal["video", "confidence"]

log = logging.getLogger(__name__)


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
    ``reason`` the rule that rejected it (``brightness_only``, ``flash``, ``local``,
    ``too_close``, ``weak``). Accept it with ``POST /api/clips/{id}/split`` at ``frame``."""

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


class ActionIn(msgspec.Struct):
    """The body of a review action: ``split`` needs ``frame`` (the first frame of the second
    part); ``move_boundary`` needs ``edge`` and ``frame`` (the clip's new ``start_frame``, or
    its new ``end_frame``, exclusive); ``merge`` takes ``with_clip_id`` (must be the clip just
    before). Other actions need no body."""

    frame: Annotated[int, msgspec.Meta(le=MAX_FRAME)] | None = None
    edge: Literal["start", "end"] | None = None
    with_clip_id: Annotated[int, msgspec.Meta(le=MAX_ID)] | None = None


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


@dataclass
class ErrorOut:
    """A refused request: its status and its one-line reason."""

    status_code: int
    detail: str


@dataclass
class VideoOut:
    """A source video with its state, its reason when failed, its clips, and every
    candidate cut the detector rejected (``suggestions``, by frame)."""

    id: int
    source: str
    state: str
    error: str | None
    title: str | None = None
    frame_count: int | None = None
    fps: float | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    existing: bool = False
    clips: list[ClipOut] = field(default_factory=list)
    transitions: list[TransitionOut] = field(default_factory=list)
    suggestions: list[SuggestionOut] = field(default_factory=list)


@dataclass
class VideoPage:
    """One page of videos, newest first."""

    items: list[VideoOut]
    total: int
    limit: int
    offset: int


@dataclass
class RetryOut:
    """The result of a retry request."""

    id: int
    state: str
    retried: bool


@dataclass
class ArchiveOut:
    """How many of the video's clips were marked for archiving."""

    id: int
    archived_clips: int


async def require_token(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: a valid bearer token, else 401."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("send an API token: Authorization: Bearer <token>")
    name = await verify_token(web_state(connection).db, token.strip())
    if name is None:
        raise NotAuthorizedException("unknown or revoked API token")
    connection.scope["state"]["api_token"] = name


_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{32}_")


def public_source(source: str) -> str:
    """What a client is shown of a source: a URL as it is; a local file by its name alone (an
    API upload by the name it was sent with), never the server's absolute path."""
    if is_url(source):
        return source
    path = Path(source)
    if path.parent == get_settings().home / "uploads":
        return _UPLOAD_PREFIX.sub("", path.name)
    return path.name


def _public_error(error: str | None) -> str | None:
    """A failure reason without the server's ``HEATERS_HOME`` prefix."""
    if not error:
        return error
    return error.replace(f"{get_settings().home}/", "")


def _video_out(report: dict[str, Any], existing: bool = False) -> VideoOut:
    return VideoOut(
        id=report["id"], source=public_source(report["source"]), state=report["state"],
        error=_public_error(report["error"]),
        title=report["title"], frame_count=report["frame_count"], fps=report["fps"],
        duration_seconds=report["duration_seconds"], width=report["width"],
        height=report["height"], existing=existing,
        clips=[ClipOut(**c) for c in report["clips"]],
        transitions=[TransitionOut(**t) for t in report["transitions"]],
        suggestions=[SuggestionOut(**sg) for sg in report.get("suggestions", ())],
    )  # fmt: skip


def _suggestions_out(items: Any) -> list[SuggestionOut]:
    return [SuggestionOut(**sg.as_dict()) for sg in items]


_COLLECTION_SCHEMA = Schema(
    type="string",  # type: ignore[arg-type]
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
    description="The collection a new video joins (default 'default'): its active detector "
    "profile detects it. A video ingested before keeps its collection.",
)


def _collection(value: Any) -> str:
    """The submitted ``collection`` field, checked (400 when invalid); 'default' when absent."""
    if value is None or value == "":
        return DEFAULT_COLLECTION
    if not isinstance(value, str):
        raise ClientException("'collection' must be a string")
    try:
        return check_collection(value)
    except ProfileError as exc:
        raise ClientException(str(exc)) from exc


@dataclass
class SubmitOperation(Operation):
    """OpenAPI: the body is either JSON ``{"url": …}`` or a multipart file upload."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        type="object",  # type: ignore[arg-type]
                        required=["url"],
                        properties={
                            "url": Schema(
                                type="string",  # type: ignore[arg-type]
                                format=OpenAPIFormat.URI,
                                pattern="^https?://[^/?#]+",
                                max_length=MAX_URL_LENGTH,
                            ),
                            "collection": _COLLECTION_SCHEMA,
                        },
                    )
                ),
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type="object",  # type: ignore[arg-type]
                        required=["file"],
                        properties={
                            "file": Schema(
                                type="string",  # type: ignore[arg-type]
                                format=OpenAPIFormat.BINARY,
                                min_length=1,
                            ),
                            "collection": _COLLECTION_SCHEMA,
                        },
                    )
                ),
            },
        )


def _max_body() -> int:
    return get_settings().api_max_upload_bytes + 1024 * 1024


@post(
    "/videos",
    operation_class=SubmitOperation,
    request_max_body_size=_max_body(),
    status_code=201,
    summary="Submit a video by URL (JSON) or as a file (multipart)",
    raises=[ClientException, NotAuthorizedException],
    responses={
        200: ResponseSpec(VideoOut, description="Already ingested: the existing video"),
        413: ResponseSpec(None, description="The upload is larger than the limit"),
    },
)
async def submit_video(request: Request[Any, Any, Any]) -> Response[VideoOut]:
    """Record a video as ``new``; 201 with it, or 200 with the existing one (``existing``)."""
    state = web_state(request)
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ClientException("send the video as the multipart field 'file'")
        collection = _collection(form.get("collection"))
        return await _submitted(request, await _store_upload(request, upload), collection)
    try:
        body = await request.json()
    except Exception as exc:
        raise ClientException('send JSON {"url": "https://…"} or a multipart file') from exc
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url:
        raise ClientException("the JSON body needs a 'url' string")
    collection = _collection(body.get("collection"))
    try:
        await check_url(url, allow_private=state.settings.api_allow_private_urls)
        sub = await submit(state.db, url)
    except SubmitError as exc:
        raise ClientException(str(exc)) from exc
    return await _submitted(request, sub, collection)


async def _submitted(
    request: Request[Any, Any, Any], sub: Submission, collection: str = DEFAULT_COLLECTION
) -> Response[VideoOut]:
    """The answer to a submission: 201 with the new video (put in ``collection``), 200 with
    the existing one (its collection unchanged)."""
    state = web_state(request)
    if not sub.existing:
        await put_in_collection(state.db, sub.video_id, collection)
    await state.dispatch()
    report = (await video_reports(state.db, [sub.video_id]))[sub.video_id]
    return Response(_video_out(report, sub.existing), status_code=200 if sub.existing else 201)


async def _store_upload(request: Request[Any, Any, Any], upload: UploadFile) -> Submission:
    """Put the upload into the storage and record it (:func:`submit_upload`): streamed in
    1 MiB blocks through a temp file of this process (hashed on the way, never whole in
    memory), 413 past the size limit, 400 when empty, 503 when the storage cannot take it.
    Content already ingested is not stored: the existing video."""
    state = web_state(request)
    limit = state.settings.api_max_upload_bytes
    filename = upload.filename or "upload"
    sent = Path(filename).stem
    title = "".join(c for c in sent if c.isprintable())[:200] or None  # no NUL for Postgres
    digest = hashlib.sha256()
    with TempRoot(state.settings.tmp_root).job_dir(f"upload-{uuid.uuid4().hex}") as tmp:
        spool = tmp / "upload"
        size = 0
        try:
            await upload.seek(0)
            with spool.open("wb") as out:

                def write(chunk: bytes) -> None:
                    digest.update(chunk)
                    out.write(chunk)

                while chunk := await upload.read(1024 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(
                            status_code=413, detail=f"uploads are limited to {limit} bytes"
                        )
                    await asyncio.to_thread(write, chunk)
        finally:
            await upload.close()
        if size == 0:
            raise ClientException("the uploaded file is empty (0 bytes)")
        try:
            return await submit_upload(
                state.db, state.storage, spool, filename=filename, sha256=digest.hexdigest(),
                title=title,
            )  # fmt: skip
        except StorageError as exc:
            log.warning("cannot store an upload: %s", exc)
            raise HTTPException(
                status_code=503,
                detail="storage unavailable: the upload could not be stored, try again later",
            ) from exc


@get(
    "/videos", summary="List videos, newest first", raises=[ClientException, NotAuthorizedException]
)
async def list_videos(
    request: Request[Any, Any, Any],
    state_filter: VideoState | None = Parameter(
        query="state", default=None, description="Only videos in this state."
    ),
    limit: int = Parameter(default=50, ge=1, le=500),
    offset: int = Parameter(default=0, ge=0, le=10_000_000),
) -> VideoPage:
    """Videos with their clips, paginated, optionally filtered by state."""
    db = web_state(request).db
    state = state_filter  # validated by Litestar against the VideoState enum (400 otherwise)
    async with db.acquire() as conn:
        total = await db.q.count_videos(conn, state=state)
        ids = [
            r["id"]
            async for r in db.q.page_video_ids(conn, state=state, limit=limit, offset=offset)
        ]
    reports = await video_reports(db, ids)
    return VideoPage([_video_out(reports[i]) for i in ids], total, limit, offset)


@get(
    "/videos/{video_id:int}",
    summary="One video with its state, error and clips",
    raises=[NotFoundException, NotAuthorizedException],
)
async def get_video(
    request: Request[Any, Any, Any], video_id: int = Parameter(ge=1, le=MAX_ID)
) -> VideoOut:
    """404 when there is no such video."""
    reports = await video_reports(web_state(request).db, [video_id])
    if video_id not in reports:
        raise NotFoundException(f"no video {video_id}")
    return _video_out(reports[video_id])


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
        next_clip_id=view.next_clip_id, suggestions=_suggestions_out(view.suggestions),
    )  # fmt: skip


def _reviewer(request: Request[Any, Any, Any]) -> str:
    """The API reviewer: the name of the request's token."""
    name: str = request.scope["state"]["api_token"]
    return name


def _action_out(result: review.ActionResult) -> ActionOut:
    return ActionOut(
        event_id=result.event_id, action=result.action, settles_at=result.settles_at,
        clip_ids=list(result.clip_ids), live_clip_ids=list(result.live_clip_ids),
        message=result.message,
    )  # fmt: skip


async def _dispatch(request: Request[Any, Any, Any]) -> None:
    """Ask for a dispatcher run (new clips want sprites); the periodic one catches up if this
    fails, so the action's answer does not depend on it."""
    try:
        await web_state(request).dispatch()
    except Exception:
        log.exception("could not defer the dispatcher")


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
        web_state(request).db, _reviewer(request), video_id=video_id,
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
                suggestions=_suggestions_out(inside.get(q.id, ())),
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
        result = await review.reopen(state.db, clip_id, _reviewer(request))
    else:
        result = await review.act(
            state.db, clip_id, action, _reviewer(request), frame=body.frame, edge=body.edge,
            with_clip_id=body.with_clip_id,
        )  # fmt: skip
    await _dispatch(request)
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
    result = await review.undo(web_state(request).db, _reviewer(request), event_id=event_id)
    await _dispatch(request)
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
    result = await review.undo(web_state(request).db, _reviewer(request))
    await _dispatch(request)
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
        await _dispatch(request)
    return RetryFailedOut(retried)


@post(
    "/videos/{video_id:int}/retry",
    status_code=200,
    summary="Retry a failed video now",
    raises=[NotFoundException, NotAuthorizedException],
    responses={409: ResponseSpec(None, description="The video is not in a failed state")},
)
async def retry_video(
    request: Request[Any, Any, Any], video_id: int = Parameter(ge=1, le=MAX_ID)
) -> RetryOut:
    """404 for an unknown video, 409 when it is not in a failed state."""
    state = web_state(request)
    async with state.db.transaction() as conn:
        row = await state.db.q.retry_video(conn, id=video_id)
        current = await state.db.q.video_state(conn, id=video_id)
    if current is None:
        raise NotFoundException(f"no video {video_id}")
    if row is None:
        raise HTTPException(status_code=409, detail=f"video {video_id} is {current}, not failed")
    await state.dispatch()
    return RetryOut(video_id, current, True)


@delete(
    "/videos/{video_id:int}",
    status_code=200,
    summary="Archive all of a video's clips",
    raises=[NotFoundException, NotAuthorizedException],
)
async def archive_video(
    request: Request[Any, Any, Any], video_id: int = Parameter(ge=1, le=MAX_ID)
) -> ArchiveOut:
    """Marks every clip of the video that is not being worked on ``review_archived``; the
    archive stage then deletes their files (the rows stay). 404 for an unknown video."""
    state = web_state(request)
    async with state.db.transaction() as conn:
        if await state.db.q.video_state(conn, id=video_id) is None:
            raise NotFoundException(f"no video {video_id}")
        n = await state.db.q.archive_video_clips(conn, video_id=video_id)
    await state.dispatch()
    return ArchiveOut(video_id, int(n))


api_router = Router(
    path="/api",
    route_handlers=[
        submit_video,
        list_videos,
        get_video,
        get_clip,
        retry_video,
        archive_video,
        review_queue,
        review_clip,
        undo_event,
        undo_latest,
        retry_failed_clips,
    ],
    guards=[require_token],
    tags=["api"],
    security=[{"BearerToken": []}],
)
