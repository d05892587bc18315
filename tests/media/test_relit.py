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
