"""Failures: transient ones are retried with exponential backoff up to a limit, permanent ones
wait for an operator; ``heaters retry`` makes a failed video due again."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from heaters.db import fetch_all
from heaters.pipeline import preprocess_stages, video_stages
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit
from tests.conftest import json_lines, run_heaters, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _video(db: Any, vid: int) -> Any:
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM source_videos WHERE id = $1", vid)


async def _due(db: Any) -> list[int]:
    async with db.acquire() as conn:
        rows = await fetch_all(
            db.q.find_videos(conn, states=["new", "download_failed"], stage="download", limit=10)
        )
    return [r["id"] for r in rows]


async def test_transient_failure_is_retried_with_backoff_until_the_limit(
    db: Any, heaters_env: dict[str, str], monkeypatch: Any
) -> None:
    from heaters.config import get_settings

    # A backoff long enough that the check right after a failure runs before it is due; the
    # test then moves next_attempt_at back by SQL rather than waiting for it.
    monkeypatch.setenv("HEATERS_RETRY_BACKOFF_SECONDS", "60")
    get_settings.cache_clear()
    url = f"http://127.0.0.1:{_free_port()}/video.mp4"  # nothing listens there
    vid = (await submit(db, url)).video_id
    async with open_runtime() as rt:
        backoff = rt.settings.retry_backoff_seconds
        delays = []
        for attempt in range(1, rt.settings.max_attempts + 1):
            assert await video_stages.download_video(rt, vid) == "failed"
            v = await _video(db, vid)
            assert v["state"] == "download_failed" and v["attempts"] == attempt
            assert "connection refused" in v["last_error"]
            if attempt < rt.settings.max_attempts:
                delay = (v["next_attempt_at"] - v["updated_at"]).total_seconds()
                delays.append(round(delay / backoff))
                assert vid not in await _due(db), "not due before its backoff"
                async with db.acquire() as conn:  # the backoff passes
                    await conn.execute(
                        "UPDATE source_videos SET next_attempt_at = next_attempt_at"
                        " - make_interval(secs => $2) WHERE id = $1",
                        vid,
                        delay,
                    )

                async def due() -> bool:
                    return vid in await _due(db)

                await wait_until(due, f"video {vid} due again after attempt {attempt}")
        assert delays == [1, 2], "exponential: base × 2^(attempt − 1)"
        v = await _video(db, vid)
        assert v["next_attempt_at"] is None, "out of attempts: waits for an operator"
        assert vid not in await _due(db), "never due again by itself (next_attempt_at NULL)"


async def test_permanent_failure_waits_for_an_operator_then_retry_works(
    db: Any, heaters_env: dict[str, str], http_server: str, small_video: Path
) -> None:
    vid = (await submit(db, f"{http_server}/missing.mp4")).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "failed"
    v = await _video(db, vid)
    assert v["last_error"].startswith("HTTP 404 Not Found") and v["next_attempt_at"] is None
    assert vid not in await _due(db)

    proc = await asyncio.to_thread(run_heaters, heaters_env, "retry", str(vid), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json_lines(proc.stdout) == [{"id": vid, "retried": True, "state": "download_failed"}]
    assert vid in await _due(db)
    v = await _video(db, vid)
    assert v["attempts"] == 0

    again = await asyncio.to_thread(run_heaters, heaters_env, "retry", "999999")
    assert again.returncode == 1 and "not in a failed state" in again.stderr


async def test_each_stage_has_its_own_attempt_budget(
    db: Any, heaters_env: dict[str, str], small_video: Path
) -> None:
    """Attempts count per stage: a clean download and preprocess leave detect its whole
    budget, so a transient failure in detect is retried ``max_attempts`` times."""
    from heaters.domain import states
    from heaters.errors import HeatersError
    from heaters.pipeline.runner import Row, run_stage

    async def flaky_detect(row: Row) -> None:
        raise HeatersError("storage unavailable (test)", transient=True)

    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "done"
        v = await _video(db, vid)
        assert (v["attempts"], v["next_attempt_at"], v["last_error"]) == (0, None, None), (
            "a success resets the budget"
        )
        assert await preprocess_stages.preprocess_video(rt, vid) == "done"
        assert (await _video(db, vid))["attempts"] == 0, "preprocess had its own budget"
        for attempt in range(1, rt.settings.max_attempts + 1):
            assert await run_stage(rt, "video", vid, states.DETECT, flaky_detect) == "failed"
            v = await _video(db, vid)
            assert (v["state"], v["attempts"]) == ("detect_failed", attempt)
            assert (v["next_attempt_at"] is not None) == (attempt < rt.settings.max_attempts)
        assert await video_stages.detect_video(rt, vid) == "done"
