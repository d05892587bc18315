"""Per-frame features: the expensive pass of shot-boundary detection, done once.

Pure media code (frames or a path in, a float32 array out; no database). Row ``k`` of the
feature array describes frame ``k`` and its change from the few frames before it (see
:data:`FEATURES`); :func:`heaters.media.scenes.result_from_features` turns features into cuts
and gradual transitions, so thresholds can be re-applied without decoding again.

:func:`decode_features` is the fast path from a video file: the stream is split at keyframes
into chunks that threads decode, downscale and measure independently, costliest first; the
first :data:`LAGS` rows of each chunk (which look back into the previous chunk) are then
recomputed from the previous chunk's last frames, so the result equals a sequential pass
exactly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from heaters.media.bars import ActiveBox, find_active_box
from heaters.media.frames import (
    ANALYSIS_SIZE,
    Chunk,
    ChunkDecoders,
    ChunkMismatch,
    FloatArray,
    Plan,
    UInt8Array,
    iter_chunk,
    plan_chunks,
    read_small_frames,
    worker_count,
)

__all__ = [
    "EDGE_BINS",
    "FEATURES",
    "LAGS",
    "THUMB_SIZE",
    "FeatureRun",
    "decode_features",
    "frame_features",
]

LAGS = 4
"""Frames looked back: ``corr_lag1`` … ``corr_lag4`` compare frame ``k`` with ``k - 1`` …
``k - 4``; a flash of 1–3 frames is recognised by the picture after it matching the one
before it (lag 2–4)."""

THUMB_SIZE = (8, 4)
"""(width, height) of the luma thumbnail kept per frame (area average of the analysis frame:
cells of 8×9 pixels at 64×36). Gradual transitions are found by comparing thumbnails many
frames apart (up to 60), which the per-frame differences cannot do; 32 values per frame keep
a 2-hour film's features under 30 MB."""

EDGE_BINS = (16, 9)
"""(columns, rows) of the difference profiles kept per frame (``diff_col_*``, ``diff_row_*``):
the mean absolute luma difference from frame ``k - 1`` down each column (across each row) of
the active picture, the largest in each of 16 (9) groups of neighbouring columns (rows), so a
moving edge one or two pixels wide keeps its full height in its group. A wipe is an edge that
crosses the picture at a steady speed (:mod:`heaters.media.wipes`); between two framings of one
scene the 8×4 thumbnails barely change while the edge stands out ~5× over the rest of the
picture's difference. 25 values per frame. (The same after motion compensation, as
``mc_diff``, kept 11–19 of 92 development wipes' edges instead of 46: the sub-pixel shift's
interpolation and the margin it leaves blur the band.)"""

HIST_LUMA_BINS = 8
"""Luma bins of the colour histogram kept per frame (``hist_y_*``: 32 levels each)."""

HIST_CHROMA_BINS = 4
"""Cb and Cr bins each of the chroma histogram kept per frame (``hist_c_*``: 4 × 4 cells of
64 levels). A histogram does not change when the camera moves over one scene, so it tells a
transition between two moving shots from the motion inside one
(:mod:`heaters.media.gradual`); coarse bins keep the 24 values per frame to ~17 MB for a
2-hour film and blur the grain."""

FEATURES: tuple[str, ...] = (
    "hsv_diff",
    "luma_mean",
    "luma_std",
    "cb_mean",
    "cr_mean",
    *(f"corr_lag{j}" for j in range(1, LAGS + 1)),
    *(f"thumb_{i}" for i in range(THUMB_SIZE[0] * THUMB_SIZE[1])),
    "luma_diff",
    "mc_diff",
    "mc_corr",
    *(f"hist_y_{i}" for i in range(HIST_LUMA_BINS)),
    *(f"hist_c_{i}" for i in range(HIST_CHROMA_BINS**2)),
    *(f"diff_col_{i}" for i in range(EDGE_BINS[0])),
    *(f"diff_row_{i}" for i in range(EDGE_BINS[1])),
    "zoom_rate",
    "zoom_fit",
)
"""Names of the feature columns, in order:

``hsv_diff``
    PySceneDetect ``ContentDetector``'s ``content_val`` (default weights): mean absolute
    difference of OpenCV 8-bit HSV between frame ``k`` and ``k - 1`` (0–255 scale; 0 for
    frame 0).
``luma_mean``, ``luma_std``
    Mean and standard deviation of the frame's luma (BT.601 Y', 0–255).
``cb_mean``, ``cr_mean``
    Mean chroma (0–255, 128 = grey).
``corr_lagJ``
    ``1 - r`` where ``r`` is the Pearson correlation of the luma of frame ``k`` and frame
    ``k - J`` (0 = the same picture up to brightness and contrast, ~1 = unrelated, up to 2);
    0 where ``k < J``. A flat frame (std < 0.5) correlates with nothing (1).
``thumb_I``
    The luma thumbnail (:data:`THUMB_SIZE`, row-major), 0–255.
``luma_diff``
    Mean absolute luma difference from frame ``k - 1`` (0–255), over the part of the picture
    that frame ``k - 1`` still covers once shifted by the camera motion (below); 0 for frame 0.
``mc_diff``
    The same after *motion compensation*: frame ``k - 1`` shifted by the global translation
    that best maps it onto frame ``k`` (OpenCV ``phaseCorrelate``, sub-pixel, at most a
    quarter of the picture; bilinear ``warpAffine``), never above ``luma_diff``. A pan, a
    tilt or camera shake moves the picture and leaves little after the shift; a dissolve, a
    wipe or a cut changes it in place and the shift explains nothing.
``mc_corr``
    ``1 - r`` of frame ``k`` and the shifted frame ``k - 1`` over the same part (as
    ``corr_lag1`` but after motion compensation): ~0 inside a moving shot, high at a cut
    between two framings of one moving picture; 0 when either is flat (std < 0.5); for two
    flat fields (std < :data:`FLAT_STD`) their colour distance, as ``corr_lag1``.
``hist_y_I``
    Share of the active picture's pixels whose luma (0–255) falls in bin ``I`` of
    :data:`HIST_LUMA_BINS` (``I * 32 <= Y < (I + 1) * 32``); the row sums to 1.
``hist_c_I``
    Share of its pixels in chroma cell ``I = 4 * (Cr // 64) + Cb // 64``; sums to 1.
``diff_col_I``, ``diff_row_J``
    The difference profiles (:data:`EDGE_BINS`): for group ``I`` of the active picture's
    columns (``J`` of its rows, top to bottom), the largest mean absolute luma difference
    (0–255) between frame ``k`` and ``k - 1`` down one of its columns (across one of its
    rows); 0 for frame 0.
``zoom_rate``, ``zoom_fit``
    A camera move with a zoom from frame ``k - 1`` to ``k`` (:func:`_zoom_fit`): the scale
    change per frame (+0.01: 1 % larger, a zoom in) and the share of the luma change it and a
    translation explain (0–1; a pan or a zoom 0.4–0.9, a dissolve or a wipe 0.0–0.3); 0 for
    frame 0.
"""

COL = {name: i for i, name in enumerate(FEATURES)}
"""Column index by feature name."""


def thumbnails(f: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The luma thumbnails (:data:`THUMB_SIZE`, row-major, 0–255) of features ``f`` (N, F):
    float64 (N, W*H)."""
    first = COL["thumb_0"]
    out: npt.NDArray[np.float64] = f[:, first : first + THUMB_SIZE[0] * THUMB_SIZE[1]]
    return out

_BATCH = 256
"""Frames measured per vectorised batch."""


GREY_CHROMA = 8
"""A pixel whose RGB channels span fewer than this many levels (0–255) is grey: its hue and
saturation are taken as 0 in ``hsv_diff``. OpenCV's hue of a near-grey pixel swings over the
whole circle with a one-level tint (the YUV→RGB conversion of an exact grey gives such tints
on some levels), and its saturation ``(max - min) / max`` jumps on dark pixels, so a flat
grey ramp scored 20 false cuts; a real colour differs by far more than 8 levels."""

FLAT_STD = 3.0
"""Two frames whose luma std (0–255) are both below this are flat fields (black, white, a
uniform colour, a title card's background with grain averaged away): their ``corr_lagJ`` is
their colour distance over :data:`FLAT_CHANGE` instead of a correlation of noise (which is
~1, "unrelated", and made every step of a grey ramp look like a new picture)."""

FLAT_CHANGE = 32.0
"""Colour distance (``|Δ luma| + |Δ Cb| + |Δ Cr|``, 0–255 levels) at which two flat frames
count as unrelated pictures (``corr`` 1): a grey ramp over 5 s moves ~2 levels a frame
(0.06); a cut between two colour fields moves far more than 32."""


def _measure(frames: UInt8Array, context: UInt8Array, box: ActiveBox | None = None) -> FloatArray:
    """Feature rows (N, F) of ``frames`` (N, H, W, 3) RGB, given the up to :data:`LAGS`
    frames before them (``context``, (M, H, W, 3), M may be 0), measured inside ``box``
    (the active picture; None: the whole frame).

    Every row depends only on its frame and the ``LAGS`` frames before it, computed per frame
    (never across the batch), so any batching gives the same numbers.
    """
    import cv2

    n = frames.shape[0]
    out = np.zeros((n, len(FEATURES)), np.float32)
    if n == 0:
        return out
    m = context.shape[0]
    allf = np.concatenate([context, frames]) if m else frames
    if box is not None:
        allf = box.crop(allf)
    allf = np.ascontiguousarray(allf)
    total, h, w, _ = allf.shape
    flat = allf.reshape(total * h, w, 3)
    hsv3 = np.asarray(cv2.cvtColor(flat, cv2.COLOR_RGB2HSV), np.uint8)
    # OpenCV's S = 255 (max - min) / max and V = max, so max - min = S V / 255
    grey = hsv3[..., 1].astype(np.uint16) * hsv3[..., 2] < GREY_CHROMA * 255
    hsv3[..., :2][grey] = 0
    hsv = hsv3.reshape(total, -1)
    ycc = np.asarray(cv2.cvtColor(flat, cv2.COLOR_RGB2YCrCb), np.uint8).reshape(total, h, w, 3)
    y = ycc[..., 0].reshape(total, -1).astype(np.float64)
    mean = y.mean(axis=1)
    std = y.std(axis=1)
    z = (y - mean[:, None]) / np.maximum(std, 0.5)[:, None]
    z[std < 0.5] = 0.0
    npix = y.shape[1]
    cr = ycc[..., 1].reshape(total, -1).mean(axis=1)
    cb = ycc[..., 2].reshape(total, -1).mean(axis=1)
    rows = np.arange(m, total)
    # hsv_diff against the previous frame (0 for the very first frame of the video)
    prev = rows - 1
    has_prev = prev >= 0
    diff = np.zeros(n, np.float64)
    if has_prev.any():
        a, b = hsv[rows[has_prev]], hsv[prev[has_prev]]
        diff[has_prev] = cv2.absdiff(a, b).sum(axis=1, dtype=np.uint64) / hsv.shape[1]
    out[:, COL["hsv_diff"]] = diff
    out[:, COL["luma_mean"]] = mean[m:]
    out[:, COL["luma_std"]] = std[m:]
    out[:, COL["cr_mean"]] = cr[m:]
    out[:, COL["cb_mean"]] = cb[m:]
    low = std < FLAT_STD
    for j in range(1, LAGS + 1):
        back = rows - j
        ok = back >= 0
        corr = np.zeros(n, np.float64)
        if ok.any():
            now, then = rows[ok], back[ok]
            r = np.einsum("ij,ij->i", z[now], z[then]) / npix
            colour = (np.abs(mean[now] - mean[then]) + np.abs(cb[now] - cb[then])
                      + np.abs(cr[now] - cr[then]))  # fmt: skip
            flat_pair = low[now] & low[then]
            corr[ok] = np.where(flat_pair, np.minimum(colour / FLAT_CHANGE, 1.0), 1.0 - r)
        out[:, COL[f"corr_lag{j}"]] = corr
    tw, th = THUMB_SIZE
    ys = ycc[m:, ..., 0]
    thumbs = [cv2.resize(ys[i], (tw, th), interpolation=cv2.INTER_AREA) for i in range(n)]
    first = COL["thumb_0"]
    out[:, first : first + tw * th] = np.stack(thumbs).reshape(n, -1)
    out[:, _HIST] = _histograms(ycc[m:])
    lum = y.reshape(total, h, w).astype(np.float32)
    after = rows[rows >= 1]  # frames with one before them: their change, once for both
    if after.size:
        later, earlier = lum[after], lum[after - 1]
        change = later - earlier
        at = np.nonzero(rows >= 1)[0][:, None]
        out[at, _EDGES] = _edge_profiles(change)
        out[at, _ZOOM] = _zoom_fit(later, earlier, change)
    for i, k in enumerate(rows.tolist()):
        if k >= 1:
            out[i, _MOTION] = _motion_compensated(lum[k - 1], lum[k])
            if low[k] and low[k - 1]:  # two flat fields: their colour distance, as corr_lag1
                out[i, COL["mc_corr"]] = out[i, COL["corr_lag1"]]
    return out


_MOTION = [COL["luma_diff"], COL["mc_diff"], COL["mc_corr"]]
_HIST = [COL[name] for name in FEATURES if name.startswith("hist_")]
_EDGES = np.array([COL[name] for name in FEATURES if name.startswith("diff_")])
_ZOOM = np.array([COL["zoom_rate"], COL["zoom_fit"]])


def _zoom_fit(now: FloatArray, before: FloatArray, change: FloatArray) -> FloatArray:
    """``zoom_rate`` and ``zoom_fit`` of frames ``now`` (M, H, W) float32 luma after frames
    ``before``, ``change = now - before``: float32 (M, 2); zeros under 4 pixels a side.

    Brightness constancy linearised (optical flow): the change ``I_t`` between frames
    ``k - 1`` and ``k`` equals ``-(I_x u + I_y v)`` for the motion ``(u, v)`` of each pixel;
    a translation ``(t_x, t_y)`` plus a zoom ``a`` about the picture's centre moves pixel
    ``(x, y)`` by ``(t_x + a x, t_y + a y)``. The three are fitted by least squares over the
    inner pixels (gradients by central differences of the two frames' mean); ``zoom_fit`` is
    ``1 - |residual|^2 / |I_t|^2``. A zoom of 1.5× over 30 frames moves the border of a
    64-pixel frame ~0.4 pixel a frame, well inside the linearisation. ~25 µs a frame (0.34 s
    for the 14 160 frames of a 10-minute video, profiled)."""
    m, h, w = now.shape
    out = np.zeros((m, 2), np.float32)
    if h < 4 or w < 4:
        return out
    mean = 0.5 * (now + before)
    it = change[:, 1:-1, 1:-1].reshape(m, -1)
    ix = 0.5 * (mean[:, 1:-1, 2:] - mean[:, 1:-1, :-2])
    iy = 0.5 * (mean[:, 2:, 1:-1] - mean[:, :-2, 1:-1])
    x = np.arange(1, w - 1, dtype=np.float32) - np.float32((w - 1) / 2.0)
    y = np.arange(1, h - 1, dtype=np.float32)[:, None] - np.float32((h - 1) / 2.0)
    basis = (ix.reshape(m, -1), iy.reshape(m, -1), (ix * x + iy * y).reshape(m, -1))
    # the normal equations and the residual from dot products alone:
    # |it + A theta|^2 = it.it + 2 theta.(A^T it) + theta^T (A^T A) theta
    normal = np.empty((m, 3, 3))
    for i in range(3):
        for j in range(i, 3):
            normal[:, i, j] = normal[:, j, i] = np.einsum("np,np->n", basis[i], basis[j])
    rhs = np.stack([np.einsum("np,np->n", b, it) for b in basis], axis=1).astype(np.float64)
    energy = np.maximum(np.einsum("np,np->n", it, it).astype(np.float64), 1e-9)
    theta = np.linalg.solve(normal + 1e-3 * np.eye(3), -rhs[..., None])[..., 0]
    left = energy + 2.0 * np.einsum("ni,ni->n", theta, rhs)
    left += np.einsum("ni,nij,nj->n", theta, normal, theta)
    out[:, 0] = theta[:, 2]
    out[:, 1] = 1.0 - np.maximum(left, 0.0) / energy
    return out


def _edge_profiles(change: FloatArray) -> FloatArray:
    """``diff_col_*`` and ``diff_row_*`` (:data:`EDGE_BINS`) of frames whose luma changed by
    ``change`` (M, H, W) float32 from the frame before: float32 (M, 16 + 9)."""
    cols, rows = EDGE_BINS
    _, h, w = change.shape
    d = np.abs(change)
    cstart = np.minimum(np.linspace(0, w, cols + 1).astype(np.int64)[:-1], w - 1)
    rstart = np.minimum(np.linspace(0, h, rows + 1).astype(np.int64)[:-1], h - 1)
    return np.concatenate(
        [np.maximum.reduceat(d.mean(axis=1), cstart, axis=1),  # down each column
         np.maximum.reduceat(d.mean(axis=2), rstart, axis=1)],  # across each row
        axis=1,
    ).astype(np.float32)  # fmt: skip


def _histograms(ycc: UInt8Array) -> FloatArray:
    """Luma and chroma histograms (N, 8 + 16), each row part summing to 1, of ``ycc``
    (N, H, W, 3) OpenCV YCrCb (``hist_y_*``, ``hist_c_*`` of :data:`FEATURES`)."""
    n = ycc.shape[0]
    flat = ycc.reshape(n, -1, 3)
    npix = flat.shape[1]
    base = np.arange(n)[:, None]
    yb = flat[..., 0] // (256 // HIST_LUMA_BINS)
    cb = HIST_CHROMA_BINS
    cc = (flat[..., 1] // (256 // cb)).astype(np.int64) * cb + flat[..., 2] // (256 // cb)
    hy = np.bincount((base * HIST_LUMA_BINS + yb).ravel(), minlength=n * HIST_LUMA_BINS)
    hc = np.bincount((base * cb * cb + cc).ravel(), minlength=n * cb * cb)
    both = np.concatenate([hy.reshape(n, HIST_LUMA_BINS), hc.reshape(n, cb * cb)], axis=1)
    out: FloatArray = (both / max(npix, 1)).astype(np.float32)
    return out


_WINDOWS: dict[tuple[int, int], Any] = {}


def _motion_compensated(before: FloatArray, now: FloatArray) -> tuple[float, float, float]:
    """(``luma_diff``, ``mc_diff``, ``mc_corr``) of two luma frames (H, W) float32 (see
    :data:`FEATURES`)."""
    import cv2

    h, w = now.shape
    if h < 8 or w < 8:
        d = float(np.abs(now - before).mean()) if now.size else 0.0
        return d, d, 0.0
    win = _WINDOWS.get((h, w))
    if win is None:
        win = _WINDOWS.setdefault((h, w), cv2.createHanningWindow((w, h), cv2.CV_32F))
    (dx, dy), _ = cv2.phaseCorrelate(before, now, win)
    dx = min(max(dx, -w / 4), w / 4)
    dy = min(max(dy, -h / 4), h / 4)
    shift = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    moved = cv2.warpAffine(before, shift, (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    mx, my = math.ceil(abs(dx)) + 1, math.ceil(abs(dy)) + 1
    a = now[my : h - my, mx : w - mx]
    b = moved[my : h - my, mx : w - mx]
    c = before[my : h - my, mx : w - mx]
    plain = float(cv2.norm(a, c, cv2.NORM_L1)) / a.size
    mc = min(float(cv2.norm(a, b, cv2.NORM_L1)) / a.size, plain)
    if float(cv2.meanStdDev(a)[1][0, 0]) < 0.5 or float(cv2.meanStdDev(b)[1][0, 0]) < 0.5:
        return plain, mc, 0.0
    return plain, mc, 1.0 - float(cv2.matchTemplate(a, b, cv2.TM_CCOEFF_NORMED)[0, 0])


class _Measurer:
    """Measures frames pushed one at a time, in vectorised batches; keeps the edge frames."""

    def __init__(self, box: ActiveBox | None = None) -> None:
        self.box = box
        self._batch: list[UInt8Array] = []
        self._parts: list[FloatArray] = []
        self._tail: UInt8Array | None = None
        self.head: UInt8Array | None = None
        self.count = 0

    def push(self, frame: UInt8Array) -> None:
        self._batch.append(frame)
        self.count += 1
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        frames = np.stack(self._batch)
        self._batch.clear()
        if self._tail is None:
            context = frames[:0]
            self.head = frames[:LAGS].copy()
        else:
            context = self._tail
        self._parts.append(_measure(frames, context, self.box))
        self._tail = np.concatenate([context, frames])[-LAGS:].copy()

    @property
    def tail(self) -> UInt8Array | None:
        """The last (up to :data:`LAGS`) frames pushed."""
        self._flush()
        return self._tail

    def features(self) -> FloatArray:
        """All rows so far (the first frames measured as if the video started there)."""
        self._flush()
        if not self._parts:
            return np.zeros((0, len(FEATURES)), np.float32)
        out: FloatArray = np.concatenate(self._parts)
        return out


SAMPLES = 32
"""Frames sampled across a video to find its bars (:func:`heaters.media.bars.find_active_box`)."""

BAR_LOOKAHEAD = 2048
"""Frames held back by a sequential pass (:func:`frame_features` without a box) to find the
bars before measuring: the first 2048 frames (~14 MB at 64×36; 85 s at 24 fps) decide for a
longer video read this way."""


def spread(count: int, total: int) -> list[int]:
    """Up to ``count`` frame indices spread evenly over ``range(total)`` (middles of equal
    parts), ascending."""
    if total <= 0:
        return []
    k = min(count, total)
    return sorted({int((i + 0.5) * total / k) for i in range(k)})


def frame_features(frames: Iterable[UInt8Array], box: ActiveBox | None = None) -> FloatArray:
    """Features (:data:`FEATURES`) of every frame, in one sequential pass.

    Vectorised over batches of 256 frames (OpenCV colour conversions, numpy statistics);
    ~25 µs per 64×36 frame.

    Parameters
    ----------
    frames : iterable of uint8 array (H, W, 3)
        RGB frames in decode order, all the same size (normally
        :data:`~heaters.media.frames.ANALYSIS_SIZE`).
    box : ActiveBox, optional
        The active picture to measure (see :mod:`heaters.media.bars`). Default: found from
        :data:`SAMPLES` frames spread over the first :data:`BAR_LOOKAHEAD` frames, which are
        held back until then.

    Returns
    -------
    float32 array (N, F)
        Row ``k`` describes frame ``k``; F = ``len(FEATURES)``.
    """
    return _sequential(frames, box, None)[0]


def _sequential(
    frames: Iterable[UInt8Array],
    box: ActiveBox | None,
    on_progress: Callable[[int], None] | None,
) -> tuple[FloatArray, ActiveBox | None]:
    """:func:`frame_features`, reporting progress every 64 frames and at the end; also
    returns the box used (None for no frames)."""
    it = iter(frames)
    held: list[UInt8Array] = []
    if box is None:
        held = list(itertools.islice(it, BAR_LOOKAHEAD))
        if not held:
            return np.zeros((0, len(FEATURES)), np.float32), None
        box = find_active_box(np.stack([held[i] for i in spread(SAMPLES, len(held))]))
    m = _Measurer(box)
    for frame in itertools.chain(held, it):
        m.push(frame)
        if on_progress is not None and m.count % 64 == 0:
            on_progress(m.count)
    held.clear()
    feats = m.features()
    if on_progress is not None:
        on_progress(int(feats.shape[0]))
    return feats, box


@dataclass(frozen=True)
class _ChunkFeatures:
    features: FloatArray
    head: UInt8Array | None
    tail: UInt8Array | None


def _measure_chunk(
    decoders: ChunkDecoders, chunk: Chunk, size: tuple[int, int], box: ActiveBox
) -> _ChunkFeatures:
    m = _Measurer(box)
    for frame in iter_chunk(decoders, chunk, size):
        m.push(frame)
    feats = m.features()
    return _ChunkFeatures(feats, m.head, m.tail)


@dataclass(frozen=True)
class FeatureRun:
    """What :func:`decode_features` read.

    Attributes
    ----------
    features : float32 array (N, F)
        One row per frame (see :data:`FEATURES`).
    fps : Fraction
        The stream's average frame rate (0 when unknown).
    chunks : int
        Chunks decoded in parallel (1: one sequential decode).
    box : ActiveBox or None
        The active picture the features were measured in (letterbox / pillarbox bars left
        out; see :mod:`heaters.media.bars`); None for an empty video.
    """

    features: FloatArray
    fps: Fraction
    chunks: int
    box: ActiveBox | None = None


def _merge(parts: list[_ChunkFeatures], box: ActiveBox) -> FloatArray:
    """Concatenate chunk features in stream order; each chunk's first :data:`LAGS` rows are
    recomputed with the frames before it (the previous chunks' last frames) as context."""
    out: list[FloatArray] = []
    context: UInt8Array | None = None
    for part in parts:
        feats = part.features.copy()
        if context is not None and part.head is not None and feats.shape[0]:
            head = part.head
            feats[: head.shape[0]] = _measure(head, context, box)
        out.append(feats)
        if part.tail is not None:
            context = part.tail if context is None else np.concatenate([context, part.tail])
            context = context[-LAGS:]
    return np.concatenate(out) if out else np.zeros((0, len(FEATURES)), np.float32)


def _sample_box(
    decoders: ChunkDecoders, plan: Plan, size: tuple[int, int], pool: ThreadPoolExecutor
) -> ActiveBox:
    """The active picture, from the first frame of up to :data:`SAMPLES` chunks spread over
    the stream (one seek and one keyframe decode each, on ``pool``'s threads). Raises
    ChunkMismatch."""

    def first(i: int) -> UInt8Array | None:
        return next(iter(iter_chunk(decoders, plan.chunks[i], size)), None)

    picks = [x for x in pool.map(first, spread(SAMPLES, len(plan.chunks))) if x is not None]
    if not picks:
        raise ChunkMismatch("no frame at any chunk start")
    return find_active_box(np.stack(picks))


def _parallel(
    video: Path,
    plan: Plan,
    size: tuple[int, int],
    workers: int,
    on_progress: Callable[[int], None] | None,
) -> tuple[FloatArray, ActiveBox]:
    """Measure ``plan``'s chunks on ``workers`` threads, costliest first, inside the active
    picture found first (:func:`_sample_box`); raises ChunkMismatch."""
    decoders = ChunkDecoders(video)
    parts: list[_ChunkFeatures | None] = [None] * len(plan.chunks)
    order = sorted(range(len(plan.chunks)), key=lambda i: -plan.cost(plan.chunks[i]))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="heaters-decode")
    try:
        box = _sample_box(decoders, plan, size, pool)
        futures: dict[Future[_ChunkFeatures], int] = {}
        for i in order:
            futures[pool.submit(_measure_chunk, decoders, plan.chunks[i], size, box)] = i
        done = 0
        for future in as_completed(futures):
            part = future.result()
            parts[futures[future]] = part
            done += part.features.shape[0]
            if on_progress is not None:
                on_progress(done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        decoders.close()
    if done != plan.frames:  # a frame dropped (or split into fields) in a way the plan missed
        raise ChunkMismatch(f"{done} frames from {plan.frames} packets")
    return _merge([p for p in parts if p is not None], box), box


def decode_features(
    video: Path,
    *,
    size: tuple[int, int] = ANALYSIS_SIZE,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> FeatureRun:
    """Decode ``video`` once and measure every frame (see :func:`frame_features`).

    The stream is split at keyframes (:func:`heaters.media.frames.plan_chunks`) into chunks
    that ``workers`` threads decode (one single-threaded decoder each; PyAV and OpenCV release
    the GIL), downscale to ``size`` and measure on their own, costliest chunk first (frames
    and bytes: :meth:`~heaters.media.frames.Plan.cost`) so that the threads finish together;
    the first :data:`LAGS` rows of each chunk are then recomputed with the previous chunk's
    last frames (the result equals a sequential pass exactly). A stream that cannot be split
    safely (short, one keyframe, no PTS, PTS not increasing, a seek that does not land on the
    keyframe) is decoded sequentially; the features are the same either way.

    A packet the decoder cannot decode (corrupt data) yields no frame or a concealed frame,
    as FFmpeg decides; it is not an error and the frames around it are measured as usual.

    Parameters
    ----------
    video : Path
        A media file with at least one video stream (the first one is read).
    size : tuple of int
        (width, height) of the analysis frames, in pixels; both even.
    workers : int, optional
        Decoding threads; default: the CPUs this process may use. 1 = sequential.
    on_progress : callable, optional
        Called with the number of frames measured so far, as chunks finish (every 64 frames
        when sequential), and at the end.

    Returns
    -------
    FeatureRun
        The features (float32 (N, F), one row per frame in decode order), fps and chunk
        count.

    Raises
    ------
    DetectError
        The file is missing, not media, has no video stream, or decoding fails.
    """
    n = workers if workers is not None else worker_count()
    plan = plan_chunks(video, n)
    if plan.chunks:
        try:
            feats, box = _parallel(video, plan, size, n, on_progress)
            return FeatureRun(feats, plan.fps, len(plan.chunks), box)
        except ChunkMismatch:
            pass  # rare: a stream whose seeks are not frame-exact; decode it in one go
    seq, seq_box = _sequential(read_small_frames(video, size), None, on_progress)
    return FeatureRun(seq, plan.fps, 1, seq_box)
