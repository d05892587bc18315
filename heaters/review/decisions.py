"""Decisions on clips (approve, skip, archive, group) and :func:`act`, the one entry point for
every action name."""

from __future__ import annotations

import logging
from typing import cast

from heaters.db import Database
from heaters.domain.states import ClipState
from heaters.review._base import (
    ACTIONS,
    DECISIONS,
    EDGES,
    PAST,
    PENDING,
    SUPERSEDED,
    ActionResult,
    Decision,
    Edge,
    change_refusal,
    event_result,
    insert_event,
    live_order,
    lock_clip,
    require_free,
    require_pending,
    review_transaction,
    settle_window,
    snapshot,
    state_label,
)
from heaters.review.edits import merge, move_boundary, split
from heaters.review.errors import InvalidEdit, ReviewConflict

log = logging.getLogger(__name__)


async def decide(
    db: Database,
    clip_id: int,
    action: Decision,
    reviewer: str,
    *,
    settle_seconds: float | None = None,
    change: bool = False,
) -> ActionResult:
    """Apply approve / skip / archive / group to ``clip_id`` at once, undoable until it
    settles (``settle_seconds``, default ``HEATERS_REVIEW_SETTLE_SECONDS``).

    ``change=True`` replaces the decision of a decided clip (approved, skipped or archived,
    settled or not, also past review: exported, embedded, archived…) by another of approve,
    skip or archive: a new event, undoable like any other (undo puts the clip back in the
    state it had, e.g. ``embedded``). Export and archive follow the new state once it
    settles: a re-approved clip is exported, a clip no longer approved leaves the next
    dataset version (datasets take clips by state). Without ``change`` a decided clip is
    refused (a double click, a stale page). A clip a worker is exporting, keyframing,
    embedding or archiving right now is refused; a pending clip is decided as usual.

    ``group`` approves the clip and links it to its previous clip (same video, adjacent;
    ``grouped_with_clip_id``); a pending previous clip is approved too; an approved one (even
    still settling) is linked as it is.

    Raises
    ------
    ClipNotFound
        No such clip.
    ReviewConflict
        The clip (or, for group, the previous one) is not in a state the action applies to
        (with ``change``: the reason from :func:`~heaters.review._base.change_refusal`), or
        another reviewer holds it.
    InvalidEdit
        An unknown action; group on the first clip of a video.
    """
    if action not in DECISIONS:
        raise InvalidEdit(f"unknown decision {action!r}: use approve, skip, archive or group")
    state = DECISIONS[action]
    window = settle_window(settle_seconds)
    async with review_transaction(db) as conn:
        clip = await lock_clip(db, conn, clip_id, reviewer)
        changing = change and clip["state"] != PENDING and clip["state"] not in SUPERSEDED
        if changing:
            why = change_refusal(clip_id, clip["state"], action)
            if why is not None:
                raise ReviewConflict(why + "; nothing was changed")
        else:
            require_pending(clip)
        require_free(clip)
        ids = [clip_id]
        before = [snapshot(clip)]
        after = [{"id": clip_id, "state": state}]
        shown = [clip]
        grouped_with = clip["grouped_with_clip_id"]
        if action == "group":
            prev = await db.q.lock_previous_clip(
                conn, video_id=clip["source_video_id"], start_frame=clip["start_frame"],
                reviewer=reviewer,
            )  # fmt: skip
            if prev is None:
                raise InvalidEdit(
                    f"clip {clip_id} is the first of its video: nothing to group with"
                )
            if prev["state"] not in (PENDING, ClipState.REVIEW_APPROVED):
                raise ReviewConflict(
                    f"previous clip {prev['id']} is {state_label(prev['state'])}: only pending or "
                    "approved clips can be grouped"
                )
            ids.append(prev["id"])
            if prev["state"] == PENDING:
                require_free(prev, "previous clip")
                before.append(snapshot(prev))
                after.append({"id": prev["id"], "state": state})
                shown.append(prev)
                await db.q.set_clip_decision(
                    conn, id=prev["id"], state=state, reviewer=reviewer,
                    grouped_with=prev["grouped_with_clip_id"],
                )  # fmt: skip
            grouped_with = prev["id"]
        await db.q.set_clip_decision(
            conn, id=clip_id, state=state, reviewer=reviewer, grouped_with=grouped_with
        )
        ev = await insert_event(
            db, conn, clip_ids=ids, action=action, reviewer=reviewer,
            payload={"before": before, "after": after}, settle_seconds=window,
        )  # fmt: skip
    msg = f"clip {clip_id} {PAST[action]}"
    if changing:
        msg += f" (was {state_label(clip['state'])})"
    if action == "group":
        msg += f" with clip {ids[1]}"
    return event_result(log, ev, action, ids, msg, live_order(shown), reviewer=reviewer)


async def act(
    db: Database,
    clip_id: int,
    action: str,
    reviewer: str,
    *,
    frame: int | None = None,
    edge: str | None = None,
    with_clip_id: int | None = None,
    settle_seconds: float | None = None,
    change: bool = False,
) -> ActionResult:
    """Any review action by name (``ACTIONS``): the one entry point of pages and API.

    ``split`` needs ``frame``; ``move_boundary`` needs ``edge`` and ``frame``; ``merge`` takes
    ``with_clip_id``; a decision takes ``change`` (replace a decided clip's decision, see
    :func:`decide`). Raises InvalidEdit for an unknown action or a missing field, and what
    the action raises.
    """
    if action in DECISIONS:
        return await decide(
            db, clip_id, cast(Decision, action), reviewer, settle_seconds=settle_seconds,
            change=change,
        )  # fmt: skip
    if action == "merge":
        return await merge(
            db, clip_id, reviewer, with_clip_id=with_clip_id, settle_seconds=settle_seconds
        )
    if action == "split":
        if frame is None:
            raise InvalidEdit("split needs the frame that starts the second part ('frame')")
        return await split(db, clip_id, frame, reviewer, settle_seconds=settle_seconds)
    if action == "move_boundary":
        if frame is None or edge is None:
            raise InvalidEdit("move_boundary needs 'edge' (start or end) and 'frame'")
        if edge not in EDGES:
            raise InvalidEdit(f"unknown edge {edge!r}: use start or end")
        return await move_boundary(
            db, clip_id, cast(Edge, edge), frame, reviewer, settle_seconds=settle_seconds
        )
    raise InvalidEdit(f"unknown action {action!r}: use {', '.join(ACTIONS)}")
