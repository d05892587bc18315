"""Representative frames of a clip, written as JPEG or WebP images.

Strategies (which frames of a clip of ``N`` frames, clip-relative, 0-based):

- ``percentage``: at 25 %, 50 % and 75 % of the clip, tags ``p25``, ``p50``, ``p75``;
- ``tag``: the first, middle and last frame, tags ``first``, ``mid``, ``last``.

Position ``p`` maps to frame ``round(p × (N − 1))``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from heaters.errors import MediaError

STRATEGIES: dict[str, tuple[tuple[str, float], ...]] = {
    "percentage": (("p25", 0.25), ("p50", 0.50), ("p75", 0.75)),
    "tag": (("first", 0.0), ("mid", 0.5), ("last", 1.0)),
}


class KeyframeError(MediaError):
    """Keyframes could not be read from the clip or written."""


@dataclass(frozen=True)
class Keyframe:
    """One written keyframe: ``frame`` is clip-relative (0-based), ``path`` the image file."""

    strategy: str
    tag: str
    frame: int
    path: Path
    width: int
    height: int


def keyframe_picks(frame_count: int, strategies: Sequence[str]) -> list[tuple[str, str, int]]:
    """``(strategy, tag, clip-relative frame)`` for each keyframe of ``strategies``.

    Raises KeyError for an unknown strategy.
    """
    picks = []
    for strategy in strategies:
        for tag, pos in STRATEGIES[strategy]:
            picks.append((strategy, tag, round(pos * max(frame_count - 1, 0))))
    return picks


def extract_keyframes(
    clip: Path,
    picks: Sequence[tuple[str, str, int]],
    out_dir: Path,
    *,
    image_format: str = "jpg",
    quality: int = 90,
) -> list[Keyframe]:
    """Decode ``clip`` once and write the picked frames (sync; run it in the process pool).

    Parameters
    ----------
    clip:
        An exported clip file (its frame 0 is the clip's first frame).
    picks:
        From :func:`keyframe_picks`.
    image_format:
        ``jpg`` or ``webp``.
    quality:
        Encoder quality, 0–100.

    Raises
    ------
    KeyframeError
        If the clip cannot be decoded, has fewer frames than a pick needs, or an image cannot
        be written.
    """
    wanted: dict[int, list[tuple[str, str]]] = {}
    for strategy, tag, pick in picks:
        wanted.setdefault(pick, []).append((strategy, tag))
    last = max(wanted, default=-1)
    flag = cv2.IMWRITE_WEBP_QUALITY if image_format == "webp" else cv2.IMWRITE_JPEG_QUALITY
    out: list[Keyframe] = []
    seen = 0
    try:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, decoded in enumerate(container.decode(stream)):
                seen = i + 1
                if i in wanted:
                    rgb = decoded.to_ndarray(format="rgb24")
                    ok, buf = cv2.imencode(
                        f".{image_format}", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [flag, quality]
                    )
                    if not ok:
                        raise KeyframeError(f"cannot encode frame {i} as {image_format}")
                    for strategy, tag in wanted[i]:
                        path = out_dir / f"{strategy}_{tag}.{image_format}"
                        part = path.with_name(f".{path.name}.part")
                        part.write_bytes(np.asarray(buf).tobytes())
                        os.replace(part, path)
                        h, w = rgb.shape[:2]
                        out.append(Keyframe(strategy, tag, i, path, w, h))
                if i >= last:
                    break
    except av.FFmpegError as exc:
        raise KeyframeError(f"cannot decode the clip: {exc}") from None
    if seen <= last:
        raise KeyframeError(f"the clip has {seen} frames; keyframe {last} was asked for")
    return out


def load_image(path: Path) -> np.ndarray:
    """Read an image file as uint8 (H, W, 3) RGB. Raises KeyframeError if unreadable."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise KeyframeError(f"cannot read image {path.name}")
    return np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
