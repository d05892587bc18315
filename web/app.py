"""The Litestar app of the review UI: ``create_app()`` (a factory, for ``uvicorn --factory``).

Pages are Jinja2 templates (``web/templates``) driven by htmx (vendored in ``web/static``,
no CDN). The lifespan opens, for the life of the process, the asyncpg pool, the storage and
the procrastinate app (merge/split commits are procrastinate jobs, and every action defers
the dispatcher).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from jinja2 import Environment
from litestar import Litestar, Router, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.response import File
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import (
    ASGIApp,
    LifeSpanReceive,
    LifeSpanScope,
    LifeSpanSend,
    LifeSpanSendMessage,
    Message,
    Receive,
    Scope,
    Send,
)

from heaters import __version__
from heaters.config import get_settings
from web.api import api_router
from web.api.deliver import deliver_api_router
from web.auth import (
    csrf_config,
    current_user,
    load_secret,
    login,
    login_page,
    logout,
    require_login,
)
from web.auth import session_config as make_session_config
from web.errors import (
    database_unavailable,
    exception_handlers,
    quiet_driver_tracebacks,
    refuse_out_of_range_ids,
)
from web.routes_datasets import dataset_routes
from web.routes_media import media_routes
from web.routes_ops import metrics, ops_routes
from web.routes_pages import page_routes, state_label
from web.routes_review import review_routes
from web.routes_tags import tag_page_routes
from web.state import WebState

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SWAGGER = "/static/swagger-ui"

_ACTION_LABELS = {
    "approve": "approved",
    "skip": "skipped",
    "archive": "archived",
    "group": "grouped",
    "merge": "merge",
    "split": "split",
    "move_boundary": "cut moved",
    "undo": "undo",
}


class StartupFailure(Exception):
    """The app cannot start for a reason one line says (the database cannot be reached)."""


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open the pool, the storage and procrastinate for the lifetime of the process.

    With the database unreachable at start-up the app does not start: the process exits
    after one line, "database unavailable at start-up (…)", instead of a traceback (a web
    process that cannot migrate or check the schema would only answer 503; a supervisor or
    the operator restarts it once Postgres is up). Once started, losing the database is a
    503 per request and the pool reconnects by itself (:mod:`web.errors`).
    """
    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.storage import storage_from_url
    from workers.app import app as jobs
    from workers.app import cancel_job, defer_dispatch

    settings = get_settings()
    async with AsyncExitStack() as opened:
        try:
            await asyncio.to_thread(ensure_schema)
            db = await opened.enter_async_context(Database.connect())
            await opened.enter_async_context(jobs.open_async())
        except Exception as exc:
            reason = database_unavailable(exc)
            if reason is None:
                raise
            line = (
                f"database unavailable at start-up ({reason}): start Postgres or check DATABASE_URL"
            )
            app.state.startup_failure = line
            raise StartupFailure(line) from None
        storage = storage_from_url(settings.storage_url or f"file://{settings.storage_root}")
        app.state.web = WebState(
            settings=settings,
            db=db,
            storage=storage,
            cancel=cancel_job,
            dispatch=defer_dispatch,
        )
        log.info("review UI ready (storage %s)", storage.url)
        try:
            yield
        finally:
            aclose = getattr(storage, "aclose", None)
            if aclose is not None:
                await aclose()


def _fmt_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


class HeatersApp(Litestar):
    """Litestar, but a start-up that fails for a reason the lifespan put in one line
    (``state.startup_failure``) is reported to the server (uvicorn logs it) as that line,
    not as the whole traceback Litestar sends."""

    async def __call__(
        self,
        scope: Scope | LifeSpanScope,
        receive: Receive | LifeSpanReceive,
        send: Send | LifeSpanSend,
    ) -> None:
        if scope["type"] == "lifespan":
            send = self._one_line_failure(send)
        await super().__call__(scope, receive, send)

    def _one_line_failure(self, send: Send | LifeSpanSend) -> LifeSpanSend:
        lifespan_send = cast("LifeSpanSend", send)

        async def send_one_line(message: LifeSpanSendMessage) -> None:
            line = self.state.get("startup_failure")
            if message["type"] == "lifespan.startup.failed" and line:
                message = {"type": "lifespan.startup.failed", "message": line}
            await lifespan_send(message)

        return send_one_line


def _configure_jinja(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.filters["time"] = _fmt_time
    env.filters["past"] = lambda a: _ACTION_LABELS.get(a, a)
    env.globals["current_user"] = current_user
    env.globals["state_label"] = state_label


def create_app(*, lifespan_enabled: bool = True, debug: bool = False) -> Litestar:
    """Build the review UI app.

    Parameters
    ----------
    lifespan_enabled
        Open the database, storage and procrastinate on start-up (False: the caller sets
        ``app.state.web`` itself, e.g. a benchmark with its own pool).
    debug
        Litestar's debug mode (tracebacks in error responses).

    Returns
    -------
    Litestar
        The ASGI app; ``uvicorn --factory web.app:create_app`` serves it.
    """
    settings = get_settings()
    secret = load_secret(settings)
    quiet_driver_tracebacks()
    protected = Router(
        path="/",
        route_handlers=[
            *review_routes,
            *tag_page_routes,
            *page_routes,
            *media_routes,
            *ops_routes,
            *dataset_routes,
        ],
        guards=[require_login],
        include_in_schema=False,
    )
    public = Router(path="/", route_handlers=[login_page, login, logout], include_in_schema=False)
    static = create_static_files_router(
        path="/static", directories=[STATIC], name="static", cache_control=None
    )
    app = HeatersApp(
        route_handlers=[
            public,
            protected,
            static,
            api_router,
            deliver_api_router,
            metrics,
            favicon,
        ],
        template_config=TemplateConfig(
            directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_configure_jinja
        ),
        middleware=[
            make_session_config(secret).middleware,
            allow_header_middleware,
            static_revalidation_middleware,
        ],
        before_send=[add_security_headers],
        csrf_config=csrf_config(secret),
        exception_handlers=exception_handlers,
        before_request=refuse_out_of_range_ids,
        lifespan=[lifespan] if lifespan_enabled else [],
        # No logging config of Litestar's: it would replace the root handler that
        # heaters.logs set up (structlog, JSON lines) with plain-text lines.
        logging_config=None,
        debug=debug,
        openapi_config=OpenAPIConfig(
            title="Heaters API",
            version=__version__,
            description="Submit videos and follow them through the pipeline. Every /api route "
            "needs 'Authorization: Bearer <token>' (heaters token create NAME).",
            path="/schema",
            render_plugins=[
                # Vendored (web/static/swagger-ui), so /schema works without internet.
                SwaggerRenderPlugin(
                    js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                    css_url=f"{SWAGGER}/swagger-ui.css",
                    standalone_preset_js_url=f"{SWAGGER}/swagger-ui-standalone-preset.js",
                    favicon="<link rel='icon' href='/static/favicon.svg' type='image/svg+xml'>",
                )
            ],
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
    )
    _merge_duplicate_error_schemas(app)
    return app


@get("/favicon.ico", name="favicon", include_in_schema=False, sync_to_thread=False)
def favicon() -> File:
    """The icon browsers ask for on pages that name none (the API schema, JSON)."""
    return File(
        STATIC / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
        content_disposition_type="inline",
    )


SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # no framing, plugins or foreign <base>; scripts stay unrestricted for the vendored
    # Swagger UI's inline start-up (everything the pages load is served from here anyway)
    (
        b"content-security-policy",
        b"frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'",
    ),
]
"""Sent with every HTTP response (pages, API, static files, media, errors)."""


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar ``before_send`` hook: add :data:`SECURITY_HEADERS` to every HTTP response's
    start that does not set them itself (routed or not: 404s and static files too)."""
    if message["type"] == "http.response.start":
        headers = list(message.get("headers", []))
        have = {bytes(k).lower() for k, _ in headers}
        headers += [(k, v) for k, v in SECURITY_HEADERS if k not in have]
        message["headers"] = headers


STATIC_CACHE_CONTROL = b"no-cache"
"""``Cache-Control`` of every ``/static`` file: a browser may keep it but asks again before
using it (answered ``304`` while its ETag holds), so an upgrade never runs the review page's
new entry module with old modules that a heuristic cache kept for days."""

_NOT_MODIFIED_DROPS = {b"content-length", b"content-type", b"content-disposition"}
"""Headers of the ``200`` that a ``304`` leaves out (it has no body)."""


def _etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """Whether an ``If-None-Match`` value (``*`` or a list of entity tags) names ``etag``,
    by the weak comparison that RFC 9110 (13.1.2) asks of it."""
    value = if_none_match.strip()
    if value == b"*":
        return True
    mine = etag.strip().removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == mine for tag in value.split(b","))


def static_revalidation_middleware(app: ASGIApp) -> ASGIApp:
    """Send ``/static`` files with :data:`STATIC_CACHE_CONTROL` and answer a ``GET`` or
    ``HEAD`` whose ``If-None-Match`` names the file's current ETag (the one Litestar's static
    router sends: size, mtime and path) with ``304 Not Modified`` and no body.

    Litestar 2.25 sends the ETag but never answers a conditional request with ``304``.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == ScopeType.HTTP else ""
        if not path.startswith("/static/") or scope.get("method") not in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        asked = next(
            (v for k, v in scope.get("headers", []) if k.lower() == b"if-none-match"), None
        )
        not_modified = False

        async def send_revalidated(message: Message) -> None:
            nonlocal not_modified
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                etag = next((v for k, v in headers if k.lower() == b"etag"), None)
                status = message["status"]
                if status == 200:
                    headers.append((b"cache-control", STATIC_CACHE_CONTROL))
                    if asked is not None and etag is not None and _etag_matches(asked, etag):
                        not_modified, status = True, 304
                        headers = [
                            (k, v) for k, v in headers if k.lower() not in _NOT_MODIFIED_DROPS
                        ]
                message = {**message, "status": status, "headers": headers}
            elif message["type"] == "http.response.body" and not_modified:
                if message.get("more_body", False):
                    return  # the file's bytes: a 304 sends none
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await app(scope, receive, send_revalidated)

    return middleware


def allow_header_middleware(app: ASGIApp) -> ASGIApp:
    """Answer OPTIONS with every method of the path in ``Allow``.

    Litestar 2.25's automatic OPTIONS handler can list only the methods of the first handler
    registered on a path (``GET`` and ``POST`` on ``/api/videos`` answer ``Allow: OPTIONS,
    POST``); this rewrites the header from the app's route table.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "OPTIONS":
            await app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start":
                methods = _methods_of(scope)
                if methods:
                    headers = [
                        (k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"
                    ]
                    headers.append((b"allow", ", ".join(sorted(methods)).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_allow)

    return middleware


def _methods_of(scope: Scope) -> set[str]:
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None) or set()
    methods: set[str] = set()
    for route in scope["litestar_app"].routes:
        if isinstance(route, HTTPRoute) and route.path in paths:
            for h in route.route_handlers:
                methods.update(h.http_methods)
    return methods


def _merge_duplicate_error_schemas(app: Litestar) -> None:
    """Litestar documents a 400 as ``oneOf`` [ClientException, ValidationException] with the
    very same schema twice, which no response can match exactly once; keep one of them."""
    for item in (app.openapi_schema.paths or {}).values():
        for op in (item.get, item.post, item.put, item.patch, item.delete):
            for response in (op.responses or {}).values() if op else ():
                for media in (getattr(response, "content", None) or {}).values():
                    schema = media.schema
                    one_of = getattr(schema, "one_of", None)
                    if one_of and len({repr(_strip(o)) for o in one_of}) == 1:
                        media.schema = one_of[0]


def _strip(schema: Any) -> Any:
    return {k: v for k, v in vars(schema).items() if k != "description"}


__all__ = ["HeatersApp", "StartupFailure", "create_app", "lifespan"]
