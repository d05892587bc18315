"""Shot-boundary detection, the fast default detector: hard cuts and gradual transitions.

Pure media code: paths and parameters in, a frozen :class:`SceneResult` out; no database.

Two stages, so that the expensive part runs once and the cheap part can be re-run with other
thresholds:

1. :mod:`heaters.media.scores` turns the frames (decoded once, small:
   :data:`~heaters.media.frames.ANALYSIS_SIZE`) into a few features per frame
   (:data:`~heaters.media.scores.FEATURES`): PySceneDetect's HSV content difference, luma
   mean and contrast, the luma correlation with the 1–4 previous frames and an 8×4 luma
   thumbnail.
2. :func:`result_from_features` (pure) finds, in this order:

   * **fades** (:func:`find_fades`): a run of flat frames (luma std below ``flat_std``) with
     the frames before it losing contrast monotonically toward the flat colour (fade out)
     and/or the frames after it gaining contrast (fade in);
   * **gradual transitions** (:func:`find_gradual`): dissolves and wipes, spans whose every
     frame lies *between* the clean frame before and the clean frame after it (thumbnail
     L1 distances add up), with a steadily rising progress and a large total change;
   * **hard cuts** (:func:`find_cuts`): PySceneDetect ``AdaptiveDetector``'s adaptive rule
     on the HSV difference, minus the changes that are not a new picture: brightness or
     contrast only (the luma correlation with the previous frame stays high: ramps, bright
     flashes), 1–3 frame flashes (the picture after them correlates with the one before),
     and anything inside a fade or gradual transition.

   ``docs/detection.md`` gives each threshold's origin (which labelled cases bound it).

:func:`detect` decodes a video (split at keyframes across threads); :func:`features_from_raw`
reads the raw ``rgb24`` analysis frames that the preprocess stage writes during its own single
decode (no second decode), and :func:`result_from_features` decides from those features.

Frame numbering: frames are counted from 0 in decode order; a cut ``k`` means frame ``k`` is the
first frame of a new shot (never 0); a transition covers ``[start_frame, end_frame)``, the
frames that are neither clean outgoing nor clean incoming shot; cuts never fall strictly inside
a transition.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt

from heaters.media import scores
from heaters.media.bars import find_active_box
from heaters.media.boundaries import SceneResult, Suggestion, Transition, TransitionKind
from heaters.media.frames import ANALYSIS_SIZE, read_small_frames_raw
from heaters.media.scores import COL, FEATURES, LAGS, THUMB_SIZE, frame_features

__all__ = [
    "ANALYSIS_SIZE",
    "DETECTOR_NAME",
    "DetectorParams",
    "SceneResult",
    "Transition",
    "cuts_from_scores",
    "decode_features",
    "detect",
    "features_from_raw",
    "find_cuts",
    "find_fades",
    "find_gradual",
    "result_from_features",
]

DETECTOR_NAME = "heaters-fast/3"
"""Names the feature definition (:data:`heaters.media.scores.FEATURES`) and the analysis size
(:data:`heaters.media.frames.ANALYSIS_SIZE`) of stored features: change it whenever the
features would change, so old ones are never mixed with new."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DetectorParams:
    """Thresholds of the rules of :func:`result_from_features` (see ``docs/detection.md``).

    Attributes
    ----------
    threshold : float
        Adaptive ratio of the cut rule: a frame's HSV difference divided by the mean of its
        ``window`` neighbours' on each side must reach this. PySceneDetect
        ``AdaptiveDetector``'s default, 3.0; every value from 2.0 to 4.0 finds the labelled
        cuts of ``bench/ground_truth`` with no false one.
    min_scene_len : int
        No cut closer than this many frames to the previous cut (or frame 0). 8 frames
        (1/3 s at 24 fps) keeps the sample's real 9-frame shot (cuts 425, 434).
    min_content : float
        Floor on the HSV difference of a cut (0–255 scale of PySceneDetect's
        ``content_val``; its default, 15).
    window : int
        Neighbours on each side averaged for the adaptive ratio (PySceneDetect's default, 2).
    same_picture : float
        A change whose luma correlation with the previous frame is still high,
        ``1 - r <= same_picture``, is a brightness/contrast change of the same picture (ramp,
        exposure, a brightened flash frame), never a cut. Hard cuts of the labelled sample and
        suite have ``1 - r`` of 0.44–1.3; brightened frames 0.14 at most. 0.25.
    flash_return : float
        A 1–3 frame change is a flash when the frame after it correlates with the frame
        before it (``1 - r``) at most this, and at most half the jump into the flash. Frames
        4 apart within a moving shot of the suite reach ~0.3; hard cuts 0.44+. 0.35.
    new_picture : float
        Second cut route, for cuts inside fast motion (where the HSV difference of the moving
        neighbours hides the cut from the adaptive ratio): ``corr_lag1`` at least this (an
        unrelated picture: ``1 - r`` ≈ 1; labelled cuts 0.44–1.3, mostly ≥ 0.8) ...
    new_picture_ratio : float
        ... and at least this many times the mean ``corr_lag1`` of its ``window`` neighbours
        on each side (moving frames of one picture: 0.3–0.6 in the fast pans of the suite).
        Both 0.7 and 2.0 sit between the pans' values and the cuts'.
    flat_std : float
        A frame whose luma std (0–255) is below this is flat (black, white or any uniform
        colour): the end of a fade out or the start of a fade in. Black and white frames
        measure 0; the last fading frames before them 2–3 at 64×36. 2.5.
    min_fade : int
        Fewest frames of monotone change toward the flat frame that make a fade; fewer is a
        cut to or from the flat frame. 2.
    gradual_min_change : float
        Least thumbnail distance (mean absolute luma difference of the 8×4 thumbnails,
        0–255) between the clean frames on either side of a dissolve or wipe, with and
        without their mean brightness: two thirds of the smallest distance across a labelled
        hard cut of the sample (24); fast camera tilts of the sample reach 13. 16.
    gradual_max_excess : float
        Dissolve/wipe test: the mean, over the span's frames, of
        ``(d(m, A) + d(m, B) - d(A, B)) / d(A, B)`` (0 for a frame exactly between the clean
        frames A and B, a blend or a partial wipe of them). Labelled dissolves and wipes of
        the suite: 0.0–0.08; spans over motion, flashes or a hard cut: 0.1–0.5. 0.15.
    gradual_min_structure : float
        Least mean absolute difference of the two sides' z-normalised thumbnails (each minus
        its mean, over its std): a dissolve joins two different pictures (unrelated pictures:
        ~1.1; labelled cuts of the sample 0.8+), a luma ramp or exposure change keeps one
        (0.0–0.41 over the suite's brightness and gamma ramps). 0.5.
    max_gradual : int
        Longest dissolve/wipe in frames (the issue's range is 6–40; 2.5 s at 24 fps). 60.
    gradual_ref_contrast : float
        Luma std (0–255, of the active picture) at and above which ``gradual_min_change``
        holds in full; the sides of a span with less contrast need proportionally less
        change (down to 0.4 of it): a night grade keeps a dissolve's shape at a third of the
        levels. Shots of the sample and of the suite's plain look: 25–60; under a dark grade
        11–23. 32.
    """

    threshold: float = 3.0
    min_scene_len: int = 8
    min_content: float = 15.0
    window: int = 2
    same_picture: float = 0.25
    flash_return: float = 0.35
    new_picture: float = 0.7
    new_picture_ratio: float = 2.0
    flat_std: float = 2.5
    min_fade: int = 2
    gradual_min_change: float = 16.0
    gradual_max_excess: float = 0.15
    gradual_min_structure: float = 0.5
    max_gradual: int = 60
    gradual_ref_contrast: float = 32.0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("window must be at least 1")
        if self.min_scene_len < 1:
            raise ValueError("min_scene_len must be at least 1")
        if not math.isfinite(self.threshold) or self.threshold <= 0:
            raise ValueError("threshold must be a positive number")
        if self.min_fade < 1 or self.max_gradual < 2:
            raise ValueError("min_fade must be >= 1 and max_gradual >= 2")


# --------------------------------------------------------------------------- the old cut rule


def _adaptive(
    scores: FloatArray, params: DetectorParams
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Frames passing the adaptive rule (no min_scene_len) and their ratios."""
    s = scores
    w = params.window
    n = s.shape[0]
    if n < 2 * w + 1:
        return np.zeros(0, np.int64), np.zeros(0)
    csum = np.concatenate([[0.0], np.cumsum(s)])
    k = np.arange(w, n - w)
    neigh = (csum[k + w + 1] - csum[k - w] - s[k]) / (2.0 * w)
    target = s[k]
    zero = np.abs(neigh) < 1e-5
    ratio = np.where(zero, 0.0, np.minimum(target / np.where(zero, 1.0, neigh), 255.0))
    ratio = np.where(zero & (target >= params.min_content), 255.0, ratio)
    ok = (ratio >= params.threshold) & (target >= params.min_content)
    return k[ok], ratio[ok]


def cuts_from_scores(scores: npt.ArrayLike, params: DetectorParams) -> list[int]:
    """The first detector's rule alone on the HSV difference (PySceneDetect
    ``AdaptiveDetector``): ``k`` is a cut when its score is at least ``threshold`` times the
    mean of its ``window`` neighbours on each side, at least ``min_content``, and at least
    ``min_scene_len`` frames after the previous cut (or frame 0). Frames closer than
    ``window`` to either end are never cuts.

    Parameters
    ----------
    scores : array-like of float (N,)
        One HSV difference per frame (the ``hsv_diff`` feature).
    params : DetectorParams
        The thresholds (only ``threshold``, ``min_content``, ``window``, ``min_scene_len``).

    Returns
    -------
    list of int
        Cut frame numbers, ascending.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    cuts: list[int] = []
    last = 0
    for c in _adaptive(s, params)[0].tolist():
        if c - last >= params.min_scene_len:
            cuts.append(int(c))
            last = c
    return cuts


# --------------------------------------------------------------------------- fades


@dataclass(frozen=True)
class _Fades:
    transitions: list[Transition]
    allowed_cuts: set[int]  # abrupt entries into / exits from a flat run next to a fade


def find_fades(features: npt.NDArray[np.float32], params: DetectorParams) -> list[Transition]:
    """Fades out to and in from a flat frame (see :func:`result_from_features`).

    A run of flat frames ``[f0, f1)`` (luma std < ``flat_std``) of colour ``c`` ends a fade out
    ``[s, f1)`` when the ``f0 - s >= min_fade`` frames before it each have less contrast than
    the frame before them (luma std falls) and a mean closer to ``c``; it starts a fade in
    ``[f1, e)`` when each frame of ``[f1, e)`` has less contrast than the frame after it and a
    mean farther from ``c`` (``e - f1 >= min_fade``). The flat frames belong to the fade out
    (to the fade in when there is no fade out). A flat run at the very start is a fade in's.

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
    return _find_fades(np.asarray(features, np.float64), params).transitions


def _fading(std: FloatArray, mean: FloatArray, c: float, k: int, j: int) -> bool:
    """Frame ``k`` is nearer the flat colour ``c`` than its neighbour ``j`` (the one farther
    from the flat run): its mean is nearer ``c`` (by > 0.05) with no more contrast (+0.5
    of noise), or it has less contrast (by > 0.05) with a mean no farther from ``c``. A fade
    scales the picture toward ``c``, so both shrink every frame; the two forms let one of
    them stand still (a fade to a colour equal to the picture's mean, or a long fade whose
    contrast steps are under the coding noise)."""
    dk, dj = abs(mean[k] - c), abs(mean[j] - c)
    return bool(
        (dk < dj - 0.05 and std[k] < std[j] + 0.5) or (std[k] < std[j] - 0.05 and dk <= dj + 0.05)
    )


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


def _find_fades(f: FloatArray, params: DetectorParams) -> _Fades:
    n = f.shape[0]
    std = f[:, COL["luma_std"]]
    mean = f[:, COL["luma_mean"]]
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
        c = float(np.median(mean[f0:f1]))
        # fade out: frames s..f0-1 each nearer the flat frame than the one before
        s = f0
        while s - 1 > last_end and _fading(std, mean, c, s - 1, s - 2):
            s -= 1
        has_out = f0 - s >= params.min_fade and _continuous(std[s - 1], std[f0 - 1], f0 - s, params)
        # fade in: frames f1..e-1 each nearer the flat frame than the one after
        e = f1
        while e + 1 < n and _fading(std, mean, c, e, e + 1):
            e += 1
        has_in = (e - f1 >= params.min_fade or (f0 == 0 and e > f1)) and _continuous(
            std[e], std[f1], e - f1, params
        )
        if has_out:
            conf = _fade_confidence(std, s - 1, f0, params.flat_std)
            out.append(Transition(s, f1, "fade_out", conf))
            if not has_in and f1 < n:
                allowed.add(f1)  # fade out, then a hard cut into the next shot
        if has_in:
            start = f1 if has_out else f0
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
    return _Fades(out, allowed)


# --------------------------------------------------------------------------- dissolves, wipes


_SIDE = 8
"""Frames on each side of a dissolve/wipe candidate whose change is compared with its own."""

_DEV_WEIGHT = 1.0
"""Overlapping candidates: the one with the largest ``change * (1 - _DEV_WEIGHT * dev)`` wins."""

_LOCAL_SPAN = 0.2
"""A dissolve or wipe changes the whole picture from its first side to its last: the median
of the thumbnail cells' change is at least this share of their mean (labelled dissolves and
wipes of the suite in every look: 0.42+; a title, an object or a shadow over part of a still
picture: near 0)."""

_MAX_DEV = 0.25
"""Largest departure of a dissolve/wipe's progress from a straight line (0 → 1)."""
"""Frames on each side of a dissolve/wipe candidate whose change is compared with its own."""


def _thumbs(f: FloatArray) -> FloatArray:
    first = COL["thumb_0"]
    out: FloatArray = f[:, first : first + THUMB_SIZE[0] * THUMB_SIZE[1]]
    return out


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    change: float
    excess: float
    dev: float


def find_gradual(
    features: npt.NDArray[np.float32], params: DetectorParams, *, exclude: npt.ArrayLike = ()
) -> list[Transition]:
    """Dissolves and wipes as spans (see :func:`result_from_features`).

    A span ``[s, e)`` of 2 to ``max_gradual`` frames is a transition when, with ``A`` the
    thumbnail of frame ``s - 1`` and ``B`` that of frame ``e`` (the last clean frame before
    and the first after), ``d`` the mean absolute thumbnail difference and ``step(k)`` =
    ``d(k - 1, k)``:

    * the two sides are different pictures: ``d(A, B)`` and the same without each side's
      mean brightness are at least ``gradual_min_change``, and their z-normalised
      thumbnails differ by at least ``gradual_min_structure`` (a luma ramp keeps one picture);
    * no hard cut inside: every ``step`` from ``s`` to ``e`` is at most 0.4 ``d(A, B)`` (a
      linear transition of L frames moves ``d(A, B) / (L + 1)`` per frame);
    * steady sides: ``step(s - 1)`` and ``step(e + 1)`` are at most 0.25 ``d(A, B)``, and over
      the 8 frames outside each end the picture changes at most half as fast as across the
      span (``d(A, B) / (L + 1)`` per frame): camera motion that goes on before and after is
      no transition;
    * every frame ``m`` of the span lies between A and B: the mean of
      ``(d(m, A) + d(m, B) - d(A, B)) / d(A, B)`` is at most ``gradual_max_excess`` (a cross
      blend or a partial wipe of A and B adds up exactly; motion and flashes do not);
    * the progress ``p_m = d(m, A) / (d(m, A) + d(m, B))`` is near a straight line from 0 to
      1 (no frame farther than 0.25 from ``(m - s + 1) / (L + 1)``) and some frame has
      0.2 <= p <= 0.8 (a hard cut followed by motion has none).

    Overlapping candidates are one transition: the one with the largest
    ``d(A, B) * (1 - deviation from the straight line)`` wins (a longer span adds frames
    that do not progress, a shorter one loses change). ``kind`` is ``wipe`` when, at
    mid-transition, most changing thumbnail cells are already at A or at B (a moving edge),
    else ``dissolve``. Confidence: ``0.5 + 0.5 * clip(min(1 - excess / gradual_max_excess,
    log(d(A, B) / gradual_min_change) / log 3), 0, 1)``.

    Parameters
    ----------
    features : float32 array (N, F)
        As from :func:`heaters.media.scores.frame_features`.
    params : DetectorParams
        ``gradual_min_change``, ``gradual_max_excess``, ``max_gradual``.
    exclude : array-like of bool (N,), optional
        Frames that may not be inside a span (fades, flashes).

    Returns
    -------
    list of Transition
        Sorted, not overlapping.
    """
    f = np.asarray(features, np.float64)
    n = f.shape[0]
    ex = np.zeros(n, bool)
    if np.size(exclude):
        ex = np.asarray(exclude, bool).copy()
    return [t for t, _ in _find_gradual(f, params, ex)]


@dataclass(frozen=True)
class _Tests:
    """How strict the dissolve/wipe tests of :func:`_find_gradual` are."""

    max_excess: float  # mean (d(m,A) + d(m,B) - d(A,B)) / d(A,B) over the span
    max_dev: float  # progress's largest departure from a straight line
    side_speed: float  # the span moves at least this many times faster than its sides


def _find_gradual(
    f: FloatArray,
    params: DetectorParams,
    ex: npt.NDArray[np.bool_],
    tests: _Tests | None = None,
) -> list[tuple[Transition, _Candidate]]:
    if tests is None:
        tests = _Tests(params.gradual_max_excess, _MAX_DEV, 2.0)
    n = f.shape[0]
    if n < 5:
        return []
    t = _thumbs(f)
    step = np.zeros(n)
    step[1:] = np.abs(t[1:] - t[:-1]).mean(axis=1)  # d(k-1, k)
    zt = (t - t.mean(axis=1, keepdims=True)) / np.maximum(t.std(axis=1, keepdims=True), 1.0)
    cex = np.concatenate([[0], np.cumsum(ex)])
    tc = t - t.mean(axis=1, keepdims=True)  # thumbnails without their mean brightness
    # the least change between the sides, in proportion to their contrast below
    # gradual_ref_contrast (a night grade keeps the shape of a dissolve at a third of the
    # levels), never below 0.4 of gradual_min_change
    contrast = f[:, COL["luma_std"]]
    w = _SIDE
    first = np.arange(w + 1, max(w + 1, n - w - 2))  # every s with full sides (s-1-w >= 0)
    run_max = np.maximum(step[first], step[first + 1])  # max step over s .. e (grows)
    found: list[_Candidate] = []
    for length in range(2, params.max_gradual + 1):
        count = n - w - length - (w + 1)  # s from w+1 while e + w <= n - 1
        if count <= 0:
            break
        s = first[:count]
        e = s + length
        run_max = np.maximum(run_max[:count], step[e])
        a, b = t[s - 1], t[e]
        dab = np.abs(a - b).mean(axis=1)
        least = params.gradual_min_change * np.clip(
            np.maximum(contrast[s - 1], contrast[e]) / params.gradual_ref_contrast, 0.4, 1.0
        )
        # cheap tests first: a large change, not brightness alone, no hard cut inside,
        # steady frames just outside, nothing excluded inside
        ok = dab >= least
        ok &= run_max <= 0.4 * dab
        ok &= (step[s - 1] <= 0.25 * dab) & (step[e + 1] <= 0.25 * dab)
        ok &= cex[e] - cex[s] == 0
        idx = np.nonzero(ok)[0]
        if idx.size == 0:
            continue
        s, e, a, b, dab = s[idx], e[idx], a[idx], b[idx], dab[idx]
        ok = np.abs(tc[s - 1] - tc[e]).mean(axis=1) >= least[idx]
        ok &= np.abs(zt[s - 1] - zt[e]).mean(axis=1) >= params.gradual_min_structure
        # the whole picture changes: a title fading in, an object coming into a still
        # frame, a shadow over part of it change a part (median over mean of the cells)
        whole = np.abs(a - b)
        ok &= np.median(whole, axis=1) >= _LOCAL_SPAN * whole.mean(axis=1)
        # the sides are steadier than the span: its change per frame is at least twice theirs
        rate = dab / (length + 1)
        ok &= np.abs(t[s - 1 - w] - a).mean(axis=1) / w * tests.side_speed <= rate
        ok &= np.abs(t[e + w] - b).mean(axis=1) / w * tests.side_speed <= rate
        idx = np.nonzero(ok)[0]
        if idx.size == 0:
            continue
        s, e, a, b, dab = s[idx], e[idx], a[idx], b[idx], dab[idx]
        excess = np.zeros(idx.size)
        progress = np.zeros((idx.size, length))
        for j in range(length):
            m = t[s + j]
            da = np.abs(m - a).mean(axis=1)
            db = np.abs(m - b).mean(axis=1)
            excess += (da + db - dab) / dab
            progress[:, j] = da / np.maximum(da + db, 1e-9)
        excess /= length
        linear = np.arange(1, length + 1) / (length + 1)
        dev = np.abs(progress - linear).max(axis=1)
        good = excess <= tests.max_excess
        good &= dev <= tests.max_dev
        good &= ((progress >= 0.2) & (progress <= 0.8)).any(axis=1)
        for i in np.nonzero(good)[0].tolist():
            found.append(_Candidate(int(s[i]), int(e[i]), float(dab[i]), float(excess[i]),
                                    float(dev[i])))  # fmt: skip
    if not found:
        return []
    # overlapping candidates are one transition: the largest, most linear change wins
    found.sort(key=lambda c: (-c.change * (1.0 - _DEV_WEIGHT * c.dev), c.excess))
    taken: list[_Candidate] = []
    for c in found:
        if all(c.end <= o.start or c.start >= o.end for o in taken):
            taken.append(c)
    out: list[tuple[Transition, _Candidate]] = []
    for c in sorted(taken, key=lambda c: c.start):
        kind = _gradual_kind(t, c.start, c.end)
        margin = min(1.0 - c.excess / tests.max_excess,
                     math.log(c.change / params.gradual_min_change) / math.log(3.0))  # fmt: skip
        conf = 0.5 + 0.5 * min(1.0, max(0.0, margin))
        out.append((Transition(c.start, c.end, kind, conf), c))
    return out


def _gradual_kind(t: FloatArray, s: int, e: int) -> TransitionKind:
    """``wipe`` when mid-transition most changing cells are already at A or at B."""
    a, b = t[s - 1], t[e]
    diff = b - a
    cells = np.abs(diff) >= 8.0
    if cells.sum() < 4:
        return "dissolve"
    shares = []
    for m in range(s, e):
        p = (t[m] - a)[cells] / diff[cells]
        if 0.3 <= float(np.clip(p, 0, 1).mean()) <= 0.7:
            shares.append(float(((p < 0.2) | (p > 0.8)).mean()))
    if not shares:
        return "dissolve"
    return "wipe" if float(np.mean(shares)) >= 0.6 else "dissolve"


# --------------------------------------------------------------------------- cuts


def find_cuts(
    features: npt.NDArray[np.float32],
    params: DetectorParams,
    *,
    exclude: npt.ArrayLike = (),
) -> list[tuple[int, float]]:
    """Hard cuts with their confidence (see :func:`result_from_features`).

    A frame ``k`` passing the adaptive rule of :func:`cuts_from_scores` on ``hsv_diff`` is
    dropped when it is not a new picture: ``corr_lag1 <= same_picture`` (same picture, other
    brightness), or it starts or ends a flash of ``m`` = 1–3 frames (the frame after the flash
    correlates with the one before it: ``corr_lag{m+1} <= flash_return`` and at most half the
    jump), or ``exclude[k]``. Then ``min_scene_len`` is applied.

    Confidence: ``0.5 + 0.5 * clip(log(margin) / log(4), 0, 1)``, where ``margin`` is the
    smallest of the ratios by which the cut passes its tests (adaptive ratio / ``threshold``,
    ``hsv_diff / min_content``, ``corr_lag1 / same_picture``): 0.5 on the edge of a
    threshold, 1.0 when every test passes by 4× or more.

    Returns
    -------
    list of (int, float)
        (cut frame, confidence), ascending.
    """
    return _find_cuts(np.asarray(features, np.float64), params, exclude)[0]


def _find_cuts(
    f: FloatArray,
    params: DetectorParams,
    exclude: npt.ArrayLike = (),
    flashes: npt.NDArray[np.bool_] | None = None,
) -> tuple[list[tuple[int, float]], list[Suggestion]]:
    """:func:`find_cuts`, and the candidates it rejected as suggestions (a rule's veto is
    never silent): ``brightness_only`` with confidence ``0.5 * corr_lag1 / same_picture``,
    ``flash`` 0.25, ``local`` (a change confined to part of the picture: :data:`_LOCAL`)
    ``0.5 * spread / _LOCAL``, ``too_close`` 0.4 × the confidence it would have had, and
    ``weak``: a new
    picture whose adaptive ratio reaches :data:`_WEAK` of ``threshold`` but not all of it
    (confidence ``0.5 * ratio / threshold``). Candidates inside ``exclude`` (transitions)
    are no suggestion."""
    n = f.shape[0]
    ex = np.zeros(n, bool)
    if np.size(exclude):
        ex = np.asarray(exclude, bool)
    flash = _flash_edges(f, params).edges if flashes is None else flashes
    hsv = f[:, COL["hsv_diff"]].copy()
    if n:
        hsv[0] = 0.0
    corr1 = f[:, COL["corr_lag1"]]
    thumbs = _thumbs(f)
    frames, ratios = _adaptive(hsv, params)
    ratio_of = dict(zip(frames.tolist(), ratios.tolist(), strict=True))
    # second route: a new picture among moving frames of one picture (fast pans)
    cratio = _ratio(corr1, params.window)
    second = (corr1 >= params.new_picture) & (cratio >= params.new_picture_ratio)
    second &= hsv >= params.min_content
    # third route: the thumbnail jumps (a new layout) far more than around it
    tstep = np.zeros(n)
    tstep[1:] = np.abs(thumbs[1:] - thumbs[:-1]).mean(axis=1)
    sratio = _ratio(tstep, params.window)
    third = (sratio >= _LAYOUT_RATIO) & (tstep >= _LAYOUT_STEP) & (corr1 >= _LAYOUT_CORR)
    candidates = sorted(set(ratio_of) | set(np.nonzero(second | third)[0].tolist()))
    cuts: list[tuple[int, float]] = []
    rejected: list[Suggestion] = []
    # weak: a spike that reaches _WEAK of the adaptive threshold only, a new picture
    weak_params = replace(params, threshold=params.threshold * _WEAK)
    for k, ratio in zip(*(x.tolist() for x in _adaptive(hsv, weak_params)), strict=True):
        if k in ratio_of or ex[k] or flash[k] or corr1[k] <= params.same_picture:
            continue
        if _change_spread(thumbs, k) < _LOCAL:
            continue
        conf = min(0.49, 0.5 * ratio / params.threshold)
        rejected.append(Suggestion(int(k), round(conf, 4), "weak"))
    last = 0
    for k in candidates:
        if ex[k] or k == 0:
            continue
        if flash[k]:
            rejected.append(Suggestion(int(k), 0.25, "flash"))
            continue
        spread = _change_spread(thumbs, k)
        if spread < _LOCAL:
            conf = 0.5 * spread / _LOCAL
            rejected.append(Suggestion(int(k), round(min(conf, 0.49), 4), "local"))
            continue
        if corr1[k] <= params.same_picture:
            conf = 0.5 * max(0.0, corr1[k]) / max(params.same_picture, 1e-9)
            rejected.append(Suggestion(int(k), round(min(conf, 0.49), 4), "brightness_only"))
            continue
        if k in ratio_of:
            margin = min(ratio_of[k] / params.threshold, hsv[k] / max(params.min_content, 1e-9),
                         corr1[k] / max(params.same_picture, 1e-9))  # fmt: skip
        elif second[k]:
            margin = min(cratio[k] / params.new_picture_ratio, corr1[k] / params.new_picture,
                         hsv[k] / max(params.min_content, 1e-9))  # fmt: skip
        else:
            margin = min(sratio[k] / _LAYOUT_RATIO, tstep[k] / _LAYOUT_STEP,
                         corr1[k] / _LAYOUT_CORR)  # fmt: skip
        conf = 0.5 + 0.5 * min(1.0, max(0.0, math.log(max(margin, 1.0)) / math.log(4.0)))
        if k - last < params.min_scene_len:
            rejected.append(Suggestion(int(k), round(0.4 * conf, 4), "too_close"))
            continue
        cuts.append((int(k), conf))
        last = k
    return cuts, rejected


_LOCAL = 0.15
"""A change whose median over the thumbnail's 32 cells is below this share of its mean (each
cell's change beyond its own motion in the frames around) is confined to part of the
picture: a title, a subtitle or a lower third appearing, changing or going, never a cut.
Labelled cuts of the suite in every look: 0.33–1.1 (a cut changes the picture everywhere);
a lower third or a subtitle line over a still shot: 0.0."""


def _change_spread(thumbs: FloatArray, k: int) -> float:
    """Median over mean, across thumbnail cells, of the change from frame ``k - 1`` to ``k``
    beyond each cell's own change between the frames around (the largest of ``k - 2 → k -
    1`` and ``k → k + 1``): ~1 when the whole picture changes, ~0 when a part does."""
    n = thumbs.shape[0]
    d = np.abs(thumbs[k] - thumbs[k - 1])
    around = [np.abs(thumbs[j] - thumbs[j - 1]) for j in (k - 1, k + 1) if 1 <= j < n]
    if around:
        d = np.maximum(d - np.max(around, axis=0), 0.0)
    # cells black in both frames (a night sky, bars the box kept) say nothing either way
    lit = np.maximum(thumbs[k], thumbs[k - 1]) > _DARK_CELL
    if int(lit.sum()) < 4:
        return 1.0
    d = d[lit]
    mean = float(d.mean())
    return float(np.median(d)) / mean if mean > 1e-9 else 1.0


_DARK_CELL = 24.0
"""A thumbnail cell at most this luma (0–255) in both frames is left out of the change
spread: under a night grade a third of the picture can be black on both sides of a cut, and
its unchanged cells made the cut look like a local change."""


_LAYOUT_RATIO = 3.0
"""Third cut route, a new layout: the thumbnail's step from the frame before (mean absolute
8×4 luma difference) is at least this many times the mean of its ``window`` neighbours' ...
"""

_LAYOUT_STEP = 8.0
"""... and at least this many luma levels (0–255) ..."""

_LAYOUT_CORR = 0.4
"""... and the luma correlation with the frame before is lost (``corr_lag1`` at least this:
a brightness change keeps it under 0.25). The route finds cuts that the HSV difference
misses: under a night grade (a change of 11 levels, under ``min_content``), out of a shaking
shot into a still one, into a shot that starts moving (the neighbours' HSV difference hides
the spike). On the development split every value of the ratio from 2.5 to 3.0, the step
from 6 to 8 and the correlation from 0.3 to 0.4 added the same cuts and no false one."""

_WEAK = 2.0 / 3.0
"""Share of the adaptive threshold at which a spike that is a new picture becomes a ``weak``
suggestion (2.0 with PySceneDetect's 3.0: the low end of the range that finds the labelled
cuts of ``bench/ground_truth`` with no false one)."""


def _ratio(x: FloatArray, w: int) -> FloatArray:
    """``x[k]`` over the mean of its ``w`` neighbours on each side (0 without a full window;
    255 when the neighbours are all ~0)."""
    n = x.shape[0]
    out = np.zeros(n)
    if n < 2 * w + 1:
        return out
    csum = np.concatenate([[0.0], np.cumsum(x)])
    k = np.arange(w, n - w)
    neigh = (csum[k + w + 1] - csum[k - w] - x[k]) / (2.0 * w)
    out[k] = np.where(neigh > 1e-5, np.minimum(x[k] / np.maximum(neigh, 1e-5), 255.0), 255.0)
    return out


@dataclass(frozen=True)
class _Flashes:
    """Frames that start or end a 1–3 frame flash (or lie inside one): ``edges`` all of
    them (no cut there), ``strong`` those of flashes that lose the picture or jump in
    brightness (kept out of the dissolve/wipe search)."""

    edges: npt.NDArray[np.bool_]
    strong: npt.NDArray[np.bool_]


def _flash_edges(f: FloatArray, params: DetectorParams) -> _Flashes:
    """The flashes of ``f``, in one vectorised pass (see :class:`_Flashes`).

    The return frame ``k + m`` must correlate with the frame before the flash at most
    ``flash_return``, or, in a moving shot, at most 1.5× (+0.05) as far as the shot itself
    moves over the same ``m + 1`` frames just before the flash (``corr_lag{m+1}`` of frame
    ``k - 1``), never past :data:`_FLASH_RETURN_CAP`; and at most half the jump into the
    flash. A flash is strong when the jump is at least :data:`_STRONG_JUMP` or the mean luma
    moves :data:`_STRONG_LUMA` levels in one frame at either edge."""
    n = f.shape[0]
    edges = np.zeros(n, bool)
    strong = np.zeros(n, bool)
    corr1 = f[:, COL["corr_lag1"]]
    lstep = np.zeros(n)
    lstep[1:] = np.abs(np.diff(f[:, COL["luma_mean"]]))
    for m in range(1, LAGS):  # flash length: frames k .. k+m-1; k+m is the return
        if n - m <= 1:
            continue
        back = f[:, COL[f"corr_lag{m + 1}"]]
        k = np.arange(1, n - m)
        r = k + m
        jump = np.maximum(corr1[k], corr1[r])
        moving = np.where(k - 1 >= m + 1, 1.5 * back[k - 1] + 0.05, 0.0)
        limit = np.minimum(_FLASH_RETURN_CAP, np.maximum(params.flash_return, moving))
        flash = (back[r] <= limit) & (back[r] <= 0.5 * jump)
        hard = flash & ((jump >= _STRONG_JUMP) | (np.maximum(lstep[k], lstep[r]) >= _STRONG_LUMA))
        for offset in range(m + 1):  # frames k .. k + m
            edges[k[flash] + offset] = True
            strong[k[hard] + offset] = True
    return _Flashes(edges, strong)


_STRONG_JUMP = 0.7
"""Flashes kept out of the dissolve/wipe search are strong ones: the picture is lost into the
flash (``corr_lag1`` ≥ this: a white frame measures ~1) ..."""

_STRONG_LUMA = 12.0
"""... or the mean luma jumps by at least this many levels (0–255) in one frame (a brightened
frame). The weak 'returns' inside a dissolve into a shaking shot (``corr_lag1`` 0.26–0.42,
luma steps of 1–5 levels) kept two real dissolves of the development split from being
found."""

_FLASH_RETURN_CAP = 0.6
"""Most ``1 - r`` between the frames around a flash in a fast-moving shot (the suite's
moving shots decorrelate 0.25–0.4 over 3 frames; pictures across a cut: 0.44+, mostly
≥ 0.8, and a cut has no return)."""


# --------------------------------------------------------------------------- the whole rule


def result_from_features(
    features: npt.ArrayLike, fps: Fraction, params: DetectorParams = DetectorParams()
) -> SceneResult:
    """Cuts and transitions from per-frame features (pure, no I/O; re-applies thresholds).

    Fades first (:func:`find_fades`), then dissolves and wipes outside them and outside
    flashes (:func:`find_gradual`), then hard cuts outside all of these (:func:`find_cuts`;
    a hard cut into or out of the flat frames next to a one-sided fade is kept, at the
    transition's edge).

    Parameters
    ----------
    features : array-like float32 (N, F)
        As from :func:`heaters.media.scores.frame_features` (F = ``len(FEATURES)``).
    fps : Fraction
        The video's average frame rate, copied into the result.
    params : DetectorParams
        The thresholds.

    Returns
    -------
    SceneResult
        ``detector`` :data:`DETECTOR_NAME`, the cuts with confidences, the transitions and
        the features themselves.

    Raises
    ------
    ValueError
        ``features`` is not (N, len(FEATURES)).
    """
    feats = np.asarray(features, dtype=np.float32)
    if feats.ndim != 2 or feats.shape[1] != len(FEATURES):
        raise ValueError(f"features must be (N, {len(FEATURES)}), not {feats.shape}")
    f = feats.astype(np.float64)
    n = f.shape[0]
    fades = _find_fades(f, params)
    inside = np.zeros(n, bool)
    for t in fades.transitions:
        inside[t.start_frame : t.end_frame] = True
    flashes = _flash_edges(f, params)
    gradual = [t for t, _ in _find_gradual(f, params, inside | flashes.strong)]
    transitions: list[Transition] = sorted(
        [*fades.transitions, *gradual], key=lambda t: t.start_frame
    )
    blocked = np.zeros(n + 1, bool)
    for t in fades.transitions:
        blocked[t.start_frame : t.end_frame + 1] = True
    for t in gradual:
        blocked[max(0, t.start_frame - 1) : t.end_frame + 2] = True
    for k in fades.allowed_cuts:
        blocked[k] = False
    found, rejected = _find_cuts(f, params, blocked[:n], flashes.edges)
    cuts = dict(found)
    for k in _fallback_cuts(f, params, inside | flashes.strong, transitions, cuts):
        cuts[k] = 0.5
    frames = sorted(cuts)
    near = {k + d for k in frames for d in (-1, 0, 1)}
    suggested: dict[int, Suggestion] = {}
    for x in rejected:  # one per frame, the likeliest; none next to a cut
        if x.frame not in near and x.confidence > getattr(suggested.get(x.frame), "confidence", -1):
            suggested[x.frame] = x
    return SceneResult(
        detector=DETECTOR_NAME,
        frame_count=n,
        fps=fps,
        cuts=tuple(frames),
        cut_confidence=tuple(round(cuts[k], 4) for k in frames),
        transitions=tuple(transitions),
        suggestions=tuple(suggested[k] for k in sorted(suggested)),
        features=feats,
    )


_FALLBACK = _Tests(max_excess=0.35, max_dev=0.4, side_speed=2.0)
"""The relaxed span tests of the fallback: frames up to 35 % off the line between the two
sides (shake, grain, a dip through a colour that never quite goes flat), progress up to 0.4
off a straight line; the sides must still be twice as steady as the span (pans inside the
suite's shots pass every other relaxed test: excess 0.08–0.46; only their moving sides tell
them from a transition)."""


_FALLBACK_MAX_MOTION = 0.25
"""Most mean ``corr_lag1`` over a fallback span's frames. A blend or a wipe changes each
frame little from the one before (0.0–0.15 with grain and shake on the suite's looks); a
camera tilt or whip pan that ends on a steady picture decorrelates them (the sample's tilt
to the sky, 552–560: 0.44), and is no boundary."""


def _fallback_cuts(
    f: FloatArray,
    params: DetectorParams,
    ex: npt.NDArray[np.bool_],
    transitions: list[Transition],
    cuts: dict[int, float],
) -> list[int]:
    """A cut at the largest single change of each span whose sides clearly differ (every
    test of a dissolve or wipe but the strictest ones, relaxed to :data:`_FALLBACK`) and
    which has no boundary yet: a gradual transition may get the wrong kind, never none (two
    shots in one clip is the worst error a reviewer can be handed)."""
    t = _thumbs(f)
    step = np.zeros(f.shape[0])
    step[1:] = np.abs(t[1:] - t[:-1]).mean(axis=1)
    taken = [(x.start_frame - 1, x.end_frame + 1) for x in transitions]
    taken += [(k - params.min_scene_len, k + params.min_scene_len) for k in cuts]
    out: list[int] = []
    corr1 = f[:, COL["corr_lag1"]]
    for span, _ in _find_gradual(f, params, ex, _FALLBACK):
        lo, hi = span.start_frame, span.end_frame
        if any(lo <= b and hi >= a for a, b in taken):
            continue
        if float(corr1[lo : hi + 1].mean()) > _FALLBACK_MAX_MOTION:
            continue  # a camera move: consecutive frames decorrelate; a blend's do not
        k = lo + int(np.argmax(step[lo : hi + 1]))
        out.append(k)
        taken.append((k - params.min_scene_len, k + params.min_scene_len))
    return out


# --------------------------------------------------------------------------- detection


def features_from_raw(raw: Path, size: tuple[int, int] = ANALYSIS_SIZE) -> npt.NDArray[np.float32]:
    """Per-frame features (float32 (N, F)) from the raw ``rgb24`` analysis file preprocess
    wrote (no decode; see :func:`heaters.media.frames.read_small_frames_raw`).

    The active picture (letterbox / pillarbox bars left out) is found from frames spread
    over the whole file (:func:`heaters.media.bars.find_active_box`).

    Raises
    ------
    DetectError
        The file cannot be read.
    """
    frames = list(read_small_frames_raw(raw, size))  # views of one memory map
    if not frames:
        return frame_features(frames)
    box = find_active_box(np.stack([frames[i] for i in scores.spread(scores.SAMPLES, len(frames))]))
    return frame_features(frames, box)


def decode_features(
    video: Path,
    *,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> npt.NDArray[np.float32]:
    """Per-frame features (float32 (N, F)) of ``video``, decoding it once (keyframe chunks in
    threads; see :func:`heaters.media.scores.decode_features`, which also returns the fps).

    Raises
    ------
    DetectError
        The file is missing, not media, has no video stream, or decoding fails.
    """
    return scores.decode_features(video, workers=workers, on_progress=on_progress).features


def detect(
    video: Path,
    params: DetectorParams = DetectorParams(),
    *,
    on_progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> SceneResult:
    """Detect the cuts and gradual transitions of ``video`` with one small, threaded decode.

    Parameters
    ----------
    video : Path
        A media file with a video stream.
    params : DetectorParams
        Thresholds.
    on_progress : callable, optional
        Called with the number of frames measured so far (see
        :func:`heaters.media.scores.decode_features`) and at the end.
    workers : int, optional
        Decoding threads; default: the CPUs this process may use. Set 1 when several
        detections run in parallel processes on the same machine.

    Returns
    -------
    SceneResult
        See :func:`result_from_features`; ``fps`` is the stream's average frame rate.

    Raises
    ------
    DetectError
        The file is unreadable or has no video stream.
    """
    run = scores.decode_features(video, workers=workers, on_progress=on_progress)
    return result_from_features(run.features, run.fps, params)
