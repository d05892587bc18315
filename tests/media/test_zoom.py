"""A camera zoom is no transition (``scores.zoom_rate``/``zoom_fit``,
``gradual.camera_zooms``, ``scenes._zoom_only``): a translation plus a zoom explains a zoom's
frame changes and its fitted scale grows the same way every frame; a blend or a wipe is
explained by neither, and a slide by a translation alone.

Real video: the sample's first 3 s scaled to 640×360 and zoomed in 0.8 % of the frame a frame
(ffmpeg ``zoompan``, about the centre); the two framings of ``test_wipes`` joined by a wipe
and by a slide (frames 48–84)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from heaters.media import gradual, scenes
from heaters.media.boundaries import Transition
from heaters.media.scores import COL, FEATURES, decode_features

from .conftest import SAMPLE, run_ffmpeg_cli
from .test_wipes import _two_framings


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    d = tmp_path_factory.mktemp("zoom")
    zoom = d / "zoom.mp4"
    run_ffmpeg_cli("-t", "3", "-i", str(SAMPLE), "-vf",
                   "scale=640:360,zoompan=z='1+0.008*on':x='iw/2-(iw/zoom/2)':"
                   "y='ih/2-(ih/zoom/2)':d=1:s=640x360:fps=24,format=yuv420p",
                   "-an", "-c:v", "libx264", "-crf", "20", str(zoom))  # fmt: skip
    paths = {
        "zoom": zoom,
        "wipe": _two_framings(d / "wipe.mp4", "wipeleft"),
        "slide": _two_framings(d / "slide.mp4", "slideup"),
    }
    return {k: decode_features(p).features.astype(np.float64) for k, p in paths.items()}


def test_a_zoom_is_fitted_as_one(clips: dict[str, np.ndarray]) -> None:
    f = clips["zoom"]
    rate, fit = f[5:60, COL["zoom_rate"]], f[5:60, COL["zoom_fit"]]
    assert 0.004 < float(np.median(rate)) < 0.015  # 0.8 % of the first frame a frame
    assert float(np.median(fit)) > 0.3
    assert gradual.camera_zooms(f, 5, 60)
    result = scenes.result_from_features(f, Fraction(24))
    assert result.cuts == () and result.transitions == ()


def test_a_wipe_and_a_slide_are_no_zoom(clips: dict[str, np.ndarray]) -> None:
    wipe, slide = clips["wipe"], clips["slide"]
    assert float(np.median(wipe[49:85, COL["zoom_fit"]])) < 0.3  # a blend of two pictures
    assert float(np.median(slide[49:85, COL["zoom_fit"]])) > 0.3  # one translation...
    assert abs(float(slide[49:85, COL["zoom_rate"]].sum())) < 0.1  # ...and no zoom
    assert not gradual.camera_zooms(wipe, 49, 84)
    assert not gradual.camera_zooms(slide, 49, 84)


def _made_up(rate: np.ndarray, fit: float) -> np.ndarray:
    f = np.zeros((len(rate), len(FEATURES)))
    f[:, COL["zoom_rate"]] = rate
    f[:, COL["zoom_fit"]] = fit
    return f


def test_a_zoom_scales_the_same_way_every_frame() -> None:
    rng = np.random.default_rng(3)
    steady = 0.012 + rng.normal(0, 0.003, 40)
    assert gradual.camera_zooms(_made_up(steady, 0.45), 5, 30)
    assert not gradual.camera_zooms(_made_up(steady, 0.1), 5, 30)  # the fit explains little
    wavering = rng.normal(0, 0.02, 40)  # a blend's fitted scale goes both ways
    assert not gradual.camera_zooms(_made_up(wavering, 0.45), 5, 30)
    slight = np.full(40, 0.002)  # 4 % over 20 frames: a drift, not a zoom
    assert not gradual.camera_zooms(_made_up(slight, 0.45), 5, 25)


def test_only_an_uncertain_span_gives_way_to_a_zoom() -> None:
    f = _made_up(np.full(60, 0.012), 0.5)
    assert scenes._zoom_only(f, Transition(10, 40, "dissolve", 0.5))
    assert not scenes._zoom_only(f, Transition(10, 40, "dissolve", 0.9))
    assert not scenes._zoom_only(f, Transition(10, 40, "fade_out", 0.5))
