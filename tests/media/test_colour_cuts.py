"""The sixth cut route (heaters/media/hard_cuts.py, ``_COLOUR_*``): a cut whose HSV difference
passes only one of PySceneDetect's two tests (the spike or ``min_content``) is found where the
picture's colours jump at that frame alone.

The features are 60 frames around the two cuts of the dev set's held-out ``dark`` look that
no other route found (``bench/devset``: ``earth.mp4`` of PyPI ``arcade==3.3.3``, NASA, public
domain, under the look's night grade, noise and shake; ``tests/media/data/dark_cuts.npz``,
float32 (60, len(FEATURES)) each, cut at row 30):

* ``into_black``: out of a shaking shot into a still, near-black one (luma mean 1.4): the HSV
  difference spikes (5.2× its neighbours) but stays at 11.8, under ``min_content``;
* ``into_shake``: out of a still near-black shot into a shaking one: 15.4, but the shake's
  own changes next to it keep the spike at 2.1×.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from heaters.media import hard_cuts, scenes
from heaters.media.detector_params import DetectorParams
from heaters.media.scores import COL, FEATURES

DATA = Path(__file__).parent / "data" / "dark_cuts.npz"
CUT = 30


@pytest.fixture(scope="module")
def snippets() -> dict[str, np.ndarray]:
    with np.load(DATA) as z:
        out = {k: z[k] for k in z.files}
    assert all(v.shape == (60, len(FEATURES)) for v in out.values())
    return out


@pytest.mark.parametrize("name", ["into_black", "into_shake"])
def test_a_dark_cut_that_passes_one_hsv_test_is_found_by_its_colours(
    snippets: dict[str, np.ndarray], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = snippets[name]
    params = DetectorParams()
    hsv = f[:, COL["hsv_diff"]].astype(np.float64)
    neighbours = float(np.mean(np.r_[hsv[CUT - 2 : CUT], hsv[CUT + 1 : CUT + 3]]))
    spike = hsv[CUT] >= params.threshold * neighbours
    large = hsv[CUT] >= params.min_content
    assert spike != large  # the adaptive rule's two tests: exactly one passes
    step, ratio = hard_cuts._colour_steps(f.astype(np.float64))
    assert step[CUT] >= hard_cuts._COLOUR_STEP
    assert ratio[CUT] >= hard_cuts._COLOUR_RATIO
    result = scenes.result_from_features(f, Fraction(25), params)
    assert result.cuts == (CUT,)
    # nothing else near the cut; ``into_shake`` opens on the last 8 frames of a labelled
    # wipe into the near-black shot (frames 518-533 of the held-out video, this snippet
    # 525-584), which ``fades.dark_fades`` reports as the fade into it that it is
    assert not [t for t in result.transitions if t.end_frame > 10]
    assert [(t.start_frame, t.end_frame) for t in result.transitions] in ([], [(1, 9)])
    # without the route no other finds it
    monkeypatch.setattr(hard_cuts, "_COLOUR_STEP", float("inf"))
    assert scenes.result_from_features(f, Fraction(25), params).cuts == ()


def test_a_colour_jump_alone_is_no_cut(snippets: dict[str, np.ndarray]) -> None:
    """The route needs the HSV difference to pass one of its tests: the same colour jump with
    an HSV difference as small and as flat as its neighbours' is no cut."""
    f = snippets["into_black"].copy()
    f[CUT, COL["hsv_diff"]] = f[CUT - 1, COL["hsv_diff"]]
    result = scenes.result_from_features(f, Fraction(25), DetectorParams())
    assert CUT not in result.cuts
