"""Benchmark: our ``preprocess()`` against the plain ffmpeg CLI doing the same proxy encode.

For each video, both sides run ``--runs`` times, interleaved (the order alternates per run so
neither side always gets a warm cache), in the same process and the same run:

- **ours**: ``heaters.media.preprocess.preprocess()`` with default settings — probe, ONE
  ffmpeg decode writing the all-intra H.264 review proxy (≤ 720 lines, CRF 25) and (unless
  ``--no-small-frames``) the 64x36 RGB24 small frames, then the frame index and the check
  that the original can serve as the master (no FFV1 is written for a sound original);
- **ffmpeg**: one plain ``ffmpeg -i SRC …`` command writing the same proxy (the same output
  arguments, ffmpeg's default threading).

Prints one JSON line per video: median wall seconds of each side, the ratio ours/ffmpeg (target
≤ 1.10), and the median CPU seconds (user + system of this process and its children, from
``resource.getrusage``). Timing uses only ``time.perf_counter`` and ``resource``.

Usage::

    python bench/preprocess.py [--video PATH ...] [--runs N] [--no-small-frames]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from heaters.media import scenes
from heaters.media.ffmpeg import BASE_ARGS, ffmpeg_exe
from heaters.media.preprocess import ffmpeg_preprocess_args, preprocess
from heaters.media.probe import probe

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO / "samples" / "big_buck_bunny_action_59s.mp4"
TARGET_RATIO = 1.10


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its reaped children so far."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _measure(fn: Callable[[], object]) -> tuple[float, float]:
    """Run ``fn`` once; return (wall seconds, CPU seconds)."""
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    return wall, _cpu_seconds() - cpu0


def _plain_ffmpeg(src: Path, out: Path) -> None:
    """The baseline: one plain ffmpeg command making the same proxy (same filter, codec and
    settings as ours by default: ≤ 720 lines, libx264 all-I veryfast CRF 25, AAC 128k,
    faststart)."""
    args = ffmpeg_preprocess_args(
        src, None, out / "proxy.mp4", small_frames=None, small_size=scenes.ANALYSIS_SIZE
    )
    subprocess.run([ffmpeg_exe(), *BASE_ARGS, *args], check=True, stdin=subprocess.DEVNULL)


def _ours(src: Path, out: Path, small_frames: bool) -> None:
    """Ours with default settings: the original is the master (no FFV1), one decode writes
    the proxy and the small frames, then the frame index and the master check."""
    asyncio.run(
        preprocess(
            src,
            out / "master.mkv",
            out / "proxy.mp4",
            small_frames=out / "small.rgb" if small_frames else None,
            small_size=scenes.ANALYSIS_SIZE,
        )
    )


def bench_video(video: Path, runs: int, small_frames: bool, work: Path) -> dict[str, object]:
    """Time both sides ``runs`` times on ``video``; return the JSON-able result."""
    info = probe(video)
    ours: list[tuple[float, float]] = []
    plain: list[tuple[float, float]] = []
    for i in range(runs):
        order = ("ours", "ffmpeg") if i % 2 == 0 else ("ffmpeg", "ours")
        for side in order:
            out = Path(tempfile.mkdtemp(prefix=f"{side}-", dir=work))
            try:
                if side == "ours":
                    ours.append(_measure(lambda out=out: _ours(video, out, small_frames)))
                else:
                    plain.append(_measure(lambda out=out: _plain_ffmpeg(video, out)))
            finally:
                shutil.rmtree(out, ignore_errors=True)
    ours_wall = statistics.median(w for w, _ in ours)
    plain_wall = statistics.median(w for w, _ in plain)
    ratio = ours_wall / plain_wall
    return {
        "video": str(video),
        "width": info.width,
        "height": info.height,
        "frames": info.frame_count,
        "duration_s": round(info.duration_seconds, 3),
        "runs": runs,
        "small_frames": small_frames,
        "ours_wall_s": round(ours_wall, 3),
        "ffmpeg_wall_s": round(plain_wall, 3),
        "ratio": round(ratio, 3),
        "target": TARGET_RATIO,
        "ok": ratio <= TARGET_RATIO,
        "ours_cpu_s": round(statistics.median(c for _, c in ours), 3),
        "ffmpeg_cpu_s": round(statistics.median(c for _, c in plain), 3),
        "ours_wall_all": [round(w, 3) for w, _ in ours],
        "ffmpeg_wall_all": [round(w, 3) for w, _ in plain],
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print one JSON line per video."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--video",
        action="append",
        type=Path,
        help="video to preprocess (repeatable; default: the committed sample)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per side (median reported)")
    parser.add_argument(
        "--no-small-frames",
        action="store_true",
        help="do not write the small frames for the scene detector (ours only)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where outputs go (temp)")
    args = parser.parse_args(argv)
    videos: list[Path] = args.video or [DEFAULT_VIDEO]
    with tempfile.TemporaryDirectory(prefix="bench-preprocess-", dir=args.workdir) as work:
        for video in videos:
            result = bench_video(video, max(1, args.runs), not args.no_small_frames, Path(work))
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
