"""Dissolves and wipes (:func:`find_gradual`): spans whose every frame lies *between* the
clean frame before and the clean frame after (thumbnail L1 distances add up), with a steadily
rising progress and a large total change. Pure: per-frame features in, spans out."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from heaters.media.boundaries import Transition, TransitionKind
from heaters.media.detector_params import DetectorParams, FloatArray
from heaters.media.scores import COL, HIST_CHROMA_BINS, HIST_LUMA_BINS, THUMB_SIZE, thumbnails

__all__ = [
    "PARAMS_READ",
    "SIDE",
    "GradualCache",
    "GradualTests",
    "camera_explains",
    "colour_progress",
    "colour_vectors",
    "find_gradual",
    "gradual_kind",
    "motion_sums",
    "new_colours",
    "relit",
    "relit_span",
    "search_gradual",
    "whole_picture",
]


SIDE = 8
"""Frames on each side of a dissolve/wipe candidate whose change is compared with its own."""

_DEV_WEIGHT = 1.0
"""Overlapping candidates: the one with the largest ``change * (1 - _DEV_WEIGHT * dev)`` wins."""

_LOCAL_SPAN = 0.2
"""A dissolve or wipe changes the whole picture from its first side to its last: the median
of the thumbnail cells' change is at least this share of their mean (labelled dissolves and
wipes of the suite in every look: 0.42+; a title, an object or a shadow over part of a still
picture: near 0)."""

_CAMERA_MOVE = 0.5
"""A dissolve or wipe changes the picture in place: over its frames, the luma change left
after motion compensation (``mc_diff``) is at least this share of the change before it
(``luma_diff``). Labelled dissolves and wipes of the development split, shaking night
footage included: 0.62–1.0; a camera pan over a still from texture to a flat wall and a
shake in a night shot, both taken for dissolves before: 0.38–0.39. Spans whose frames do
not change at all (``luma_diff`` summing to ~0: features without these columns) pass."""

_CAMERA_LEFT = 1.3
"""... unless what the motion compensation leaves inside the span (``mc_diff`` per frame) is
more than this many times what it leaves over the ``SIDE`` frames on either side: a blend
of two moving shots cannot be aligned by one shift, a single moving shot can (the two
camera moves above: 0.99–1.01)."""

_MAX_DEV = 0.25
"""Largest departure of a dissolve/wipe's progress from a straight line (0 → 1)."""

_COLOUR_MIN = 0.7
"""Colour sides (:attr:`GradualTests.colour_sides`): the least colour distance
(:func:`colour_vectors`) between the frames before and after a span. Labelled dissolves and
wipes of the development split: median 2.5, 10th percentile 0.9; a subtitle change over a
still shot: 0.5."""

_COLOUR_RATIO = 3.0
"""Colour sides: the span's colour distance is at least this many times the larger of its
sides' (each side: the frame next to the span against the frame ``min(max(L, 16), 24)``
frames farther out, L the span's length: :data:`_COLOUR_SIDE`, :data:`_COLOUR_SIDE_MAX`).
A camera move keeps a scene's colours; two shots have their own (the moving-shot wipes and
dissolves that the thumbnail sides miss: ratio 3.7–15; colour drifting inside animated
shots of the dev split: up to 3.6 with short sides, under 3 with sides of 16 frames)."""

_COLOUR_SIDE = 16
"""Colour sides: each side must keep its colours over the span's length but at least this
many frames, wholly inside the video ..."""

_COLOUR_SIDE_MAX = 24
"""... and at most this (1 s at 24 fps): a long wipe between short shots has sides shorter
than itself. On the dev split and five more draws, sides of 24 found 3 more of 233
transitions than sides as long as the span (up to 60) with no false span; sides of 16 found
5 more and added 3 false spans."""

_COLOUR_DEV = 0.5
"""Colour sides: largest departure of the colour progress (distance to the frame before over
the sum of the distances to both sides) from a straight line: the colours move from one
shot's to the other's through the span, not before or after it."""


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
      0.2 <= p <= 0.8 (a hard cut followed by motion has none);
    * no camera move: from ``s`` to ``e`` the frames' change after motion compensation is at
      least :data:`_CAMERA_MOVE` of their change (``mc_diff`` against ``luma_diff``).

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
    return [t for t, _ in search_gradual(f, params, ex)]


@dataclass(frozen=True)
class GradualTests:
    """How strict the dissolve/wipe tests of :func:`search_gradual` are."""

    max_excess: float  # mean (d(m,A) + d(m,B) - d(A,B)) / d(A,B) over the span
    max_dev: float  # progress's largest departure from a straight line
    side_speed: float  # the span moves at least this many times faster than its sides
    colour_sides: bool = False  # sides judged by their colours, not their thumbnails


def colour_vectors(f: FloatArray) -> FloatArray:
    """Per-frame colour vectors (N, 24) whose L1 distance is the *colour distance* of two
    frames: the earth mover's distance of their luma histograms (``hist_y_*``) in units of
    64 levels (a brightness shift of 64 levels over the whole picture: 1) plus the L1
    distance of their chroma histograms (``hist_c_*``, 0–2). Moves of the camera over one
    scene keep it small; two shots of different scenes measure 0.5–4."""
    hy = f[:, COL["hist_y_0"] : COL["hist_y_0"] + HIST_LUMA_BINS]
    hc = f[:, COL["hist_c_0"] : COL["hist_c_0"] + HIST_CHROMA_BINS**2]
    out: FloatArray = np.concatenate([np.cumsum(hy, axis=1) * (256 / HIST_LUMA_BINS / 64), hc], 1)
    return out


def colour_progress(c: FloatArray, s: int, e: int) -> FloatArray:
    """Colour progress (L,) of the frames ``s .. e - 1`` of a span from the frame before
    (``s - 1``: 0) to the frame after (``e``: 1), from :func:`colour_vectors` ``c``."""
    da = np.abs(c[s:e] - c[s - 1]).sum(axis=1)
    db = np.abs(c[s:e] - c[e]).sum(axis=1)
    out: FloatArray = da / np.maximum(da + db, 1e-9)
    return out


def motion_sums(f: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Running sums (N + 1,) of ``luma_diff`` and ``mc_diff`` of features ``f`` (N, F), each
    with a leading 0: the change of frames ``[s, e]`` is ``sum[e + 1] - sum[s]``."""
    plain = np.concatenate([[0.0], np.cumsum(f[:, COL["luma_diff"]])])
    moved = np.concatenate([[0.0], np.cumsum(f[:, COL["mc_diff"]])])
    return plain, moved


def camera_explains(
    sums: tuple[FloatArray, FloatArray], s: npt.NDArray[np.int64], e: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """True for the spans ``[s, e)`` (arrays of frame numbers, each with :data:`SIDE` frames
    on either side) that a camera move explains: shifting the frames takes out more than
    :data:`_CAMERA_MOVE` of their change, and what it leaves is no more than
    :data:`_CAMERA_LEFT` times what it leaves beside them. ``sums``: :func:`motion_sums`."""
    cplain, cmoved = sums
    plain = cplain[e + 1] - cplain[s]
    left = cmoved[e + 1] - cmoved[s]
    inside = left / (e - s + 1)
    around = np.maximum(cmoved[s] - cmoved[s - SIDE], cmoved[e + 1 + SIDE] - cmoved[e + 1]) / SIDE
    camera: npt.NDArray[np.bool_] = (plain >= 1e-6) & (left < _CAMERA_MOVE * plain)
    return camera & (inside <= _CAMERA_LEFT * around)


ZOOM_FIT = 0.3
"""Least median ``zoom_fit`` over a span's frames for :func:`camera_zooms`: the share of each
frame's change that a translation and a zoom explain. On the development draws: zooms that
gave false spans 0.38–0.63; labelled dissolves 0.01–0.11, wipes 0.02–0.37."""

ZOOM_T = 6.0
"""Least ``|t|`` of the span's per-frame ``zoom_rate`` (mean over its standard error): a zoom
scales every frame the same way, a blend's fitted scale wavers around 0. Development zooms
6.3–54; the wipe at fit 0.37 had 4.4."""

ZOOM_TOTAL = 0.15
"""Least total scale change over the span (sum of ``zoom_rate``; a zoom of 1.2× is ~0.18)."""


def camera_zooms(f: FloatArray, s: int, e: int) -> bool:
    """True when frames ``[s, e]`` of features ``f`` (N, F) are a camera zoom (:data:`ZOOM_FIT`,
    :data:`ZOOM_T`, :data:`ZOOM_TOTAL`): a translation-only motion test sees a zoom as new
    picture, growing from the centre out, and the dissolve tests pass it."""
    rate = f[s : e + 1, COL["zoom_rate"]]
    if rate.size < 3 or float(np.median(f[s : e + 1, COL["zoom_fit"]])) < ZOOM_FIT:
        return False
    total = float(rate.sum())
    t = float(rate.mean()) / (float(rate.std()) / math.sqrt(rate.size) + 1e-9)
    return abs(total) >= ZOOM_TOTAL and abs(t) >= ZOOM_T


def new_colours(
    colour: FloatArray,
    s: npt.NDArray[np.int64],
    e: npt.NDArray[np.int64],
    ratio: float = _COLOUR_RATIO,
) -> npt.NDArray[np.bool_]:
    """True for the spans ``[s, e)`` (arrays of frame numbers; all of one length ``L``) across
    which the colours change as between two shots: the colour distance of the frames before
    and after the span is at least :data:`_COLOUR_MIN` and ``ratio`` (default
    :data:`_COLOUR_RATIO`) times the larger of its sides' (each side ``min(max(L, 16), 24)``
    frames, wholly inside the video: :data:`_COLOUR_SIDE`, :data:`_COLOUR_SIDE_MAX`).
    ``colour``: :func:`colour_vectors` (N, C)."""
    n = colour.shape[0]
    side = np.minimum(np.maximum(e - s, _COLOUR_SIDE), _COLOUR_SIDE_MAX)
    inside = (s - 1 - side >= 0) & (e + side <= n - 1)
    lo, hi = np.maximum(s - 1 - side, 0), np.minimum(e + side, n - 1)
    span_c = np.abs(colour[s - 1] - colour[e]).sum(axis=1)
    side_c = np.maximum(np.abs(colour[lo] - colour[s - 1]).sum(axis=1),
                        np.abs(colour[hi] - colour[e]).sum(axis=1))  # fmt: skip
    ok: npt.NDArray[np.bool_] = (
        inside & (span_c >= _COLOUR_MIN) & (span_c >= ratio * np.maximum(side_c, 0.02))
    )
    return ok


_RELIT = 0.22
"""A light or a shadow falling over part of a shot (:func:`relit`) explains all but this share
of its cells' change. Shadows fading in over a side, a band or a corner (the ``shadow_zoom``
look's dev draws, and five sources with a shadow over the left half or the bottom third):
0.04–0.19; labelled dissolves and wipes of the development split, five more dev draws and
five held-out draws (386): 1st percentile 0.25, one wipe between two smooth gradients 0.08
(which the other two tests keep)."""

_RELIT_KEPT = 0.1
"""... over part of the picture only: at least :data:`_RELIT_SHARE_KEPT` of the cells keep
their level to within this (log gain, ~10 %); a fade changes every cell, and is the fade
rules' to judge ..."""

_RELIT_SHARE_KEPT = 0.15
"""See :data:`_RELIT_KEPT`. With the two other tests, compared at the span's ends and 4 and 8
frames beyond (:data:`RELIT_REACH`): no labelled dissolve or wipe of the dev and held-out
draws above is taken for a light at 0.1, 0.15 or 0.2; of the 16 false spans the
``shadow_zoom`` look's four dev draws had left with 0.2, 0.15 takes 4 (so does 0.1)."""

_RELIT_ONE_WAY = 0.95
"""... and the light goes one way: of the cells' change (the sum of their log gains' size,
over the cells that change), at least this share is darker (a shadow) or brighter (a light).
Of the 386 dissolves and wipes above, none passes all three tests."""


def _fits() -> FloatArray:
    """``I - P`` for the three gain fields :func:`relit` tries, stacked (cells, 3 × cells): P
    the least-squares projection onto a gain per row plus one per column, one per line along
    the picture's first diagonal, one per line along its second (cells are ~square; the
    picture is twice as wide as high in cells: a shadow falling over a corner)."""
    w, h = THUMB_SIZE
    grid_x, grid_y = np.meshgrid(np.arange(w), np.arange(h))
    x, y = grid_x.ravel(), grid_y.ravel()
    bases = [
        np.concatenate([np.eye(h)[y], np.eye(w)[x]], axis=1),
        np.eye(3 * h + w)[x + 2 * y],
        np.eye(3 * h + w)[x - 2 * y + 2 * (h - 1)],
    ]
    eye = np.eye(w * h)
    out: FloatArray = np.concatenate([eye - b @ np.linalg.pinv(b) for b in bases], axis=1)
    return out


_RESIDUALS = _fits()


def _unexplained_gain(r: FloatArray) -> FloatArray:
    """For log gains ``r`` (M, cells) less their mean: the least residual (root mean square)
    of the three gain fields of :data:`_RESIDUALS`."""
    cells = r.shape[1]
    res = (r @ _RESIDUALS).reshape(r.shape[0], 3, cells)
    out: FloatArray = np.sqrt((res * res).mean(axis=2)).min(axis=1)
    return out


def _relit_measures(
    a: FloatArray, b: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """For the rows of thumbnails ``a`` → ``b`` (M, cells, 0–255), each cell's gain being
    ``(b + 8) / (a + 8)``: the share of cells that keep their level (:data:`_RELIT_KEPT`), the
    share of the others' change that goes the commoner way (darker or brighter; 0 when no cell
    changes), the log gains less their mean (M, cells) and their spread about it (the root
    mean square; :func:`_unexplained_gain` of the first over the second is the gain field's
    unexplained share)."""
    g = np.log((np.asarray(b, np.float64) + 8.0) / (np.asarray(a, np.float64) + 8.0))
    r = g - g.mean(axis=1, keepdims=True)
    spread = np.sqrt((r * r).mean(axis=1))
    moved = np.abs(g) >= _RELIT_KEPT
    kept = 1.0 - moved.mean(axis=1)
    darker = np.where(moved & (g < 0), -g, 0.0).sum(axis=1)
    brighter = np.where(moved & (g > 0), g, 0.0).sum(axis=1)
    total = darker + brighter
    one_way = np.where(total > 0, np.maximum(darker, brighter) / np.maximum(total, 1e-9), 0.0)
    return kept, one_way, r, spread


def relit(
    a: FloatArray,
    b: FloatArray,
    *,
    fit: float = _RELIT,
    share_kept: float = _RELIT_SHARE_KEPT,
    one_way: float = _RELIT_ONE_WAY,
    motion: FloatArray | None = None,
) -> npt.NDArray[np.bool_]:
    """True for the rows of thumbnails ``a`` → ``b`` (M, cells, 0–255) whose change is a light
    or a shadow over part of the picture, not a new picture: the log of each cell's gain
    (``(b + 8) / (a + 8)``) is a gain per thumbnail row plus one per column (a band, a side,
    a gradient of light), or one per diagonal line (a corner), to within ``fit``
    (:data:`_RELIT`) of its spread (the fit's residual over the gains' deviation from their
    mean): the picture's own structure is kept under it. At least ``share_kept``
    (:data:`_RELIT_SHARE_KEPT`) of the cells keep their level (:data:`_RELIT_KEPT`) and the
    others change one way (``one_way``: :data:`_RELIT_ONE_WAY`). The looser levels of
    :data:`RELIT_LOOSE` ask only that the change look like one. ``motion`` (M,), log gain
    (root mean square), is what the shot's own motion may add to the fit's residual on top
    (:data:`RELIT_MOTION`); the gain field must in any case explain :data:`RELIT_MOST` of
    the spread."""
    kept, way, r, spread = _relit_measures(a, b)
    out: npt.NDArray[np.bool_] = (kept >= share_kept) & (way >= one_way) & (spread > 0)
    if out.any():  # the fit only where the cheap tests pass (most candidates fail them)
        left = _unexplained_gain(r[out])
        scale = np.maximum(spread[out], 1e-6)
        allowed = fit * scale + (0.0 if motion is None else motion[out])
        out[out] = (left < allowed) & (left < RELIT_MOST * scale)
    return out


RELIT_LOOSE = {"fit": 0.28, "share_kept": 0.1, "one_way": 0.85}
"""Looser levels of :func:`relit` (keyword arguments): a change that may be a light or a
shadow, for :func:`heaters.media.learned.doubted_spans`, which asks the model as well
(:data:`heaters.media.learned.RELIT_DOUBT`). On the ten dev draws, 12 of the 13 false spans
(shadows and lights over live action, ``shadow_zoom``) keep 10 % of their cells and change
85 % one way, at unexplained shares 0.11–0.28; so do 17 of the 217 dissolves and wipes
found as spans, at 0.26–0.39, and the three of those under 0.28 score 0.94–0.97 (the model
cross-validated by draw). A first try at 0.4 lost a held-out dissolve; 0.28 is the false
spans' largest share on the dev draws."""

RELIT_MOTION = 0.5
"""At the loose levels, the fit's residual may exceed ``fit`` of the spread by this share of
the shot's own unexplained change over as many frames (:func:`relit_span`: the same
residual between frames as far apart just before the span, or just after it, whichever is
less). A light over live action that moves while the light ramps: on three fresh dev draws of
the ``shadow_zoom`` look (2050–2052), 4 false spans were lights with
unexplained shares 0.34–0.51, over the loose 0.28, while the rest of the picture moved. On
those and the ten dev draws every share from 0.25 to 0.75 gives the same (false spans 9 → 6,
no transition lost; at 1.0 a dev transition is lost)."""

RELIT_MOST = 0.5
"""... but the gain field must still explain at least this share of the change's spread (the
residual under this share of it): a wipe between two moving pictures, brighter one way, left
0.71 unexplained and its moving sides made the allowance as large (a held-out wipe lost
without this bound; on the dev draws every bound from 0.45 up gives the same)."""

RELIT_REACH = (0, 4, 8)
"""Frames beyond a span's ends at which :func:`relit_span` also compares its sides (the span
the tests chose may end inside the light's ramp, or where something else moves)."""


def relit_span(
    t: FloatArray,
    s: npt.NDArray[np.int64],
    e: npt.NDArray[np.int64],
    *,
    loose: bool = False,
) -> npt.NDArray[np.bool_]:
    """True for the spans ``[s, e)`` whose change is a light or a shadow over part of the
    picture (:func:`relit`; with ``loose``, at the levels of :data:`RELIT_LOOSE`, allowing for
    the shot's own motion, :data:`RELIT_MOTION`): the
    thumbnails ``t`` (N, cells) of frames ``s - 1 - d`` and ``e + d``, for some ``d`` of
    :data:`RELIT_REACH` inside the video. Both frames lie outside the span, so a wipe or a
    dissolve is compared whole (one shot against the other), never half done."""
    n = t.shape[0]
    out = np.zeros(s.shape[0], bool)
    for d in RELIT_REACH:
        a, b = s - 1 - d, e + d
        ok = (a >= 0) & (b < n)
        if not ok.any():
            continue
        if loose:
            motion = RELIT_MOTION * _own_unexplained(t, a[ok], b[ok])
            out[ok] |= relit(t[a[ok]], t[b[ok]], **RELIT_LOOSE, motion=motion)
        else:
            out[ok] |= relit(t[a[ok]], t[b[ok]])
    return out


def _own_unexplained(
    t: FloatArray, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
) -> FloatArray:
    """For the frame pairs ``a`` → ``b`` (arrays of frame numbers of thumbnails ``t``): the
    gain-field residual (:func:`_unexplained_gain`) between the frames as far apart just
    before ``a``, or just after ``b``, whichever is less; 0 where neither fits in the video."""
    n = t.shape[0]
    span = b - a
    best = np.full(a.shape[0], np.inf)
    for lo, hi in ((a - span, a), (b, b + span)):
        fits = (lo >= 0) & (hi < n)
        if fits.any():
            _, _, r, _ = _relit_measures(t[lo[fits]], t[hi[fits]])
            best[fits] = np.minimum(best[fits], _unexplained_gain(r))
    out: FloatArray = np.where(np.isfinite(best), best, 0.0)
    return out


def whole_picture(cells: FloatArray) -> npt.NDArray[np.bool_]:
    """True for the rows of ``cells`` (M, C: each thumbnail cell's change across a span) in
    which the whole picture changes: their median is at least :data:`_LOCAL_SPAN` of their
    mean (a title, an object or a shadow over part of a still changes a part)."""
    ok: npt.NDArray[np.bool_] = np.median(cells, axis=1) >= _LOCAL_SPAN * cells.mean(axis=1)
    return ok


def search_gradual(
    f: FloatArray,
    params: DetectorParams,
    ex: npt.NDArray[np.bool_],
    tests: GradualTests | None = None,
) -> list[tuple[Transition, _Candidate]]:
    """:func:`find_gradual`'s search with each span's candidate (change, excess, deviation),
    under ``tests`` (default: the strict ones of ``params``)."""
    if tests is None:
        tests = GradualTests(params.gradual_max_excess, _MAX_DEV, 2.0)
    n = f.shape[0]
    if n < 5:
        return []
    t = thumbnails(f)
    colour = colour_vectors(f) if tests.colour_sides else t
    step = np.zeros(n)
    step[1:] = np.abs(t[1:] - t[:-1]).mean(axis=1)  # d(k-1, k)
    zt = (t - t.mean(axis=1, keepdims=True)) / np.maximum(t.std(axis=1, keepdims=True), 1.0)
    cex = np.concatenate([[0], np.cumsum(ex)])
    tc = t - t.mean(axis=1, keepdims=True)  # thumbnails without their mean brightness
    # the least change between the sides, in proportion to their contrast below
    # gradual_ref_contrast (a night grade keeps the shape of a dissolve at a third of the
    # levels), never below 0.4 of gradual_min_change
    contrast = f[:, COL["luma_std"]]
    sums = motion_sums(f)
    w = SIDE
    first = np.arange(w + 1, max(w + 1, n - w - 2))  # every s with full sides (s-1-w >= 0)
    run_max = np.maximum(step[first], step[first + 1])  # max step over s .. e (grows)
    # d(A, B) is at most the sum of the steps between them (triangle inequality), so spans
    # whose steps cannot add up to the change the tests below ask for are dropped before
    # any thumbnail is compared (most of a video; the result is the same)
    csum = np.concatenate([[0.0], np.cumsum(step)])
    scale = np.clip(contrast / params.gradual_ref_contrast, 0.4, 1.0)
    found: list[_Candidate] = []
    for length in range(2, params.max_gradual + 1):
        count = n - w - length - (w + 1)  # s from w+1 while e + w <= n - 1
        if count <= 0:
            break
        s = first[:count]
        e = s + length
        run_max = np.maximum(run_max[:count], step[e])
        least = params.gradual_min_change * np.maximum(scale[s - 1], scale[e])
        # cheap tests first: a large change, not brightness alone, no hard cut inside,
        # steady frames just outside, nothing excluded inside; first on the bound
        bound = (csum[e + 1] - csum[s]) * (1.0 + 1e-9) + 1e-9
        need = np.maximum(np.maximum(least, 2.5 * run_max),
                          4.0 * np.maximum(step[s - 1], step[e + 1]))  # fmt: skip
        idx = np.nonzero((bound >= need) & (cex[e] == cex[s]))[0]
        if idx.size == 0:
            continue
        s, e, least = s[idx], e[idx], least[idx]
        a, b = t[s - 1], t[e]
        dab = np.abs(a - b).mean(axis=1)
        ok = dab >= least
        ok &= run_max[idx] <= 0.4 * dab
        ok &= (step[s - 1] <= 0.25 * dab) & (step[e + 1] <= 0.25 * dab)
        idx = np.nonzero(ok)[0]
        if idx.size == 0:
            continue
        s, e, a, b, dab, least = s[idx], e[idx], a[idx], b[idx], dab[idx], least[idx]
        ok = np.abs(tc[s - 1] - tc[e]).mean(axis=1) >= least
        ok &= np.abs(zt[s - 1] - zt[e]).mean(axis=1) >= params.gradual_min_structure
        # the whole picture changes: a title fading in, an object coming into a still
        # frame, a shadow over part of it change a part (median over mean of the cells)
        ok &= whole_picture(np.abs(a - b))
        # nor is it a light or a shadow falling over part of one picture
        ok &= ~relit_span(t, s, e)
        if tests.colour_sides:
            # the sides keep their colours while the span changes them
            ok &= new_colours(colour, s, e)
        else:
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
        if tests.colour_sides:
            cp = np.stack([colour_progress(colour, int(x), int(x) + length) for x in s])
            good &= np.abs(cp - linear).max(axis=1) <= _COLOUR_DEV
        # a camera move: the frames' change is explained by shifting them, and what the
        # shift leaves is no more than the shot leaves on either side
        good &= ~camera_explains(sums, s, e)
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
        kind = gradual_kind(t, c.start, c.end)
        margin = min(1.0 - c.excess / tests.max_excess,
                     math.log(c.change / params.gradual_min_change) / math.log(3.0))  # fmt: skip
        conf = 0.5 + 0.5 * min(1.0, max(0.0, margin))
        out.append((Transition(c.start, c.end, kind, conf), c))
    return out


def gradual_kind(t: FloatArray, s: int, e: int) -> TransitionKind:
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


PARAMS_READ: tuple[str, ...] = (
    "gradual_max_excess",
    "gradual_min_change",
    "gradual_min_structure",
    "gradual_ref_contrast",
    "max_gradual",
)
"""The :class:`DetectorParams` fields :func:`search_gradual` reads (a test holds this against
its source): two parameter sets that agree on these find the same spans."""


class GradualCache:
    """Answers repeated :func:`search_gradual` calls from memory, keyed on what they depend
    on: the features and exclusion mask (by content), the fields of :data:`PARAMS_READ` and
    the tests. The dissolve/wipe search is nearly all of
    :func:`heaters.media.scenes.result_from_features`'s time, so re-fitting the other
    thresholds over one video (:mod:`heaters.media.calibrate`) runs it once per distinct
    key. Holds at most ``max_entries`` results (then starts over)."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._results: dict[tuple[Any, ...], Any] = {}

    @staticmethod
    def _digest(a: npt.ArrayLike) -> bytes:
        arr = np.ascontiguousarray(a)
        return hashlib.blake2b(arr.tobytes(), digest_size=16).digest() + str(arr.shape).encode()

    def remember(self, key: tuple[Any, ...], f: FloatArray, make: Any) -> Any:
        """``make()``, from memory when asked with the same ``key`` and features before
        (other per-features results that do not depend on the thresholds: the learned
        model's probabilities)."""
        full = (key, self._digest(f))
        if full not in self._results:
            if len(self._results) >= self.max_entries:
                self._results.clear()
            self._results[full] = make()
        return self._results[full]

    def search(
        self,
        f: FloatArray,
        params: DetectorParams,
        ex: npt.NDArray[np.bool_],
        tests: GradualTests | None = None,
    ) -> list[tuple[Transition, Any]]:
        """:func:`search_gradual`, from memory when it was asked the same before."""
        key = (
            self._digest(f), tuple(getattr(params, n) for n in PARAMS_READ), self._digest(ex),
            tests,
        )  # fmt: skip
        got = self._results.get(key)
        if got is None:
            if len(self._results) >= self.max_entries:
                self._results.clear()
            got = search_gradual(f, params, ex, tests)
            self._results[key] = got
        return got
