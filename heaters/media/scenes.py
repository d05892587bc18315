"""Shot-boundary (hard cut) detection on small frames.

Pure media code: paths and parameters in, a frozen :class:`SceneResult` out; no database.

The design follows PySceneDetect's ``AdaptiveDetector`` (``scenedetect`` 0.7.2,
``detectors/adaptive_detector.py``), split into two stages so that the expensive part runs
once and the cheap part can be re-run with other thresholds:

1. :func:`frame_scores` turns the frames (decoded once, small: :data:`ANALYSIS_SIZE`) into one
   change score per frame: the difference between frame ``k`` and frame ``k - 1``.
2. :func:`cuts_from_scores` applies the adaptive rule of ``AdaptiveDetector``: a frame is a cut
   when its score is at least ``threshold`` times the mean score of its ``window`` neighbours
   on each side, the score itself is at least ``min_content``, and at least ``min_scene_len``
   frames have passed since the previous cut (or since frame 0).

Frames come either from a PyAV decode, split at keyframes across threads and downscaled
from the decoder's planes (:func:`read_small_frames`, used by :func:`detect`), or from the
raw ``rgb24`` file that the preprocess stage writes during its own single decode
(:func:`read_small_frames_raw`, used by :func:`detect_from_raw`), which costs no decode.

Frame numbering: frames are counted from 0 in decode order; a cut ``k`` means frame ``k`` is the
first frame of a new shot; there is never a cut at 0.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from heaters.errors import DetectError

__all__ = [
    "ANALYSIS_SIZE",
    "DETECTOR_NAME",
    "DetectorParams",
    "SceneResult",
    "cuts_from_scores",
    "detect",
    "detect_from_raw",
    "frame_scores",
    "read_small_frames",
    "read_small_frames_raw",
    "video_fps",
]

ANALYSIS_SIZE: tuple[int, int] = (64, 36)
"""(width, height) in pixels of the analysis frames.

64×36 (16:9, both even so 4:2:0 chroma halves exactly; 6.9 kB per frame in the preprocess
side file). Measured on the labelled set with ffmpeg-scaled frames: 32×18, 64×36 and 128×72
all find every cut with the default params; the range of (threshold, min_content) that does
shrinks as the size grows (46, 40 and 32 of 63 grid cells) because motion adds noise, while a
smaller size keeps less detail to tell similar shots apart. 64×36 is the middle.
"""

DETECTOR_NAME = "heaters-hsv-adaptive/1"
"""Names the score function of :func:`frame_scores` (and :data:`ANALYSIS_SIZE`) for stored
scores: change it whenever the scores would change, so old ones are not mixed with new."""

_MIN_CHUNK = 96
"""Fewest frames in a parallel decoding chunk (shorter streams are decoded sequentially)."""

_CHUNKS_PER_WORKER = 8
"""Chunks per decoding thread: several, so threads stay busy when chunks differ in cost."""

_BATCH = 256
"""Frames scored per vectorised batch."""

FloatArray = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class DetectorParams:
    """Thresholds of the adaptive cut rule (see :func:`cuts_from_scores`).

    Attributes
    ----------
    threshold : float
        Adaptive ratio: a frame's score divided by the mean score of its ``window`` neighbours
        on each side must reach this. PySceneDetect ``AdaptiveDetector``'s
        ``adaptive_threshold`` default, 3.0; on our labelled set (``bench/ground_truth``: 24
        hand-labelled cuts in the sample, 59 synthetic ones) every value from 2.0 to 4.0 finds
        all cuts with no false one (for frames from either reader), so 3.0 sits in the middle
        of that range.
    min_scene_len : int
        Minimum shot length in frames: a cut is only accepted this many frames after the
        previous cut (or after frame 0). PySceneDetect uses 15, which misses the real 9-frame
        shot of the sample (cuts 425 and 434) and the 9- and 12-frame shots of the synthetic
        set; 8 frames (1/3 s at 24 fps) finds them and added no false cut on the set (fast
        motion there is already rejected by the adaptive ratio). It counts frames, so at
        60 fps it is 0.13 s.
    min_content : float
        Absolute floor on the score (the 0–255 mean-absolute-difference scale of
        PySceneDetect's ``content_val``), so that a large *relative* change in a nearly still
        shot is not a cut. PySceneDetect's ``min_content_val`` default, 15; 6 to 26 all give the
        same (all correct) cuts on the labelled set.
    window : int
        Neighbours on each side averaged for the adaptive ratio (PySceneDetect's
        ``window_width`` default, 2). Frames closer than this to either end are never cuts.
    """

    threshold: float = 3.0
    min_scene_len: int = 8
    min_content: float = 15.0
    window: int = 2

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("window must be at least 1")
        if self.min_scene_len < 1:
            raise ValueError("min_scene_len must be at least 1")
        if not math.isfinite(self.threshold) or self.threshold <= 0:
            raise ValueError("threshold must be a positive number")


@dataclass(frozen=True)
class SceneResult:
    """What scene detection found in one video.

    Attributes
    ----------
    cuts : tuple of int
        Sorted frame numbers (0-based, decode order) that start a new shot; never 0.
    frame_count : int
        Frames decoded.
    fps : Fraction
        The stream's average frame rate (frames per second); for display and bookkeeping only,
        seconds come from PTS elsewhere.
    scores : tuple of float
        One change score per frame (``len(scores) == frame_count``), ``scores[0] == 0.0``;
        keep them to re-run :func:`cuts_from_scores` with other params without decoding.
    """

    cuts: tuple[int, ...]
    frame_count: int
    fps: Fraction
    scores: tuple[float, ...]


# --------------------------------------------------------------------------- reading frames


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


def _yuv420_small(frame: Any, width: int, height: int) -> UInt8Array:
    """Downscale a decoded 4:2:0 frame to (height, width, 3) RGB straight from its planes.

    Each plane is bilinearly resized to twice the target size, then area-averaged to the
    target (so every output pixel averages 16 samples of its cell), and the tiny planes are
    converted to RGB with the frame's matrix (BT.709 when tagged so, else BT.601) and range,
    as swscale does. No full-size RGB image is ever made. Measured on the sample (1280×720):
    ~0.15 ms per frame against ~0.6 ms for a full area resize of the planes and ~0.7 ms for
    ``to_ndarray(..., interpolation="AREA")``, with the same cuts; a single bilinear step
    (~0.09 ms) leaves the scores noisier (a narrower range of thresholds finds every labelled
    cut). Pixels differ from ffmpeg's ``scale=…:flags=area`` by ~2 levels on average.
    """
    import cv2

    planes: list[Any] = []
    for i, plane in enumerate(frame.planes[:3]):
        w = frame.width if i == 0 else (frame.width + 1) // 2
        h = frame.height if i == 0 else (frame.height + 1) // 2
        buf: Any = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:h, :w]
        tw, th = (width, height) if i == 0 else (width // 2, height // 2)
        if w >= 4 * tw and h >= 4 * th:
            buf = cv2.resize(buf, (2 * tw, 2 * th), interpolation=cv2.INTER_LINEAR)
        planes.append(cv2.resize(buf, (tw, th), interpolation=cv2.INTER_AREA))
    full = frame.format.name == "yuvj420p" or int(frame.color_range) == 2
    return _yuv_to_rgb(planes[0], planes[1], planes[2], int(frame.colorspace), full)


def _open_video(video: Path) -> tuple[Any, Any]:
    """Open ``video`` with PyAV and return (container, first video stream)."""
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


class _ChunkMismatch(Exception):
    """A chunk's frames could not be matched to the sequential decode (fall back to it)."""


def _worker_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _small(frame: Any, width: int, height: int, fast: bool) -> UInt8Array:
    if fast:
        return _yuv420_small(frame, width, height)
    arr: UInt8Array = frame.to_ndarray(
        width=width, height=height, format="rgb24", interpolation="AREA"
    )
    return arr


def _is_fast(frame: Any, width: int, height: int) -> bool:
    return bool(frame.format.name in ("yuv420p", "yuvj420p") and width % 2 == 0 and height % 2 == 0)


def _decode_sequential(video: Path, size: tuple[int, int], skip: int) -> Iterator[UInt8Array]:
    """One threaded decoder over the whole stream; the first ``skip`` frames are not converted."""
    import av

    width, height = size
    container, stream = _open_video(video)
    try:
        stream.thread_type = "AUTO"
        stream.codec_context.options = {"skip_loop_filter": "all", "flags2": "+fast"}
        fast: bool | None = None
        try:
            for k, frame in enumerate(container.decode(stream)):
                if k < skip:
                    continue
                if fast is None:
                    fast = _is_fast(frame, width, height)
                yield _small(frame, width, height, fast)
        except av.FFmpegError as exc:
            raise DetectError(f"{video.name}: decoding failed ({exc})") from exc
    finally:
        container.close()


def _plan_chunks(video: Path, workers: int) -> list[int] | None:
    """Start PTS of the chunks after the first, at keyframes, from a demux-only pass.

    Returns None when the stream should be decoded sequentially (short, one keyframe, packets
    without PTS or keyframes out of order).
    """
    import av

    container, stream = _open_video(video)
    keys: list[tuple[int, int]] = []
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.is_keyframe:
                if packet.pts is None:
                    return None
                keys.append((count, int(packet.pts)))
            count += 1
    except av.FFmpegError:
        return None
    finally:
        container.close()
    if workers < 2 or count < 2 * _MIN_CHUNK:
        return None
    target = max(_MIN_CHUNK, count // (workers * _CHUNKS_PER_WORKER))
    starts: list[int] = []
    last_index, last_pts = 0, None
    for index, pts in keys:
        if last_pts is not None and pts <= last_pts:
            return None
        last_pts = pts
        if index - last_index >= target and count - index >= _MIN_CHUNK // 2:
            starts.append(pts)
            last_index = index
    return starts or None


class _ChunkDecoders:
    """One single-threaded decoder per worker thread, reused (by seeking) across its chunks.

    Opening a container costs ~10 ms (stream probing), a seek ~1 ms; chunk 0 gets a fresh
    container of its own since it must start at the very beginning without seeking.
    """

    def __init__(self, video: Path) -> None:
        self.video = video
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def open(self) -> tuple[Any, Any]:
        container, stream = _open_video(self.video)
        with self._lock:
            self._opened.append(container)
        stream.codec_context.thread_count = 1
        stream.codec_context.options = {"skip_loop_filter": "all", "flags2": "+fast"}
        return container, stream

    def for_thread(self) -> tuple[Any, Any]:
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


def _decode_chunk(
    decoders: _ChunkDecoders, start: int | None, end: int | None, size: tuple[int, int]
) -> list[UInt8Array]:
    """Small frames with ``start <= pts < end`` (None: open end), by one single-threaded decoder.

    A chunk after the first seeks to its keyframe ``start``; frames before it (leading
    pictures of an open GOP) belong to the previous chunk, whose decoder has the references
    to decode them and reads on until it sees ``pts >= end``. Raises :class:`_ChunkMismatch`
    when the frames cannot be those of a sequential decode (no PTS, PTS not increasing, first
    frame is not the keyframe).
    """
    import av

    width, height = size
    video = decoders.video
    out: list[UInt8Array] = []
    try:
        if start is None:
            container, stream = decoders.open()
        else:
            container, stream = decoders.for_thread()
            container.seek(start, stream=stream, backward=True, any_frame=False)
        fast: bool | None = None
        last: int | None = None
        for frame in container.decode(stream):
            pts = frame.pts
            if pts is None:
                raise _ChunkMismatch("frame without pts")
            if start is not None and pts < start:
                continue
            if end is not None and pts >= end:
                break
            if last is None and start is not None and pts != start:
                raise _ChunkMismatch(f"chunk starts at pts {pts}, expected {start}")
            if last is not None and pts <= last:
                raise _ChunkMismatch("pts not increasing")
            if fast is None:
                fast = _is_fast(frame, width, height)
            out.append(_small(frame, width, height, fast))
            last = pts
    except av.FFmpegError as exc:
        raise DetectError(f"{video.name}: decoding failed ({exc})") from exc
    if start is not None and not out:
        raise _ChunkMismatch("empty chunk")
    return out


def read_small_frames(
    video: Path, size: tuple[int, int] = ANALYSIS_SIZE, *, workers: int | None = None
) -> Iterator[UInt8Array]:
    """Decode ``video`` once and yield every frame downscaled to ``size``, in decode order.

    Threading: a demux-only pass finds the keyframes; the stream is split at keyframes into
    chunks that ``workers`` threads decode at the same time, each with its own single-threaded
    decoder (PyAV and OpenCV release the GIL), and the frames are yielded in order. On the
    2-core bench machine this reads the sample in 1.41 s against 1.80 s for one decoder with
    FFmpeg's frame threading (``thread_type = "AUTO"``; best of 6 runs each), which waits on
    reference frames between its threads. A stream
    that cannot be split safely (short, one keyframe, no PTS, PTS not increasing, a seek that
    does not land on the keyframe) is decoded sequentially with ``thread_type = "AUTO"``; the
    frames are the same either way.

    Decoders skip the in-loop deblocking filter (``skip_loop_filter=all``, ~30 % faster; its
    effect on a 64×36 average is far below any cut score) and allow FFmpeg's non-bit-exact
    shortcuts (``flags2=+fast``, ~4 % faster); the hand-labelled ground truth in
    ``bench/ground_truth`` is found in full either way. 4:2:0 frames are downscaled from
    the decoder's planes (see :func:`_yuv420_small`); other pixel formats go through
    ``frame.to_ndarray(width, height, format="rgb24", interpolation="AREA")``.

    Parameters
    ----------
    video : Path
        A media file with at least one video stream (the first one is read).
    size : tuple of int
        (width, height) of the yielded frames, in pixels; both even.
    workers : int, optional
        Decoding threads; default: the CPUs this process may use. 1 = sequential.

    Yields
    ------
    uint8 array (H, W, 3)
        RGB frames in decode order (frame ``k`` is the ``k``-th frame the decoder outputs).

    Raises
    ------
    DetectError
        The file is missing, not media, has no video stream, or decoding fails.
    """
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    n = workers if workers is not None else _worker_count()
    starts = _plan_chunks(video, n) if n > 1 else None
    if not starts:
        yield from _decode_sequential(video, size, 0)
        return
    bounds: list[tuple[int | None, int | None]] = list(
        zip([None, *starts], [*starts, None], strict=True)
    )
    done = 0
    decoders = _ChunkDecoders(video)
    pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="heaters-decode")
    try:
        pending: deque[Future[list[UInt8Array]]] = deque()
        todo = iter(bounds)
        for start, end in todo:
            pending.append(pool.submit(_decode_chunk, decoders, start, end, size))
            if len(pending) > n:
                break
        while pending:
            try:
                frames = pending.popleft().result()
            except _ChunkMismatch:
                break
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(_decode_chunk, decoders, nxt[0], nxt[1], size))
            yield from frames
            done += len(frames)
        else:
            return
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        decoders.close()
    yield from _decode_sequential(video, size, done)


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


# --------------------------------------------------------------------------- scoring


def _batch_scores(batch: UInt8Array, prev: UInt8Array | None) -> tuple[FloatArray, UInt8Array]:
    """Scores of a batch of RGB frames (N, H, W, 3) and the HSV of its last frame.

    ``prev`` is the HSV (H, W, 3) of the frame before the batch, or None at the start (the first
    score is then 0).
    """
    import cv2

    n, h, w, _ = batch.shape
    hsv = cv2.cvtColor(np.ascontiguousarray(batch).reshape(n * h, w, 3), cv2.COLOR_RGB2HSV)
    flat = hsv.reshape(n, h * w * 3)
    if prev is None:
        first = np.zeros(1, np.float64)
    else:
        first = cv2.absdiff(flat[:1], prev.reshape(1, -1)).sum(axis=1, dtype=np.uint64)
    rest = cv2.absdiff(flat[1:], flat[:-1]).sum(axis=1, dtype=np.uint64)
    sums = np.concatenate([first, rest]).astype(np.float64)
    scores: FloatArray = (sums / (h * w * 3)).astype(np.float32)
    last: UInt8Array = hsv.reshape(n, h, w, 3)[-1].copy()
    return scores, last


def frame_scores(frames: Iterable[UInt8Array]) -> FloatArray:
    """Change score of every frame against the previous one.

    The score is PySceneDetect ``ContentDetector``'s ``content_val`` with its default weights
    (``detectors/content_detector.py``): the mean, over pixels and over the hue, saturation and
    value channels (OpenCV 8-bit HSV: 0–179, 0–255, 0–255), of the absolute difference
    between consecutive frames. It is computed vectorised over batches of 256 frames
    (``cv2.cvtColor`` + ``cv2.absdiff`` on the stacked batch, ~10 µs per 64×36 frame).

    Parameters
    ----------
    frames : iterable of uint8 array (H, W, 3)
        RGB frames in decode order, all the same size.

    Returns
    -------
    float32 array (N,)
        ``scores[k]`` is the change from frame ``k - 1`` to frame ``k`` on a 0–255 scale;
        ``scores[0] == 0``.
    """
    out: list[FloatArray] = []
    prev: UInt8Array | None = None
    batch: list[UInt8Array] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) >= _BATCH:
            scores, prev = _batch_scores(np.stack(batch), prev)
            out.append(scores)
            batch.clear()
    if batch:
        scores, prev = _batch_scores(np.stack(batch), prev)
        out.append(scores)
    if not out:
        return np.zeros(0, np.float32)
    return np.concatenate(out)


def cuts_from_scores(scores: npt.ArrayLike, params: DetectorParams) -> list[int]:
    """Apply the adaptive cut rule to per-frame scores (pure, no I/O).

    The rule is PySceneDetect ``AdaptiveDetector``'s: for frame ``k`` with ``window`` frames on
    both sides, ``ratio = scores[k] / mean(scores[k-window:k] + scores[k+1:k+window+1])``
    (capped at 255; 255 when the neighbours are all ~0 and the score reaches ``min_content``).
    ``k`` is a cut when ``ratio >= threshold``, ``scores[k] >= min_content`` and
    ``k - last_cut >= min_scene_len``, where ``last_cut`` starts at frame 0. Frames closer than
    ``window`` to either end are never cuts (no full window), and neither is frame 0.

    Parameters
    ----------
    scores : array-like of float (N,)
        One change score per frame, as from :func:`frame_scores`.
    params : DetectorParams
        The thresholds.

    Returns
    -------
    list of int
        Cut frame numbers, ascending.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    w = params.window
    n = s.shape[0]
    if n < 2 * w + 1:
        return []
    csum = np.concatenate([[0.0], np.cumsum(s)])
    k = np.arange(w, n - w)
    neigh = (csum[k + w + 1] - csum[k - w] - s[k]) / (2.0 * w)
    target = s[k]
    zero = np.abs(neigh) < 1e-5
    ratio = np.where(zero, 0.0, np.minimum(target / np.where(zero, 1.0, neigh), 255.0))
    ratio = np.where(zero & (target >= params.min_content), 255.0, ratio)
    candidates = k[(ratio >= params.threshold) & (target >= params.min_content)]
    cuts: list[int] = []
    last = 0
    for c in candidates.tolist():
        if c - last >= params.min_scene_len:
            cuts.append(int(c))
            last = c
    return cuts


# --------------------------------------------------------------------------- detection


def _progress(frames: Iterable[UInt8Array], cb: Callable[[int], None]) -> Iterator[UInt8Array]:
    """Pass frames through, calling ``cb(frames_so_far)`` every 64 frames and at the end."""
    n = 0
    for n, f in enumerate(frames, 1):
        yield f
        if n % 64 == 0:
            cb(n)
    cb(n)


def _result(scores: FloatArray, fps: Fraction, params: DetectorParams) -> SceneResult:
    if scores.shape[0]:
        scores[0] = 0.0
    return SceneResult(
        cuts=tuple(cuts_from_scores(scores, params)),
        frame_count=int(scores.shape[0]),
        fps=fps,
        scores=tuple(float(x) for x in scores.tolist()),
    )


def video_fps(video: Path) -> Fraction:
    """The first video stream's average frame rate, as a Fraction (0 when unknown).

    Raises
    ------
    DetectError
        The file cannot be opened or has no video stream.
    """
    container, stream = _open_video(video)
    try:
        rate = stream.average_rate or stream.guessed_rate
        return Fraction(rate) if rate else Fraction(0)
    finally:
        container.close()


def detect(
    video: Path,
    params: DetectorParams = DetectorParams(),
    *,
    on_progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> SceneResult:
    """Detect the hard cuts of ``video`` with one small, threaded decode.

    Parameters
    ----------
    video : Path
        A media file with a video stream.
    params : DetectorParams
        Thresholds (defaults tuned on ``bench/ground_truth``).
    on_progress : callable, optional
        Called with the number of frames decoded so far (every 64 frames and at the end).
    workers : int, optional
        Decoding threads (see :func:`read_small_frames`); default: the CPUs this process may
        use. Set 1 when several detections run in parallel processes on the same machine.

    Returns
    -------
    SceneResult
        Cuts, frame count, the stream's average frame rate and the per-frame scores.

    Raises
    ------
    DetectError
        The file is unreadable or has no video stream.
    """
    fps = video_fps(video)
    frames: Iterable[UInt8Array] = read_small_frames(video, workers=workers)
    if on_progress is not None:
        frames = _progress(frames, on_progress)
    return _result(frame_scores(frames), fps, params)


def detect_from_raw(
    raw: Path,
    *,
    fps: Fraction,
    params: DetectorParams = DetectorParams(),
    size: tuple[int, int] = ANALYSIS_SIZE,
) -> SceneResult:
    """Detect the hard cuts from the raw ``rgb24`` analysis file preprocess wrote (no decode).

    Parameters
    ----------
    raw : Path
        Back-to-back ``size`` rgb24 frames (see :func:`read_small_frames_raw`).
    fps : Fraction
        The video's average frame rate, copied into the result.
    params : DetectorParams
        Thresholds.
    size : tuple of int
        (width, height) of the raw frames, in pixels.

    Returns
    -------
    SceneResult
        As :func:`detect`.

    Raises
    ------
    DetectError
        The file cannot be read.
    """
    return _result(frame_scores(read_small_frames_raw(raw, size)), fps, params)
