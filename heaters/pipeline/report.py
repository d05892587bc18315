"""Videos and their clips as plain JSON-able dicts (the ``--json`` shape, later the API's)."""

from __future__ import annotations

from typing import Any

from heaters.db import Database, fetch_all


async def video_reports(db: Database, ids: list[int]) -> dict[int, dict[str, Any]]:
    """``{id: {"id", "source", "state", "error", "frame_count", "fps", "duration_seconds",
    "width", "height", "clips": [{"id", "start_frame", "end_frame", "start_seconds",
    "end_seconds", "state"}]}}``; frames end-exclusive, seconds from PTS, fps a float."""
    async with db.acquire() as conn:
        videos = await fetch_all(db.q.get_videos(conn, ids=ids))
        clips = await fetch_all(db.q.video_clips(conn, ids=ids))
    out: dict[int, dict[str, Any]] = {}
    for v in videos:
        fps = v["fps_num"] / v["fps_den"] if v["fps_num"] and v["fps_den"] else None
        out[v["id"]] = {
            "id": v["id"],
            "source": v["source_url"] or v["source_path"],
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
        }
    for c in clips:
        out[c["source_video_id"]]["clips"].append(
            {
                "id": c["id"],
                "start_frame": c["start_frame"],
                "end_frame": c["end_frame"],
                "start_seconds": c["start_seconds"],
                "end_seconds": c["end_seconds"],
                "state": c["state"],
            }
        )
    return out
