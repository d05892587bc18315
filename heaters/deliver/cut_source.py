"""A video's cut list from the database (:func:`load_cut_list`), for
:mod:`heaters.deliver.cutlists` to format."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from heaters.deliver.cutlists import CutClip, CutList, CutVideo
from heaters.deliver.states import DeliverError
from heaters.domain.states import VideoState

__all__ = ["load_cut_list", "media_url_of"]


def media_url_of(
    source_url: str | None, source_path: str | None, title: str | None = None
) -> str:
    """What timeline clips reference: the source URL, or the source file as a ``file://``
    URI, or for an API upload (which has neither) the name it was sent with, as a relative
    reference an NLE relinks by file name ("" when there is no name either)."""
    if source_url:
        return source_url
    if source_path:
        p = Path(source_path)
        return p.as_uri() if p.is_absolute() else source_path
    return title or ""


async def load_cut_list(db: Any, video_id: int, state_filter: str = "all") -> CutList:
    """The cut list of ``video_id`` from Postgres (live clips only: merged or split clips
    are never listed).

    Parameters
    ----------
    db
        A ``heaters.db.Database``.
    video_id
        The source video.
    state_filter
        A key of ``CUT_STATE_FILTERS`` (``all``, ``approved``, ``pending``, ``skipped``,
        ``archived``).

    Raises
    ------
    DeliverError
        For an unknown video or filter, or a video not detected yet (no clips).
    """
    from heaters.db import fetch_all
    from heaters.deliver.states import CUT_STATE_FILTERS

    if state_filter not in CUT_STATE_FILTERS:
        raise DeliverError(
            f"unknown state filter {state_filter!r} (one of {', '.join(CUT_STATE_FILTERS)})"
        )
    states = CUT_STATE_FILTERS[state_filter]
    async with db.acquire() as conn:
        v = await db.q.cut_video(conn, video_id=video_id)
        if v is None:
            raise DeliverError(f"no video {video_id}")
        rows = await fetch_all(
            db.q.cut_clips(conn, video_id=video_id, states=list(states) if states else None)
        )
    if not rows and v["state"] != VideoState.DETECTED:
        raise DeliverError(f"video {video_id} has no clips yet (state {v['state']})")
    if not v["pts_seconds"]:
        raise DeliverError(f"video {video_id} has no frame index yet (state {v['state']})")
    fps = (
        Fraction(v["fps_num"], v["fps_den"])
        if v["fps_num"] and v["fps_den"]
        else Fraction(
            len(v["pts_seconds"]) / max(float(v["duration_seconds"] or 1), 1e-9)
        ).limit_denominator(1001)
    )
    video = CutVideo(
        id=v["id"],
        title=v["title"],
        media_url=media_url_of(v["source_url"], v["source_path"], v["title"]),
        fps=fps,
        pts_seconds=list(v["pts_seconds"]),
        duration_seconds=float(v["duration_seconds"] or v["pts_seconds"][-1]),
        width=v["width"],
        height=v["height"],
    )
    clips = tuple(
        CutClip(
            id=r["id"],
            start_frame=r["start_frame"],
            end_frame=r["end_frame"],
            state=r["state"],
            transition_kind=r["transition_kind"] if r["is_transition"] else None,
            confidence=(
                None if r["boundary_confidence"] is None else float(r["boundary_confidence"])
            ),
            reviewed_by=r["reviewed_by"],
            reviewed_at=r["reviewed_at"],
            group=r["grouped_with_clip_id"],
            tags=tuple(r["tags"] or ()),
            note=r["note"],
        )
        for r in rows
    )
    return CutList(video, clips, state_filter)
