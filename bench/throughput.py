"""Benchmark: pipeline throughput (videos/hour) with 1, 2 and 4 worker processes on the same
set of videos, and the queue's defer→start latency (p50/p95), on a real embedded Postgres.

Each configuration gets a fresh database; the same short real videos (cut from the sample)
are ingested, N ``heaters worker`` processes are started, and the time until every video is
``detected`` is measured. Latency comes from procrastinate's own event log (``deferred`` →
``started`` of every stage job that was not scheduled for later). One JSON line per result.

Usage::

    python bench/throughput.py [--videos N] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import psycopg

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "big_buck_bunny_action_59s.mp4"


def _make_videos(n: int, out_dir: Path) -> list[Path]:
    paths = []
    for i in range(n):
        out = out_dir / f"v{i:02d}.mp4"
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y",
             "-ss", str(1 + 3 * i), "-i", str(SAMPLE), "-t", "3", "-vf", "scale=320:180",
             "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(out)],
            check=True,
        )  # fmt: skip
        paths.append(out)
    return paths


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _idle_latency(url: str, n: int = 40) -> list[float]:
    """Defer→start of jobs deferred one at a time while the workers are idle (LISTEN/NOTIFY
    pickup, the queue's own latency), in ms."""
    import asyncio

    from heaters.config import get_settings
    from workers.app import app

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()

    async def go() -> list[float]:
        out = []
        async with app.open_async():
            for _ in range(n):
                job_id = await app.configure_task("heaters.dispatch", queue="default").defer_async()
                while True:
                    status = await app.job_manager.get_job_status_async(job_id)
                    if status.value in ("succeeded", "failed"):
                        break
                    await asyncio.sleep(0.01)
        with psycopg.connect(url) as conn:
            for job_id_row in conn.execute(
                "SELECT extract(epoch FROM max(at) FILTER (WHERE type = 'started')"
                " - min(at) FILTER (WHERE type = 'deferred')) * 1000"
                " FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id"
                " WHERE j.task_name = 'heaters.dispatch' AND j.queueing_lock IS NULL"
                " GROUP BY j.id"
            ).fetchall():
                out.append(float(job_id_row[0]))
        return out

    return asyncio.run(go())


def run_config(uri: str, n_workers: int, videos: list[Path], home: Path) -> dict[str, object]:
    name = f"bench_w{n_workers}"
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = uri.replace("/postgres?", f"/{name}?", 1)
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "DATABASE_URL": url, "HEATERS_HOME": str(home),
           "HEATERS_JOB_POLL_SECONDS": "1", "HEATERS_PROCESS_POOL_SIZE": "1",
           "HEATERS_WORKER_CONCURRENCY": "2"}  # fmt: skip
    heaters = [sys.executable, "-m", "heaters"]
    subprocess.run([*heaters, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*heaters, "ingest", *map(str, videos)], env=env, check=True, capture_output=True
    )
    t0 = time.perf_counter()
    workers = [
        subprocess.Popen(
            [*heaters, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(n_workers)
    ]
    try:
        while True:
            with psycopg.connect(url) as conn:
                left = conn.execute(
                    "SELECT count(*) FROM source_videos WHERE state <> 'detected'"
                ).fetchone()
            if left is not None and left[0] == 0:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        idle_latency = _idle_latency(url)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(60)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT extract(epoch FROM s.at - d.at) * 1000
            FROM procrastinate_jobs j
            JOIN LATERAL (SELECT min(at) AS at FROM procrastinate_events
                          WHERE job_id = j.id AND type = 'deferred') d ON true
            JOIN LATERAL (SELECT min(at) AS at FROM procrastinate_events
                          WHERE job_id = j.id AND type = 'started') s ON true
            WHERE j.scheduled_at IS NULL AND s.at IS NOT NULL
              AND j.task_name IN ('heaters.download', 'heaters.preprocess', 'heaters.detect',
                                  'heaters.sprite', 'heaters.dispatch')
            """
        ).fetchall()
    lat = [float(r[0]) for r in rows]
    return {
        "idle_defer_to_start_ms_p50": round(_percentile(idle_latency, 0.5), 1),
        "idle_defer_to_start_ms_p95": round(_percentile(idle_latency, 0.95), 1),
        "bench": "throughput",
        "workers": n_workers,
        "videos": len(videos),
        "seconds": round(elapsed, 2),
        "videos_per_hour": round(len(videos) / elapsed * 3600),
        "busy_defer_to_start_ms_p50": round(_percentile(lat, 0.5), 1),
        "busy_defer_to_start_ms_p95": round(_percentile(lat, 0.95), 1),
        "jobs_measured": len(lat),
        "latency_target_p50_ms": 50,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--workers", default="1,2,4")
    args = ap.parse_args()
    import pgserver

    with tempfile.TemporaryDirectory(prefix="heaters-bench-tp-") as tmp_s:
        tmp = Path(tmp_s)
        os.chmod(tmp, 0o755)
        (tmp / "pg").mkdir()
        server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
        videos = _make_videos(args.videos, tmp)
        results = [
            run_config(server.get_uri(), int(n), videos, tmp / f"home{n}")
            for n in args.workers.split(",")
        ]
        for r in results:
            print(json.dumps(r))
        base = results[0]["seconds"]
        for r in results[1:]:
            print(json.dumps({"bench": "throughput", "speedup": f"{r['workers']}_vs_{results[0]['workers']}",
                              "value": round(float(base) / float(r["seconds"]), 2)}))  # type: ignore[arg-type]  # fmt: skip
        server.cleanup()


if __name__ == "__main__":
    main()
