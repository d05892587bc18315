"""What the web process holds for its lifetime (the pool, storage, settings) and how routes
get at it, plus the small request helpers every route shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from heaters.config import Settings
from heaters.db import Database
from heaters.storage import Storage


@dataclass
class WebState:
    """Opened by the app's lifespan, kept in ``app.state.web``.

    ``cancel`` / ``dispatch`` are the procrastinate hooks (``workers.app``);
    they are attributes so tests and benchmarks can swap them.
    """

    settings: Settings
    db: Database
    storage: Storage
    cancel: Callable[[int], Awaitable[bool]]  # a job id -> cancelled (False: it ran)
    dispatch: Any  # () -> Awaitable[None]


def web_state(connection: ASGIConnection[Any, Any, Any, Any]) -> WebState:
    """The process's :class:`WebState`."""
    state: WebState = connection.app.state.web
    return state


def db_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Database:
    """The asyncpg pool of the web process."""
    return web_state(connection).db


def is_htmx(request: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """True for a request htmx made (``HX-Request: true``)."""
    return request.headers.get("hx-request") == "true"


def wants_json(request: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """True for an API client: a path under ``/api/``, or not htmx and ``Accept`` prefers
    JSON."""
    if request.url.path.startswith("/api/"):
        return True
    if is_htmx(request):
        return False
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def flash_later(request: Request[Any, Any, Any], message: str, kind: str = "ok") -> None:
    """Keep a message in the session for the next full page (forms without JavaScript)."""
    session = request.scope.get("session")
    data = dict(session) if isinstance(session, dict) else {}
    data["flash"] = [*list(data.get("flash", []))[-4:], {"message": message, "kind": kind}]
    request.set_session(data)


def pop_flashes(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    """The messages kept by :func:`flash_later`, removed from the session."""
    session = request.scope.get("session")
    if not isinstance(session, dict) or not session.get("flash"):
        return []
    flashes: list[dict[str, str]] = list(session.pop("flash", []))
    return flashes


__all__ = [
    "WebState",
    "db_of",
    "flash_later",
    "is_htmx",
    "pop_flashes",
    "wants_json",
    "web_state",
]
