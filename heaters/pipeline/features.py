"""The detector's per-frame features of a video (:mod:`heaters.media.scores`): measured from
the analysis frames preprocess wrote (or by decoding the proxy), and kept in ``scene_scores``
under the detector's name so thresholds can be re-applied without decoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from heaters.pipeline.runtime import Runtime

__all__ = ["analysis_features", "store_features", "stored_features", "video_features"]


def analysis_features(raw: Path) -> np.ndarray:
    """The detector's per-frame features, float32 (N, F), from the small frames preprocess
    wrote (process pool; no decode)."""
    from heaters.media import scenes

    return scenes.features_from_raw(raw)


def video_features(video: Path) -> np.ndarray:
    """The detector's per-frame features, float32 (N, F), decoding ``video`` (used when no
    analysis frames exist, or they came from another detector)."""
    from heaters.media import scenes

    return scenes.decode_features(video)


async def store_features(rt: Runtime, conn: Any, video_id: int, features: np.ndarray) -> None:
    """Keep the default detector's per-frame features, under its name (thresholds can then
    be re-applied without decoding; another detector never reuses them)."""
    from heaters.media import scenes

    f = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    await rt.db.q.upsert_scene_scores(
        conn,
        id=video_id,
        detector=scenes.DETECTOR_NAME,
        params={"analysis_size": list(scenes.ANALYSIS_SIZE)},
        feature_count=max(1, f.shape[1]),
        scores=f.ravel().tolist(),
    )


async def stored_features(rt: Runtime, conn: Any, video_id: int, frames: int) -> np.ndarray | None:
    """The default detector's stored features for ``frames`` frames, (N, F), or None."""
    from heaters.media import scenes

    row = await rt.db.q.stored_scene_scores(conn, id=video_id, detector=scenes.DETECTOR_NAME)
    if row is None or len(row["scores"]) != frames * row["feature_count"]:
        return None
    return np.asarray(row["scores"], dtype=np.float32).reshape(frames, row["feature_count"])
