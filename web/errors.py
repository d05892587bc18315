"""Error responses: a review error, a 404, a refused CSRF token… answered in the form the
request expects: a flash message for htmx, JSON for an API client, an error page otherwise."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ClientException, HTTPException, NotAuthorizedException
from litestar.response import Template

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
    500: "Server error",
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


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything unexpected: logged with its traceback, a short message to the user."""
    log.error("error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, f"internal error ({type(exc).__name__}); see the log")


exception_handlers: dict[Any, Any] = {
    ReviewError: review_error_handler,
    NotAuthorizedException: not_authorized_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}

__all__ = ["error_response", "exception_handlers", "refuse_out_of_range_ids"]
