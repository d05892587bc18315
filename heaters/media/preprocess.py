"""Preprocess a source video: one decode, an all-intra review proxy, small frames.

The **master** (the file exports re-encode from) is the original itself by default: a
lossless copy of a decoded lossy source holds exactly the frames the source decodes to, so
re-encoding it only costs disk (FFV1 is ~70× an H.264 source). Exports seek the original
frame-exactly themselves (:mod:`heaters.media.export`). One ffmpeg process decodes the source
once and writes

- the **proxy**: H.264 yuv420p in MP4 with ``+faststart``, every frame an I-frame and no
  B-frames (so decode order = presentation order, exact browser seeking, frame-exact
  stream-copy export), at most ``proxy_height`` lines (720 by default: sized for review on a
  screen, not for delivery), audio AAC 128 kb/s;
- optionally **small frames**: raw RGB24 frames of ``W×H`` pixels, back to back, one per proxy
  frame, for the scene detector (which then needs no second decode);
- an **FFV1 master** only when asked (``master_mode="ffv1"``) or when the original cannot be
  read frame-exactly by seeking (:func:`original_master_problem`): FFV1 level 3 in Matroska,
  every frame a keyframe, the source pixel format kept, audio as FLAC.

``-fps_mode passthrough`` keeps every source timestamp: no frame is dropped or duplicated, so a
variable-frame-rate source stays VFR and frame *k* of the proxy, the master and the small-frames
file is the same picture (frame *k* = the *k*-th frame of a sequential decode of the source).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.error

from heaters.errors import PreprocessError, ProbeError
from heaters.media.ffmpeg import run_ffmpeg
from heaters.media.probe import (
    ProbeResult,
    corruption_reason,
    packet_times,
    probe,
    vfr_from_deltas,
)

__all__ = [
    "DEFAULT_PROXY_CRF",
    "DEFAULT_PROXY_HEIGHT",
    "FrameIndex",
    "MasterKind",
    "PreprocessResult",
    "Segment",
    "SegmentPlan",
    "build_frame_index",
    "encode_audio",
    "encode_segment",
    "ffmpeg_master_args",
    "ffmpeg_preprocess_args",
    "finish_segmented",
    "join_segments",
    "original_master_problem",
    "plan_for_jobs",
    "plan_segments",
    "preprocess",
    "preprocess_segmented",
    "segment_paths",
]

MasterKind = Literal["original", "ffv1"]
"""Which file is a video's master: the original as downloaded, or a lossless FFV1 copy."""

DEFAULT_PROXY_HEIGHT = 720
"""Most lines of the review proxy (taller sources are scaled down, keeping the aspect)."""

DEFAULT_PROXY_CRF = 25
"""x264 CRF of the review proxy, chosen for review on a screen, not for delivery (exports
come from the master). Measured on the 720p sample (59 s, 7.9 MB H.264), all-I veryfast:

======  ========  ===========  =========  ======
CRF     bytes     × source     PSNR (dB)  SSIM
======  ========  ===========  =========  ======
18      66.8 MB   8.5×         44.6       0.990
21      50.6 MB   6.4×         42.4       0.986
23      41.9 MB   5.3×         41.1       0.982
25      34.7 MB   4.4×         39.8       0.977
26      31.5 MB   4.0×         39.1       0.974
28      26.0 MB   3.3×         37.9       0.968
======  ========  ===========  =========  ======

25 halves the proxy against 18 and keeps luma PSNR near 40 dB, the usual mark of a
picture fit to judge framing, motion and cuts (not a visual study: nobody scored it by eye
here). The issue's film made a CRF 18 proxy of 15.6× its source; at 25 that should be about
15.6 × 4.4 / 8.5 ≈ 8×, so original + proxy stay under 10×. 28 would save a quarter more at
37.9 dB."""

#: Bytes per pixel of the small frames (RGB24).
SMALL_FRAME_CHANNELS = 3


@dataclass(frozen=True, slots=True)
class FrameIndex:
    """Where each frame of the proxy is, in time and in the file.

    Frames are in presentation order, which is also decode order (the proxy is all-intra
    without B-frames); entry *k* is frame *k*.

    Attributes
    ----------
    pts_seconds
        Presentation time of each frame in seconds (float, PTS × time_base), strictly
        increasing; length N (the frame count).
    byte_offsets
        Byte offset of each frame's packet in the proxy file (int, bytes from the start of
        the file), strictly increasing; length N.
    """

    pts_seconds: tuple[float, ...]
    byte_offsets: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.pts_seconds)


@dataclass(frozen=True, slots=True)
class PreprocessResult:
    """What :func:`preprocess` made and learnt.

    Attributes
    ----------
    frame_count
        Number of frames in the proxy (= master = small frames), int.
    fps
        The source's average frame rate in frames per second (exact ``Fraction``).
    time_base
        Time base of the proxy's video stream in seconds per tick (``Fraction``).
    duration_seconds
        Duration of the proxy's video in seconds (float): last PTS + last frame duration.
    width, height
        Picture size of the source in pixels (the proxy is cropped by one pixel when a side is
        odd, as yuv420p needs even sides).
    is_vfr
        True when the source has a variable frame rate (the proxy keeps its timestamps).
    has_audio
        True when the source has audio (then master and proxy have its first audio track).
    frame_index
        Per-frame PTS seconds and byte offsets in the proxy.
    master_kind
        ``"original"``: the source file is the master (nothing was written at ``master``);
        ``"ffv1"``: an FFV1 master was written at ``master``.
    master_reason
        Why the master is FFV1 (``"asked for"`` or the check that failed on the original,
        e.g. ``"the original has 95 video packets, a sequential decode gives 96 frames"``);
        None for an original master.
    """

    frame_count: int
    fps: Fraction
    time_base: Fraction
    duration_seconds: float
    width: int
    height: int
    is_vfr: bool
    has_audio: bool
    frame_index: FrameIndex
    master_kind: MasterKind = "original"
    master_reason: str | None = None


@dataclass(frozen=True, slots=True)
class _ProxyScan:
    index: FrameIndex
    time_base: Fraction
    duration_seconds: float
    is_vfr: bool
    all_keyframes: bool


def _encoder_threads() -> int:
    """Threads for the FFV1 encoder: the CPU count, at least 2, at most 4 (= its slices)."""
    return max(2, min(4, os.cpu_count() or 2))


def _master_outputs(master: Path) -> list[str]:
    """Output options of the FFV1 master (after the input)."""
    threads = str(_encoder_threads())
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
    return ["-i", str(src), *_master_outputs(master)]


def proxy_filter(proxy_height: int | None) -> str:
    """The proxy's video filter: even sides (yuv420p), at most ``proxy_height`` lines (None:
    the source's height), yuv420p."""
    chain = ["crop=trunc(iw/2)*2:trunc(ih/2)*2"]
    if proxy_height is not None:
        chain.append(f"scale=-2:'min(ih,{int(proxy_height) // 2 * 2})':flags=bicubic")
    chain.append("format=yuv420p")
    return ",".join(chain)


def ffmpeg_preprocess_args(
    src: Path,
    master: Path | None,
    proxy: Path,
    *,
    small_frames: Path | None,
    small_size: tuple[int, int],
    crf: int = DEFAULT_PROXY_CRF,
    preset: str = "veryfast",
    proxy_height: int | None = DEFAULT_PROXY_HEIGHT,
) -> list[str]:
    """Build the arguments of the single ffmpeg invocation that preprocesses ``src``.

    The arguments go after ``ffmpeg -nostdin -hide_banner -loglevel error -y`` (see
    :func:`heaters.media.ffmpeg.run_ffmpeg`). Each output names its muxer with ``-f``, so the
    paths may have any suffix (temporary names included).

    Parameters
    ----------
    src
        The source video.
    master
        Output path of an FFV1 master (FFV1 level 3, Matroska, FLAC audio), or None when the
        original is the master (no master output).
    proxy
        Output path of the proxy (H.264 yuv420p all-intra, MP4 faststart, AAC 128k audio).
    small_frames
        Output path of the raw RGB24 small frames, or None for no such output.
    small_size
        ``(width, height)`` of the small frames in pixels; the file holds N × W × H × 3 bytes.
    crf
        x264 constant rate factor of the proxy (lower = better and bigger).
    preset
        x264 preset of the proxy.
    proxy_height
        Most lines of the proxy (scaled down keeping the aspect, width even); None: the
        source's height (cropped to even).

    Returns
    -------
    list[str]
        The ffmpeg arguments (inputs, maps, codecs, outputs).
    """
    width, height = small_size
    args: list[str] = ["-i", str(src)]
    if master is not None:
        args += _master_outputs(master)
    # Proxy: H.264 yuv420p, all-intra, no B-frames, faststart.
    args += [
        "-map", "0:v:0", "-map", "0:a:0?",
        "-vf", proxy_filter(proxy_height),
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
        "-g", "1", "-bf", "0", "-x264-params", "keyint=1:min-keyint=1:scenecut=0",
        "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k",
        "-fps_mode", "passthrough",
        "-movflags", "+faststart",
        "-f", "mp4", str(proxy),
    ]  # fmt: skip
    if small_frames is not None:
        args += [
            "-map", "0:v:0",
            "-vf", f"scale={width}:{height}:flags=area,format=rgb24",
            "-fps_mode", "passthrough",
            "-f", "rawvideo", str(small_frames),
        ]  # fmt: skip
    return args


def _scan_proxy(proxy: Path) -> _ProxyScan:
    """Demux the proxy's video packets (no decode) into a frame index and stream facts."""
    try:
        container = av.open(str(proxy), mode="r")
    except (av.error.FFmpegError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise PreprocessError(f"cannot read the proxy {proxy.name}: {reason}") from None
    with container:
        if not container.streams.video:
            raise PreprocessError(f"the proxy {proxy.name} has no video stream")
        stream = container.streams.video[0]
        if stream.time_base is None:
            raise PreprocessError(f"the proxy {proxy.name} has no time base")
        tb = Fraction(stream.time_base)
        pts: list[int] = []
        offsets: list[int] = []
        last_duration = 0
        all_key = True
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.pts is None or packet.pos is None or packet.pos < 0:
                    raise PreprocessError(
                        f"the proxy {proxy.name} has a frame without PTS or byte offset"
                    )
                pts.append(int(packet.pts))
                offsets.append(int(packet.pos))
                last_duration = int(packet.duration or 0)
                all_key = all_key and bool(packet.is_keyframe)
        except av.error.FFmpegError as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise PreprocessError(f"cannot read the proxy {proxy.name}: {reason}") from None
    if not pts:
        raise PreprocessError(f"the proxy {proxy.name} has no video frames")
    deltas = [b - a for a, b in itertools.pairwise(pts)]
    if any(d <= 0 for d in deltas):
        raise PreprocessError(
            f"the proxy {proxy.name} is not in presentation order (PTS not increasing)"
        )
    if any(b <= a for a, b in itertools.pairwise(offsets)):
        raise PreprocessError(f"the proxy {proxy.name} has frames out of file order")
    if not last_duration:
        last_duration = deltas[-1] if deltas else 0
    index = FrameIndex(
        pts_seconds=tuple(float(p * tb) for p in pts),
        byte_offsets=tuple(offsets),
    )
    return _ProxyScan(
        index=index,
        time_base=tb,
        duration_seconds=float((pts[-1] + last_duration) * tb),
        is_vfr=vfr_from_deltas(deltas),
        all_keyframes=all_key,
    )


def build_frame_index(proxy: Path) -> FrameIndex:
    """Index every frame of a proxy by demuxing it (no decoding).

    Parameters
    ----------
    proxy
        An all-intra, B-frame-free MP4 made by :func:`preprocess`.

    Returns
    -------
    FrameIndex
        ``pts_seconds[k]`` = PTS × time_base of packet *k* (seconds, float) and
        ``byte_offsets[k]`` = its position in the file (bytes), for k in 0..N-1.

    Raises
    ------
    PreprocessError
        When the proxy cannot be opened, has no video, a packet lacks a PTS or position, or the
        PTS / offsets are not strictly increasing.
    """
    return _scan_proxy(Path(proxy)).index


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


def _result(
    n: int, info: ProbeResult, scan: _ProxyScan, kind: MasterKind, reason: str | None
) -> PreprocessResult:
    """What preprocess made: ``n`` frames, the probe's facts, the proxy's frame index."""
    return PreprocessResult(
        frame_count=n,
        fps=info.fps,
        time_base=scan.time_base,
        duration_seconds=scan.duration_seconds,
        width=info.width,
        height=info.height,
        is_vfr=info.is_vfr or scan.is_vfr,
        has_audio=info.has_audio,
        frame_index=scan.index,
        master_kind=kind,
        master_reason=reason,
    )


def _part(path: Path) -> Path:
    """Temporary name next to ``path`` (same directory, so the final rename is atomic)."""
    return path.with_name(f".{path.name}.part")


def _truncation_allowance(declared: int) -> int:
    """Frames that may be missing from the proxy before the source counts as truncated.

    A couple of frames can legitimately be dropped (an MP4 edit list discarding leading
    frames); more than that, or more than 1 %, means the source could not be read to its end.
    """
    return max(2, math.ceil(declared * 0.01))


async def preprocess(
    src: Path,
    master: Path,
    proxy: Path,
    *,
    small_frames: Path | None = None,
    small_size: tuple[int, int] = (64, 36),
    executor: Executor | None = None,
    on_progress: Callable[[int], None] | None = None,
    crf: int = DEFAULT_PROXY_CRF,
    preset: str = "veryfast",
    proxy_height: int | None = DEFAULT_PROXY_HEIGHT,
    master_mode: MasterKind = "original",
) -> PreprocessResult:
    """Make the proxy and the small frames of ``src`` with one ffmpeg decode (and an FFV1
    master when asked or needed).

    With ``master_mode="original"`` the source is the master and nothing is written at
    ``master``, unless :func:`original_master_problem` finds the source cannot be read
    frame-exactly by seeking: then a second ffmpeg run writes the FFV1 master there and
    ``master_reason`` says why. With ``master_mode="ffv1"`` the single decode writes the FFV1
    master too.

    Probing and indexing run in ``executor`` (the loop's default executor when None); ffmpeg
    runs as an asyncio subprocess. Outputs are written under temporary names (``.NAME.part``
    in the same directory) and renamed into place only when everything succeeded, so a failed,
    killed or cancelled run never leaves a half file under a final name. Parent directories
    are created.

    Parameters
    ----------
    src
        The source video.
    master
        Final path of an FFV1/MKV master, written only when ``master_kind`` is ``"ffv1"``.
    proxy
        Final path of the proxy (all-intra H.264/MP4).
    small_frames
        Final path of the raw RGB24 small frames (N × H × W × 3 bytes, frame-major), or None.
    small_size
        ``(width, height)`` of the small frames in pixels.
    executor
        Where the synchronous probe and index run (e.g. a ``ProcessPoolExecutor``).
    on_progress
        Called with the number of frames encoded so far (int).
    crf, preset
        x264 quality and speed of the proxy.
    proxy_height
        Most lines of the proxy (None: the source's).
    master_mode
        ``"original"`` (default: the source is the master when it can be) or ``"ffv1"``.

    Returns
    -------
    PreprocessResult
        Frame count, rates, geometry, the proxy's frame index, which master was kept.

    Raises
    ------
    PreprocessError
        Every failure, with a one-line reason: a probe failure keeps the probe's reason
        (``"file is empty (0 bytes)"``, ``"no video stream (audio only)"``, …);
        ``"file is corrupt at frame N (S s): M of T frames could not be decoded"`` (the
        container holds every frame, some did not decode);
        ``"ffmpeg failed (exit N): <ffmpeg's last error line>"``;
        ``"small frames file has B bytes, expected N×W×H×3 = E"``; proxy index errors.
    asyncio.CancelledError
        When cancelled: ffmpeg is killed and the temporary files are removed.
    """
    src, master, proxy = Path(src), Path(master), Path(proxy)
    small = Path(small_frames) if small_frames is not None else None
    loop = asyncio.get_running_loop()

    try:
        info: ProbeResult = await loop.run_in_executor(executor, probe, src)
    except ProbeError as exc:
        raise PreprocessError(str(exc)) from exc

    finals = [proxy] + ([small] if small is not None else []) + [master]
    parts = [_part(p) for p in finals]
    proxy_part, master_part = parts[0], parts[-1]
    small_part = parts[1] if small is not None else None
    for part in parts:
        part.parent.mkdir(parents=True, exist_ok=True)
    kind: MasterKind = master_mode
    reason: str | None = "asked for (HEATERS_MASTER=ffv1)" if master_mode == "ffv1" else None
    try:
        args = ffmpeg_preprocess_args(
            src,
            master_part if master_mode == "ffv1" else None,
            proxy_part,
            small_frames=small_part,
            small_size=small_size,
            crf=crf,
            preset=preset,
            proxy_height=proxy_height,
        )
        await run_ffmpeg(args, error=PreprocessError, on_progress=on_progress)
        scan: _ProxyScan = await loop.run_in_executor(
            executor, functools.partial(_scan_proxy, proxy_part)
        )
        n = len(scan.index)
        if not scan.all_keyframes:
            raise PreprocessError("the proxy is not all-intra (a frame is not a keyframe)")
        declared = info.frame_count
        if n < declared - _truncation_allowance(declared):
            # The probe read every packet, so the frames were lost decoding: name where.
            times = await loop.run_in_executor(executor, packet_times, src)
            raise PreprocessError(corruption_reason(times, list(scan.index.pts_seconds)))
        if small_part is not None:
            width, height = small_size
            expected = n * width * height * SMALL_FRAME_CHANNELS
            got = small_part.stat().st_size
            if got != expected:
                raise PreprocessError(
                    f"small frames file has {got} bytes, expected "
                    f"{n}×{width}×{height}×{SMALL_FRAME_CHANNELS} = {expected}"
                )
        if master_mode == "original":
            reason = await loop.run_in_executor(
                executor,
                functools.partial(original_master_problem, src, scan.index.pts_seconds),
            )
            if reason is not None:
                kind = "ffv1"
                await run_ffmpeg(ffmpeg_master_args(src, master_part), error=PreprocessError)
        for part, final in zip(parts, finals, strict=True):
            if part is master_part and kind == "original":
                continue
            os.replace(part, final)
    finally:
        for part in parts:
            with contextlib.suppress(OSError):
                part.unlink()

    return _result(n, info, scan, kind, reason)


# --------------------------------------------------------------------------- segments


@dataclass(frozen=True, slots=True)
class Segment:
    """A keyframe-aligned run of frames that one job encodes on its own.

    Attributes
    ----------
    index
        Position of the segment (0-based).
    first_frame, frame_count
        Its frames ``[first_frame, first_frame + frame_count)`` (0-based, decode order of a
        sequential decode = presentation order).
    start_pts, end_pts
        PTS bounds in the source's video time base, ``start_pts <= pts < end_pts``;
        ``start_pts`` is a keyframe's PTS (or the first frame's), ``end_pts`` the next
        segment's (None for the last).
    """

    index: int
    first_frame: int
    frame_count: int
    start_pts: int
    end_pts: int | None


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    """How a source splits into segments (:func:`plan_segments`).

    ``time_base``: the source's video time base (s/tick); ``origin_pts``: the PTS that is 0 s
    in the frame index (the container's start time, as the single-pass proxy counts);
    ``has_audio``: the source has audio (encoded once, apart, and joined).
    """

    segments: tuple[Segment, ...]
    time_base: Fraction
    origin_pts: int
    has_audio: bool


def plan_segments(src: Path, segments: int) -> SegmentPlan | None:
    """Split ``src`` at keyframes into about ``segments`` runs of equal frame counts (demux
    only). None when it cannot be split so (no PTS, repeated PTS, a single keyframe, fewer
    than 2 segments asked): preprocess it in one pass."""
    try:
        container = av.open(str(src), mode="r")
    except (av.error.FFmpegError, OSError):
        return None
    with container:
        if not container.streams.video or segments < 2:
            return None
        stream = container.streams.video[0]
        if not stream.time_base:
            return None
        tb = Fraction(stream.time_base)
        pts: list[int] = []
        keys: list[int] = []
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                if packet.pts is None or packet.is_discard:
                    return None  # an edit list hides packets: one pass, as ffmpeg shows it
                pts.append(int(packet.pts))
                if packet.is_keyframe:
                    keys.append(int(packet.pts))
        except av.error.FFmpegError:
            return None
        origin = round(Fraction(container.start_time or 0, 1_000_000) / tb)
        has_audio = bool(container.streams.audio)
    if len(set(pts)) != len(pts) or len(keys) < 2:
        return None
    pts.sort()
    position = {p: k for k, p in enumerate(pts)}
    key_frames = sorted(position[k] for k in keys if k in position)
    cuts: list[int] = []
    for i in range(1, segments):
        target = len(pts) * i // segments
        best = min(key_frames, key=lambda f: abs(f - target))
        if best > (cuts[-1] if cuts else 0):
            cuts.append(best)
    if not cuts:
        return None
    bounds = [0, *cuts, len(pts)]
    return SegmentPlan(
        segments=tuple(
            Segment(
                index=i,
                first_frame=a,
                frame_count=b - a,
                start_pts=pts[a],
                end_pts=pts[b] if b < len(pts) else None,
            )
            for i, (a, b) in enumerate(itertools.pairwise(bounds))
        ),
        time_base=tb,
        origin_pts=origin,
        has_audio=has_audio,
    )


def plan_for_jobs(src: Path, segment_seconds: float) -> SegmentPlan | None:
    """The plan of segments of about ``segment_seconds`` (seconds of the source) each, for a
    source longer than that, to be encoded by separate jobs (sync: demux only, e.g. in a
    process pool).

    None (preprocess it in one pass) when ``segment_seconds`` is 0, the source lasts at most
    ``segment_seconds`` (the container's duration, read without demuxing), it cannot be split
    at keyframes (:func:`plan_segments`), or its segments would hold fewer frames than the
    probe counts beyond the truncation allowance (as :func:`preprocess_segmented`).

    Raises PreprocessError with the probe's reason when the source cannot be probed.
    """
    if segment_seconds <= 0:
        return None
    try:
        with av.open(str(src), mode="r") as container:
            declared = (container.duration or 0) / 1_000_000  # AV_TIME_BASE (µs) → s
    except (av.error.FFmpegError, OSError):
        declared = math.inf  # let the probe say what is wrong
    if declared <= segment_seconds:
        return None
    try:
        info = probe(src)
    except ProbeError as exc:
        raise PreprocessError(str(exc)) from exc
    if info.duration_seconds <= segment_seconds:
        return None
    plan = plan_segments(src, math.ceil(info.duration_seconds / segment_seconds))
    if plan is None or sum(s.frame_count for s in plan.segments) < info.frame_count - (
        _truncation_allowance(info.frame_count)
    ):
        return None
    return plan


def segment_paths(work: Path, index: int) -> tuple[Path, Path]:
    """(proxy part, small frames part) of segment ``index`` in ``work``."""
    return work / f"segment_{index:05d}.mp4", work / f"segment_{index:05d}.rgb"


def encode_segment(
    src: Path,
    plan: SegmentPlan,
    index: int,
    work: Path,
    *,
    small_size: tuple[int, int] = (64, 36),
    crf: int = DEFAULT_PROXY_CRF,
    preset: str = "veryfast",
    proxy_height: int | None = DEFAULT_PROXY_HEIGHT,
) -> int:
    """Encode segment ``index`` of ``plan`` (sync; one job, e.g. in a process pool).

    Seeks ``src`` to the segment's keyframe, decodes with PyAV, keeps the frames with
    ``start_pts <= pts < end_pts`` (open-GOP leading pictures of the next keyframe included,
    those of this one left to the previous segment) and writes them as an all-intra H.264
    MP4 (the proxy's settings, PTS relative to the plan's origin) and raw RGB24 small
    frames. Both are written under temporary names and renamed at the end, so a segment is
    either whole or absent: a job killed mid-way leaves nothing and is simply run again,
    and a segment already present is not encoded again (resumable).

    Returns the segment's frame count. Raises PreprocessError when the frames decoded do not
    match the plan.
    """
    from heaters.media.export import seek_to_keyframe

    seg = plan.segments[index]
    video_out, small_out = segment_paths(work, index)
    if video_out.exists() and small_out.exists():
        return seg.frame_count
    parts = [_part(video_out), _part(small_out)]
    width_s, height_s = small_size
    frames = 0
    try:
        with (
            av.open(str(src)) as container,
            av.open(str(parts[0]), "w", format="mp4") as out,
            parts[1].open("wb") as small,
        ):
            vin = container.streams.video[0]
            vin.thread_type = "AUTO"
            ctx = vin.codec_context
            w, h = int(ctx.width) // 2 * 2, int(ctx.height) // 2 * 2
            if proxy_height is not None and h > proxy_height:
                w, h = round(w * proxy_height / h / 2) * 2, proxy_height // 2 * 2
            vout: Any = out.add_stream("libx264", rate=vin.average_rate or 25)
            vout.width, vout.height, vout.pix_fmt = w, h, "yuv420p"
            vout.time_base = vin.time_base
            vout.codec_context.time_base = vin.time_base
            vout.bit_rate = 0
            vout.thread_type = "FRAME"  # as the ffmpeg CLI (PyAV would slice each frame)
            vout.gop_size = 1
            vout.codec_context.max_b_frames = 0
            vout.options = {
                "crf": str(crf),
                "preset": preset,
                "x264-params": "keyint=1:min-keyint=1:scenecut=0",
            }
            for tag in ("color_range", "colorspace", "color_primaries", "color_trc"):
                with contextlib.suppress(AttributeError, ValueError, TypeError):
                    setattr(vout.codec_context, tag, getattr(ctx, tag))
            if seg.index > 0:
                seek_to_keyframe(container, vin, seg.start_pts)
            last = None
            for frame in container.decode(vin):
                if frame.pts is None:
                    raise PreprocessError(f"segment {index}: a frame without PTS")
                if frame.pts < seg.start_pts:
                    continue
                if seg.end_pts is not None and frame.pts >= seg.end_pts:
                    break
                if last is not None and frame.pts <= last:
                    raise PreprocessError(f"segment {index}: PTS not increasing")
                last = frame.pts
                picture = frame.reformat(width=w, height=h, format="yuv420p")
                # From 0 in each segment (an MP4 starting later keeps its start only to
                # the millisecond, in its edit list); the join adds the segment's start.
                picture.pts = frame.pts - seg.start_pts
                picture.time_base = vin.time_base
                picture.pict_type = av.video.frame.PictureType.NONE
                out.mux(vout.encode(picture))
                tiny = frame.reformat(
                    width=width_s, height=height_s, format="rgb24", interpolation="AREA"
                )
                small.write(tiny.to_ndarray().tobytes())
                frames += 1
            out.mux(vout.encode(None))
        if frames != seg.frame_count:
            raise PreprocessError(
                f"segment {index} decoded to {frames} frames, the plan has {seg.frame_count}"
            )
        os.replace(parts[1], small_out)
        os.replace(parts[0], video_out)
    except av.error.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise PreprocessError(f"segment {index}: {reason}") from None
    finally:
        for part in parts:
            with contextlib.suppress(OSError):
                part.unlink()
    return frames


def join_segments(plan: SegmentPlan, work: Path, proxy: Path, small_frames: Path | None,
                  audio: Path | None) -> None:  # fmt: skip
    """Join the segments' MP4s into ``proxy`` without re-encoding (every frame is an
    I-frame, so any boundary joins cleanly; packets keep their PTS), with the audio file's
    AAC packets when given, ``+faststart``; concatenate the small frames.

    Video and audio packets are muxed in time order (merged by decode time), so the MP4's
    chunks interleave the two streams as the one-pass proxy's do: a browser playing any
    span reads one region of the file instead of seeking between the video and an audio
    track stored after it."""
    part = _part(proxy)
    try:
        with (
            av.open(str(part), "w", format="mp4", options={"movflags": "+faststart"}) as out,
            contextlib.ExitStack() as stack,
        ):
            first_path, _ = segment_paths(work, 0)
            with av.open(str(first_path)) as first:
                vout = out.add_stream_from_template(first.streams.video[0])
            aud = stack.enter_context(av.open(str(audio))) if audio is not None else None
            aout = (
                out.add_stream_from_template(aud.streams.audio[0])
                if aud is not None and aud.streams.audio
                else None
            )

            def video() -> Iterator[tuple[Fraction, av.Packet[Any]]]:
                for seg in plan.segments:
                    path, _ = segment_paths(work, seg.index)
                    with av.open(str(path)) as c:
                        vin = c.streams.video[0]
                        assert vin.time_base is not None
                        tb = Fraction(vin.time_base)
                        start = (seg.start_pts - plan.origin_pts) * plan.time_base
                        shift = round(start / tb)
                        for packet in c.demux(vin):
                            if packet.size == 0 or packet.pts is None:
                                continue
                            packet.pts += shift
                            packet.dts = packet.pts  # all-intra: decode order = display
                            packet.stream = vout
                            yield packet.pts * tb, packet

            def sound() -> Iterator[tuple[Fraction, av.Packet[Any]]]:
                if aud is None or aout is None:
                    return
                ain = aud.streams.audio[0]
                assert ain.time_base is not None
                tb = Fraction(ain.time_base)
                for packet in aud.demux(ain):
                    if packet.size == 0:
                        continue
                    packet.stream = aout
                    yield (packet.dts if packet.dts is not None else 0) * tb, packet

            for _, packet in heapq.merge(video(), sound(), key=lambda item: item[0]):
                out.mux(packet)
        if small_frames is not None:
            small_part = _part(small_frames)
            with small_part.open("wb") as dst:
                for seg in plan.segments:
                    _, small = segment_paths(work, seg.index)
                    dst.write(small.read_bytes())
            os.replace(small_part, small_frames)
        os.replace(part, proxy)
    finally:
        part.unlink(missing_ok=True)


async def preprocess_segmented(
    src: Path,
    master: Path,
    proxy: Path,
    *,
    work: Path,
    segments: int,
    small_frames: Path | None = None,
    small_size: tuple[int, int] = (64, 36),
    executor: Executor | None = None,
    crf: int = DEFAULT_PROXY_CRF,
    preset: str = "veryfast",
    proxy_height: int | None = DEFAULT_PROXY_HEIGHT,
    master_mode: MasterKind = "original",
) -> PreprocessResult:
    """:func:`preprocess` split into keyframe-aligned segments encoded as separate jobs.

    The source is split into about ``segments`` segments (:func:`plan_segments`); each is
    encoded by :func:`encode_segment` in ``executor`` (a process pool: as many run at once
    as it has workers), the audio by one ffmpeg run, then :func:`join_segments` joins them
    without re-encoding. Segment files live in ``work`` (kept when a run fails or is killed:
    the next run with the same ``work`` encodes only the missing segments; removed on
    success). A source that cannot be split (one keyframe, no PTS, …), an FFV1 master asked
    for, or ``segments < 2`` go through :func:`preprocess` in one pass. The result is that
    of :func:`preprocess`: same frame count, frame index and small-frames layout.

    Raises
    ------
    PreprocessError
        As :func:`preprocess`, plus ``"segment N decoded to M frames, the plan has K"``.
    """
    src, master, proxy = Path(src), Path(master), Path(proxy)
    single = functools.partial(
        preprocess, src, master, proxy, small_frames=small_frames, small_size=small_size,
        executor=executor, crf=crf, preset=preset, proxy_height=proxy_height,
        master_mode=master_mode,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    if segments < 2 or master_mode == "ffv1":
        return await single()
    try:
        info: ProbeResult = await loop.run_in_executor(executor, probe, src)
    except ProbeError as exc:
        raise PreprocessError(str(exc)) from exc
    plan = await loop.run_in_executor(executor, plan_segments, src, segments)
    if plan is None or sum(s.frame_count for s in plan.segments) < info.frame_count - (
        _truncation_allowance(info.frame_count)
    ):
        return await single()
    for folder in {work, proxy.parent, master.parent} | (
        {small_frames.parent} if small_frames is not None else set()
    ):
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    audio = work / "audio.m4a" if plan.has_audio else None
    jobs = [
        loop.run_in_executor(
            executor,
            functools.partial(
                encode_segment,
                src,
                plan,
                seg.index,
                work,
                small_size=small_size,
                crf=crf,
                preset=preset,
                proxy_height=proxy_height,
            ),
        )
        for seg in plan.segments
    ]

    await asyncio.gather(encode_audio(src, audio) if audio is not None else asyncio.sleep(0), *jobs)
    result = await finish_segmented(
        src, plan, work, master, proxy, small_frames, audio, info, executor=executor
    )
    for seg in plan.segments:
        for path in segment_paths(work, seg.index):
            path.unlink(missing_ok=True)
    if audio is not None:
        audio.unlink(missing_ok=True)
    return result


async def encode_audio(src: Path | str, audio: Path) -> None:
    """Encode the first audio track of ``src`` alone (AAC 128 kb/s in MP4, as the one-pass
    proxy's) to ``audio``, for :func:`join_segments`; written under a temporary name and
    renamed, so it is whole or absent; kept when it exists already."""
    if await asyncio.to_thread(audio.exists):
        return
    part = _part(audio)
    try:
        await run_ffmpeg(
            ["-i", str(src), "-map", "0:a:0", "-vn", "-c:a", "aac", "-b:a", "128k",
             "-f", "mp4", str(part)],
            error=PreprocessError,
        )  # fmt: skip
        os.replace(part, audio)
    finally:
        part.unlink(missing_ok=True)


async def finish_segmented(
    src: Path,
    plan: SegmentPlan,
    work: Path,
    master: Path,
    proxy: Path,
    small_frames: Path | None,
    audio: Path | None,
    info: ProbeResult,
    *,
    executor: Executor | None = None,
) -> PreprocessResult:
    """Join the encoded segments in ``work`` (:func:`segment_paths`) and the ``audio`` file
    into ``proxy`` and ``small_frames`` (:func:`join_segments`), index the proxy, and check
    the original as a master as :func:`preprocess` does (an FFV1 master written at
    ``master`` when it cannot be sought frame-exactly). ``info`` is the source's probe.

    The result is what :func:`preprocess` gives for the same source: the same frame count,
    frame index (PTS seconds from the plan's origin) and small-frames layout.

    Raises PreprocessError when the joined proxy's frame count differs from the plan's or a
    frame is not a keyframe, or an FFV1 master cannot be written.
    """
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(executor, join_segments, plan, work, proxy, small_frames, audio)
    scan: _ProxyScan = await loop.run_in_executor(executor, functools.partial(_scan_proxy, proxy))
    n = len(scan.index)
    planned = sum(s.frame_count for s in plan.segments)
    if n != planned or not scan.all_keyframes:
        raise PreprocessError(
            f"the joined proxy has {n} frames, the segments held {planned}"
            if n != planned
            else "the joined proxy is not all-intra (a frame is not a keyframe)"
        )
    kind: MasterKind = "original"
    reason = await loop.run_in_executor(
        executor, functools.partial(original_master_problem, src, scan.index.pts_seconds)
    )
    if reason is not None:
        kind = "ffv1"
        part = _part(master)
        try:
            await run_ffmpeg(ffmpeg_master_args(src, part), error=PreprocessError)
            os.replace(part, master)
        finally:
            part.unlink(missing_ok=True)
    return _result(n, info, scan, kind, reason)
