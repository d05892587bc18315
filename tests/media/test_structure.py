"""Long-range structure (heaters/media/structure.py) on synthetic feature rows: a wipe between
two shots of the same brightness and colours, whose thumbnails differ by a few levels only,
gets a boundary; the same change spread over a moving shot does not."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from heaters.media import scenes, structure
from heaters.media.boundaries import Transition
from heaters.media.scores import COL, FEATURES, THUMB_SIZE

CELLS = THUMB_SIZE[0] * THUMB_SIZE[1]


def _rows(thumbs: np.ndarray, hist_shift: np.ndarray) -> np.ndarray:
    """Feature rows (N, F) with these thumbnails (N, CELLS), a textured picture (luma std
    40), a luma histogram moving by ``hist_shift`` (N,) of one bin, and per-frame changes
    that no camera move explains."""
    n = thumbs.shape[0]
    f = np.zeros((n, len(FEATURES)), np.float64)
    first = COL["thumb_0"]
    f[:, first : first + CELLS] = thumbs
    f[:, COL["luma_mean"]] = thumbs.mean(axis=1)
    f[:, COL["luma_std"]] = 40.0
    step = np.zeros(n)
    step[1:] = np.abs(np.diff(thumbs, axis=0)).mean(axis=1)
    f[:, COL["luma_diff"]] = step
    f[:, COL["mc_diff"]] = step  # a shift explains none of it
    f[:, COL["corr_lag1"]] = 0.01
    f[:, COL["hist_y_3"]] = 1.0 - hist_shift
    f[:, COL["hist_y_4"]] = hist_shift
    f[:, COL["hist_c_5"]] = 1.0
    return f


def _two_shots(n: int = 160, s: int = 60, e: int = 90) -> np.ndarray:
    rng = np.random.default_rng(7)
    a = 100 + rng.normal(0, 6, CELLS)
    b = 100 + rng.normal(0, 6, CELLS)
    cols = np.arange(CELLS) % THUMB_SIZE[0]
    thumbs = np.empty((n, CELLS))
    for k in range(n):
        # a left-to-right wipe over [s, e): each cell shows b over the part the edge passed
        edge = np.clip((k - s + 1) / (e - s + 1), 0, 1) * THUMB_SIZE[0]
        thumbs[k] = a + np.clip(edge - cols, 0, 1) * (b - a)
    thumbs += rng.normal(0, 0.3, thumbs.shape)  # grain
    shift = np.clip((np.arange(n) - s + 1) / (e - s + 1), 0, 1) * 0.5
    return _rows(thumbs, shift)


def test_a_low_contrast_wipe_between_similar_shots_gets_a_boundary() -> None:
    f = _two_shots()
    t = f[:, COL["thumb_0"] : COL["thumb_0"] + CELLS]
    assert np.abs(t[59] - t[90]).mean() < 10  # under the span searches' absolute floor
    spans = structure.search_structural(f, scenes.DetectorParams(), np.zeros(len(f), bool))
    assert len(spans) == 1
    assert abs(spans[0].start_frame - 60) <= 3 and abs(spans[0].end_frame - 90) <= 3
    result = scenes.result_from_features(f.astype(np.float32), Fraction(24))
    assert [(x.start_frame, x.end_frame) for x in result.transitions] == [
        (spans[0].start_frame, spans[0].end_frame)
    ]
    assert result.transitions[0].confidence == 0.5


def test_the_same_change_spread_over_a_moving_shot_is_no_span() -> None:
    rng = np.random.default_rng(7)
    a = 100 + rng.normal(0, 6, CELLS)
    b = 100 + rng.normal(0, 6, CELLS)
    n = 160
    w = np.linspace(0, 1, n)[:, None]  # the picture drifts from a to b over the whole shot
    thumbs = (1 - w) * a + w * b + rng.normal(0, 0.3, (n, CELLS))
    f = _rows(thumbs, np.linspace(0, 0.5, n))
    assert structure.search_structural(f, scenes.DetectorParams(), np.zeros(n, bool)) == []


def test_motion_inside_a_shot_is_told_from_a_dissolve() -> None:
    rng = np.random.default_rng(3)
    base = 100 + rng.normal(0, 30, CELLS)
    n = 120
    # a textured shot whose picture keeps moving (its cells drift), with a 'dissolve' found
    # in the middle of it: the same structure before and after, as much change beside it
    drift = np.cumsum(rng.normal(0, 2.5, (n, CELLS)), axis=0)
    f = _rows(base + drift, np.zeros(n))
    assert structure.motion_inside_shot(f, Transition(50, 62, "dissolve", 0.6))
    f2 = _two_shots()
    assert not structure.motion_inside_shot(f2, Transition(60, 90, "wipe", 0.6))
    assert not structure.motion_inside_shot(f, Transition(50, 62, "fade_in", 0.6))


def test_a_cut_swallowed_by_a_span_is_split_out() -> None:
    """A hard cut just before a wipe, found as one long span with it, comes back as the cut
    and the wipe; a span that changes evenly stays whole."""
    n, cut = 120, 52
    rng = np.random.default_rng(3)
    a, b, c = (100 + rng.normal(0, 20, CELLS) for _ in range(3))
    thumbs = np.empty((n, CELLS))
    for k in range(n):
        x = np.clip((k - 60) / 30, 0, 1)  # b blends into c over 60 .. 90
        thumbs[k] = a if k < cut else (1 - x) * b + x * c
    f = _rows(thumbs, np.zeros(n))
    f[cut, COL["corr_lag1"]] = 0.95
    spans, cuts = scenes._split_at_cuts(f, [Transition(50, 91, "dissolve", 0.8)])
    assert list(cuts) == [cut] and 0.5 <= cuts[cut] <= 1.0
    assert spans == [Transition(cut + 1, 91, "dissolve", 0.8)]  # 50 .. 51 is too short a part
    even, none = scenes._split_at_cuts(f, [Transition(60, 91, "dissolve", 0.8)])
    assert even == [Transition(60, 91, "dissolve", 0.8)] and none == {}
