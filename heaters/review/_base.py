"""What every review action shares: the action names, the result of an action, the
transaction whose deadlock is a 409, row locks, the checks before a change, the event log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import asyncpg

from heaters.config import get_settings
from heaters.db import Database
from heaters.db.pool import Connection
from heaters.domain.states import (
    APPROVED_STATES,
    ARCHIVE,
    ARCHIVED_STATES,
    EMBED,
    EXPORT,
    KEYFRAME,
    ClipState,
)
from heaters.review.errors import ClipNotFound, ReviewConflict

Decision = Literal["approve", "skip", "archive", "group"]
Edit = Literal["merge", "split", "move_boundary"]
Action = Literal[Decision, Edit]
Edge = Literal["start", "end"]
QueueOrder = Literal["video", "confidence"]
ACTIONS: tuple[str, ...] = get_args(Action)
EDGES: tuple[str, ...] = get_args(Edge)
QUEUE_ORDERS: tuple[str, ...] = get_args(QueueOrder)

DECISIONS: dict[str, ClipState] = {
    "approve": ClipState.REVIEW_APPROVED,
    "skip": ClipState.REVIEW_SKIPPED,
    "archive": ClipState.REVIEW_ARCHIVED,
    "group": ClipState.REVIEW_APPROVED,
}
PENDING = ClipState.PENDING_REVIEW
SUPERSEDED = (ClipState.MERGED, ClipState.SPLIT)
#: The decision a clip's state comes from, for every state past review (a decision that
#: changes it must be another one): the states of ``APPROVED_STATES`` and
#: ``ARCHIVED_STATES`` (heaters.domain.states), and ``review_skipped``.
DECIDED_BY: dict[str, str] = {
    **dict.fromkeys(APPROVED_STATES, "approve"),
    ClipState.REVIEW_SKIPPED: "skip",
    **dict.fromkeys(ARCHIVED_STATES, "archive"),
}
#: States in which a worker is processing the clip: its decision changes once it is done.
WORKING = tuple(t.running for t in (EXPORT, KEYFRAME, EMBED, ARCHIVE))
PAST = {
    "approve": "approved", "skip": "skipped", "archive": "archived", "group": "grouped",
    "merge": "merged", "split": "split", "move_boundary": "moved",
}  # fmt: skip


@dataclass(frozen=True)
class ActionResult:
    """What an action did.

    ``event_id``: its review event (for an undo: the event undone). ``clip_ids``: every clip
    the event touched (for an edit, the old clips then the new ones). ``live_clip_ids``: the
    clips to show now, in frame order (the decided clips, the clips an edit made, the clips an
    undo restored). ``settles_at``: until when the action can be undone (None for an undo).
    """

    event_id: int
    action: str
    clip_ids: tuple[int, ...]
    message: str
    settles_at: datetime | None = None
    live_clip_ids: tuple[int, ...] = ()


def settle_window(settle_seconds: float | None) -> float:
    return get_settings().review_settle_seconds if settle_seconds is None else settle_seconds


def clock(t: datetime) -> str:
    return t.astimezone().strftime("%H:%M:%S")


def state_label(state: str) -> str:
    return state.removeprefix("review_").replace("_", " ")


def clips_text(ids: Sequence[int]) -> str:
    return ("clips " if len(ids) > 1 else "clip ") + " and ".join(
        [", ".join(map(str, ids[:-1])), str(ids[-1])] if len(ids) > 1 else [str(ids[0])]
    )


@asynccontextmanager
async def review_transaction(db: Database) -> AsyncIterator[Connection]:
    """A transaction whose deadlock (two actions on the same clips at once) is a 409."""
    try:
        async with db.transaction() as conn:
            yield conn
    except asyncpg.exceptions.DeadlockDetectedError as exc:
        raise ReviewConflict(
            "another action on the same clips ran at the same moment; nothing was changed: "
            "try again"
        ) from exc


def snapshot(clip: Any) -> dict[str, Any]:
    return {
        "id": clip["id"],
        "state": clip["state"],
        "reviewed_at": clip["reviewed_at"].isoformat() if clip["reviewed_at"] else None,
        "reviewed_by": clip["reviewed_by"],
        "grouped_with_clip_id": clip["grouped_with_clip_id"],
    }


async def lock_clip(db: Database, conn: Connection, clip_id: int, reviewer: str | None) -> Any:
    clip = await db.q.lock_clip(conn, id=clip_id, reviewer=reviewer)
    if clip is None:
        raise ClipNotFound(f"no clip {clip_id}")
    return clip


def require_free(clip: Any, what: str = "clip") -> None:
    """Hard claims: a clip another reviewer holds can be read, not changed."""
    if clip["held_by"] is not None:
        raise ReviewConflict(
            f"{what} {clip['id']} is held by {clip['held_by']} (until "
            f"{clock(clip['claim_expires_at'])}): it can be viewed but not changed"
        )


def require_pending(clip: Any, what: str = "clip") -> None:
    if clip["state"] in SUPERSEDED:
        into = ", ".join(f"#{i}" for i in clip["superseded_by"] or ())
        raise ReviewConflict(
            f"{what} {clip['id']} was {clip['state']} into {into or 'other clips'}; "
            "nothing was changed"
        )
    if clip["state"] != PENDING:
        by = f" by {clip['reviewed_by']}" if clip["reviewed_by"] else ""
        raise ReviewConflict(
            f"{what} {clip['id']} is already {state_label(clip['state'])}{by}; nothing was changed"
        )


def change_refusal(cid: int, state: str, action: str) -> str | None:
    """Why decision ``action`` cannot replace the decision of clip ``cid`` in ``state``, or
    None when it can: the clip was decided (its state comes from approve, skip or archive,
    past review too), no worker is processing it right now, and ``action`` is another of
    approve / skip / archive."""
    decided = DECIDED_BY.get(state)
    if decided is None:
        return f"clip {cid} is {state_label(state)}: only a decided clip's decision changes"
    if action not in ("approve", "skip", "archive"):
        return f"a decision is changed by approve, skip or archive, not {action}"
    if state in WORKING:
        return f"clip {cid} is {state_label(state)} right now: change it once that is done"
    if decided == action:
        return f"clip {cid} is already {PAST[action]}"
    return None


async def insert_event(
    db: Database,
    conn: Connection,
    *,
    clip_ids: Sequence[int],
    action: str,
    reviewer: str,
    payload: dict[str, Any],
    settle_seconds: float,
    applied: bool = False,
) -> Any:
    return await db.q.insert_event(
        conn, clip_ids=list(clip_ids), action=action, reviewer=reviewer, payload=payload,
        settle_seconds=settle_seconds, applied=applied,
    )  # fmt: skip


def live_order(rows: Sequence[Any]) -> tuple[int, ...]:
    return tuple(r["id"] for r in sorted(rows, key=lambda r: (r["start_frame"], r["id"])))


def event_result(
    log: logging.Logger,
    ev: Any,
    action: str,
    clip_ids: Sequence[int],
    message: str,
    live_clip_ids: Sequence[int],
    *,
    reviewer: str | None = None,
) -> ActionResult:
    """The result of an action that logged event ``ev`` (its row: ``id``, ``settles_at``),
    logged on ``log`` as ``"<reviewer>: <message> (event <id>)"`` (no prefix without
    ``reviewer``: an edit's message names its clips)."""
    if reviewer is None:
        log.info("%s (event %s)", message, ev["id"])
    else:
        log.info("%s: %s (event %s)", reviewer, message, ev["id"])
    return ActionResult(
        event_id=ev["id"], action=action, clip_ids=tuple(clip_ids), message=message,
        settles_at=ev["settles_at"], live_clip_ids=tuple(live_clip_ids),
    )  # fmt: skip


def clip_fields(row: Any) -> dict[str, Any]:
    """A clip row's identity and span, as keyword arguments of a view (``ClipView``,
    ``QueueItem``): ``id``, ``video_id`` (from ``source_video_id``), ``start_frame``,
    ``end_frame`` (frames, end exclusive), ``start_seconds``, ``end_seconds``."""
    return {
        "id": row["id"],
        "video_id": row["source_video_id"],
        **{k: row[k] for k in ("start_frame", "end_frame", "start_seconds", "end_seconds")},
    }
