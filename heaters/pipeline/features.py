"""The chosen detector's per-frame features of a video (:mod:`heaters.media.detectors`):
measured from the analysis frames preprocess wrote when the detector can use them (or by
decoding the proxy), and kept in ``scene_scores`` under the detector's versioned name so
thresholds can be re-applied without decoding (another detector never reuses them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from heaters.media.detectors import get_detector
from heaters.pipeline.runtime import Runtime

__all__ = ["analysis_features", "store_features", "stored_features", "video_features"]


def analysis_features(raw: Path, detector: str) -> np.ndarray | None:
    """Detector ``detector``'s per-frame features, float32 (N, F), from the small frames
    preprocess wrote (process pool; no decode); None when it cannot use them."""
    return get_detector(detector).features_from_raw(raw)


def video_features(
    video: Path, detector: str, on_progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Detector ``detector``'s per-frame features, float32 (N, F), decoding ``video``
    (process pool; ``on_progress``: frames measured so far, picklable, e.g.
    :class:`heaters.pipeline.progress.FileCounter`). Raises DetectError, or
    NeuralUnavailable for a model not installed."""
    return get_detector(detector).features(video, on_progress=on_progress)


async def store_features(
    rt: Runtime, conn: Any, video_id: int, features: np.ndarray, detector: str
) -> None:
    """Keep detector ``detector``'s per-frame features under its versioned name."""
    from heaters.media import scenes

    f = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    await rt.db.q.upsert_scene_scores(
        conn,
        id=video_id,
        detector=get_detector(detector).name,
        params={"analysis_size": list(scenes.ANALYSIS_SIZE)},
        feature_count=max(1, f.shape[1]),
        scores=f.ravel().tolist(),
    )


async def stored_features(
    rt: Runtime, conn: Any, video_id: int, frames: int, detector: str
) -> np.ndarray | None:
    """Detector ``detector``'s stored features for ``frames`` frames, (N, F), or None (none
    stored, another detector's, or another frame count)."""
    row = await rt.db.q.stored_scene_scores(
        conn, id=video_id, detector=get_detector(detector).name
    )
    if row is None or len(row["scores"]) != frames * row["feature_count"]:
        return None
    return np.asarray(row["scores"], dtype=np.float32).reshape(frames, row["feature_count"])
