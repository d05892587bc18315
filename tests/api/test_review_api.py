"""Review through the JSON API, for real (uvicorn, a token, Postgres): the queue, every
action with its event and settle time, undo, reopen, and the 404/409/422 refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from tests.api.conftest import Api
from tests.review.test_review import _make_video

T = TypeVar("T")


@pytest.fixture
def api_env_extra() -> dict[str, str]:
    """A settle window no test outlives: every action stays undoable."""
    return {"HEATERS_REVIEW_SETTLE_SECONDS": "600"}


def _with_db(api: Api, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(db)`` on the API's database (test set-up and checks)."""
    from heaters.db import Database

    async def run() -> T:
        async with Database.connect(api.env["DATABASE_URL"], max_size=2) as db:
            return await work(db)

    return asyncio.run(run())


def _video(api: Api, cuts: list[int], **kw: Any) -> tuple[int, list[int]]:
    return _with_db(api, lambda db: _make_video(db, cuts, **kw))


def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _refused(r: httpx.Response, status: int, detail: str) -> None:
    assert r.status_code == status, r.text
    assert detail in r.json()["detail"], r.json()


def test_every_review_action_through_the_api(api: Api) -> None:
    vid, ids = _video(api, [40, 50, 100, 150, 200], transitions={1: "dissolve"},
                      confidence={2: 0.9, 3: 0.2})  # fmt: skip
    with api.client() as c:
        queue = _ok(c.get("/api/review/queue"))["items"]
        assert [q["id"] for q in queue] == [ids[0], *ids[2:]], "no transition clip"
        assert queue[1]["confidence"] == pytest.approx(0.9)
        both = _ok(c.get("/api/review/queue", params={"include_transitions": "true"}))["items"]
        assert both[1]["id"] == ids[1] and both[1]["transition_kind"] == "dissolve"
        low = _ok(c.get("/api/review/queue", params={"order": "confidence", "limit": 2}))
        assert [q["id"] for q in low["items"]] == [ids[3], ids[2]]
        assert _ok(c.get("/api/review/queue", params={"video_id": vid + 1}))["items"] == []

        # approve → its event and settle time; the clip shows the pending decision.
        a = _ok(c.post(f"/api/clips/{ids[0]}/approve"))
        assert a["action"] == "approve" and a["clip_ids"] == [ids[0]]
        assert a["message"] == f"clip {ids[0]} approved" and a["settles_at"]
        clip = _ok(c.get(f"/api/clips/{ids[0]}"))
        assert clip["state"] == "review_approved" and clip["reviewed_by"] == "tests"
        assert clip["pending"] == {"event_id": a["event_id"], "action": "approve",
                                   "reviewer": "tests", "settles_at": a["settles_at"]}  # fmt: skip
        assert clip["frame_count"] == 40 and clip["start_seconds"] == 0
        assert clip["is_transition"] is False and clip["next_clip_id"] == ids[1]
        _refused(c.post(f"/api/clips/{ids[0]}/approve"), 409, "already approved by tests")
        u = _ok(c.post(f"/api/review/undo/{a['event_id']}"))
        assert u["action"] == "undo" and u["live_clip_ids"] == [ids[0]]
        assert _ok(c.get(f"/api/clips/{ids[0]}"))["pending"] is None
        _refused(c.post(f"/api/review/undo/{a['event_id']}"), 409, "already undone")

        # skip, archive, reopen.
        s = _ok(c.post(f"/api/clips/{ids[4]}/skip"))
        assert s["message"] == f"clip {ids[4]} skipped"
        x = _ok(c.post(f"/api/clips/{ids[5]}/archive"))
        assert x["message"] == f"clip {ids[5]} archived"
        r = _ok(c.post(f"/api/clips/{ids[5]}/reopen"))
        assert r["event_id"] == x["event_id"]
        _refused(c.post(f"/api/clips/{ids[5]}/reopen"), 409, "nothing to reopen")

        # approve, then merge the next clip into it: one approved clip; undo, undo.
        a = _ok(c.post(f"/api/clips/{ids[2]}/approve"))
        m = _ok(c.post(f"/api/clips/{ids[3]}/merge"))
        (merged,) = m["live_clip_ids"]
        assert m["clip_ids"] == [ids[2], ids[3], merged]
        got = _ok(c.get(f"/api/clips/{merged}"))
        assert (got["start_frame"], got["end_frame"], got["state"]) == (50, 150, "review_approved")
        assert _ok(c.get(f"/api/clips/{ids[2]}"))["superseded_by"] == [merged]
        assert _ok(c.post("/api/review/undo"))["event_id"] == m["event_id"]
        assert _ok(c.post("/api/review/undo"))["event_id"] == a["event_id"]
        assert _ok(c.get(f"/api/clips/{ids[2]}"))["state"] == "pending_review"

        # group with the previous clip; undo.
        g = _ok(c.post(f"/api/clips/{ids[3]}/group"))
        assert sorted(g["clip_ids"]) == sorted([ids[2], ids[3]])
        assert _ok(c.get(f"/api/clips/{ids[3]}"))["grouped_with_clip_id"] == ids[2]
        _ok(c.post(f"/api/review/undo/{g['event_id']}"))

        # split at a frame; move a boundary by +2 frames; undo both.
        sp = _ok(c.post(f"/api/clips/{ids[3]}/split", json={"frame": 120}))
        _first, second = sp["live_clip_ids"]
        assert _ok(c.get(f"/api/clips/{second}"))["start_frame"] == 120
        mv = _ok(c.post(f"/api/clips/{second}/move_boundary", json={"edge": "start", "frame": 122}))
        assert "moved from frame 120 to 122 (+2 frames)" in mv["message"]
        left, right = mv["live_clip_ids"]
        assert (_ok(c.get(f"/api/clips/{left}"))["end_frame"],
                _ok(c.get(f"/api/clips/{right}"))["start_frame"]) == (122, 122)  # fmt: skip
        assert _ok(c.post("/api/review/undo"))["event_id"] == mv["event_id"]
        assert _ok(c.post("/api/review/undo"))["event_id"] == sp["event_id"]
        live = _ok(c.get(f"/api/clips/{ids[3]}"))
        assert (live["state"], live["superseded_by"]) == ("pending_review", [])


def test_review_refusals_through_the_api(api: Api) -> None:
    _, ids = _video(api, [60, 130])
    with api.client() as c:
        for action in ("approve", "merge", "reopen"):
            _refused(c.post(f"/api/clips/999999/{action}"), 404, "no clip 999999")
        _refused(c.post("/api/review/undo/999999"), 404, "no review event 999999")
        _refused(c.post("/api/review/undo"), 409, "nothing to undo")
        assert c.post(f"/api/clips/{ids[0]}/explode").status_code == 400
        _refused(c.post(f"/api/clips/{ids[0]}/split"), 422, "split needs the frame")
        _refused(c.post(f"/api/clips/{ids[0]}/split", json={"frame": 60}), 422,
                 "a split frame must be between 1 and 59")  # fmt: skip
        _refused(c.post(f"/api/clips/{ids[0]}/merge"), 422, "first of its video")
        _refused(c.post(f"/api/clips/{ids[0]}/group"), 422, "first of its video")
        _refused(c.post(f"/api/clips/{ids[1]}/move_boundary", json={"frame": 70}), 422,
                 "needs 'edge'")  # fmt: skip
        _refused(c.post(f"/api/clips/{ids[1]}/move_boundary", json={"edge": "end", "frame": 250}),
                 422, "so that neither clip is empty nor crosses its neighbour")  # fmt: skip
        assert c.post(f"/api/clips/{ids[1]}/move_boundary",
                      json={"edge": "middle", "frame": 70}).status_code == 400  # fmt: skip
        # Hard claims: another reviewer's clip can be read, not changed.
        from heaters import review

        _with_db(api, lambda db: review.claim(db, ids[2], "bob"))
        assert _ok(c.get(f"/api/clips/{ids[2]}"))["claimed_by"] == "bob"
        _refused(c.post(f"/api/clips/{ids[2]}/approve"), 409, f"clip {ids[2]} is held by bob")
        _refused(c.post(f"/api/clips/{ids[1]}/move_boundary", json={"edge": "end", "frame": 128}),
                 409, f"next clip {ids[2]} is held by bob")  # fmt: skip
        assert [q["id"] for q in _ok(c.get("/api/review/queue"))["items"]] == ids[:2]
        # A decided clip takes another decision only when asked to change it (issue 21).
        _ok(c.post(f"/api/clips/{ids[0]}/approve"))
        _refused(c.post(f"/api/clips/{ids[0]}/skip"), 409, f"clip {ids[0]} is already approved")
        _refused(c.post(f"/api/clips/{ids[0]}/approve", json={"change": True}), 409,
                 "already approved")  # fmt: skip
        changed = _ok(c.post(f"/api/clips/{ids[0]}/skip", json={"change": True}))
        assert changed["message"] == f"clip {ids[0]} skipped (was approved)"


def test_retry_failed_clips_through_the_api(api: Api) -> None:
    _, ids = _video(api, [60])

    async def fail(db: Any) -> None:
        async with db.acquire() as conn:
            await conn.execute(
                "UPDATE clips SET state = 'export_failed', last_error = 'disk full',"
                " attempts = 3, next_attempt_at = NULL WHERE id = $1",
                ids[1],
            )

    _with_db(api, fail)
    with api.client() as c:
        assert _ok(c.post("/api/clips/retry-failed")) == {"retried": [ids[1]]}
        assert _ok(c.post("/api/clips/retry-failed"))["retried"] == [ids[1]], "still failed"
    with api.client(None) as anonymous:
        assert anonymous.post("/api/clips/retry-failed").status_code == 401
