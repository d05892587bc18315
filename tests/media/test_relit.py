"""A light or a shadow over part of a shot is no dissolve (``gradual.relit``, issue 19: the
film's false spans on "shadows and light changes"): the cells' gains explain the change, a
new picture's do not, and a wipe is judged whole, from one shot to the other."""

from __future__ import annotations

import numpy as np

from heaters.media import gradual
from heaters.media.scores import THUMB_SIZE

W, H = THUMB_SIZE


def _picture(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(30, 150, (H, W))


def test_a_shadow_over_a_side_a_band_or_a_corner_is_relit() -> None:
    a = _picture(1)
    y, x = np.mgrid[0:H, 0:W]
    masks = {
        "left half": (x < W // 2).astype(float),
        "bottom band": (y >= H - 2).astype(float),
        "soft corner": np.clip(1.5 - (x / W + y / H) * 2.5, 0, 1),
    }
    for name, mask in masks.items():
        for gain in (0.4, 1.6):  # a shadow, a light
            b = np.clip(a * (1 + (gain - 1) * mask), 0, 255)
            assert gradual.relit(a.ravel()[None], b.ravel()[None])[0], (name, gain)


def test_a_new_picture_a_fade_and_no_change_are_not_relit() -> None:
    a, b = _picture(1), _picture(2)
    assert not gradual.relit(a.ravel()[None], b.ravel()[None])[0]  # another shot
    assert not gradual.relit(a.ravel()[None], (a * 0.3).ravel()[None])[0]  # a fade: all cells
    assert not gradual.relit(a.ravel()[None], a.ravel()[None])[0]  # nothing changes


def test_a_wipe_is_judged_whole_from_one_shot_to_the_other() -> None:
    a, b = _picture(3), _picture(4)
    n, s, e = 60, 20, 36
    t = np.zeros((n, W * H))
    for k in range(n):
        done = int(np.clip((k - s + 1) / (e - s + 1) * W, 0, W))  # columns wiped to b
        frame = a.copy()
        frame[:, :done] = b[:, :done]
        t[k] = frame.ravel()
    # the span's ends, and the frames beyond, are one shot against the other
    assert not gradual.relit_span(t, np.array([s]), np.array([e]))[0]
    # where a shadow falls over the left half instead, the same span is relit
    shade = np.ones((H, W))
    shade[:, : W // 2] = 0.45
    for k in range(n):
        p = np.clip((k - s + 1) / (e - s + 1), 0, 1)
        t[k] = (a * (1 - p * (1 - shade))).ravel()
    assert gradual.relit_span(t, np.array([s]), np.array([e]))[0]


def _lit_while_moving(step: float) -> np.ndarray:
    """Thumbnails (120, cells): a light ramps over the bottom half in frames 40–61 (×1.6)
    while the top half drifts by ``step`` levels a frame (a random walk: the shot's own
    motion, before, during and after the light)."""
    rng = np.random.default_rng(0)
    n, s, e = 120, 40, 62
    a = rng.uniform(60, 160, (H, W))
    walk = np.cumsum(rng.normal(0, step, (n, H, W)), axis=0)
    walk[:, H // 2 :, :] = 0
    t = np.zeros((n, W * H))
    for k in range(n):
        gain = np.ones((H, W))
        gain[H // 2 :, :] = 1 + 0.6 * np.clip((k - s + 1) / (e - s + 1), 0, 1)
        t[k] = np.clip((a + walk[k]) * gain, 0, 255).ravel()
    return t


def test_a_light_over_a_moving_shot_is_relit_at_the_loose_levels() -> None:
    """The moving half leaves 35 % of the change's spread unexplained, over the loose 0.28;
    the shot moves as much before the span (``gradual.RELIT_MOTION``), so the loose test
    takes it for a light, and only with that allowance."""
    t = _lit_while_moving(3.0)
    s, e = np.array([40]), np.array([62])
    assert gradual.relit_span(t, s, e, loose=True)[0]
    assert not gradual.relit(t[39][None], t[62][None], **gradual.RELIT_LOOSE)[0]
    assert not gradual.relit_span(t, s, e)[0]  # the strict test allows no motion


def test_the_motion_allowance_never_takes_a_change_the_gain_field_barely_explains() -> None:
    """A wipe between two moving pictures, brighter one way: however much its sides move,
    a gain field that leaves half the spread unexplained is no light (``RELIT_MOST``)."""
    a = _picture(5)
    b = np.clip(a * np.random.default_rng(6).uniform(1.0, 3.0, (H, W)), 0, 255)
    b[:, : W // 4] = a[:, : W // 4]  # a quarter keeps its level
    huge = np.array([10.0])
    loose = gradual.RELIT_LOOSE
    assert not gradual.relit(a.ravel()[None], b.ravel()[None], **loose, motion=huge)[0]
