"""The master check: can the original serve as the file exports re-encode from, or does the
video need a lossless FFV1 master (:func:`original_master_problem`, :func:`ffmpeg_master_args`).

An export seeks the original to the keyframe at or before a clip's first frame and counts
frames by their PTS; an original whose packets do not line up with a sequential decode, or
whose container cannot seek, gets an FFV1 master instead (level 3 in Matroska, every frame a
keyframe, the source pixel format kept, audio as FLAC).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import av.error

__all__ = [
    "MIN_FRAME_GAP_SECONDS",
    "encoder_threads",
    "ffmpeg_master_args",
    "master_outputs",
    "original_master_problem",
]


def encoder_threads() -> int:
    """Threads for the FFV1 encoder: the CPU count, at least 2, at most 4 (= its slices)."""
    return max(2, min(4, os.cpu_count() or 2))


def master_outputs(master: Path) -> list[str]:
    """Output options of the FFV1 master (after the input)."""
    threads = str(encoder_threads())
    return [
        "-map", "0:v:0", "-map", "0:a:0?",
        "-c:v", "ffv1", "-level", "3", "-g", "1", "-slices", "4", "-slicecrc", "1",
        "-threads:v", threads,
        "-c:a", "flac",
        "-fps_mode", "passthrough",
        "-f", "matroska", str(master),
    ]  # fmt: skip


def ffmpeg_master_args(src: Path, master: Path) -> list[str]:
    """Arguments of an ffmpeg run that writes only the FFV1 master of ``src`` (the fallback
    when the proxy was made before the original turned out unseekable); they go after
    ``ffmpeg -nostdin -hide_banner -loglevel error -y``."""
    return ["-i", str(src), *master_outputs(master)]


MIN_FRAME_GAP_SECONDS = Fraction(1, 500)
"""Two frames of an original closer than this (2 ms; 500 fps) are taken for broken
timestamps (a muxer bumping a repeated PTS by one tick): an export could not tell them apart
by time, so such a video gets an FFV1 master."""


def _seek_problem(
    container: av.container.InputContainer, stream: av.VideoStream, keys: list[int]
) -> str | None:
    """Seek to a keyframe in the middle; None when the demuxer lands on a keyframe at or
    before it, else why not."""
    if len(keys) < 2:
        return None  # one GOP: an export decodes from the start, no seek needed
    target = keys[len(keys) // 2]
    try:
        container.seek(target, stream=stream, backward=True, any_frame=False)
        for packet in container.demux(stream):
            if not packet.size:
                continue
            if packet.pts is not None and packet.is_keyframe and packet.pts <= target:
                return None
            return (
                "the original's container cannot seek to a keyframe (a seek to PTS "
                f"{target} landed on {'a non-key' if not packet.is_keyframe else 'a later'} "
                "packet)"
            )
    except av.error.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return f"the original's container cannot seek ({reason})"
    return f"the original's container cannot seek (nothing read after a seek to PTS {target})"


def original_master_problem(src: Path, decoded_pts_seconds: Sequence[float]) -> str | None:
    """Why the original cannot serve as the master, or None when it can (demux only).

    An export seeks the original to the keyframe at or before a clip's first frame and
    counts frames by their PTS, so frame *k* must be the *k*-th demuxed packet in PTS order:
    every video packet has a PTS, no two share one, DTS increase, the packets are as many as
    the frames a sequential decode gave (``decoded_pts_seconds``: the proxy's frame index)
    and at the same times (within half the shortest frame duration), and a seek lands on a
    keyframe.

    Parameters
    ----------
    src
        The original file.
    decoded_pts_seconds
        PTS in seconds of every frame of a sequential decode of ``src``, increasing.

    Returns
    -------
    str or None
        A one-line reason, e.g. ``"non-monotonic PTS: 3 video packets of the original repeat
        an earlier PTS"``, ``"the original has 95 video packets, a sequential decode gives 96
        frames"``, ``"3 of 96 video packets of the original have no PTS"``, ``"the
        original's container cannot seek (…)"``; None when the original is a sound master.
    """
    try:
        container = av.open(str(src), mode="r")
    except (av.error.FFmpegError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return f"cannot open the original: {reason}"
    with container:
        if not container.streams.video:
            return "the original has no video stream"
        stream = container.streams.video[0]
        if not stream.time_base:
            return "the original's video stream has no time base"
        tb = Fraction(stream.time_base)
        pts: list[int] = []
        keys: list[int] = []
        missing = 0
        dts_back = 0
        last_dts: int | None = None
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                if packet.pts is None:
                    missing += 1
                    continue
                pts.append(int(packet.pts))
                if packet.is_keyframe:
                    keys.append(int(packet.pts))
                if packet.dts is not None:
                    if last_dts is not None and packet.dts <= last_dts:
                        dts_back += 1
                    last_dts = int(packet.dts)
        except av.error.FFmpegError as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            return f"cannot demux the original: {reason}"
        total = missing + len(pts)
        if missing:
            return f"{missing} of {total} video packets of the original have no PTS"
        if dts_back:
            return f"non-monotonic DTS: {dts_back} video packets of the original go back in time"
        repeats = len(pts) - len(set(pts))
        if repeats:
            return (
                f"non-monotonic PTS: {repeats} video packets of the original repeat an earlier PTS"
            )
        decoded = list(decoded_pts_seconds)
        if len(pts) != len(decoded):
            return (
                f"the original has {len(pts)} video packets, a sequential decode gives "
                f"{len(decoded)} frames"
            )
        if not pts:
            return "the original has no video packets"
        pts.sort()
        for k, (a, b) in enumerate(itertools.pairwise(pts)):
            if (b - a) * tb < MIN_FRAME_GAP_SECONDS:
                return (
                    f"broken timestamps: frames {k} and {k + 1} of the original are "
                    f"{float((b - a) * tb) * 1000:.3f} ms apart"
                )
        deltas = [b - a for a, b in itertools.pairwise(decoded)]
        slack = min(deltas) / 2 if deltas else 0.0
        slack = max(slack, float(tb))
        for k, (p, d) in enumerate(zip(pts, decoded, strict=True)):
            here = float((p - pts[0]) * tb)
            if abs(here - (d - decoded[0])) > slack:
                return (
                    f"the original's frame {k} is at {here:.3f} s, a sequential decode shows "
                    f"it at {d - decoded[0]:.3f} s"
                )
        keys.sort()
        return _seek_problem(container, stream, keys)
