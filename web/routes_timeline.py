"""The review page's timeline of a whole video and the reviewer's settling decisions (the
page's countdowns); split from ``web.routes_review``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

from heaters.db import fetch_all
from web.auth import reviewer
from web.state import web_state


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


@get("/review/videos/{video_id:int}/timeline", name="review_timeline")
async def review_timeline(request: Request[Any, Any, Any], video_id: int) -> Response[Any]:
    """The whole video for the timeline: every live clip with its state, transition, the
    confidence of its starting cut, holder, sprite sheet and settle time."""
    st = web_state(request)
    async with st.db.acquire() as conn:
        video = await st.db.q.timeline_video(conn, video_id=video_id)
        if video is None:
            raise NotFoundException(f"no video {video_id}")
        rows = await fetch_all(st.db.q.timeline_clips(conn, video_id=video_id))
    fps = video["fps_num"] / video["fps_den"] if video["fps_num"] and video["fps_den"] else None
    clips = [
        {
            "id": r["id"],
            "start": r["start_frame"],
            "end": r["end_frame"],
            "state": r["state"],
            "transition": r["transition_kind"] if r["is_transition"] else None,
            "confidence": r["boundary_confidence"],
            "held_by": r["held_by"],
            "reviewed_by": r["reviewed_by"],
            "grouped_with": r["grouped_with_clip_id"],
            "sprite_url": f"/media/{r['sprite_key']}" if r["sprite_key"] else None,
            "sprite": r["sprite_meta"],
            "event_id": r["event_id"],
            "event_action": r["event_action"],
            "settles_at": _iso(r["settles_at"]),
        }
        for r in rows
    ]
    frame_count = video["frame_count"] or (clips[-1]["end"] if clips else 0)
    return Response(
        content={
            "video": {
                "id": video["id"],
                "title": video["title"],
                "frame_count": frame_count,
                "fps": fps,
                "state": video["state"],
            },
            "clips": clips,
        },
        headers={"Cache-Control": "no-store"},
    )


async def _settling(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    st = web_state(request)
    async with st.db.acquire() as conn:
        rows = await fetch_all(
            st.db.q.timeline_settling_events(conn, reviewer=reviewer(request), limit=20)
        )
    return [
        {
            "event_id": r["id"],
            "action": r["action"],
            "clip_ids": list(r["clip_ids"]),
            "settles_at": _iso(r["settles_at"]),
            "seconds_left": float(r["seconds_left"]),
        }
        for r in rows
    ]


@get("/review/settling", name="review_settling")
async def review_settling(request: Request[Any, Any, Any]) -> Response[Any]:
    """The reviewer's own decisions still in their settle window (the page's countdowns)."""
    events = await _settling(request)
    return Response(
        content={"now": datetime.now().astimezone().isoformat(), "events": events},
        headers={"Cache-Control": "no-store"},
    )
