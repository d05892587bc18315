"""Videos and their clips as plain JSON-able dicts (the ``--json`` shape, later the API's)."""

from __future__ import annotations

from typing import Any

from heaters.db import Database, fetch_all
from heaters.storage.keys import upload_name


async def video_reports(db: Database, ids: list[int]) -> dict[int, dict[str, Any]]:
    """``{id: {"id", "source" (the URL, the local path, or an API upload's name as sent),
    "state", "error", "frame_count", "fps", "duration_seconds",
    "width", "height", "clips": [{"id", "start_frame", "end_frame", "start_seconds",
    "end_seconds", "state", "is_transition", "transition_kind", "confidence"}],
    "transitions": [{"start_frame", "end_frame", "kind", "confidence"}],
    "suggestions": [{"frame", "seconds", "confidence", "reason"}]}}``; frames
    end-exclusive, seconds from PTS, fps a float. A clip's ``confidence`` (0–1, or None) is
    the detector's confidence in the boundary it starts on (the cut, or for a transition
    clip the transition). ``suggestions``: candidate cuts the detector rejected
    (``boundary_suggestions``), by frame."""
    async with db.acquire() as conn:
        videos = await fetch_all(db.q.get_videos(conn, ids=ids))
        clips = await fetch_all(db.q.video_clips(conn, ids=ids))
        suggestions = await fetch_all(db.q.video_suggestions(conn, ids=ids))
    out: dict[int, dict[str, Any]] = {}
    for v in videos:
        fps = v["fps_num"] / v["fps_den"] if v["fps_num"] and v["fps_den"] else None
        out[v["id"]] = {
            "id": v["id"],
            "source": v["source_url"] or v["source_path"] or upload_name(v["source_key"] or ""),
            "title": v["title"],
            "state": v["state"],
            "error": v["last_error"] if v["state"].endswith("_failed") else None,
            "attempts": v["attempts"],
            "frame_count": v["frame_count"],
            "fps": fps,
            "fps_rational": f"{v['fps_num']}/{v['fps_den']}" if fps else None,
            "duration_seconds": v["duration_seconds"],
            "width": v["width"],
            "height": v["height"],
            "clips": [],
            "transitions": [],
            "suggestions": [],
        }
    for c in clips:
        video = out[c["source_video_id"]]
        confidence = c["boundary_confidence"]
        confidence = None if confidence is None else round(float(confidence), 4)
        video["clips"].append(
            {
                "id": c["id"],
                "start_frame": c["start_frame"],
                "end_frame": c["end_frame"],
                "start_seconds": c["start_seconds"],
                "end_seconds": c["end_seconds"],
                "state": c["state"],
                "is_transition": c["is_transition"],
                "transition_kind": c["transition_kind"],
                "confidence": confidence,
            }
        )
        if c["is_transition"]:
            video["transitions"].append(
                {
                    "start_frame": c["start_frame"],
                    "end_frame": c["end_frame"],
                    "kind": c["transition_kind"],
                    "confidence": confidence,
                }
            )
    for sg in suggestions:
        out[sg["source_video_id"]]["suggestions"].append(
            {
                "frame": sg["frame"],
                "seconds": sg["seconds"],
                "confidence": round(float(sg["confidence"]), 4),
                "reason": sg["reason"],
            }
        )
    return out
