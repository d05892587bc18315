"""Tags and notes (issue 21): the project's tags (a name, and a key 1–9 that toggles the tag
on the review page), the tags of clips and a free-text note per clip.

A change of a clip's tags or note is a review event (``tag`` / ``note``) like a decision:
applied at once, undoable until it settles (the same ``undo``; its snapshot holds the tag ids
and the note before and after), and a later event on the clip must be undone first. Tags and
notes are no decision: the clip keeps its state, its pending decision stays what it was.
Tagging a clip, or many at once, is :func:`heaters.review.batch.decide_many` with ``"tag"``
(:func:`heaters.review.batch.tag_clip` for one).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from heaters.db import Database, fetch_all
from heaters.db.pool import Connection
from heaters.domain.tags import NOTE_MAX, TAG_NAME
from heaters.review._base import (
    ActionResult,
    event_result,
    insert_event,
    live_order,
    lock_clip,
    require_free,
    review_transaction,
    settle_window,
    snapshot,
)
from heaters.review.errors import ClipNotFound, InvalidEdit, ReviewConflict

log = logging.getLogger(__name__)

ANNOTATIONS = ("tag", "note")
"""The review events that change no clip's state (their snapshots hold tags and notes)."""


@dataclass(frozen=True)
class Tag:
    """A tag of the project: ``key`` 1–9 toggles it on the review page (None: no key);
    ``clips``: how many live clips carry it."""

    name: str
    key: int | None = None
    clips: int = 0


class TagNotFound(ReviewConflict):
    """No tag of that name (404)."""

    status = 404


def check_tag_name(name: str) -> str:
    """``name`` when it is a valid tag name (:data:`TAG_NAME`); InvalidEdit otherwise."""
    if not isinstance(name, str) or not TAG_NAME.match(name):
        raise InvalidEdit(
            f"bad tag name {name!r}: 1-40 lower-case letters, digits, '-' or '_', starting "
            "with a letter or digit"
        )
    return name


def check_key(key: int | None) -> int | None:
    if key is not None and not 1 <= key <= 9:
        raise InvalidEdit(f"a tag's key is 1 to 9, not {key}")
    return key


async def list_tags(db: Database, *, counts: bool = True) -> list[Tag]:
    """Every tag, those with a key first (by key), then by name; ``counts=False`` leaves
    ``Tag.clips`` 0 (cheaper: the review page's tag row)."""
    async with db.acquire() as conn:
        if not counts:
            return [Tag(r["name"], r["key"]) for r in await fetch_all(db.q.tag_keys(conn))]
        rows = await fetch_all(db.q.list_tags(conn))
    return [Tag(r["name"], r["key"], int(r["clips"])) for r in rows]


async def add_tag(db: Database, name: str, *, key: int | None = None) -> Tag:
    """Make tag ``name`` (optionally on ``key`` 1–9).

    Raises InvalidEdit (422) for a bad name or key; ReviewConflict (409) when the name exists
    or another tag has the key.
    """
    check_tag_name(name)
    row = await _write_keyed(db, name, key, lambda conn: db.q.insert_tag(conn, name=name, key=key))
    if row is None:
        raise ReviewConflict(f"tag {name} exists already")
    log.info("tag %s added (key %s)", name, key)
    return Tag(row["name"], row["key"])


async def set_tag_key(db: Database, name: str, key: int | None) -> Tag:
    """Put tag ``name`` on ``key`` (None: no key). TagNotFound; ReviewConflict when another
    tag has the key."""
    row = await _write_keyed(db, name, key, lambda conn: db.q.set_tag_key(conn, name=name, key=key))
    if row is None:
        raise TagNotFound(f"no tag {name}")
    return Tag(row["name"], row["key"])


async def _write_keyed(
    db: Database, name: str, key: int | None, write: Callable[[Connection], Awaitable[Any]]
) -> Any:
    """Check ``key`` (1–9 or None), then, in one transaction, make sure no other tag than
    ``name`` has it and run ``write``; its row (None when it found nothing to write)."""
    check_key(key)
    async with db.transaction() as conn:
        if key is not None:
            other = await db.q.tag_by_key(conn, key=key)
            if other is not None and other["name"] != name:
                raise ReviewConflict(
                    f"key {key} is tag {other['name']}'s: remove or move that first"
                )
        return await write(conn)


async def remove_tag(db: Database, name: str) -> Tag:
    """Delete tag ``name`` and take it off every clip (not undoable). TagNotFound."""
    async with db.transaction() as conn:
        row = await db.q.delete_tag(conn, name=name)
    if row is None:
        raise TagNotFound(f"no tag {name}")
    log.info("tag %s removed", name)
    return Tag(row["name"], row["key"])


async def resolve_tag(db: Database, *, name: str | None = None, key: int | None = None) -> Any:
    """The tag row (``id, name, key``) named ``name`` or on ``key``; TagNotFound."""
    async with db.acquire() as conn:
        row = (
            await db.q.get_tag(conn, name=name)
            if name is not None
            else await db.q.tag_by_key(conn, key=key)
        )
    if row is None:
        raise TagNotFound(f"no tag {name}" if name is not None else f"no tag on key {key}")
    return row


async def tag_ids_of(db: Database, conn: Connection, ids: Sequence[int]) -> dict[int, list[int]]:
    """The tag ids of each clip of ``ids`` (sorted; a clip without tags maps to [])."""
    rows = await fetch_all(db.q.clip_tag_ids(conn, ids=list(ids)))
    out: dict[int, list[int]] = {i: [] for i in ids}
    out.update({r["clip_id"]: list(r["tag_ids"]) for r in rows})
    return out


def tag_snapshot(clip: Any, tag_ids: list[int]) -> dict[str, Any]:
    """A clip's snapshot for an event (:func:`~heaters.review._base.snapshot`) with its tag
    ids: undo puts those back."""
    return {**snapshot(clip), "tags": tag_ids}


async def set_note(
    db: Database,
    clip_id: int,
    note: str | None,
    reviewer: str,
    *,
    settle_seconds: float | None = None,
) -> ActionResult:
    """Set clip ``clip_id``'s note (stripped; empty or None removes it). One ``note`` event,
    undoable until it settles.

    Raises ClipNotFound; InvalidEdit for a note over :data:`NOTE_MAX` characters;
    ReviewConflict when the clip was merged or split away, another reviewer holds it, or the
    note is already that.
    """
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        raise InvalidEdit(f"a note holds at most {NOTE_MAX} characters, not {len(text)}")
    async with review_transaction(db) as conn:
        clip = await lock_clip(db, conn, clip_id, reviewer)
        if clip["superseded_by"]:
            raise ReviewConflict(f"clip {clip_id} was {clip['state']}: note the clips it became")
        require_free(clip)
        if clip["note"] == text:
            raise ReviewConflict(f"clip {clip_id}'s note is that already; nothing was changed")
        await db.q.set_clip_note(conn, id=clip_id, note=text)
        ev = await insert_event(
            db, conn, clip_ids=[clip_id], action="note", reviewer=reviewer,
            payload={
                "before": [{**snapshot(clip), "note": clip["note"]}],
                "after": [{"id": clip_id, "state": clip["state"], "note": text}],
            },
            settle_seconds=settle_window(settle_seconds),
        )  # fmt: skip
    msg = f"note of clip {clip_id} " + ("saved" if text else "removed")
    return event_result(log, ev, "note", [clip_id], msg, live_order([clip]), reviewer=reviewer)


async def restore_annotations(db: Database, conn: Connection, snap: dict[str, Any]) -> None:
    """Undo's part for tags and notes: put back the tags and note a snapshot holds."""
    if "tags" in snap:
        await db.q.set_clip_tags(conn, clip_id=snap["id"], tag_ids=list(snap["tags"]))
    if "note" in snap:
        await db.q.set_clip_note(conn, id=snap["id"], note=snap["note"])


async def clip_tags(db: Database, clip_id: int) -> list[str]:
    """The names of clip ``clip_id``'s tags, sorted. ClipNotFound for no clip."""
    async with db.acquire() as conn:
        if await db.q.get_clip_row(conn, id=clip_id) is None:
            raise ClipNotFound(f"no clip {clip_id}")
        return list(await db.q.clip_tag_names(conn, clip_id=clip_id))


__all__ = [
    "ANNOTATIONS",
    "NOTE_MAX",
    "TAG_NAME",
    "Tag",
    "TagNotFound",
    "add_tag",
    "check_tag_name",
    "clip_tags",
    "list_tags",
    "remove_tag",
    "resolve_tag",
    "restore_annotations",
    "set_note",
    "set_tag_key",
]
