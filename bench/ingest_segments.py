"""Benchmark of issue 13 part 4: one long video preprocessed by one worker, then by two.

Input: ``--video`` or, by default, the ~10-minute 1280×720 H.264/AAC file ``bench/ingest.py``
builds by joining the committed 59 s sample ten times with ffmpeg (stream copy).

This machine has 2 cores; "two machines of one core each" is simulated honestly: every
worker is a separate ``heaters worker`` process (one job at a time, a process pool of one)
pinned with ``taskset -c N`` to its own core, sharing only Postgres and the storage folder,
as separate machines share Postgres and S3. Each side gets a fresh home (embedded Postgres,
local storage) and ingests the video once:

- ``one_pass``: segments off (``HEATERS_SEGMENT_SECONDS=0``), one worker on core 0;
- ``segmented_1``: ``--segment-seconds`` segments, one worker on core 0;
- ``segmented_2``: the same, one worker on core 0 and one on core 1;
- ``one_pass_default`` / ``segmented_default``: one unpinned worker with the default
  concurrency and process pool (what ``heaters ingest --wait`` runs on this machine), segments
  off and on: what splitting costs or gains on a single machine.

Preprocess wall time is read from ``stage_runs``: from the start of the preprocess job to the
end of the job that made the video ``preprocessed`` (preprocess in one pass, or the join).
One JSON line per side and run (wall seconds, realtime factor, the segment jobs per worker,
the CPU seconds of the workers and their children, the load average before and after; with
``--runs N`` the sides alternate their order), then one with the medians and speed-ups. The machine is shared with other
work: the load average says how much; compare the ratios of one run.

Usage::

    python bench/ingest_segments.py [--video PATH] [--segment-seconds S] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _home import throwaway_home
from ingest import long_input

from heaters.media.probe import probe

REPO = Path(__file__).resolve().parents[1]

SIDES: dict[str, tuple[float | None, tuple[int, ...] | None]] = {
    # name: (segment seconds, None = the --segment-seconds value; cores, one worker each,
    # or None: one worker with the default settings, unpinned, as `ingest --wait` runs)
    "one_pass": (0.0, (0,)),
    "segmented_1": (None, (0,)),
    "segmented_2": (None, (0, 1)),
    "one_pass_default": (0.0, None),
    "segmented_default": (None, None),
}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _wait_state(url: str, states: set[str], limit_s: float) -> str:
    import psycopg

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT state, last_error FROM source_videos").fetchone()
        if row is not None and row[0].endswith("_failed"):
            raise SystemExit(f"the video failed: {row[0]}: {row[1]}")
        if row is not None and row[0] in states:
            return str(row[0])
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {states}")


def _run_side(
    name: str, tmp: Path, url: str, video: Path, segment_seconds: float,
    cores: tuple[int, ...] | None, limit_s: float,
) -> dict[str, Any]:  # fmt: skip
    """Ingest ``video`` in the home under ``tmp`` with one pinned worker per core."""
    import psycopg

    env = {k: v for k, v in os.environ.items() if not k.startswith("HEATERS_")}
    env |= {
        "DATABASE_URL": url,
        "HEATERS_HOME": str(tmp / "home"),
        "HEATERS_SEGMENT_SECONDS": str(segment_seconds),
        "HEATERS_DISPATCH_PERIOD_SECONDS": "1",
        "HEATERS_JOB_POLL_SECONDS": "0.2",
    }
    if cores is not None:
        env |= {"HEATERS_WORKER_CONCURRENCY": "1", "HEATERS_PROCESS_POOL_SIZE": "1"}
    load_before = _load()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = []
    for core in cores if cores is not None else (None,):
        cmd = [sys.executable, "-m", "heaters", "worker"]
        if core is not None:
            cmd = ["taskset", "-c", str(core), *cmd]
        log = (tmp / f"worker{core}.log").open("wb")
        workers.append(subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=log))
    try:
        sub = subprocess.run(
            [sys.executable, "-m", "heaters", "ingest", str(video), "--json"],
            env=env, cwd=REPO, capture_output=True, text=True,
        )  # fmt: skip
        if sub.returncode != 0:
            raise SystemExit(f"heaters ingest failed: {sub.stderr[-2000:]}")
        t0 = time.monotonic()
        _wait_state(url, {"preprocessed", "detecting", "detected"}, limit_s)
        observed = time.monotonic() - t0
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(60)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    with psycopg.connect(url) as conn:
        runs = conn.execute(
            "SELECT stage, worker, started_at, finished_at FROM stage_runs"
            " WHERE outcome = 'done' AND stage IN ('preprocess', 'preprocess_segment', 'join')"
            " ORDER BY started_at"
        ).fetchall()
        frames, duration = conn.execute(
            "SELECT frame_count, duration_seconds FROM source_videos"
        ).fetchone() or (0, 0.0)
    start = min(r[2] for r in runs if r[0] == "preprocess")
    end = max(r[3] for r in runs if r[0] in ("join", "preprocess"))
    wall = (end - start).total_seconds()
    per_worker: dict[str, int] = {}
    for r in runs:
        if r[0] == "preprocess_segment":
            per_worker[r[1]] = per_worker.get(r[1], 0) + 1
    stage_s = {
        stage: round(sum((r[3] - r[2]).total_seconds() for r in runs if r[0] == stage), 2)
        for stage in ("preprocess", "preprocess_segment", "join")
    }
    return {
        "bench": "ingest_segments",
        "side": name,
        "simulated": (
            f"{len(cores)} machine(s) of 1 core: one `heaters worker` per core "
            f"(taskset -c {','.join(map(str, cores))}), concurrency 1, process pool 1"
            if cores is not None
            else f"1 machine of {os.cpu_count()} cores: one `heaters worker`, default "
            "concurrency and process pool, unpinned (as `heaters ingest --wait`)"
        ),
        "segment_seconds": segment_seconds,
        "frames": frames,
        "duration_s": round(float(duration or 0), 2),
        "preprocess_wall_s": round(wall, 2),
        "observed_wall_s": round(observed, 2),
        "realtime_x": round(float(duration or 0) / wall, 2) if wall else None,
        "segments_per_worker": sorted(per_worker.values(), reverse=True),
        "job_seconds": stage_s,
        "cpu_s": round(cpu_s, 1),
        "load_before": load_before,
        "load_after": _load(),
    }


async def run_side(
    name: str, video: Path, segment_seconds: float, cores: tuple[int, ...] | None, limit_s: float
) -> dict[str, Any]:
    """One side in a fresh home (embedded Postgres, local storage)."""
    async with throwaway_home(f"bench-seg-{name}-") as (tmp, url):
        return await asyncio.to_thread(
            _run_side, name, tmp, url, video, segment_seconds, cores, limit_s
        )


async def main_async(args: argparse.Namespace) -> int:
    args.workdir.mkdir(parents=True, exist_ok=True)
    video = args.video or long_input(args.workdir)
    info = probe(video)
    print(json.dumps({"bench": "ingest_segments", "video": str(video),
                      "duration_s": round(info.duration_seconds, 2), "frames": info.frame_count,
                      "size": f"{info.width}x{info.height}", "cpus": os.cpu_count(),
                      "load": _load()}), flush=True)  # fmt: skip
    all_walls: dict[str, list[float]] = {}
    names = [name for name in SIDES if name not in args.skip]
    for run in range(args.runs):
        for name in names if run % 2 == 0 else names[::-1]:
            seconds, cores = SIDES[name]
            result = await run_side(
                name, video, args.segment_seconds if seconds is None else seconds, cores,
                args.timeout,
            )  # fmt: skip
            all_walls.setdefault(name, []).append(result["preprocess_wall_s"])
            print(json.dumps(result | {"run": run}), flush=True)
    walls = {name: round(statistics.median(v), 2) for name, v in all_walls.items()}
    summary: dict[str, Any] = {
        "bench": "ingest_segments", "runs": args.runs, "median_wall_s": walls,
        "all_wall_s": all_walls, "load_now": _load(),
    }  # fmt: skip
    if "segmented_1" in walls and "segmented_2" in walls:
        summary["speedup_2_workers_vs_1"] = round(walls["segmented_1"] / walls["segmented_2"], 3)
    if "one_pass" in walls and "segmented_2" in walls:
        summary["speedup_2_workers_vs_one_pass"] = round(
            walls["one_pass"] / walls["segmented_2"], 3
        )
    if "one_pass" in walls and "segmented_1" in walls:
        summary["segmented_1_vs_one_pass"] = round(walls["segmented_1"] / walls["one_pass"], 3)
    if "one_pass_default" in walls and "segmented_default" in walls:
        summary["default_worker_segmented_vs_one_pass"] = round(
            walls["segmented_default"] / walls["one_pass_default"], 3
        )
    print(json.dumps(summary), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--video", type=Path, default=None, help="default: the sample × 10")
    parser.add_argument("--segment-seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1, help="runs of every side, interleaved")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per side, seconds")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--skip", action="append", default=[], choices=list(SIDES))
    args = parser.parse_args(argv)
    if shutil.which("taskset") is None:
        raise SystemExit("taskset (util-linux) is needed to pin the workers to cores")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
