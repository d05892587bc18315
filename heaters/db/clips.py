"""Insert a detector's clips: the one write of the detect stage and of a profile rerun."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from heaters.db.pool import fetch_all

if TYPE_CHECKING:
    from heaters.db._typed_queries import Queries
    from heaters.db.pool import Connection
    from heaters.domain.cuts import ClipSpan


async def insert_clips(
    q: Queries, conn: Connection, video_id: int, spans: Sequence[ClipSpan]
) -> set[str]:
    """Insert ``spans`` as video ``video_id``'s virtual clips (``pending_review``), in order,
    in one statement (``clips.sql``'s ``insert_clips``).

    Returns the ``clip_identifier`` (``{video}_{start}_{end}``) of each clip inserted: a span
    whose identifier exists already is skipped, so a re-run inserts nothing twice.
    """
    rows = await fetch_all(
        q.insert_clips(
            conn,
            video_id=video_id,
            clip_identifiers=[s.identifier(video_id) for s in spans],
            start_frames=[s.start_frame for s in spans],
            end_frames=[s.end_frame for s in spans],
            start_seconds=[s.start_seconds for s in spans],
            end_seconds=[s.end_seconds for s in spans],
            transition_kinds=[s.transition_kind for s in spans],
            confidences=[s.confidence for s in spans],
        )
    )
    return {r["clip_identifier"] for r in rows}
