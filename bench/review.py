"""Benchmark: latency of the review actions and of next-clip, and page render time.

A throw-away embedded Postgres (pgserver, in a temp folder) gets the schema
(``heaters.db.migrate.upgrade``) and ``--videos`` × ``--clips-per-video`` clips (default
100 × 1,000 = 100,000), bulk-inserted with ``generate_series``, with a frame index per video.
Then ``--reviewers`` (default 8) asyncio reviewers work at once through the review service
(``heaters.review``), each in a loop: claim the next clip, then one action in turn —
approve, skip, archive, group, merge (with the next clip), split (in the middle), a boundary
move (+2 frames), undo (of an approve) — against the real database (every decision applies
at once and settles later, so there is no commit step to time). Finally the review UI renders
``/videos/{id}`` (1,000 clips), ``/review`` and ``/history`` through the ASGI app (httpx,
signed in, no network).

Prints one JSON line per result: ``{"bench": "review", "op", "n", "p50_ms", "p95_ms",
"max_ms", "target_p95_ms", "ok", …}``; ``ok`` is p95 < target (50 ms for the service calls,
100 ms for the pages). Outcomes other than success (409/422: a clip another reviewer took
first) are counted in ``refused``; their latency is included.

Usage::

    python bench/review.py [--videos 100] [--clips-per-video 1000] [--reviewers 8]
                           [--rounds 60] [--renders 30]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

FRAMES_PER_CLIP = 24
ACTIONS = ("approve", "skip", "archive", "group", "merge", "split", "move_boundary", "undo")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def _report(op: str, samples: list[float], target_ms: float, **extra: Any) -> None:
    ms = [s * 1000 for s in samples]
    line = {
        "bench": "review",
        "op": op,
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2) if ms else None,
        "p95_ms": round(_pct(ms, 0.95), 2) if ms else None,
        "max_ms": round(max(ms), 2) if ms else None,
        "target_p95_ms": target_ms,
        "ok": bool(ms) and _pct(ms, 0.95) < target_ms,
        **extra,
    }
    print(json.dumps(line), flush=True)


SEED_VIDEOS = """
INSERT INTO source_videos (source_path, title, proxy_path, fps_num, fps_den, frame_count,
                           duration_seconds, width, height, state)
SELECT '/bench/video_' || g || '.mp4', 'bench video ' || g, 'videos/' || g || '/proxy.mp4',
       24, 1, $1::int, $1::int / 24.0, 1280, 720, 'detected'
FROM generate_series(1, $2::int) g
"""
SEED_FRAMES = """
INSERT INTO frame_indexes (source_video_id, pts_seconds, byte_offsets)
SELECT v.id,
       ARRAY(SELECT f / 24.0 FROM generate_series(0, v.frame_count - 1) f),
       ARRAY(SELECT f * 40000::bigint FROM generate_series(0, v.frame_count - 1) f)
FROM source_videos v
"""
SEED_CLIPS = """
INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame,
                   start_seconds, end_seconds)
SELECT v.id, v.id || '_' || k * $2::int || '_' || (k + 1) * $2::int,
       k * $2::int, (k + 1) * $2::int, k * $2::int / 24.0, (k + 1) * $2::int / 24.0
FROM source_videos v, generate_series(0, $1::int - 1) k
"""


async def _seed(url: str, videos: int, clips_per_video: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(SEED_VIDEOS, clips_per_video * FRAMES_PER_CLIP, videos)
        await conn.execute(SEED_FRAMES)
        await conn.execute(SEED_CLIPS, clips_per_video, FRAMES_PER_CLIP)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


class _Jobs:
    """Scheduler / canceller stubs: job ids without procrastinate."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def schedule(self, event_id: int, delay: float) -> int:
        return next(self._ids)

    async def cancel(self, job_id: int) -> bool:
        return True


async def _reviewer(
    name: str,
    db: Any,
    rounds: int,
    warmup: int,
    jobs: _Jobs,
    samples: dict[str, list[float]],
    refused: dict[str, int],
) -> None:
    from heaters.review import ReviewError, decide, merge, move_boundary, next_clip, split, undo

    for i in range(warmup + rounds):
        measured = i >= warmup
        t0 = time.perf_counter()
        clip = await next_clip(db, name)
        if measured:
            samples["next_clip"].append(time.perf_counter() - t0)
        if clip is None:
            return
        action = ACTIONS[i % len(ACTIONS)]
        if action == "undo":
            try:
                await decide(db, clip.id, "approve", name)
            except ReviewError:  # a clip with an edit another reviewer scheduled
                refused["undo"] += 1
                continue
        t0 = time.perf_counter()
        try:
            if action in ("approve", "skip", "archive", "group"):
                await decide(db, clip.id, action, name)  # type: ignore[arg-type]
            elif action == "merge":
                target = clip.next_clip_id or clip.id
                await merge(db, target, name, settle_seconds=60)
            elif action == "split":
                frame = clip.start_frame + clip.frame_count // 2
                await split(db, clip.id, frame, name, settle_seconds=60)
            elif action == "move_boundary":
                frame = clip.start_frame + min(2, clip.frame_count - 1)
                await move_boundary(db, clip.id, "start", frame, name, settle_seconds=60)
            else:
                await undo(db, name, cancel=jobs.cancel)
        except ReviewError:
            if measured:
                refused[action] += 1
        if measured:
            samples[action].append(time.perf_counter() - t0)


async def _render(url: str, home: Path, renders: int, db: Any) -> None:
    import httpx

    from heaters.config import get_settings
    from heaters.review.users import add_user
    from heaters.storage import storage_from_url
    from web.app import create_app
    from web.state import WebState

    jobs = _Jobs()

    async def _no_dispatch() -> None:
        return None

    settings = get_settings()
    app = create_app(lifespan_enabled=False)
    app.state.web = WebState(
        settings=settings,
        db=db,
        storage=storage_from_url(f"file://{home / 'storage'}"),
        schedule=jobs.schedule,
        cancel=jobs.cancel,
        dispatch=_no_dispatch,
    )
    await add_user(db, "bench", "bench-password")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await client.get("/login")
        token = client.cookies.get("heaters_csrf")
        r = await client.post(
            "/login",
            data={"name": "bench", "password": "bench-password", "_csrf_token": token or ""},
        )
        assert r.status_code == 303, r.text
        for path, op in (("/videos/1", "page_video_1000_clips"), ("/review", "page_review"),
                         ("/history", "page_history")):  # fmt: skip
            samples: list[float] = []
            size = 0
            for i in range(renders + 3):
                t0 = time.perf_counter()
                r = await client.get(path)
                dt = time.perf_counter() - t0
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
                size = len(r.content)
                if i >= 3:
                    samples.append(dt)
            _report(op, samples, 100.0, bytes=size, path=path)


async def _main(args: argparse.Namespace) -> None:
    from _home import throwaway_home

    from heaters.db import Database

    async with throwaway_home("heaters-bench-review-") as (tmp, url):
        home = tmp / "home"
        t0 = time.perf_counter()
        await _seed(url, args.videos, args.clips_per_video)
        total = args.videos * args.clips_per_video
        print(json.dumps({"bench": "review", "setup": "seeded", "clips": total,
                          "videos": args.videos, "seconds": round(time.perf_counter() - t0, 1)}),
              flush=True)  # fmt: skip
        async with Database.connect(
            url, min_size=args.reviewers, max_size=args.reviewers + 2
        ) as db:
            jobs = _Jobs()
            samples: dict[str, list[float]] = defaultdict(list)
            refused: dict[str, int] = defaultdict(int)
            t0 = time.perf_counter()
            await asyncio.gather(*(
                _reviewer(f"reviewer{r}", db, args.rounds, 5, jobs, samples, refused)
                for r in range(args.reviewers)
            ))  # fmt: skip
            wall = time.perf_counter() - t0
            for op in ("next_clip", *ACTIONS):
                _report(op, samples[op], 50.0, clips=total, reviewers=args.reviewers,
                        refused=refused.get(op, 0))  # fmt: skip
            print(json.dumps({"bench": "review", "op": "all_reviewers", "seconds": round(wall, 2),
                              "calls": sum(len(v) for v in samples.values())}), flush=True)  # fmt: skip

            await _render(url, home, args.renders, db)

def main(argv: list[str] | None = None) -> None:
    """Run the benchmark; one JSON line per result on stdout."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=100)
    p.add_argument("--clips-per-video", type=int, default=1000)
    p.add_argument("--reviewers", type=int, default=8)
    p.add_argument("--rounds", type=int, default=60, help="measured rounds per reviewer")
    p.add_argument("--renders", type=int, default=30, help="renders per page")
    asyncio.run(_main(p.parse_args(argv)))


if __name__ == "__main__":
    main()
