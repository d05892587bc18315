"""Cut-point math: from detector cuts to virtual clips (pure)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ClipSpan:
    """One virtual clip: frames ``[start_frame, end_frame)`` and their PTS in seconds.

    ``start_seconds`` is the PTS of ``start_frame``; ``end_seconds`` is the PTS of
    ``end_frame`` (the first frame after the clip) or the video's end for the last clip.
    """

    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float

    def identifier(self, video_id: int) -> str:
        """The unique ``clip_identifier``: ``{video}_{start}_{end}`` (frames, end exclusive)."""
        return f"{video_id}_{self.start_frame}_{self.end_frame}"


def spans_from_cuts(
    cuts: Sequence[int], pts_seconds: Sequence[float], end_seconds: float
) -> list[ClipSpan]:
    """Turn cut frames into clips that cover every frame once, with no gap and no overlap.

    Parameters
    ----------
    cuts:
        Frame indices (0-based, decode order); cut ``k`` means frame ``k`` starts a new shot.
        Out-of-range, duplicate and unsorted values are tolerated (dropped / sorted).
    pts_seconds:
        PTS of every frame in seconds (the frame index); its length is the frame count.
    end_seconds:
        Where the last frame ends (PTS of the last frame plus its duration).

    Returns
    -------
    list of ClipSpan
        In frame order; empty when there are no frames.
    """
    n = len(pts_seconds)
    if n == 0:
        return []
    bounds = [0, *sorted({c for c in cuts if 0 < c < n}), n]
    spans = []
    for start, end in itertools.pairwise(bounds):
        spans.append(
            ClipSpan(
                start_frame=start,
                end_frame=end,
                start_seconds=float(pts_seconds[start]),
                end_seconds=float(pts_seconds[end]) if end < n else float(end_seconds),
            )
        )
    return spans


def last_frame_end(pts_seconds: Sequence[float], fallback_frame_seconds: float) -> float:
    """PTS where the last frame ends: its PTS plus the previous frame interval.

    ``fallback_frame_seconds`` (1 / nominal fps) is used when there is a single frame.
    """
    if not pts_seconds:
        return 0.0
    if len(pts_seconds) >= 2:
        return float(pts_seconds[-1]) + float(pts_seconds[-1] - pts_seconds[-2])
    return float(pts_seconds[-1]) + fallback_frame_seconds
