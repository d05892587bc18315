"""The review page and its actions (DESIGN.md §5).

``GET /review`` claims the reviewer's next clip and shows it; every action is a POST that
answers, for htmx, the next clip's panel plus the message (an out-of-band swap into the flash
area); for an API client (``Accept: application/json``) a JSON object; for a plain form a
303 back to ``/review``. A ``ReviewError`` becomes its ``.status`` with its one-line message
(see ``web.errors``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict
from typing import Any, cast

from litestar import Request, Response, get, post
from litestar.exceptions import ClientException
from litestar.response import Redirect, Template

from heaters.review import (
    ActionResult,
    ClipNotFound,
    ClipView,
    Decision,
    InvalidEdit,
    decide,
    get_clip,
    next_clip,
    schedule_merge,
    schedule_split,
    undo,
)
from web.auth import reviewer
from web.state import flash_later, is_htmx, pop_flashes, wants_json, web_state

log = logging.getLogger(__name__)

DECISION_ACTIONS = ("approve", "skip", "archive", "group")


async def _maybe_clip(request: Request[Any, Any, Any], clip_id: int | None) -> ClipView | None:
    if clip_id is None:
        return None
    try:
        return await get_clip(web_state(request).db, clip_id)
    except ClipNotFound:
        return None


async def panel_context(request: Request[Any, Any, Any], clip: ClipView | None) -> dict[str, Any]:
    """What ``_panel.html`` needs: the clip, its neighbours, the PTS list as JSON."""
    ctx: dict[str, Any] = {
        "clip": clip,
        "prev": None,
        "next": None,
        "pts_json": "[]",
        "similar": None,
        "undo_window": web_state(request).settings.review_undo_window_seconds,
    }
    if clip is not None:
        ctx["prev"], ctx["next"] = await asyncio.gather(
            _maybe_clip(request, clip.prev_clip_id), _maybe_clip(request, clip.next_clip_id)
        )
        ctx["pts_json"] = json.dumps([round(p, 6) for p in clip.pts])
        ctx["similar"] = await _similar(request, clip.id)
    return ctx


async def _similar(request: Request[Any, Any, Any], clip_id: int) -> list[dict[str, Any]] | None:
    """Clips nearest to this one by embedding (None: the clip is not embedded yet)."""
    from heaters.pipeline.search import SearchError, similar_clips

    st = web_state(request)
    try:
        return await similar_clips(
            st.db,
            clip_id,
            k=6,
            model_name=st.settings.embedding_model,
            ef_search=st.settings.similar_ef_search,
        )
    except SearchError:
        return None


async def _claim_next(request: Request[Any, Any, Any]) -> ClipView | None:
    st = web_state(request)
    return await next_clip(st.db, reviewer(request), claim_seconds=st.settings.review_claim_seconds)


def _page(request: Request[Any, Any, Any], ctx: dict[str, Any], status_code: int = 200) -> Template:
    if is_htmx(request) and request.headers.get("hx-target") == "panel":
        return Template(template_name="_panel.html", context=ctx, status_code=status_code)
    ctx["flashes"] = pop_flashes(request)
    return Template(template_name="review.html", context=ctx, status_code=status_code)


@get("/review", name="review")
async def review_page(request: Request[Any, Any, Any]) -> Template:
    """The next pending clip for the signed-in reviewer (claimed), with its neighbours."""
    return _page(request, await panel_context(request, await _claim_next(request)))


@get("/review/next", name="review_next")
async def review_next(request: Request[Any, Any, Any]) -> Template:
    """Only the panel of the reviewer's next clip (htmx polling of an empty queue)."""
    ctx = await panel_context(request, await _claim_next(request))
    return Template(template_name="_panel.html", context=ctx)


@get("/review/clips/{clip_id:int}", name="review_clip")
async def review_clip(request: Request[Any, Any, Any], clip_id: int) -> Template:
    """One clip by id (a neighbour, a clip from the history); 404 when it does not exist."""
    clip = await get_clip(web_state(request).db, clip_id)
    return _page(request, await panel_context(request, clip))


async def _fields(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The action's fields, from a form or a JSON body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.json()
        return body if isinstance(body, dict) else {}
    if content_type:
        return dict(await request.form())
    return {}


def _int_field(fields: dict[str, Any], name: str, *, required: bool) -> int | None:
    raw = fields.get(name)
    if raw in (None, ""):
        if required:
            raise InvalidEdit(f"the field {name!r} is required")
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise InvalidEdit(f"{name} must be a whole number, not {raw!r}") from None


async def _after_action(
    request: Request[Any, Any, Any], result: ActionResult, show: ClipView | None = None
) -> Response[Any] | Template | Redirect:
    st = web_state(request)
    try:
        await st.dispatch()
    except Exception:  # the action is committed; the periodic dispatcher catches up
        log.exception("could not defer the dispatcher after %s", result.action)
    if wants_json(request):
        data = asdict(result)
        data["ok"] = True
        return Response(content=data, status_code=200)
    if not is_htmx(request):
        flash_later(request, result.message)
        return Redirect("/review", status_code=303)
    clip = show or await _claim_next(request)
    ctx = await panel_context(request, clip)
    ctx["message"] = result.message
    ctx["message_kind"] = "pending" if result.execute_after is not None else "ok"
    return Template(template_name="_action.html", context=ctx)


@post("/review/clips/{clip_id:int}/{action:str}", name="review_action", status_code=200)
async def review_action(
    request: Request[Any, Any, Any], clip_id: int, action: str
) -> Response[Any] | Template | Redirect:
    """approve / skip / archive / group / merge / split of ``clip_id``.

    ``split`` needs the field ``frame`` (video frame index, first frame of the second part);
    ``merge`` takes an optional ``with_clip_id`` (must be the clip just before).
    """
    st = web_state(request)
    user = reviewer(request)
    fields = await _fields(request)
    if action in DECISION_ACTIONS:
        result = await decide(st.db, clip_id, cast(Decision, action), user)
    elif action == "merge":
        result = await schedule_merge(
            st.db,
            clip_id,
            user,
            window_seconds=st.settings.review_undo_window_seconds,
            schedule=st.schedule,
            with_clip_id=_int_field(fields, "with_clip_id", required=False),
        )
    elif action == "split":
        frame = _int_field(fields, "frame", required=True)
        assert frame is not None
        result = await schedule_split(
            st.db,
            clip_id,
            frame,
            user,
            window_seconds=st.settings.review_undo_window_seconds,
            schedule=st.schedule,
        )
    else:
        raise ClientException(
            f"unknown action {action!r}: use approve, skip, archive, group, merge or split",
            status_code=404,
        )
    return await _after_action(request, result)


@post("/review/undo", name="review_undo", status_code=200)
async def review_undo(request: Request[Any, Any, Any]) -> Response[Any] | Template | Redirect:
    """Undo the reviewer's last action (or the field ``event_id``); a merge or split inside
    its window is cancelled. Shows the restored clip next."""
    st = web_state(request)
    fields = await _fields(request)
    result = await undo(
        st.db,
        reviewer(request),
        cancel=st.cancel,
        event_id=_int_field(fields, "event_id", required=False),
    )
    show = None
    if is_htmx(request):
        views = [v for v in [await _maybe_clip(request, i) for i in result.clip_ids] if v]
        pending = sorted(
            (v for v in views if v.state == "pending_review" and v.pending_edit is None),
            key=lambda v: (v.video_id, v.start_frame),
        )
        show = pending[0] if pending else None
    return await _after_action(request, result, show)


review_routes = [review_page, review_next, review_clip, review_action, review_undo]

__all__ = ["panel_context", "review_routes"]
