"""Storage objects over HTTP with Range support, and the two frames of a cut
(docs/architecture.md, "Review").

Litestar's own ``File`` response ignores ``Range``; starlette's ``FileResponse`` is an ASGI
app that answers ``206 Partial Content`` with ``Content-Range``, so the route returns it and
Litestar runs it as is. Only keys under the storage root are served; anything else is 404.
"""

from __future__ import annotations

import asyncio
import mimetypes
import tempfile
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import ClientException, NotFoundException
from litestar.types import ASGIApp
from starlette.responses import FileResponse, RedirectResponse

from heaters.errors import StorageError
from heaters.storage.base import presigned_url
from web.state import web_state

_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


@get("/media/{key:path}", name="media")
async def media(request: Request[Any, Any, Any], key: str) -> ASGIApp:
    """The storage object ``key`` (e.g. ``videos/3/proxy.mp4``), Range requests answered 206.

    On S3 the browser is redirected to a presigned URL (S3 answers Range itself), so the web
    process never proxies media bytes.
    """
    key = key.lstrip("/")
    if "\x00" in key:
        raise ClientException("a media path cannot contain a NUL byte")
    if not key or any(part.startswith(".") for part in key.split("/")):
        raise NotFoundException(f"no media object {key!r}")
    storage = web_state(request).storage
    url = await presigned_url(storage, key, expires_seconds=300)
    if url is not None:
        redirect: ASGIApp = RedirectResponse(url, status_code=307)  # type: ignore[assignment]
        return redirect
    try:
        path = storage.local_path(key)
    except StorageError:
        raise NotFoundException(f"no media object {key!r}") from None
    if path is None or not path.is_file():
        raise NotFoundException(f"no media object {key!r}")
    media_type = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    response: ASGIApp = FileResponse(  # type: ignore[assignment]
        path,
        media_type=media_type or "application/octet-stream",
        headers={"Cache-Control": "private, max-age=300"},
    )
    return response


CUT_TILE_WIDTH = 320
"""Width in pixels of each of the two frames of a cut view."""


def _cut_jpeg(proxy: Path, frame: int, pts_seconds: list[float]) -> bytes:
    """Frames ``frame - 1`` and ``frame`` of the all-I proxy side by side, as JPEG bytes."""
    from heaters.media.sprite import make_sprite

    with tempfile.TemporaryDirectory(prefix="heaters-cut-") as tmp:
        out = Path(tmp) / "cut.jpg"
        make_sprite(
            proxy, frame - 1, frame + 1, out,
            pts_seconds=pts_seconds, max_tiles=2, tile_width=CUT_TILE_WIDTH, quality=85,
        )  # fmt: skip
        return out.read_bytes()


@get("/review/videos/{video_id:int}/cuts/{frame:int}", name="cut_frames")
async def cut_frames(request: Request[Any, Any, Any], video_id: int, frame: int) -> Response[bytes]:
    """The cut before ``frame`` of video ``video_id`` as one JPEG: the last frame before it
    (``frame - 1``) on the left, the first after it (``frame``) on the right, each
    ``CUT_TILE_WIDTH`` pixels wide, decoded exactly (by PTS) from the all-I-frame proxy.

    404 when the video, its proxy or its frame index is missing, or ``frame`` is not within
    ``1 .. frame_count - 1``; 409 when the proxy is not on this machine's storage (S3: not
    served yet).
    """
    from heaters.media.sprite import SpriteError

    st = web_state(request)
    async with st.db.acquire() as conn:
        video = await st.db.q.timeline_video(conn, video_id=video_id)
        index = await st.db.q.get_frame_index(conn, id=video_id)
    if video is None or not video["proxy_path"] or index is None:
        raise NotFoundException(f"video {video_id} has no proxy and frame index")
    pts = list(index["pts_seconds"] or ())
    if not 1 <= frame < len(pts):
        raise NotFoundException(f"video {video_id} has no cut before frame {frame}")
    try:
        path = st.storage.local_path(video["proxy_path"])
    except StorageError:
        path = None
    if path is None or not path.is_file():
        raise ClientException(
            f"the proxy of video {video_id} is not on local storage: no cut view", status_code=409
        )
    try:
        body = await asyncio.to_thread(_cut_jpeg, path, frame, pts)
    except SpriteError as exc:
        raise NotFoundException(str(exc)) from None
    return Response(
        content=body, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )


media_routes = [media, cut_frames]

__all__ = ["cut_frames", "media", "media_routes"]
