"""Cut-point math: from detector cuts and transitions to virtual clips (pure)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class TransitionSpan(Protocol):
    """A gradual transition as a detector reports it (see ``heaters.media.boundaries``)."""

    @property
    def start_frame(self) -> int: ...
    @property
    def end_frame(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def confidence(self) -> float: ...


@dataclass(frozen=True)
class ClipSpan:
    """One virtual clip: frames ``[start_frame, end_frame)`` and their PTS in seconds.

    ``start_seconds`` is the PTS of ``start_frame``; ``end_seconds`` is the PTS of
    ``end_frame`` (the first frame after the clip) or the video's end for the last clip.
    ``transition_kind`` is set when the clip is the frames of a gradual transition (a
    transition clip), None for a shot. ``confidence`` (0–1) is the detector's confidence in
    the boundary the clip stands on: the transition's for a transition clip, the cut's that
    starts a shot; None when the shot starts at frame 0 or right after a transition clip.
    """

    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float
    transition_kind: str | None = None
    confidence: float | None = None

    @property
    def is_transition(self) -> bool:
        """True for the frames of a gradual transition."""
        return self.transition_kind is not None

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
    return spans_from_boundaries(cuts, [None] * len(cuts), (), pts_seconds, end_seconds)


def last_frame_end(pts_seconds: Sequence[float], fallback_frame_seconds: float) -> float:
    """PTS where the last frame ends: its PTS plus the previous frame interval.

    ``fallback_frame_seconds`` (1 / nominal fps) is used when there is a single frame.
    """
    if not pts_seconds:
        return 0.0
    if len(pts_seconds) >= 2:
        return float(pts_seconds[-1]) + float(pts_seconds[-1] - pts_seconds[-2])
    return float(pts_seconds[-1]) + fallback_frame_seconds


def spans_from_boundaries(
    cuts: Sequence[int],
    cut_confidence: Sequence[float | None],
    transitions: Sequence[TransitionSpan],
    pts_seconds: Sequence[float],
    end_seconds: float,
) -> list[ClipSpan]:
    """Clips from hard cuts and gradual transitions: shots and transition clips that cover
    every frame once, with no gap and no overlap.

    Each transition ``[start_frame, end_frame)`` becomes its own transition clip, so the shots
    on both sides hold no transition frame. A transition is clipped to the video; one that
    overlaps an earlier kept transition, and a cut strictly inside a kept transition, are
    dropped (the detector should not report them).

    Parameters
    ----------
    cuts:
        Cut frames (0-based, decode order): frame ``k`` starts a new shot.
    cut_confidence:
        0–1 confidence per cut, same order as ``cuts`` (None: unknown).
    transitions:
        Gradual transitions (``start_frame``, ``end_frame`` exclusive, ``kind``,
        ``confidence``).
    pts_seconds:
        PTS of every frame in seconds (the frame index); its length is the frame count.
    end_seconds:
        Where the last frame ends.

    Returns
    -------
    list of ClipSpan
        In frame order; empty when there are no frames.

    Raises
    ------
    ValueError
        ``cuts`` and ``cut_confidence`` differ in length.
    """
    if len(cuts) != len(cut_confidence):
        raise ValueError("one confidence per cut")
    n = len(pts_seconds)
    if n == 0:
        return []
    kept: list[tuple[int, int, str, float]] = []
    for t in sorted(transitions, key=lambda t: (t.start_frame, t.end_frame)):
        start, end = max(0, t.start_frame), min(n, t.end_frame)
        if end <= start or (kept and start < kept[-1][1]):
            continue
        kept.append((start, end, t.kind, float(t.confidence)))
    # boundary frame -> (transition kind or None for a shot, confidence of that boundary)
    starts: dict[int, tuple[str | None, float | None]] = {0: (None, None)}
    for c, conf in zip(cuts, cut_confidence, strict=True):
        if 0 < c < n and not any(s < c < e for s, e, _, _ in kept):
            starts[c] = (None, None if conf is None else float(conf))
    for t_start, t_end, t_kind, t_conf in kept:
        starts[t_start] = (t_kind, t_conf)
        if t_end < n and t_end not in starts:
            starts[t_end] = (None, None)
    spans = []
    for start, end in itertools.pairwise([*sorted(starts), n]):
        kind, confidence = starts[start]
        spans.append(
            ClipSpan(
                start_frame=start,
                end_frame=end,
                start_seconds=float(pts_seconds[start]),
                end_seconds=float(pts_seconds[end]) if end < n else float(end_seconds),
                transition_kind=kind,
                confidence=confidence,
            )
        )
    return spans
