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
import itertools
import math
import os
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.error

from heaters.errors import PreprocessError, ProbeError
from heaters.media.ffmpeg import run_ffmpeg
from heaters.media.master import ffmpeg_master_args, master_outputs, original_master_problem
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
    "build_frame_index",
    "ffmpeg_preprocess_args",
    "preprocess",
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
class ProxyScan:
    index: FrameIndex
    time_base: Fraction
    duration_seconds: float
    is_vfr: bool
    all_keyframes: bool


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
        args += master_outputs(master)
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


def scan_proxy(proxy: Path) -> ProxyScan:
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
    return ProxyScan(
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
    return scan_proxy(Path(proxy)).index


def preprocess_result(
    n: int, info: ProbeResult, scan: ProxyScan, kind: MasterKind, reason: str | None
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


def part_path(path: Path) -> Path:
    """Temporary name next to ``path`` (same directory, so the final rename is atomic)."""
    return path.with_name(f".{path.name}.part")


def truncation_allowance(declared: int) -> int:
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
    on_probe: Callable[[ProbeResult], None] | None = None,
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
        Called with the number of frames encoded so far (int), about twice a second.
    on_probe
        Called once with the source's probe (``frame_count``: the frames to expect) before
        the decode starts.
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
    if on_probe is not None:
        on_probe(info)

    finals = [proxy] + ([small] if small is not None else []) + [master]
    parts = [part_path(p) for p in finals]
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
        scan: ProxyScan = await loop.run_in_executor(
            executor, functools.partial(scan_proxy, proxy_part)
        )
        n = len(scan.index)
        if not scan.all_keyframes:
            raise PreprocessError("the proxy is not all-intra (a frame is not a keyframe)")
        declared = info.frame_count
        if n < declared - truncation_allowance(declared):
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

    return preprocess_result(n, info, scan, kind, reason)
