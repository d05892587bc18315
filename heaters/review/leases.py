"""Claims (leases) on clips and the review queue: who may change a clip now, and which clip
a reviewer gets next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from heaters.config import get_settings
from heaters.db import Database, fetch_all
from heaters.review._base import PENDING, QUEUE_ORDERS, QueueOrder, clip_fields, clock
from heaters.review.errors import ClipNotFound, InvalidEdit
from heaters.review.views import ClipView, get_clip


@dataclass(frozen=True)
class QueueItem:
    """A clip in the review queue (frames ``[start_frame, end_frame)``, seconds from PTS);
    ``own_claim``: the reviewer already holds it."""

    id: int
    video_id: int
    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float
    is_transition: bool
    transition_kind: str | None
    boundary_confidence: float | None
    own_claim: bool


@dataclass(frozen=True)
class Claim:
    """The outcome of :func:`claim`.

    ``own``: the reviewer holds the lease now, until ``expires_at``. Otherwise ``holder`` is the
    reviewer who does (None when nobody can: the clip was merged or split away) and ``reason``
    says why the clip is read-only.
    """

    clip_id: int
    own: bool
    holder: str | None
    expires_at: datetime | None
    reason: str | None = None


_CLAIM_TRIES = 3
"""Takes of a lease that :func:`claim` tries when its holder lets go in between."""


async def review_queue(
    db: Database,
    reviewer: str,
    *,
    video_id: int | None = None,
    include_transitions: bool = False,
    order: QueueOrder = "video",
    limit: int = 20,
) -> list[QueueItem]:
    """The next ``limit`` clips ``reviewer`` may review, without claiming them.

    ``pending_review`` clips nobody else holds; the reviewer's own claim first, then ``order``:
    ``"video"`` (video id, start frame) or ``"confidence"`` (least confident cut first, clips
    with no confidence last). Transition clips only with ``include_transitions``; one video
    with ``video_id``. Raises InvalidEdit for an unknown order.
    """
    if order not in QUEUE_ORDERS:
        raise InvalidEdit(f"unknown queue order {order!r}: use video or confidence")
    filters: dict[str, Any] = {"video_id": video_id, "include_transitions": include_transitions}
    async with db.acquire() as conn:
        own = await db.q.own_claimed_clip(conn, reviewer=reviewer, **filters)
        rows = await fetch_all(
            db.q.review_queue(conn, reviewer=reviewer, queue_order=order, limit=limit, **filters)
        )
    if own is not None:
        rows = [own, *(r for r in rows if r["id"] != own["id"])][:limit]
    return [
        QueueItem(
            **clip_fields(r),
            is_transition=r["is_transition"],
            transition_kind=r["transition_kind"],
            boundary_confidence=None
            if r["boundary_confidence"] is None
            else float(r["boundary_confidence"]),
            own_claim=own is not None and r["id"] == own["id"],
        )
        for r in rows
    ]


async def claim(
    db: Database,
    clip_id: int,
    reviewer: str,
    *,
    claim_seconds: float | None = None,
    spare_reserved: bool = False,
) -> Claim:
    """Take or renew ``reviewer``'s lease on ``clip_id`` (``HEATERS_CLAIM_SECONDS`` unless
    ``claim_seconds`` is given) when nobody else holds it; the reviewer's other claims are
    dropped (one clip at a time), and so is another reviewer's reservation of the clip
    (:func:`reserve_next`). When another reviewer holds it, nothing changes and the answer
    names them (``own`` False). With ``spare_reserved`` a clip another reviewer has reserved
    is not taken either (``own`` False, ``holder`` None: a page's guess of its next clip).
    Raises ClipNotFound.
    """
    lease = get_settings().claim_seconds if claim_seconds is None else claim_seconds
    # The holder can let go between the refused take and the look at who holds it (each
    # statement sees the latest commits): then take it again, a bounded number of times.
    for _ in range(_CLAIM_TRIES):
        async with db.acquire() as conn:  # one statement: take, drop the others, unreserve
            row = await db.q.take_claim(
                conn, id=clip_id, reviewer=reviewer, claim_seconds=lease,
                spare_reserved=spare_reserved,
            )  # fmt: skip
            if row is not None:
                return Claim(clip_id, True, reviewer, row["claim_expires_at"])
            now = await db.q.claim_holder(conn, id=clip_id)
        if now is None or now["superseded_by"] is not None or now["claimed_by"] is not None:
            break
        if spare_reserved:  # free, so reserved by another reviewer (or a race: the same)
            return Claim(clip_id, False, None, None, f"clip {clip_id} is another page's next")
    if now is None:
        raise ClipNotFound(f"no clip {clip_id}")
    if now["superseded_by"] is not None:
        into = ", ".join(f"#{i}" for i in now["superseded_by"])
        return Claim(clip_id, False, None, None, f"clip {clip_id} was {now['state']} into {into}")
    if now["claimed_by"] is None:  # taken and let go again on every try: busy, not held
        return Claim(
            clip_id, False, None, None,
            f"clip {clip_id} is changing hands between reviewers: try again",
        )  # fmt: skip
    return Claim(
        clip_id, False, now["claimed_by"], now["claim_expires_at"],
        f"clip {clip_id} is held by {now['claimed_by']} (until "
        f"{clock(now['claim_expires_at'])}): it can be viewed but not changed",
    )  # fmt: skip


async def reserve_next(
    db: Database, reviewer: str, after_id: int, *, seconds: float | None = None
) -> int | None:
    """Reserve for ``reviewer`` the clip their page shows the moment they decide clip
    ``after_id``:
    the next pending shot in video order (the next videos' too) that nobody else holds or has
    reserved, for ``seconds`` (``HEATERS_CLAIM_SECONDS``). One reservation per reviewer (it
    replaces their previous one); other reviewers' queues and guesses skip it, a claim takes
    it. Returns its clip id, None when no clip is left (or, rarely, another reviewer reserved
    the same one at the same moment: the page then waits for the server's answer).
    """
    lease = get_settings().claim_seconds if seconds is None else seconds
    async with db.acquire() as conn:
        got = await db.q.reserve_next(conn, reviewer=reviewer, after_id=after_id, seconds=lease)
    return int(got) if got is not None else None


async def release(db: Database, clip_id: int, reviewer: str) -> bool:
    """Drop ``reviewer``'s claim on ``clip_id`` (page closed) and their reservation; False
    when they held no claim."""
    async with db.acquire() as conn:
        return await db.q.release_claim(conn, id=clip_id, reviewer=reviewer) is not None


async def next_clip(
    db: Database,
    reviewer: str,
    *,
    video_id: int | None = None,
    include_transitions: bool = False,
    order: QueueOrder = "video",
    claim_seconds: float | None = None,
) -> ClipView | None:
    """Claim and return the next clip of :func:`review_queue` for ``reviewer`` (None when the
    queue is empty). The reviewer's own live claim comes first. Concurrent reviewers never
    get the same clip: the claim is a conditional update, and a clip taken meanwhile is
    skipped for the next one.
    """
    for _ in range(20):
        items = await review_queue(
            db, reviewer, video_id=video_id, include_transitions=include_transitions,
            order=order, limit=16,
        )  # fmt: skip
        if not items:
            return None
        for item in items:
            got = await claim(db, item.id, reviewer, claim_seconds=claim_seconds)
            if not got.own:
                continue
            view = await get_clip(db, item.id)
            if view.state == PENDING:
                return view
            await release(db, item.id, reviewer)  # decided meanwhile
    return None
