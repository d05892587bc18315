"""Clip-level vectors from frame-level vectors (pure: numpy in, numpy out, no I/O).

A clip is embedded from a few keyframes; the clip's one vector in ``clip_embeddings`` is the
aggregate of the keyframes' vectors under a named *strategy* (the ``strategy`` column, so
several strategies can coexist for one clip and model).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

STRATEGIES: Final = ("mean",)
"""The strategies :func:`aggregate` knows."""


def aggregate(vectors: npt.ArrayLike, strategy: str = "mean") -> npt.NDArray[np.float32]:
    """Combine a clip's frame vectors into one unit vector.

    ``"mean"``: the arithmetic mean of the rows, then scaled to unit L2 norm. With unit-norm
    rows this is the direction closest, in summed cosine similarity, to all frames (the
    spherical mean's first step), so cosine search against the clip vector finds clips that
    look like most of their frames. The mean is computed in float64, so the result does not
    depend on the float32 rounding of a running sum; the order of the rows does not matter.

    The function is pure: the input array is neither modified nor kept.

    Parameters
    ----------
    vectors:
        Array of shape ``(n_frames, dim)``, ``n_frames >= 1``, finite values; usually the
        L2-normalised rows an :class:`~heaters.embeddings.ImageEmbedder` returns (rows need not
        be normalised: each row then weighs by its norm).
    strategy:
        One of :data:`STRATEGIES`.

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(dim,)`` with L2 norm 1.

    Raises
    ------
    ValueError
        Unknown strategy; not a non-empty 2-D array; non-finite values; or a mean of (near)
        zero length, which has no direction (rows that cancel out: impossible for the
        non-negative EfficientNet-Lite features, whose cosines are all ≥ 0).
    """
    if strategy not in STRATEGIES:
        raise ValueError(
            f"unknown aggregation strategy {strategy!r} (known: {', '.join(STRATEGIES)})"
        )
    array = np.asarray(vectors, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"expected a non-empty (n_frames, dim) array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("vectors contain NaN or infinite values")
    mean = array.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm < 1e-12:
        raise ValueError("the mean of the vectors is zero: it has no direction")
    unit: npt.NDArray[np.float32] = (mean / norm).astype(np.float32)
    return unit
