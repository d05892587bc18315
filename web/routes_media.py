"""Storage objects over HTTP with Range support (docs/architecture.md).

Litestar's own ``File`` response ignores ``Range``; starlette's ``FileResponse`` is an ASGI
app that answers ``206 Partial Content`` with ``Content-Range``, so the route returns it and
Litestar runs it as is. Only keys under the storage root are served; anything else is 404.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from litestar import Request, get
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


media_routes = [media]

__all__ = ["media", "media_routes"]
