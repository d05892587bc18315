"""The review page and its actions (docs/architecture.md, "Review"; review at editor speed).

``GET /review`` claims the reviewer's next clip and shows it. The page keeps one ``<video>``
outside the swapped ``#panel`` and moves between clips with panel fragments it prefetches
(``GET /review/clips/{id}/panel``, which claims nothing), so the next clip shows at once;
the action answers, as JSON for the page's script, what it did, the decisions still settling
and the clip to show next (``show_clip_id``), which the server has claimed for the reviewer.

Every action is a POST: ``approve`` / ``skip`` / ``archive`` / ``group`` / ``merge`` /
``split`` (field ``frame``) / ``move_boundary`` (fields ``edge`` = start|end, ``frame``) /
``reopen`` (undo of the clip's latest decision) / ``claim`` (open or renew the reviewer's
lease on the clip), plus ``/review/undo`` and ``/review/release`` (``navigator.sendBeacon``
when the page closes). An htmx request gets the next panel plus a flash message; an API
client (``Accept: application/json``) a JSON object; a plain form a 303 back to ``/review``.
A ``ReviewError`` becomes its ``.status`` with its one-line message (see ``web.errors``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict
from typing import Any

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import ClientException, NotFoundException
from litestar.response import Redirect, Template

from heaters.domain.states import ClipState
from heaters.review import (
    ACTIONS,
    DECIDED_BY,
    ActionResult,
    ClipNotFound,
    ClipView,
    InvalidEdit,
    QueueOrder,
    ReviewError,
    act,
    change_refusal,
    claim,
    get_clip,
    list_tags,
    next_clip,
    release,
    reopen,
    review_queue,
    undo,
)
from web.auth import reviewer
from web.review_guess import Timings, render_panel, reserve_for
from web.routes_pages import state_label
from web.routes_timeline import _settling, review_settling, review_timeline
from web.state import flash_later, is_htmx, pop_flashes, wants_json, web_state

log = logging.getLogger(__name__)

DECISION_ACTIONS = ("approve", "skip", "archive", "group")
EDIT_ACTIONS = ("merge", "split", "move_boundary")
DECIDED = (ClipState.REVIEW_APPROVED, ClipState.REVIEW_SKIPPED, ClipState.REVIEW_ARCHIVED)
ORDER_KEY = "review_order"
PANEL_HEADER = "x-heaters-panel"


def settle_seconds(request: Request[Any, Any, Any]) -> float:
    """How long a decision stays undoable (``HEATERS_REVIEW_SETTLE_SECONDS``)."""
    return float(web_state(request).settings.review_settle_seconds)


def claim_seconds(request: Request[Any, Any, Any]) -> float:
    """How long a reviewer's lease on a clip lasts without renewal."""
    return float(web_state(request).settings.claim_seconds)


async def _maybe_clip(
    request: Request[Any, Any, Any], clip_id: int | None, *, light: bool = False
) -> ClipView | None:
    if clip_id is None:
        return None
    try:
        return await get_clip(web_state(request).db, clip_id, light=light)
    except ClipNotFound:
        return None


def clip_status(request: Request[Any, Any, Any], clip: ClipView) -> dict[str, Any]:
    """Who holds ``clip`` (read-only for everyone else), its decision still settling, and
    which buttons apply (``why_not``: why the decisions do not; no button that answers 409)."""
    me = reviewer(request)
    held_by = clip.claimed_by
    readonly = held_by is not None and held_by != me
    pending = clip.pending
    why_not: str | None = None
    if readonly:
        why_not = f"{held_by} is reviewing this clip"
    elif clip.superseded_by:
        why_not = f"{clip.state} into " + ", ".join(f"#{i}" for i in clip.superseded_by)
    elif clip.state != ClipState.PENDING_REVIEW:
        why_not = f"already {state_label(clip.state)}"
        why_not += ": reopen it first" if pending is not None else ""
    # Approve / skip / archive also change a decided clip's decision (settled or not); the
    # decision it has already says to reopen it while it settles.
    changing = why_not is not None and not readonly and not clip.superseded_by
    why_each: dict[str, str | None] = {}
    for a in ("approve", "skip", "archive"):
        refusal = change_refusal(clip.id, clip.state, a) if changing else why_not
        why_each[a] = why_not if refusal is not None and pending is not None else refusal
    return {
        "held_by": held_by,
        "readonly": readonly,
        "event_id": pending.event_id if pending else None,
        "event_action": pending.action if pending else None,
        "event_reviewer": pending.reviewer if pending else None,
        "settles_at": pending.settles_at.isoformat() if pending else None,
        "settling": pending is not None,
        "why_not": why_not,
        "why_each": why_each,
        "changing": changing and any(w is None for w in why_each.values()),
        "why_not_move": why_not,
        "can_reopen": not readonly and clip.state in DECIDED and pending is not None,
    }


def _session_order(request: Request[Any, Any, Any]) -> str | None:
    session = request.scope.get("session")
    order = session.get(ORDER_KEY) if isinstance(session, dict) else None
    return order if isinstance(order, str) else None


def queue_order(request: Request[Any, Any, Any]) -> QueueOrder:
    """The reviewer's queue order (kept in the session): ``video`` or ``confidence``."""
    return "confidence" if _session_order(request) == "confidence" else "video"


WEAK_CUT = 0.5
"""The confidence below which a cut is weak (the ``low_confidence`` queue; the timeline's
``weak`` cuts)."""

BROWSE: dict[str, tuple[list[str], float | None]] = {
    "skipped": ([s for s, d in DECIDED_BY.items() if d == "skip"], None),
    "archived": ([s for s, d in DECIDED_BY.items() if d == "archive"], None),
    "approved": ([s for s, d in DECIDED_BY.items() if d == "approve"], None),
    "low_confidence": ([ClipState.PENDING_REVIEW, *DECIDED_BY], WEAK_CUT),
}
"""The queues of clips to look at again, by name: (states, confidence below), in video order.
``approved`` takes the clips past review that an approval led to (exported, embedded…);
``archived`` the ones an archive led to."""


def browse_kind(request: Request[Any, Any, Any]) -> str | None:
    """The queue of decided clips the reviewer browses (kept in the session), or None: the
    queue of undecided clips."""
    order = _session_order(request)
    return order if order in BROWSE else None


async def browse_next(
    request: Request[Any, Any, Any], kind: str, after: ClipView | None
) -> ClipView | None:
    """The clip of queue ``kind`` (:data:`BROWSE`) after ``after`` in video order, from the
    first one again past the last; None when the queue is empty."""
    st = web_state(request)
    states, below = BROWSE[kind]
    starts = [(after.video_id, after.start_frame)] if after is not None else []
    async with st.db.acquire() as conn:
        for video_id, start_frame in [*starts, (0, -1)]:
            row = await st.db.q.browse_next(
                conn, states=list(states), max_confidence=below,
                video_id=video_id, start_frame=start_frame,
            )  # fmt: skip
            if row is not None:
                return await _maybe_clip(request, int(row["id"]))
    return None


async def _next_pending(request: Request[Any, Any, Any], clip: ClipView) -> int | None:
    """The clip the reviewer most likely reviews after ``clip`` (the page prefetches it):
    in video order the next pending shot after it, else the queue's next clip."""
    st = web_state(request)
    if queue_order(request) != "video":
        items = await review_queue(st.db, reviewer(request), order=queue_order(request), limit=2)
        return next((i.id for i in items if i.id != clip.id), None)
    async with st.db.acquire() as conn:
        row = await st.db.q.timeline_next_candidate(
            conn, video_id=clip.video_id, start_frame=clip.start_frame, reviewer=reviewer(request)
        )
    return int(row["id"]) if row else None


async def panel_context(request: Request[Any, Any, Any], clip: ClipView | None) -> dict[str, Any]:
    """What ``_panel.html`` needs: the clip, its neighbours, its status, the PTS list, the
    boundary suggestions inside the clip, the project's tags."""
    ctx: dict[str, Any] = {
        "clip": clip,
        "prev": None,
        "next": None,
        "pts_json": "[]",
        "suggestions_json": "[]",
        "similar": None,
        "status": {},
        "next_pending": None,
        "settle_seconds": settle_seconds(request),
        "claim_seconds": claim_seconds(request),
        "queue_order": _session_order(request) if browse_kind(request) else queue_order(request),
        "browse": browse_kind(request),
    }
    if clip is not None:
        ctx["status"] = clip_status(request, clip)
        ctx["tags"] = await list_tags(web_state(request).db, counts=False)  # routes_tags
        (
            ctx["prev"],
            ctx["next"],
            ctx["next_pending"],
            ctx["similar"],
        ) = await asyncio.gather(
            _maybe_clip(request, clip.prev_clip_id, light=True),  # the neighbour cards
            _maybe_clip(request, clip.next_clip_id, light=True),
            _next_pending(request, clip),
            _similar(request, clip.id),
        )
        ctx["pts_json"] = json.dumps([round(p, 6) for p in clip.pts])
        ctx["suggestions_json"] = json.dumps([sg.as_dict() for sg in clip.suggestions])
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
    return await next_clip(
        st.db, reviewer(request), order=queue_order(request), claim_seconds=claim_seconds(request)
    )


async def _claim(
    request: Request[Any, Any, Any], clip_id: int, *, guess: bool = False
) -> str | None:
    """Claim (or renew) ``clip_id`` for the reviewer (their other claims are dropped);
    returns who holds it afterwards: None or the reviewer, else the other reviewer (the page
    shows the clip read-only). ``guess``: the page's guess of its next clip, not taken when
    another reviewer has reserved it (returns None then)."""
    st = web_state(request)
    got = await claim(
        st.db, clip_id, reviewer(request), claim_seconds=claim_seconds(request),
        spare_reserved=guess,
    )  # fmt: skip
    return reviewer(request) if got.own else got.holder


def _video_order(request: Request[Any, Any, Any]) -> bool:
    """The reviewer goes through undecided clips in video order (the page guesses its next
    clip; the server reserves it: ``web.review_guess``)."""
    return queue_order(request) == "video" and browse_kind(request) is None


async def _claimed_panel(request: Request[Any, Any, Any], clip: ClipView | None) -> dict[str, Any]:
    """``panel_context`` of a clip the server just gave the reviewer: its next pending clip
    is the one reserved for them."""
    ctx = await panel_context(request, clip)
    if clip is not None and _video_order(request):
        ctx["next_pending"] = await reserve_for(request, clip, video_order=True)
    return ctx


def _page(request: Request[Any, Any, Any], ctx: dict[str, Any], status_code: int = 200) -> Template:
    if _wants_panel(request):
        return Template(template_name="_panel.html", context=ctx, status_code=status_code)
    ctx["flashes"] = pop_flashes(request)
    return Template(template_name="review.html", context=ctx, status_code=status_code)


def _wants_panel(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get(PANEL_HEADER) == "1" or (
        is_htmx(request) and request.headers.get("hx-target") == "panel"
    )


@get("/review", name="review")
async def review_page(request: Request[Any, Any, Any], order: str | None = None) -> Template:
    """The next pending clip for the signed-in reviewer (claimed), with its neighbours.

    ``order`` (``video`` or ``confidence``: low-confidence cuts first) sets the reviewer's
    queue order, kept in the session; one of :data:`BROWSE` (``skipped``, ``archived``,
    ``approved``, ``low_confidence``) makes the page go through those clips instead (their
    first one here; **N** the next), to look at them again or change their decision.
    """
    if order in ("video", "confidence", *BROWSE):
        session = request.scope.get("session")
        data = dict(session) if isinstance(session, dict) else {}
        data[ORDER_KEY] = order
        request.set_session(data)
        request.scope["session"] = data
    kind = browse_kind(request)
    if kind is not None:
        return _page(request, await panel_context(request, await browse_next(request, kind, None)))
    return _page(request, await _claimed_panel(request, await _claim_next(request)))


AFTER_VIDEO_LOOKAHEAD = 500
"""How far down the queue ``/review/next?after_video=`` looks for a later video's clip."""


async def _claim_after_video(request: Request[Any, Any, Any], video_id: int) -> ClipView | None:
    """The reviewer's first undecided clip of a later video than ``video_id`` (video order;
    else of any other video, else the queue's head), claimed."""
    st = web_state(request)
    items = await review_queue(st.db, reviewer(request), order="video", limit=AFTER_VIDEO_LOOKAHEAD)
    later = [i for i in items if i.video_id > video_id] or [
        i for i in items if i.video_id != video_id
    ]
    for item in later[:20]:
        if await _claim(request, item.id) == reviewer(request):
            clip = await _maybe_clip(request, item.id)
            if clip is not None and clip.state == ClipState.PENDING_REVIEW:
                return clip
    return await _claim_next(request)


@get("/review/next", name="review_next")
async def review_next(request: Request[Any, Any, Any], after_video: int | None = None) -> Template:
    """Only the panel of the reviewer's next clip (claimed): the queue's head (an empty
    queue's polling; a stale page; the "next undecided" key), or with ``after_video`` the
    first undecided clip of a later video (↓ on the last clip of a video)."""
    clip = (
        await _claim_after_video(request, after_video)
        if after_video is not None
        else await _claim_next(request)
    )
    ctx = await _claimed_panel(request, clip)
    return Template(template_name="_panel.html", context=ctx)


@get("/review/browse", name="review_browse")
async def review_browse(
    request: Request[Any, Any, Any], kind: str, after: int | None = None
) -> Template:
    """The panel of the next clip of queue ``kind`` (:data:`BROWSE`) after clip ``after``
    (from the first one again past the last), claiming nothing; 404 when the queue is empty
    or ``kind`` unknown."""
    if kind not in BROWSE:
        raise NotFoundException(f"no queue {kind!r}: use {', '.join(BROWSE)}")
    clip = await browse_next(request, kind, await _maybe_clip(request, after))
    if clip is None:
        raise NotFoundException(f"no {kind.replace('_', '-')} clips")
    return Template(template_name="_panel.html", context=await panel_context(request, clip))


@get("/review/clips/{clip_id:int}", name="review_clip")
async def review_clip(request: Request[Any, Any, Any], clip_id: int) -> Template:
    """One clip by id (a neighbour, a clip from the history); 404 when it does not exist.

    Opening the page claims the clip when it is pending and nobody else holds it; a clip
    another reviewer holds opens read-only with their name.
    """
    clip = await get_clip(web_state(request).db, clip_id)
    if clip.state == ClipState.PENDING_REVIEW and not _wants_panel(request):
        await _claim(request, clip_id)
    return _page(request, await panel_context(request, clip))


@get("/review/clips/{clip_id:int}/panel", name="review_clip_panel")
async def review_clip_panel(request: Request[Any, Any, Any], clip_id: int) -> Template:
    """The panel fragment of one clip, claiming nothing (the page prefetches neighbours)."""
    timings = Timings()
    clip = await get_clip(web_state(request).db, clip_id)
    ctx = await panel_context(request, clip)
    timings.mark("panel")
    return Template(template_name="_panel.html", context=ctx, headers=timings.header())


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


async def _show_after(
    request: Request[Any, Any, Any], then: int | None, fallback: ClipView | None = None
) -> ClipView | None:
    """The clip to show after an action: ``then`` (the page's guess, already on screen) when
    the reviewer can have it (not held, nor reserved by another reviewer), else ``fallback``,
    else the reviewer's next clip."""
    if then is not None:
        try:
            holder = await _claim(request, then, guess=True)
        except ClipNotFound:
            holder = "?"
        if holder == reviewer(request):
            # Read after the claim: another reviewer's decision may have committed (and let
            # go of its lease) before it.
            clip = await _maybe_clip(request, then)
            if clip is not None and clip.state == ClipState.PENDING_REVIEW:
                return clip
            await release(web_state(request).db, then, reviewer(request))
    if fallback is not None:
        return fallback
    return await _claim_next(request)


async def _after_action(
    request: Request[Any, Any, Any],
    result: ActionResult,
    show: ClipView | None = None,
    *,
    then: int | None = None,
    shown: bool = False,
    stay: bool = False,
) -> Response[Any] | Template | Redirect:
    st = web_state(request)

    async def dispatch() -> None:
        try:
            await st.dispatch()
        except Exception:  # the action is committed; the periodic dispatcher catches up
            log.exception("could not defer the dispatcher after %s", result.action)

    if wants_json(request):
        timings = Timings()
        data = asdict(result)
        data["ok"] = True
        if request.headers.get(PANEL_HEADER) == "1":  # the review page's script
            clip = show if stay else await _show_after(request, then, show)
            data["show_clip_id"] = clip.id if clip is not None else None
            timings.mark("next")
            data["guess"] = await reserve_for(request, clip, video_order=_video_order(request))
            timings.mark("reserve")
            if clip is not None and not stay and (clip.id != then or not shown):
                # Not on the page's screen yet: its panel comes along (no second request).
                ctx = await panel_context(request, clip)
                ctx["next_pending"] = data["guess"] or ctx["next_pending"]
                data["panel"] = render_panel(request, ctx)
                timings.mark("panel")
            data["settling"] = await _settling(request)
            timings.mark("settling")
        # The dispatcher run is asked for once the answer is sent (the reviewer waits on it).
        return Response(
            content=data,
            status_code=200,
            headers=timings.header(),
            background=BackgroundTask(dispatch),
        )
    await dispatch()
    if not is_htmx(request):
        flash_later(request, result.message)
        return Redirect("/review", status_code=303)
    clip = show or await _claim_next(request)
    ctx = await panel_context(request, clip)
    ctx["message"] = result.message
    ctx["message_kind"] = "ok"
    return Template(template_name="_action.html", context=ctx)


def _for_page(request: Request[Any, Any, Any], exc: ReviewError) -> Response[Any]:
    """A refused action, for the review page's script: 200 with ``ok: false`` and the
    refusal's status in the body (a 4xx would print a network error in the browser's console
    on every stale key; the page shows the reason and loads the right clip instead). API
    clients, htmx and plain forms get the real status (``web.errors``)."""
    return Response(
        content={"ok": False, "status_code": exc.status, "detail": str(exc)},
        status_code=200,
        headers={"X-Heaters-Status": str(exc.status), "Cache-Control": "no-store"},
    )


@post("/review/clips/{clip_id:int}/{action:str}", name="review_action", status_code=200)
async def review_action(
    request: Request[Any, Any, Any], clip_id: int, action: str
) -> Response[Any] | Template | Redirect:
    """approve / skip / archive / group / merge / split / move_boundary / reopen / claim
    (see :func:`_review_action`)."""
    try:
        return await _review_action(request, clip_id, action)
    except ReviewError as exc:
        if request.headers.get(PANEL_HEADER) != "1":
            raise
        return _for_page(request, exc)


async def _review_action(
    request: Request[Any, Any, Any], clip_id: int, action: str
) -> Response[Any] | Template | Redirect:
    """approve / skip / archive / group / merge / split / move_boundary / reopen / claim.

    ``split`` needs the field ``frame`` (video frame index, first frame of the second part);
    ``merge`` takes an optional ``with_clip_id`` (must be the clip just before);
    ``move_boundary`` needs ``edge`` (``start`` or ``end``) and ``frame`` (the clip's new
    first frame, or its new end, exclusive); ``then`` (optional) is the clip the page shows
    next, claimed for the reviewer when it is free and not another reviewer's reserved next
    clip (``shown=1``: the page shows it already; else the answer carries its ``panel``;
    ``guess``: the clip reserved as the next one after it; ``browse=1``: none, the page browses a
    queue of decided clips and shows its next itself); ``change=1`` lets approve / skip /
    archive replace the decision of a decided clip (settled too; see ``heaters.review.decide``).
    """
    st = web_state(request)
    user = reviewer(request)
    fields = await _fields(request)
    then = _int_field(fields, "then", required=False)
    if action == "claim":
        holder = await _claim(request, clip_id)
        guess = None
        if holder == user and _video_order(request):  # the page's next clip, reserved
            guess = await reserve_for(request, clip_id, video_order=True)
        return Response(
            content={
                "clip_id": clip_id,
                "held_by": holder,
                "readonly": holder not in (None, user),
                "claim_seconds": claim_seconds(request),
                "guess": guess,
            },
            headers={"Cache-Control": "no-store"},
        )
    stay: ClipView | None = None
    if action in ACTIONS:
        frame = _int_field(fields, "frame", required=False)
        edge = fields.get("edge") or None
        result = await act(
            st.db,
            clip_id,
            action,
            user,
            frame=frame,
            edge=edge,
            with_clip_id=_int_field(fields, "with_clip_id", required=False),
            change=str(fields.get("change", "")).lower() in ("1", "true"),
        )
        if action in EDIT_ACTIONS:
            stay = await _edited_clip(request, result, action, edge)
        elif fields.get("browse"):  # a page going through decided clips picks its next itself
            stay = await _maybe_clip(request, clip_id)
    elif action == "reopen":
        result = await reopen(st.db, clip_id, user)
        stay = await _first_pending(request, _live_ids(result)) or await _maybe_clip(
            request, clip_id
        )
    else:
        raise ClientException(
            f"unknown action {action!r}: use {', '.join(ACTIONS)} or reopen", status_code=404
        )
    if stay is not None and stay.state == ClipState.PENDING_REVIEW and wants_json(request):
        await _claim(request, stay.id)
    shown = str(fields.get("shown", "")) == "1"
    return await _after_action(request, result, stay, then=then, shown=shown, stay=stay is not None)


def _live_ids(result: ActionResult) -> list[int]:
    """The clips an action leaves to show, in frame order."""
    return list(result.live_clip_ids or result.clip_ids)


async def _first_pending(request: Request[Any, Any, Any], ids: list[int]) -> ClipView | None:
    views = [v for v in [await _maybe_clip(request, i) for i in ids] if v]
    pending = sorted(
        (v for v in views if v.state == ClipState.PENDING_REVIEW),
        key=lambda v: (v.video_id, v.start_frame),
    )
    return pending[0] if pending else None


async def _edited_clip(
    request: Request[Any, Any, Any], result: ActionResult, action: str, edge: str | None
) -> ClipView | None:
    """After an edit, the clip the reviewer was on, as the edit left it: the merged clip,
    the first part of a split, or the moved clip (the second of the pair for an ``in``,
    the first for an ``out``)."""
    ids = _live_ids(result)
    if not ids:
        return None
    pick = ids[-1] if action == "move_boundary" and edge == "start" else ids[0]
    return await _maybe_clip(request, pick)


@post("/review/undo", name="review_undo", status_code=200)
async def review_undo(request: Request[Any, Any, Any]) -> Response[Any] | Template | Redirect:
    """Undo the reviewer's latest decision still settling (see :func:`_review_undo`)."""
    try:
        return await _review_undo(request)
    except ReviewError as exc:
        if request.headers.get(PANEL_HEADER) != "1":
            raise
        return _for_page(request, exc)


async def _review_undo(request: Request[Any, Any, Any]) -> Response[Any] | Template | Redirect:
    """Undo the reviewer's last action (or the field ``event_id``); a merge or split inside
    its window is cancelled. Shows the restored clip next."""
    st = web_state(request)
    fields = await _fields(request)
    result = await undo(
        st.db,
        reviewer(request),
        event_id=_int_field(fields, "event_id", required=False),
    )
    show = None
    if is_htmx(request) or request.headers.get(PANEL_HEADER) == "1":
        show = await _first_pending(request, _live_ids(result))
        if show is not None:
            await _claim(request, show.id)
    return await _after_action(request, result, show, stay=show is not None)


@post("/review/release", name="review_release", status_code=204)
async def review_release(request: Request[Any, Any, Any]) -> None:
    """Release the reviewer's lease (field ``clip_id``: that clip only) when the page
    closes; sent with ``navigator.sendBeacon``."""
    st = web_state(request)
    fields = await _fields(request)
    clip_id = _int_field(fields, "clip_id", required=False)
    if clip_id is not None:
        await release(st.db, clip_id, reviewer(request))


review_routes = [
    review_page,
    review_next,
    review_browse,
    review_clip,
    review_clip_panel,
    review_timeline,
    review_settling,
    review_action,
    review_undo,
    review_release,
]

__all__ = ["clip_status", "panel_context", "review_routes"]
