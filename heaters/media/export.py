"""Export a clip (frames ``[start_frame, end_frame)`` of a video) as its own MP4 file.

Two modes:

- ``copy``: the clip's packets are remuxed from the all-I-frame proxy with PyAV. Every proxy
  frame is a keyframe (I-frame), so the cut is frame-exact by construction: the packets whose
  PTS lie in ``[pts[start], pts[end])`` are exactly the clip's frames, and nothing is decoded or
  re-encoded. Fast; the quality is the proxy's.
- ``master``: ffmpeg decodes the lossless FFV1 master from the clip's first frame (input seek,
  which is exact because the master is intra-only too, then accurate seek drops anything
  earlier) and re-encodes ``N`` frames to H.264 (CRF) with ``+faststart``: full quality.

Both write to a temporary name and rename, so a killed export leaves no half file. Both read
their input from a path or an http(s) URL (a presigned S3 URL): FFmpeg then fetches only the
byte ranges it seeks to (the MP4/MKV index, then the clip's packets), not the whole file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, TypeGuard

import av

from heaters.errors import MediaError
from heaters.media.ffmpeg import run_ffmpeg

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


def _part(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


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
    part = _part(out)
    try:
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
        os.replace(part, out)
    except av.FFmpegError as exc:
        raise ExportError(f"cannot remux the clip from the proxy: {exc}") from None
    finally:
        part.unlink(missing_ok=True)
    return ExportResult(out, "copy", frames, end_seconds - start_seconds)


def master_export_args(
    master: Path | str,
    out: Path,
    *,
    seek_seconds: float,
    frame_count: int,
    duration_seconds: float,
    crf: int = 18,
    preset: str = "medium",
) -> list[str]:
    """The ffmpeg arguments of a master-mode export (also used by the benchmark's peer)."""
    network = ["-rw_timeout", str(NETWORK_TIMEOUT_US)] if is_url(master) else []
    return [
        *network, "-ss", f"{seek_seconds:.6f}", "-i", str(master),
        "-map", "0:v:0", "-map", "0:a:0?",
        "-frames:v", str(frame_count), "-t", f"{duration_seconds:.6f}",
        "-c:v", "libx264", "-crf", str(crf), "-preset", preset, "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "160k",
        "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip


async def encode_clip_from_master(
    master: Path | str,
    out: Path,
    *,
    pts_seconds: Sequence[float],
    frame_count: int,
    duration_seconds: float,
    crf: int = 18,
    preset: str = "medium",
) -> ExportResult:
    """Master mode: re-encode one clip from the FFV1 master to H.264 (CRF, faststart).

    Parameters
    ----------
    master:
        The FFV1 master (MKV): a path or an http(s) URL.
    pts_seconds:
        PTS in seconds of the clip's frames (at least the first two when the clip has them):
        the input seek goes to half a frame before the first, so rounding in the master's
        time base cannot drop or add a frame.

    Raises ExportError if ffmpeg fails.
    """
    first = pts_seconds[0]
    half = (pts_seconds[1] - first) / 2 if len(pts_seconds) > 1 else 0.01
    part = _part(out)
    try:
        await run_ffmpeg(
            master_export_args(
                master,
                part,
                seek_seconds=max(first - half, 0.0),
                frame_count=frame_count,
                duration_seconds=duration_seconds + half,
                crf=crf,
                preset=preset,
            ),
            error=ExportError,
        )
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return ExportResult(out, "master", frame_count, duration_seconds)
