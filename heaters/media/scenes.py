"""Shot-boundary (hard cut) detection: the cut rule, and detection from a video or from stored
analysis frames.

Pure media code: paths and parameters in, a frozen :class:`SceneResult` out; no database.

The design follows PySceneDetect's ``AdaptiveDetector`` (``scenedetect`` 0.7.2,
``detectors/adaptive_detector.py``), split into two stages so that the expensive part runs
once and the cheap part can be re-run with other thresholds:

1. :mod:`heaters.media.scores` turns the frames (decoded once, small:
   :data:`~heaters.media.frames.ANALYSIS_SIZE`; :mod:`heaters.media.frames`) into one change
   score per frame: the difference between frame ``k`` and frame ``k - 1``.
2. :func:`cuts_from_scores` applies the adaptive rule of ``AdaptiveDetector``: a frame is a cut
   when its score is at least ``threshold`` times the mean score of its ``window`` neighbours
   on each side, the score itself is at least ``min_content``, and at least ``min_scene_len``
   frames have passed since the previous cut (or since frame 0).

:func:`detect` decodes a video (split at keyframes across threads); :func:`detect_from_raw`
reads the raw ``rgb24`` analysis frames that the preprocess stage writes during its own single
decode, which costs no decode.

Frame numbering: frames are counted from 0 in decode order; a cut ``k`` means frame ``k`` is the
first frame of a new shot; there is never a cut at 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt

from heaters.media.frames import ANALYSIS_SIZE, read_small_frames_raw
from heaters.media.scores import decode_scores, frame_scores

__all__ = [
    "ANALYSIS_SIZE",
    "DETECTOR_NAME",
    "DetectorParams",
    "SceneResult",
    "cuts_from_scores",
    "detect",
    "detect_from_raw",
]

DETECTOR_NAME = "heaters-hsv-adaptive/1"
"""Names the score function (:func:`heaters.media.scores.frame_scores`) and the analysis size
(:data:`heaters.media.frames.ANALYSIS_SIZE`) of stored scores: change it whenever the scores
would change, so old ones are not mixed with new."""


@dataclass(frozen=True)
class DetectorParams:
    """Thresholds of the adaptive cut rule (see :func:`cuts_from_scores`).

    Attributes
    ----------
    threshold : float
        Adaptive ratio: a frame's score divided by the mean score of its ``window`` neighbours
        on each side must reach this. PySceneDetect ``AdaptiveDetector``'s
        ``adaptive_threshold`` default, 3.0; on our labelled set (``bench/ground_truth``: 24
        hand-labelled cuts in the sample, 59 synthetic ones) every value from 2.0 to 4.0 finds
        all cuts with no false one (for frames from either reader), so 3.0 sits in the middle
        of that range.
    min_scene_len : int
        Minimum shot length in frames: a cut is only accepted this many frames after the
        previous cut (or after frame 0). PySceneDetect uses 15, which misses the real 9-frame
        shot of the sample (cuts 425 and 434) and the 9- and 12-frame shots of the synthetic
        set; 8 frames (1/3 s at 24 fps) finds them and added no false cut on the set (fast
        motion there is already rejected by the adaptive ratio). It counts frames, so at
        60 fps it is 0.13 s.
    min_content : float
        Absolute floor on the score (the 0–255 mean-absolute-difference scale of
        PySceneDetect's ``content_val``), so that a large *relative* change in a nearly still
        shot is not a cut. PySceneDetect's ``min_content_val`` default, 15; 6 to 26 all give the
        same (all correct) cuts on the labelled set.
    window : int
        Neighbours on each side averaged for the adaptive ratio (PySceneDetect's
        ``window_width`` default, 2). Frames closer than this to either end are never cuts.
    """

    threshold: float = 3.0
    min_scene_len: int = 8
    min_content: float = 15.0
    window: int = 2

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("window must be at least 1")
        if self.min_scene_len < 1:
            raise ValueError("min_scene_len must be at least 1")
        if not math.isfinite(self.threshold) or self.threshold <= 0:
            raise ValueError("threshold must be a positive number")


@dataclass(frozen=True)
class SceneResult:
    """What scene detection found in one video.

    Attributes
    ----------
    cuts : tuple of int
        Sorted frame numbers (0-based, decode order) that start a new shot; never 0.
    frame_count : int
        Frames decoded.
    fps : Fraction
        The stream's average frame rate (frames per second); for display and bookkeeping only,
        seconds come from PTS elsewhere.
    scores : tuple of float
        One change score per frame (``len(scores) == frame_count``), ``scores[0] == 0.0``;
        keep them to re-run :func:`cuts_from_scores` with other params without decoding.
    """

    cuts: tuple[int, ...]
    frame_count: int
    fps: Fraction
    scores: tuple[float, ...]


def cuts_from_scores(scores: npt.ArrayLike, params: DetectorParams) -> list[int]:
    """Apply the adaptive cut rule to per-frame scores (pure, no I/O).

    The rule is PySceneDetect ``AdaptiveDetector``'s: for frame ``k`` with ``window`` frames on
    both sides, ``ratio = scores[k] / mean(scores[k-window:k] + scores[k+1:k+window+1])``
    (capped at 255; 255 when the neighbours are all ~0 and the score reaches ``min_content``).
    ``k`` is a cut when ``ratio >= threshold``, ``scores[k] >= min_content`` and
    ``k - last_cut >= min_scene_len``, where ``last_cut`` starts at frame 0. Frames closer than
    ``window`` to either end are never cuts (no full window), and neither is frame 0.

    Parameters
    ----------
    scores : array-like of float (N,)
        One change score per frame, as from :func:`heaters.media.scores.frame_scores`.
    params : DetectorParams
        The thresholds.

    Returns
    -------
    list of int
        Cut frame numbers, ascending.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    w = params.window
    n = s.shape[0]
    if n < 2 * w + 1:
        return []
    csum = np.concatenate([[0.0], np.cumsum(s)])
    k = np.arange(w, n - w)
    neigh = (csum[k + w + 1] - csum[k - w] - s[k]) / (2.0 * w)
    target = s[k]
    zero = np.abs(neigh) < 1e-5
    ratio = np.where(zero, 0.0, np.minimum(target / np.where(zero, 1.0, neigh), 255.0))
    ratio = np.where(zero & (target >= params.min_content), 255.0, ratio)
    candidates = k[(ratio >= params.threshold) & (target >= params.min_content)]
    cuts: list[int] = []
    last = 0
    for c in candidates.tolist():
        if c - last >= params.min_scene_len:
            cuts.append(int(c))
            last = c
    return cuts


# --------------------------------------------------------------------------- detection


def _result(scores: npt.NDArray[np.float32], fps: Fraction, params: DetectorParams) -> SceneResult:
    if scores.shape[0]:
        scores[0] = 0.0
    return SceneResult(
        cuts=tuple(cuts_from_scores(scores, params)),
        frame_count=int(scores.shape[0]),
        fps=fps,
        scores=tuple(float(x) for x in scores.tolist()),
    )


def detect(
    video: Path,
    params: DetectorParams = DetectorParams(),
    *,
    on_progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> SceneResult:
    """Detect the hard cuts of ``video`` with one small, threaded decode.

    Parameters
    ----------
    video : Path
        A media file with a video stream.
    params : DetectorParams
        Thresholds (defaults tuned on ``bench/ground_truth``).
    on_progress : callable, optional
        Called with the number of frames scored so far (see
        :func:`heaters.media.scores.decode_scores`) and at the end.
    workers : int, optional
        Decoding threads; default: the CPUs this process may use. Set 1 when several
        detections run in parallel processes on the same machine.

    Returns
    -------
    SceneResult
        Cuts, frame count, the stream's average frame rate and the per-frame scores.

    Raises
    ------
    DetectError
        The file is unreadable or has no video stream.
    """
    run = decode_scores(video, workers=workers, on_progress=on_progress)
    return _result(run.scores, run.fps, params)


def detect_from_raw(
    raw: Path,
    *,
    fps: Fraction,
    params: DetectorParams = DetectorParams(),
    size: tuple[int, int] = ANALYSIS_SIZE,
) -> SceneResult:
    """Detect the hard cuts from the raw ``rgb24`` analysis file preprocess wrote (no decode).

    Parameters
    ----------
    raw : Path
        Back-to-back ``size`` rgb24 frames (see
        :func:`heaters.media.frames.read_small_frames_raw`).
    fps : Fraction
        The video's average frame rate, copied into the result.
    params : DetectorParams
        Thresholds.
    size : tuple of int
        (width, height) of the raw frames, in pixels.

    Returns
    -------
    SceneResult
        As :func:`detect`.

    Raises
    ------
    DetectError
        The file cannot be read.
    """
    return _result(frame_scores(read_small_frames_raw(raw, size)), fps, params)
