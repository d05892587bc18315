"""The JSON API (``/api``): submit and inspect videos and clips; OpenAPI at ``/schema``.

Every route needs ``Authorization: Bearer <token>`` (``heaters token create NAME``); a
missing or wrong token gets 401. Submissions follow the CLI's rules: a source already
ingested returns the existing video (200, ``existing: true``) instead of a new one (201).
URLs must be http(s) and, unless ``HEATERS_API_ALLOW_PRIVATE_URLS`` is set, resolve only to
public addresses. Uploads are streamed to disk by the multipart parser (spooled, never whole
in memory) and refused with 413 past ``HEATERS_API_MAX_UPLOAD_BYTES``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

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

from heaters.api_tokens import verify_token
from heaters.config import get_settings
from heaters.pipeline.report import video_reports
from heaters.pipeline.submit import SubmitError, submit
from heaters.pipeline.url_check import MAX_URL_LENGTH, check_url
from web.state import web_state

VideoState = Literal[
    "new", "downloading", "downloaded", "download_failed", "preprocessing", "preprocessed",
    "preprocess_failed", "detecting", "detected", "detect_failed",
]  # fmt: skip
VIDEO_STATES: tuple[str, ...] = get_args(VideoState)
#: Largest id a path accepts (documented exactly in the schema, far below bigint's range).
MAX_ID = 10**15


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
class ClipDetail(ClipOut):
    """A clip with its video and review facts."""

    source_video_id: int = 0
    is_virtual: bool = True
    clip_path: str | None = None
    grouped_with_clip_id: int | None = None
    reviewed_by: str | None = None
    last_error: str | None = None


@dataclass
class VideoOut:
    """A source video with its state, its reason when failed, and its clips."""

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


def _video_out(report: dict[str, Any], existing: bool = False) -> VideoOut:
    return VideoOut(
        id=report["id"], source=report["source"], state=report["state"], error=report["error"],
        title=report["title"], frame_count=report["frame_count"], fps=report["fps"],
        duration_seconds=report["duration_seconds"], width=report["width"],
        height=report["height"], existing=existing,
        clips=[ClipOut(**c) for c in report["clips"]],
        transitions=[TransitionOut(**t) for t in report["transitions"]],
    )  # fmt: skip


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
                            )
                        },
                    )
                ),
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type="object",  # type: ignore[arg-type]
                        required=["file"],
                        properties={
                            "file": Schema(type="string", format=OpenAPIFormat.BINARY, min_length=1)  # type: ignore[arg-type]
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
        source = await _save_upload(upload)
    else:
        try:
            body = await request.json()
        except Exception as exc:
            raise ClientException('send JSON {"url": "https://…"} or a multipart file') from exc
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url:
            raise ClientException("the JSON body needs a 'url' string")
        try:
            await check_url(url, allow_private=state.settings.api_allow_private_urls)
        except SubmitError as exc:
            raise ClientException(str(exc)) from exc
        source = url
    try:
        sub = await submit(state.db, source)
    except SubmitError as exc:
        raise ClientException(str(exc)) from exc
    await state.dispatch()
    report = (await video_reports(state.db, [sub.video_id]))[sub.video_id]
    return Response(_video_out(report, sub.existing), status_code=200 if sub.existing else 201)


async def _save_upload(upload: UploadFile) -> str:
    """Copy the spooled upload to ``HEATERS_HOME/uploads`` (the download stage copies it into
    storage); 413 past the size limit."""
    settings = get_settings()
    limit = settings.api_max_upload_bytes
    folder = settings.home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c for c in (upload.filename or "upload") if c.isalnum() or c in "._-")[-80:]
    dest = folder / f"{uuid.uuid4().hex}_{name or 'upload'}"
    await upload.seek(0)
    size = 0
    try:
        with dest.open("wb") as out:
            while chunk := await upload.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(
                        status_code=413, detail=f"uploads are limited to {limit} bytes"
                    )
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        await upload.close()
    if size == 0:
        dest.unlink(missing_ok=True)
        raise ClientException("the uploaded file is empty (0 bytes)")
    return str(dest)


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
    """404 when there is no such clip."""
    async with web_state(request).db.acquire() as conn:
        row = await web_state(request).db.q.get_clip_row(conn, id=clip_id)
    if row is None:
        raise NotFoundException(f"no clip {clip_id}")
    return ClipDetail(
        id=row["id"], start_frame=row["start_frame"], end_frame=row["end_frame"],
        start_seconds=row["start_seconds"], end_seconds=row["end_seconds"], state=row["state"],
        source_video_id=row["source_video_id"], is_virtual=row["is_virtual"],
        clip_path=row["clip_path"], grouped_with_clip_id=row["grouped_with_clip_id"],
        reviewed_by=row["reviewed_by"], last_error=row["last_error"],
    )  # fmt: skip


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
    route_handlers=[submit_video, list_videos, get_video, get_clip, retry_video, archive_video],
    guards=[require_token],
    tags=["api"],
    security=[{"BearerToken": []}],
)
