"""Error responses: a review error, a 404, a refused CSRF token… answered in the form the
request expects: a flash message for htmx, JSON for an API client, an error page otherwise.

A database that cannot be reached (the embedded server's socket gone, a refused or dropped
connection, a server shutting down or starting up, too many connections) is a 503 "database
unavailable" with ``Retry-After``, logged as one line, not a 500: the pool reconnects by
itself on the next request once the server is back (:func:`database_unavailable` tells these
errors from the rest).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ClientException, HTTPException, NotAuthorizedException
from litestar.response import Template

from heaters.db.errors import database_error
from heaters.review import ReviewError
from web.auth import login_redirect
from web.state import is_htmx, wants_json

log = logging.getLogger(__name__)

_TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Cannot do that",
    429: "Too many attempts",
    500: "Server error",
    503: "Service unavailable",
}


def error_response(
    request: Request[Any, Any, Any],
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """``message`` with ``status``, as htmx flash, JSON or a page (``headers`` kept, e.g. the
    ``Allow`` of a 405)."""
    headers = dict(headers or {})
    if is_htmx(request):
        return Template(
            template_name="_flash_item.html",
            context={"message": message, "kind": "error"},
            status_code=status,
            headers={**headers, "HX-Retarget": "#flash", "HX-Reswap": "afterbegin"},
        )
    if wants_json(request):
        # Litestar's documented error shape, so responses match the OpenAPI schema.
        return Response(
            content={"status_code": status, "detail": message},
            status_code=status,
            headers=headers,
        )
    return Template(
        template_name="error.html",
        context={"status": status, "title": _TITLES.get(status, "Error"), "message": message},
        status_code=status,
        headers=headers,
    )


def review_error_handler(request: Request[Any, Any, Any], exc: ReviewError) -> Response[Any]:
    """A refused review action: its status (404/409/422) and its one-line reason."""
    return error_response(request, exc.status, str(exc))


def not_authorized_handler(
    request: Request[Any, Any, Any], exc: NotAuthorizedException
) -> Response[Any]:
    """No session: htmx is told to load the login page, a browser is redirected to it."""
    if is_htmx(request):
        return Response(content="", status_code=401, headers={"HX-Redirect": "/login"})
    if wants_json(request) or request.method != "GET":
        return error_response(request, 401, exc.detail or "please sign in")
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return login_redirect(path)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors (404, 405, a refused CSRF token, bad parameters)."""
    message = exc.detail or _TITLES.get(exc.status_code, "error")
    if exc.status_code == 403 and "CSRF" in message:
        message = "the form has expired (CSRF check failed): reload the page and try again"
    return error_response(request, exc.status_code, message, dict(exc.headers or {}))


_BIGINT = 2**63


def refuse_out_of_range_ids(request: Request[Any, Any, Any]) -> None:
    """``before_request`` of the app: an int path parameter past the database's bigint (e.g.
    ``/videos/9223372036854775808``) is a 400 with its name, on every route, before any query
    (one driver fails encoding it, another sends it as ``numeric`` and finds no function)."""
    for name, value in request.path_params.items():
        if isinstance(value, int) and not -_BIGINT <= value < _BIGINT:
            raise ClientException(f"{name} {value} is out of range (at most {_BIGINT - 1})")


#: What a client is told while the database cannot be reached (no server path or address).
DATABASE_UNAVAILABLE = "database unavailable: try again in a moment"
#: ``Retry-After`` of a 503 (seconds): about how long a restarting Postgres takes.
RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException) -> str | None:
    """The one-line reason (``Type: message``) when ``exc`` (or an exception it was raised
    from) means the database cannot be reached, else None: the classification of
    :func:`heaters.db.errors.database_error`, shared with the worker."""
    e = database_error(exc)
    return None if e is None else _one_line(e)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class OneLineDatabaseErrors(logging.Filter):
    """A log filter: a record carrying a database-unavailable exception (asyncpg's pool
    "failed to restore the pool connection floor; retrying", once per retry while the server
    is away) keeps its message and the one-line reason, not the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        reason = database_unavailable(exc) if exc is not None else None
        if reason is not None:
            record.msg = f"{record.getMessage()}: {reason}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_driver_tracebacks() -> None:
    """Put :class:`OneLineDatabaseErrors` on the loggers of the database drivers (once)."""
    for name in ("asyncpg.pool", "psycopg.pool"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneLineDatabaseErrors) for f in logger.filters):
            logger.addFilter(OneLineDatabaseErrors())


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything unexpected: logged with its traceback, a short message to the user; a
    database that cannot be reached: a 503 and one line in the log."""
    reason = database_unavailable(exc)
    if reason is not None:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
        return error_response(
            request, 503, DATABASE_UNAVAILABLE, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    log.error("error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, f"internal error ({type(exc).__name__}); see the log")


exception_handlers: dict[Any, Any] = {
    ReviewError: review_error_handler,
    NotAuthorizedException: not_authorized_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}

__all__ = [
    "DATABASE_UNAVAILABLE",
    "database_unavailable",
    "error_response",
    "exception_handlers",
    "quiet_driver_tracebacks",
    "refuse_out_of_range_ids",
]
