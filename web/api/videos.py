"""``/api/videos``: submit (URL, path or upload), list, inspect, retry and archive videos."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import Parameter

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
from web.api._common import MAX_ID, reviewer_of
from web.api.clips import ClipOut, SuggestionOut, TransitionOut
from web.state import web_state

log = logging.getLogger(__name__)


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
    """How many of the video's clips were marked for archiving, by review event
    ``event_id`` (null when none was left to archive), undoable until ``settles_at``."""

    id: int
    archived_clips: int
    event_id: int | None = None
    settles_at: datetime | None = None


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


def public_error(error: str | None) -> str | None:
    """A failure reason without the server's ``HEATERS_HOME`` prefix."""
    if not error:
        return error
    return error.replace(f"{get_settings().home}/", "")


def _video_out(report: dict[str, Any], existing: bool = False) -> VideoOut:
    return VideoOut(
        id=report["id"], source=public_source(report["source"]), state=report["state"],
        error=public_error(report["error"]),
        title=report["title"], frame_count=report["frame_count"], fps=report["fps"],
        duration_seconds=report["duration_seconds"], width=report["width"],
        height=report["height"], existing=existing,
        clips=[ClipOut(**c) for c in report["clips"]],
        transitions=[TransitionOut(**t) for t in report["transitions"]],
        suggestions=[SuggestionOut(**sg) for sg in report.get("suggestions", ())],
    )  # fmt: skip


_COLLECTION_SCHEMA = Schema(
    type="string",  # type: ignore[arg-type]
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
    description="The collection a new video joins (default 'default'): its active detector "
    "profile detects it. A video ingested before keeps its collection.",
)


def _collection(fields: Any) -> str:
    """The submitted ``collection`` field of ``fields`` (the JSON body or the form), checked:
    400 unless it is a valid name (an empty one or a JSON null too, as the schema says);
    'default' when absent."""
    if "collection" not in fields:
        return DEFAULT_COLLECTION
    value = fields["collection"]
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
        collection = _collection(form)
        return await _submitted(request, await _store_upload(request, upload), collection)
    try:
        body = await request.json()
    except Exception as exc:
        raise ClientException('send JSON {"url": "https://…"} or a multipart file') from exc
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url:
        raise ClientException("the JSON body needs a 'url' string")
    collection = _collection(body)
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
    from heaters.review import retry_item

    state = web_state(request)
    retried = await retry_item(state.db, "video", video_id)
    async with state.db.acquire() as conn:
        current = await state.db.q.video_state(conn, id=video_id)
    if current is None:
        raise NotFoundException(f"no video {video_id}")
    if retried is None:
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
    """Archives every clip of the video that is not being worked on, as one review event
    by the token's name (``event_id``; undoable until ``settles_at`` with ``POST
    /api/review/undo/{event_id}``, like any decision); the archive stage then deletes their
    files (the rows stay). 404 for an unknown video."""
    from heaters.review import archive_video as archive_clips

    state = web_state(request)
    async with state.db.acquire() as conn:
        if await state.db.q.video_state(conn, id=video_id) is None:
            raise NotFoundException(f"no video {video_id}")
    result = await archive_clips(state.db, video_id, reviewer_of(request))
    await state.dispatch()
    if result is None:
        return ArchiveOut(video_id, 0)
    return ArchiveOut(video_id, len(result.clip_ids), result.event_id, result.settles_at)
