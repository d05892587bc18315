"""Does a learned cut decision beat the hand-set rules on held-out footage? (issue 19 item 5)

Candidates are every frame where something happens (:func:`candidates`: the rules' two cut
routes and a thumbnail-step route, all loosened), outside the transitions the rules find. Each
gets the window features of :func:`window_features` (:data:`WINDOW_FEATURES`, scale-free:
ratios to the neighbours, logs, correlation lags, flash returns, change spread, contrast,
z-normalised thumbnail steps) and a label: 1 when a labelled cut is within ±1 frame, 0 otherwise; candidates inside a
labelled gradual transition (±1) are left out of training. A logistic regression (and, with
``--gbt``, a small gradient-boosted tree model, for comparison) is trained on the **dev**
split only; its probability threshold is the one that maximises the pooled cut F1 of
out-of-fold predictions, folds grouped by video name (one name's videos in every look share
their footage, so they stay in one fold). Both methods are then scored on each split:

* ``rules``: ``scenes.result_from_features(...).cuts`` as they are;
* ``model``: the rules' transitions and fallback cuts, plus the candidates outside the
  transitions that the classifier accepts, then ``min_scene_len`` (the first of two closer
  cuts).

Scoring: ``metrics.score_video`` (cut P/R/F1 by ``prf``, ±1 frame; predicted cuts inside a
labelled transition's window are left out of the cut figures, as ``bench/detect.py
--devset`` does).

Input: ``--devset DIR`` (``DIR/manifest.json`` from ``make.py``) or ``--suites DIR ...``
(transition-suite folders with ``suite.json``; those named in ``--dev`` are the dev split,
the others held-out; the look is the folder name after its seed, ``plain`` when none).
Features are cached in ``bench/out/learn/`` (gitignored). ``--write FILE`` stores the logistic
regression (window feature names, scaler, coefficients, threshold, training videos, held-out
figures) as JSON, evaluable in numpy; ``--without NAME ...`` leaves window features out.

Prints one JSON line per (look, split, method) and a summary table on stderr.

    python bench/devset/learn.py --suites /tmp/qs/s11* /tmp/qs/s13* --dev s11 s11_dark ...
    python bench/devset/learn.py --devset bench/devset/out [--gbt] [--write FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "devset"))
from metrics import score_video, summarize  # noqa: E402

from heaters.media import fades, hard_cuts, scenes, scores  # noqa: E402
from heaters.media.scores import COL, FEATURES  # noqa: E402

CACHE = ROOT / "bench" / "out" / "learn"
PARAMS = scenes.DetectorParams()
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# --------------------------------------------------------------------------- window features

CANDIDATE_RATIO = 1.5
"""Adaptive ratio (``hsv_diff`` over the mean of 2 neighbours on each side) from which a frame
is a candidate: half the rules' 3.0, so every labelled cut of the training looks is one."""
CANDIDATE_CONTENT = 8.0
"""Least ``hsv_diff`` (0–255) of a candidate from the adaptive ratio (the rules: 15)."""
CANDIDATE_CORR = 0.5
"""Second route, loosened: ``corr_lag1`` at least this (rules: 0.7) ..."""
CANDIDATE_CORR_RATIO = 1.5
"""... and at least this times its neighbours' (rules: 2.0), ``hsv_diff`` >= 8."""
CANDIDATE_STEP_RATIO = 2.0
"""Thumbnail route: the mean absolute thumbnail step into ``k`` at least this times its
neighbours' ..."""
CANDIDATE_STEP = 6.0
"""... and at least this many luma levels (0–255)."""

WINDOW_FEATURES: tuple[str, ...] = (
    "log_hsv_ratio",
    "log_hsv",
    "log_corr1_ratio",
    "corr1",
    "corr2",
    "corr3",
    "corr4",
    "corr1_prev",
    "corr1_next",
    "return1",
    "return2",
    "return3",
    "return_over_jump",
    "motion_before",
    "motion_after",
    "spread",
    "log_std_prev",
    "log_std",
    "log_std_ratio",
    "log_mean_step",
    "log_chroma_step",
    "zstep",
    "zstep_persist",
    "log_step_ratio",
    "cross",
    "log_cross_within",
)
"""Names of the columns of :func:`window_features`, for a candidate frame ``k``:

``log_hsv_ratio``, ``log_hsv``
    ``log1p`` of the adaptive ratio of ``hsv_diff`` (over the mean of 2 neighbours on each
    side, at most 255) and of ``hsv_diff`` itself.
``log_corr1_ratio``
    ``log1p`` of ``corr_lag1[k]`` over the mean of its 2 neighbours on each side.
``corr1`` … ``corr4``
    ``corr_lag1..4`` at ``k`` (``1 - r`` of the luma with frames ``k-1`` … ``k-4``).
``corr1_prev``, ``corr1_next``
    ``corr_lag1`` at ``k - 1`` and ``k + 1`` (the neighbours' own change).
``return1`` … ``return3``
    ``corr_lag{m+1}[k+m]``: how far frame ``k + m`` is from frame ``k - 1``; small after a
    1–3 frame flash (the picture returns), large after a cut.
``return_over_jump``
    The smallest return over ``corr_lag1[k]`` (at most 4).
``motion_before``, ``motion_after``
    Mean ``corr_lag1`` over frames ``k-3 .. k-1`` and ``k+1 .. k+3``: how much the shot moves.
``spread``
    :func:`heaters.media.hard_cuts._change_spread` (median over mean of the thumbnail cells'
    change beyond their own motion: ~1 a whole new picture, ~0 a title or a lower third).
``log_std_prev``, ``log_std``, ``log_std_ratio``
    ``log1p`` of the luma std of ``k - 1`` and ``k`` and the log of their ratio.
``log_mean_step``, ``log_chroma_step``
    ``log1p`` of ``|Δ luma_mean|`` and ``|Δ cb_mean| + |Δ cr_mean|`` from ``k - 1`` to ``k``.
``zstep``
    Mean absolute difference of the z-normalised 8×4 thumbnails of ``k - 1`` and ``k``
    (brightness and contrast removed; unrelated pictures ~1.1).
``zstep_persist``
    The same between ``k - 1`` and ``k + 2`` (a cut stays, a flash goes).
``log_step_ratio``
    ``log1p`` of the mean absolute thumbnail step into ``k`` over its 2 neighbours' on each
    side.
``cross``
    The least ``1 - r`` between a frame of ``k .. k+3`` and one of ``k-4 .. k-1`` that the
    features hold (``corr_lag1..4[k]``, ``corr_lag2..4[k+1]``, ``corr_lag3..4[k+2]``,
    ``corr_lag4[k+3]``): a cut keeps every pair across it unrelated, a flash does not.
``log_cross_within``
    The log of ``(mean of those cross pairs + 0.05)`` over ``(the larger of the mean
    ``corr_lag1..3`` of ``k - 1`` and of ``k + 3`` + 0.05)``: pairs across ``k`` against
    pairs on one side of it (grain, motion and coding noise decorrelate both).
"""


def _col(f: FloatArray, name: str) -> FloatArray:
    out: FloatArray = f[:, COL[name]]
    return out


def _zthumbs(f: FloatArray) -> FloatArray:
    t = scores.thumbnails(f)
    mu = t.mean(axis=1, keepdims=True)
    sd = t.std(axis=1, keepdims=True)
    out: FloatArray = (t - mu) / np.maximum(sd, 1.0)
    return out


def _steps(f: FloatArray) -> FloatArray:
    t = scores.thumbnails(f)
    step = np.zeros(f.shape[0])
    step[1:] = np.abs(t[1:] - t[:-1]).mean(axis=1)
    return step


def _as_f64(features: npt.ArrayLike) -> FloatArray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] != len(FEATURES):
        raise ValueError(f"features must be (N, {len(FEATURES)}), not {f.shape}")
    return f


def candidates(features: npt.ArrayLike, params: scenes.DetectorParams | None = None) -> IntArray:
    """Frames where something happens: any of three loosened cut routes.

    * the adaptive ratio of ``hsv_diff`` (PySceneDetect's, ``params.window`` neighbours) at
      least :data:`CANDIDATE_RATIO` with ``hsv_diff`` >= :data:`CANDIDATE_CONTENT`;
    * ``corr_lag1`` >= :data:`CANDIDATE_CORR` and >= :data:`CANDIDATE_CORR_RATIO` times its
      neighbours', ``hsv_diff`` >= :data:`CANDIDATE_CONTENT`;
    * the thumbnail step >= :data:`CANDIDATE_STEP` and >= :data:`CANDIDATE_STEP_RATIO` times
      its neighbours'.

    Parameters
    ----------
    features : float32 array (N, F)
        As from :func:`heaters.media.scores.frame_features`.
    params : DetectorParams, optional
        Only ``window`` is used (default: the rules' defaults).

    Returns
    -------
    int64 array (M,)
        Candidate frames, ascending, never 0.
    """
    params = params or scenes.DetectorParams()
    f = _as_f64(features)
    n = f.shape[0]
    hsv = _col(f, "hsv_diff").copy()
    if n:
        hsv[0] = 0.0
    loose = replace(params, threshold=CANDIDATE_RATIO, min_content=CANDIDATE_CONTENT)
    adaptive = hard_cuts._adaptive(hsv, loose)[0]
    corr1 = _col(f, "corr_lag1")
    second = (corr1 >= CANDIDATE_CORR) & (
        hard_cuts._ratio(corr1, params.window) >= CANDIDATE_CORR_RATIO
    )
    second &= hsv >= CANDIDATE_CONTENT
    step = _steps(f)
    third = (step >= CANDIDATE_STEP) & (hard_cuts._ratio(step, params.window) >= CANDIDATE_STEP_RATIO)
    mask = np.zeros(n, bool)
    mask[adaptive] = True
    mask |= second | third
    if n:
        mask[0] = False
    return np.nonzero(mask)[0].astype(np.int64)


def window_features(
    features: npt.ArrayLike,
    cand: npt.ArrayLike,
    params: scenes.DetectorParams | None = None,
) -> FloatArray:
    """The numbers of :data:`WINDOW_FEATURES` for each candidate frame.

    Parameters
    ----------
    features : float32 array (N, F)
        As from :func:`heaters.media.scores.frame_features`.
    cand : int array (M,)
        Candidate frames, each in ``1 .. N-1``.
    params : DetectorParams, optional
        Only ``window`` is used (the neighbours of the ratios; default: the rules' 2).

    Returns
    -------
    float64 array (M, len(WINDOW_FEATURES))
        Frames beyond either end are read as the end frame.
    """
    f = _as_f64(features)
    k = np.asarray(cand, dtype=np.int64).reshape(-1)
    n = f.shape[0]
    params = params or scenes.DetectorParams()
    out = np.zeros((k.shape[0], len(WINDOW_FEATURES)))
    if k.shape[0] == 0:
        return out
    if n < 2 or k.min() < 1 or k.max() >= n:
        raise ValueError("candidates must lie in 1 .. N-1")
    w = params.window

    def at(x: FloatArray, d: int) -> FloatArray:
        r: FloatArray = x[np.clip(k + d, 0, n - 1)]
        return r

    hsv = _col(f, "hsv_diff").copy()
    hsv[0] = 0.0
    corr = [_col(f, f"corr_lag{j}") for j in range(1, 5)]
    corr1 = corr[0]
    std = _col(f, "luma_std")
    mean = _col(f, "luma_mean")
    chroma = f[:, [COL["cb_mean"], COL["cr_mean"]]]
    z = _zthumbs(f)
    step = _steps(f)
    thumbs = scores.thumbnails(f)
    returns = [at(corr[m], m) for m in range(1, 4)]
    jump = np.maximum(at(corr1, 0), 1e-3)
    cols: dict[str, FloatArray] = {
        "log_hsv_ratio": np.log1p(at(hard_cuts._ratio(hsv, w), 0)),
        "log_hsv": np.log1p(at(hsv, 0)),
        "log_corr1_ratio": np.log1p(at(hard_cuts._ratio(corr1, w), 0)),
        "corr1": at(corr1, 0),
        "corr2": at(corr[1], 0),
        "corr3": at(corr[2], 0),
        "corr4": at(corr[3], 0),
        "corr1_prev": at(corr1, -1),
        "corr1_next": at(corr1, 1),
        "return1": returns[0],
        "return2": returns[1],
        "return3": returns[2],
        "return_over_jump": np.minimum(np.min(returns, axis=0) / jump, 4.0),
        "motion_before": np.mean([at(corr1, -d) for d in (1, 2, 3)], axis=0),
        "motion_after": np.mean([at(corr1, d) for d in (1, 2, 3)], axis=0),
        "spread": np.array([hard_cuts._change_spread(thumbs, int(x)) for x in k]),
        "log_std_prev": np.log1p(at(std, -1)),
        "log_std": np.log1p(at(std, 0)),
        "log_std_ratio": np.log((at(std, 0) + 1.0) / (at(std, -1) + 1.0)),
        "log_mean_step": np.log1p(np.abs(at(mean, 0) - at(mean, -1))),
        "log_chroma_step": np.log1p(
            np.abs(chroma[k] - chroma[np.clip(k - 1, 0, n - 1)]).sum(axis=1)
        ),
        "zstep": np.abs(z[k] - z[k - 1]).mean(axis=1),
        "zstep_persist": np.abs(z[np.clip(k + 2, 0, n - 1)] - z[k - 1]).mean(axis=1),
        "log_step_ratio": np.log1p(at(hard_cuts._ratio(step, w), 0)),
    }
    pairs = [at(corr[j - 1], d) for d in range(4) for j in range(d + 1, 5)]
    cross_mean = np.mean(pairs, axis=0)
    within = np.maximum(
        np.mean([at(corr[j], -1) for j in range(3)], axis=0),
        np.mean([at(corr[j], 3) for j in range(3)], axis=0),
    )
    cols["cross"] = np.min(pairs, axis=0)
    cols["log_cross_within"] = np.log((cross_mean + 0.05) / (within + 0.05))
    for i, name in enumerate(WINDOW_FEATURES):
        out[:, i] = cols[name]
    return out


@dataclass
class Video:
    name: str  # unique: folder/name
    group: str  # footage: videos of one group never straddle a CV fold
    look: str
    split: str
    path: Path
    label: dict[str, Any]
    features: npt.NDArray[np.float32] | None = None


def _look_of(folder: str) -> str:
    m = re.match(r"^s\d+_?(.*)$", folder)
    return (m.group(1) if m else folder) or "plain"


def load_suites(folders: list[Path], dev: set[str]) -> list[Video]:
    out = []
    for d in folders:
        suite = json.loads((d / "suite.json").read_text())
        for v in suite["videos"]:
            label = {
                "cuts": v["cuts"],
                "transitions": v["transitions"],
                "events": v.get("events", []),
                "frame_count": v.get("frame_count", 0),
                "fps": float(Fraction(str(suite.get("fps", 24)))),
            }
            split = "dev" if d.name in dev else "heldout"
            out.append(
                Video(
                    f"{d.name}/{v['name']}",
                    v["name"],
                    _look_of(d.name),
                    split,
                    d / v["video"],
                    label,
                )
            )
    return out


def load_devset(folder: Path) -> list[Video]:
    man = json.loads((folder / "manifest.json").read_text())
    out = []
    for v in man["videos"]:
        label = {k: v.get(k, []) for k in ("cuts", "transitions", "events")}
        label["frame_count"] = v.get("frame_count", 0)
        label["fps"] = float(Fraction(str(v.get("fps", 24))))
        out.append(
            Video(
                f"{v['split']}/{v['name']}",
                v["name"],
                v["look"],
                v["split"],
                folder / v["path"],
                label,
            )
        )
    return out


def features_of(v: Video) -> npt.NDArray[np.float32]:
    """``scores.decode_features(path).features``, cached by path, size, mtime and detector."""
    st = v.path.stat()
    key = f"{v.path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{scenes.DETECTOR_NAME}"
    file = CACHE / (hashlib.sha1(key.encode()).hexdigest()[:20] + ".npy")
    if file.exists():
        return np.asarray(np.load(file), np.float32)
    feats = scores.decode_features(v.path).features
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(file, feats)
    return feats


# --------------------------------------------------------------------------- candidates


@dataclass
class Cands:
    frames: npt.NDArray[np.int64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.int64]
    train: npt.NDArray[np.bool_]  # outside labelled transitions (±1) and any cut window
    rules_cuts: list[int]
    fixed_cuts: list[int]  # the rules' fallback cuts (kept by the model method)
    transitions: list[dict[str, Any]]


def rules_parts(f: npt.NDArray[np.float32]) -> tuple[Any, npt.NDArray[np.bool_], list[int]]:
    """The rules' result, the frames blocked for hard cuts (inside their transitions, as
    ``result_from_features`` blocks them) and their fallback cuts."""
    res = scenes.result_from_features(f, Fraction(24), PARAMS)
    n = f.shape[0]
    faded = fades.scan_fades(f.astype(np.float64), PARAMS)
    blocked = np.zeros(n + 1, bool)
    for t in res.transitions:
        if t.kind.startswith("fade"):
            blocked[t.start_frame : t.end_frame + 1] = True
        else:
            blocked[max(0, t.start_frame - 1) : t.end_frame + 2] = True
    for k in faded.allowed_cuts:
        blocked[k] = False
    found, _ = hard_cuts.scan_cuts(f.astype(np.float64), PARAMS, blocked[:n])
    fallback = sorted(set(res.cuts) - {k for k, _ in found})
    return res, blocked[:n], fallback


def candidates_of(v: Video) -> Cands:
    f = v.features
    assert f is not None
    res, blocked, fallback = rules_parts(f)
    cand = candidates(f, PARAMS)
    cand = cand[~blocked[cand]]
    x = window_features(f, cand, PARAMS)
    cuts = np.asarray(v.label["cuts"], np.int64)
    y = np.array(
        [bool(cuts.size) and np.min(np.abs(cuts - k)) <= 1 for k in cand.tolist()], np.int64
    )
    in_trans = np.array(
        [any(t["start_frame"] - 1 <= k <= t["end_frame"] + 1 for t in v.label["transitions"])
         for k in cand.tolist()], bool,
    )  # fmt: skip
    trans = [
        {"start_frame": t.start_frame, "end_frame": t.end_frame, "kind": t.kind}
        for t in res.transitions
    ]
    return Cands(cand, x, y, (y == 1) | ~in_trans, list(res.cuts), fallback, trans)


def model_cuts(c: Cands, prob: npt.NDArray[np.float64], threshold: float) -> list[int]:
    """Accepted candidates and the fallback cuts, ``min_scene_len`` apart (first wins;
    a fallback cut always stays)."""
    chosen = sorted(
        [(int(k), False) for k, p in zip(c.frames, prob, strict=True) if p >= threshold]
        + [(k, True) for k in c.fixed_cuts]
    )
    out: list[int] = []
    last = 0
    for k, fixed in chosen:
        if fixed or k - last >= PARAMS.min_scene_len:
            out.append(k)
            last = k
    return sorted(set(out))


# --------------------------------------------------------------------------- models


class Logistic:
    def __init__(self, c: float = 1.0) -> None:
        self.c = c
        self.names: list[str] = list(WINDOW_FEATURES)

    def fit(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> Logistic:
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
        from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

        self.scaler = StandardScaler().fit(x)
        self.scaler.scale_ = np.where(self.scaler.scale_ > 1e-9, self.scaler.scale_, 1.0)
        self.lr = LogisticRegression(C=self.c, max_iter=5000).fit(self.scaler.transform(x), y)
        return self

    def prob(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """In numpy from the fitted numbers (as a shipped model would evaluate them)."""
        if x.shape[0] == 0:
            return np.zeros(0)
        z = (x - self.scaler.mean_) / self.scaler.scale_
        logit = np.clip(z @ self.lr.coef_[0] + self.lr.intercept_[0], -50.0, 50.0)
        out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logit))
        return out

    def to_json(self, threshold: float, info: dict[str, Any]) -> dict[str, Any]:
        """Everything needed to evaluate it in numpy: features, scaler, coefficients."""
        return {
            "kind": "logistic_regression",
            "features": self.names,
            "scaler_mean": [round(float(v), 8) for v in self.scaler.mean_],
            "scaler_scale": [round(float(v), 8) for v in self.scaler.scale_],
            "coef": [round(float(v), 8) for v in self.lr.coef_[0]],
            "intercept": round(float(self.lr.intercept_[0]), 8),
            "threshold": threshold,
            "min_scene_len": PARAMS.min_scene_len,
            **info,
        }


class Trees:
    """Gradient-boosted depth-2 trees; evaluated in numpy from their exported arrays."""

    def fit(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> Trees:
        from sklearn.ensemble import GradientBoostingClassifier  # type: ignore[import-untyped]

        gb = GradientBoostingClassifier(
            n_estimators=100, max_depth=2, learning_rate=0.1, subsample=0.8, random_state=0
        ).fit(x, y)
        self.init = float(np.log(y.mean() / (1 - y.mean())))
        self.lr = gb.learning_rate
        self.trees = [
            {
                "feature": t.tree_.feature.tolist(),
                "threshold": t.tree_.threshold.tolist(),
                "left": t.tree_.children_left.tolist(),
                "right": t.tree_.children_right.tolist(),
                "value": t.tree_.value[:, 0, 0].tolist(),
            }
            for t in gb.estimators_[:, 0]
        ]
        assert np.allclose(self.prob(x), gb.predict_proba(x)[:, 1], atol=1e-6)
        return self

    def prob(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        logit = np.full(x.shape[0], self.init)
        for t in self.trees:
            node = np.zeros(x.shape[0], np.int64)
            for _ in range(8):
                leaf = np.asarray(t["left"])[node] < 0
                if leaf.all():
                    break
                feat = np.asarray(t["feature"])[node]
                go_left = (
                    x[np.arange(x.shape[0]), np.maximum(feat, 0)]
                    <= np.asarray(t["threshold"])[node]
                )
                nxt = np.where(go_left, np.asarray(t["left"])[node], np.asarray(t["right"])[node])
                node = np.where(leaf, node, nxt)
            logit += self.lr * np.asarray(t["value"])[node]
        out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logit))
        return out


def make(kind: str) -> Logistic | Trees:
    return Logistic() if kind == "logistic" else Trees()


def stack(
    cs: list[Cands], train_only: bool
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    xs = [c.x[c.train] if train_only else c.x for c in cs]
    ys = [c.y[c.train] if train_only else c.y for c in cs]
    return np.concatenate(xs), np.concatenate(ys)


def scored(videos: list[Video], cuts: list[list[int]], cands: list[Cands]) -> dict[str, Any]:
    counts = [
        score_video({"cuts": k, "transitions": c.transitions}, v.label)
        for v, k, c in zip(videos, cuts, cands, strict=True)
    ]
    return summarize(counts)


def choose_threshold(
    kind: str, videos: list[Video], cands: list[Cands], folds: int
) -> tuple[float, dict[str, Any], list[npt.NDArray[np.float64]]]:
    """Out-of-fold probabilities (folds by video group) and the threshold that maximises the
    pooled cut F1 of the whole decision (the middle of the best plateau)."""
    groups = sorted({v.group for v in videos})
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    oof: list[npt.NDArray[np.float64]] = [np.zeros(0)] * len(videos)
    for f in range(folds):
        tr = [c for v, c in zip(videos, cands, strict=True) if fold_of[v.group] != f]
        x, y = stack(tr, True)
        m = make(kind).fit(x, y)
        for i, v in enumerate(videos):
            if fold_of[v.group] == f:
                oof[i] = m.prob(cands[i].x)
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    f1s = []
    for t in grid:
        s = scored(
            videos, [model_cuts(c, p, float(t)) for c, p in zip(cands, oof, strict=True)], cands
        )
        f1s.append(s["cut_f1"])
    best = max(f1s)
    at = [float(t) for t, f in zip(grid, f1s, strict=True) if f >= best - 1e-9]
    # the longest run of best thresholds, its middle
    runs: list[list[float]] = []
    for t in at:
        if runs and abs(t - runs[-1][-1] - 0.01) < 1e-6:
            runs[-1].append(t)
        else:
            runs.append([t])
    run = max(runs, key=len)
    thr = run[len(run) // 2]
    cv = scored(videos, [model_cuts(c, p, thr) for c, p in zip(cands, oof, strict=True)], cands)
    return thr, {"cv_cut_f1": best, "plateau": [run[0], run[-1]], **_short(cv)}, oof


def _short(s: dict[str, Any]) -> dict[str, Any]:
    keys = ("videos", "cut_precision", "cut_recall", "cut_f1", "cut_tp", "cut_fp", "cut_fn")
    return {k: s[k] for k in keys if k in s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--devset", type=Path, help="folder of manifest.json")
    src.add_argument("--suites", type=Path, nargs="+", help="suite folders (suite.json)")
    ap.add_argument("--dev", nargs="*", default=[], help="suite folder names of the dev split")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument(
        "--group",
        choices=("footage", "video"),
        default="footage",
        help="CV folds by video name across looks (footage) or by single video",
    )
    ap.add_argument("--gbt", action="store_true", help="also a gradient-boosted tree model")
    ap.add_argument(
        "--without",
        nargs="*",
        default=[],
        choices=WINDOW_FEATURES,
        metavar="NAME",
        help="window features to leave out",
    )
    ap.add_argument(
        "--write",
        type=Path,
        metavar="JSON",
        help="store the logistic model (features, scaler, coefficients, threshold)",
    )
    args = ap.parse_args()

    videos = load_devset(args.devset) if args.devset else load_suites(args.suites, set(args.dev))
    for v in videos:
        if args.group == "video":
            v.group = v.name
        v.features = features_of(v)
        if not v.label["frame_count"]:
            v.label["frame_count"] = int(v.features.shape[0])
    cands = [candidates_of(v) for v in videos]
    keep = [i for i, n in enumerate(WINDOW_FEATURES) if n not in args.without]
    for c in cands:
        c.x = c.x[:, keep]
    dev = [i for i, v in enumerate(videos) if v.split == "dev"]
    if not dev:
        sys.exit("no dev videos")
    dv, dc = [videos[i] for i in dev], [cands[i] for i in dev]
    folds = min(args.folds, len({v.group for v in dv}))

    # candidate recall: labelled cuts (outside labelled transitions) with a candidate within ±1
    miss = 0
    total = 0
    for v, c in zip(videos, cands, strict=True):
        for k in v.label["cuts"]:
            total += 1
            miss += not np.any(np.abs(c.frames - k) <= 1)
    print(f"candidates: {sum(len(c.frames) for c in cands)}, labelled cuts {total}, "
          f"without a candidate {miss}", file=sys.stderr)  # fmt: skip

    kinds = ["logistic"] + (["trees"] if args.gbt else [])
    methods: dict[str, tuple[list[list[int]], dict[str, Any]]] = {
        "rules": ([c.rules_cuts for c in cands], {})
    }
    written: dict[str, Any] = {}
    for kind in kinds:
        thr, cv, _ = choose_threshold(kind, dv, dc, folds)
        x, y = stack(dc, True)
        m = make(kind).fit(x, y)
        cuts = [model_cuts(c, m.prob(c.x), thr) for c in cands]
        methods[kind] = (cuts, {"threshold": thr, "cv": cv, "train_candidates": len(y),
                                "train_positives": int(y.sum())})  # fmt: skip
        if kind == "logistic":
            written = {
                "model": m,
                "threshold": thr,
                "cv": cv,
                "n": len(y),
                "pos": int(y.sum()),
            }

    lines: list[dict[str, Any]] = []
    looks = sorted({v.look for v in videos})
    for split in ("dev", "heldout"):
        for look in [*looks, "pooled"]:
            idx = [i for i, v in enumerate(videos)
                   if v.split == split and (look == "pooled" or v.look == look)]  # fmt: skip
            if not idx:
                continue
            for name, (cuts, extra) in methods.items():
                s = scored(
                    [videos[i] for i in idx], [cuts[i] for i in idx], [cands[i] for i in idx]
                )
                line = {"look": look, "split": split, "method": name, **_short(s), **extra}
                lines.append(line)
                print(json.dumps(line))
    # the table
    print(f"\n{'split':8} {'look':14} " + " ".join(f"{m:>22}" for m in methods), file=sys.stderr)
    for split in ("dev", "heldout"):
        for look in [*looks, "pooled"]:
            row = {x["method"]: x for x in lines if x["split"] == split and x["look"] == look}
            if row:
                cells = [f"{row[m]['cut_f1']:.3f} (P{row[m]['cut_precision']:.2f} R{row[m]['cut_recall']:.2f})"
                         for m in methods]  # fmt: skip
                print(
                    f"{split:8} {look:14} " + " ".join(f"{c:>22}" for c in cells), file=sys.stderr
                )
    for kind in kinds:
        print(f"{kind}: threshold {methods[kind][1]['threshold']}, cv {methods[kind][1]['cv']}",
              file=sys.stderr)  # fmt: skip

    if args.write and written:
        held = {
            (x["look"], x["method"]): {k: x[k] for k in ("cut_precision", "cut_recall", "cut_f1")}
            for x in lines if x["split"] == "heldout"
        }  # fmt: skip
        info = {
            "training": {
                "script": "bench/devset/learn.py",
                "candidates": written["n"],
                "positives": written["pos"],
                "dev_videos": [v.name for v in dv],
                "heldout_videos": [v.name for v in videos if v.split == "heldout"],
                "threshold_by": f"{folds}-fold cross-validation by video name on dev, pooled cut F1",
                "cv": written["cv"],
            },
            "heldout": {f"{look}/{m}": v for (look, m), v in sorted(held.items())},
        }
        written["model"].names = [WINDOW_FEATURES[i] for i in keep]
        data = written["model"].to_json(written["threshold"], info)
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {args.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
