"""Split a video into its shots, and pick images per shot, without a database (pure media).

What ``heaters split`` and ``heaters detect --save-images`` build on:

- :func:`packet_index`: the frame index of a file read in place (demux only, nothing
  decoded): each frame's PTS in seconds and which frames are keyframes. Frame ``k`` is the
  ``k``-th video packet in presentation order, as the detector counts frames.
- :func:`snap_to_keyframes`: shot starts moved to the keyframe at or before them, for a
  stream-copy split (``-c copy`` semantics: a file can only start on a keyframe).
- :func:`image_frames`: the frames PySceneDetect's ``save-images -n N`` picks in a shot.
- :func:`copy_span`: one keyframe-aligned span remuxed (stream copy, audio kept).

The frame-exact split re-encodes each shot with :func:`heaters.media.export.encode_clip_exact`
(the clip export's master mode), which needs only the times :func:`packet_index` gives.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from heaters.errors import DetectError
from heaters.media.export import ExportError, ExportResult, remux_clip
from heaters.media.ffmpeg import run_ffmpeg_sync

__all__ = [
    "PacketIndex",
    "copy_span",
    "image_frames",
    "packet_index",
    "remux_to_mp4",
    "snap_to_keyframes",
]


@dataclass(frozen=True)
class PacketIndex:
    """The frames of a file's first video stream, from its packets.

    ``pts_seconds[k]``: PTS of frame ``k`` in seconds, minus the container's start time
    (``origin_seconds``), so frame 0 is at (about) 0 — the clock of the frame index and of
    :func:`heaters.media.export.encode_clip_exact`. ``keyframes``: the frames whose packet is
    a keyframe, ascending (frame 0 first for a file that starts cleanly). ``end_seconds``:
    where the last frame ends, same clock (its PTS plus its packet's duration, or plus the
    interval before it when the packet has none).
    """

    pts_seconds: tuple[float, ...]
    keyframes: tuple[int, ...]
    origin_seconds: float
    end_seconds: float

    @property
    def frame_count(self) -> int:
        """Video packets (frames) in the file."""
        return len(self.pts_seconds)


def packet_index(video: Path) -> PacketIndex:
    """Demux ``video``'s first video stream (nothing decoded) into a :class:`PacketIndex`.

    Raises
    ------
    DetectError
        If the file cannot be read or has no video stream.
    """
    try:
        container = av.open(str(video))
    except (av.error.FFmpegError, OSError) as exc:
        raise DetectError(f"{Path(video).name}: not a readable video ({exc})") from None
    with container:
        if not container.streams.video:
            raise DetectError(f"{Path(video).name}: no video stream")
        stream = container.streams.video[0]
        tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
        origin = Fraction(container.start_time or 0, 1_000_000)
        packets: list[tuple[int, bool, int]] = []
        try:
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None and not packet.is_discard:
                    packets.append(
                        (int(packet.pts), bool(packet.is_keyframe), packet.duration or 0)
                    )
        except (av.error.FFmpegError, OSError) as exc:
            raise DetectError(f"{Path(video).name}: cannot read its packets ({exc})") from None
    if not packets:
        raise DetectError(f"{Path(video).name}: no video frames")
    packets.sort()
    last, _, last_duration = packets[-1]
    if not last_duration:
        last_duration = last - packets[-2][0] if len(packets) > 1 else round(1 / (tb * 25))
    return PacketIndex(
        pts_seconds=tuple(float(p * tb - origin) for p, _, _ in packets),
        keyframes=tuple(k for k, (_, key, _) in enumerate(packets) if key),
        origin_seconds=float(origin),
        end_seconds=float((last + last_duration) * tb - origin),
    )


def snap_to_keyframes(starts: Sequence[int], keyframes: Sequence[int]) -> list[int]:
    """Each shot start moved to the keyframe at or before it; duplicates dropped, sorted.

    Frame 0 always starts the first shot (a file whose first packet is no keyframe is cut
    from its start). A shot whose start and the next one's snap to the same keyframe is
    merged into the next: two cuts within one GOP leave one.
    """
    out = {0}
    for start in starts:
        i = bisect.bisect_right(keyframes, start) - 1
        out.add(keyframes[i] if i >= 0 else 0)
    return sorted(out)


def image_frames(start_frame: int, end_frame: int, count: int, margin: int = 1) -> list[int]:
    """The ``count`` frames PySceneDetect's ``save-images -n COUNT`` takes from the shot
    ``[start_frame, end_frame)``.

    The shot is split into ``count`` equal parts; one image comes from each: the middle of
    the shot when ``count`` is 1, else the first part's start plus ``margin`` frames, the last
    part's end minus ``margin``, and the middle of every other part (never past the part),
    rounded to the nearest frame (half to even, as ``FrameTimecode`` does). Unlike
    PySceneDetect a pick never falls on the next shot's first frame (a 1-frame shot gives its
    only frame ``count`` times).

    Raises
    ------
    ValueError
        If ``count`` < 1 or the shot is empty.
    """
    if count < 1 or end_frame <= start_frame:
        raise ValueError(f"bad image count {count} or shot [{start_frame}, {end_frame})")
    n = Fraction(end_frame - start_frame)
    part = n / count
    picks = []
    for j in range(count):
        lo, hi = start_frame + j * part, start_frame + (j + 1) * part
        if count == 1:
            t = start_frame + n / 2
        elif j == 0:
            t = min(lo + margin, hi)
        elif j == count - 1:
            t = max(hi - margin, lo)
        else:
            t = (lo + hi) / 2
        picks.append(min(max(round(t), start_frame), end_frame - 1))
    return picks


def remux_to_mp4(video: Path, out: Path) -> PacketIndex:
    """Stream-copy ``video``'s first video and first audio stream into the MP4 file ``out``
    (which seeks by its sample index and keeps every packet's DTS: a copy of an MPEG-TS file
    can then be cut where the original cannot be sought frame-exactly); returns the copy's
    :class:`PacketIndex`.

    Raises
    ------
    ExportError
        If ffmpeg fails.
    DetectError
        If the copy cannot be read.
    """
    run_ffmpeg_sync(
        ["-i", str(video), "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-f", "mp4",
         str(out)],
        error=ExportError,
    )  # fmt: skip
    return packet_index(out)


def copy_span(
    video: Path, out: Path, index: PacketIndex, start_frame: int, end_frame: int
) -> ExportResult:
    """Remux frames ``[start_frame, end_frame)`` of ``video`` into ``out`` (MP4, stream copy).

    ``start_frame`` must be a keyframe (:func:`snap_to_keyframes`) and the file's GOPs closed
    (no frame before ``end_frame`` may need a picture after it), so that the span decodes on
    its own; the audio packets of the same span are copied too (cut at packet edges). The
    packets copied are checked against the span's length.

    Raises
    ------
    ExportError
        If the file cannot be read or the packets found do not match the span.
    """
    pts = index.pts_seconds
    origin = index.origin_seconds
    end = pts[end_frame] if end_frame < len(pts) else index.end_seconds
    try:
        return remux_clip(
            video,
            out,
            start_seconds=pts[start_frame] + origin,
            end_seconds=end + origin,
            frame_count=end_frame - start_frame,
        )
    except ExportError as exc:
        raise ExportError(f"{video.name} frames [{start_frame}, {end_frame}): {exc}") from None
