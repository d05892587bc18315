"""Probe a video file with PyAV: geometry, frame rate, frame count, VFR, codecs.

:func:`probe` is synchronous and CPU/IO bound (it demuxes every video packet, but decodes
nothing); callers run it in a process pool.

VFR rule
--------
The video packets' PTS are sorted (presentation order) and the deltas between neighbours are
taken (in stream time-base ticks; packets without PTS fall back to ``packet.duration``). A delta
*deviates* when it differs from the median delta by more than ``max(1 tick, 1 % of the
median)``; the one-tick slack absorbs rounding (e.g. 33/34 ms at 29.97 fps in a 1/1000 time
base). The stream is VFR when more than 0.5 % of the deltas deviate (at least one). The final
delta is ignored (the last frame's duration is often cut short by the muxer). Fewer than three
packets: not VFR.
"""

from __future__ import annotations

import itertools
import os
import statistics
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from heaters.errors import ProbeError
from heaters.media.files import av_reason, open_video

__all__ = ["ProbeResult", "corruption_reason", "packet_times", "probe", "vfr_from_deltas"]

#: Fraction of the declared frames that may be missing before a file counts as truncated.
TRUNCATION_TOLERANCE = 0.01

#: Codecs of still pictures: one frame of these is a picture, not a video.
IMAGE_CODECS = frozenset({
    "png", "apng", "mjpeg", "jpegls", "jpeg2000", "ljpeg", "bmp", "tiff", "webp", "gif",
    "pgm", "pgmyuv", "ppm", "pbm", "pam", "sgi", "targa", "dpx", "exr", "qoi", "jpegxl",
    "photocd", "pcx", "xbm", "xpm", "xwd", "sunrast", "hdr", "psd", "ptx", "pictor",
})  # fmt: skip


def _image_demuxer(format_name: str) -> bool:
    """True for FFmpeg's image demuxers (``image2``, ``png_pipe``, ``jpeg_pipe``, …)."""
    names = format_name.split(",")
    return any(n == "image2" or n.endswith("_pipe") for n in names)


def _not_a_video(format_name: str, codec: str, frames: int) -> str | None:
    """Why a file of this format, codec and frame count is not a video, or None.

    A file read by an image demuxer is a still image (one frame) or an image sequence (more);
    a container whose only video frame is a picture codec is a still image. An animated GIF
    or a many-frame MJPEG/PNG stream in a video container is a video.
    """
    label = codec.upper()
    if _image_demuxer(format_name):
        if frames <= 1:
            return f"not a video: a still image ({label})"
        return f"not a video: an image sequence ({frames} {label} images)"
    if frames <= 1 and codec in IMAGE_CODECS:
        container = format_name.split(",")[0]
        if codec in format_name.split(","):  # gif, webp, apng: the format is the picture's
            return f"not a video: a still image ({label})"
        return f"not a video: a still image ({label} in a {container} file)"
    return None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What :func:`probe` learnt about a video file.

    Attributes
    ----------
    width, height
        Picture size in pixels (int) as it is shown: the coded size, turned by a quarter
        turn's display matrix (a phone's portrait video coded 1920×1080 is 1080×1920).
    fps
        Average frame rate in frames per second, as an exact rational (``Fraction``), e.g.
        ``Fraction(24000, 1001)``.
    time_base
        The video stream's time base in seconds per tick (``Fraction``); seconds = PTS ×
        time_base.
    frame_count
        Number of video frames: the container's declared count, or the number of demuxed video
        packets when the container declares none or ``count_frames=True`` was asked.
    duration_seconds
        Duration in seconds (float): the video stream's duration, else the container's, else
        the span of the demuxed PTS.
    is_vfr
        True when the frame durations vary (see the module docstring for the rule).
    video_codec
        FFmpeg codec name of the first video stream (``"h264"``, ``"ffv1"``, …).
    has_audio
        True when the file has at least one audio stream.
    format_name
        FFmpeg demuxer name(s), e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"`` or ``"matroska,webm"``.
    """

    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    frame_count: int
    duration_seconds: float
    is_vfr: bool
    video_codec: str
    has_audio: bool
    format_name: str
    rotation: int = 0
    """The display matrix's rotation, degrees counter-clockwise (0, 90, 180 or 270), as
    ``VideoFrame.rotation`` reads it: the ffmpeg CLI turns such frames upright by itself (the
    one-pass proxy), PyAV's re-encodes keep the matrix instead (segments, exports)."""


@dataclass(frozen=True, slots=True)
class _Demuxed:
    count: int  # packets shown (an edit list's discarded packets left out)
    pts_span_seconds: float | None
    is_vfr: bool
    error: str | None
    discarded: int = 0  # packets an MP4 edit list hides (decoded for reference only)


def _looks_like_mp4_without_moov(path: Path) -> bool:
    """Return True when ``path`` starts like an ISO-BMFF file but has no top-level moov box.

    That is the signature of an MP4/MOV whose index was written at the end and cut off
    (a truncated download or copy).
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8 or head[4:8] != b"ftyp":
            return False
        offset = 0
        while offset + 8 <= size:
            fh.seek(offset)
            hdr = fh.read(16)
            if len(hdr) < 8:
                break
            box_size = int.from_bytes(hdr[0:4], "big")
            kind = hdr[4:8]
            if kind == b"moov":
                return False
            if box_size == 1 and len(hdr) >= 16:
                box_size = int.from_bytes(hdr[8:16], "big")
            elif box_size == 0:  # box runs to the end of the file
                break
            if box_size < 8:
                break
            offset += box_size
    return True


def vfr_from_deltas(deltas: list[int]) -> bool:
    """Apply the module's VFR rule to PTS deltas.

    Parameters
    ----------
    deltas
        Differences between consecutive PTS in presentation order (time-base ticks, int).

    Returns
    -------
    bool
        True when the frame durations vary (see the module docstring).
    """
    deltas = [d for d in deltas[:-1] if d > 0]
    if len(deltas) < 2:
        return False
    median = statistics.median(deltas)
    slack = max(1.0, 0.01 * median)
    deviating = sum(1 for d in deltas if abs(d - median) > slack)
    return deviating > max(0, int(0.005 * len(deltas)))


def _demux_video(container: av.container.InputContainer, stream: av.VideoStream) -> _Demuxed:
    """Demux every packet of ``stream`` (no decoding) and gather count, PTS span and VFR."""
    pts: list[int] = []
    durations: list[int] = []
    count = 0
    discarded = 0
    error: str | None = None
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the flush packet PyAV yields at the end
                continue
            if packet.is_discard:  # before an MP4 edit list's start: decoded, never shown
                discarded += 1
                continue
            count += 1
            if packet.pts is not None:
                pts.append(int(packet.pts))
            elif packet.duration:
                durations.append(int(packet.duration))
    except (av.error.FFmpegError, OSError) as exc:
        error = av_reason(exc)
    span: float | None = None
    tb = stream.time_base
    if pts:
        pts.sort()
        deltas = [b - a for a, b in itertools.pairwise(pts)]
        vfr = vfr_from_deltas(deltas)
        if tb is not None and len(pts) > 1:
            last = deltas[-1] if deltas else 0
            span = float((pts[-1] - pts[0] + last) * tb)
    else:
        vfr = vfr_from_deltas(durations)
    return _Demuxed(
        count=count, pts_span_seconds=span, is_vfr=vfr, error=error, discarded=discarded
    )


def _rotation(path: Path) -> int:
    """The first frame's display rotation (0, 90, 180, 270; 0 when nothing decodes): the
    matrix is stream side data PyAV reads only from decoded frames."""
    try:
        with av.open(str(path)) as c:
            for frame in c.decode(video=0):
                return round(frame.rotation or 0) % 360
    except av.FFmpegError:
        return 0
    return 0


def probe(path: Path, *, count_frames: bool = False) -> ProbeResult:
    """Probe a video file: size, frame rate, frame count, VFR, codecs (demux only, no decode).

    Parameters
    ----------
    path
        The file to probe.
    count_frames
        Count the frames by demuxing even when the container declares a count. (The packets are
        always demuxed, for the VFR test and the truncation check; this only chooses which
        number is reported.)

    Returns
    -------
    ProbeResult
        The facts about the first video stream.

    Raises
    ------
    ProbeError
        With one of these reasons (``str(err)``):

        - ``"file not found: <path>"``
        - ``"not a file: <path>"`` (a directory, …)
        - ``"file is empty (0 bytes)"``
        - ``"file is truncated or corrupt: the MP4 index (moov atom) is missing"``
        - ``"not a video file: ffmpeg cannot read it (<ffmpeg message>)"``
        - ``"no video stream (audio only)"`` / ``"no video stream"``
        - ``"file is truncated: the container declares N frames but only M could be read"``
        - ``"no video frames could be read (<ffmpeg message>)"``
        - ``"not a video: a still image (PNG)"``, ``"not a video: a still image (MJPEG in a
          matroska file)"``, ``"not a video: an image sequence (12 JPEG images)"``
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ProbeError(f"file not found: {path}") from None
    except OSError as exc:
        raise ProbeError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise ProbeError(f"not a file: {path}")
    if st.st_size == 0:
        raise ProbeError("file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise ProbeError(f"cannot read {path}: permission denied")

    try:
        container = av.open(str(path), mode="r")
    except av.error.FileNotFoundError:
        raise ProbeError(f"file not found: {path}") from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        try:
            no_moov = _looks_like_mp4_without_moov(path)
        except OSError:
            no_moov = False
        if no_moov:
            raise ProbeError(
                "file is truncated or corrupt: the MP4 index (moov atom) is missing"
            ) from None
        raise ProbeError(f"not a video file: ffmpeg cannot read it ({av_reason(exc)})") from None

    with container:
        if not container.streams.video:
            if container.streams.audio:
                raise ProbeError("no video stream (audio only)")
            raise ProbeError("no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        has_audio = bool(container.streams.audio)
        declared = int(stream.frames or 0)
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
        stream_duration = (
            float(stream.duration * stream.time_base)
            if stream.duration and stream.time_base
            else None
        )
        container_duration = (
            container.duration / 1_000_000
            if container.duration and container.duration > 0
            else None
        )
        demuxed = _demux_video(container, stream)

        if demuxed.count == 0:
            detail = f" ({demuxed.error})" if demuxed.error else ""
            raise ProbeError(f"no video frames could be read{detail}")
        still = _not_a_video(str(container.format.name), str(ctx.name), demuxed.count)
        if still is not None:
            raise ProbeError(still)
        # A stream copy cut mid-GOP (``ffmpeg -ss 3 -t 20 -c copy``) keeps the GOP's first
        # packets for decoding and an edit list that hides them: they are no frames.
        declared = max(0, declared - demuxed.discarded) if demuxed.discarded else declared
        if declared and demuxed.count < declared * (1 - TRUNCATION_TOLERANCE) - 1:
            raise ProbeError(
                f"file is truncated: the container declares {declared} frames "
                f"but only {demuxed.count} could be read"
            )

        counted = count_frames or not declared or demuxed.discarded
        frame_count = demuxed.count if counted else declared
        duration = stream_duration or container_duration or demuxed.pts_span_seconds or 0.0

        fps: Fraction | None = None
        for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
            if rate:
                fps = Fraction(rate)
                break
        if fps is None:
            fps = (
                Fraction(frame_count) / Fraction(duration).limit_denominator(1_000_000)
                if duration > 0
                else Fraction(0)
            )

        rotation = _rotation(path)
        quarter = rotation in (90, 270)
        return ProbeResult(
            width=int(ctx.height if quarter else ctx.width),
            height=int(ctx.width if quarter else ctx.height),
            rotation=rotation,
            fps=fps,
            time_base=time_base,
            frame_count=frame_count,
            duration_seconds=float(duration),
            is_vfr=demuxed.is_vfr,
            video_codec=str(ctx.name),
            has_audio=has_audio,
            format_name=str(container.format.name),
        )


def packet_times(path: Path) -> list[float]:
    """Presentation times of the first video stream's packets, in seconds, sorted (demux only).

    Raises
    ------
    ProbeError
        When the file cannot be opened or has no video stream.
    """
    with open_video(path, ProbeError, Path(path).name) as (container, stream):
        tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
        pts: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None and not packet.is_discard:
                    pts.append(int(packet.pts))
        except (av.error.FFmpegError, OSError):
            pass
    pts.sort()
    return [float(p * tb) for p in pts]


def corruption_reason(source_times: list[float], decoded_times: list[float]) -> str:
    """Where decoding lost frames that the container holds: ``"corrupt at frame N (S s)"``.

    Parameters
    ----------
    source_times
        Presentation times (seconds) of the source's video packets, sorted.
    decoded_times
        Presentation times (seconds) of the frames that decoded (the proxy's), sorted.

    Returns
    -------
    str
        ``"file is corrupt at frame N (S s): M of T frames could not be decoded"``, where N is
        the first source frame (0-based) that has no decoded frame and S its time from the
        first frame, in seconds.
    """
    total, lost = len(source_times), len(source_times) - len(decoded_times)
    frame = len(decoded_times)
    if source_times and decoded_times:
        src0, dec0 = source_times[0], decoded_times[0]
        deltas = [b - a for a, b in itertools.pairwise(source_times)]
        slack = statistics.median(deltas) / 2 if deltas else 0.0
        for k, (s, d) in enumerate(zip(source_times, decoded_times, strict=False)):
            if abs((s - src0) - (d - dec0)) > slack:
                frame = k
                break
    at = source_times[frame] - source_times[0] if frame < total else 0.0
    return (
        f"file is corrupt at frame {frame} ({at:.2f} s): "
        f"{lost} of {total} frames could not be decoded"
    )
