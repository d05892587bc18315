"""Wipes as a moving edge (:func:`edge_wipes`): the frame difference of a wipe is a thin band
along its edge, and the band crosses the picture at a steady speed. Between two framings of
one scene (two shots of one place, one clip cropped twice) the 8×4 thumbnails barely change
across a wipe, and no dissolve/wipe test of :mod:`heaters.media.gradual` passes; the edge
still stands out ~5× over the rest of the picture's difference. Pure: per-frame features
(``diff_col_*``, ``diff_row_*``, :data:`heaters.media.scores.EDGE_BINS`) in, spans out."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from heaters.media.boundaries import Transition
from heaters.media.detector_params import FloatArray
from heaters.media.scores import COL, EDGE_BINS, THUMB_SIZE, thumbnails

__all__ = [
    "EdgeTrack",
    "accepted_tracks",
    "edge_tracks",
    "edge_wipes",
    "swept_change",
    "wipe_extents",
]

BASELINE_OFFSETS = (-24, -16, -8, 8, 16, 24)
"""Frames (relative) whose profiles give each group's own level of difference (their median):
a lamp that flickers, a fixed pattern of the coding or a moving object that stays in one
place differ in the same group every frame, while a wipe's edge stays a few frames in each
(16 groups of 4 pixels: at most ~8 frames for a 60-frame wipe across the width)."""

EDGE_RATIO = 2.5
"""The edge's group differs at least this many times (its excess over its own level, over
the frame's median group + 1 level) more than the picture around it. Chosen on the
development draws (173 labelled wipes): 3.0 puts a track on 83 of them, 2.5 on 98, 2.0 on 109
(spans found 0.874, 0.879, 0.883, no false span added at any) but 2.0 puts 15 tracks on
frames with nothing labelled against 4, which only :data:`SWEPT_CHANGE` then stops."""

EDGE_LEVEL = 3.0
"""... and by at least this many luma levels (0–255) above its own level (1–3 gave the same
results on the development draws)."""

MAX_JUMP = 3
"""Groups the edge may move between two frames of one track (a 10-frame wipe crosses 16
groups at 1.6 a frame)."""

MIN_FRAMES = 4
"""Frames a track lasts at least."""

MIN_SWEEP = 0.6
"""Share of the groups a track crosses at least (a wipe crosses all; its first and last
frames may lose the edge in a dark or flat corner)."""

MAX_BACK = 0.15
"""Share of a track's steps that may go against its direction (by one group)."""

EXTEND_RATIO = 1.3
"""A dissolve or wipe found inside a track this many times its length takes the track's
extent (:func:`wipe_extents`): the dissolve/wipe tests compare a span's pace with the 8
frames outside it, and a long wipe (50–58 frames) between moving shots passed them only as
its faster half (IoU 0.47–0.49 with the labels on four development draws). Not tuned."""

PARTIAL_SWEEP = 0.35
"""Share of the groups a *partial* track crosses at least: an edge lost over a dark or flat
part of the picture before it crossed :data:`MIN_SWEEP` of it. A partial track never makes a
boundary; it only gives a dissolve or wipe found with it its extent (:func:`wipe_extents`,
last, after every decision). On the ten dev draws wipes under the dark look and over a
shadow lost their edge half way (the edge crossed 8 of 16 groups, then the second picture's
dark half hid it) and were reported as that half (IoU 0.40–0.49). With the partial tracks and
every track's :func:`reach`: spans found 0.913 → 0.925, nothing else changed; 0.25–0.45 give
the same."""

EXTEND_SHARE = 0.75
"""... with at least this share of the span's frames inside the track's :func:`reach` (a span
found a few frames before an edge the picture hides at first). Not tuned."""

SWEPT_CHANGE = 0.4
"""Share of the thumbnail cells the edge swept whose level changed across the track (by 2
levels and twice what the same cell moves in the 8 frames on the far side of the track) at
least: a wipe replaces the whole swept part of the picture; a person walking across a still
shot, a car driving through it, change only the cells they cover at the start and the end
(tracks on such footage in the development draws: 0.00–0.17; labelled wipes 0.5–1.0, three
at 0.12–0.29; 0.3–0.5 gave the same results). A vehicle that drives in and fills the frame is
a wipe by this measure, as editors use it."""


@dataclass(frozen=True)
class EdgeTrack:
    """A moving edge: frames ``[start, end)`` whose difference peaks in a group that moves
    one way (``axis`` ``col``: left/right, ``row``: up/down), from group ``first`` to
    ``last``; ``strength``: the median ratio of the edge's excess to the picture's."""

    start: int
    end: int
    axis: str
    first: int
    last: int
    strength: float


_PEAK_BLOCK = 16384
"""Frames whose profiles' own levels :func:`_peaks` takes at once (the same numbers as all
at once)."""


def _peaks(p: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Per frame of profiles ``p`` (N, G): the group of the largest excess over its own level,
    that excess (levels) and its ratio to the frame's median group + 1."""
    n = p.shape[0]
    idx = np.arange(n)
    level = np.empty(p.shape)
    for lo in range(0, n, _PEAK_BLOCK):  # in blocks: 6 shifted copies of a film's profiles
        at = idx[lo : lo + _PEAK_BLOCK]  # are ~130 MB, and the median copies them again
        base = np.stack([p[np.clip(at + o, 0, n - 1)] for o in BASELINE_OFFSETS])
        level[lo : lo + _PEAK_BLOCK] = np.median(base, axis=0)
    excess = p - level
    g = np.argmax(excess, axis=1)
    top = excess[idx, g]
    ratio = top / (np.median(p, axis=1) + 1.0)
    return g.astype(np.int64), top, ratio


def _step(before: int, now: int, groups: int) -> int | None:
    """The edge's move from group ``before`` (unwrapped: may lie outside ``[0, groups)``) to
    group ``now``: at most :data:`MAX_JUMP` groups, or, from one border of the picture to the
    other, on the same way (a slide's seam follows the edge of the picture that left); None
    when it jumps."""
    here = before % groups
    d = now - here
    if abs(d) <= MAX_JUMP:
        return d
    if here <= 1 and now >= groups - 2:  # left (top) border, on at the right (bottom)
        return d - groups
    if here >= groups - 2 and now <= 1:
        return d + groups
    return None


def edge_tracks(
    features: npt.NDArray[np.float64], min_sweep: float = MIN_SWEEP, *, trim: bool = False
) -> list[EdgeTrack]:
    """Moving edges in ``features`` (N, F) float64 (see :class:`EdgeTrack`): runs of frames
    whose profile peaks (:data:`EDGE_RATIO`, :data:`EDGE_LEVEL`) in groups that move at most
    :data:`MAX_JUMP` a frame, one way (:data:`MAX_BACK`), across ``min_sweep``
    (:data:`MIN_SWEEP`) of the picture, for :data:`MIN_FRAMES` frames or more; sorted by
    start. With ``trim``, a run that is no track may give its longest head or tail that is one (a
    noisy tail where a dark part of the picture hid the edge broke a 28-frame track that way;
    for extents only: as boundaries, trimmed tracks found one more dev transition and one
    false span)."""
    f = features
    n = f.shape[0]
    out: list[EdgeTrack] = []
    if n < MIN_FRAMES + 2:
        return out
    cols, rows = EDGE_BINS
    first = COL["diff_col_0"]
    for axis, lo, groups in (("col", first, cols), ("row", first + cols, rows)):
        g, top, ratio = _peaks(f[:, lo : lo + groups])
        strong = (ratio >= EDGE_RATIO) & (top >= EDGE_LEVEL)
        strong[0] = False
        k = 1
        while k < n:
            if not strong[k]:
                k += 1
                continue
            run, pos = [k], [int(g[k])]
            k += 1
            while k < n and strong[k]:
                step = _step(pos[-1], int(g[k]), groups)
                if step is None:
                    break
                run.append(k)
                pos.append(pos[-1] + step)
                k += 1
            if len(run) < MIN_FRAMES:
                continue
            track = _one_way(run, pos, groups, min_sweep)
            if track is None and trim and len(run) <= _TRIM_MAX:
                # a noisy head or tail (the edge lost over a dark part, a peak elsewhere)
                # can break a run that holds a track: the longest head or tail that is one
                for m in range(len(run) - 1, MIN_FRAMES - 1, -1):
                    track = _one_way(run[:m], pos[:m], groups, min_sweep) or _one_way(
                        run[-m:], pos[-m:], groups, min_sweep
                    )
                    if track is not None:
                        break
            if track is not None:
                first_g, last_g, frames = track
                out.append(
                    EdgeTrack(frames[0], frames[-1] + 1, axis, first_g, last_g,
                              float(np.median(ratio[frames])))
                )  # fmt: skip
    return sorted(out, key=lambda t: t.start)


_TRIM_MAX = 120
"""Longest run (frames) whose head or tail :func:`edge_tracks` tries as a track (twice the
longest dissolve or wipe; a lamp that flickers in one place for minutes is a long run)."""


def _one_way(
    run: list[int], pos: list[int], groups: int, min_sweep: float
) -> tuple[int, int, list[int]] | None:
    """(first group, last group, frames) of the track that the frames ``run`` with the edge
    at (unwrapped) groups ``pos`` make, or None where they move no one way
    (:data:`MAX_BACK`) across ``min_sweep`` of the ``groups``."""
    u = np.array(pos, np.int64)
    steps = np.diff(u)
    direction = int(np.sign(u[-1] - u[0]))
    if direction == 0:
        return None
    back = np.count_nonzero(steps * direction < 0)
    if back > MAX_BACK * steps.size or np.any(steps * direction < -1):
        return None
    sweep = abs(int(u[-1] - u[0])) + 1
    if sweep < min_sweep * groups:
        return None
    if u.min() < 0 or u.max() >= groups:  # over the border: the whole picture
        first, last = (0, groups - 1) if direction > 0 else (groups - 1, 0)
    else:
        first, last = int(u[0]), int(u[-1])
    return first, last, run


def swept_change(features: npt.NDArray[np.float64], t: EdgeTrack) -> float:
    """Share of the thumbnail cells in the part of the picture ``t`` swept whose level changed
    from frame ``start - 1`` to frame ``end`` by 2+ levels and 2× their own change over the 8
    frames before (after) those frames (see :data:`SWEPT_CHANGE`)."""
    n = features.shape[0]
    tw, th = THUMB_SIZE
    cells = thumbnails(features).reshape(n, th, tw)
    a, b = max(t.start - 1, 0), min(t.end, n - 1)
    noise = np.maximum(np.abs(cells[a] - cells[max(a - 8, 0)]),
                       np.abs(cells[b] - cells[min(b + 8, n - 1)]))  # fmt: skip
    change = np.abs(cells[b] - cells[a]) >= np.maximum(2.0, 2.0 * noise)
    lo, hi = sorted((t.first, t.last))
    if t.axis == "col":
        groups = EDGE_BINS[0]
        part = change[:, lo * tw // groups : hi * tw // groups + 1]
    else:
        groups = EDGE_BINS[1]
        part = change[lo * th // groups : hi * th // groups + 1, :]
    return float(part.mean())


def accepted_tracks(
    features: npt.NDArray[np.float64], min_sweep: float = MIN_SWEEP, *, trim: bool = False
) -> list[EdgeTrack]:
    """The moving edges of ``features`` (N, F) float64 (:func:`edge_tracks`, across
    ``min_sweep`` of the picture) that changed the part of the picture they swept
    (:func:`swept_change` >= :data:`SWEPT_CHANGE`): wipes, or (with :data:`PARTIAL_SWEEP`)
    the parts of wipes whose edge was seen."""
    return [
        t
        for t in edge_tracks(features, min_sweep, trim=trim)
        if swept_change(features, t) >= SWEPT_CHANGE
    ]


def reach(t: EdgeTrack) -> tuple[int, int]:
    """The frames ``[start, end)`` the edge of ``t`` takes to cross the whole picture at its
    own pace (groups per frame over the track): the track, extended back by the groups before
    its first and on by those after its last (an edge lost over a dark corner)."""
    groups = EDGE_BINS[0] if t.axis == "col" else EDGE_BINS[1]
    crossed = abs(t.last - t.first)
    frames = t.end - t.start
    if crossed == 0 or frames < 2:
        return t.start, t.end
    pace = crossed / (frames - 1)
    if t.first <= t.last:
        before, after = t.first, groups - 1 - t.last
    else:
        before, after = groups - 1 - t.first, t.last
    return t.start - round(before / pace), t.end + round(after / pace)


def edge_wipes(tracks: list[EdgeTrack], taken: npt.NDArray[np.bool_]) -> list[Transition]:
    """A ``wipe`` span ``[start, end)``, confidence 0.5, for each track of ``tracks``
    (:func:`accepted_tracks`) that no frame of ``taken`` (N,) bool (a cut, a transition, a
    span called motion) touches, from one frame before it to one after. No camera test: a
    pan leaves no edge that stands out of its own difference, and a slide (both pictures
    moving together) is a camera move to every motion test."""
    out: list[Transition] = []
    used = taken.copy()
    for t in tracks:
        if used[max(0, t.start - 1) : t.end + 1].any():
            continue
        out.append(Transition(t.start, t.end, "wipe", 0.5))
        used[t.start : t.end] = True
    return out


def wipe_extents(
    transitions: list[Transition],
    tracks: list[EdgeTrack],
    *,
    whole_way: bool = False,
    cuts: Iterable[int] = (),
    frame_count: int | None = None,
) -> list[Transition]:
    """``transitions`` with each dissolve or wipe that lies inside a longer track of
    ``tracks`` (within 2 frames of it, the track at least :data:`EXTEND_RATIO` as long) given
    the track's extent, as a ``wipe`` of the same confidence.

    With ``whole_way``, the track's extent is its :func:`reach` (within the video's
    ``frame_count`` frames), at least :data:`EXTEND_SHARE` of the span must lie in it, and a
    span is not extended over one of ``cuts`` (frame indices) or another transition."""
    cut_frames = sorted(cuts)
    out: list[Transition] = []
    for i, x in enumerate(transitions):
        if x.kind in ("dissolve", "wipe"):
            length = x.end_frame - x.start_frame
            for t in tracks:
                if whole_way:
                    lo, hi = reach(t)
                    lo = max(lo, 0)
                    hi = hi if frame_count is None else min(hi, frame_count)
                    overlap = min(hi, x.end_frame) - max(lo, x.start_frame)
                    inside = overlap >= EXTEND_SHARE * length
                else:
                    lo, hi = t.start, t.end
                    inside = lo - 2 <= x.start_frame and x.end_frame <= hi + 2
                if not inside or hi - lo < EXTEND_RATIO * length:
                    continue
                if whole_way and (
                    bisect.bisect_left(cut_frames, lo) < bisect.bisect_left(cut_frames, hi)
                    or any(
                        o.start_frame < hi and lo < o.end_frame
                        for o in [*out, *transitions[i + 1 :]]
                    )
                ):
                    continue
                x = Transition(lo, hi, "wipe", x.confidence)
                break
        out.append(x)
    return out


def partial_tracks(
    features: npt.NDArray[np.float64], tracks: list[EdgeTrack]
) -> list[EdgeTrack]:
    """The accepted tracks across :data:`PARTIAL_SWEEP` of the picture that none of ``tracks``
    (the whole ones) overlaps: for :func:`wipe_extents` only."""
    return [
        t
        for t in accepted_tracks(features, PARTIAL_SWEEP, trim=True)
        if not any(u.axis == t.axis and u.start < t.end and t.start < u.end for u in tracks)
    ]


def wipe_trims(transitions: list[Transition], tracks: list[EdgeTrack]) -> list[Transition]:
    """``transitions`` with each dissolve or wipe that holds whole tracks of ``tracks`` and is
    at least :data:`EXTEND_RATIO` times as long as the longest :func:`reach` among them cut
    to that reach, as a ``wipe`` of the same confidence: the span's tests took in moving
    frames beside the wipe (a 19-frame wipe found as 58 frames). On the ten dev draws spans
    found 0.927 → 0.932, nothing else changed; partial tracks as well gave the same there and
    are not used (one of their reaches was 13 frames off)."""
    out: list[Transition] = []
    for x in transitions:
        if x.kind in ("dissolve", "wipe"):
            reaches = [
                reach(t) for t in tracks if x.start_frame <= t.start and t.end <= x.end_frame
            ]
            if reaches:
                lo, hi = max(reaches, key=lambda r: r[1] - r[0])
                lo, hi = max(lo, x.start_frame), min(hi, x.end_frame)
                if x.end_frame - x.start_frame >= EXTEND_RATIO * (hi - lo):
                    x = Transition(lo, hi, "wipe", x.confidence)
        out.append(x)
    return out
