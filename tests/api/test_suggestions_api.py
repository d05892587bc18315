"""Boundary suggestions through the JSON API, for real (uvicorn, a token, Postgres): a clip
shows the suggestions strictly inside it, the video all of them, the review queue each
clip's; accepting one is the split at its frame, and its undo shows it again."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api
from tests.review.test_review import FPS, _make_video


@pytest.fixture
def api_env_extra() -> dict[str, str]:
    """A settle window no test outlives: the split stays undoable."""
    return {"HEATERS_REVIEW_SETTLE_SECONDS": "600"}


def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _video_with_suggestions(api: Api) -> tuple[int, list[int]]:
    """Clips [0, 50), [50, 100), [100, 240); suggestions at 20 and 30 (inside the first), 50
    (on a cut: the detect stage never stores one there, inserted here to show it is in no
    clip) and 120 (inside the last)."""
    from heaters.db import Database

    async def run() -> tuple[int, list[int]]:
        async with Database.connect(api.env["DATABASE_URL"], max_size=2) as db:
            vid, ids = await _make_video(db, [50, 100])
            async with db.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO boundary_suggestions (source_video_id, frame, seconds,"
                    " confidence, reason, detector) VALUES ($1, $2, $3, $4, $5, 'test/1')",
                    [
                        (vid, 20, 20 / FPS, 0.31, "flash"),
                        (vid, 30, 30 / FPS, 0.12, "brightness_only"),
                        (vid, 50, 50 / FPS, 0.4, "weak"),
                        (vid, 120, 120 / FPS, 0.2, "too_close"),
                    ],
                )
            return vid, ids

    return asyncio.run(run())


def _sg(frame: int, confidence: float, reason: str) -> dict[str, Any]:
    return {
        "frame": frame,
        "seconds": pytest.approx(frame / FPS),
        "confidence": pytest.approx(confidence, abs=1e-4),
        "reason": reason,
    }


def test_clip_video_and_queue_show_the_suggestions(api: Api) -> None:
    vid, (first, second, third) = _video_with_suggestions(api)
    with api.client() as c:
        assert _ok(c.get(f"/api/clips/{first}"))["suggestions"] == [
            _sg(20, 0.31, "flash"),
            _sg(30, 0.12, "brightness_only"),
        ]
        assert _ok(c.get(f"/api/clips/{second}"))["suggestions"] == [], "50 is its first frame"
        assert _ok(c.get(f"/api/clips/{third}"))["suggestions"] == [_sg(120, 0.2, "too_close")]
        video = _ok(c.get(f"/api/videos/{vid}"))
        assert video["suggestions"] == [
            _sg(20, 0.31, "flash"),
            _sg(30, 0.12, "brightness_only"),
            _sg(50, 0.4, "weak"),
            _sg(120, 0.2, "too_close"),
        ]
        listed = _ok(c.get("/api/videos"))["items"]
        assert [len(v["suggestions"]) for v in listed if v["id"] == vid] == [4]
        queue = {q["id"]: q for q in _ok(c.get("/api/review/queue"))["items"]}
        assert [s["frame"] for s in queue[first]["suggestions"]] == [20, 30]
        assert queue[second]["suggestions"] == []

        # Accept the one at 30: the split at its frame. Neither part shows it (it is a cut
        # now); the first part still shows the one at 20. Undo: the clip shows both again.
        split = _ok(c.post(f"/api/clips/{first}/split", json={"frame": 30}))
        left, right = split["live_clip_ids"]
        assert [s["frame"] for s in _ok(c.get(f"/api/clips/{left}"))["suggestions"]] == [20]
        assert _ok(c.get(f"/api/clips/{right}"))["suggestions"] == []
        assert len(_ok(c.get(f"/api/videos/{vid}"))["suggestions"]) == 4, "rows are kept"
        _ok(c.post(f"/api/review/undo/{split['event_id']}"))
        assert [s["frame"] for s in _ok(c.get(f"/api/clips/{first}"))["suggestions"]] == [20, 30]
        schema = _ok(c.get("/schema/openapi.json"))
        assert "SuggestionOut" in schema["components"]["schemas"]
