"""Reviewer sign-in: the secret key, the session cookie, CSRF, the login guard and pages.

The session is an encrypted cookie (Litestar's ``CookieBackendConfig``, AES-GCM) holding the
reviewer's name, user id and session epoch; every route except ``/login`` and ``/static``
needs it (:func:`require_login`), and every such request checks the id and epoch against the
``users`` row (:func:`session_user`), so a session ends at once when the reviewer signs out
(every session of that reviewer), gets a new password, is revoked (``heaters user revoke``)
or removed (``heaters user remove``).
CSRF: Litestar's ``CSRFConfig``; forms carry the ``_csrf_token`` field and htmx sends the
``X-CSRFToken`` header (``hx-headers`` on ``<body>``). Sign-in is throttled per account and
per client address (:mod:`web.throttle`; API tokens are 32 random bytes, not guessable, so
bearer auth is not).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from heaters.config import Settings
from heaters.review.users import end_sessions, verify_user
from web.state import web_state
from web.throttle import LoginThrottle

SESSION_USER = "user"
SESSION_ID = "uid"
SESSION_EPOCH = "epoch"
_SECRET_FILE = "secret_key"


def load_secret(settings: Settings) -> str:
    """The secret that signs sessions and CSRF tokens.

    ``HEATERS_SECRET_KEY`` when set; otherwise a random key generated once and kept in
    ``HEATERS_HOME/secret_key`` (mode 0600), so sessions survive restarts and every web
    process on the machine shares it.
    """
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.home) / _SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    secret = path.read_text().strip()
    if not secret:  # a writer died between create and write: make a new one
        path.unlink(missing_ok=True)
        return load_secret(settings)
    return secret


def _derive(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"heaters:{purpose}:{secret}".encode()).digest()


def session_config(secret: str) -> CookieBackendConfig:
    """The encrypted session cookie (14 days, HttpOnly, SameSite=Lax)."""
    return CookieBackendConfig(
        secret=_derive(secret, "session"), key="heaters_session", httponly=True, samesite="lax"
    )


def csrf_config(secret: str) -> CSRFConfig:
    """CSRF protection of every POST (token in the form field or the X-CSRFToken header)."""
    return CSRFConfig(
        secret=_derive(secret, "csrf").hex(),
        cookie_name="heaters_csrf",
        header_name="x-csrftoken",
        cookie_samesite="lax",
        cookie_httponly=True,  # pages carry the token; no script needs the cookie
        # The JSON API authenticates with bearer tokens, not cookies: no CSRF there.
        exclude=["^/api/", "^/metrics$"],
    )


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The reviewer's name the session cookie carries, or None (checked against the database
    by :func:`require_login` on protected routes, which clears an ended session)."""
    session = connection.scope.get("session")
    user = session.get(SESSION_USER) if isinstance(session, dict) else None
    return user if isinstance(user, str) else None


async def session_user(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The reviewer signed in by the request's session, checked against the ``users`` row.

    Returns the name while the user (by id) exists with the session's epoch; otherwise None,
    and an ended session (signed out, new password, revoked, removed, or a cookie from before
    sessions had epochs) is cleared, so the response deletes the cookie. Raises the driver's
    error when the database cannot be reached (a 503, :mod:`web.errors`)."""
    session = connection.scope.get("session")
    if not isinstance(session, dict) or not session:
        return None
    user_id, epoch = session.get(SESSION_ID), session.get(SESSION_EPOCH)
    row = None
    if isinstance(user_id, int) and isinstance(epoch, int):
        db = web_state(connection).db
        async with db.acquire() as conn:
            row = await db.q.session_user(conn, user_id=user_id, epoch=epoch)
    if row is None:
        connection.clear_session()
        return None
    name: str = row["name"]
    return name


async def require_login(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: refuse (401, then a redirect to /login) a request without a live session."""
    if await session_user(connection) is None:
        raise NotAuthorizedException("please sign in")


def reviewer(request: Request[Any, Any, Any]) -> str:
    """The signed-in reviewer of a request that passed :func:`require_login`."""
    user = current_user(request)
    if user is None:
        raise NotAuthorizedException("please sign in")
    return user


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/review"
    return target


def login_redirect(path: str) -> Redirect:
    """A redirect to the login page that comes back to ``path``."""
    return Redirect(f"/login?next={quote(path, safe='/')}", status_code=303)


@get("/login", name="login_page")
async def login_page(
    request: Request[Any, Any, Any],
    next_path: Annotated[str | None, Parameter(query="next")] = None,
) -> Template | Redirect:
    """The sign-in form (a signed-in reviewer goes straight on)."""
    if await session_user(request) is not None:
        return Redirect(_safe_next(next_path), status_code=303)
    return Template(
        template_name="login.html",
        context={"next": _safe_next(next_path), "error": None, "name": ""},
    )


@post("/login", name="login", status_code=303)
async def login(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect | Template:
    """Check the name and password against the users table; start a session.

    Throttled per account and per client address (:mod:`web.throttle`): past a limit the
    answer is 429 with ``Retry-After``, whatever the name and password."""
    name = (data.get("name") or "").strip()
    password = data.get("password") or ""
    target = _safe_next(data.get("next"))
    if name and password:
        state = web_state(request)
        throttle = LoginThrottle(state.settings)
        address = request.client.host if request.client else None
        attempt = await throttle.take(state.db, name, address)
        if attempt.refused:
            # Before the password is looked at: the same answer for every account, existing
            # or not, and for a right password as for a wrong one.
            return Template(
                template_name="login.html",
                context={"next": target, "error": _throttled(attempt.retry_after), "name": name},
                status_code=429,
                headers={"Retry-After": str(attempt.retry_after)},
            )
        if await verify_user(state.db, name, password):
            await throttle.give_back(state.db, attempt)
            async with state.db.acquire() as conn:
                row = await state.db.q.get_user(conn, name=name)
            if row is not None:  # not removed since the check
                request.set_session(
                    {
                        SESSION_USER: row["name"],
                        SESSION_ID: row["id"],
                        SESSION_EPOCH: row["session_epoch"],
                    }
                )
                return Redirect(target, status_code=303)
    return Template(
        template_name="login.html",
        context={"next": target, "error": "wrong name or password", "name": name},
        status_code=401,
    )


def _throttled(seconds: int | None) -> str:
    return f"too many sign-in attempts: try again in {seconds} s"


@post("/logout", name="logout", status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    """End every session of the signed-in reviewer (this browser's and any other's)."""
    user = await session_user(request)
    if user is not None:
        await end_sessions(web_state(request).db, user)
    request.clear_session()
    return Redirect("/login", status_code=303)


__all__ = [
    "SESSION_USER",
    "csrf_config",
    "current_user",
    "load_secret",
    "login",
    "login_page",
    "login_redirect",
    "logout",
    "require_login",
    "reviewer",
    "session_config",
    "session_user",
]
