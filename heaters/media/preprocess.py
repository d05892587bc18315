"""Preprocess a source video: one decode, a lossless master, an all-intra proxy, small frames.

One ffmpeg process decodes the source once and writes

- the **master**: FFV1 level 3 in Matroska, every frame a keyframe, the source pixel format
  kept, audio as FLAC (lossless, for re-encoded exports at full quality);
- the **proxy**: H.264 yuv420p in MP4 with ``+faststart``, every frame an I-frame and no
  B-frames (so decode order = presentation order, exact browser seeking, frame-exact
  stream-copy export), audio AAC 128 kb/s;
- optionally **small frames**: raw RGB24 frames of ``W×H`` pixels, back to back, one per proxy
  frame, for the scene detector (which then needs no second decode).

``-fps_mode passthrough`` keeps every source timestamp: no frame is dropped or duplicated, so a
variable-frame-rate source stays VFR and frame *k* of the proxy, the master and the small-frames
file is the same picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import math
import os
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

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
    "FrameIndex",
    "PreprocessResult",
    "build_frame_index",
    "ffmpeg_preprocess_args",
    "preprocess",
]

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


def ffmpeg_preprocess_args(
    src: Path,
    master: Path,
    proxy: Path,
    *,
    small_frames: Path | None,
    small_size: tuple[int, int],
    crf: int = 18,
    preset: str = "veryfast",
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
        Output path of the master (FFV1 level 3, Matroska, FLAC audio).
    proxy
        Output path of the proxy (H.264 yuv420p all-intra, MP4 faststart, AAC 128k audio).
    small_frames
        Output path of the raw RGB24 small frames, or None for no third output.
    small_size
        ``(width, height)`` of the small frames in pixels; the file holds N × W × H × 3 bytes.
    crf
        x264 constant rate factor of the proxy (lower = better, 18 ≈ visually lossless).
    preset
        x264 preset of the proxy.

    Returns
    -------
    list[str]
        The ffmpeg arguments (inputs, maps, codecs, outputs).
    """
    width, height = small_size
    threads = str(_encoder_threads())
    args: list[str] = ["-i", str(src)]
    # Master: lossless FFV1, every frame a keyframe, the source pixel format kept.
    args += [
        "-map", "0:v:0", "-map", "0:a:0?",
        "-c:v", "ffv1", "-level", "3", "-g", "1", "-slices", "4", "-slicecrc", "1",
        "-threads:v", threads,
        "-c:a", "flac",
        "-fps_mode", "passthrough",
        "-f", "matroska", str(master),
    ]  # fmt: skip
    # Proxy: H.264 yuv420p, all-intra, no B-frames, faststart.
    args += [
        "-map", "0:v:0", "-map", "0:a:0?",
        "-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
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
    crf: int = 18,
    preset: str = "veryfast",
) -> PreprocessResult:
    """Make the master, the proxy (and the small frames) of ``src`` with one ffmpeg decode.

    Probing and indexing run in ``executor`` (the loop's default executor when None); ffmpeg
    runs as an asyncio subprocess. Outputs are written under temporary names (``.NAME.part``
    in the same directory) and renamed into place only when everything succeeded, so a failed,
    killed or cancelled run never leaves a half file under a final name. Parent directories
    are created.

    Parameters
    ----------
    src
        The source video.
    master, proxy
        Final paths of the master (FFV1/MKV) and of the proxy (all-intra H.264/MP4).
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

    Returns
    -------
    PreprocessResult
        Frame count, rates, geometry and the proxy's frame index.

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

    finals = [master, proxy] + ([small] if small is not None else [])
    parts = [_part(p) for p in finals]
    for part in parts:
        part.parent.mkdir(parents=True, exist_ok=True)
    try:
        args = ffmpeg_preprocess_args(
            src,
            parts[0],
            parts[1],
            small_frames=parts[2] if small is not None else None,
            small_size=small_size,
            crf=crf,
            preset=preset,
        )
        await run_ffmpeg(args, error=PreprocessError, on_progress=on_progress)
        scan: _ProxyScan = await loop.run_in_executor(
            executor, functools.partial(_scan_proxy, parts[1])
        )
        n = len(scan.index)
        if not scan.all_keyframes:
            raise PreprocessError("the proxy is not all-intra (a frame is not a keyframe)")
        declared = info.frame_count
        if n < declared - _truncation_allowance(declared):
            # The probe read every packet, so the frames were lost decoding: name where.
            times = await loop.run_in_executor(executor, packet_times, src)
            raise PreprocessError(corruption_reason(times, list(scan.index.pts_seconds)))
        if small is not None:
            width, height = small_size
            expected = n * width * height * SMALL_FRAME_CHANNELS
            got = parts[2].stat().st_size
            if got != expected:
                raise PreprocessError(
                    f"small frames file has {got} bytes, expected "
                    f"{n}×{width}×{height}×{SMALL_FRAME_CHANNELS} = {expected}"
                )
        for part, final in zip(parts, finals, strict=True):
            os.replace(part, final)
    finally:
        for part in parts:
            with contextlib.suppress(OSError):
                part.unlink()

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
    )
