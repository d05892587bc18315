"""A fade or a dissolve into a nearly black night shot gives a boundary
(``fades.dark_fades``): the shot is not flat, so the fade rules never saw it end."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from heaters.media import scenes
from heaters.media.detector_params import DetectorParams
from heaters.media.fades import dark_fades
from heaters.media.scores import COL, FEATURES

PARAMS = DetectorParams()


def _features(mean: list[float], std: list[float], corr1: list[float] | None = None) -> np.ndarray:
    f = np.zeros((len(mean), len(FEATURES)))
    f[:, COL["luma_mean"]] = mean
    f[:, COL["luma_std"]] = std
    if corr1 is not None:
        f[:, COL["corr_lag1"]] = corr1
    return f


def _into_dark(fade: int) -> tuple[list[float], list[float]]:
    """30 lit frames, a fade of ``fade`` frames, then 40 frames of a night shot (mean 0.7,
    std 4.5: lit points on black)."""
    mean = [14.0] * 30 + [14.0 - 13.3 * (k + 1) / (fade + 1) for k in range(fade)] + [0.7] * 40
    std = [24.0] * 30 + [24.0 - 19.5 * (k + 1) / (fade + 1) for k in range(fade)] + [4.5] * 40
    return mean, std


def test_a_fade_into_a_dark_shot_ends_at_its_first_frame() -> None:
    mean, std = _into_dark(10)
    f = _features(mean, std)
    spans = dark_fades(f, PARAMS, np.zeros(len(mean), bool))
    assert [(t.start_frame, t.end_frame, t.kind) for t in spans] == [(30, 41, "fade_out")]
    assert spans[0].confidence == 0.5


def test_and_a_fade_out_of_one_starts_at_its_last() -> None:
    mean, std = _into_dark(10)
    f = _features(mean[::-1], std[::-1])
    spans = dark_fades(f, PARAMS, np.zeros(len(mean), bool))
    assert [(t.start_frame, t.end_frame, t.kind) for t in spans] == [(39, 50, "fade_in")]


def test_no_fade_where_a_boundary_is_already_or_at_a_cut() -> None:
    mean, std = _into_dark(10)
    taken = np.zeros(len(mean), bool)
    taken[35] = True
    assert dark_fades(_features(mean, std), PARAMS, taken) == []
    # a hard cut into the dark shot: two pictures, no fade
    mean, std = _into_dark(0)
    corr1 = [0.0] * 30 + [0.9] + [0.0] * 39
    assert dark_fades(_features(mean, std, corr1), PARAMS, np.zeros(len(mean), bool)) == []


def test_a_flat_black_hold_or_a_short_dark_dip_is_the_fade_rules() -> None:
    mean, std = _into_dark(10)
    flat = _features(mean, [s if s != 4.5 else 1.0 for s in std])  # truly flat: scan_fades'
    assert dark_fades(flat, PARAMS, np.zeros(len(mean), bool)) == []
    short = _features(mean[:45] + [14.0] * 20, std[:45] + [24.0] * 20)  # 4 dark frames
    assert dark_fades(short, PARAMS, np.zeros(65, bool)) == []


def test_a_dip_in_a_night_grade_splits_in_the_middle_of_its_black() -> None:
    """A dip through black between two night shots (held-out draw 3009): the grade crushes
    the fade in's first frames to black too, and they stay within 2 levels of luma while
    their contrast grows from 0 to 2.6. The held frames are the ones that keep the turning
    frame's contrast (62–66 fade out, 67–78 black, then the fade in): the dip splits in the
    middle of them, not after the fade in's dim frames (it was split at 90 for a fade out
    labelled 62–70)."""
    mean = [2.0] * 62 + [1.4, 0.7, 0.2, 0.01] + [0.0] * 13
    std = [7.0] * 62 + [5.1, 2.8, 1.1, 0.1] + [0.0] * 13
    mean += [0.01 * (k + 1) ** 1.5 for k in range(25)] + [2.5] * 30
    std += [0.2 * (k + 1) for k in range(25)] + [7.0] * 30
    f = _features(mean, std)
    result = scenes.result_from_features(f, Fraction(24), learned=False)
    fades = [(t.start_frame, t.end_frame, t.kind) for t in result.transitions]
    assert fades[0][2] == "fade_out" and fades[0][0] in (62, 63)
    assert 71 <= fades[0][1] <= 74
    assert fades[1][0] == fades[0][1] and fades[1][2] == "fade_in"
