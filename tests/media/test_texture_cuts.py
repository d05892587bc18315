"""The fifth cut route (heaters/media/hard_cuts.py, ``_TEXTURE_*``): a cut between two parts
of one moving fine texture (a crowd, foliage, a cellular automaton), where consecutive frames
inside each shot already decorrelate by half, is found; the same texture moving on is no cut."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from heaters.media import hard_cuts, scenes
from heaters.media.detector_params import DetectorParams
from heaters.media.scores import COL, frame_features, thumbnails

H, W = 36, 64


def _texture(
    n: int, seed: int, across: bool = True, churn: float = 0.6, block: int = 1
) -> list[np.ndarray]:
    """``n`` grey RGB frames (H, W, 3): random pixels over a light gradient
    (±20 levels, left to right when ``across``, else top to bottom: the two are
    uncorrelated). ``churn`` of the pixels are drawn anew in every frame and the others
    hold, so that every ``corr_lagJ`` inside the shot is about ``churn``; pixels come in
    ``block`` × ``block`` squares."""
    rng = np.random.default_rng(seed)
    shape = (H // block, W // block)
    if across:
        light = np.broadcast_to(np.linspace(-20, 20, W)[None, :], (H, W))
    else:
        light = np.broadcast_to(np.linspace(-20, 20, H)[:, None], (H, W))
    held = rng.integers(40, 216, shape)
    moving = rng.random(shape) < churn
    out = []
    for _ in range(n):
        cells = np.where(moving, rng.integers(40, 216, shape), held)
        big = np.kron(cells, np.ones((block, block)))
        frame = np.clip(big + light, 0, 255).astype(np.uint8)
        out.append(np.repeat(frame[:, :, None], 3, axis=2))
    return out


def test_a_cut_inside_moving_texture_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = _texture(60, seed=1) + _texture(60, seed=2, across=False)
    f = frame_features(frames)
    inside = f[30:58, COL["corr_lag1"]]
    assert 0.5 < float(np.median(inside)) < 0.8  # the shot decorrelates by itself ...
    assert f[60, COL["hsv_diff"]] < 2.0 * float(np.median(f[30:58, COL["hsv_diff"]]))  # ... and
    # the cut's HSV and correlation steps stand out by under 2×, under the other routes' ratios
    result = scenes.result_from_features(f, Fraction(24), DetectorParams())
    assert result.cuts == (60,)
    assert not result.transitions
    monkeypatch.setattr(hard_cuts, "_TEXTURE_GAP", 10.0)  # the other routes alone miss it
    assert scenes.result_from_features(f, Fraction(24), DetectorParams()).cuts == ()


def test_a_cut_inside_coarse_moving_texture_is_no_local_change() -> None:
    """In coarse moving texture every thumbnail cell changes every frame, so the change at
    the cut is no larger than each cell's own: the local veto would take it for a title. A
    frame unrelated to every frame before it is new all over, and the veto does not apply."""
    frames = _texture(60, seed=1, block=4) + _texture(60, seed=2, across=False, block=4)
    f = frame_features(frames)
    spread = hard_cuts._change_spread(thumbnails(f), 60, hard_cuts._unexplained(f))
    assert spread < hard_cuts._LOCAL
    assert scenes.result_from_features(f, Fraction(24), DetectorParams()).cuts == (60,)


def test_moving_texture_alone_is_no_cut() -> None:
    result = scenes.result_from_features(
        frame_features(_texture(120, seed=3)), Fraction(24), DetectorParams()
    )
    assert result.cuts == ()
    assert not result.transitions


def test_a_flash_over_moving_texture_is_no_cut() -> None:
    frames = _texture(120, seed=5)
    for k in (60, 90, 91):  # a one-frame flash and a two-frame one, +60 levels
        frames[k] = np.clip(frames[k].astype(np.int16) + 60, 0, 255).astype(np.uint8)
    f = frame_features(frames)
    assert f[61, COL["corr_lag2"]] > 0.35  # the frames around it are no closer than the shot's
    result = scenes.result_from_features(f, Fraction(24), DetectorParams())
    assert result.cuts == ()
    assert not result.transitions
