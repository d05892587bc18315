"""Benchmark: a dataset export of 1,000 clips (``heaters export dataset``'s exporter).

A throw-away embedded Postgres (pgserver, in a temp folder) gets the schema and one video
with ``--clips`` synthetic clip rows in state ``embedded``: every row points at the same real
files in the project's storage (a real H.264 MP4 cut from the sample by ffmpeg, and its six
real JPEG keyframes) and has its own unit-norm 1280-float embedding. Then each format is
exported once to a temp folder (version 1, default shard sizes), timed with
``time.perf_counter`` around :func:`heaters.deliver.datasets.export_dataset` (planning,
reading the files, packing, sha256, rename, recording in Postgres, the manifest).

Prints one JSON line per format: ``{"bench": "deliver", "format", "clips", "files",
"bytes", "seconds", "clips_per_second", "mb_per_second"}``.

Usage::

    python bench/deliver.py [--clips 1000] [--formats webdataset,parquet] [--seconds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "big_buck_bunny_action_59s.mp4"
TAGS = [("percentage", "p25"), ("percentage", "p50"), ("percentage", "p75"),
        ("tag", "first"), ("tag", "mid"), ("tag", "last")]  # fmt: skip


def _media(storage: Path, seconds: float) -> int:
    """A real clip (H.264, 640 px wide, no audio) and six JPEG keyframes; returns its frames."""
    import av
    import imageio_ffmpeg

    clip = storage / "clips/bench/clip.mp4"
    clip.parent.mkdir(parents=True, exist_ok=True)
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([ff, "-nostdin", "-loglevel", "error", "-y", "-ss", "12", "-i", str(SAMPLE),
                    "-t", str(seconds), "-vf", "scale=640:-2", "-an", "-c:v", "libx264",
                    "-preset", "veryfast", str(clip)], check=True)  # fmt: skip
    kf = storage / "clips/bench/keyframes"
    kf.mkdir(parents=True, exist_ok=True)
    for i, (strategy, tag) in enumerate(TAGS):
        subprocess.run([ff, "-nostdin", "-loglevel", "error", "-y", "-ss", str(i * seconds / 7),
                        "-i", str(clip), "-frames:v", "1", str(kf / f"{strategy}_{tag}.jpg")],
                       check=True)  # fmt: skip
    with av.open(str(clip)) as c:
        return sum(1 for _ in c.decode(video=0))


async def _seed(url: str, n: int, frames: int) -> None:
    import asyncpg
    from pgvector.asyncpg import register_vector

    conn = await asyncpg.connect(url)
    try:
        await register_vector(conn)
        vid = await conn.fetchval(
            "INSERT INTO source_videos (source_path, title, state, fps_num, fps_den, width, "
            "height, frame_count) VALUES ($1, 'bench', 'detected', 24, 1, 640, 360, $2) "
            "RETURNING id",
            str(SAMPLE), n * frames,
        )  # fmt: skip
        rows = [
            (vid, f"{vid}_{k * frames}_{(k + 1) * frames}", k * frames, (k + 1) * frames,
             k * frames / 24, (k + 1) * frames / 24)
            for k in range(n)
        ]  # fmt: skip
        await conn.executemany(
            "INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame, "
            "start_seconds, end_seconds, is_virtual, clip_path, state, reviewed_by, reviewed_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, false, 'clips/bench/clip.mp4', 'embedded', 'bench', "
            "now())",
            rows,
        )
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM clips ORDER BY id")]
        await conn.executemany(
            "INSERT INTO clip_artifacts (clip_id, kind, strategy, tag, storage_key) "
            "VALUES ($1, 'keyframe', $2, $3, $4)",
            [(c, s, t, f"clips/bench/keyframes/{s}_{t}.jpg") for c in ids for s, t in TAGS],
        )
        rng = np.random.default_rng(0)
        vecs = rng.standard_normal((len(ids), 1280)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        await conn.executemany(
            "INSERT INTO clip_embeddings (clip_id, model_name, strategy, embedding) "
            "VALUES ($1, 'efficientnet-lite0', 'percentage-mean', $2)",
            list(zip(ids, vecs, strict=True)),
        )
    finally:
        await conn.close()


async def _run(args: argparse.Namespace) -> None:
    from _home import throwaway_home

    from heaters.db import Database
    from heaters.deliver.datasets import export_dataset
    from heaters.storage import LocalStorage

    async with throwaway_home("heaters-bench-deliver-") as (tmp, url):
        storage = tmp / "home" / "storage"
        frames = await asyncio.to_thread(_media, storage, args.seconds)
        await _seed(url, args.clips, frames)
        source = LocalStorage(storage)
        async with Database.connect(url) as db:
            for fmt in args.formats.split(","):
                out = tmp / f"out-{fmt}"
                t0 = time.perf_counter()
                r = await export_dataset(db, source, f"bench-{fmt}", format=fmt, target=str(out))
                dt = time.perf_counter() - t0
                size = sum(int(f["bytes"]) for f in r.files)
                print(json.dumps({
                    "bench": "deliver", "format": fmt, "clips": r.clips, "files": len(r.files),
                    "bytes": size, "seconds": round(dt, 3),
                    "clips_per_second": round(r.clips / dt, 1),
                    "mb_per_second": round(size / dt / 1e6, 1),
                }), flush=True)  # fmt: skip
                assert r.clips == args.clips


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark; one JSON line per format on stdout."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--formats", default="webdataset,parquet")
    ap.add_argument("--seconds", type=float, default=2.0, help="length of the real clip file")
    asyncio.run(_run(ap.parse_args(argv)))


if __name__ == "__main__":
    main()
