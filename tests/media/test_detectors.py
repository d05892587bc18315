"""Detectors behind one interface (heaters.media.detectors, issue 24 item 5): the CLI and the
detect stage run whichever is chosen, from features decoded once or stored."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from heaters.config import get_settings
from heaters.media import detectors, scenes, transnet
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit
from tests.conftest import run_to_detected


def test_the_registry() -> None:
    assert sorted(detectors.DETECTORS) == ["fast", "transnetv2"]
    for key, d in detectors.DETECTORS.items():
        assert isinstance(d, detectors.Detector) and d.key == key
    assert detectors.get_detector("fast").name == scenes.DETECTOR_NAME
    assert detectors.get_detector("transnetv2").name == transnet.DETECTOR_NAME
    with pytest.raises(ValueError, match=r"unknown detector 'x' \(known: fast, transnetv2\)"):
        detectors.get_detector("x")


def test_the_fast_detector_is_the_feature_rules(small_video: Path) -> None:
    fast = detectors.get_detector("fast")
    feats = fast.features(small_video)
    assert feats.dtype == np.float32 and feats.shape[1] == len(scenes.FEATURES)
    direct = scenes.detect(small_video)
    via = detectors.detect_video(fast, small_video)
    assert (via.cuts, via.transitions, via.detector) == (
        direct.cuts, direct.transitions, direct.detector,
    )  # fmt: skip
    # the decision alone re-applies other thresholds to the same features
    strict = fast.decide(feats, Fraction(24), scenes.DetectorParams(min_scene_len=60))
    assert len(strict.cuts) < len(direct.cuts)


@pytest.mark.skipif(not transnet.available(), reason="needs the neural extra")
async def test_the_detect_stage_runs_the_chosen_detector(
    db: Any, small_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HEATERS_DETECTOR=transnetv2: preprocess stores no features (it cannot use the analysis
    frames), detect decodes the proxy with the network, stores its features under its name,
    and its boundaries become the clips."""
    monkeypatch.setenv("HEATERS_DETECTOR", "transnetv2")
    get_settings.cache_clear()
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        await run_to_detected(rt, vid)
    async with db.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT detector, feature_count FROM scene_scores WHERE source_video_id = $1", vid
        )
        starts = [r[0] for r in await conn.fetch(
            "SELECT start_frame FROM clips WHERE source_video_id = $1 ORDER BY start_frame", vid
        )]  # fmt: skip
    assert (stored["detector"], stored["feature_count"]) == (
        transnet.DETECTOR_NAME, len(transnet.FEATURE_COLUMNS),
    )  # fmt: skip
    direct = detectors.detect_video(detectors.get_detector("transnetv2"), small_video)
    boundaries = sorted({*direct.cuts, *(t.start_frame for t in direct.transitions)})
    assert starts[0] == 0 and len(starts) >= 2
    assert all(any(abs(s - b) <= 1 for b in boundaries) for s in starts[1:])
