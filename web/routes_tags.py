"""The review page's tags, notes and batch actions (issue 21; ``web/static/review_batch.js``).

Each is a POST answered as JSON for the page's script (``X-Heaters-Panel: 1``: a refusal is
200 with ``ok: false``, see ``web.routes_review._for_page``; a plain form gets a 303 back to
the clip with a flash message), by the same review service as
the JSON API: a tag toggle, a note and a batch are review events, undone by ``/review/undo``
like any decision.

- ``POST /review/clips/{id}/tag``: field ``key`` (1–9) or ``tag`` (a name), ``on`` (``1`` /
  ``0``; absent: toggle). Answers ``tags`` (the clip's tags afterwards).
- ``POST /review/clips/{id}/note``: field ``note`` (empty: remove). Answers ``note``.
- ``POST /review/batch``: fields ``clip_ids`` (comma-separated), ``action`` (approve, skip,
  archive, tag) and for ``tag`` the ``key`` or ``tag``. Answers ``clip_ids`` (the clips
  changed).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from litestar import Request, Response, post
from litestar.response import Redirect

from heaters import review
from heaters.review import ActionResult, InvalidEdit, ReviewError
from web.auth import reviewer
from web.routes_review import PANEL_HEADER, _fields, _for_page, _int_field
from web.routes_timeline import _settling
from web.state import flash_later, wants_json, web_state

log = logging.getLogger(__name__)


async def _answer(
    request: Request[Any, Any, Any], result: ActionResult, **extra: Any
) -> Response[Any] | Redirect:
    try:
        await web_state(request).dispatch()
    except Exception:  # the action is committed; the periodic dispatcher catches up
        log.exception("could not defer the dispatcher after %s", result.action)
    if not wants_json(request) and request.headers.get(PANEL_HEADER) != "1":
        flash_later(request, result.message)  # a plain form (no JavaScript): back to the clip
        return Redirect(f"/review/clips/{result.clip_ids[0]}", status_code=303)
    data = asdict(result)
    data.update(ok=True, settling=await _settling(request), **extra)
    return Response(content=data, headers={"Cache-Control": "no-store"})


def _refused(request: Request[Any, Any, Any], exc: ReviewError) -> Response[Any]:
    if request.headers.get(PANEL_HEADER) != "1":
        raise exc
    return _for_page(request, exc)


def _on(fields: dict[str, Any]) -> bool | None:
    raw = str(fields.get("on", "")).lower()
    return None if raw == "" else raw in ("1", "true", "on")


def _key(fields: dict[str, Any]) -> int | None:
    key = _int_field(fields, "key", required=False)
    if key is not None and not 1 <= key <= 9:
        raise InvalidEdit(f"a tag's key is 1 to 9, not {key}")
    return key


def _tag_name(fields: dict[str, Any]) -> str | None:
    name = str(fields.get("tag") or "").strip()
    return review.check_tag_name(name) if name else None


@post("/review/clips/{clip_id:int}/tag", name="review_tag", status_code=200)
async def review_tag(request: Request[Any, Any, Any], clip_id: int) -> Response[Any] | Redirect:
    """Toggle (or set, ``on``) the tag on ``key`` or named ``tag`` on the clip."""
    db = web_state(request).db
    try:
        fields = await _fields(request)
        name, key = _tag_name(fields), _key(fields)
        if name is None and key is None:
            raise InvalidEdit("give the tag's 'key' (1-9) or its name ('tag')")
        result = await review.tag_clip(
            db, clip_id, reviewer(request), name=name, key=key, on=_on(fields)
        )
    except ReviewError as exc:
        return _refused(request, exc)
    tags = await review.clip_tags(db, clip_id)
    return await _answer(request, result, tags=tags)


@post("/review/clips/{clip_id:int}/note", name="review_note", status_code=200)
async def review_note(request: Request[Any, Any, Any], clip_id: int) -> Response[Any] | Redirect:
    """Set the clip's note (field ``note``; empty removes it)."""
    try:
        fields = await _fields(request)
        note = str(fields.get("note") or "")
        result = await review.set_note(web_state(request).db, clip_id, note, reviewer(request))
    except ReviewError as exc:
        return _refused(request, exc)
    return await _answer(request, result, note=note.strip() or None)


def _clip_ids(fields: dict[str, Any]) -> list[int]:
    raw = fields.get("clip_ids") or ""
    parts = raw if isinstance(raw, list) else str(raw).split(",")
    try:
        ids = [int(p) for p in parts if str(p).strip()]
    except ValueError:
        raise InvalidEdit(f"clip_ids are whole numbers separated by commas, not {raw!r}") from None
    if not ids:
        raise InvalidEdit("select clips first ('clip_ids')")
    return ids


@post("/review/batch", name="review_batch", status_code=200)
async def review_batch(request: Request[Any, Any, Any]) -> Response[Any] | Redirect:
    """Approve / skip / archive / tag the clips ``clip_ids`` in one undoable event."""
    try:
        fields = await _fields(request)
        action = str(fields.get("action") or "")
        if action not in review.BATCH_ACTIONS:
            known = ", ".join(review.BATCH_ACTIONS)
            raise InvalidEdit(f"unknown batch action {action!r}: use {known}")
        ids = _clip_ids(fields)
        name, key = (_tag_name(fields), _key(fields)) if action == "tag" else (None, None)
        result = await review.decide_many(
            web_state(request).db, ids, action, reviewer(request), tag=name, key=key,
            on=_on(fields) if action == "tag" else None,
        )  # fmt: skip
    except ReviewError as exc:
        return _refused(request, exc)
    return await _answer(request, result)


tag_page_routes = [review_tag, review_note, review_batch]

__all__ = ["tag_page_routes"]
