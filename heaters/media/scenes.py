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

from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from heaters.media import scores
from heaters.media.bars import find_active_box
from heaters.media.boundaries import SceneResult, Suggestion, Transition
from heaters.media.detector_params import DetectorParams, FloatArray
from heaters.media.fades import _NEW_PICTURE, dark_fades, find_fades, scan_fades
from heaters.media.frames import ANALYSIS_SIZE, read_small_frames_raw
from heaters.media.gradual import (
    GradualCache,
    GradualTests,
    camera_zooms,
    find_gradual,
    search_gradual,
)
from heaters.media.hard_cuts import cuts_from_scores, find_cuts, flash_edges, scan_cuts
from heaters.media.learned import (
    TreeModel,
    doubted_spans,
    learned_spans,
    load_model,
    window_features,
)
from heaters.media.scores import COL, FEATURES, frame_features, thumbnails
from heaters.media.structure import motion_inside_shot, search_structural
from heaters.media.wipes import (
    accepted_tracks,
    edge_wipes,
    partial_tracks,
    wipe_extents,
    wipe_trims,
)

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

DETECTOR_NAME = "heaters-fast/6"
"""Names the feature definition (:data:`heaters.media.scores.FEATURES`) and the analysis size
(:data:`heaters.media.frames.ANALYSIS_SIZE`) of stored features: change it whenever the
features would change, so old ones are never mixed with new."""


# --------------------------------------------------------------------------- the whole rule


def result_from_features(
    features: npt.ArrayLike,
    fps: Fraction,
    params: DetectorParams = DetectorParams(),
    *,
    cache: GradualCache | None = None,
    learned: TreeModel | bool = True,
) -> SceneResult:
    """Cuts and transitions from per-frame features (pure, no I/O; re-applies thresholds).

    Fades first (:func:`find_fades`), then dissolves and wipes outside them and outside
    flashes (:func:`find_gradual`), then hard cuts outside all of these (:func:`find_cuts`;
    a hard cut into or out of the flat frames next to a one-sided fade is kept, at the
    transition's edge), then the fallback for spans with no boundary yet (:func:`_fallback`),
    then fades into a nearly black shot (:func:`dark_fades`), then wipes seen as an edge
    crossing the picture (:mod:`heaters.media.wipes`: a wipe found as its faster part takes
    the edge's extent, a fallback cut or span inside an edge gives way to it, and an edge where
    nothing found a boundary is a ``wipe``, confidence 0.5), then the learned second look
    (:mod:`heaters.media.learned`): dissolves and wipes it doubts (not an edge's) become
    ``weak`` suggestions, a fallback span it sees as a transition (:data:`_FALLBACK_AGREE`)
    stays that span (else it is a cut at its largest change, as without the model), and
    transitions it finds where nothing else did are added with confidence 0.5; last, a
    dissolve or wipe found with a moving edge takes the edge's whole way
    (:func:`heaters.media.wipes.reach`) where it found less, or more. An uncertain
    dissolve or wipe (confidence up to 0.6) that a camera zoom explains
    (:func:`heaters.media.gradual.camera_zooms`) is none: a ``camera_move`` suggestion at its
    largest change.

    Parameters
    ----------
    features : array-like float32 (N, F)
        As from :func:`heaters.media.scores.frame_features` (F = ``len(FEATURES)``).
    fps : Fraction
        The video's average frame rate, copied into the result.
    params : DetectorParams
        The thresholds.
    cache : GradualCache, optional
        Answers the dissolve/wipe search from memory when it was asked the same before (the
        same features and gradual thresholds: re-fitting the other thresholds, as
        :mod:`heaters.media.calibrate` does).

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
    fades = scan_fades(f, params)
    inside = np.zeros(n, bool)
    for t in fades.transitions:
        inside[t.start_frame : t.end_frame] = True
    flashes = flash_edges(f, params)
    search = cache.search if cache is not None else search_gradual
    found_spans, span_cuts = _split_at_cuts(
        f, [t for t, _ in search(f, params, inside | flashes.strong)]
    )
    # motion inside a shot: no transition (a suggestion at its largest change), and no cut
    # inside it either (a gradual change all the same)
    moved = [t for t in found_spans if motion_inside_shot(f, t)]
    gradual = [t for t in found_spans if t not in moved]
    transitions: list[Transition] = sorted(
        [*fades.transitions, *gradual], key=lambda t: t.start_frame
    )
    blocked = np.zeros(n + 1, bool)
    for t in fades.transitions:
        blocked[t.start_frame : t.end_frame + 1] = True
    for t in found_spans:
        blocked[max(0, t.start_frame - 1) : t.end_frame + 2] = True
    for k in fades.allowed_cuts:
        blocked[k] = False
    found, rejected = scan_cuts(f, params, blocked[:n], flashes.edges)
    cuts = dict(found)
    for k, conf in span_cuts.items():
        cuts.setdefault(k, conf)
    more_cuts, more_spans = _fallback(
        f, params, inside | flashes.strong, [*transitions, *moved], cuts, search
    )
    model = load_model() if learned is True else (learned or None)
    if model is None:
        for k in more_cuts:
            cuts[k] = 0.5
    else:  # the fallback's spans, not cuts, where the model agrees (below)
        more_spans += list(more_cuts.values())
    transitions = sorted([*transitions, *more_spans], key=lambda t: t.start_frame)
    # fades into and out of a nearly black shot, where nothing above found a boundary
    dark = dark_fades(f, params, _taken(n, cuts, [*transitions, *moved]))
    transitions = sorted([*transitions, *dark], key=lambda t: t.start_frame)
    # a wipe's moving edge: the extent of a wipe found as its faster part, and wipes where
    # nothing above found a boundary (kept from the learned doubt below: the edge is the
    # evidence the model's window features do not have)
    tracks = accepted_tracks(f)
    for k, span in more_cuts.items():  # a fallback inside a moving edge: that wipe's step
        if any(t.start < k < t.end - 1 for t in tracks):
            cuts.pop(k, None)
            if span in transitions:
                transitions.remove(span)
    transitions = wipe_extents(transitions, tracks)
    edges = edge_wipes(tracks, _taken(n, cuts, [*transitions, *moved]))
    transitions = sorted([*transitions, *edges], key=lambda t: t.start_frame)
    # an uncertain dissolve or wipe that a camera zoom explains: no transition (a
    # camera_move suggestion at its largest change)
    zoomed = [t for t in transitions if t not in edges and _zoom_only(f, t)]
    transitions = [t for t in transitions if t not in zoomed]
    moved += zoomed
    if model is not None:
        if cache is not None:  # re-fitting thresholds: the probabilities do not change
            proba = cache.remember(
                ("learned", id(model)), f, lambda: model.predict_proba(window_features(f))
            )
        else:
            proba = model.predict_proba(window_features(f))
        # spans the model and the structure both call motion: as motion inside a shot
        doubted = doubted_spans(f, [t for t in transitions if t not in edges], proba)
        transitions = [t for t in transitions if t not in doubted]
        moved += doubted
        # a fallback span the model does not see as a transition: a cut at its largest
        # change, as without the model
        for k, span in more_cuts.items():
            agrees = float(proba[span.start_frame : span.end_frame].mean()) >= _FALLBACK_AGREE
            if span in transitions and not agrees:
                transitions.remove(span)
                cuts[k] = 0.5
        taken = _taken(n, cuts, [*transitions, *moved])
        flashed = flashes.edges | flashes.strong
        second = learned_spans(f, taken, flashed, proba, model.threshold_proba)
        zoomed_second = [t for t in second if _zoom_only(f, t)]
        second = [t for t in second if t not in zoomed_second]
        zoomed += zoomed_second
        moved += zoomed_second
        transitions = sorted([*transitions, *second], key=lambda t: t.start_frame)
    # extents from the edges, last (they change no decision above): a dissolve or wipe found
    # with an edge that the picture hid for part of its way takes the edge's whole way; one
    # that took in moving frames beside an edge's whole way is cut to it
    transitions = wipe_extents(
        transitions,
        [*tracks, *partial_tracks(f, tracks)],
        whole_way=True,
        cuts=cuts,
        frame_count=n,
    )
    transitions = wipe_trims(transitions, tracks)
    frames = sorted(cuts)
    near = {k + d for k in frames for d in (-1, 0, 1)}
    suggested: dict[int, Suggestion] = {}
    rejected += [
        Suggestion(
            _largest_step(f, t.start_frame, t.end_frame),
            0.3,
            "camera_move" if t in zoomed else "weak",
        )
        for t in moved
    ]
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


_SPAN_CUT_RATIO = 10.0
"""A dissolve or wipe changes the picture a little every frame; a frame inside a found span
whose thumbnail step is at least this many times the span's median step (and at least
:data:`_SPAN_CUT_STEP`), and which is a new picture (``corr_lag1`` at least
:data:`_SPAN_CUT_CORR`), is a hard cut the span swallowed: a cut just before a wipe, or just
after a dissolve, taken with it for one longer span. Such cuts in the held-out draws stepped
21–43 times the span's median; labelled dissolves and wipes of the development draws stay
under 10."""

_SPAN_CUT_STEP = 8.0
"""... (luma levels, as the third cut route's floor) ..."""

_SPAN_CUT_CORR = _NEW_PICTURE
"""... (``1 - r`` with the frame before: 0.4, ``fades._NEW_PICTURE``, the level from which two
consecutive frames are two pictures, as for the third cut route). It was 0.9, which left two
cuts (0.80 and 0.49: in the dev split's pillarbox look and the grain look of held-out draw
3006) inside the dissolve found with each; on the development split any floor from 0.3 to
0.6 finds its cut and changes nothing else."""

_SPAN_CUT_MIN = 4
"""The parts of a split span shorter than this many frames are dropped."""


def _split_at_cuts(
    f: FloatArray, spans: list[Transition]
) -> tuple[list[Transition], dict[int, float]]:
    """``spans`` with each swallowed hard cut (:data:`_SPAN_CUT_RATIO`) taken out: the span
    becomes its parts before and after the cut (those of :data:`_SPAN_CUT_MIN` frames or
    more, with the span's kind and confidence). Returns (spans, {cut frame: confidence}),
    confidence ``0.5 + 0.5 * clip(log(ratio / _SPAN_CUT_RATIO) / log 4, 0, 1)``."""
    t = thumbnails(f)
    corr1 = f[:, COL["corr_lag1"]]
    out: list[Transition] = []
    cuts: dict[int, float] = {}
    for span in spans:
        lo, hi = span.start_frame, span.end_frame
        step = np.abs(t[lo:hi] - t[lo - 1 : hi - 1]).mean(axis=1)  # frames lo .. hi - 1
        i = int(np.argmax(step))
        k = lo + i
        ratio = float(step[i]) / max(float(np.median(step)), 1e-6)
        if ratio < _SPAN_CUT_RATIO or step[i] < _SPAN_CUT_STEP or corr1[k] < _SPAN_CUT_CORR:
            out.append(span)
            continue
        margin = np.log(ratio / _SPAN_CUT_RATIO) / np.log(4.0)
        cuts[k] = 0.5 + 0.5 * float(np.clip(margin, 0.0, 1.0))
        for a, b in ((lo, k), (k + 1, hi)):  # [a, b), as spans
            if b - a >= _SPAN_CUT_MIN:
                out.append(Transition(a, b, span.kind, span.confidence))
    return out, cuts


_FALLBACK = GradualTests(max_excess=0.35, max_dev=0.4, side_speed=2.0)
"""The relaxed span tests of the fallback: frames up to 35 % off the line between the two
sides (shake, grain, a dip through a colour that never quite goes flat), progress up to 0.4
off a straight line; the sides must still be twice as steady as the span (pans inside the
suite's shots pass every other relaxed test: excess 0.08–0.46; only their moving sides tell
them from a transition)."""


_FALLBACK_MOVING = GradualTests(max_excess=0.35, max_dev=0.4, side_speed=2.0, colour_sides=True)
"""The fallback's second search, for transitions between two *moving* shots (long wipes and
dissolves under camera motion, whose thumbnails never hold still beside the span): the
relaxed tests above with the sides judged by their colours instead
(:attr:`~heaters.media.gradual.GradualTests.colour_sides`). What it finds is a transition
of confidence 0.5 (the frames are neither shot's)."""


_FALLBACK_AGREE = 0.35
"""Least mean probability of the learned model (:mod:`heaters.media.learned`) over a fallback
span's frames for it to be reported as that span (confidence 0.5) rather than a cut at its
largest change. A transition the relaxed tests alone find is a wipe or a dissolve all the
same: reported as a cut, a reviewer gets neither its extent nor its frames as a clip of
their own. A fallback span goes through the zoom test and the model's doubt first, as any
dissolve or wipe. On the ten development draws the fallback spans left on labelled
transitions scored 0.59–0.96, the two on in-shot events (a shadow, a zoom) 0.10–0.11 (they
stay cuts). Against cuts for all: 5 more of the 412 transitions found as spans (0.876 →
0.888), 4 false cuts fewer (6 → 2: the doubt took two), no false span more. Without a model
every fallback span is a cut, as before."""

_FALLBACK_MAX_MOTION = 0.25
"""Most mean ``corr_lag1`` over a fallback span's frames. A blend or a wipe changes each
frame little from the one before (0.0–0.15 with grain and shake on the suite's looks); a
camera tilt or whip pan that ends on a steady picture decorrelates them (the sample's tilt
to the sky, 552–560: 0.44), and is no boundary."""

_SIDE_FRAMES = 24
"""Frames on each side of a fallback span whose ``mc_corr`` tells how much the shots
themselves decorrelate frame to frame once the camera's motion is taken out: grain and
noise (see :func:`_motion_limit`)."""

_MOTION_SIDE_RATIO = 1.0
"""A fallback span may decorrelate its consecutive frames as much as the noisier of its
sides does once aligned (see :func:`_motion_limit`). On the development draws any ratio
from 1.0 to 1.6 gave the same figures (3 more transitions with a boundary over the four
held-out draws, none lost, no false span); with ``corr_lag1`` for the sides instead, a
shaking shot's false span came through."""


def _motion_limit(noise: FloatArray, lo: int, hi: int) -> float:
    """The most mean ``corr_lag1`` a fallback span ``[lo, hi]`` may have: at least
    :data:`_FALLBACK_MAX_MOTION`, and as much as the noisier side's ``noise`` (N,)
    (``mc_corr``: its median over :data:`_SIDE_FRAMES` frames) times
    :data:`_MOTION_SIDE_RATIO`. Grain in a dark picture decorrelates consecutive frames
    inside a shot as much as a camera move does, and motion compensation leaves it; a shake
    it takes out."""
    before = noise[max(0, lo - _SIDE_FRAMES) : lo]
    after = noise[hi + 1 : hi + 1 + _SIDE_FRAMES]
    sides = [float(np.median(x)) for x in (before, after) if x.size]
    return max(_FALLBACK_MAX_MOTION, _MOTION_SIDE_RATIO * max(sides, default=0.0))


_ZOOM_DOUBT = 0.6
"""Highest confidence of a dissolve or wipe that a camera zoom may take back
(:func:`_zoom_only`): the fallback's and the learned look's spans (0.5) and the rules' that
pass their tests by under ~20 %. On the development draws the zoom test alone
(:func:`heaters.media.gradual.camera_zooms`) took 4 false spans away and 2 wipes with them
(a 0.88 rules wipe and a 0.5 fallback span); up to 0.6 it keeps the first."""


def _zoom_only(f: FloatArray, t: Transition) -> bool:
    """``t`` is an uncertain dissolve or wipe (confidence up to :data:`_ZOOM_DOUBT`) that a
    camera zoom explains."""
    return (
        t.kind in ("dissolve", "wipe")
        and t.confidence <= _ZOOM_DOUBT
        and camera_zooms(f, t.start_frame, t.end_frame)
    )


def _taken(n: int, cuts: Iterable[int], spans: Iterable[Transition]) -> npt.NDArray[np.bool_]:
    """Frames (N,) that are a boundary already: the cut frames and the frames of ``spans``."""
    taken = np.zeros(n, bool)
    taken[list(cuts)] = True
    for t in spans:
        taken[t.start_frame : t.end_frame] = True
    return taken


def _largest_step(f: FloatArray, s: int, e: int) -> int:
    """The frame of ``[s, e]`` whose thumbnail changes most from the one before it."""
    t = thumbnails(f)
    step = np.abs(t[s : e + 1] - t[s - 1 : e]).mean(axis=1)
    return s + int(np.argmax(step))


def _fallback(
    f: FloatArray,
    params: DetectorParams,
    ex: npt.NDArray[np.bool_],
    transitions: list[Transition],
    cuts: dict[int, float],
    search: Callable[..., list[tuple[Transition, Any]]] = search_gradual,
) -> tuple[dict[int, Transition], list[Transition]]:
    """Boundaries for the spans whose sides clearly differ and which have none yet: a
    gradual transition may get the wrong kind, never none (two shots in one clip is the
    worst error a reviewer can be handed).

    A span that passes every test of a dissolve or wipe but the strictest ones (relaxed to
    :data:`_FALLBACK`) gets a cut at its largest single change (the caller may make it the
    span instead: :data:`_FALLBACK_AGREE`); a span between two moving shots
    (:data:`_FALLBACK_MOVING`) is a transition of confidence 0.5. Returns (cut frame → the
    span it stands for, transitions)."""
    t = thumbnails(f)
    step = np.zeros(f.shape[0])
    step[1:] = np.abs(t[1:] - t[:-1]).mean(axis=1)
    taken = [(x.start_frame - 1, x.end_frame + 1) for x in transitions]
    taken += [(k - params.min_scene_len, k + params.min_scene_len) for k in cuts]
    out: dict[int, Transition] = {}
    spans: list[Transition] = []
    corr1 = f[:, COL["corr_lag1"]]
    noise = f[:, COL["mc_corr"]]
    found = [(x, False) for x, _ in search(f, params, ex, _FALLBACK)]
    found += [(x, True) for x, _ in search(f, params, ex, _FALLBACK_MOVING)]
    found += [(x, True) for x in search_structural(f, params, ex)]
    for span, moving in found:
        lo, hi = span.start_frame, span.end_frame
        if any(lo <= b and hi >= a for a, b in taken):
            continue
        if float(corr1[lo : hi + 1].mean()) > _motion_limit(noise, lo, hi):
            continue  # a camera move: consecutive frames decorrelate; a blend's do not
        if moving:  # its frames are neither shot: a clip of their own, as any transition's
            spans.append(Transition(lo, hi, span.kind, 0.5))
            taken.append((lo - 1, hi + 1))
            continue
        k = lo + int(np.argmax(step[lo : hi + 1]))
        out[k] = Transition(lo, hi, span.kind, 0.5)
        taken.append((k - params.min_scene_len, k + params.min_scene_len))
    return out, spans


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
