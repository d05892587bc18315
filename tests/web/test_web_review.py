"""The review UI in a real browser against the real server, database, worker and videos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.web.helpers import (
    PASSWORD,
    Stack,
    api_post,
    clips_of,
    csrf_token,
    login,
    panel_clip,
    wait_flash,
    wait_idle,
    wait_panel_change,
    wait_video_ready,
)


def _goto_frame(page: Any, start: int, offset: int) -> None:
    """Pause on the clip's first frame, then step ``offset`` frames with →."""
    wait_video_ready(page)
    page.keyboard.press("Home")
    for _ in range(offset):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "f => heatersReview.state().frame === f && heatersReview.state().presented === f",
        arg=start + offset,
    )


def test_login_approve_by_keyboard_and_screenshot(
    browser: Any, fresh: Stack, artifacts: Path
) -> None:
    page = login(browser, fresh, "alice")
    first = clips_of(fresh)[0]
    clip_id = panel_clip(page)
    assert clip_id is not None and clip_id == first["id"], "the oldest pending clip comes first"
    assert fresh.clip(clip_id)["claimed_by"] == "alice"
    text = page.inner_text("#panel")
    assert f"{first['start_frame']}–{first['end_frame'] - 1}" in text
    assert "bbb_8s" in text  # the video's title
    assert "approve" in page.inner_text(".keys")  # the keys are shown

    # Frame stepping is frame-exact: the presented frame's PTS is the frame index's.
    _goto_frame(page, first["start_frame"], 3)
    pts = fresh.sql(
        "SELECT pts_seconds[%s] FROM frame_indexes WHERE source_video_id = %s",
        (first["start_frame"] + 3 + 1, fresh.videos[0]["id"]),
    )[0][0]
    page.wait_for_function("p => Math.abs(heatersReview.state().mediaTime - p) < 1e-4", arg=pts)
    assert page.inner_text("#frame-no") == str(first["start_frame"] + 3)
    page.keyboard.press("Shift+ArrowRight")
    page.wait_for_function("f => heatersReview.state().frame === f", arg=first["start_frame"] + 13)
    page.keyboard.press("Shift+ArrowLeft")
    page.wait_for_function("f => heatersReview.state().frame === f", arg=first["start_frame"] + 3)
    page.wait_for_function(  # the neighbour's thumbnail (sprite or first frame) has loaded
        "() => [...document.querySelectorAll('.neighbour .thumb')].every(t => "
        "t.tagName !== 'VIDEO' || t.readyState >= 2)"
    )
    page.screenshot(path=str(artifacts / "review.png"), full_page=True)

    # The next clip's sprite sheet scrubs on hover: near its right edge, a late frame.
    nxt = clips_of(fresh)[1]
    sprite = page.locator(".neighbour-next .sprite")
    assert sprite.count() == 1
    box = sprite.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.97, box["y"] + box["height"] / 2)
    shown = int(sprite.locator(".sprite-frame").inner_text())
    assert nxt["start_frame"] < shown < nxt["end_frame"]
    page.mouse.move(0, 0)

    page.keyboard.press("a")
    new_id = wait_panel_change(page, clip_id)
    assert new_id == clips_of(fresh)[1]["id"]
    # The next clip shows at once; the decision is confirmed by the server's answer.
    assert f"clip {clip_id} approved" in wait_flash(page, "approved")
    wait_idle(page)
    assert panel_clip(page) == new_id
    row = fresh.clip(clip_id)
    assert row["state"] == "review_approved" and row["reviewed_by"] == "alice"
    assert "/review" in page.url, "no full page load: still on /review"
    page.screenshot(path=str(artifacts / "review-after-approve.png"))
    page.context.close()


def test_split_at_frame_applies_at_once(browser: Any, fresh: Stack, artifacts: Path) -> None:
    page = login(browser, fresh, "bob")
    clip = clips_of(fresh)[0]
    start, end = clip["start_frame"], clip["end_frame"]
    assert panel_clip(page) == clip["id"] and end - start > 6
    _goto_frame(page, start, 5)
    page.keyboard.press("b")  # blade: K is pause now
    msg = wait_flash(page, "split at frame")
    assert f"clip {clip['id']} split at frame {start + 5}" in msg
    video_id = fresh.videos[0]["id"]
    live = fresh.sql(
        "SELECT id, start_frame, end_frame, state FROM clips WHERE source_video_id = %s "
        "AND superseded_by IS NULL AND start_frame >= %s AND end_frame <= %s "
        "ORDER BY start_frame",
        (video_id, start, end),
    )
    assert [(r[1], r[2], r[3]) for r in live] == [
        (start, start + 5, "pending_review"),
        (start + 5, end, "pending_review"),
    ]
    assert fresh.clip(clip["id"])["state"] == "split"
    assert panel_clip(page) == live[0][0], "the page goes on with the first part"
    # The video page lists the two new clips and marks the old one superseded.
    page.goto(f"{fresh.url}/videos/{video_id}")
    row = page.locator("tr", has=page.locator(f"a[href='/review/clips/{clip['id']}']")).first
    assert "superseded" in (row.get_attribute("class") or "")
    assert f"superseded by #{live[0][0]}, #{live[1][0]}" in row.inner_text()
    assert f"{start}–{start + 4}" in page.inner_text("table.clips")
    page.screenshot(path=str(artifacts / "video.png"), full_page=True)
    page.context.close()


def test_undo_merge_while_settling(browser: Any, fresh: Stack, artifacts: Path) -> None:
    first, second = clips_of(fresh)[:2]
    page = login(browser, fresh, "alice")
    page.goto(f"{fresh.url}/review/clips/{second['id']}")
    assert panel_clip(page) == second["id"]
    page.keyboard.press("m")
    msg = wait_flash(page, "merged into")
    assert f"clips {first['id']} and {second['id']} merged into clip" in msg
    (event_id, merged) = fresh.sql(
        "SELECT id, clip_ids[array_length(clip_ids, 1)] FROM review_events WHERE action = 'merge'"
    )[0]
    assert panel_clip(page) == merged, "the page shows the merged clip"
    assert (fresh.clip(merged)["start_frame"], fresh.clip(merged)["end_frame"]) == (
        first["start_frame"],
        second["end_frame"],
    )
    page.keyboard.press("u")
    wait_flash(page, "undid merge")
    assert panel_clip(page) == first["id"], "undo shows the restored clip"
    assert fresh.sql("SELECT undone_at IS NOT NULL FROM review_events WHERE id = %s", (event_id,))[
        0
    ][0]
    for c in (first, second):
        row = fresh.clip(c["id"])
        assert row["state"] == "pending_review" and row["superseded_by"] is None
    assert fresh.clip(merged)["superseded_by"] == [first["id"], second["id"]]
    # Undo again: nothing left to undo (409, said, and the page shows the reviewer's clip).
    page.keyboard.press("Control+z")
    wait_flash(page, "nothing to undo")
    assert panel_clip(page) == first["id"]
    page.goto(f"{fresh.url}/history")
    history = page.inner_text("table.events")
    assert "merge" in history and f"undo of event {event_id}" in history
    page.screenshot(path=str(artifacts / "history.png"), full_page=True)
    page.context.close()


def test_two_reviewers_never_get_the_same_clip(browser: Any, fresh: Stack) -> None:
    a = login(browser, fresh, "alice")
    b = login(browser, fresh, "bob")
    seen: dict[str, list[int]] = {"alice": [], "bob": []}
    for _ in range(3):
        ida, idb = panel_clip(a), panel_clip(b)
        if ida is None or idb is None:
            break
        assert ida != idb
        seen["alice"].append(ida)
        seen["bob"].append(idb)
        a.keyboard.press("a")  # both at once
        b.keyboard.press("a")
        wait_panel_change(a, ida)
        wait_panel_change(b, idb)
        wait_idle(a)  # the page may guess a clip the other reviewer got; the server corrects it
        wait_idle(b)
    assert seen["alice"] and not set(seen["alice"]) & set(seen["bob"])
    for user, ids in seen.items():
        for cid in ids:
            row = fresh.clip(cid)
            assert (row["state"], row["reviewed_by"]) == ("review_approved", user)
    approvals = fresh.sql("SELECT count(*) FROM review_events WHERE action = 'approve'")[0][0]
    assert approvals == len(seen["alice"]) + len(seen["bob"])
    a.context.close()
    b.context.close()


def test_media_range_request(browser: Any, fresh: Stack) -> None:
    page = login(browser, fresh, "alice")
    video_id = fresh.videos[0]["id"]
    ((key,),) = fresh.sql("SELECT proxy_path FROM source_videos WHERE id = %s", (video_id,))
    assert key.startswith(f"videos/{video_id}/proxy-"), key
    path = Path(fresh.env["HEATERS_HOME"]) / "storage" / key
    data = path.read_bytes()
    r = page.context.request.get(f"{fresh.url}/media/{key}", headers={"Range": "bytes=100-199"})
    assert r.status == 206
    assert r.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert r.body() == data[100:200]
    full = page.context.request.get(f"{fresh.url}/media/{key}")
    assert full.status == 200 and full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-type"] == "video/mp4" and len(full.body()) == len(data)
    for bad in (
        f"videos/{video_id}/nothing.mp4",
        "videos/999999/proxy.mp4",
        "%2e%2e/secret_key",
        "..%2fsecret_key",
    ):
        assert page.context.request.get(f"{fresh.url}/media/{bad}").status == 404, bad
    # Without a session: sent to the login page.
    anon = browser.new_context()
    r = anon.request.get(f"{fresh.url}/media/{key}", max_redirects=0)
    assert r.status == 303 and r.headers["location"].startswith("/login")
    anon.close()
    page.context.close()


def test_double_click_and_second_submission_apply_once(browser: Any, fresh: Stack) -> None:
    page = login(browser, fresh, "alice")
    cid = panel_clip(page)
    assert cid is not None
    sent: list[Any] = []
    done: list[Any] = []
    is_approve = lambda r: r.method == "POST" and r.url.endswith("/approve")  # noqa: E731
    page.on("request", lambda r: sent.append(r) if is_approve(r) else None)
    page.on("requestfinished", lambda r: done.append(r) if is_approve(r) else None)
    page.on("requestfailed", lambda r: done.append(r) if is_approve(r) else None)
    page.dblclick("[data-action=approve]")
    wait_panel_change(page, cid)
    # Every approve the double-click sent has had its answer (no fixed wait).
    fresh.wait_for(
        lambda: (page.wait_for_timeout(20), sent and len(done) == len(sent))[1],
        what="the double-click's approve requests to finish",
    )
    assert fresh.sql("SELECT clip_ids FROM review_events WHERE action = 'approve'") == [([cid],)]

    # The server refuses a second submission on its own (no client-side help): 200 then 409.
    cid2 = panel_clip(page)
    results = page.evaluate(
        """async ([id, token]) => {
            const post = () => fetch(`/review/clips/${id}/approve`, {method: 'POST',
                headers: {'X-CSRFToken': token, 'Accept': 'application/json'}})
                .then(async r => [r.status, await r.json()]);
            return Promise.all([post(), post()]);
        }""",
        [cid2, csrf_token(page)],
    )
    statuses = sorted(r[0] for r in results)
    assert statuses == [200, 409], results
    refused = next(r[1] for r in results if r[0] == 409)
    assert refused["detail"] == f"clip {cid2} is already approved by alice; nothing was changed"
    assert fresh.sql(
        "SELECT count(*) FROM review_events WHERE action = 'approve' AND clip_ids = %s::bigint[]",
        ([cid2],),
    ) == [(1,)]

    # The page still shows cid2 (stale): pressing A shows the conflict, says why and loads
    # the reviewer's right clip by itself (no reload, no key needed).
    assert panel_clip(page) == cid2
    page.keyboard.press("a")
    msg = wait_flash(page, "already approved")
    assert "showing your next clip" in msg
    right = fresh.sql(
        "SELECT id FROM clips WHERE state = 'pending_review' AND NOT is_transition "
        "ORDER BY source_video_id, start_frame LIMIT 1"
    )[0][0]
    page.wait_for_function("id => heatersReview.state().clipId === id", arg=right)
    assert fresh.clip(right)["claimed_by"] == "alice"
    page.context.close()


def test_error_statuses(browser: Any, fresh: Stack, artifacts: Path) -> None:
    page = login(browser, fresh, "bob")
    clip = clips_of(fresh)[0]
    other = clips_of(fresh, 1)[0]

    r = api_post(page, fresh, "/review/clips/999999/approve")
    assert r.status == 404 and r.json()["detail"] == "no clip 999999"
    r = api_post(page, fresh, f"/review/clips/{clip['id']}/split", {"frame": clip["end_frame"] + 5})
    assert r.status == 422 and "cannot split" in r.json()["detail"]
    r = api_post(page, fresh, f"/review/clips/{clip['id']}/split", {"frame": "abc"})
    assert r.status == 422 and "whole number" in r.json()["detail"]
    r = api_post(page, fresh, f"/review/clips/{other['id']}/merge", {"with_clip_id": clip["id"]})
    assert r.status == 422 and "different videos" in r.json()["detail"]
    r = api_post(page, fresh, f"/review/clips/{clip['id']}/explode")
    assert r.status == 404
    # No CSRF token: refused.
    r = page.context.request.post(
        f"{fresh.url}/review/clips/{clip['id']}/approve", headers={"Accept": "application/json"}
    )
    assert r.status == 403
    assert fresh.sql("SELECT count(*) FROM review_events") == [(0,)]

    # An unknown clip's page is a clear 404 page.
    resp = page.goto(f"{fresh.url}/review/clips/999999")
    assert resp.status == 404 and "no clip 999999" in page.inner_text("main")
    page.screenshot(path=str(artifacts / "error404.png"))
    # Sign out: pages need a session again.
    page.goto(f"{fresh.url}/history")
    page.click("text=Sign out")
    page.wait_for_url("**/login")
    page.goto(f"{fresh.url}/review")
    assert "/login" in page.url
    page.context.close()


def test_buttons_work_without_javascript(browser: Any, fresh: Stack) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{fresh.url}/review")
    page.fill("#name", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{fresh.url}/review")
    cid = panel_clip(page)
    page.click("[data-action=skip]")  # a plain form POST, then a 303 back to /review
    page.wait_for_url(f"{fresh.url}/review")
    assert f"clip {cid} skipped" in page.inner_text("#flash")
    assert panel_clip(page) != cid
    assert fresh.clip(cid)["state"] == "review_skipped"
    page.goto(f"{fresh.url}/")
    assert page.url == f"{fresh.url}/review"
    context.close()
