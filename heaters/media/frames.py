"""Small analysis frames: a video decoded and downscaled for shot-boundary scoring.

Pure media code (paths in, arrays out; no database). Frames come either from a PyAV decode
downscaled straight from the decoder's planes (:func:`read_small_frames`, or split at
keyframes across threads by :mod:`heaters.media.scores`), or from the raw ``rgb24`` file that
the preprocess stage writes during its own single decode (:func:`read_small_frames_raw`),
which costs no decode.

Frame numbering: frames are counted from 0 in decode (output) order.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from heaters.errors import DetectError

__all__ = [
    "ANALYSIS_SIZE",
    "DECODER_OPTIONS",
    "Chunk",
    "ChunkDecoders",
    "ChunkMismatch",
    "Plan",
    "iter_chunk",
    "open_video",
    "plan_chunks",
    "read_small_frames",
    "read_small_frames_raw",
    "small_rgb",
    "stream_fps",
    "worker_count",
]

ANALYSIS_SIZE: tuple[int, int] = (64, 36)
"""(width, height) in pixels of the analysis frames.

64×36 (16:9, both even so 4:2:0 chroma halves exactly; 6.9 kB per frame in the preprocess
side file). Measured on the labelled set with ffmpeg-scaled frames: 32×18, 64×36 and 128×72
all find every cut with the default params; the range of (threshold, min_content) that does
shrinks as the size grows (46, 40 and 32 of 63 grid cells) because motion adds noise, while a
smaller size keeps less detail to tell similar shots apart. 64×36 is the middle.
"""

DECODER_OPTIONS = {"skip_loop_filter": "all", "flags2": "+fast"}
"""libavcodec options of every analysis decoder.

Skipping the in-loop deblocking filter makes H.264 decoding ~30 % faster and ``+fast``
(FFmpeg's non-bit-exact shortcuts) ~4 %; their effect on a 64×36 average is far below any cut
score, and the hand-labelled ground truth in ``bench/ground_truth`` is found in full either
way. (``skip_idct`` was measured too: the H.264 decoder ignores it.)
"""

_MIN_CHUNK = 48
"""Fewest frames in a parallel decoding chunk (shorter streams are decoded sequentially)."""

_MAX_CHUNK = 4096
"""Most frames aimed at per chunk, so a long video still gives many chunks to balance."""

_CHUNKS_PER_WORKER = 16
"""Chunks per decoding thread: many, so threads finish together when chunks differ in cost
(on the bench videos 16 beat 8 by 3–6 % and tied with 24; each chunk costs one seek)."""

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]


# --------------------------------------------------------------------------- downscaling


_KR_KB = {1: (0.2126, 0.0722)}
"""(Kr, Kb) of the YCbCr matrix by FFmpeg colorspace code: 1 = BT.709; anything else is
treated as BT.601 (0.299, 0.114), as swscale does for untagged video."""


@functools.lru_cache(maxsize=8)
def _yuv_matrix(colorspace: int, full_range: bool) -> FloatArray:
    """The 3×4 affine matrix [Y, Cb, Cr, 1] → [R, G, B] (8-bit values) for ``cv2.transform``."""
    kr, kb = _KR_KB.get(colorspace, (0.299, 0.114))
    kg = 1.0 - kr - kb
    ys, cs = (1.0, 1.0) if full_range else (255.0 / 219.0, 255.0 / 224.0)
    y0 = 0.0 if full_range else 16.0
    rows = [
        (ys, 0.0, 2.0 * (1.0 - kr) * cs),
        (ys, -2.0 * kb * (1.0 - kb) / kg * cs, -2.0 * kr * (1.0 - kr) / kg * cs),
        (ys, 2.0 * (1.0 - kb) * cs, 0.0),
    ]
    m = np.array([[a, b, c, -a * y0 - (b + c) * 128.0] for a, b, c in rows], np.float32)
    return m


def _yuv_to_rgb(y: Any, u: Any, v: Any, colorspace: int, full_range: bool) -> UInt8Array:
    """Convert small Y (H, W) and Cb, Cr (H/2, W/2) uint8 planes to uint8 RGB (H, W, 3)."""
    import cv2

    h, w = y.shape
    cb = cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
    cr = cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR)
    rgb = cv2.transform(cv2.merge([y, cb, cr]), _yuv_matrix(colorspace, full_range))
    return np.asarray(rgb, dtype=np.uint8)


def _yuv420_small(
    frame: Any, width: int, height: int, *, full_chroma: bool = False
) -> UInt8Array:
    """Downscale a decoded 4:2:0 frame to (height, width, 3) RGB straight from its planes.

    Each plane is bilinearly resized to twice the target size, then area-averaged to the
    target (so every output pixel averages 16 samples of its cell), and the tiny planes are
    converted to RGB with the frame's matrix (BT.709 when tagged so, else BT.601) and range,
    as swscale does. No full-size RGB image is ever made. Measured on the sample (1280×720):
    ~0.11–0.15 ms per frame against ~0.6 ms for a full area resize of the planes and ~0.7 ms
    for ``to_ndarray(..., interpolation="AREA")``, with the same cuts; a single bilinear step
    (~0.09 ms) leaves the scores noisier (a narrower range of thresholds finds every labelled
    cut). Pixels differ from ffmpeg's ``scale=…:flags=area`` by ~2 levels on average.
    """
    import cv2

    planes: list[Any] = []
    for i, plane in enumerate(frame.planes[:3]):
        w = frame.width if i == 0 else (frame.width + 1) // 2
        h = frame.height if i == 0 else (frame.height + 1) // 2
        buf: Any = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:h, :w]
        if i == 0 or full_chroma:
            tw, th = width, height
        else:
            tw, th = max(1, width // 2), max(1, height // 2)
        if w >= 4 * tw and h >= 4 * th:
            buf = cv2.resize(buf, (2 * tw, 2 * th), interpolation=cv2.INTER_LINEAR)
        planes.append(cv2.resize(buf, (tw, th), interpolation=cv2.INTER_AREA))
    full = frame.format.name == "yuvj420p" or int(frame.color_range) == 2
    return _yuv_to_rgb(planes[0], planes[1], planes[2], int(frame.colorspace), full)


def _is_fast(frame: Any, width: int, height: int) -> bool:
    return bool(frame.format.name in ("yuv420p", "yuvj420p"))


def _small(frame: Any, width: int, height: int, fast: bool) -> UInt8Array:
    if fast:
        return _yuv420_small(frame, width, height)
    arr: UInt8Array = frame.to_ndarray(
        width=width, height=height, format="rgb24", interpolation="AREA"
    )
    return arr


def small_rgb(frame: Any, width: int, height: int, *, full_chroma: bool = False) -> UInt8Array:
    """A decoded PyAV video frame shrunk to uint8 RGB (height, width, 3).

    4:2:0 frames go plane by plane (:func:`_yuv420_small`: ~0.15 ms for a 720p frame); other
    pixel formats through swscale's area scaler (~1.5 ms). ``full_chroma`` shrinks the chroma
    planes straight to (width, height) instead of half of it (closer to an RGB scaler's
    output, for a network trained on such frames).
    """
    if _is_fast(frame, width, height):
        return _yuv420_small(frame, width, height, full_chroma=full_chroma)
    return _small(frame, width, height, False)


# --------------------------------------------------------------------------- opening, planning


def open_video(video: Path) -> tuple[Any, Any]:
    """Open ``video`` with PyAV and return (container, first video stream).

    Raises
    ------
    DetectError
        The file is missing, not media, or has no video stream.
    """
    import av

    if not video.is_file():
        raise DetectError(f"{video}: no such file")
    try:
        container = av.open(str(video))
    except (av.FFmpegError, OSError) as exc:
        raise DetectError(f"{video.name}: not a readable video ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise DetectError(f"{video.name}: no video stream")
    stream = container.streams.video[0]
    return container, stream


def stream_fps(stream: Any) -> Fraction:
    """A PyAV video stream's average frame rate as a Fraction (0 when unknown)."""
    rate = stream.average_rate or stream.guessed_rate
    return Fraction(rate) if rate else Fraction(0)


def worker_count() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Chunk:
    """A run of frames that one decoder can produce on its own, from a keyframe.

    Attributes
    ----------
    start, end : int or None
        PTS bounds in the stream's time base, ``start <= pts < end`` (None: the stream's
        start / end); both are keyframes' PTS.
    frames : int
        Packets (frames) from the keyframe ``start`` up to the keyframe ``end`` in decode
        order.
    nbytes : int
        Their compressed size in bytes.
    open_start, open_end : bool
        The keyframe ``start`` (``end``) opens an open GOP: packets after it in decode order
        are shown before it (leading pictures), so they belong to the chunk before it, whose
        decoder holds their references.
    """

    start: int | None
    end: int | None
    frames: int
    nbytes: int
    open_start: bool = False
    open_end: bool = False


@dataclass(frozen=True)
class Plan:
    """How a stream splits into independently decodable chunks.

    Attributes
    ----------
    fps : Fraction
        The stream's average frame rate (0 when unknown).
    chunks : tuple of Chunk
        In stream order; empty when the stream should be decoded sequentially.
    """

    fps: Fraction
    chunks: tuple[Chunk, ...]

    @functools.cached_property
    def frames(self) -> int:
        """Packets (frames) in all chunks."""
        return sum(c.frames for c in self.chunks)

    @functools.cached_property
    def nbytes(self) -> int:
        """Compressed bytes in all chunks."""
        return sum(c.nbytes for c in self.chunks)

    def cost(self, chunk: Chunk) -> float:
        """Relative decoding cost of ``chunk``: its share of the frames plus its share of the
        bytes (decoding time grows with both: pixels to reconstruct, bits to entropy-decode;
        on the sample, chunks of ~100 frames took 0.14 to 0.36 s)."""
        return chunk.frames / (self.frames or 1) + chunk.nbytes / (self.nbytes or 1)


def plan_chunks(video: Path, workers: int) -> Plan:
    """Split ``video`` at keyframes for ``workers`` decoding threads, from one demux-only pass.

    Chunks hold about ``frames / (workers * 16)`` frames (at least 48, at most 4096), starting
    at keyframes. No chunks (sequential decoding) when ``workers < 2``, the stream is short
    (< 96 frames) or has one keyframe, or packets lack PTS or keyframes come out of order.

    Raises
    ------
    DetectError
        The file is missing, not media, or has no video stream.
    """
    import av

    container, stream = open_video(video)
    fps = stream_fps(stream)
    if workers < 2:
        container.close()
        return Plan(fps, ())
    keys: list[tuple[int, int]] = []  # (frame index, pts) of each keyframe
    leading: set[int] = set()  # keyframe pts followed (in decode order) by earlier pictures
    sizes: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.is_keyframe:
                if packet.pts is None:
                    return Plan(fps, ())
                keys.append((len(sizes), int(packet.pts)))
            elif keys and (packet.pts is None or packet.pts < keys[-1][1]):
                leading.add(keys[-1][1])
            sizes.append(packet.size)
    except av.FFmpegError:
        return Plan(fps, ())
    finally:
        container.close()
    count = len(sizes)
    if count < 2 * _MIN_CHUNK:
        return Plan(fps, ())
    target = min(_MAX_CHUNK, max(_MIN_CHUNK, count // (workers * _CHUNKS_PER_WORKER)))
    starts: list[tuple[int, int]] = []
    last_index, last_pts = 0, None
    for index, pts in keys:
        if last_pts is not None and pts <= last_pts:
            return Plan(fps, ())
        last_pts = pts
        if index - last_index >= target and count - index >= _MIN_CHUNK // 2:
            starts.append((index, pts))
            last_index = index
    if not starts:
        return Plan(fps, ())
    firsts = [0, *(i for i, _ in starts), count]
    bounds = [None, *(p for _, p in starts), None]
    chunks = tuple(
        Chunk(
            start=bounds[k],
            end=bounds[k + 1],
            frames=firsts[k + 1] - firsts[k],
            nbytes=sum(sizes[firsts[k] : firsts[k + 1]]),
            open_start=bounds[k] in leading,
            open_end=bounds[k + 1] in leading,
        )
        for k in range(len(starts) + 1)
    )
    return Plan(fps, chunks)


# --------------------------------------------------------------------------- decoding


class ChunkMismatch(Exception):
    """A chunk's frames could not be those of a sequential decode (decode sequentially)."""


class ChunkDecoders:
    """One single-threaded decoder per worker thread, reused (by seeking, which also resets
    the decoder after a drain) across its chunks.

    Opening a container costs ~10–18 ms (stream probing), a seek ~1 ms; the first chunk gets
    a fresh container of its own since it must start at the very beginning without seeking.
    Call :meth:`close` once no thread uses them any more.
    """

    def __init__(self, video: Path) -> None:
        self.video = video
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def open(self) -> tuple[Any, Any]:
        """A new single-threaded decoder (container, stream), closed by :meth:`close`."""
        container, stream = open_video(self.video)
        with self._lock:
            self._opened.append(container)
        stream.codec_context.thread_count = 1
        stream.codec_context.options = dict(DECODER_OPTIONS)
        return container, stream

    def for_thread(self) -> tuple[Any, Any]:
        """This thread's decoder (opened on first use)."""
        pair: tuple[Any, Any] | None = getattr(self._local, "pair", None)
        if pair is None:
            pair = self.open()
            self._local.pair = pair
        return pair

    def close(self) -> None:
        with self._lock:
            for container in self._opened:
                container.close()
            self._opened.clear()


def _decode(codec: Any, packet: Any) -> list[Any]:
    """The frames ``codec`` outputs for ``packet`` (None: drain); a packet the decoder
    rejects as invalid data (a corrupt packet) outputs none instead of failing the video, as
    the ``ffmpeg`` tool does: its frame is missing from the decode, and the frames decoded
    from it by reference show FFmpeg's error concealment until the next keyframe."""
    import av

    try:
        return list(codec.decode(packet))
    except av.InvalidDataError:
        return []


def iter_chunk(
    decoders: ChunkDecoders, chunk: Chunk, size: tuple[int, int]
) -> Iterator[UInt8Array]:
    """Small RGB frames (H, W, 3) of ``chunk``: ``start <= pts < end``, in order.

    A chunk after the first seeks to its keyframe and drops the packets demuxed before the
    keyframe packet (PTS ``start``). At a closed-GOP boundary the decoder stops at the next
    chunk's keyframe packet (PTS ``end``) and is drained, so no packet is decoded twice:
    decoding on until a frame with ``pts >= end`` comes out, as a plain reader does, costs the
    next keyframe (an I-frame, the costliest kind) plus the reorder delay, per chunk. At an
    open-GOP boundary (:attr:`Chunk.open_end`) it does decode on, since the leading pictures
    after that keyframe are shown before it and need this GOP's references; the next chunk
    skips them (:attr:`Chunk.open_start`).

    Raises
    ------
    ChunkMismatch
        The frames cannot be those of a sequential decode (no PTS, PTS not increasing or
        outside the chunk, the keyframe not found after the seek, no frame).
    DetectError
        Decoding fails.
    """
    import av

    width, height = size
    start, end = chunk.start, chunk.end
    video = decoders.video
    fast: bool | None = None
    last: int | None = None
    past_end = False

    def small(frame: Any) -> UInt8Array | None:
        """The frame downscaled, or None when it belongs to a neighbouring chunk."""
        nonlocal fast, last, past_end
        pts = frame.pts
        if pts is None:
            raise ChunkMismatch("frame without pts")
        if start is not None and pts < start:
            if chunk.open_start:
                return None  # a leading picture: the previous chunk decodes it
            raise ChunkMismatch(f"frame pts {pts} before its chunk's start {start}")
        if end is not None and pts >= end:
            if chunk.open_end:
                past_end = True
                return None
            raise ChunkMismatch(f"frame pts {pts} past its chunk's end {end}")
        if last is not None and pts <= last:
            raise ChunkMismatch("pts not increasing")
        if fast is None:
            fast = _is_fast(frame, width, height)
        last = pts
        return _small(frame, width, height, fast)

    try:
        if start is None:
            container, stream = decoders.open()
            found = True
        else:
            container, stream = decoders.for_thread()
            container.seek(start, stream=stream, backward=True, any_frame=False)
            found = False
        codec = stream.codec_context
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's end-of-stream packet
                continue
            if not found:
                found = packet.pts == start and packet.is_keyframe
                if not found:
                    continue  # an earlier GOP's packet: the previous chunk decodes it
            elif packet.pts == end and packet.is_keyframe and not chunk.open_end:
                break
            for frame in _decode(codec, packet):
                out = small(frame)
                if out is not None:
                    yield out
            if past_end:
                break
        if not past_end:
            for frame in codec.decode(None):  # drain the reorder buffer
                out = small(frame)
                if out is not None:
                    yield out
    except av.FFmpegError as exc:
        raise DetectError(f"{video.name}: decoding failed ({exc})") from exc
    if not found:
        raise ChunkMismatch(f"keyframe at pts {start} not found after seeking")
    if last is None:
        raise ChunkMismatch("empty chunk")


def read_small_frames(video: Path, size: tuple[int, int] = ANALYSIS_SIZE) -> Iterator[UInt8Array]:
    """Decode ``video`` once and yield every frame downscaled to ``size``, in decode order.

    One decoder with FFmpeg's frame threading (``thread_type = "AUTO"``) and
    :data:`DECODER_OPTIONS`. A packet the decoder rejects as corrupt gives no frame (see
    ``_decode``) rather than an error. 4:2:0 frames are downscaled from the decoder's planes
    (bilinear to twice the size, then area; converted to RGB with the frame's matrix and
    range); other pixel formats go through ``frame.to_ndarray(width, height,
    format="rgb24", interpolation="AREA")``. For features,
    :func:`heaters.media.scores.decode_features` is faster:
    it splits the stream at keyframes across threads.

    Parameters
    ----------
    video : Path
        A media file with at least one video stream (the first one is read).
    size : tuple of int
        (width, height) of the yielded frames, in pixels; both even.

    Yields
    ------
    uint8 array (H, W, 3)
        RGB frames in decode order (frame ``k`` is the ``k``-th frame the decoder outputs).

    Raises
    ------
    DetectError
        The file is missing, not media, has no video stream, or decoding fails.
    """
    import av

    width, height = size
    container, stream = open_video(video)
    try:
        stream.thread_type = "AUTO"
        stream.codec_context.options = dict(DECODER_OPTIONS)
        fast: bool | None = None
        codec = stream.codec_context
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # the demuxer's end-of-stream packet
                    continue
                for frame in _decode(codec, packet):
                    if fast is None:
                        fast = _is_fast(frame, width, height)
                    yield _small(frame, width, height, fast)
            for frame in _decode(codec, None):  # drain the decoder
                if fast is None:
                    fast = _is_fast(frame, width, height)
                yield _small(frame, width, height, fast)
        except av.FFmpegError as exc:
            raise DetectError(f"{video.name}: decoding failed ({exc})") from exc
    finally:
        container.close()


def read_small_frames_raw(
    path: Path, size: tuple[int, int] = ANALYSIS_SIZE
) -> Iterator[UInt8Array]:
    """Yield the frames of a raw ``rgb24`` file of back-to-back ``size`` frames.

    The file is what the preprocess stage writes with ffmpeg
    (``-vf scale=W:H:flags=area,format=rgb24 -f rawvideo``); frame ``k`` of the file is frame
    ``k`` in decode order. A trailing partial frame is ignored.

    Parameters
    ----------
    path : Path
        The raw file.
    size : tuple of int
        (width, height) of its frames, in pixels.

    Yields
    ------
    uint8 array (H, W, 3)
        RGB frames (read-only views of a memory map).

    Raises
    ------
    DetectError
        The file does not exist or cannot be read.
    """
    width, height = size
    frame_bytes = width * height * 3
    try:
        n = path.stat().st_size // frame_bytes
    except OSError as exc:
        raise DetectError(f"{path.name}: cannot read analysis frames ({exc})") from exc
    if n == 0:
        return
    data = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, height, width, 3))
    for k in range(n):
        yield data[k]
