"""The JSON API (``/api``): submit and inspect videos and clips, review them; OpenAPI at
``/schema``. One module per resource: ``videos``, ``clips``, ``review``, ``tags`` (tags, notes,
batch actions) (and ``deliver``: cut lists and datasets, its own router); ``_common`` holds the
guard and what they share.

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

from litestar import Router

from web.api._common import MAX_FRAME, MAX_ID, ErrorOut, require_token
from web.api.clips import get_clip
from web.api.review import (
    retry_failed_clips,
    review_clip,
    review_queue,
    undo_event,
    undo_latest,
)
from web.api.tags import tag_routes
from web.api.videos import archive_video, get_video, list_videos, retry_video, submit_video

__all__ = ["MAX_FRAME", "MAX_ID", "ErrorOut", "api_router", "require_token"]

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
        *tag_routes,
    ],
    guards=[require_token],
    tags=["api"],
    security=[{"BearerToken": []}],
)
