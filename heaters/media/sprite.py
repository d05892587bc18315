"""Sprite sheets: a grid of small frames of one clip, for hover scrubbing in the review UI.

Pure media code: paths and parameters in, a frozen :class:`SpriteResult` out; no database.

The frames come from the all-I-frame proxy (every frame is a keyframe), so each
chosen frame is reached by one seek to its PTS and one decode, never by decoding the clip from
its start. The decoded frame's PTS is checked against the wanted one: a sprite never shows a
neighbour of the frame it claims to show.

Tile choice: a clip ``[start_frame, end_frame)`` of ``count`` frames gets
``n = min(max_tiles, count)`` tiles; tile ``i`` shows frame
``start_frame + (i * count) // n``, the first frame of the ``i``-th of ``n`` equal slices of
the clip. Tile 0 is the clip's first frame, the frames are distinct and increasing, and a UI
maps a hover at fraction ``f`` of the clip's width to tile ``floor(f * n)``.

Layout: ``cols = ceil(sqrt(n))``, ``rows = ceil(n / cols)``, tiles row-major from the top
left; cells after the last tile are black. Sheet size in pixels:
``(cols * tile_width) × (rows * tile_height)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import cv2
import numpy as np
import numpy.typing as npt

from heaters.errors import MediaError
from heaters.media.files import av_reason, open_video, written_whole

__all__ = ["SpriteError", "SpriteResult", "choose_frames", "grid_shape", "make_sprite", "tile_size"]

UInt8Array = npt.NDArray[np.uint8]


class SpriteError(MediaError):
    """The proxy cannot give the frames of a sprite (unreadable, too short, frame missing)."""


@dataclass(frozen=True)
class SpriteResult:
    """A sprite sheet written by :func:`make_sprite`.

    Attributes
    ----------
    path
        The JPEG file.
    cols, rows
        Grid size in tiles; the image is ``cols * tile_width`` by ``rows * tile_height`` pixels.
    tile_width, tile_height
        Size of one tile in pixels (``tile_height`` is even).
    frames
        Absolute frame index in the video (0-based, decode order) of each tile, row-major;
        ``len(frames) <= cols * rows`` (cells after the last tile are black).
    """

    path: Path
    cols: int
    rows: int
    tile_width: int
    tile_height: int
    frames: tuple[int, ...]


def choose_frames(start_frame: int, end_frame: int, max_tiles: int) -> tuple[int, ...]:
    """The frames the tiles show: up to ``max_tiles`` evenly spread over ``[start, end)``.

    Parameters
    ----------
    start_frame, end_frame
        The clip, half-open, in absolute frame indices (``0 <= start_frame < end_frame``).
    max_tiles
        Most tiles wanted (``>= 1``).

    Returns
    -------
    tuple[int, ...]
        ``n = min(max_tiles, end_frame - start_frame)`` strictly increasing frame indices,
        ``start_frame + (i * count) // n`` for ``i`` in ``0..n-1``; the first is
        ``start_frame``, all are ``< end_frame``.

    Raises
    ------
    ValueError
        For an empty or negative range, or ``max_tiles < 1``.
    """
    if start_frame < 0 or end_frame <= start_frame:
        raise ValueError(f"bad frame range [{start_frame}, {end_frame})")
    if max_tiles < 1:
        raise ValueError(f"max_tiles must be >= 1, not {max_tiles}")
    count = end_frame - start_frame
    n = min(max_tiles, count)
    return tuple(start_frame + (i * count) // n for i in range(n))


def grid_shape(n: int) -> tuple[int, int]:
    """``(cols, rows)`` of a grid holding ``n >= 1`` tiles: ``cols = ceil(sqrt(n))``."""
    cols = math.ceil(math.sqrt(n))
    return cols, math.ceil(n / cols)


def tile_size(width: int, height: int, tile_width: int, sar: Fraction = Fraction(1)) -> int:
    """Tile height in pixels for a ``width × height`` picture shown ``tile_width`` wide.

    Keeps the display aspect ratio (``width * sar / height``), rounded to an even number of
    pixels, at least 2.
    """
    display_width = width * sar
    return max(2, 2 * round(tile_width * height / display_width / 2))


def _stream_pts(container: Any, stream: Any) -> list[int]:
    """PTS of every video packet in decode order (demux only: no decoding)."""
    pts = [int(p.pts) for p in container.demux(stream) if p.size and p.pts is not None]
    container.seek(0, stream=stream)
    return pts


def _pts_of(pts_seconds: Sequence[float] | None, k: int, tb: Fraction) -> int:
    """PTS (stream time base ticks) of frame ``k`` from its PTS in seconds."""
    assert pts_seconds is not None
    return round(Fraction(pts_seconds[k]) / tb)


def _decode_at(container: Any, stream: Any, target: int, frame: int, name: str) -> Any:
    """Seek to PTS ``target`` (stream time base) and return the decoded frame with that PTS."""
    container.seek(target, stream=stream, backward=True, any_frame=False)
    for packet in container.demux(stream):
        for decoded in packet.decode():
            if decoded.pts is None or decoded.pts < target:
                continue  # only when the seek landed early: decode on to the target
            if decoded.pts == target:
                return decoded
            raise SpriteError(
                f"frame {frame} (PTS {target}) of {name} cannot be decoded exactly: "
                f"the decoder gave PTS {decoded.pts}"
            )
    raise SpriteError(f"frame {frame} (PTS {target}) of {name} was not found in the video")


def make_sprite(
    proxy: Path,
    start_frame: int,
    end_frame: int,
    out: Path,
    *,
    pts_seconds: Sequence[float] | None = None,
    max_tiles: int = 25,
    tile_width: int = 160,
    quality: int = 80,
) -> SpriteResult:
    """Write the sprite sheet of the clip ``[start_frame, end_frame)`` of ``proxy`` to ``out``.

    Parameters
    ----------
    proxy
        An all-I-frame video (the proxy made by preprocess): every frame can be decoded on
        its own after a seek.
    start_frame, end_frame
        The clip, half-open, in absolute frame indices (0-based, decode order).
    out
        The JPEG to write. Written under a temporary name in the same folder and renamed,
        so ``out`` is either absent or complete.
    pts_seconds
        The video's frame index: ``pts_seconds[k]`` = PTS × time base (seconds) of frame
        ``k``, for every ``k < end_frame`` at least (the whole index may be passed). When
        None, the PTS are read by demuxing the proxy (no decoding).
    max_tiles
        Most tiles in the sheet (fewer when the clip has fewer frames).
    tile_width
        Width of a tile in pixels; the height follows the display aspect ratio (even).
    quality
        JPEG quality, 1–100.

    Returns
    -------
    SpriteResult
        The sheet, its grid, its tile size and the absolute frame of each tile
        (see :func:`choose_frames`).

    Raises
    ------
    SpriteError
        (a :class:`~heaters.errors.MediaError`) with a one-line reason when the proxy cannot
        be opened or has no video, the clip reaches past its last frame, or a chosen frame
        cannot be decoded at its exact PTS.
    ValueError
        For a bad frame range or parameters.
    """
    proxy, out = Path(proxy), Path(out)
    if tile_width < 2 or tile_width % 2:
        raise ValueError(f"tile_width must be even and >= 2, not {tile_width}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be within 1..100, not {quality}")
    frames = choose_frames(start_frame, end_frame, max_tiles)
    name = proxy.name
    with open_video(proxy, SpriteError, f"the proxy {name}") as (container, stream):
        if stream.time_base is None:
            raise SpriteError(f"the proxy {name} has no time base")
        tb = Fraction(stream.time_base)
        try:
            stream_pts = _stream_pts(container, stream) if pts_seconds is None else None
            known = len(stream_pts) if stream_pts is not None else len(pts_seconds or ())
            if end_frame > known:
                raise SpriteError(
                    f"the clip ends at frame {end_frame} but {name} has {known} frames"
                )
            targets = [
                stream_pts[k] if stream_pts is not None else _pts_of(pts_seconds, k, tb)
                for k in frames
            ]
            ctx = stream.codec_context
            width, height = int(ctx.width), int(ctx.height)
            if width <= 0 or height <= 0:
                raise SpriteError(f"the proxy {name} has no picture size")
            sar = Fraction(ctx.sample_aspect_ratio or 1) or Fraction(1)
            tile_height = tile_size(width, height, tile_width, sar)
            tiles: list[UInt8Array] = []
            for k, target in zip(frames, targets, strict=True):
                decoded = _decode_at(container, stream, target, k, name)
                tiles.append(
                    decoded.reformat(
                        width=tile_width, height=tile_height, format="bgr24", interpolation="AREA"
                    ).to_ndarray()
                )
        except av.error.FFmpegError as exc:
            raise SpriteError(f"cannot decode the proxy {name}: {av_reason(exc)}") from None

    cols, rows = grid_shape(len(tiles))
    sheet = np.zeros((rows * tile_height, cols * tile_width, 3), dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet[r * tile_height : (r + 1) * tile_height, c * tile_width : (c + 1) * tile_width] = tile
    ok, jpeg = cv2.imencode(".jpg", sheet, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SpriteError(f"cannot encode the sprite of {name} as JPEG")
    with written_whole(out) as part:
        part.write_bytes(jpeg.tobytes())
    return SpriteResult(
        path=out,
        cols=cols,
        rows=rows,
        tile_width=tile_width,
        tile_height=tile_height,
        frames=frames,
    )
