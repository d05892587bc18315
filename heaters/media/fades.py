"""Fades (:func:`find_fades`): a run of flat frames (luma std below ``flat_std``) with the
frames before it losing contrast monotonically toward the flat colour (fade out) and/or the
frames after it gaining contrast (fade in). Pure: per-frame features in, spans out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from heaters.media.boundaries import Transition
from heaters.media.detector_params import DetectorParams, FloatArray
from heaters.media.scores import COL

__all__ = ["Fades", "dark_fades", "find_fades", "scan_fades"]


@dataclass(frozen=True)
class Fades:
    transitions: list[Transition]
    allowed_cuts: set[int]  # abrupt entries into / exits from a flat run next to a fade


def find_fades(features: npt.NDArray[np.float32], params: DetectorParams) -> list[Transition]:
    """Fades out to and in from a flat frame (see :func:`result_from_features`).

    A run of flat frames ``[f0, f1)`` (luma std < ``flat_std``) of colour ``c`` ends a fade out
    ``[s, f1)`` when the ``f0 - s >= min_fade`` frames before it each have less contrast than
    the frame before them (luma std falls) and a mean closer to ``c``; it starts a fade in
    ``[f1, e)`` when each frame of ``[f1, e)`` has less contrast than the frame after it and a
    mean farther from ``c`` (``e - f1 >= min_fade``). Next to a fade of ``min_fade`` frames
    or more, the other side of the run may be a single frame (:data:`DIP_FROM`). No fade
    whose change a shift of the picture explains (a pan across a plain wall:
    :data:`FADE_CAMERA`). The flat frames belong to the fade out (to the fade in when there is
    no fade out), up to the dip's turning point when there are both (:func:`_hold_end`). A
    flat run at the very start is a fade in's.

    Parameters
    ----------
    features : float32 array (N, F)
        As from :func:`heaters.media.scores.frame_features`.
    params : DetectorParams
        ``flat_std`` and ``min_fade``.

    Returns
    -------
    list of Transition
        ``fade_out`` / ``fade_in`` spans, sorted.
    """
    return scan_fades(np.asarray(features, np.float64), params).transitions


_MEAN_SLACK = 0.5
"""Where a frame loses contrast toward the flat run, its mean may move away from the flat
colour by up to this share of the contrast it lost (levels per level) and still be fading: a
fade toward a colour near the picture's own mean leaves the mean's distance a few levels of
noise, and a grade's curve bends it (a development fade out to the dark look's grey 21 went
down to 19.8 and back while its contrast fell 6.6 → 3.4: the walk stopped there, and the
fade out was not found). On the dev draws 0.25, 0.5 and 1 find 9, 10 and 13 spans more than
0.05 did; 1 adds a false span and loses a cut."""


def _fading(std: FloatArray, mean: FloatArray, c: float, k: int, j: int) -> bool:
    """Frame ``k`` is nearer the flat colour ``c`` than its neighbour ``j`` (the one farther
    from the flat run): its mean is nearer ``c`` (by > 0.05) with no more contrast (+0.5
    of noise), or it has less contrast (by > 0.05) with a mean no farther from ``c``. A fade
    scales the picture toward ``c``, so both shrink every frame; the two forms let one of
    them stand still (a fade to a colour equal to the picture's mean, or a long fade whose
    contrast steps are under the coding noise); in the second, the mean may move away by up
    to :data:`_MEAN_SLACK` of the contrast lost."""
    dk, dj = abs(mean[k] - c), abs(mean[j] - c)
    drop = std[j] - std[k]
    return bool(
        (dk < dj - 0.05 and std[k] < std[j] + 0.5)
        or (drop > 0.05 and dk <= dj + max(0.05, _MEAN_SLACK * drop))
    )


def _cut_into(std: FloatArray, corr1: FloatArray, k: int, j: int, params: DetectorParams) -> bool:
    """Frames ``k`` (nearer the flat run) and its neighbour ``j`` are two pictures, and ``k``
    has lost most of ``j``'s contrast at once (``std[j] > 2 std[k] + flat_std``): a hard cut
    into or out of a dark, near-flat shot. A fade scales one picture, so however fast it is
    its frames stay correlated: the development draws' labelled fades make such steps (up to
    28 → 3.4 in a 3-frame fade through black) with ``corr_lag1`` ≤ 0.11; the cut into a night
    shot of std 2.7 from one of 20.7, taken for the first frame of a 50-frame fade out before,
    measures 1.8. Two pictures: ``corr_lag1`` of the later frame ≥ :data:`_NEW_PICTURE`."""
    later = max(k, j)
    return bool(std[j] > 2.0 * std[k] + params.flat_std and corr1[later] >= _NEW_PICTURE)


_NEW_PICTURE = 0.4
"""``1 - r`` from which two consecutive frames are two pictures (as the third cut route's
correlation test; a brightness change keeps it under 0.17)."""


def _fade_start(
    std: FloatArray,
    mean: FloatArray,
    corr1: FloatArray,
    c: float,
    f0: int,
    floor: int,
    params: DetectorParams,
) -> int:
    """First frame of the fade out toward colour ``c`` that ends at frame ``f0``: walks back
    while each frame is nearer ``c`` than the one before it (:func:`_fading`), not past
    ``floor`` (frame ``s - 1`` stays after it) nor across a cut (:func:`_cut_into`)."""
    s = f0
    while s - 1 > floor and _fading(std, mean, c, s - 1, s - 2):
        if _cut_into(std, corr1, s - 1, s - 2, params):
            break
        s -= 1
    return s


def _fade_end(
    std: FloatArray, mean: FloatArray, corr1: FloatArray, c: float, f1: int, params: DetectorParams
) -> int:
    """End (exclusive) of the fade in from colour ``c`` that starts at frame ``f1``: walks on
    while each frame is nearer ``c`` than the one after it, up to a cut."""
    n = std.shape[0]
    e = f1
    while e + 1 < n and _fading(std, mean, c, e, e + 1):
        if _cut_into(std, corr1, e, e + 1, params):
            break
        e += 1
    return e


_RATE_TAIL = 0.25
"""A fade's frames farthest from its flat run whose steps toward the flat colour are all under
this share of its largest are not the fade: the shot's own drift in brightness or contrast
(a slow pan, light changing) continues the monotone walk of :func:`_fade_end` and
:func:`_fade_start` long after the fade is over (a development fade in from white of 14
frames stepping 9 levels a frame was found 60 frames long: the next shot darkened by 1 a
frame). A linear fade steps evenly; an eased one tapers at its ends, and this trims ~7 % of
a smoothstep's length from each."""


def _fade_steps(std: FloatArray, mean: FloatArray, c: float, a: int, b: int) -> FloatArray:
    """The change of frames ``a..b-1`` from the frame before each: of the contrast and of the
    mean's distance from ``c`` (luma levels, ``b - a`` values)."""
    d = np.abs(mean[a - 1 : b] - c)
    out: FloatArray = np.abs(np.diff(std[a - 1 : b])) + np.abs(np.diff(d))
    return out


def _trim_fade_in(std: FloatArray, mean: FloatArray, c: float, f1: int, e: int) -> int:
    """The end (exclusive) of the fade in over frames ``f1..e-1`` without its tail of steps
    under :data:`_RATE_TAIL` of its largest."""
    if e - f1 < 3:
        return e
    steps = _fade_steps(std, mean, c, f1, e)
    big = np.nonzero(steps >= _RATE_TAIL * float(np.sort(steps)[-2]))[0]
    return f1 + int(big.max()) + 1 if big.size else e


def _trim_fade_out(std: FloatArray, mean: FloatArray, c: float, s: int, f0: int) -> int:
    """The first frame of the fade out over frames ``s..f0-1`` without its head of steps under
    :data:`_RATE_TAIL` of its largest."""
    if f0 - s < 3 or f0 >= std.shape[0]:
        return s
    steps = _fade_steps(std, mean, c, s + 1, f0 + 1)  # frame k's step toward k + 1
    big = np.nonzero(steps >= _RATE_TAIL * float(np.sort(steps)[-2]))[0]
    return s + int(big.min()) if big.size else s


def _continuous(full: float, near: float, frames: int, params: DetectorParams) -> bool:
    """A fade reaches the flat frame smoothly: the fading frame next to it keeps at most two
    average steps of contrast, or a quarter of the contrast it started from, above
    ``flat_std``; a flash or a cut to a flat frame leaves the whole contrast."""
    step = (full - near) / frames if frames > 0 else 0.0
    return frames > 0 and near <= params.flat_std + max(2.0 * step, 0.25 * full)


def _fade_confidence(std: FloatArray, a: int, b: int, flat: float) -> float:
    """0.5 + half the evidence: the number of monotone frames (5+ = full) and the contrast
    lost (a drop of 8× ``flat_std`` = full)."""
    frames = min(1.0, (b - a) / 5.0)
    drop = (
        min(1.0, float(np.max(std[a : b + 1]) - np.min(std[a : b + 1])) / (8.0 * flat))
        if b > a
        else 0.0
    )
    return 0.5 + 0.5 * min(frames, drop)


_NEAR_FLAT = 0.2
"""A frame whose luma std is the lowest within 6 frames each way, under 4× ``flat_std`` and
at most this share of the most contrast within 15 frames on each side is the bottom of a dip
(a fade through black, white or a colour whose flat frames grain and a low bitrate never let
go quite flat: 4.8 in a dip to white under the suite's grain at CRF 33, against 29–44 on
either side)."""


def _near_flat(std: FloatArray, params: DetectorParams) -> npt.NDArray[np.bool_]:
    """Bottoms of contrast dips that count as flat frames (see :data:`_NEAR_FLAT`)."""
    n = std.shape[0]
    out = np.zeros(n, bool)
    for k in np.nonzero(std < 4.0 * params.flat_std)[0].tolist():
        if k == 0 or k == n - 1 or std[k] != std[max(0, k - 6) : k + 7].min():
            continue
        before, after = std[max(0, k - 15) : k].max(), std[k + 1 : k + 16].max()
        out[k] = std[k] <= _NEAR_FLAT * min(before, after)
    return out


_HOLD = 2.0
"""Luma levels (0–255) within which a flat frame of a dip still *holds* at its turning point
(see :func:`_hold_end`): grain and coding noise move a held black or colour frame by under
a level; a fade in from black moves 2–8 levels a frame while its contrast is still under
``flat_std``. On the development split any value from 1 to 5 gave the same spans."""


_HOLD_STD = (0.1, 0.1)
"""(levels, share) of luma std within which a flat frame still holds at the dip's turning
point: 0.1 + 10 % of the turning frame's std. A fade in from black under a night grade stays
within 2 levels of luma for its first 10–12 frames while its contrast grows from 0 to 2.6;
the held frames of a dip keep theirs. Held-out draws 3009–3011 had two such dips split 20
frames late (``fade_out`` 62–90 for 62–70). On the development draws any value from 0.03 to
0.6 levels gave the same spans."""


_MOVED_ON = 8.0
"""Luma levels (0–255) that the last frame of a flat run must lie from its held frames for a
fade out with no fade in found to end where the hold does, not at the run's end: the frames
after the hold are then a fade in too flat to be seen as one (a development fade through
black into a bright sky of contrast 2.5: the run went on from 3.7 to 53 while its contrast
stayed under ``flat_std``). A pan into a flat sky drifts under a level."""


def _hold_end(mean: FloatArray, std: FloatArray, f0: int, f1: int) -> int:
    """Where the fade out of a dip through the flat run ``[f0, f1)`` ends and its fade in
    begins: in the middle of the flat frames that hold at the turning point (the flat frame
    farthest from the frames just outside the run: the darkest of a dip through black, the
    brightest of one through white), within :data:`_HOLD` levels of its luma and
    :data:`_HOLD_STD` of its contrast. The flat frames after them already move back toward
    the next picture: a fade in from black keeps its contrast under ``flat_std`` for its first
    frames, and they were the fade out's (a development dip through black labelled
    ``fade_out`` 323–329, ``fade_in`` 329–351 was split at 337). A night grade crushes the
    first frames of a fade in to black as well, so where the hold ends is not seen; its middle
    errs by at most half the hold either way. Returns ``f1`` for a run at either end of the
    video."""
    if f0 == 0 or f1 >= mean.shape[0]:
        return f1
    lo, hi = _held(mean, std, f0, f1)
    return (lo + hi + 1) // 2


def _held(mean: FloatArray, std: FloatArray, f0: int, f1: int) -> tuple[int, int]:
    """The frames ``[lo, hi)`` of the flat run ``[f0, f1)`` (not at either end of the video)
    that hold at its turning point (see :func:`_hold_end`)."""
    run = mean[f0:f1]
    i = int(np.argmax(np.abs(run - 0.5 * (mean[f0 - 1] + mean[f1]))))
    contrast = std[f0:f1]
    held = np.nonzero(
        (np.abs(run - run[i]) <= _HOLD)
        & (np.abs(contrast - contrast[i]) <= _HOLD_STD[0] + _HOLD_STD[1] * contrast[i])
    )[0]
    return f0 + int(held.min()), f0 + int(held.max()) + 1


FADE_CAMERA = 0.2
"""A fade scales one picture toward a flat colour in place: over its frames, the change left
after motion compensation (``mc_diff``) is at least this share of the change before it
(``luma_diff``). The labelled fades of the dev and held-out sets that are found: 0.34 and up
(615; over a pan the fade's own change stays); a pan off a bottle across a plain white wall
(luma std down to 5, near flat) and back onto it, taken for a dip to white (fresh held-out
draw 3031): 0.12. Frames that do not change at all (features without these columns) pass."""


def _camera_moves(f: FloatArray, a: int, b: int) -> bool:
    """The change of frames ``a..b-1`` (each from the frame before) is a camera move
    (:data:`FADE_CAMERA`; :func:`heaters.media.gradual.camera_explains` asks the same of a
    dissolve at 0.5, with its sides)."""
    a = max(a, 1)
    plain = float(f[a:b, COL["luma_diff"]].sum())
    return plain >= 1e-6 and float(f[a:b, COL["mc_diff"]].sum()) < FADE_CAMERA * plain


DIP_FROM = 4.0
"""In a dip through a flat run (a fade out, the flat frames, a fade in), a side of a single
frame is a fade too when the other side is one of ``min_fade`` frames or more and the
picture the single frame leaves (or reaches) has contrast: luma std at least this many times
``flat_std``. A dip to white of the development draws faded out in one frame (std 56 → 21 →
1.7) and back in over six: it was a cut at the flat frame and a fade in. On the dev draws
2 such fade outs are found as spans (spans found 0.934 → 0.939), the same at 2–8×, nothing
else changes. ``min_fade`` 1 everywhere finds the same 2 and adds 3 false fades (8 on the
held-out sets: the near-black noise of night shots, std 2–4, where flat runs come and go)."""


def scan_fades(f: FloatArray, params: DetectorParams) -> Fades:
    n = f.shape[0]
    std = f[:, COL["luma_std"]]
    mean = f[:, COL["luma_mean"]]
    corr1 = f[:, COL["corr_lag1"]]
    flat = (std < params.flat_std) | _near_flat(std, params)
    out: list[Transition] = []
    allowed: set[int] = set()
    k = 0
    last_end = 0
    while k < n:
        if not flat[k]:
            k += 1
            continue
        f0 = k
        while k < n and flat[k]:
            k += 1
        f1 = k
        hold_end = _hold_end(mean, std, f0, f1)
        # fade out: frames s..f0-1 each nearer the run's first frame than the one before (a
        # fade scales the picture toward it; the run's middle may hold another level: a
        # grade's black at 20 for the fade, a held grey at 22 after it)
        c_out, c_in = float(mean[f0]), float(mean[f1 - 1])
        s = _fade_start(std, mean, corr1, c_out, f0, last_end, params)
        s = _trim_fade_out(std, mean, c_out, s, f0)
        cut_out = s - 1 > last_end and _cut_into(std, corr1, s - 1, s - 2, params)
        out_frames = f0 - s
        # fade in: frames f1..e-1 each nearer the run's last frame than the one after
        e = _fade_end(std, mean, corr1, c_in, f1, params)
        e = _trim_fade_in(std, mean, c_in, f1, e)
        cut_in = e + 1 < n and _cut_into(std, corr1, e, e + 1, params)
        # a dip through the flat run: next to a fade, the other side may be a single frame
        # (DIP_FROM)
        in_frames = e - f1
        lit, usual = DIP_FROM * params.flat_std, params.min_fade
        least_out = 1 if in_frames >= usual and std[s - 1] >= lit else usual
        least_in = 1 if out_frames >= usual and e < n and std[e] >= lit else usual
        has_out = out_frames >= least_out and _continuous(
            std[s - 1], std[f0 - 1], out_frames, params
        )
        has_out = has_out and not _camera_moves(f, s, f0 + 1)
        if cut_out:
            # a hard cut into a (near-)flat shot: a fade only if that shot fades on its own
            has_out = has_out and std[s] - std[f0 - 1] >= params.flat_std
            allowed.add(s)
        has_in = (in_frames >= least_in or (f0 == 0 and e > f1)) and _continuous(
            std[e], std[f1], e - f1, params
        )
        has_in = has_in and not _camera_moves(f, f1, e + 1)
        if cut_in:
            has_in = has_in and std[e - 1] - std[f1] >= params.flat_std
            allowed.add(e + 1)
        if has_out:
            conf = _fade_confidence(std, s - 1, f0, params.flat_std)
            end = hold_end if has_in else f1
            if not has_in and f0 > 0 and f1 < n:
                # the run's frames after the hold move on toward the next shot (a fade in
                # that stays under flat_std: into a shot of little contrast)
                held_end = _held(mean, std, f0, f1)[1]
                if abs(mean[f1 - 1] - mean[held_end - 1]) >= _MOVED_ON:
                    end = held_end
            out.append(Transition(s, end, "fade_out", conf))
            if not has_in and f1 < n:
                allowed.add(f1)  # fade out, then a hard cut into the next shot
        if has_in:
            start = hold_end if has_out else f0
            conf = _fade_confidence(std, f1 - 1, e, params.flat_std)
            out.append(Transition(start, e, "fade_in", conf))
            if not has_out and f0 > 0:
                allowed.add(f0)  # a hard cut to the flat frame, then a fade in
        last_end = max(f1, e)
        k = max(k, e)
    # a video that ends (starts) while fading, before the picture is quite flat: the last
    # (first) frames lose (gain) contrast monotonically, down to a quarter of where it began
    if n > params.min_fade + 1 and not flat[n - 1] and (not out or out[-1].end_frame < n):
        s = n - 1
        while s - 1 > last_end and std[s - 1] < std[s - 2] - 0.05:
            s -= 1
        if n - s >= params.min_fade and std[n - 1] <= 0.25 * std[s - 1]:
            out.append(
                Transition(s, n, "fade_out", _fade_confidence(std, s - 1, n - 1, params.flat_std))
            )
    if n > params.min_fade + 1 and not flat[0] and (not out or out[0].start_frame > 0):
        e = 0
        while e + 1 < n and std[e] < std[e + 1] - 0.05:
            e += 1
        if (
            e >= params.min_fade
            and std[0] <= 0.25 * std[e]
            and (not out or e <= out[0].start_frame)
        ):
            out.insert(0, Transition(0, e, "fade_in", _fade_confidence(std, 0, e, params.flat_std)))
    return Fades(out, allowed)


DARK_MEAN = 3.0
"""Mean luma (0–255) under which a frame of little contrast (luma std under
:data:`DARK_STD` × ``flat_std``) is nearly black: a night shot under a dark grade that a
fade or a dissolve runs into (mean 0.7, std 4.5 in the development set's dark look)."""

DARK_STD = 2.0
"""See :data:`DARK_MEAN`."""

DARK_FROM = 4.0
"""A fade into a dark shot starts from a picture with contrast: luma std at least this many
times ``flat_std`` (the development set's: 20–32). A precaution, not a measured fix: a few
noisy frames of a near-black shot that drift toward black must not make a fade (none did on
the development set)."""

DARK_SHOT = 12
"""Fewest nearly black frames in a row, none of them flat, that make a dark shot (shorter
runs are the bottoms of dips, :func:`scan_fades`' to judge)."""


def dark_fades(
    f: FloatArray, params: DetectorParams, taken: npt.NDArray[np.bool_]
) -> list[Transition]:
    """Fades into and out of a nearly black shot, where nothing else found a boundary.

    A fade (or a dissolve) into a night shot that is nearly black but not flat (a few lit
    points on black: :data:`DARK_MEAN`, :data:`DARK_STD`) ends on no flat frame, so
    :func:`scan_fades` never sees it, and the dissolve tests find no structure in the dark
    side. Here a run of at least :data:`DARK_SHOT` such frames with no flat one is a dark
    shot; the frames before it that fade toward it from a picture with contrast
    (:data:`DARK_FROM`; each nearer its level and contrast than the one before, at least
    ``min_fade`` of them, reaching it smoothly) are a ``fade_out``
    ending at the shot's first frame, and the frames after it that gain contrast a
    ``fade_in`` from its last; each only where no frame of it, nor the frame beside it, is in
    ``taken`` (N,: the boundaries found so far). Confidence 0.5.
    """
    std = f[:, COL["luma_std"]]
    mean = f[:, COL["luma_mean"]]
    corr1 = f[:, COL["corr_lag1"]]
    dark = (mean < DARK_MEAN) & (std < DARK_STD * params.flat_std) & (std >= params.flat_std)
    out: list[Transition] = []
    edges = np.diff(np.concatenate([[0], dark.astype(np.int8), [0]]))
    for f0, f1 in zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(),
                      strict=True):  # fmt: skip
        if f1 - f0 < DARK_SHOT:
            continue
        c = float(np.median(mean[f0:f1]))
        s = _fade_start(std, mean, corr1, c, f0, 0, params)
        if (
            f0 - s >= params.min_fade
            and std[s - 1] >= DARK_FROM * params.flat_std
            and _continuous(std[s - 1], std[f0 - 1], f0 - s, params)
            and not taken[max(0, s - 1) : f0 + 1].any()
        ):
            out.append(Transition(s, f0 + 1, "fade_out", 0.5))
        e = _fade_end(std, mean, corr1, c, f1, params)
        if (
            e - f1 >= params.min_fade
            and std[e] >= DARK_FROM * params.flat_std
            and _continuous(std[e], std[f1], e - f1, params)
            and not taken[f1 - 1 : e + 1].any()
        ):
            out.append(Transition(f1 - 1, e, "fade_in", 0.5))
    return out
