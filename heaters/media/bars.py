"""Letterbox and pillarbox bars: the active picture of a video, found once per video.

Pure media code (frames in, a box out; no I/O). Shot-boundary features are measured on the
active picture only: black bars a quarter of the frame high make two different shots
correlate as "the same picture at another brightness" (the bars are black in both) and
dilute every difference by their share of the frame.

The rule follows FFmpeg's ``cropdetect`` (rows and columns whose luma stays under a limit are
bars), over frames sampled across the whole video rather than the first few seconds, and
keeps only bars that hold in most of them, so a dark scene does not crop the picture and a
subtitle burned into a bar now and then does not widen it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BAR_LUMA", "ActiveBox", "find_active_box"]

BAR_LUMA = 32.0
"""A row or column of an analysis frame (64×36, each pixel the average of a cell of the
original) whose brightest pixel is at most this luma (0–255) is black in that frame. Black
bars decode to 0–16 (limited-range black is 16 → RGB 0) with grain averaged away by the
downscale; ``cropdetect``'s default limit is 24 on 8-bit luma, on single pixels."""

BAR_SHARE = 0.8
"""A row/column is a bar when it is black in at least this share of the informative sampled
frames: bars are there all the time; dark picture rows are not (80 % lets a subtitle in the
bar, or a bright shot's glow, show in one sample of five)."""

MIN_ACTIVE = 0.4
"""The active picture keeps at least this share of the frame's height and width (a vertical
9:16 video pillarboxed in 16:9 keeps 0.32 of the width: it is measured whole rather than
cropped to a sliver; 4:3 in 16:9 keeps 0.75, 2.39:1 in 16:9 keeps 0.74)."""

MIN_INFORMATIVE = 3
"""Fewest informative sampled frames (not flat, not dark all over) needed to crop at all."""


@dataclass(frozen=True)
class ActiveBox:
    """The active picture inside a frame, in analysis-frame pixels: rows ``top:bottom``,
    columns ``left:right`` (Python slice bounds).

    Attributes
    ----------
    top, bottom, left, right : int
        Slice bounds; ``(0, height, 0, width)`` is the whole frame (no bars).
    """

    top: int
    bottom: int
    left: int
    right: int

    @classmethod
    def whole(cls, height: int, width: int) -> ActiveBox:
        """The whole frame (no bars)."""
        return cls(0, height, 0, width)

    def crop(self, frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """``frames[..., top:bottom, left:right, :]`` of (…, H, W, 3) frames (a view)."""
        return frames[..., self.top : self.bottom, self.left : self.right, :]

    def as_dict(self) -> dict[str, int]:
        """``{"top", "bottom", "left", "right"}`` (JSON-ready)."""
        return {"top": self.top, "bottom": self.bottom, "left": self.left, "right": self.right}


def _keep(bar: npt.NDArray[np.bool_], minimum: int) -> tuple[int, int]:
    """Bounds of the longest run of non-bar lines, or the whole range when it is shorter than
    ``minimum`` (so a subtitle line inside a bar neither widens the box nor becomes it)."""
    n = bar.shape[0]
    best = (0, 0)
    k = 0
    while k < n:
        if bar[k]:
            k += 1
            continue
        start = k
        while k < n and not bar[k]:
            k += 1
        if k - start > best[1] - best[0]:
            best = (start, k)
    if best[1] - best[0] < minimum:
        return 0, n
    return best


def find_active_box(frames: npt.NDArray[np.uint8]) -> ActiveBox:
    """The active picture of a video from frames sampled across it.

    A frame is informative when its brightest pixel is above :data:`BAR_LUMA` + 16 and its
    luma std is at least 8 (flat, black and near-black frames say nothing about bars). A row
    (column) is a bar when its brightest pixel is at most :data:`BAR_LUMA` in at least
    :data:`BAR_SHARE` of the informative frames; the box is the longest run of non-bar rows
    (columns). No crop when fewer than :data:`MIN_INFORMATIVE` frames are informative or the
    box would keep less than :data:`MIN_ACTIVE` of the height (width). The line next to a
    bar is left out too (it is partly bar).

    Parameters
    ----------
    frames : uint8 array (M, H, W, 3)
        RGB analysis frames sampled across the video (a dozen or more, from all of it).

    Returns
    -------
    ActiveBox
        In the frames' pixels; the whole frame when there are no bars.
    """
    m, h, w, _ = frames.shape
    if m == 0:
        return ActiveBox.whole(h, w)
    rgb = frames.astype(np.float32)
    luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    peak = luma.reshape(m, -1).max(axis=1)
    spread = luma.reshape(m, -1).std(axis=1)
    informative = (peak > BAR_LUMA + 16.0) & (spread >= 8.0)
    if int(informative.sum()) < MIN_INFORMATIVE:
        return ActiveBox.whole(h, w)
    y = luma[informative]
    dark_rows = (y.max(axis=2) <= BAR_LUMA).mean(axis=0) >= BAR_SHARE
    dark_cols = (y.max(axis=1) <= BAR_LUMA).mean(axis=0) >= BAR_SHARE
    top, bottom = _trim(*_keep(dark_rows, max(2, int(np.ceil(MIN_ACTIVE * h)))), h)
    left, right = _trim(*_keep(dark_cols, max(2, int(np.ceil(MIN_ACTIVE * w)))), w)
    return ActiveBox(top, bottom, left, right)


def _trim(start: int, end: int, n: int) -> tuple[int, int]:
    """Leave out one more line next to each bar: where the bar's edge falls inside a line of
    the small frame (2.39:1 in 16:9 at 36 rows: bars of 4.6 rows), that line is part bar, part
    picture, and would give a flat frame (a fade's black or white) the contrast of an edge."""
    if start > 0:
        start += 1
    if end < n:
        end -= 1
    return start, end
