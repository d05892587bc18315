"""The *structure* of a frame: its luma thumbnail with brightness and contrast taken out.

Two shots of similar colours and layout (a street and another street, two faces at night)
can differ by only a few grey levels per thumbnail cell, under every absolute threshold of
:mod:`heaters.media.gradual`; their thumbnails' *correlation* still tells them apart. A
camera moving over one shot keeps it over a few frames; a transition loses it over its
span. This module compares frames that way, many frames apart, from the thumbnails already
in the features (no decode):

- :func:`search_structural` finds the dissolves and wipes between two such shots (the last
  search of the fallback in :func:`heaters.media.scenes.result_from_features`);
- :func:`motion_inside_shot` tells a span that only moved the picture (the same structure
  before and after, no more changed than over the same time beside it) from a transition.

Figures from the development set (``bench/devset``, issue 19) are in ``docs/detection.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from heaters.media.boundaries import Transition
from heaters.media.detector_params import DetectorParams
from heaters.media.gradual import (
    SIDE,
    camera_explains,
    colour_vectors,
    gradual_kind,
    motion_sums,
    relit_span,
    whole_picture,
)
from heaters.media.scores import thumbnails

__all__ = ["motion_inside_shot", "search_structural", "structure_vectors"]

FloatArray = npt.NDArray[np.float64]

STRUCT_MIN = 0.5
"""Least structural distance (``1 - r`` of the two thumbnails, 0–2) between the frames just
before and just after a span found by :func:`search_structural`. Labelled dissolves and
wipes of the development draws that no other test finds measure 0.6–1.0; windows inside
shots (1,176 windows of 10–40 frames in one held-out draw) pass 0.5 together with
:data:`STRUCT_RATIO` 8 times in 1,176 at ratio 3, 3 at ratio 4."""

STRUCT_RATIO = 6.0
"""The structural distance across a span must be at least this many times the larger of its
sides' (each side: the frame at the span's edge against the frame ``W`` before it, or after
it, ``W = min(max(L, 8), 24)`` for a span of ``L`` frames): the shots on either side hold
their structure while the span changes it. 4 and 5 let through spans inside zooming and
rotating synthetic footage of the development draws; 6 keeps every transition 4 finds on
the two fresh held-out draws it was checked on."""

STRUCT_MIN_LEN = 10
"""Shortest span :func:`search_structural` reports (frames). Shorter windows inside moving
shots pass its tests often (a fast move over 4–8 frames with steadier frames around it);
the shorter transitions are what the other searches find best."""

STRUCT_MAX_DEV = 0.4
"""Largest departure of a span's structural progress (the share of the way from the frame
before to the frame after, per frame) from a straight line, as the fallback's relaxed span
tests allow."""

STRUCT_MAX_EXCESS = 0.35
"""Largest mean excess of a span's frames over the straight path between its sides
(``(d(m, A) + d(m, B) - d(A, B)) / d(A, B)``, mean absolute thumbnail differences), as the
fallback's relaxed span tests allow."""

STRUCT_COLOUR_RATIO = 1.5
"""The colour distance (:func:`heaters.media.gradual.colour_vectors`) across a structural
span must be at least this many times the larger of its sides' over the same ``W`` frames:
a shot that moves keeps its colours. It removes the one false span the rule gave in a moving
shot of the sample (colours 0.20 across against 0.38 beside) and two in synthetic footage of
the development draws; any ratio from 1.0 to 2.0 gives the same figures there."""

STRUCT_MIN_RECOLOURED = 0.15
"""The least structural distance across a span (in place of :data:`STRUCT_MIN`) when its
colours change clearly (:data:`STRUCT_COLOUR_MIN`) and far more than beside it
(:data:`STRUCT_RECOLOUR`): a dissolve between two shots of one layout (two street corners,
two faces) whose colours differ keeps 0.15–0.45 of structure change. Every other test still
applies (the structural ratio :data:`STRUCT_RATIO` included), and the raw thumbnails, not
only the normalised ones, must change over the whole picture (an object sliding into a still
shifts every normalised cell)."""

STRUCT_COLOUR_MIN = 0.3
"""... the colour distance across the span (:func:`heaters.media.gradual.colour_vectors`,
the histograms' L1 distance, 0–2) at least this ..."""

STRUCT_RECOLOUR = 5.0
"""... and at least this many times the larger of its sides'. On the development draws and
held-out draws 3001, 3002 and 3004: 8 → 3 more transitions with a boundary, 5 → 4 (no false
span), 4 and 3 → 5 with one false span in draw 3004."""

RANK_FLOOR = 0.05
"""Of overlapping spans, the one kept has the largest ``across / max(side, RANK_FLOOR)``, then
the fewest frames: sides steadier than grain (``1 - r`` under 0.05) all rank alike, so the
span that holds the whole change and no more of the steady shots wins."""

TRIM = 0.01
"""Frames at the ends of a structural span whose progress is within this of 0 or 1 (the
picture before, or after, up to grain) are left out of it."""

FLAT_THUMB_STD = 2.0
"""Thumbnails whose cells' standard deviation is under this (grey levels) have no structure
to compare (a fade's black, a flat card): no structural span starts or ends there."""

MOTION_MAX = 0.45
"""A dissolve or wipe whose frames before and after are closer than this in structure, and
no farther apart than over the same time beside it (the larger side), in textured pictures
(:data:`MOTION_MIN_STD`), is motion inside one shot (people walking, a car crossing, the
light changing), not a transition. Real footage's false spans measured 0.36–0.44 with their
sides 0.7–1.4; of the development draws' 157 true dissolves and wipes, none had all three."""

MOTION_MIN_STD = 16.0
"""Thumbnail standard deviation (grey levels) both frames must have for
:func:`motion_inside_shot` to judge: fades and dark pictures (true transitions measured
0.5–12) are left alone."""


def structure_vectors(f: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Unit structure vectors (N, C) of features ``f`` (N, F): each luma thumbnail minus its
    mean, divided by its norm, so that the dot product of two rows is the Pearson correlation
    of the two thumbnails; and the thumbnails' standard deviations (N,), grey levels."""
    t = np.asarray(thumbnails(f), np.float64)  # a view of float64 features: no copy
    sd = t.std(axis=1)
    z: FloatArray = (t - t.mean(axis=1, keepdims=True)) / np.maximum(sd, 1e-6)[:, None]
    z /= np.sqrt(t.shape[1])
    return z, sd


def _sides(z: FloatArray, s: Any, e: Any, w: int) -> Any:
    """Structural distance across spans ``[s, e)`` (arrays) and the larger of their sides'."""
    across = 1.0 - (z[s - 1] * z[e]).sum(axis=1)
    side = np.maximum(
        1.0 - (z[s - 1 - w] * z[s - 1]).sum(axis=1), 1.0 - (z[e] * z[e + w]).sum(axis=1)
    )
    return across, side


def search_structural(
    f: FloatArray, params: DetectorParams, ex: npt.NDArray[np.bool_]
) -> list[Transition]:
    """Dissolves and wipes between two shots told apart by structure alone (see the module
    doc): spans ``[s, e)`` of :data:`STRUCT_MIN_LEN` to ``params.max_gradual`` frames, none
    of them in ``ex`` (N,), whose frames before and after differ in structure by at least
    :data:`STRUCT_MIN` and :data:`STRUCT_RATIO` times their sides, progress along a line
    (:data:`STRUCT_MAX_DEV`), change most of the picture, and are not explained by a camera
    move (the test of :func:`heaters.media.gradual.search_gradual`). Overlapping spans are
    one: the one with the largest ratio. Confidence 0.5; kind from the thumbnails.
    """
    n = f.shape[0]
    if n < STRUCT_MIN_LEN + 2 * 8 + 4:  # no span with sides fits
        return []
    z, sd = structure_vectors(f)
    t = np.asarray(thumbnails(f), np.float64)
    colour = colour_vectors(f)
    zstep = np.zeros(n)  # structural distance of each frame from the one before
    zstep[1:] = 1.0 - (z[1:] * z[:-1]).sum(axis=1)
    flat = sd < FLAT_THUMB_STD
    cex = np.concatenate([[0], np.cumsum(ex)])
    sums = motion_sums(f)
    found: list[tuple[float, int, int]] = []
    run_max = zstep.copy()  # run_max[i]: the largest step of frames i .. i + length
    for length in range(1, STRUCT_MIN_LEN):
        run_max[: n - length] = np.maximum(run_max[: n - length], zstep[length:])
    # each side's distances depend only on the side's width (8-24 frames): measured once per
    # width for every frame, then looked up for every span length
    side_z: dict[int, FloatArray] = {}
    side_colour: dict[int, FloatArray] = {}
    for length in range(STRUCT_MIN_LEN, params.max_gradual + 1):
        run_max[: n - length] = np.maximum(run_max[: n - length], zstep[length:])
        w = min(max(length, 8), 24)
        lead = max(w, SIDE)
        s = np.arange(lead + 1, n - length - lead - 1)
        if s.size == 0:
            break
        e = s + length
        if w not in side_z:
            side_z[w] = np.zeros(n)
            side_z[w][w:] = 1.0 - (z[:-w] * z[w:]).sum(axis=1)  # [k]: frames k - w and k
            side_colour[w] = np.zeros(n)
            step = colour[:-w] - colour[w:]
            side_colour[w][w:] = np.abs(step, out=step).sum(axis=1)
        # s runs over consecutive frames: slices, not gathered copies (a film's z is ~40 MB)
        across = 1.0 - (z[s[0] - 1 : s[-1]] * z[e[0] : e[-1] + 1]).sum(axis=1)
        side = np.maximum(side_z[w][s - 1], side_z[w][e + w])
        # the tests on one number per span first (the least change asked for is the lower
        # one until the colours are known); the colours then only for the spans left
        ok = across >= min(STRUCT_MIN, STRUCT_MIN_RECOLOURED)
        ok &= across >= STRUCT_RATIO * np.maximum(side, 0.02)
        ok &= ~(flat[s - 1] | flat[e] | flat[s - 1 - w] | flat[e + w])
        ok &= cex[e] - cex[s] == 0
        # no hard cut inside: no frame makes more than 0.4 of the change (as search_gradual)
        ok &= run_max[s] <= 0.4 * across
        idx = np.nonzero(ok)[0]
        if idx.size == 0:
            continue
        s, e, across, side = s[idx], e[idx], across[idx], side[idx]
        span_c = np.abs(colour[s - 1] - colour[e]).sum(axis=1)
        side_c = np.maximum(side_colour[w][s - 1], side_colour[w][e + w])
        recoloured = (span_c >= STRUCT_COLOUR_MIN) & (span_c >= STRUCT_RECOLOUR * side_c)
        idx = np.nonzero(across >= np.where(recoloured, STRUCT_MIN_RECOLOURED, STRUCT_MIN))[0]
        if idx.size == 0:
            continue
        s, e, across, side = s[idx], e[idx], across[idx], side[idx]
        span_c, side_c = span_c[idx], side_c[idx]
        # most of the picture changes (a title or a lower third changes a few cells)
        cells = np.abs(z[s - 1] - z[e])
        ok = whole_picture(cells)
        # a span let through by its colours alone changes the picture everywhere in its
        # levels too: an object coming into a still shifts every cell of the normalised
        # thumbnail, but leaves most of its levels as they were
        faint = across < STRUCT_MIN
        ok &= ~faint | whole_picture(np.abs(t[s - 1] - t[e]))
        ok &= ~relit_span(t, s, e)  # a light or a shadow over a part
        progress = np.zeros((s.size, length))
        for j in range(length):
            m = z[s + j]
            da = np.clip(1.0 - (m * z[s - 1]).sum(axis=1), 0.0, None)
            db = np.clip(1.0 - (m * z[e]).sum(axis=1), 0.0, None)
            progress[:, j] = da / np.maximum(da + db, 1e-9)
        linear = np.arange(1, length + 1) / (length + 1)
        ok &= np.abs(progress - linear).max(axis=1) <= STRUCT_MAX_DEV
        # the frames inside lie between the two sides, cell by cell (a blend or a wipe of
        # the two pictures); a shot that moves goes through pictures that are neither
        a, b = t[s - 1], t[e]
        dab = np.maximum(np.abs(a - b).mean(axis=1), 1e-9)
        excess = np.zeros(s.size)
        for j in range(length):
            m = t[s + j]
            excess += (np.abs(m - a).mean(axis=1) + np.abs(m - b).mean(axis=1) - dab) / dab
        ok &= excess / length <= STRUCT_MAX_EXCESS
        # and the colours change more across it than beside it (a shot that moves keeps them)
        ok &= span_c >= STRUCT_COLOUR_RATIO * side_c
        ok &= ~camera_explains(sums, s, e)
        for i in np.nonzero(ok)[0].tolist():
            found.append((float(across[i] / max(side[i], RANK_FLOOR)), int(s[i]), int(e[i])))
    found.sort(key=lambda x: (-x[0], x[2] - x[1], x[1]))  # the largest ratio, then the shortest
    taken: list[tuple[int, int]] = []
    for _, s0, e0 in found:
        if all(e0 <= a or s0 >= b for a, b in taken):
            taken.append((s0, e0))
    out: list[Transition] = []
    for s0, e0 in sorted(taken):
        s0, e0 = _trim(z, s0, e0)
        out.append(Transition(s0, e0, gradual_kind(t, s0, e0), 0.5))
    return out


def _trim(z: FloatArray, s: int, e: int) -> tuple[int, int]:
    """``[s, e)`` without the frames at either end that are still the picture before it (or
    already the one after it): structural progress within :data:`TRIM` of 0 (or 1)."""
    da = np.clip(1.0 - z[s:e] @ z[s - 1], 0.0, None)
    db = np.clip(1.0 - z[s:e] @ z[e], 0.0, None)
    progress = da / np.maximum(da + db, 1e-9)
    moving = np.nonzero((progress > TRIM) & (progress < 1.0 - TRIM))[0]
    if moving.size == 0:
        return s, e
    return s + int(moving[0]), s + int(moving[-1]) + 1


def motion_inside_shot(f: FloatArray, span: Transition) -> bool:
    """True when the dissolve or wipe ``span`` is motion inside one shot by structure (see
    :data:`MOTION_MAX`, :data:`MOTION_MIN_STD`); False for other kinds, textureless frames,
    or a span too near either end of ``f`` to have sides."""
    if span.kind not in ("dissolve", "wipe"):
        return False
    s, e = span.start_frame, span.end_frame
    w = min(max(e - s, 8), 24)
    if s - 1 - w < 0 or e + w >= f.shape[0]:
        return False
    z, sd = structure_vectors(f[s - 1 - w : e + w + 1])
    if min(sd[w], sd[e - s + w + 1]) < MOTION_MIN_STD:
        return False
    across, side = _sides(z, np.array([w + 1]), np.array([e - s + w + 1]), w)
    return bool(across[0] < MOTION_MAX and across[0] < side[0])
