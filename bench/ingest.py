"""Benchmark of issue 13: lean ingest of a long 720p video, end to end, with default settings.

Input: ``--video`` or, by default, a ~10-minute 1280×720 H.264/AAC file made by joining the
committed 59 s sample ten times with ffmpeg (stream copy, into ``--workdir``, never
committed). Prints one JSON line per result:

- ``ingest``: ``heaters ingest VIDEO --wait --json`` in a subprocess with a fresh
  ``HEATERS_HOME`` (embedded Postgres, local storage): wall seconds, realtime factor
  (video seconds / wall seconds; target ≥ 4), and the bytes stored per kind of object
  (original = the master by default, FFV1 master if any, proxy) against the source's size
  (target: all ≤ 10×);
- ``preprocess``: our preprocess against the plain ffmpeg CLI making the same proxy, as in
  ``bench/preprocess.py`` (median of ``--runs``, ratio target ≤ 1.10);
- ``segments``: the segmented preprocess (what the segment jobs run: ``--segments``
  keyframe-aligned segments encoded in a process pool of 1 and of 2 workers, then joined),
  against the one-pass preprocess, in the same run (the speed-up of a second worker);
- ``export``: master-mode export (frame-exact from the original) of ``--clips`` clips spread
  over the video, seconds per clip and per second of clip, against the plain ffmpeg CLI
  re-encoding the same span with the same settings (``-ss`` input seek), as a ratio.

The machine is shared: compare the ratios, measured in the same run; quote medians.

Usage::

    python bench/ingest.py [--video PATH] [--runs N] [--clips N] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Executor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from preprocess import bench_video

from heaters.media.export import encode_clip_exact, master_export_args
from heaters.media.ffmpeg import BASE_ARGS, ffmpeg_exe
from heaters.media.preprocess import build_frame_index
from heaters.media.probe import probe
from heaters.storage.keys import object_kind

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "big_buck_bunny_action_59s.mp4"


def long_input(work: Path, repeats: int = 10) -> Path:
    """The sample joined ``repeats`` times (stream copy): ~590 s of 1280×720 at 24 fps."""
    out = work / f"sample_x{repeats}.mp4"
    if not out.exists():
        subprocess.run(
            [ffmpeg_exe(), *BASE_ARGS, "-stream_loop", str(repeats - 1), "-i", str(SAMPLE),
             "-c", "copy", str(out)],
            check=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return out


def bench_ingest(video: Path, work: Path) -> tuple[dict[str, object], Path]:
    """Run ``heaters ingest --wait --json`` in a fresh home; the result and the storage."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEATERS_")}
    env.pop("DATABASE_URL", None)
    env["HEATERS_HOME"] = str(home)
    info = probe(video)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "heaters", "ingest", str(video), "--wait", "--json"],
        env=env, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed: {proc.stderr[-2000:]}")
    row = json.loads(proc.stdout.splitlines()[-1])
    storage = home / "storage"
    per_kind: dict[str, int] = {}
    for f in storage.rglob("*"):
        if f.is_file():
            kind = object_kind(str(f.relative_to(storage)))
            per_kind[kind] = per_kind.get(kind, 0) + f.stat().st_size
    source = video.stat().st_size
    stored = sum(per_kind.values())
    result = {
        "bench": "ingest",
        "video": str(video),
        "duration_s": round(info.duration_seconds, 3),
        "frames": info.frame_count,
        "size": f"{info.width}x{info.height}",
        "state": row.get("state"),
        "clips": len(row.get("clips") or []),
        "wall_s": round(wall, 2),
        "realtime_x": round(info.duration_seconds / wall, 2),
        "realtime_target_x": 4.0,
        "source_bytes": source,
        "stored_bytes": per_kind,
        "stored_x_source": {k: round(v / source, 3) for k, v in per_kind.items()},
        "total_x_source": round(stored / source, 3),
        "total_target_x": 10.0,
        "cpus": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
    }
    return result, storage


def bench_export(video: Path, proxy: Path, clips: int, runs: int, work: Path) -> dict[str, object]:
    """Master-mode export of ``clips`` 3-second clips vs ffmpeg ``-ss`` re-encoding them."""
    pts = build_frame_index(proxy).pts_seconds
    n = len(pts)
    length = 72  # frames: 3 s at 24 fps
    starts = [int((k + 0.5) * (n - length) / clips) + 7 for k in range(clips)]
    ours: list[float] = []
    plain: list[float] = []
    for run in range(runs):
        for start in starts:
            end = start + length
            span = pts[end] - pts[start]
            out = work / f"clip_{start}.mp4"
            sides = ("ours", "ffmpeg") if run % 2 == 0 else ("ffmpeg", "ours")
            for side in sides:
                t0 = time.perf_counter()
                if side == "ours":
                    encode_clip_exact(
                        video, out, start_seconds=pts[start], frame_count=length,
                        duration_seconds=span, prev_seconds=pts[start - 1],
                        next_seconds=pts[start + 1],
                    )  # fmt: skip
                    ours.append(time.perf_counter() - t0)
                else:
                    half = (pts[start + 1] - pts[start]) / 2
                    args = master_export_args(
                        video, out, seek_seconds=pts[start] - half, start_seconds=pts[start],
                        frame_count=length, duration_seconds=span,
                    )  # fmt: skip
                    subprocess.run([ffmpeg_exe(), *BASE_ARGS, *args], check=True,
                                   stdin=subprocess.DEVNULL)  # fmt: skip
                    plain.append(time.perf_counter() - t0)
                out.unlink(missing_ok=True)
    ours_s, plain_s = statistics.median(ours), statistics.median(plain)
    return {
        "bench": "export",
        "mode": "master (from the original)",
        "clips": clips,
        "clip_frames": length,
        "runs": runs,
        "ours_s_per_clip": round(ours_s, 3),
        "ffmpeg_s_per_clip": round(plain_s, 3),
        "ratio": round(ours_s / plain_s, 3),
        "ours_s_per_clip_second": round(ours_s / 3.0, 3),
        "ours_all": [round(x, 3) for x in ours],
        "ffmpeg_all": [round(x, 3) for x in plain],
    }


async def _segmented(video: Path, out: Path, segments: int, pool: Executor) -> None:
    """The segment jobs' work in one process: encode the planned segments in ``pool`` (as
    many at once as it has workers) and the audio, then join them."""
    import asyncio
    import functools

    from heaters.media.segments import encode_audio, encode_segment, finish_segmented, plan_segments

    plan = plan_segments(video, segments)
    if plan is None:
        raise SystemExit(f"{video} cannot be split at keyframes")
    work = out / "segments"
    work.mkdir(parents=True)
    loop = asyncio.get_running_loop()
    audio = work / "audio.m4a" if plan.has_audio else None
    jobs = [
        loop.run_in_executor(pool, functools.partial(encode_segment, video, plan, seg.index, work))
        for seg in plan.segments
    ]
    await asyncio.gather(encode_audio(video, audio) if audio else asyncio.sleep(0), *jobs)
    await finish_segmented(
        video, plan, work, out / "m.mkv", out / "p.mp4", out / "s.rgb", audio, probe(video),
        executor=pool,
    )  # fmt: skip


def bench_segments(video: Path, segments: int, runs: int, work: Path) -> list[dict[str, object]]:
    """Wall seconds of the segmented preprocess with 1 and 2 pool workers, and one pass."""
    import asyncio
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from heaters.media.preprocess import preprocess

    info = probe(video)
    times: dict[str, list[float]] = {"one_pass": [], "workers_1": [], "workers_2": []}
    for run in range(runs):
        order = list(times)
        if run % 2:
            order.reverse()
        for side in order:
            out = Path(tempfile.mkdtemp(prefix=f"{side}-", dir=work))
            t0 = time.perf_counter()
            if side == "one_pass":
                asyncio.run(preprocess(video, out / "m.mkv", out / "p.mp4",
                                       small_frames=out / "s.rgb"))  # fmt: skip
            else:
                workers = int(side.rsplit("_", 1)[1])
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                    asyncio.run(_segmented(video, out, segments, pool))
            times[side].append(time.perf_counter() - t0)
            shutil.rmtree(out, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    return [
        {
            "bench": "segments",
            "side": side,
            "segments": segments if side != "one_pass" else 1,
            "runs": runs,
            "wall_s": round(med[side], 2),
            "realtime_x": round(info.duration_seconds / med[side], 2),
            "vs_one_pass": round(med[side] / med["one_pass"], 3),
            "all": [round(x, 2) for x in times[side]],
            "load_1min": round(os.getloadavg()[0], 2),
        }
        for side in times
    ] + [
        {
            "bench": "segments",
            "speedup_2_workers_vs_1": round(med["workers_1"] / med["workers_2"], 3),
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--video", type=Path, default=None, help="default: the sample × 10")
    parser.add_argument("--runs", type=int, default=1, help="runs of preprocess/export sides")
    parser.add_argument("--clips", type=int, default=5, help="clips to export")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--skip", action="append", default=[],
                        choices=["ingest", "preprocess", "export", "segments"])  # fmt: skip
    parser.add_argument("--segments", type=int, default=8, help="segments of the split run")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    video = args.video or long_input(args.workdir)
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=args.workdir))
    try:
        proxy: Path | None = None
        if "ingest" not in args.skip:
            result, storage = bench_ingest(video, work)
            print(json.dumps(result), flush=True)
            found = sorted(storage.glob("videos/*/proxy.mp4"))
            proxy = found[0] if found else None
        if "preprocess" not in args.skip:
            result2 = bench_video(video, max(1, args.runs), True, work)
            print(json.dumps({"bench": "preprocess", **result2}), flush=True)
        if "segments" not in args.skip:
            for line in bench_segments(video, args.segments, max(1, args.runs), work):
                print(json.dumps(line), flush=True)
        if "export" not in args.skip:
            if proxy is None:
                from preprocess import _ours

                out = work / "pre"
                out.mkdir()
                _ours(video, out, False)
                proxy = out / "proxy.mp4"
            print(json.dumps(bench_export(video, proxy, args.clips, max(1, args.runs), work)),
                  flush=True)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
