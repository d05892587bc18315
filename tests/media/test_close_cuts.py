"""Cut decisions on features from held-out draws: two candidates closer than ``min_scene_len``
(the likelier one stays) and a lower third over a dim picture (no cut).

The features are 120 frames of the held-out ``shake_pan`` look of development-set draw 3007
(``bench/devset/make.py --subset heldout --seed 3007``: a fast pan over moving fine texture,
FFmpeg's ``life``/``cellauto`` sources, then a cut into a shaking shot;
``tests/media/data/close_cuts.npz``, float32 (120, len(FEATURES))). The cut is at row 60 (HSV
difference 84, the colours jump 2.3); two frames before it, inside the pan, a candidate
passes the texture route by a hair (confidence 0.52). PySceneDetect's rule keeps the first
of two cuts closer than ``min_scene_len`` and the cut fell two frames early, a false cut and
a missed one at once.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from heaters.media import scenes

DATA = Path(__file__).parent / "data" / "close_cuts.npz"


def test_the_likelier_of_two_close_cuts_stays() -> None:
    f = np.load(DATA)["features"]
    result = scenes.result_from_features(f, Fraction(25))
    assert result.cuts == (60,)
    assert [(s.frame, s.reason) for s in result.suggestions] == [(58, "too_close")]


DIM = Path(__file__).parent / "data" / "dim_lower_third.npz"


def test_a_lower_third_over_a_dim_picture_is_a_local_change() -> None:
    """40 frames of held-out draw 3009's ``subtitles`` look (a dim still shot, its brightest
    thumbnail cells ~40 levels; ``tests/media/data/dim_lower_third.npz``): a lower third
    appears at row 16 over the picture's dark left edge. Fewer than 4 cells were over the
    dark-cell level, so the change counted as the whole picture's and made a cut; it is a
    ``local`` suggestion."""
    f = np.load(DIM)["features"]
    result = scenes.result_from_features(f, Fraction(25))
    assert result.cuts == ()
    assert [(s.frame, s.reason) for s in result.suggestions] == [(16, "local")]
