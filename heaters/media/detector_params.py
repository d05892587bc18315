"""The thresholds of the detector's decision rules (:class:`DetectorParams`), one place for
the rules' modules (:mod:`heaters.media.hard_cuts`, :mod:`heaters.media.fades`,
:mod:`heaters.media.gradual`) and for those who re-fit them (:mod:`heaters.media.calibrate`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DetectorParams", "FloatArray"]

FloatArray = npt.NDArray[np.float64]
"""Features as the rules read them: float64, one row per frame."""


@dataclass(frozen=True)
class DetectorParams:
    """Thresholds of the rules of :func:`result_from_features` (see ``docs/detection.md``).

    Attributes
    ----------
    threshold : float
        Adaptive ratio of the cut rule: a frame's HSV difference divided by the mean of its
        ``window`` neighbours' on each side must reach this. PySceneDetect
        ``AdaptiveDetector``'s default, 3.0; every value from 2.0 to 4.0 finds the labelled
        cuts of ``bench/ground_truth`` with no false one.
    min_scene_len : int
        No cut closer than this many frames to the previous cut (or frame 0). 8 frames
        (1/3 s at 24 fps) keeps the sample's real 9-frame shot (cuts 425, 434).
    min_content : float
        Floor on the HSV difference of a cut (0–255 scale of PySceneDetect's
        ``content_val``; its default, 15).
    window : int
        Neighbours on each side averaged for the adaptive ratio (PySceneDetect's default, 2).
    same_picture : float
        A change whose luma correlation with the previous frame is still high,
        ``1 - r <= same_picture``, is a brightness/contrast change of the same picture (ramp,
        exposure, a brightened flash frame), never a cut (it stays a ``brightness_only``
        suggestion). Hard cuts of the labelled sample and suite have ``1 - r`` of 0.44–1.3;
        brightened frames 0.14 at most; but cuts between two windows of a screen recording
        (similar layouts) measure 0.20–0.22 (a second draw of the development split), so 0.17,
        between the two (0.25 before ``heaters-fast/4``). Below it, a frame that is new once
        aligned with the one before (``mc_corr``, the fourth cut route) is still a cut: two
        windows of one layout over a scrolling page measured 0.16 (held-out draw 3031).
    flash_return : float
        A 1–3 frame change is a flash when the frame after it correlates with the frame
        before it (``1 - r``) at most this, and at most half the jump into the flash. Frames
        4 apart within a moving shot of the suite reach ~0.3; hard cuts 0.44+. 0.35.
    new_picture : float
        Second cut route, for cuts inside fast motion (where the HSV difference of the moving
        neighbours hides the cut from the adaptive ratio): ``corr_lag1`` at least this (an
        unrelated picture: ``1 - r`` ≈ 1; labelled cuts 0.44–1.3, mostly ≥ 0.8) ...
    new_picture_ratio : float
        ... and at least this many times the mean ``corr_lag1`` of its ``window`` neighbours
        on each side (moving frames of one picture: 0.3–0.6 in the fast pans of the suite).
        Both 0.7 and 2.0 sit between the pans' values and the cuts'.
    flat_std : float
        A frame whose luma std (0–255) is below this is flat (black, white or any uniform
        colour): the end of a fade out or the start of a fade in. Black and white frames
        measure 0; the last fading frames before them 2–3 at 64×36. 2.5.
    min_fade : int
        Fewest frames of monotone change toward the flat frame that make a fade; fewer is a
        cut to or from the flat frame. 2.
    gradual_min_change : float
        Least thumbnail distance (mean absolute luma difference of the 8×4 thumbnails,
        0–255) between the clean frames on either side of a dissolve or wipe, with and
        without their mean brightness: two thirds of the smallest distance across a labelled
        hard cut of the sample (24); fast camera tilts of the sample reach 13. 16.
    gradual_max_excess : float
        Dissolve/wipe test: the mean, over the span's frames, of
        ``(d(m, A) + d(m, B) - d(A, B)) / d(A, B)`` (0 for a frame exactly between the clean
        frames A and B, a blend or a partial wipe of them). Labelled dissolves and wipes of
        the suite: 0.0–0.08; spans over motion, flashes or a hard cut: 0.1–0.5. 0.15.
    gradual_min_structure : float
        Least mean absolute difference of the two sides' z-normalised thumbnails (each minus
        its mean, over its std): a dissolve joins two different pictures (unrelated pictures:
        ~1.1; labelled cuts of the sample 0.8+), a luma ramp or exposure change keeps one
        (0.0–0.41 over the suite's brightness and gamma ramps). 0.5.
    max_gradual : int
        Longest dissolve/wipe in frames (the issue's range is 6–40; 2.5 s at 24 fps). 60.
    gradual_ref_contrast : float
        Luma std (0–255, of the active picture) at and above which ``gradual_min_change``
        holds in full; the sides of a span with less contrast need proportionally less
        change (down to 0.4 of it): a night grade keeps a dissolve's shape at a third of the
        levels. Shots of the sample and of the suite's plain look: 25–60; under a dark grade
        11–23. 32.
    """

    threshold: float = 3.0
    min_scene_len: int = 8
    min_content: float = 15.0
    window: int = 2
    same_picture: float = 0.17
    flash_return: float = 0.35
    new_picture: float = 0.7
    new_picture_ratio: float = 2.0
    flat_std: float = 2.5
    min_fade: int = 2
    gradual_min_change: float = 16.0
    gradual_max_excess: float = 0.15
    gradual_min_structure: float = 0.5
    max_gradual: int = 60
    gradual_ref_contrast: float = 32.0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("window must be at least 1")
        if self.min_scene_len < 1:
            raise ValueError("min_scene_len must be at least 1")
        if not math.isfinite(self.threshold) or self.threshold <= 0:
            raise ValueError("threshold must be a positive number")
        if self.min_fade < 1 or self.max_gradual < 2:
            raise ValueError("min_fade must be >= 1 and max_gradual >= 2")
