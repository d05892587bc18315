"""Boundary suggestions on the review page (issue 19 item 3), in a real browser: the current
clip's suggestions are marks on the timeline, C accepts the one nearest the playhead by the
page's split, a click on a mark accepts that one, and undo gives the single clip back. Real
server, worker, Postgres and Chromium; every wait is on a condition."""

from __future__ import annotations

from typing import Any

from tests.web.helpers import (
    Stack,
    clips_of,
    login,
    panel_clip,
    wait_flash,
    wait_video_ready,
)

_MARKS = "#timeline .tl-suggestion"


def _live(stack: Stack, video_id: int, start: int, end: int) -> list[tuple[int, int, str]]:
    rows = stack.sql(
        "SELECT start_frame, end_frame, state FROM clips WHERE source_video_id = %s "
        "AND superseded_by IS NULL AND start_frame >= %s AND end_frame <= %s "
        "ORDER BY start_frame",
        (video_id, start, end),
    )
    return [(r[0], r[1], r[2]) for r in rows]


def _suggest(stack: Stack, video_id: int, frame: int, confidence: float, reason: str) -> None:
    """A suggestion row as the detect stage writes it (seconds: the frame's PTS)."""
    stack.sql(
        "INSERT INTO boundary_suggestions (source_video_id, frame, seconds, confidence, reason,"
        " detector) SELECT %s, %s, pts_seconds[%s + 1], %s, %s, 'test/1' FROM frame_indexes"
        " WHERE source_video_id = %s",
        (video_id, frame, frame, confidence, reason, video_id),
    )


def _marks(page: Any) -> list[dict[str, Any]]:
    marks: list[dict[str, Any]] = page.eval_on_selector_all(
        _MARKS,
        "ms => ms.map(m => ({frame: +m.dataset.frame, title: m.title, left: m.style.left}))",
    )
    return marks


def test_suggestion_mark_key_click_and_undo(browser: Any, fresh: Stack) -> None:
    video_id = fresh.videos[0]["id"]
    clip = clips_of(fresh)[0]
    start, end = clip["start_frame"], clip["end_frame"]
    assert end - start > 12
    near, far = start + 4, start + 10
    fresh.sql("DELETE FROM boundary_suggestions")
    _suggest(fresh, video_id, near, 0.31, "flash")
    _suggest(fresh, video_id, far, 0.12, "brightness_only")
    try:
        page = login(browser, fresh, "alice")
        assert panel_clip(page) == clip["id"]
        wait_video_ready(page)
        page.wait_for_function(f"() => document.querySelectorAll({_MARKS!r}).length === 2")
        marks = _marks(page)
        assert [m["frame"] for m in marks] == [near, far]
        assert "flash" in marks[0]["title"] and "confidence 0.31" in marks[0]["title"]
        assert "brightness only" in marks[1]["title"] and "0.12" in marks[1]["title"]
        assert all(m["left"].endswith("%") for m in marks), "placed at the frame on the timeline"
        assert page.locator(".panel .suggestions").count() == 1

        # C at the clip's first frame: the nearest suggestion is `near`; the clip is split there.
        page.keyboard.press("Home")
        page.wait_for_function("f => heatersReview.state().frame === f", arg=start)
        page.keyboard.press("c")
        msg = wait_flash(page, "split at frame")
        assert f"clip {clip['id']} split at frame {near}" in msg
        assert _live(fresh, video_id, start, end) == [
            (start, near, "pending_review"),
            (near, end, "pending_review"),
        ]
        # The page goes on with the first part, which holds no suggestion: no mark.
        page.wait_for_function(f"() => document.querySelectorAll({_MARKS!r}).length === 0")

        page.keyboard.press("u")
        wait_flash(page, "undid split")
        assert _live(fresh, video_id, start, end) == [(start, end, "pending_review")]
        assert panel_clip(page) == clip["id"], "undo shows the single clip again"
        page.wait_for_function(f"() => document.querySelectorAll({_MARKS!r}).length === 2")

        # A click on a mark accepts that one (the far one, though the playhead is nearer
        # the other), by the same split; undo again.
        page.locator(f"{_MARKS}[data-frame='{far}']").click()
        wait_flash(page, f"clip {clip['id']} split at frame {far}")
        assert _live(fresh, video_id, start, end) == [
            (start, far, "pending_review"),
            (far, end, "pending_review"),
        ]
        page.keyboard.press("u")
        fresh.wait_for(
            lambda: _live(fresh, video_id, start, end) == [(start, end, "pending_review")],
            what="the second undo",
        )
        page.wait_for_function(f"() => document.querySelectorAll({_MARKS!r}).length === 2")
        page.context.close()
    finally:
        fresh.sql("DELETE FROM boundary_suggestions")
