"""A learned second look for gradual transitions the rules leave without a boundary.

The rules of :mod:`heaters.media.gradual` and :mod:`heaters.media.structure` ask the frames
beside a dissolve or wipe to hold still (or keep their colours, or their structure) while the
span changes. A long wipe or dissolve between two shots that move as fast as it changes them
fails every one of those tests, and the two shots end up in one clip: the worst error a
reviewer can be handed (issue 19). No single threshold tells such a span from motion inside
a shot, but several measures at several time scales together do, and the development set
makes as many labelled examples of both as wanted. So this module keeps a small model,
trained on the synthetic edits of the development set's **dev** draws (never the held-out
ones; ``bench/devset/learn_spans.py`` trains it and says how it was chosen), that scores each
frame for "inside a gradual transition" from windowed features of the per-frame features
already computed (no decode). :func:`learned_spans` turns runs of high scores that no rule
explains into fallback transitions; :func:`doubted_spans` names the rules' dissolves and wipes
that the model and the structure both call motion inside a shot.

Pure: features in, frame numbers out. The model is gradient-boosted trees (scikit-learn's
``HistGradientBoostingClassifier`` at training time) stored as plain arrays in
``transition_model.json`` beside this file and evaluated with numpy: nothing beyond numpy is
needed at run time, and nothing is downloaded.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from heaters.media.boundaries import Transition
from heaters.media.gradual import (
    SIDE,
    camera_explains,
    colour_vectors,
    gradual_kind,
    motion_sums,
    new_colours,
    relit_span,
    whole_picture,
)
from heaters.media.scores import COL, FLAT_STD, THUMB_SIZE, thumbnails
from heaters.media.structure import STRUCT_MIN_RECOLOURED, structure_vectors

__all__ = [
    "MODEL_PATH",
    "SCALES",
    "WINDOW_FEATURES",
    "TreeModel",
    "doubted_spans",
    "learned_spans",
    "load_model",
    "model_from_json",
    "window_features",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MODEL_PATH = Path(__file__).with_name("transition_model.json")
"""The shipped model (:class:`TreeModel` as JSON)."""

SCALES = (4, 8, 16, 24)
"""Half-widths ``W`` (frames) of the windows each frame ``k`` is measured over: frames
``k - W`` and ``k + W`` are the window's sides, ``k - 2W`` and ``k + 2W`` how far the shots
themselves go on changing beside it. 4 sees a short dissolve, 24 a 48-frame wipe."""

_PER_SCALE = (
    "struct",  # 1 - r of the z-normalised thumbnails of frames k-W and k+W (0-2)
    "struct_ratio",  # log of that over the larger of the two sides' (k-2W..k-W, k+W..k+2W)
    "colour",  # colour distance (gradual.colour_vectors) across the window
    "colour_ratio",  # log of that over the larger side's
    "thumb",  # mean absolute thumbnail difference across (levels)
    "thumb_ratio",  # log of that over the larger side's
    "whole",  # median over mean of the thumbnail cells' change across (whole picture: ~1)
    "step_ratio",  # log of the mean frame-to-frame step inside over the larger side's
    "concentration",  # largest single step inside over the sum of the steps (a cut: ~1)
    "mc_ratio",  # log of the mean mc_corr inside over the larger side's
    "corr1",  # mean corr_lag1 inside
    "excess",  # mean (d(m, A) + d(m, B) - d(A, B)) / d(A, B) of the inside frames
    "moved_share",  # the change left inside once the camera's shift is taken out (mc_diff
    # over luma_diff, summed): a pan or shake ~0.3, a blend or a wipe ~1
    "order",  # how well the thumbnail cells' times of change line up along one direction
    # across the picture (|r|, 0-1): a wipe's edge crosses them in order (~1), a dissolve or
    # a cut changes them together, motion in no order
    "spread",  # the spread of those times (std over the window's length): a wipe ~0.2-0.3,
    # a dissolve or a cut ~0
)

WINDOW_FEATURES: tuple[str, ...] = (
    *(f"{name}_{w}" for w in SCALES for name in _PER_SCALE),
    "luma_std",
    "least_luma_std",
    "corr_lag1",
    "hsv_diff",
)
"""Names of the columns of :func:`window_features`, in order (the model stores them too)."""

MIN_RUN = 3
"""Fewest consecutive frames at or above the threshold (runs closer than :data:`GAP` frames
are one) that make a boundary: one frame alone is noise."""

GAP = 12
"""Runs of high scores at most this many frames apart are one transition (one cut)."""

EDGE = 8
"""Frames at either end of the video never start a learned boundary: their windows are cut
short by the video's ends."""

CLEAR = 3
"""A run within this many frames of a boundary the rules found is theirs (no second one)."""

EXTENT = 0.2
"""A learned transition covers the frames around its run that score at least this: on the
dev draws, cross-validated, the extents at 0.2 overlap the labelled transitions best (IoU
≥ 0.5 for 13 of 16, mean 0.74; at 0.5: 11, 0.64; the run itself at 0.8: 7, 0.53)."""

NEW_COLOUR_RATIO = 6.0
"""A camera move that explains a learned transition's change does not count where its colours
change as between two shots (:func:`heaters.media.gradual.new_colours`) by at least this
many times its sides' colour change: twice the rules' own ratio. Cross-validated over the
ten training draws at threshold 0.7: at 3 the exception adds 2 transitions with a boundary
and 2 false spans (a pan into a new part of a picture: 3.2×), at 6 the same 2 transitions and
no false span, at 9 nothing (a wipe into a shaking night shot: 56×)."""

FLASH_CLEAR = 2
"""Frames within this many frames of a flash (:func:`heaters.media.hard_cuts.flash_edges`)
are no learned boundary: a flash changes the picture as much as a short dissolve."""


def _rowcorr(za: FloatArray, zb: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 - (za * zb).mean(axis=1)
    return out


_CELL_U = (np.arange(THUMB_SIZE[0] * THUMB_SIZE[1]) % THUMB_SIZE[0] + 0.5) / THUMB_SIZE[0]
_CELL_V = (np.arange(THUMB_SIZE[0] * THUMB_SIZE[1]) // THUMB_SIZE[0] + 0.5) / THUMB_SIZE[1]
_DIRECTIONS = np.stack([_CELL_U, _CELL_V, _CELL_U + _CELL_V, _CELL_U - _CELL_V])
"""Where each thumbnail cell lies along the directions a wipe moves in (picture widths and
heights): left-right, top-bottom and the two diagonals; (4, cells)."""


def _padded(t: FloatArray, w: int) -> FloatArray:
    """``t`` (N, C) with its first and last rows repeated ``w`` times before and after: row
    ``k + j`` of every ``k`` at once is the view ``padded[w + j : w + j + N]`` (|j| <= w), the
    end rows standing in past the video's ends."""
    out: FloatArray = np.concatenate([np.repeat(t[:1], w, axis=0), t, np.repeat(t[-1:], w, axis=0)])
    return out


def _change_order(t: FloatArray, a: IntArray, b: IntArray, w: int) -> tuple[FloatArray, FloatArray]:
    """For each frame, when each thumbnail cell changes inside ``[a, b]`` (a step at the
    ``i``-th inside frame counts ``i``), weighted by how far the cell goes from ``t[a]`` to
    ``t[b]``: the largest weighted ``|r|`` of those times with the cells' places along
    :data:`_DIRECTIONS`, and the weighted std of the times over the ``2w - 1`` inside frames.
    Float (N,) each."""
    n = t.shape[0]
    ta, tb = t[a], t[b]
    d = tb - ta
    size = np.maximum(np.abs(d), 1.0)
    sign = np.where(d >= 0, 1.0, -1.0)
    late = np.zeros_like(t)
    padded = _padded(t, w)
    step = np.empty_like(t)
    for j in range(-w + 1, w):
        np.subtract(padded[w + j : w + j + n], ta, out=step)
        step *= sign
        step /= size
        np.clip(step, 0.0, 1.0, out=step)
        np.subtract(1.0, step, out=step)
        late += step
    late /= 2 * w - 1
    weight = np.maximum(np.abs(d) - 2.0, 0.0)
    total = np.maximum(weight.sum(axis=1, keepdims=True), 1e-6)
    weight = weight / total
    mean = (weight * late).sum(axis=1, keepdims=True)
    dev = late - mean
    var = (weight * dev * dev).sum(axis=1)
    best = np.zeros(n)
    for place in _DIRECTIONS:
        pm = (weight * place).sum(axis=1, keepdims=True)
        pd = place - pm
        cov = (weight * dev * pd).sum(axis=1)
        pv = (weight * pd * pd).sum(axis=1)
        r = np.abs(cov) / np.sqrt(np.maximum(var * pv, 1e-12))
        best = np.maximum(best, np.where(var * pv > 1e-9, r, 0.0))
    return best, np.sqrt(var)


_BLOCK = 8192
"""Frames of window features computed at once (:func:`window_features`): their intermediate
arrays take ~5 kB a frame, ~0.85 GB for a 2-hour film in one piece, ~40 MB a block."""


def window_features(features: npt.ArrayLike) -> FloatArray:
    """Windowed features (N, len(:data:`WINDOW_FEATURES`)) of per-frame features (N, F),
    computed in blocks of :data:`_BLOCK` frames, each with the frames its windows reach on
    either side (the same values as one pass: every window is local). See
    :func:`_window_features`."""
    f = np.asarray(features, np.float64)
    n = f.shape[0]
    if n <= 2 * _BLOCK:
        return _window_features(f)
    reach = 2 * max(SCALES) + 1
    parts = []
    for lo in range(0, n, _BLOCK):
        hi = min(n, lo + _BLOCK)
        a, b = max(0, lo - reach), min(n, hi + reach)
        parts.append(_window_features(f[a:b])[lo - a : hi - a])
    return np.concatenate(parts)


def _window_features(features: npt.ArrayLike) -> FloatArray:
    """Windowed features (N, len(:data:`WINDOW_FEATURES`)) of per-frame features (N, F)
    (:func:`heaters.media.scores.frame_features`): for each frame ``k`` and each half-width
    ``W`` of :data:`SCALES`, how much the picture changes across ``[k - W, k + W]`` in
    structure, colour and levels, against how much it changes beside the window, and how the
    change inside is spread (see ``_PER_SCALE``); then the frame's own contrast, correlation
    with the frame before and HSV difference. A window that the video's ends cut
    short has that scale's columns missing (NaN; the trees send missing values down the
    branch they learnt for them)."""
    f = np.asarray(features, np.float64)
    n = f.shape[0]
    t = thumbnails(f)
    zt = (t - t.mean(1, keepdims=True)) / np.maximum(t.std(1, keepdims=True), 1.0)
    c = colour_vectors(f)
    step = np.zeros(n)
    step[1:] = np.abs(t[1:] - t[:-1]).mean(axis=1)
    cs = np.concatenate([[0.0], np.cumsum(step)])
    cm = np.concatenate([[0.0], np.cumsum(f[:, COL["mc_corr"]])])
    c1s = np.concatenate([[0.0], np.cumsum(f[:, COL["corr_lag1"]])])
    plain = np.concatenate([[0.0], np.cumsum(f[:, COL["luma_diff"]])])
    moved = np.concatenate([[0.0], np.cumsum(f[:, COL["mc_diff"]])])
    k = np.arange(n)
    eps = 1e-3
    cols: list[FloatArray] = []

    def mean_over(csum: FloatArray, lo: IntArray, hi: IntArray) -> FloatArray:
        # mean of the per-frame values of frames lo+1 .. hi (the steps into them)
        out: FloatArray = (csum[hi + 1] - csum[lo + 1]) / np.maximum(hi - lo, 1)
        return out

    for w in SCALES:
        a, b = np.clip(k - w, 0, n - 1), np.clip(k + w, 0, n - 1)
        aa, bb = np.clip(k - 2 * w, 0, n - 1), np.clip(k + 2 * w, 0, n - 1)
        sx = _rowcorr(zt[a], zt[b])
        s_side = np.maximum(_rowcorr(zt[aa], zt[a]), _rowcorr(zt[b], zt[bb]))
        cx = np.abs(c[a] - c[b]).sum(axis=1)
        c_side = np.maximum(np.abs(c[aa] - c[a]).sum(axis=1), np.abs(c[b] - c[bb]).sum(axis=1))
        cells = np.abs(t[a] - t[b])
        tx = cells.mean(axis=1)
        t_side = np.maximum(np.abs(t[aa] - t[a]).mean(axis=1), np.abs(t[b] - t[bb]).mean(axis=1))
        whole = np.median(cells, axis=1) / np.maximum(tx, 1e-6)
        st_in = mean_over(cs, a, b)
        st_side = np.maximum(mean_over(cs, aa, a), mean_over(cs, b, bb))
        largest = np.zeros(n)
        for j in range(-w + 1, w + 1):
            largest = np.maximum(largest, step[np.clip(k + j, 0, n - 1)])
        concentration = largest / np.maximum(cs[b + 1] - cs[a + 1], 1e-6)
        mc_in = mean_over(cm, a, b)
        mc_side = np.maximum(mean_over(cm, aa, a), mean_over(cm, b, bb))
        excess = np.zeros(n)
        dab = np.maximum(tx, 1e-3)
        ta, tb = t[a], t[b]
        padded = _padded(t, w)
        for j in range(-w + 1, w):
            m = padded[w + j : w + j + n]  # frame k + j (the end frames past the ends)
            da, db = np.abs(m - ta).mean(axis=1), np.abs(m - tb).mean(axis=1)
            excess += (da + db - tx) / dab
        excess /= 2 * w - 1
        cols += [
            sx,
            np.log((sx + eps) / (s_side + eps)),
            cx,
            np.log((cx + 0.02) / (c_side + 0.02)),
            tx,
            np.log((tx + 0.5) / (t_side + 0.5)),
            whole,
            np.log((st_in + 0.1) / (st_side + 0.1)),
            concentration,
            np.log((mc_in + 0.005) / (mc_side + 0.005)),
            mean_over(c1s, a, b),
            excess,
            (moved[b + 1] - moved[a + 1] + 0.1) / (plain[b + 1] - plain[a + 1] + 0.1),
            *_change_order(t, a, b, w),
        ]
        # a window cut short by the video's ends has no sides: missing, not zero
        short = (k - 2 * w < 0) | (k + 2 * w > n - 1)
        for col in cols[-len(_PER_SCALE) :]:
            col[short] = np.nan
    std = f[:, COL["luma_std"]]
    least = std.copy()
    for j in range(-SCALES[1], SCALES[1] + 1):
        least = np.minimum(least, std[np.clip(k + j, 0, n - 1)])
    cols += [std, least, f[:, COL["corr_lag1"]], f[:, COL["hsv_diff"]]]
    return np.stack(cols, axis=1)


@dataclass(frozen=True)
class TreeModel:
    """Gradient-boosted binary trees as arrays (one row per node of every tree, trees one
    after another): ``feature`` (int, -1 at a leaf), ``threshold`` (go left when the value
    is ``<=`` it; NaN goes where ``missing_left`` says), ``left``/``right`` (row numbers),
    ``value`` (a leaf's raw score), ``roots`` (each tree's first row), ``baseline`` (the raw
    score before any tree). :meth:`predict_proba` is the sigmoid of the baseline plus every
    tree's leaf value, as scikit-learn's ``HistGradientBoostingClassifier`` computes it."""

    features: tuple[str, ...]
    feature: npt.NDArray[np.int64]
    threshold: FloatArray
    missing_left: npt.NDArray[np.bool_]
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    value: FloatArray
    roots: npt.NDArray[np.int64]
    baseline: float
    threshold_proba: float
    meta: dict[str, Any]

    def predict_proba(self, x: npt.ArrayLike) -> FloatArray:
        """Probability (N,) of class 1 for rows ``x`` (N, len(features))."""
        xs = np.asarray(x, np.float64)
        raw = np.full(xs.shape[0], self.baseline)
        rows = np.arange(xs.shape[0])
        for root in self.roots.tolist():
            node = np.full(xs.shape[0], root)
            while True:
                feat = self.feature[node]
                inner = feat >= 0
                if not inner.any():
                    break
                val = xs[rows[inner], feat[inner]]
                thr = self.threshold[node[inner]]
                go_left = np.where(np.isnan(val), self.missing_left[node[inner]], val <= thr)
                node[inner] = np.where(go_left, self.left[node[inner]], self.right[node[inner]])
            raw += self.value[node]
        out: FloatArray = 1.0 / (1.0 + np.exp(-raw))
        return out

    def to_json(self) -> dict[str, Any]:
        """The model as a JSON-able dict (:func:`load_model` reads it back)."""
        return {
            "kind": "gradient_boosted_trees",
            "features": list(self.features),
            "feature": self.feature.tolist(),
            "threshold": [round(float(v), 9) for v in self.threshold],
            "missing_left": self.missing_left.astype(int).tolist(),
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "value": [round(float(v), 9) for v in self.value],
            "roots": self.roots.tolist(),
            "baseline": self.baseline,
            "threshold_proba": self.threshold_proba,
            "meta": self.meta,
        }


def model_from_json(data: dict[str, Any]) -> TreeModel:
    """A :class:`TreeModel` from :meth:`TreeModel.to_json`'s dict.

    Raises
    ------
    ValueError
        The dict is no such model, or it was trained on other window features than
        :data:`WINDOW_FEATURES`.
    """
    if data.get("kind") != "gradient_boosted_trees":
        raise ValueError("not a gradient-boosted tree model")
    if tuple(data["features"]) != WINDOW_FEATURES:
        raise ValueError("the model was trained on other window features")
    return TreeModel(
        features=tuple(data["features"]),
        feature=np.asarray(data["feature"], np.int64),
        threshold=np.asarray(data["threshold"], np.float64),
        missing_left=np.asarray(data["missing_left"], bool),
        left=np.asarray(data["left"], np.int64),
        right=np.asarray(data["right"], np.int64),
        value=np.asarray(data["value"], np.float64),
        roots=np.asarray(data["roots"], np.int64),
        baseline=float(data["baseline"]),
        threshold_proba=float(data["threshold_proba"]),
        meta=dict(data.get("meta", {})),
    )


@functools.cache
def load_model(path: Path = MODEL_PATH) -> TreeModel | None:
    """The model at ``path`` (read once per process), or None when there is no file there
    (the rules then work alone).

    Raises
    ------
    ValueError
        The file is no model of these window features (see :func:`model_from_json`).
    """
    if not path.is_file():
        return None
    return model_from_json(json.loads(path.read_text()))


def learned_spans(
    features: npt.ArrayLike,
    taken: npt.NDArray[np.bool_],
    flashes: npt.NDArray[np.bool_],
    proba: FloatArray,
    threshold: float,
) -> list[Transition]:
    """Fallback transitions where the model sees one and the rules found nothing.

    Frames whose probability (:meth:`TreeModel.predict_proba` of :func:`window_features`) is at
    least ``threshold`` (the model's ``threshold_proba``) form runs (runs up to :data:`GAP`
    frames apart are one). A run of :data:`MIN_RUN` frames or more, away from the video's ends
    (:data:`EDGE`), from flashes (:data:`FLASH_CLEAR`) and from every boundary the rules found
    (:data:`CLEAR`), is a transition of confidence 0.5 over the frames around it that score at
    least :data:`EXTENT` (never into those same frames), of kind ``wipe`` or ``dissolve``
    (:func:`heaters.media.gradual.gradual_kind`), unless the rules' own gates say otherwise:
    its frames are flat (median luma std under :data:`heaters.media.scores.FLAT_STD`: the fade
    rules' ground), a camera move explains its change
    (:func:`heaters.media.gradual.camera_explains`; but not where the colours change as
    between two shots, :func:`heaters.media.gradual.new_colours`, across the transition or
    up to :data:`GAP` frames beyond it: a wipe into a shaking shot), only part of the picture
    changes from the frame before the run to the frame after it (the whole-picture test,
    :func:`heaters.media.gradual.whole_picture`: an object sliding into a still shot) or its
    structure barely changes (``1 - r`` of those two frames' thumbnails under
    :data:`heaters.media.structure.STRUCT_MIN_RECOLOURED`, the least any rule accepts: a shadow
    or a light change over one picture keeps it).

    Parameters
    ----------
    features : array-like float (N, F)
        Per-frame features.
    taken : bool (N,)
        Frames that are a boundary the rules found (cut frames, the frames of transitions).
    flashes : bool (N,)
        Frames of flash edges.
    proba : float (N,)
        The model's probabilities for these features.
    threshold : float
        Least probability of a run's frames (the model's ``threshold_proba``; other values
        to sweep it when training).

    Returns
    -------
    list of Transition
        Sorted, not overlapping each other or ``taken``.
    """
    f = np.asarray(features, np.float64)
    n = f.shape[0]
    if n < 2 * EDGE + MIN_RUN:
        return []
    on = proba >= threshold
    on[:EDGE] = False
    on[n - EDGE :] = False
    near_flash = np.convolve(flashes.astype(int), np.ones(2 * FLASH_CLEAR + 1, int), "same") > 0
    on &= ~near_flash
    idx = np.nonzero(on)[0]
    for a, b in zip(idx[:-1].tolist(), idx[1:].tolist(), strict=True):
        if 1 < b - a <= GAP:
            on[a:b] = True
    near_taken = np.convolve(taken.astype(int), np.ones(2 * CLEAR + 1, int), "same") > 0
    blocked = near_taken | near_flash
    blocked[:EDGE] = True
    blocked[n - EDGE :] = True
    t = thumbnails(f)
    std = f[:, COL["luma_std"]]
    sums = motion_sums(f)
    z, _ = structure_vectors(f)
    spans: list[Transition] = []

    colour = colour_vectors(f)

    def extent(k: int, j: int) -> tuple[int, int]:  # the frames around the run scoring EXTENT
        lo, hi = k, j
        while not blocked[lo - 1] and proba[lo - 1] >= EXTENT:
            lo -= 1
        while not blocked[hi] and proba[hi] >= EXTENT:
            hi += 1
        return lo, hi

    def camera(k: int, j: int) -> bool:  # the rules' camera gate, where it has sides ...
        if k <= SIDE or j + SIDE >= n or not camera_explains(sums, np.array([k]), np.array([j]))[0]:
            return False
        # ... unless the colours change as between two shots, across the extent or as much
        # as GAP frames more on either side (the scores dip inside long transitions)
        lo, hi = extent(k, j)
        starts = np.arange(max(lo - GAP, 1), lo + 1)
        los, his = np.meshgrid(starts, np.arange(hi, min(hi + GAP, n - 1) + 1))
        return not new_colours(colour, los.ravel(), his.ravel(), NEW_COLOUR_RATIO).any()

    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    for k, j in zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(),
                    strict=True):  # fmt: skip
        if (
            j - k >= MIN_RUN
            and not blocked[k:j].any()
            and float(np.median(std[k:j])) >= FLAT_STD
            and not camera(k, j)
            and bool(whole_picture(np.abs(t[k - 1] - t[j])[None, :])[0])
            and not bool(relit_span(t, np.array([k]), np.array([j]))[0])
            and 1.0 - float(z[k - 1] @ z[j]) >= STRUCT_MIN_RECOLOURED
        ):
            lo, hi = extent(k, j)
            if spans and lo <= spans[-1].end_frame:  # two runs in one transition
                lo = spans.pop().start_frame
            spans.append(Transition(lo, hi, gradual_kind(t, lo, hi), 0.5))
    return spans


DOUBT = 0.15
"""A dissolve or wipe the rules found whose frames all score under this probability is
doubted (see :func:`doubted_spans`)."""

RELIT_DOUBT = 0.6
"""A dissolve or wipe whose change may be a light or a shadow
(:data:`heaters.media.gradual.RELIT_LOOSE`) is doubted when its frames score under this
probability on average (see :func:`doubted_spans`). Scored by the model cross-validated by
draw on the ten dev draws: 10 of those 12 false spans score 0.03–0.51 (the other two 0.62
and 0.94); the dissolves and wipes found as spans that score under 0.6 and keep 10 % of
their cells changing one way have unexplained shares 0.30–0.35, above the loose fit. With
both: dev false spans 15 → 5, none of the 412 transitions lost; the ten held-out sets 9 → 7,
none lost."""

DOUBT_RATIO = 8.0
"""... when its structure changes less than this many times as much across it as beside it.
Chosen by cross-validation over the training draws (each draw scored by a model fitted on
the others; ``bench/devset/learn_spans.py`` prints the sweep): over the first six draws, at
6 (the rules' own :data:`heaters.media.structure.STRUCT_RATIO`) the doubt takes 4 false spans
and no true one, at 8 to 20, 6 and none; over the shipped model's ten, 4 at 6, 6 at 8 to 12,
7 at 15 and 20, never a true one. The smallest ratio that takes the six is kept."""


def doubted_spans(
    features: npt.ArrayLike,
    spans: list[Transition],
    proba: FloatArray,
    *,
    doubt: float = DOUBT,
    ratio: float = DOUBT_RATIO,
    relit_doubt: float = RELIT_DOUBT,
) -> list[Transition]:
    """The dissolves and wipes of ``spans`` that the model and the picture both call a change
    inside a shot:

    - motion: no frame of the span scores :data:`DOUBT` or more, and the structure across
      the span (``1 - r`` of the thumbnails of the frames before and after it) is less than
      :data:`DOUBT_RATIO` times the larger of its sides' (each side: the frame at the span's
      edge against the frame ``min(max(L, 8), 24)`` frames farther out), so the shots beside
      it do not hold still while it changes them;
    - a light or a shadow: its frames score under :data:`RELIT_DOUBT` on average, and the
      change across it looks like a light or a shadow over part of the picture
      (:func:`heaters.media.gradual.relit_span` at its loose levels).

    Fades are never doubted, nor, as motion, spans too near the video's ends to measure their
    sides.

    Returns the doubted spans (a subset of ``spans``)."""
    f = np.asarray(features, np.float64)
    n = f.shape[0]
    z, _ = structure_vectors(f)
    thumbs = thumbnails(f)
    out = []
    for t in spans:
        if t.kind in ("fade_in", "fade_out"):
            continue
        s, e = t.start_frame, t.end_frame
        # a light or a shadow needs only the frames just outside the span
        # (relit_span leaves out the reaches that fall outside the video)
        if float(proba[s:e].mean()) < relit_doubt and bool(
            relit_span(thumbs, np.array([s]), np.array([e]), loose=True)[0]
        ):
            out.append(t)
            continue
        w = min(max(e - s, 8), 24)
        if s - 1 - w < 0 or e + w > n - 1:
            continue
        if float(proba[s:e].max()) >= doubt:
            continue
        across = 1.0 - float(z[s - 1] @ z[e])
        side = max(1.0 - float(z[s - 1 - w] @ z[s - 1]), 1.0 - float(z[e] @ z[e + w]))
        if across < ratio * side:
            out.append(t)
    return out
