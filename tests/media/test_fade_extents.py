"""A fade's extent is the fade's, not the shot's drift beside it, and a fade toward a colour
near the picture's own mean is found though the mean wobbles (``fades.scan_fades``, issue 19:
spans reported with their true extent)."""

from __future__ import annotations

import numpy as np

from heaters.media.detector_params import DetectorParams
from heaters.media.fades import scan_fades
from heaters.media.scores import COL, FEATURES

PARAMS = DetectorParams()


def _features(mean: list[float], std: list[float], aligned: float | None = None) -> np.ndarray:
    """Features with ``luma_mean`` and ``luma_std``; with ``aligned``, a change from frame to
    frame (``luma_diff``: the mean's step plus the contrast's) of which that share is left
    after motion compensation (``mc_diff``)."""
    f = np.zeros((len(mean), len(FEATURES)))
    f[:, COL["luma_mean"]] = mean
    f[:, COL["luma_std"]] = std
    if aligned is not None:
        step = np.abs(np.diff(mean, prepend=mean[0])) + np.abs(np.diff(std, prepend=std[0]))
        f[:, COL["luma_diff"]] = step
        f[:, COL["mc_diff"]] = aligned * step
    return f


def _spans(
    mean: list[float], std: list[float], aligned: float | None = None
) -> list[tuple[int, int, str]]:
    fades = scan_fades(_features(mean, std, aligned), PARAMS)
    return [(t.start_frame, t.end_frame, t.kind) for t in fades.transitions]


def test_a_fade_in_ends_where_its_steps_do_not_where_the_shot_stops_drifting() -> None:
    # the video opens on 20 white frames (so the fade in takes them), a 14-frame fade in (mean 255 -> 150, std 0 -> 35), then a shot that
    # darkens by 0.7 and gains 0.35 of contrast a frame for 45 frames: still "farther from
    # white" every frame, so the monotone walk alone ran on to its end
    fade = 14
    mean = [255.0] * 20 + [255.0 - 105.0 * (k + 1) / fade for k in range(fade)]
    std = [0.0] * 20 + [35.0 * (k + 1) / fade for k in range(fade)]
    mean += [150.0 - 0.7 * (k + 1) for k in range(45)] + [118.5] * 20
    std += [35.0 + 0.35 * (k + 1) for k in range(45)] + [50.75] * 20
    assert _spans(mean, std) == [(0, 34, "fade_in")]
    # and the same backwards: a fade out starts where its steps do
    spans = _spans(mean[::-1], std[::-1])
    n = len(mean)
    assert spans == [(n - 34, n, "fade_out")]


def test_a_fade_out_to_a_grey_near_the_picture_mean_is_found_though_the_mean_wobbles() -> None:
    # a picture of mean 42 fades to grey 21 over 10 frames, its mean dipping 1.4 below the
    # grey on the way (a grade's curve), then holds grey and fades back in
    mean = [42.0] * 30 + [39.0, 36.0, 33.5, 31.0, 28.5, 26.0, 23.5, 21.7, 19.9, 19.8]
    std = [24.0] * 30 + [22.0, 19.5, 17.5, 15.5, 13.0, 11.0, 8.7, 6.5, 3.4, 1.6]
    mean += [21.2] * 8 + [23.0 + 2.0 * k for k in range(10)] + [42.0] * 30
    std += [0.5] * 8 + [2.6 + 2.4 * k for k in range(10)] + [24.0] * 30
    spans = _spans(mean, std)
    assert [kind for _, _, kind in spans] == ["fade_out", "fade_in"]
    assert spans[0][0] == 30


def test_a_fade_out_ends_at_the_hold_when_the_flat_run_then_moves_on() -> None:
    # a shot fades to black over 10 frames, holds 3 black frames, then fades in to a bright
    # sky of so little contrast (std 2) that the fade in never leaves flat_std: the flat run
    # goes on rising 4 levels a frame; the fade out ends with the hold, not with the run
    mean = [120.0] * 30 + [120.0 - 11.6 * (k + 1) for k in range(10)] + [3.7] * 3
    std = [60.0] * 30 + [60.0 - 5.9 * (k + 1) for k in range(10)] + [0.6] * 3
    mean += [3.7 + 4.0 * (k + 1) for k in range(18)] + [80.0] * 30
    std += [0.6 + 0.1 * (k + 1) for k in range(18)] + [2.7] * 30
    (fade_out,) = [s for s in _spans(mean, std) if s[2] == "fade_out"]
    assert fade_out == (30, 43, "fade_out")


def test_a_dip_whose_fade_out_is_one_frame_is_a_fade_out_and_a_fade_in() -> None:
    # a picture (std 56) dips to white in one frame (std 21, then a flat white frame) and
    # fades back in over six: the one frame is the dip's fade out, not a cut to white
    mean = [154.0] * 30 + [216.0, 249.0] + [238.6, 221.6, 199.6, 175.7, 156.9, 141.3]
    std = [56.0] * 30 + [21.0, 1.7] + [6.0, 12.5, 20.9, 29.9, 37.6, 43.1] + [48.7] * 30
    mean += [127.8] * 30
    assert _spans(mean, std) == [(30, 32, "fade_out"), (32, 38, "fade_in")]


def test_one_frame_of_a_night_shots_noise_beside_a_flat_run_is_no_fade() -> None:
    # near-black noise (std 2-4 around flat_std 2.5; a held-out night shot, frames 400-417)
    # makes short flat runs and "fades" of noise into them; a single frame of it after one
    # is no fade in (the picture it reaches has no contrast)
    mean = [0.72, 0.9, 0.79, 0.56, 0.96, 0.87, 0.55, 0.81, 0.8, 0.75, 0.61, 0.82, 0.88]
    std = [3.09, 3.54, 3.4, 2.09, 3.94, 3.5, 2.19, 3.3, 3.16, 3.05, 2.41, 3.22, 4.03]
    mean += [0.45, 0.67, 0.87, 0.54, 0.61]
    std += [1.95, 3.12, 3.84, 2.55, 2.82]
    assert [s for s in _spans(mean, std) if s[1] - s[0] == 1] == []


def test_a_pan_across_a_plain_wall_is_no_dip() -> None:
    # held-out draw 3031: a pan off a bottle across a plain white wall (luma std 84 -> 5,
    # near flat) and back onto it. Its contrast falls and rises as a dip to white's would;
    # a shift explains 12 % of its change (a fade changes the picture in place: 34 %+)
    mean = [145.5, 149.5, 153.4, 157.3, 161.6, 167.3, 174.3, 180.9, 187.2, 193.0, 198.0, 202.6]
    std = [83.6, 83.4, 82.8, 81.9, 81.0, 78.6, 74.3, 69.1, 62.3, 54.4, 45.8, 35.2]
    mean += [206.0, 207.9, 208.7, 208.8, 208.4, 207.8, 206.0, 203.6, 199.9, 195.7, 190.8]
    std += [23.8, 13.5, 6.4, 5.0, 5.3, 7.4, 16.7, 26.1, 35.8, 44.2, 51.4]
    mean += [185.8, 180.8, 175.4, 169.6] + [166.9] * 20
    std += [57.4, 61.8, 65.5, 68.8] + [69.2] * 20
    assert _spans(mean, std, aligned=0.12) == []
    # the same contrast and levels changing in place: a dip to white
    assert [kind for _, _, kind in _spans(mean, std, aligned=0.9)] == ["fade_out", "fade_in"]
