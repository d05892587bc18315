"""Preprocess split into keyframe-aligned segments, each encoded by its own job (long videos,
``heaters/pipeline/preprocess_stages.py``): the plan (:func:`plan_for_jobs`), one segment's
encode (:func:`encode_segment`), the audio (:func:`encode_audio`) and the join
(:func:`join_segments`, :func:`finish_segmented`), whose result is that of the one-pass
:func:`heaters.media.preprocess.preprocess`: the same frame count, frame index and small-frames
layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import math
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from heaters.errors import PreprocessError, ProbeError
from heaters.media.ffmpeg import run_ffmpeg
from heaters.media.master import ffmpeg_master_args, original_master_problem
from heaters.media.preprocess import (
    DEFAULT_PROXY_CRF,
    DEFAULT_PROXY_HEIGHT,
    MasterKind,
    PreprocessResult,
    ProxyScan,
    part_path,
    preprocess_result,
    scan_proxy,
    truncation_allowance,
)
from heaters.media.probe import (
    ProbeResult,
    probe,
)

__all__ = [
    "Segment",
    "SegmentPlan",
    "encode_audio",
    "encode_segment",
    "finish_segmented",
    "join_segments",
    "plan_for_jobs",
    "plan_segments",
    "segment_paths",
]


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
    probe counts beyond the truncation allowance
    (:func:`heaters.media.preprocess.truncation_allowance`).

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
        truncation_allowance(info.frame_count)
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
    parts = [part_path(video_out), part_path(small_out)]
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
                if last is None and frame.rotation:
                    # a phone video's display matrix: kept, as players and browsers honour it
                    vout.set_display_rotation(frame.rotation)
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
    part = part_path(proxy)
    try:
        with (
            av.open(str(part), "w", format="mp4", options={"movflags": "+faststart"}) as out,
            contextlib.ExitStack() as stack,
        ):
            first_path, _ = segment_paths(work, 0)
            with av.open(str(first_path)) as first:
                vout = out.add_stream_from_template(first.streams.video[0])
                rotation = next(first.decode(video=0)).rotation
                if rotation:  # the segments' display matrix (encode_segment kept the source's)
                    vout.set_display_rotation(rotation)
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
            small_part = part_path(small_frames)
            with small_part.open("wb") as dst:
                for seg in plan.segments:
                    _, small = segment_paths(work, seg.index)
                    dst.write(small.read_bytes())
            os.replace(small_part, small_frames)
        os.replace(part, proxy)
    finally:
        part.unlink(missing_ok=True)


async def encode_audio(src: Path | str, audio: Path) -> None:
    """Encode the first audio track of ``src`` alone (AAC 128 kb/s in MP4, as the one-pass
    proxy's) to ``audio``, for :func:`join_segments`; written under a temporary name and
    renamed, so it is whole or absent; kept when it exists already."""
    if await asyncio.to_thread(audio.exists):
        return
    part = part_path(audio)
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
    scan: ProxyScan = await loop.run_in_executor(executor, functools.partial(scan_proxy, proxy))
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
        part = part_path(master)
        try:
            await run_ffmpeg(ffmpeg_master_args(src, part), error=PreprocessError)
            os.replace(part, master)
        finally:
            part.unlink(missing_ok=True)
    return preprocess_result(n, info, scan, kind, reason)
