"""``/api/tags``, a clip's tags and note, and batch actions (issue 21): the same review
service as the review page (``heaters.review.annotations``, ``heaters.review.batch``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, delete, get, post, put
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from heaters import review
from heaters.domain.tags import TAG_NAME
from web.api._common import MAX_ID, ErrorOut, dispatch_now, reviewer_of
from web.api.review import _REVIEW_ERRORS, ActionOut, _action_out
from web.state import web_state

TagName = Annotated[str, msgspec.Meta(pattern=TAG_NAME.pattern, min_length=1, max_length=40)]
TagKey = Annotated[int, msgspec.Meta(ge=1, le=9)]


@dataclass
class TagOut:
    """A tag: ``key`` 1–9 toggles it on the review page (null: no key); ``clips``: how many
    live clips carry it."""

    name: str
    key: int | None
    clips: int


@dataclass
class TagsOut:
    """Every tag, those with a key first (by key), then by name."""

    items: list[TagOut]


class TagIn(msgspec.Struct):
    """A new tag: its name (1–40 lower-case letters, digits, ``-``, ``_``) and an optional
    key 1–9."""

    name: TagName
    key: TagKey | None = None


class ClipTagIn(msgspec.Struct):
    """Tag ``tag`` on the clip: ``on`` true puts it on, false takes it off, null toggles."""

    tag: TagName
    on: bool | None = None


class NoteIn(msgspec.Struct):
    """The clip's note (an empty string removes it)."""

    note: Annotated[str, msgspec.Meta(max_length=review.NOTE_MAX)]


class BatchIn(msgspec.Struct):
    """One action on many clips, in one review event (one undo restores them all):
    ``approve`` / ``skip`` / ``archive`` (a decided clip's decision is changed), or ``tag``
    with ``tag`` (``on``: true on, false off, null toggle: off when every clip has it)."""

    clip_ids: Annotated[list[int], msgspec.Meta(min_length=1, max_length=review.BATCH_MAX)]
    action: Literal["approve", "skip", "archive", "tag"]
    tag: TagName | None = None
    on: bool | None = None


_TAG_ERRORS = {
    404: ResponseSpec(ErrorOut, description="No such tag"),
    409: ResponseSpec(ErrorOut, description="The name exists, or another tag has the key"),
}


def _tag_out(t: review.Tag) -> TagOut:
    return TagOut(t.name, t.key, t.clips)


@get("/tags", summary="Every tag of the project", raises=[NotAuthorizedException])
async def list_tags(request: Request[Any, Any, Any]) -> TagsOut:
    """The project's tags with their keys and how many live clips carry each."""
    return TagsOut([_tag_out(t) for t in await review.list_tags(web_state(request).db)])


@post(
    "/tags",
    status_code=201,
    summary="Make a tag",
    raises=[ClientException, NotAuthorizedException],
    responses={409: _TAG_ERRORS[409]},
)
async def add_tag(request: Request[Any, Any, Any], data: TagIn) -> TagOut:
    """A new tag, optionally on key 1–9 (the review page's keys). 409 when the name exists or
    another tag has the key."""
    return _tag_out(await review.add_tag(web_state(request).db, data.name, key=data.key))


@delete(
    "/tags/{name:str}",
    status_code=200,
    summary="Remove a tag (from every clip too)",
    raises=[ClientException, NotAuthorizedException],
    responses={404: _TAG_ERRORS[404]},
)
async def remove_tag(
    request: Request[Any, Any, Any],
    name: str = Parameter(pattern=TAG_NAME.pattern, min_length=1, max_length=40),
) -> TagOut:
    """Deletes the tag and takes it off every clip (not undoable). 404 for an unknown tag."""
    return _tag_out(await review.remove_tag(web_state(request).db, name))


@post(
    "/clips/{clip_id:int}/tags",
    status_code=200,
    summary="Put a tag on a clip, take it off, or toggle it",
    raises=[ClientException, NotAuthorizedException],
    responses=_REVIEW_ERRORS,
)
async def tag_clip(
    request: Request[Any, Any, Any], data: ClipTagIn, clip_id: int = Parameter(ge=1, le=MAX_ID)
) -> ActionOut:
    """A ``tag`` review event, undoable until ``settles_at`` like a decision (``POST
    /api/review/undo/{event_id}``). 404 for an unknown clip or tag; 409 when the clip was
    merged or split away, another reviewer holds it, or it already is as asked."""
    result = await review.tag_clip(
        web_state(request).db, clip_id, reviewer_of(request), name=data.tag, on=data.on
    )
    return _action_out(result)


@put(
    "/clips/{clip_id:int}/note",
    status_code=200,
    summary="Set a clip's note",
    raises=[ClientException, NotAuthorizedException],
    responses=_REVIEW_ERRORS,
)
async def set_note(
    request: Request[Any, Any, Any], data: NoteIn, clip_id: int = Parameter(ge=1, le=MAX_ID)
) -> ActionOut:
    """A ``note`` review event, undoable until ``settles_at``. 404 for an unknown clip; 409
    when the clip was merged or split away, another reviewer holds it, or the note is
    already that."""
    result = await review.set_note(web_state(request).db, clip_id, data.note, reviewer_of(request))
    return _action_out(result)


@post(
    "/review/batch",
    status_code=200,
    summary="Approve, skip, archive or tag many clips in one undoable action",
    raises=[ClientException, NotAuthorizedException],
    responses=_REVIEW_ERRORS,
)
async def review_batch(request: Request[Any, Any, Any], data: BatchIn) -> ActionOut:
    """One review event for every clip of ``clip_ids``: ``POST /api/review/undo/{event_id}``
    restores them all until ``settles_at``. Clips the action cannot apply to (merged or split
    away, held by another reviewer, processed by a worker right now, already so) are left out
    and named in ``message``; ``clip_ids`` lists the clips changed. 404 for an unknown clip
    or tag; 409 when no clip is left, or for ``tag`` without a tag."""
    bad = [i for i in data.clip_ids if not 1 <= i <= MAX_ID]
    if bad:  # no such clip (the schema cannot bound a list's items)
        raise review.ClipNotFound(f"no clip {bad[0]}")
    if data.action == "tag" and data.tag is None:  # a body that contradicts itself: 409
        raise review.ReviewConflict("tag needs 'tag', the tag's name; nothing was changed")
    result = await review.decide_many(
        web_state(request).db, data.clip_ids, data.action, reviewer_of(request), tag=data.tag,
        on=data.on,
    )  # fmt: skip
    await dispatch_now(request)
    return _action_out(result)


tag_routes = [list_tags, add_tag, remove_tag, tag_clip, set_note, review_batch]
