"""Tags, notes and batch actions through the JSON API (issue 21), and a video's archive as one
undoable review event (issue 24), for real (uvicorn, a token, Postgres)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.test_review_api import _ok, _refused, _video


@pytest.fixture
def api_env_extra() -> dict[str, str]:
    """A settle window no test outlives: every action stays undoable."""
    return {"HEATERS_REVIEW_SETTLE_SECONDS": "600"}


def test_tags_notes_batch_and_archive_through_the_api(api: Api) -> None:
    vid, ids = _video(api, [20 * i for i in range(1, 11)])  # 11 clips
    with api.client() as c:
        made = c.post("/api/tags", json={"name": "night", "key": 1})
        assert made.status_code == 201 and made.json() == {"name": "night", "key": 1, "clips": 0}
        assert c.post("/api/tags", json={"name": "day"}).status_code == 201
        _refused(c.post("/api/tags", json={"name": "night"}), 409, "exists already")
        _refused(c.post("/api/tags", json={"name": "dusk", "key": 1}), 409, "key 1 is tag night")
        assert c.post("/api/tags", json={"name": "Bad Name"}).status_code == 400
        assert c.post("/api/tags", json={"name": "dusk", "key": 10}).status_code == 400

        # A tag and a note on one clip, each an event undone like a decision.
        on = _ok(c.post(f"/api/clips/{ids[0]}/tags", json={"tag": "night"}))
        assert on["action"] == "tag" and on["settles_at"] and on["clip_ids"] == [ids[0]]
        note = _ok(c.put(f"/api/clips/{ids[0]}/note", json={"note": "rain on the lens"}))
        clip = _ok(c.get(f"/api/clips/{ids[0]}"))
        assert (clip["tags"], clip["note"], clip["state"]) == (
            ["night"], "rain on the lens", "pending_review"
        )  # fmt: skip
        _ok(c.post(f"/api/review/undo/{note['event_id']}"))
        assert _ok(c.get(f"/api/clips/{ids[0]}"))["note"] is None
        _refused(c.post(f"/api/clips/{ids[0]}/tags", json={"tag": "night", "on": True}), 409,
                 "already")  # fmt: skip
        _refused(c.post(f"/api/clips/{ids[0]}/tags", json={"tag": "nope"}), 404, "no tag nope")
        _refused(c.put("/api/clips/999999/note", json={"note": "x"}), 404, "no clip")
        assert c.put(f"/api/clips/{ids[0]}/note", json={"note": "x" * 2001}).status_code == 400
        listed = _ok(c.get("/api/tags"))["items"]
        assert [(t["name"], t["key"], t["clips"]) for t in listed] == [("night", 1, 1),
                                                                       ("day", None, 0)]  # fmt: skip

        # A batch approve of 10 clips is one event; one undo restores all ten.
        batch = _ok(c.post("/api/review/batch", json={"clip_ids": ids[:10], "action": "approve"}))
        assert batch["clip_ids"] == ids[:10] and batch["message"].endswith("approved")
        states = {x["id"]: x["state"] for x in _ok(c.get(f"/api/videos/{vid}"))["clips"]}
        assert [states[i] for i in ids] == ["review_approved"] * 10 + ["pending_review"]
        undone = _ok(c.post("/api/review/undo"))
        assert undone["event_id"] == batch["event_id"] and undone["clip_ids"] == ids[:10]
        states = {x["id"]: x["state"] for x in _ok(c.get(f"/api/videos/{vid}"))["clips"]}
        assert set(states.values()) == {"pending_review"}
        tagged = _ok(c.post("/api/review/batch",
                            json={"clip_ids": ids[:3], "action": "tag", "tag": "day"}))  # fmt: skip
        assert tagged["message"].startswith("tag day put on")
        _refused(c.post("/api/review/batch", json={"clip_ids": ids[:3], "action": "tag"}), 409,
                 "tag needs")  # fmt: skip
        _refused(c.post("/api/review/batch", json={"clip_ids": [999999], "action": "skip"}), 404,
                 "no clip 999999")  # fmt: skip
        assert (
            c.post("/api/review/batch", json={"clip_ids": [], "action": "skip"}).status_code == 400
        )

        # Archiving the video is one review event, undoable.
        gone = _ok(c.delete(f"/api/videos/{vid}"))
        assert gone["archived_clips"] == len(ids) and gone["event_id"] and gone["settles_at"]
        _ok(c.post(f"/api/review/undo/{gone['event_id']}"))
        states = {x["id"]: x["state"] for x in _ok(c.get(f"/api/videos/{vid}"))["clips"]}
        assert set(states.values()) == {"pending_review"}

        # Removing a tag takes it off every clip.
        assert _ok(c.delete("/api/tags/day"))["name"] == "day"
        _refused(c.delete("/api/tags/day"), 404, "no tag day")
        assert _ok(c.get(f"/api/clips/{ids[0]}"))["tags"] == ["night"]
