"""Reading clips as the review page and the API show them: one clip with its PTS, pending
decision and suggestions; a video's clips; the review history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from heaters.db import Database, fetch_all
from heaters.db.pool import Connection
from heaters.review._base import clip_fields
from heaters.review.errors import ClipNotFound


@dataclass(frozen=True)
class PendingDecision:
    """The latest event on a clip that has not settled yet: undoable until ``settles_at``."""

    event_id: int
    action: str
    reviewer: str | None
    settles_at: datetime


@dataclass(frozen=True)
class SuggestionView:
    """A candidate cut the detector rejected (``boundary_suggestions``), strictly inside a
    clip: ``frame`` would start the new shot, ``seconds`` is its PTS, ``confidence`` 0–1,
    ``reason`` the rule that rejected it. Accepting it is a split at ``frame``."""

    frame: int
    seconds: float
    confidence: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """``{"frame", "seconds", "confidence", "reason"}`` (JSON-ready)."""
        return {
            "frame": self.frame,
            "seconds": self.seconds,
            "confidence": round(self.confidence, 4),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ClipView:
    """A clip as the review page and the API show it.

    Frames are ``[start_frame, end_frame)``; seconds are PTS. ``pts`` holds the PTS in seconds
    of frames ``start_frame … end_frame`` (the frame after the clip included when it exists),
    from the frame index: the page seeks with them, never with frame ÷ nominal fps.
    ``claimed_by`` is the reviewer holding a live lease on the clip (None: nobody), until
    ``claim_expires_at``. ``pending`` is the latest decision on it still settling.
    ``boundary_confidence`` (0–1 or None) is the detector's confidence in the cut the clip
    starts on; ``is_transition`` marks a gradual transition's frames (``transition_kind``).
    ``suggestions``: the candidate cuts strictly inside the clip, in frame order. ``tags``:
    the names of its tags, sorted; ``note``: its free-text note (None: none).
    """

    id: int
    video_id: int
    video_title: str | None
    source: str | None
    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float
    state: str
    grouped_with_clip_id: int | None
    reviewed_by: str | None
    claimed_by: str | None
    proxy_key: str | None
    fps: float
    video_frame_count: int | None
    pts: tuple[float, ...]
    prev_clip_id: int | None
    next_clip_id: int | None
    sprite_key: str | None
    sprite_meta: dict[str, Any] | None
    pending: PendingDecision | None = None
    claim_expires_at: datetime | None = None
    superseded_by: tuple[int, ...] = ()
    is_transition: bool = False
    transition_kind: str | None = None
    boundary_confidence: float | None = None
    suggestions: tuple[SuggestionView, ...] = ()
    tags: tuple[str, ...] = ()
    note: str | None = None

    @property
    def frame_count(self) -> int:
        """Frames in the clip (``end_frame`` is exclusive)."""
        return self.end_frame - self.start_frame


async def get_clip(db: Database, clip_id: int, *, light: bool = False) -> ClipView:
    """The clip ``clip_id`` with what the review page and the API need. ``light``: the clip's
    own row only (one query; no PTS, settling decision, suggestions or tags: a neighbour
    card). Raises ClipNotFound."""
    pts_row = ev = tags = None
    inside: dict[int, list[SuggestionView]] = {}
    async with db.acquire() as conn:
        row = await db.q.clip_view(conn, id=clip_id)
        if row is None:
            raise ClipNotFound(f"no clip {clip_id}")
        if not light:
            pts_row = await db.q.clip_pts(
                conn,
                video_id=row["source_video_id"],
                start_frame=row["start_frame"],
                end_frame=row["end_frame"],
            )
            ev = await db.q.settling_event_for(conn, id=clip_id)
            inside = await _suggestions_in(db, conn, [clip_id])
            tags = await db.q.clip_tag_names(conn, clip_id=clip_id)
    fps = row["fps_num"] / row["fps_den"] if row["fps_num"] and row["fps_den"] else 25.0
    confidence = row["boundary_confidence"]
    return ClipView(
        **clip_fields(row),
        video_title=row["video_title"],
        source=row["source_url"] or row["source_path"],
        state=row["state"],
        grouped_with_clip_id=row["grouped_with_clip_id"],
        reviewed_by=row["reviewed_by"],
        claimed_by=row["holder"],
        claim_expires_at=row["claim_expires_at"] if row["holder"] else None,
        proxy_key=row["proxy_path"],
        fps=fps,
        video_frame_count=row["video_frame_count"],
        pts=tuple(pts_row["pts"] or ()) if pts_row else (),
        prev_clip_id=row["prev_clip_id"],
        next_clip_id=row["next_clip_id"],
        sprite_key=row["sprite_key"],
        sprite_meta=row["sprite_meta"],
        pending=PendingDecision(ev["id"], ev["action"], ev["reviewer"], ev["settles_at"])
        if ev is not None
        else None,
        superseded_by=tuple(row["superseded_by"] or ()),
        is_transition=row["is_transition"],
        transition_kind=row["transition_kind"],
        boundary_confidence=None if confidence is None else float(confidence),
        suggestions=tuple(inside.get(clip_id, ())),
        tags=tuple(tags or ()),
        note=row["note"],
    )


async def _suggestions_in(
    db: Database, conn: Connection, clip_ids: Sequence[int]
) -> dict[int, list[SuggestionView]]:
    out: dict[int, list[SuggestionView]] = {}
    for r in await fetch_all(db.q.clip_suggestions(conn, ids=list(clip_ids))):
        out.setdefault(r["clip_id"], []).append(
            SuggestionView(r["frame"], r["seconds"], float(r["confidence"]), r["reason"])
        )
    return out


async def clip_suggestions(
    db: Database, clip_ids: Sequence[int]
) -> dict[int, list[SuggestionView]]:
    """The boundary suggestions strictly inside each clip of ``clip_ids`` (start_frame <
    frame < end_frame), in frame order; clips with none are left out."""
    async with db.acquire() as conn:
        return await _suggestions_in(db, conn, clip_ids)


async def video_clips(db: Database, video_id: int) -> list[dict[str, Any]]:
    """All clips of a video (superseded ones too) in frame order, as dicts: ``id``,
    ``start_frame``, ``end_frame`` (exclusive), ``start_seconds``, ``end_seconds``, ``state``,
    ``grouped_with_clip_id``, ``reviewed_by``, ``reviewed_at``, ``superseded_by``,
    ``claimed_by`` (live lease holder or None), ``is_transition``, ``transition_kind``,
    ``boundary_confidence``, ``settles_at`` (of the latest event on it still settling, or
    None)."""
    async with db.acquire() as conn:
        return [dict(r) for r in await fetch_all(db.q.video_clip_list(conn, video_id=video_id))]


async def history(db: Database, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Review events, newest first, as dicts (the ``review_events`` columns, ``settles_at``
    included; ``pending``: still settling, so undoable)."""
    async with db.acquire() as conn:
        rows = await fetch_all(db.q.event_history(conn, limit=limit, offset=offset))
    return [dict(r) for r in rows]
