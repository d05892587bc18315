"""Export a clip (frames ``[start_frame, end_frame)`` of a video) as its own MP4 file.

Two modes:

- ``copy``: the clip's packets are remuxed from the all-I-frame proxy with PyAV. Every proxy
  frame is a keyframe (I-frame), so the cut is frame-exact by construction: the packets whose
  PTS lie in ``[pts[start], pts[end])`` are exactly the clip's frames, and nothing is decoded or
  re-encoded. Fast; the quality is the proxy's.
- ``master`` (the default, :func:`encode_clip_exact`): PyAV seeks the master (the original
  file, or an FFV1 copy for videos preprocessed so) to the keyframe at or before the clip's
  first frame, decodes from there, drops the frames before the clip by their PTS (open-GOP
  leading pictures and B-frames included) and encodes exactly ``N`` frames to H.264 (CRF,
  ``+faststart``), with the master's audio cut sample-exactly to the same span: one
  generation from the source, at its quality. (The ffmpeg CLI's own ``-ss`` input seek was
  measured off by one frame after a seek in an MPEG-4 AVI, so frames are told apart here.)
  :func:`encode_clip_from_master` / :func:`master_export_args` are the ffmpeg CLI form, kept
  as the benchmarks' peer.

Both write to a temporary name and rename, so a killed export leaves no half file. Both read
their input from a path or an http(s) URL (a presigned S3 URL): FFmpeg then fetches only the
byte ranges it seeks to (the MP4/MKV index, then the clip's packets), not the whole file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeGuard

import av

from heaters.errors import MediaError
from heaters.media.ffmpeg import run_ffmpeg
from heaters.media.files import written_whole

ExportMode = Literal["copy", "master"]


class ExportError(MediaError):
    """A clip could not be exported (unreadable input, ffmpeg failure, frames missing)."""


@dataclass(frozen=True)
class ExportResult:
    """An exported clip file: ``frame_count`` frames, ``duration_seconds`` long (PTS-based)."""

    path: Path
    mode: str
    frame_count: int
    duration_seconds: float


@dataclass(frozen=True)
class EncodeOptions:
    """How a master-mode export encodes a clip (the ``HEATERS_EXPORT_*`` settings).

    ``codec``: the video encoder (FFmpeg's name, ``-c:v``; yuv420p); ``crf``: its constant
    rate factor (lower is better and larger; 18 is near transparent for x264); ``preset``: its
    speed preset (``ultrafast`` … ``veryslow``); ``audio``: keep the master's first audio track
    (AAC 160 kb/s) when it has one; ``faststart``: put the MP4 index first.
    """

    crf: int = 18
    preset: str = "medium"
    codec: str = "libx264"
    audio: bool = True
    faststart: bool = True


DEFAULT_ENCODE = EncodeOptions()


@contextmanager
def _exporting(out: Path, failure: str) -> Iterator[Path]:
    """The path to write the clip ``out`` at (:func:`~heaters.media.files.written_whole`); a
    PyAV error in the block becomes ``ExportError("{failure}: {error}")``."""
    with written_whole(out) as part:
        try:
            yield part
        except av.FFmpegError as exc:
            raise ExportError(f"{failure}: {exc}") from None


NETWORK_TIMEOUT_US = 30_000_000
"""FFmpeg's ``rw_timeout`` for URL inputs, in microseconds (30 s): a stalled read fails
instead of hanging the job."""


def is_url(source: Path | str) -> TypeGuard[str]:
    """True when ``source`` is an http(s) URL rather than a local path."""
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def remux_clip(
    proxy: Path | str, out: Path, *, start_seconds: float, end_seconds: float, frame_count: int
) -> ExportResult:
    """Copy mode: remux the proxy's packets of one clip into ``out`` (sync; process pool).

    Parameters
    ----------
    proxy:
        The all-I-frame H.264 proxy (MP4): a path or an http(s) URL.
    start_seconds, end_seconds:
        PTS in seconds of the clip's first frame and of the first frame after it (or the
        video's end); from the frame index.
    frame_count:
        ``end_frame − start_frame``; checked against the packets copied.

    Raises
    ------
    ExportError
        If the proxy cannot be read or the packets found do not match ``frame_count``.
    """
    with _exporting(out, "cannot remux the clip from the proxy") as part:
        options = {"rw_timeout": str(NETWORK_TIMEOUT_US)} if is_url(proxy) else None
        with av.open(str(proxy), options=options) as src:
            vin = src.streams.video[0]
            ain = src.streams.audio[0] if src.streams.audio else None
            assert vin.time_base is not None
            tb = Fraction(vin.time_base)
            # PTS → seconds → PTS round trip: rounding lands on the frame exactly.
            lo = round(start_seconds / tb)
            hi = round(end_seconds / tb)
            with av.open(str(part), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
                vout = dst.add_stream_from_template(vin)
                aout = dst.add_stream_from_template(ain) if ain is not None else None
                src.seek(lo, stream=vin, backward=True, any_frame=False)
                frames = 0
                a_lo = a_hi = None
                if ain is not None and ain.time_base is not None:
                    atb = Fraction(ain.time_base)
                    a_lo = int(start_seconds / atb)
                    a_hi = int(end_seconds / atb)
                streams = [vin] if ain is None else [vin, ain]
                v_done = False
                for packet in src.demux(streams):
                    if packet.pts is None or packet.size == 0:
                        continue
                    if packet.stream is vin:
                        if packet.pts < lo:
                            continue
                        if packet.pts >= hi:
                            v_done = True
                            if aout is None:
                                break
                            continue
                        packet.pts -= lo
                        packet.dts = packet.pts if packet.dts is None else packet.dts - lo
                        packet.stream = vout
                        dst.mux(packet)
                        frames += 1
                    elif aout is not None and a_lo is not None and a_hi is not None:
                        if packet.pts < a_lo:
                            continue
                        if packet.pts >= a_hi:
                            if v_done:
                                break
                            continue
                        packet.pts -= a_lo
                        if packet.dts is not None:
                            packet.dts -= a_lo
                        packet.stream = aout
                        dst.mux(packet)
        if frames != frame_count:
            raise ExportError(
                f"the proxy gave {frames} frames for a clip of {frame_count} frames "
                f"({start_seconds:.3f}–{end_seconds:.3f} s)"
            )
    return ExportResult(out, "copy", frames, end_seconds - start_seconds)


def _count_video_frames(path: Path) -> int:
    """Video packets (= frames) in an exported file."""
    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.video[0]) if p.size)


def master_export_args(
    master: Path | str,
    out: Path,
    *,
    seek_seconds: float,
    start_seconds: float | None = None,
    frame_count: int,
    duration_seconds: float,
    encode: EncodeOptions = DEFAULT_ENCODE,
) -> list[str]:
    """The ffmpeg arguments of a master-mode export (also used by the benchmark's peer).

    The video input is opened at ``seek_seconds`` (input seek: FFmpeg seeks the demuxer to
    the keyframe at or before it, decodes from there and drops every frame earlier than
    ``seek_seconds``; pass a time between the previous frame and the clip's first), then
    exactly ``frame_count`` frames are encoded, their timestamps shifted to start at 0 and
    otherwise kept (a VFR clip stays VFR). With ``encode.audio`` the master is opened a second time
    at ``start_seconds`` (the first frame's own time; audio needs no frame rounding) for its
    first audio track, cut to ``duration_seconds`` (the clip's span, seconds).
    """
    network = ["-rw_timeout", str(NETWORK_TIMEOUT_US)] if is_url(master) else []
    first = seek_seconds if start_seconds is None else start_seconds
    args = [*network, "-ss", f"{seek_seconds:.6f}", "-i", str(master)]
    if encode.audio:
        args += [*network, "-ss", f"{max(first, 0.0):.6f}", "-i", str(master)]
    args += [
        "-map", "0:v:0", "-vf", "setpts=PTS-STARTPTS", "-fps_mode", "passthrough",
        "-frames:v", str(frame_count),
        "-c:v", encode.codec, "-crf", str(encode.crf), "-preset", encode.preset,
        "-pix_fmt", "yuv420p",
    ]  # fmt: skip
    if encode.audio:
        args += [
            "-map", "1:a:0?", "-af", "asetpts=PTS-STARTPTS", "-c:a", "aac", "-b:a", "160k",
        ]  # fmt: skip
    else:
        args += ["-an"]
    args += ["-t", f"{duration_seconds:.6f}"]
    if encode.faststart:
        args += ["-movflags", "+faststart"]
    return [*args, "-f", "mp4", str(out)]


OUTPUT_TICKS_PER_SECOND = 90_000
"""Time base of exported video (1/90000 s, as MPEG-TS): fine enough for any frame rate, so
the master's timestamps (a VFR clip stays VFR) carry over without drift."""


def seek_to_keyframe(container: Any, stream: Any, target: int) -> None:
    """Seek ``stream`` to the keyframe at or before PTS ``target`` (its time base).

    A demuxer that indexes by DTS (MP4 with B-frames) can land on a keyframe whose PTS is
    after ``target``; then seek again from before that keyframe until it is not. "Before"
    means before its DTS: a seek to its PTS − 1 lands on it again when its DTS is earlier
    (a keyframe just after a cut, a few frames of B-frame delay).
    """
    start = stream.start_time or 0
    aim = target
    for _ in range(64):
        # never before the stream's start: some demuxers (GIF) refuse a negative timestamp
        # with EPERM where MP4 clamps it
        aim = max(aim, start)
        container.seek(aim, stream=stream, backward=True, any_frame=False)
        for packet in container.demux(stream):
            if packet.size and packet.is_keyframe and packet.pts is not None:
                if packet.pts <= target or aim <= start:
                    container.seek(aim, stream=stream, backward=True, any_frame=False)
                    return
                dts = packet.dts if packet.dts is not None else packet.pts
                aim = min(int(packet.pts), int(dts)) - 1
                break
            if packet.size:
                break  # not a keyframe first: seek earlier
        else:
            return
        aim -= 1
    raise ExportError(f"cannot seek the master to the keyframe before PTS {target}")


def _movflags(encode: EncodeOptions) -> dict[str, str]:
    return {"movflags": "+faststart"} if encode.faststart else {}


def _even(n: int) -> int:
    return max(2, n - n % 2)


def encode_clip_exact(
    master: Path | str,
    out: Path,
    *,
    start_seconds: float,
    frame_count: int,
    duration_seconds: float,
    prev_seconds: float | None = None,
    next_seconds: float | None = None,
    encode: EncodeOptions = DEFAULT_ENCODE,
) -> ExportResult:
    """Master mode: re-encode frames ``[start, start + frame_count)`` of the master (sync).

    Seeks the master's video to the keyframe at or before the clip's first frame, decodes
    from there with PyAV, drops the frames before the clip (open-GOP leading pictures and
    B-frames included: frames are told by their PTS) and encodes exactly ``frame_count``
    frames (timestamps kept, shifted to start at 0: a VFR clip stays VFR). The master's first
    audio track is cut to the same span, sample-exactly, and encoded to AAC.

    Parameters
    ----------
    master:
        The master (the original file, or the FFV1 master): a path or an http(s) URL.
    out:
        The MP4 to write (``encode.codec`` video, yuv420p, even sides; AAC 160 kb/s audio).
    start_seconds:
        The clip's first frame's time in seconds from the frame index (relative to the start
        of the master, as the proxy's PTS are: the container's ``start_time`` is added).
    frame_count:
        ``end_frame − start_frame`` (≥ 1).
    duration_seconds:
        The clip's span in seconds (next frame's time, or the video's end, minus the first):
        the audio's length.
    prev_seconds, next_seconds:
        Times of the frames before and after the first (None: none), in the same clock: the
        first frame is the first one decoded at or after ``start − gap/2``, with ``gap`` the
        smaller of the two gaps, so rounding between time bases can never pick a neighbour.
    encode:
        The encoder and its settings (:class:`EncodeOptions`; the audio is kept when the
        master has some).

    Raises
    ------
    ExportError
        The master cannot be read or sought, or has fewer frames after the start than the
        clip needs.
    """
    gaps = [
        g
        for g in (
            None if next_seconds is None else next_seconds - start_seconds,
            None if prev_seconds is None else start_seconds - prev_seconds,
        )
        if g is not None and g > 0
    ]
    half = min(gaps) / 2 if gaps else 0.001
    options = {"rw_timeout": str(NETWORK_TIMEOUT_US)} if is_url(master) else None
    frames = 0
    with (
        _exporting(out, "cannot export the clip from the master") as part,
        av.open(str(master), options=options) as src,
        av.open(str(part), "w", format="mp4", options=_movflags(encode)) as dst,
    ):  # fmt: skip
        vin = src.streams.video[0]
        vin.thread_type = "AUTO"
        if vin.time_base is None:
            raise ExportError("the master's video stream has no time base")
        vtb = Fraction(vin.time_base)
        origin = (src.start_time or 0) / 1_000_000  # seconds; the frame index's zero
        lo = Fraction(start_seconds + origin - half)
        vout: Any = dst.add_stream(encode.codec, rate=vin.average_rate or 25)
        vout.width = _even(int(vin.codec_context.width))
        vout.height = _even(int(vin.codec_context.height))
        vout.pix_fmt = "yuv420p"
        otb = Fraction(1, OUTPUT_TICKS_PER_SECOND)
        vout.time_base = otb
        vout.codec_context.time_base = otb
        if vin.average_rate:
            # The encoder's nominal rate (x264 reads it; timestamps still rule).
            vout.codec_context.framerate = vin.average_rate
        vout.bit_rate = 0  # PyAV presets 1 Mb/s, which would override the CRF
        vout.thread_type = "FRAME"  # as the ffmpeg CLI (PyAV would slice each frame)
        for tag in ("color_range", "colorspace", "color_primaries", "color_trc"):
            # The source's colour tags (a limited-range file must not read as full).
            with contextlib.suppress(AttributeError, ValueError, TypeError):
                setattr(vout.codec_context, tag, getattr(vin.codec_context, tag))
        vout.options = {"crf": str(encode.crf), "preset": encode.preset}
        aout = _audio_stream(src, dst) if encode.audio and src.streams.audio else None
        seek_to_keyframe(src, vin, int(lo / vtb))
        first_pts: int | None = None
        last_pts: int | None = None
        for frame in src.decode(vin):
            if frame.pts is None:
                raise ExportError("the master has a frame without PTS")
            if frame.pts * vtb < lo:
                continue
            if first_pts is None:
                first_pts = frame.pts
                if frame.rotation:  # a phone video's display matrix: the clip keeps it
                    vout.set_display_rotation(frame.rotation)
            assert first_pts is not None
            picture = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
            # After the first frame, frames count in decode order (an FFV1 master made
            # for broken timestamps may repeat a PTS); output PTS must increase.
            out_pts = round((frame.pts - first_pts) * vtb / otb)
            if last_pts is not None and out_pts <= last_pts:
                out_pts = last_pts + 1
            picture.pts = out_pts
            picture.time_base = otb
            # Forget the decoder's picture type: the encoder would take it as an order
            # (an FFV1 master's every frame an I-frame).
            picture.pict_type = av.video.frame.PictureType.NONE
            dst.mux(vout.encode(picture))
            last_pts = out_pts
            frames += 1
            if frames == frame_count:
                break
        if frames != frame_count:
            raise ExportError(
                f"the master gave {frames} frames for a clip of {frame_count} frames "
                f"(from {start_seconds:.3f} s)"
            )
        dst.mux(vout.encode(None))
        if aout is not None:
            _copy_audio_span(
                master, options, dst, aout, start_seconds + origin, duration_seconds
            )
    return ExportResult(out, "master", frames, duration_seconds)


def _audio_stream(src: Any, dst: Any) -> Any:
    """An AAC 160 kb/s output stream for the master's first audio track (same rate and
    channel layout)."""
    ain = src.streams.audio[0]
    rate = int(ain.codec_context.sample_rate or ain.rate or 48000)
    aout: Any = dst.add_stream("aac", rate=rate)
    aout.layout = ain.codec_context.layout.name
    aout.bit_rate = 160_000
    aout.time_base = Fraction(1, rate)
    return aout


def _copy_audio_span(
    master: Path | str,
    options: dict[str, str] | None,
    dst: Any,
    aout: Any,
    start: float,
    span: float,
) -> None:
    """Decode the master's first audio track over ``[start, start + span)`` seconds (absolute,
    the master's clock), cut sample-exactly, and encode it to AAC in ``dst``."""
    import numpy as np

    with av.open(str(master), options=options) as src:
        ain = src.streams.audio[0]
        rate = int(aout.codec_context.sample_rate)
        first = round(start * rate)  # sample numbers, absolute
        last = first + round(span * rate)
        if ain.time_base is not None:
            src.seek(max(0, int((start - 1.0) / Fraction(ain.time_base))), stream=ain,
                     backward=True, any_frame=False)  # fmt: skip
        written = 0
        for frame in src.decode(ain):
            if frame.pts is None or frame.time_base is None:
                continue
            f0 = round(float(frame.pts * frame.time_base) * rate)
            f1 = f0 + frame.samples
            if f1 <= first:
                continue
            if f0 >= last:
                break
            a, b = max(first, f0) - f0, min(last, f1) - f0
            data = frame.to_ndarray()
            planar = frame.format.is_planar
            channels = len(frame.layout.channels)
            cut = data[:, a:b] if planar else data[:, a * channels : b * channels]
            piece = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(cut),  # type: ignore[arg-type]
                format=frame.format.name,
                layout=frame.layout.name,
            )
            piece.sample_rate = rate
            piece.pts = written
            piece.time_base = Fraction(1, rate)
            written += b - a
            dst.mux(aout.encode(piece))
        dst.mux(aout.encode(None))


async def encode_clip_from_master(
    master: Path | str,
    out: Path,
    *,
    pts_seconds: Sequence[float],
    frame_count: int,
    duration_seconds: float,
    prev_seconds: float | None = None,
    encode: EncodeOptions = DEFAULT_ENCODE,
) -> ExportResult:
    """Master mode: re-encode one clip from the master, frame-exactly.

    The master is the original file (any container FFmpeg seeks in: MP4, MKV, AVI, …; open
    GOPs and B-frames included) or, for videos preprocessed so, the FFV1 master. Times are
    the frame index's (seconds from the proxy's PTS, which keeps the source's timestamps
    relative to its start, as FFmpeg's input seek counts them).

    Parameters
    ----------
    master:
        The master: a path or an http(s) URL.
    out:
        The MP4 to write (``encode.codec`` video, yuv420p; AAC audio; ``+faststart`` when asked).
    pts_seconds:
        PTS in seconds of the clip's first frames (at least the first; the second too when
        the clip has one).
    frame_count:
        ``end_frame − start_frame``; the export is checked to hold exactly that many frames.
    duration_seconds:
        The clip's span in seconds (the next frame's PTS, or the video's end, minus the first
        frame's PTS): the audio's length.
    prev_seconds:
        PTS in seconds of the frame before the clip (None for a clip at frame 0): the seek
        goes to half the smaller gap before the first frame, so rounding in the master's
        time base can neither drop the first frame nor let the previous one in.
    encode:
        The encoder and its settings (:class:`EncodeOptions`: ``-c:v``, ``-crf``,
        ``-preset``; the master's first audio track is cut to the clip's span).

    Raises
    ------
    ExportError
        If ffmpeg fails or the file does not hold exactly ``frame_count`` frames.
    """
    first = pts_seconds[0]
    gaps = [g for g in (
        pts_seconds[1] - first if len(pts_seconds) > 1 else None,
        first - prev_seconds if prev_seconds is not None else None,
    ) if g is not None and g > 0]  # fmt: skip
    half = min(gaps) / 2 if gaps else 0.01
    with _exporting(out, "cannot read the exported clip") as part:
        await run_ffmpeg(
            master_export_args(
                master,
                part,
                seek_seconds=max(first - half, 0.0),
                start_seconds=first,
                frame_count=frame_count,
                duration_seconds=duration_seconds,
                encode=encode,
            ),
            error=ExportError,
        )
        got = _count_video_frames(part)
        if got != frame_count:
            raise ExportError(
                f"the master gave {got} frames for a clip of {frame_count} frames "
                f"(from {first:.3f} s)"
            )
    return ExportResult(out, "master", frame_count, duration_seconds)
