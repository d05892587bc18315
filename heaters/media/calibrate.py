"""Calibration of the detector's decision layer from reviewers' labels (pure, no I/O).

The fast detector (:mod:`heaters.media.scenes`) is two stages: per-frame features, computed
once and stored, then rules with thresholds (:class:`~heaters.media.scenes.DetectorParams`)
applied by :func:`~heaters.media.scenes.result_from_features`. Re-fitting the thresholds to a
collection's footage therefore needs no decoding: this module searches ``DetectorParams``
values on stored features against the boundaries reviewers settled (``boundary_labels``,
folded per video by :func:`fold_labels`), with cross-validation by video, and reports
precision / recall / F1 before and after on the held-out videos.

Scoring (:func:`score`) only judges what the labels say: a labelled cut is found by a
predicted cut within ``tol`` frames or a predicted transition span around it; a labelled
gradual span by a predicted span or cut overlapping it (``tol`` frames of slack); a predicted
boundary that matches no label is a false one only where the labels say there is no cut
(``not_cut`` frames, ``tol`` frames of slack); elsewhere nobody has looked, so it is not
counted.

The search (:func:`fit`) starts from the collection's active profile (or the defaults) and,
separately, from the defaults: the adaptive cut rule's two thresholds on their joint grid
(:data:`JOINT`), then coordinate descent over :data:`SEARCH_SPACE`, one threshold at a time,
each of its values tried, a change kept only when it raises the pooled F1 of the training
videos (or keeps it with fewer errors; a tie keeps the value), for at most ``rounds``
passes; the better end point wins. The dissolve/wipe search of
``scenes`` is memoised while it runs on its own inputs, so trying a cut threshold does not
redo it (:class:`heaters.media.gradual.GradualCache`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from heaters.media import scenes
from heaters.media.boundaries import SceneResult
from heaters.media.gradual import GradualCache
from heaters.media.scenes import DetectorParams

LABELS: tuple[str, ...] = ("cut", "not_cut", "gradual")
"""The kinds of boundary label (``boundary_labels.label``)."""

SEARCH_SPACE: dict[str, tuple[float | int, ...]] = {
    "threshold": (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0),
    "min_content": (5.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0),
    "min_scene_len": (4, 6, 8, 10, 12, 16),
    "same_picture": (0.1, 0.15, 0.2, 0.25, 0.3, 0.4),
    "new_picture": (0.5, 0.6, 0.7, 0.8, 0.9),
    "new_picture_ratio": (1.5, 2.0, 2.5, 3.0),
    "flash_return": (0.25, 0.35, 0.45),
    "flat_std": (1.5, 2.5, 4.0, 6.0),
    "gradual_min_change": (10.0, 13.0, 16.0, 20.0),
    "gradual_max_excess": (0.1, 0.15, 0.2, 0.25),
    "gradual_min_structure": (0.3, 0.5, 0.7),
}
"""The thresholds the search moves and the values it tries (the defaults are among them).
Cut thresholds first: they are cheap to try (the dissolve search is memoised across them)."""


# --------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class LabelledVideo:
    """One video's stored features and its folded labels.

    ``features``: float32 (N, F) as :func:`~heaters.media.scenes.result_from_features`
    takes them; ``fps`` its frame rate; ``cuts``: frames that start a new shot (sorted);
    ``not_cut``: bool (N,), True where no cut starts; ``gradual``: labelled transition
    spans ``[start, end)``. ``key``: the caller's name for it (a video id).
    """

    key: Any
    features: npt.NDArray[np.float32]
    fps: Fraction
    cuts: tuple[int, ...]
    not_cut: npt.NDArray[np.bool_]
    gradual: tuple[tuple[int, int], ...] = ()

    @property
    def frame_count(self) -> int:
        """Frames (rows of ``features``)."""
        return int(self.features.shape[0])

    @property
    def labelled(self) -> int:
        """Labelled boundaries (cuts and gradual spans)."""
        return len(self.cuts) + len(self.gradual)


def fold_labels(
    rows: Sequence[tuple[int, int, str]], frame_count: int
) -> tuple[tuple[int, ...], npt.NDArray[np.bool_], tuple[tuple[int, int], ...]]:
    """Fold label rows ``(start_frame, end_frame, label)``, oldest first, into what a video's
    boundaries are: ``(cuts, not_cut, gradual)`` as :class:`LabelledVideo` holds them.

    A later label wins where it disagrees with an earlier one (a split that a later merge
    took back is no cut): a cut at ``k`` clears ``not_cut[k]`` and drops gradual spans that
    hold it; a ``not_cut`` span drops the cuts and gradual spans that start in it; a gradual
    span drops the cuts inside it. Frames out of range are clipped. Raises ValueError for an
    unknown label.
    """
    cuts: set[int] = set()
    not_cut = np.zeros(frame_count, bool)
    gradual: list[tuple[int, int]] = []
    for start, end, label in rows:
        s, e = max(0, int(start)), min(frame_count, int(end))
        if s >= e:
            continue
        if label == "cut":
            cuts.add(s)
            not_cut[s] = False
            gradual = [g for g in gradual if not g[0] <= s < g[1]]
        elif label == "not_cut":
            not_cut[s:e] = True
            cuts = {c for c in cuts if not s <= c < e}
            gradual = [g for g in gradual if not s <= g[0] < e]
        elif label == "gradual":
            gradual = [g for g in gradual if g[1] <= s or g[0] >= e]
            gradual.append((s, e))
            cuts = {c for c in cuts if not s < c < e}
            not_cut[s:e] = False
        else:
            raise ValueError(f"unknown boundary label {label!r}: use one of {', '.join(LABELS)}")
    return tuple(sorted(cuts)), not_cut, tuple(sorted(gradual))


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Counts:
    """Labelled boundaries found (``tp``), missed (``fn``), and predicted boundaries the
    labels say are none (``fp``); they add up over videos."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 with no prediction judged."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 with no labelled boundary."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0.0 when both are 0)."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """``{"precision", "recall", "f1", "tp", "fp", "fn"}`` (rates rounded to 4 places)."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def score(
    result: SceneResult,
    video: LabelledVideo,
    *,
    tol: int = 1,
    frames: tuple[int, int] | None = None,
) -> Counts:
    """Judge ``result`` against ``video``'s labels (see the module docstring), within
    ``frames`` = ``[lo, hi)`` (a boundary belongs to the frame it starts on; None: all)."""
    lo, hi = frames if frames is not None else (0, video.frame_count)
    cuts = [c for c in result.cuts if lo <= c < hi]
    spans = [(t.start_frame, t.end_frame) for t in result.transitions if lo <= t.start_frame < hi]
    truth = [c for c in video.cuts if lo <= c < hi]
    grad = [g for g in video.gradual if lo <= g[0] < hi]
    used_c = [False] * len(cuts)
    used_s = [False] * len(spans)

    def take_cut(a: int, b: int, near: int) -> bool:  # the nearest free cut in [a, b]
        best = -1
        for i, c in enumerate(cuts):
            if used_c[i] or not a <= c <= b:
                continue
            if best < 0 or abs(c - near) < abs(cuts[best] - near):
                best = i
        if best >= 0:
            used_c[best] = True
        return best >= 0

    def take_span(a: int, b: int) -> bool:  # a free span with a frame in [a, b]
        for i, (s, e) in enumerate(spans):
            if not used_s[i] and s <= b and a <= e:
                used_s[i] = True
                return True
        return False

    tp = 0
    missed: list[int] = []
    for c in truth:
        if take_cut(c - tol, c + tol, c):
            tp += 1
        else:
            missed.append(c)
    for c in missed:
        tp += take_span(c - tol, c + tol)
    for s, e in grad:
        tp += take_span(s - tol, e + tol - 1) or take_cut(s - tol, e + tol - 1, s)
    fn = len(truth) + len(grad) - tp
    nc = video.not_cut

    def on_not_cut(a: int, b: int) -> bool:
        return bool(nc[max(0, a - tol) : max(0, b + tol + 1)].any())

    fp = sum(on_not_cut(c, c) for c, u in zip(cuts, used_c, strict=True) if not u)
    fp += sum(on_not_cut(s, e) for (s, e), u in zip(spans, used_s, strict=True) if not u)
    return Counts(tp, fp, fn)


@dataclass(frozen=True)
class Unit:
    """A piece of the labelled material: frames ``[lo, hi)`` of ``videos[video]``. Folds are
    made of units: whole videos, or parts of them when there are too few videos."""

    video: int
    lo: int
    hi: int


def units_of(videos: Sequence[LabelledVideo], least: int = 3) -> list[Unit]:
    """Whole videos when there are at least ``least``; otherwise each video cut into equal
    parts so that there are ``least`` or more (cross-validation by part of a video)."""
    return split_units([Unit(i, 0, v.frame_count) for i, v in enumerate(videos)], least)


def split_units(units: Sequence[Unit], least: int = 3) -> list[Unit]:
    """``units`` as they are when there are at least ``least``; otherwise each cut into
    equal parts so that there are ``least`` or more."""
    if len(units) >= least or not units:
        return list(units)
    parts = -(-least // len(units))
    out = []
    for u in units:
        edges = np.linspace(u.lo, u.hi, parts + 1).astype(int)
        out += [Unit(u.video, int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]
    return out


class Evaluator:
    """Scores parameter sets on units of ``videos``, caching each video's result per
    parameter set (the search comes back to the same point often)."""

    def __init__(self, videos: Sequence[LabelledVideo], *, tol: int = 1) -> None:
        self.videos = list(videos)
        self.tol = tol
        self._results: dict[tuple[int, DetectorParams], SceneResult] = {}
        self._gradual = GradualCache()

    def result(self, i: int, params: DetectorParams) -> SceneResult:
        """``result_from_features`` of video ``i`` under ``params`` (cached)."""
        key = (i, params)
        got = self._results.get(key)
        if got is None:
            if len(self._results) > 20_000:
                self._results.clear()
            v = self.videos[i]
            got = scenes.result_from_features(v.features, v.fps, params, cache=self._gradual)
            self._results[key] = got
        return got

    def counts(self, params: DetectorParams, units: Sequence[Unit]) -> Counts:
        """Pooled :func:`score` over ``units``."""
        total = Counts()
        for u in units:
            total += score(
                self.result(u.video, params), self.videos[u.video], tol=self.tol,
                frames=(u.lo, u.hi),
            )  # fmt: skip
        return total


def _better(a: Counts, b: Counts) -> bool:
    """``a`` beats ``b``: a higher F1, or the same F1 with fewer errors."""
    if a.f1 > b.f1 + 1e-9:
        return True
    return abs(a.f1 - b.f1) <= 1e-9 and a.fp + a.fn < b.fp + b.fn


JOINT: tuple[tuple[str, str], ...] = (("threshold", "min_content"),)
"""Threshold pairs searched together on their grid first: the adaptive cut rule needs both
(a cut the defaults miss under a loose ratio may still be under the content floor), so one
at a time the search would stall on a plateau."""


def _with(params: DetectorParams, **values: float | int) -> DetectorParams | None:
    try:
        return replace(params, **values)  # type: ignore[arg-type]
    except ValueError:
        return None


def _descend(
    ev: Evaluator,
    units: Sequence[Unit],
    start: DetectorParams,
    space: Mapping[str, Sequence[float | int]],
    rounds: int,
) -> tuple[DetectorParams, Counts]:
    current = start
    best = ev.counts(current, units)

    def consider(cand: DetectorParams | None) -> bool:
        nonlocal current, best
        if cand is None or cand == current:
            return False
        got = ev.counts(cand, units)
        if _better(got, best):
            current, best = cand, got
            return True
        return False

    for a, b in JOINT:
        if a in space and b in space:
            for x in space[a]:
                for y in space[b]:
                    consider(_with(current, **{a: x, b: y}))
    for _ in range(rounds):
        moved = False
        for name, values in space.items():
            for value in values:
                moved |= consider(_with(current, **{name: value}))
        if not moved:
            break
    return current, best


def fit(
    ev: Evaluator,
    units: Sequence[Unit],
    base: DetectorParams,
    *,
    space: Mapping[str, Sequence[float | int]] = SEARCH_SPACE,
    rounds: int = 2,
    starts: Sequence[DetectorParams] = (),
) -> tuple[DetectorParams, Counts]:
    """The search (module docstring) from ``base`` and from each of ``starts`` (the shipped
    defaults, say, when ``base`` is a profile): the :data:`JOINT` pairs on their grid, then
    coordinate descent over ``space``, on the pooled counts of ``units``. Returns the best
    end point (a tie: the earlier start, ``base`` first) and its counts on ``units``."""
    found: tuple[DetectorParams, Counts] | None = None
    for start in dict.fromkeys((base, *starts)):
        got = _descend(ev, units, start, space, rounds)
        if found is None or _better(got[1], found[1]):
            found = got
    assert found is not None
    return found


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold: trained on ``train`` (video keys), scored on ``test``."""

    train: tuple[Any, ...]
    test: tuple[Any, ...]
    before: Counts
    after: Counts
    changed: dict[str, float | int]


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found.

    ``params``: fitted on every labelled video (what a profile stores). ``changed``: its
    fields that differ from ``base``. ``before`` / ``after``: pooled counts on the held-out
    parts of every fold, under ``base`` and under the parameters fitted without them
    (``cross_validated`` False when there was a single unit: then both are in-sample).
    ``defaults``: the detector's defaults on the same held-out parts. ``folds``: per fold.
    """

    params: DetectorParams
    base: DetectorParams
    changed: dict[str, float | int]
    before: Counts
    after: Counts
    defaults: Counts
    folds: tuple[Fold, ...]
    videos: tuple[Any, ...]
    cross_validated: bool
    units: str
    tol: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def improves(self) -> bool:
        """The held-out F1 after is above the one before (fewer errors at equal F1 do not
        count: a profile must earn its place)."""
        return self.after.f1 > self.before.f1 + 1e-9

    def figures(self) -> dict[str, Any]:
        """JSON-ready: ``before``, ``after``, ``defaults`` (counts and rates), ``folds``,
        ``cross_validated``, ``units`` (``"videos"`` or ``"parts"``), ``tol``, ``changed``."""
        return {
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
            "defaults": self.defaults.as_dict(),
            "cross_validated": self.cross_validated,
            "units": self.units,
            "tol": self.tol,
            "changed": dict(self.changed),
            "folds": [
                {
                    "train": list(f.train),
                    "test": list(f.test),
                    "before": f.before.as_dict(),
                    "after": f.after.as_dict(),
                    "changed": dict(f.changed),
                }
                for f in self.folds
            ],
            **self.extra,
        }


def changed_fields(params: DetectorParams, base: DetectorParams) -> dict[str, float | int]:
    """The fields of ``params`` that differ from ``base``: ``{name: value}``."""
    return {
        f.name: getattr(params, f.name)
        for f in dataclasses.fields(params)
        if getattr(params, f.name) != getattr(base, f.name)
    }


def params_from_dict(values: Mapping[str, Any]) -> DetectorParams:
    """``DetectorParams`` from a stored mapping: unknown names are ignored (a field since
    removed), missing ones take the defaults. Raises ValueError for invalid values."""
    names = {f.name for f in dataclasses.fields(DetectorParams)}
    return DetectorParams(**{k: v for k, v in values.items() if k in names})


def calibrate(
    videos: Sequence[LabelledVideo],
    base: DetectorParams | None = None,
    *,
    folds: int = 5,
    tol: int = 1,
    space: Mapping[str, Sequence[float | int]] = SEARCH_SPACE,
    rounds: int = 2,
    units: Sequence[Unit] | None = None,
    evaluator: Evaluator | None = None,
) -> Calibration:
    """Fit ``DetectorParams`` to ``videos``' labels from ``base``, cross-validated by video.

    Folds: the units (:func:`units_of`: whole videos, or parts of videos when there are
    fewer than 3) dealt round-robin into ``min(folds, units)`` groups; each group is held
    out in turn while the others fit. With a single unit nothing is held out (both figures
    in-sample, ``cross_validated`` False). Then the final fit on every unit.

    ``base``: where the search starts and what "before" measures (None: the defaults).
    ``units``: only these frame ranges of ``videos`` (a bench's pieces; then split as
    above when fewer than 3); ``evaluator``: an :class:`Evaluator` of ``videos`` to reuse
    (its cached results). Raises ValueError when no video holds a labelled boundary.
    """
    base = base or DetectorParams()
    if units is None:
        videos = [v for v in videos if v.labelled or v.not_cut.any()]
    if not any(v.labelled for v in videos):
        raise ValueError("no labelled boundary to calibrate on: review some clips first")
    ev = evaluator if evaluator is not None else Evaluator(videos, tol=tol)
    starts = (DetectorParams(),)  # a profile gone wrong is not a trap: the defaults compete
    units = split_units(units) if units is not None else units_of(videos)
    k = min(folds, len(units))
    out: list[Fold] = []
    before = after = defaults = Counts()
    default_params = DetectorParams()
    if k >= 2:
        groups = [units[i::k] for i in range(k)]
        for held in groups:
            train = [u for u in units if u not in held]
            fitted, _ = fit(ev, train, base, space=space, rounds=rounds, starts=starts)
            b, a = ev.counts(base, held), ev.counts(fitted, held)
            before, after = before + b, after + a
            defaults += ev.counts(default_params, held)
            out.append(
                Fold(
                    tuple(_unit_name(videos, u) for u in train),
                    tuple(_unit_name(videos, u) for u in held),
                    b, a, changed_fields(fitted, base),
                )
            )  # fmt: skip
    params, in_sample = fit(ev, units, base, space=space, rounds=rounds, starts=starts)
    if k < 2:
        before, after = ev.counts(base, units), in_sample
        defaults = ev.counts(default_params, units)
    whole = all(u.lo == 0 and u.hi == videos[u.video].frame_count for u in units)
    return Calibration(
        params=params,
        base=base,
        changed=changed_fields(params, DetectorParams()),
        before=before,
        after=after,
        defaults=defaults,
        folds=tuple(out),
        videos=tuple(dict.fromkeys(videos[u.video].key for u in units)),
        cross_validated=k >= 2,
        units="videos" if whole else "parts",
        tol=tol,
    )


def _unit_name(videos: Sequence[LabelledVideo], u: Unit) -> Any:
    v = videos[u.video]
    if u.lo == 0 and u.hi == v.frame_count:
        return v.key
    return f"{v.key}[{u.lo}:{u.hi}]"
