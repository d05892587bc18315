"""What every ``/api`` route shares: the bearer-token guard, limits on ids and frames,
the error body, the reviewer's name, waking the dispatcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
)
from litestar.handlers.base import BaseRouteHandler

from heaters.api_tokens import verify_token
from heaters.domain.states import VideoState
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
class ErrorOut:
    """A refused request: its status and its one-line reason."""

    status_code: int
    detail: str


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


def reviewer_of(request: Request[Any, Any, Any]) -> str:
    """The API reviewer: the name of the request's token."""
    name: str = request.scope["state"]["api_token"]
    return name


async def dispatch_now(request: Request[Any, Any, Any]) -> None:
    """Ask for a dispatcher run (new clips want sprites); the periodic one catches up if this
    fails, so the action's answer does not depend on it."""
    try:
        await web_state(request).dispatch()
    except Exception:
        log.exception("could not defer the dispatcher")
