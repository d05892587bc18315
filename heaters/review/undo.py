"""Undo and reopen: an action can be taken back until its event settles."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from heaters.db import Database
from heaters.review._base import (
    PENDING,
    SUPERSEDED,
    ActionResult,
    clips_text,
    clock,
    insert_event,
    live_order,
    lock_clip,
    require_free,
    review_transaction,
    state_label,
)
from heaters.review.annotations import restore_annotations
from heaters.review.edits import superseded_state
from heaters.review.errors import ClipNotFound, ReviewConflict

log = logging.getLogger(__name__)


async def undo(
    db: Database,
    reviewer: str,
    *,
    event_id: int | None = None,
) -> ActionResult:
    """Undo ``event_id``, or else ``reviewer``'s latest own event still settling (so undo,
    undo, undo takes back one decision after the other).

    The clips come back as the event found them (an edit's new clips are superseded by them
    again; a ``tag`` or ``note`` event's clips get their tags or note back; a batch's clips
    all come back at once). An event can be undone until it settles, and only when no later
    event (not undone) touched its clips: undo that one first.

    Raises
    ------
    ReviewConflict
        Nothing to undo; already undone; settled; a later event on the same clips; a clip that
        has moved on since (e.g. archived by an operator) or that another reviewer holds.
        Status 404 for an unknown ``event_id``.
    """
    async with review_transaction(db) as conn:
        if event_id is None:
            event_id = await db.q.last_settling_event_of(conn, reviewer=reviewer)
            if event_id is None:
                raise ReviewConflict("nothing to undo: none of your decisions is still settling")
        ev = await db.q.lock_event(conn, id=event_id)
        if ev is None:
            raise ReviewConflict(f"no review event {event_id}", status=404)
        what = f"the {ev['action']} of {clips_text(ev['clip_ids'])} (event {ev['id']})"
        if ev["undone_at"] is not None:
            raise ReviewConflict(f"{what} was already undone")
        if ev["action"] == "undo":
            raise ReviewConflict("an undo cannot be undone; act on the clip again instead")
        if not ev["settling"]:
            raise ReviewConflict(
                f"{what} settled at {clock(ev['settles_at'])}: it can no longer be undone"
            )
        later = await db.q.later_event_on(conn, id=ev["id"], clip_ids=list(ev["clip_ids"]))
        if later is not None:
            raise ReviewConflict(
                f"{what} cannot be undone before the later {later['action']} of "
                f"{clips_text(later['clip_ids'])} (event {later['id']}"
                + (f", by {later['reviewer']}" if later["reviewer"] != reviewer else "")
                + "): undo that first"
            )
        payload = ev["payload"]
        live: list[Any] = []
        if "after" not in payload:
            raise ReviewConflict(f"{what} was logged before issue 12 and can no longer be undone")
        for a in payload["after"]:
            clip = await lock_clip(db, conn, a["id"], reviewer)
            if clip["state"] != a["state"]:
                raise ReviewConflict(
                    f"clip {clip['id']} has moved on to {state_label(clip['state'])}: "
                    f"{what} can no longer be undone"
                )
            require_free(clip)
            if any(a["id"] == s["id"] for s in payload["before"]):
                live.append(clip)
        for snap in payload["before"]:
            await db.q.restore_clip(
                conn, id=snap["id"], state=snap["state"],
                reviewed_at=datetime.fromisoformat(snap["reviewed_at"])
                if snap["reviewed_at"] else None,
                reviewed_by=snap["reviewed_by"], grouped_with=snap["grouped_with_clip_id"],
            )  # fmt: skip
            await restore_annotations(db, conn, snap)
        restored = [s["id"] for s in payload["before"]]
        for new_id in payload.get("new", ()):
            await db.q.supersede_clip(
                conn, id=new_id, state=superseded_state(len(restored)), new_ids=restored
            )
        await db.q.mark_event_undone(conn, id=ev["id"])
        await insert_event(
            db, conn, clip_ids=list(ev["clip_ids"]), action="undo", reviewer=reviewer,
            payload={"undid": ev["id"], "action": ev["action"]}, settle_seconds=0,
        )  # fmt: skip
    ids = tuple(ev["clip_ids"])
    shown = live or []
    msg = f"undid {ev['action']} of {clips_text(ids)}"
    log.info("%s: %s", reviewer, msg)
    return ActionResult(
        event_id=ev["id"], action="undo", clip_ids=ids, message=msg,
        live_clip_ids=live_order(shown),
    )  # fmt: skip


async def reopen(db: Database, clip_id: int, reviewer: str) -> ActionResult:
    """Take a decided clip back to review: undo the event that decided it (see :func:`undo`)
    while it is settling.

    Raises ClipNotFound; ReviewConflict saying why not: the clip is pending already, was merged
    or split away, or its decision settled (it went on to export or archive).
    """
    async with db.acquire() as conn:
        clip = await db.q.get_clip_row(conn, id=clip_id)
        if clip is None:
            raise ClipNotFound(f"no clip {clip_id}")
        if clip["state"] == PENDING:
            raise ReviewConflict(f"clip {clip_id} is pending review: there is nothing to reopen")
        if clip["state"] in SUPERSEDED:
            into = ", ".join(f"#{i}" for i in clip["superseded_by"] or ())
            raise ReviewConflict(f"clip {clip_id} was {clip['state']} into {into}: open that")
        event_id = await db.q.deciding_event_for(conn, id=clip_id)
        settling = await db.q.settling_event_for(conn, id=clip_id)
    state = state_label(clip["state"])
    if event_id is None:
        raise ReviewConflict(
            f"clip {clip_id} is {state} and no review decision of it can be undone"
        )
    if settling is None:
        by = f" by {clip['reviewed_by']}" if clip["reviewed_by"] else ""
        raise ReviewConflict(
            f"clip {clip_id} was decided{by} and that decision has settled (the settle window "
            f"is over; the clip is now {state}): it can no longer be reopened"
        )
    return await undo(db, reviewer, event_id=event_id)
