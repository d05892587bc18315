"""Batch actions (issue 21): approve, skip, archive or tag many clips in ONE review event, so
one undo restores them all; tagging one clip; archiving a video's clips (issue 24: the one
archive, through the review service, logged and undoable)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal, get_args

from heaters.db import Database, fetch_all
from heaters.domain.states import ARCHIVABLE_STATES
from heaters.review._base import (
    DECISIONS,
    PAST,
    PENDING,
    SUPERSEDED,
    ActionResult,
    change_refusal,
    clips_text,
    event_result,
    insert_event,
    live_order,
    review_transaction,
    settle_window,
    snapshot,
)
from heaters.review.annotations import resolve_tag, tag_ids_of, tag_snapshot
from heaters.review.errors import ClipNotFound, InvalidEdit, ReviewConflict

log = logging.getLogger(__name__)

BatchAction = Literal["approve", "skip", "archive", "tag"]
BATCH_ACTIONS: tuple[str, ...] = get_args(BatchAction)
BATCH_MAX = 1000
"""The most clips one batch takes."""


async def decide_many(
    db: Database,
    clip_ids: Sequence[int],
    action: str,
    reviewer: str,
    *,
    tag: str | None = None,
    key: int | None = None,
    on: bool | None = None,
    settle_seconds: float | None = None,
    take_held: bool = False,
) -> ActionResult:
    """Apply ``action`` (:data:`BATCH_ACTIONS`) to every clip of ``clip_ids`` in one review
    event: one undo (``heaters.review.undo``) restores them all, until it settles.

    ``approve`` / ``skip`` / ``archive`` decide a pending clip and change a decided one (as
    ``decide(change=True)``); ``tag`` puts the tag named ``tag`` (or on ``key`` 1–9) on
    every clip (``on`` True), takes it off (False), or toggles it (None: off when every clip
    has it, else on). Clips the action cannot apply to are left out and named in the
    message: merged or split away, held by another reviewer (unless ``take_held``: an
    operator's action), a worker processing them, already so. ``ActionResult.clip_ids``: the
    clips changed, by id.

    Raises
    ------
    InvalidEdit
        An unknown action, no clips or more than :data:`BATCH_MAX` (an operator's
        ``take_held`` batch has no limit).
    ClipNotFound
        A clip id that does not exist.
    TagNotFound
        ``tag`` with no such tag (404).
    ReviewConflict
        No clip left to change (the reasons in the message).
    """
    if action not in BATCH_ACTIONS:
        raise InvalidEdit(f"unknown batch action {action!r}: use {', '.join(BATCH_ACTIONS)}")
    ids = sorted(set(clip_ids))
    if not ids or (len(ids) > BATCH_MAX and not take_held):
        raise InvalidEdit(f"a batch takes 1 to {BATCH_MAX} clips, not {len(ids)}")
    if action == "tag" and tag is None and key is None:
        raise InvalidEdit("tag needs the tag's name or key")
    tag_row = await resolve_tag(db, name=tag, key=key) if action == "tag" else None
    async with review_transaction(db) as conn:
        rows = await fetch_all(db.q.lock_clips(conn, ids=ids, reviewer=reviewer))
        missing = sorted(set(ids) - {r["id"] for r in rows})
        if missing:
            raise ClipNotFound(f"no {clips_text(missing)}")
        left_out: list[str] = []
        ok: list[Any] = []
        for clip in rows:
            why = _refusal(clip, action, take_held)
            if why is None:
                ok.append(clip)
            else:
                left_out.append(why)
        tags = await tag_ids_of(db, conn, [c["id"] for c in ok]) if tag_row else {}
        if tag_row is not None:
            if on is None:
                on = not ok or not all(tag_row["id"] in tags[c["id"]] for c in ok)
            keep = [c for c in ok if (tag_row["id"] in tags[c["id"]]) != on]
            left_out += [
                f"clip {c['id']} is {'tagged' if on else 'not tagged'} {tag_row['name']} already"
                for c in ok
                if c not in keep
            ]
            ok = keep
        if not ok:
            raise ReviewConflict("; ".join(left_out[:3]) + "; nothing was changed")
        before: list[dict[str, Any]] = []
        after: list[dict[str, Any]] = []
        for clip in ok:
            cid = clip["id"]
            if tag_row is not None:
                old = tags[cid]
                new = (
                    sorted({*old, tag_row["id"]}) if on else [t for t in old if t != tag_row["id"]]
                )
                await db.q.set_clip_tags(conn, clip_id=cid, tag_ids=new)
                before.append(tag_snapshot(clip, old))
                after.append({"id": cid, "state": clip["state"], "tags": new})
            else:
                state = DECISIONS[action]
                await db.q.set_clip_decision(
                    conn, id=cid, state=state, reviewer=reviewer,
                    grouped_with=clip["grouped_with_clip_id"],
                )  # fmt: skip
                before.append(snapshot(clip))
                after.append({"id": cid, "state": state})
        payload: dict[str, Any] = {"before": before, "after": after, "batch": len(ok) > 1}
        if tag_row is not None:
            payload.update(tag=tag_row["name"], on=on)
        ev = await insert_event(
            db, conn, clip_ids=[c["id"] for c in ok], action=action, reviewer=reviewer,
            payload=payload, settle_seconds=settle_window(settle_seconds),
        )  # fmt: skip
    done = [c["id"] for c in ok]
    if tag_row is not None:
        what = f"tag {tag_row['name']} {'put on' if on else 'taken off'} {clips_text(done)}"
    else:
        what = f"{clips_text(done)} {PAST[action]}"
    msg = what if not left_out else f"{what} ({len(left_out)} left out: {left_out[0]}…)"
    return event_result(log, ev, action, done, msg, live_order(ok), reviewer=reviewer)


def _refusal(clip: Any, action: str, take_held: bool) -> str | None:
    """Why ``action`` leaves ``clip`` out of a batch, or None."""
    cid = clip["id"]
    if clip["state"] in SUPERSEDED or clip["superseded_by"]:
        return f"clip {cid} was {clip['state']}"
    if clip["held_by"] is not None and not take_held:
        return f"clip {cid} is held by {clip['held_by']}"
    if action == "tag" or clip["state"] == PENDING:
        return None
    return change_refusal(cid, clip["state"], action)


async def tag_clip(
    db: Database,
    clip_id: int,
    reviewer: str,
    *,
    name: str | None = None,
    key: int | None = None,
    on: bool | None = None,
    settle_seconds: float | None = None,
) -> ActionResult:
    """Put the tag named ``name`` (or on ``key`` 1–9) on clip ``clip_id`` (``on`` True), take
    it off (False) or toggle it (None): one ``tag`` event, undoable until it settles.

    Raises ClipNotFound; TagNotFound (404); ReviewConflict when the clip was merged or split
    away, another reviewer holds it, or it already is as asked.
    """
    return await decide_many(
        db, [clip_id], "tag", reviewer, tag=name, key=key, on=on, settle_seconds=settle_seconds
    )


async def archive_video(
    db: Database, video_id: int, reviewer: str, *, settle_seconds: float | None = None
) -> ActionResult | None:
    """Archive every live clip of ``video_id`` in ``ARCHIVABLE_STATES`` (undecided or decided,
    no stage working on it) in one ``archive`` event, as an operator: clips a reviewer holds
    are taken too. Undoable until it settles; the archive stage then deletes their files.
    None when no clip is archivable (none, or all archived already)."""
    async with db.acquire() as conn:
        rows = await fetch_all(
            db.q.archivable_clip_ids(conn, video_id=video_id, states=list(ARCHIVABLE_STATES))
        )
    ids = [r["id"] for r in rows]
    if not ids:
        return None
    return await decide_many(
        db, ids, "archive", reviewer, settle_seconds=settle_seconds, take_held=True
    )


__all__ = ["BATCH_ACTIONS", "BATCH_MAX", "BatchAction", "archive_video", "decide_many", "tag_clip"]
