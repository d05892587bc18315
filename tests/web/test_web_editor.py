"""Review at editor speed (issue 12) in a real browser: settle window and undo with a worker
running, editor keys, boundary moves, hard claims, the timeline. Real server, worker,
Postgres and Chromium; every wait is on a condition."""

from __future__ import annotations

from typing import Any

from tests.web.helpers import (
    Stack,
    clips_of,
    export_worker,
    login,
    panel_clip,
    wait_flash,
    wait_idle,
    wait_panel_change,
    wait_video_ready,
)


def _state(page: Any) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate("() => heatersReview.state()")
    return state


def _live(stack: Stack, video_id: int) -> list[tuple[int, int, int, str]]:
    rows = stack.sql(
        "SELECT id, start_frame, end_frame, state FROM clips WHERE source_video_id = %s "
        "AND superseded_by IS NULL ORDER BY start_frame",
        (video_id,),
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def test_approve_then_group_next_then_undo_both(browser: Any, fresh: Stack) -> None:
    """The most natural flow, with a worker that exports: approve a clip, group the next one
    into it while the approval settles, then take both back with two undos."""
    first, second = clips_of(fresh)[:2]
    with export_worker(fresh):
        page = login(browser, fresh, "alice")
        assert panel_clip(page) == first["id"]
        page.keyboard.press("a")
        wait_flash(page, f"clip {first['id']} approved")
        assert panel_clip(page) == second["id"], "the next clip, without a reload"
        page.keyboard.press("g")
        msg = wait_flash(page, "grouped")
        assert f"clip {second['id']} grouped with clip {first['id']}" in msg
        a, b = fresh.clip(first["id"]), fresh.clip(second["id"])
        assert (a["state"], b["state"]) == ("review_approved", "review_approved")
        assert b["grouped_with_clip_id"] == first["id"]
        # Both decisions count down on the page; nothing is exported while they settle.
        page.wait_for_function("() => heatersReview.settling().length === 2")
        assert page.locator("#settling-list li").count() == 2
        settling = fresh.sql(
            "SELECT count(*) FROM review_events WHERE settles_at > now() AND undone_at IS NULL"
        )[0][0]
        assert settling == 2
        rows = fresh.sql(
            "SELECT state FROM clips WHERE id = ANY(%s)", ([first["id"], second["id"]],)
        )
        assert {r[0] for r in rows} == {"review_approved"}

        page.keyboard.press("u")
        wait_flash(page, "undid group")
        assert fresh.clip(second["id"])["state"] == "pending_review"
        assert fresh.clip(first["id"])["state"] == "review_approved"
        page.keyboard.press("u")
        wait_flash(page, "undid approve")
        assert panel_clip(page) == first["id"], "undo shows the clip it gave back"
        page.wait_for_function("() => heatersReview.settling().length === 0")
        # Past the window (moved there by SQL, not waited for): the undone decisions never
        # reach the exporter, through a dispatcher run that starts after it.
        fresh.sql(
            "UPDATE review_events SET settles_at = now() - interval '1 second'"
            " WHERE settles_at > now()"
        )
        (last,) = fresh.sql(
            "SELECT coalesce(max(id), 0) FROM procrastinate_jobs"
            " WHERE task_name = 'heaters.dispatch'"
        )[0]
        fresh.wait_for(
            lambda: fresh.sql(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'heaters.dispatch'"
                " AND status = 'succeeded' AND id > %s",
                (last,),
            )[0][0],
            timeout=60,
            what="a dispatcher run after the settle window",
        )
        for c in (first, second):
            row = fresh.clip(c["id"])
            assert row["state"] == "pending_review" and row["grouped_with_clip_id"] is None
        assert fresh.sql(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE '%%export%%'"
        ) == [(0,)]
        page.context.close()


def test_boundary_moved_two_frames_and_undone(browser: Any, fresh: Stack) -> None:
    video_id = fresh.videos[0]["id"]
    first, second = clips_of(fresh)[:2]
    page = login(browser, fresh, "bob")
    page.goto(f"{fresh.url}/review/clips/{second['id']}")
    wait_video_ready(page)
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    cut = second["start_frame"] + 2
    page.wait_for_function(
        "f => heatersReview.state().frame === f && heatersReview.state().presented === f",
        arg=cut,
    )
    page.keyboard.press("i")  # the clip's in point here: the cut moves +2 frames
    msg = wait_flash(page, "moved from frame")
    assert f"moved from frame {second['start_frame']} to {cut} (+2 frames)" in msg
    live = _live(fresh, video_id)
    assert (live[0][1], live[0][2]) == (first["start_frame"], cut)
    assert (live[1][1], live[1][2]) == (cut, second["end_frame"])
    assert panel_clip(page) == live[1][0], "the page shows the moved clip"
    page.wait_for_function(
        "f => [...document.querySelectorAll('#timeline .tl-cut')].some(c => +c.dataset.frame === f)",
        arg=cut,
    )

    page.keyboard.press("u")
    wait_flash(page, "undid move_boundary")
    assert _live(fresh, video_id)[:2] == [
        (first["id"], first["start_frame"], first["end_frame"], "pending_review"),
        (second["id"], second["start_frame"], second["end_frame"], "pending_review"),
    ]
    page.wait_for_function(
        "f => [...document.querySelectorAll('#timeline .tl-cut')].some(c => +c.dataset.frame === f)",
        arg=second["start_frame"],
    )

    # The same move by dragging the cut on the timeline two frames to the right.
    geo = page.evaluate(
        """f => {
            const tl = document.querySelector('#timeline');
            const cut = [...tl.querySelectorAll('.tl-cut')].find(c => +c.dataset.frame === f);
            const r = tl.getBoundingClientRect(), c = cut.getBoundingClientRect();
            return {x0: r.left + tl.clientLeft, w: tl.clientWidth, n: +tl.dataset.frameCount,
                    cx: c.left + c.width / 2, y: c.top + c.height / 2};
        }""",
        second["start_frame"],
    )
    page.mouse.move(geo["cx"], geo["y"])
    page.mouse.down()
    page.mouse.move(geo["x0"] + (cut + 0.5) * geo["w"] / geo["n"], geo["y"], steps=4)
    page.mouse.up()
    msg = wait_flash(page, f"to {cut} (+2 frames)")
    assert f"moved from frame {second['start_frame']} to {cut} (+2 frames)" in msg
    live = _live(fresh, video_id)
    assert (live[1][1], live[1][2]) == (cut, second["end_frame"])
    page.keyboard.press("u")
    wait_flash(page, "undid move_boundary")
    assert _live(fresh, video_id)[1] == (
        second["id"],
        second["start_frame"],
        second["end_frame"],
        "pending_review",
    )
    page.context.close()


def test_decided_clip_reopens_from_the_page(browser: Any, fresh: Stack) -> None:
    first, second = clips_of(fresh)[:2]
    page = login(browser, fresh, "alice")
    assert panel_clip(page) == first["id"]
    assert page.locator("[data-action=reopen]").count() == 0, "nothing to reopen yet"
    page.keyboard.press("a")
    wait_flash(page, f"clip {first['id']} approved")
    assert panel_clip(page) == second["id"]
    page.keyboard.press("ArrowUp")
    assert wait_panel_change(page, second["id"]) == first["id"]
    wait_idle(page)
    # Decided: the decisions are off (saying why), reopen is on, with the countdown.
    assert page.is_disabled("[data-action=approve]")
    assert "reopen it first" in (page.get_attribute("[data-action=approve]", "title") or "")
    assert page.is_enabled("[data-action=reopen]")
    assert "settles in" in page.inner_text("#panel .notice.settle")
    page.keyboard.press("r")
    wait_flash(page, "undid approve")
    assert fresh.clip(first["id"])["state"] == "pending_review"
    assert panel_clip(page) == first["id"]
    assert page.is_enabled("[data-action=approve]")
    assert page.locator("[data-action=reopen]").count() == 0
    page.context.close()


def test_up_down_move_without_deciding_and_jkl_shuttle(browser: Any, fresh: Stack) -> None:
    clips = clips_of(fresh)
    page = login(browser, fresh, "alice")
    assert panel_clip(page) == clips[0]["id"]
    wait_video_ready(page)
    src = _state(page)["src"]
    page.keyboard.press("ArrowDown")
    assert wait_panel_change(page, clips[0]["id"]) == clips[1]["id"]
    page.keyboard.press("ArrowDown")
    assert wait_panel_change(page, clips[1]["id"]) == clips[2]["id"]
    page.wait_for_function(
        "f => heatersReview.state().presented !== null && heatersReview.state().presented >= f",
        arg=clips[2]["start_frame"],
    )
    page.keyboard.press("ArrowUp")
    assert wait_panel_change(page, clips[2]["id"]) == clips[1]["id"]
    wait_idle(page)
    assert fresh.sql("SELECT count(*) FROM review_events") == [(0,)], "nothing was decided"
    assert all(fresh.clip(c["id"])["state"] == "pending_review" for c in clips[:3])
    fresh.wait_for(
        lambda: fresh.clip(clips[1]["id"])["claimed_by"] == "alice",
        what="the clip on screen to be claimed",
    )
    assert fresh.clip(clips[0]["id"])["claimed_by"] is None, "one clip at a time"
    assert _state(page)["src"] == src, "one proxy load: the player seeks, never reloads"

    # J / K / L: K pauses, L plays forward and faster, J steps backwards.
    page.keyboard.press("k")
    page.wait_for_function(
        "() => heatersReview.state().paused && heatersReview.state().shuttle === 0"
    )
    page.keyboard.press("l")
    page.wait_for_function(
        "() => !heatersReview.state().paused && heatersReview.state().playbackRate === 1"
    )
    page.keyboard.press("l")
    page.wait_for_function("() => heatersReview.state().playbackRate === 2")
    page.keyboard.press("l")
    page.wait_for_function("() => heatersReview.state().playbackRate === 4")
    page.keyboard.press("k")
    page.wait_for_function("() => heatersReview.state().paused")
    page.keyboard.press("End")
    end = clips[1]["end_frame"] - 1
    page.wait_for_function("f => heatersReview.state().presented === f", arg=end)
    page.keyboard.press("j")
    page.wait_for_function(  # backwards: the frame on screen goes down, the video is paused
        "f => heatersReview.state().shuttle === -1 && heatersReview.state().paused "
        "&& heatersReview.state().presented < f - 2",
        arg=end,
    )
    page.keyboard.press("j")
    page.wait_for_function("() => heatersReview.state().shuttle === -2")
    page.keyboard.press("k")
    page.wait_for_function("() => heatersReview.state().shuttle === 0")
    assert page.inner_text("#rate-badge") == ""
    # Sound: muted by default, Shift+M or the button toggles it.
    assert _state(page)["muted"] is True
    page.keyboard.press("Shift+M")
    page.wait_for_function("() => heatersReview.state().muted === false")
    assert "sound on" in page.inner_text("#mute")
    page.click("#mute")
    page.wait_for_function("() => heatersReview.state().muted === true")
    # ? shows every key.
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    assert "blade" in page.inner_text("#help") and "J" in page.inner_text("#help")
    page.keyboard.press("Escape")
    page.wait_for_selector("#help:not([open])", state="attached")
    page.context.close()


def test_stale_page_loads_the_right_clip_by_itself(browser: Any, fresh: Stack) -> None:
    first = clips_of(fresh)[0]
    page = login(browser, fresh, "alice")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    assert panel_clip(page) == first["id"]
    # Behind the page's back: alice's claim lapses and bob decides the clip.
    fresh.sql(
        "UPDATE clips SET claimed_by = NULL, claim_expires_at = NULL WHERE id = %s",
        (first["id"],),
    )
    bob = login(browser, fresh, "bob")
    assert panel_clip(bob) == first["id"]
    bob.keyboard.press("s")
    wait_flash(bob, "skipped")

    page.keyboard.press("a")
    msg = wait_flash(page, "showing your next clip")
    assert f"clip {first['id']} is already skipped by bob" in msg
    right = fresh.sql(
        "SELECT id FROM clips WHERE claimed_by = 'alice' AND state = 'pending_review'"
    )[0][0]
    assert panel_clip(page) == right != first["id"]
    # The page keeps going: the next key acts on the right clip.
    page.keyboard.press("a")
    wait_flash(page, f"clip {right} approved")
    assert fresh.clip(right)["state"] == "review_approved"
    assert errors == []
    page.context.close()
    bob.context.close()


def test_other_reviewers_clip_opens_read_only(browser: Any, fresh: Stack) -> None:
    first = clips_of(fresh)[0]
    alice = login(browser, fresh, "alice")
    assert panel_clip(alice) == first["id"]
    bob = login(browser, fresh, "bob")
    assert panel_clip(bob) != first["id"], "the queue skips a held clip"
    bob.goto(f"{fresh.url}/review/clips/{first['id']}")
    assert panel_clip(bob) == first["id"]
    notice = bob.inner_text("#panel .notice.held")
    assert "Read-only" in notice and "alice" in notice
    assert bob.is_disabled("[data-action=approve]")
    assert "alice is reviewing this clip" in (
        bob.get_attribute("[data-action=approve]", "title") or ""
    )
    bob.keyboard.press("a")
    wait_flash(bob, "alice is reviewing this clip")
    assert fresh.clip(first["id"])["state"] == "pending_review"
    assert fresh.clip(first["id"])["claimed_by"] == "alice"

    # Alice leaves the page: the claim is released at once (sendBeacon), not at lease end.
    alice.goto(f"{fresh.url}/history")
    fresh.wait_for(
        lambda: fresh.clip(first["id"])["claimed_by"] is None, what="the claim to be released"
    )
    bob.reload()
    assert bob.get_attribute("#panel", "data-readonly") == "false"
    bob.keyboard.press("a")
    wait_flash(bob, f"clip {first['id']} approved")
    assert fresh.clip(first["id"])["reviewed_by"] == "bob"
    alice.context.close()
    bob.context.close()


def test_timeline_shows_every_cut_at_its_frame(browser: Any, fresh: Stack) -> None:
    video = fresh.videos[0]
    live = _live(fresh, video["id"])
    page = login(browser, fresh, "alice")
    page.wait_for_selector("#timeline .tl-clip")
    got = page.evaluate(
        """() => {
            const tl = document.querySelector('#timeline');
            const r = tl.getBoundingClientRect();
            return {
              n: +tl.dataset.frameCount, width: tl.clientWidth, border: tl.clientLeft,
              clips: [...tl.querySelectorAll('.tl-clip')].map(b => [+b.dataset.clipId,
                  +b.dataset.start, +b.dataset.end, b.getBoundingClientRect().left - r.left]),
              cuts: [...tl.querySelectorAll('.tl-cut')].map(c => [+c.dataset.frame,
                  c.getBoundingClientRect().left + c.getBoundingClientRect().width / 2 - r.left]),
            };
        }"""
    )
    assert got["n"] == video["frame_count"]
    assert [tuple(c[:3]) for c in got["clips"]] == [(c[0], c[1], c[2]) for c in live]
    expected_cuts = [c[1] for c in live[1:]]
    assert [c[0] for c in got["cuts"]] == expected_cuts
    px_per_frame = got["width"] / got["n"]
    border = got["border"]  # blocks and cuts are placed inside the timeline's border
    for frame, x in got["cuts"]:
        assert abs(x - border - frame * px_per_frame) <= max(1.0, px_per_frame / 2), (frame, x)
    # The current clip is highlighted; hovering shows the sprite frame there; a click jumps.
    assert page.get_attribute("#timeline .tl-clip.current", "data-clip-id") == str(live[0][0])
    target = live[2]
    box = page.locator("#timeline").bounding_box()
    mid = (target[1] + target[2]) / 2
    page.mouse.move(box["x"] + border + mid * px_per_frame, box["y"] + box["height"] / 2)
    page.wait_for_selector("#tl-hover:not([hidden])")
    shown = int(page.get_attribute("#tl-hover", "data-frame") or -1)
    assert target[1] <= shown < target[2]
    page.mouse.click(box["x"] + border + mid * px_per_frame, box["y"] + box["height"] / 2)
    assert wait_panel_change(page, live[0][0]) == target[0]
    page.wait_for_selector(f"#timeline .tl-clip.current[data-clip-id='{target[0]}']")
    # The filmstrip shows the current clip's frames from its sprite sheet.
    frames = page.eval_on_selector_all("#filmstrip .fs-tile", "ts => ts.map(t => +t.dataset.frame)")
    assert frames and all(target[1] <= f < target[2] for f in frames)
    # The video page draws the same timeline.
    page.goto(f"{fresh.url}/videos/{video['id']}")
    page.wait_for_selector("#timeline .tl-cut")
    cuts = page.eval_on_selector_all("#timeline .tl-cut", "cs => cs.map(c => +c.dataset.frame)")
    assert cuts == expected_cuts
    page.context.close()


def test_dashboard_retries_every_failed_clip(browser: Any, fresh: Stack) -> None:
    ids = [c["id"] for c in clips_of(fresh, 1)[-2:]]
    fresh.sql(
        "UPDATE clips SET state = 'keyframe_failed', last_error = 'boom', attempts = 5, "
        "next_attempt_at = NULL WHERE id = ANY(%s)",
        (ids,),
    )
    try:
        page = login(browser, fresh, "alice")
        page.goto(f"{fresh.url}/dashboard")
        assert page.inner_text("#retry-clips") == "Retry all failed clips (2)"
        page.click("#retry-clips")
        page.wait_for_selector("#retried")
        assert "2 failed clips made due again" in page.inner_text("#retried")
        rows = fresh.sql(
            "SELECT attempts, next_attempt_at IS NOT NULL FROM clips WHERE id = ANY(%s)", (ids,)
        )
        assert rows == [(0, True), (0, True)]
        page.context.close()
    finally:
        fresh.sql(
            "UPDATE clips SET state = 'pending_review', last_error = NULL, attempts = 0, "
            "next_attempt_at = NULL WHERE id = ANY(%s)",
            (ids,),
        )


def test_schema_and_favicon_work_offline(browser: Any, fresh: Stack) -> None:
    """Swagger UI is served from /static (no CDN) and every page has an icon (no 404)."""
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []
    missing: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(fresh.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"{fresh.url}/schema")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Heaters API" in page.inner_text(".swagger-ui .info .title")
    assert outside == [] and missing == []
    assert page.context.request.get(f"{fresh.url}/favicon.ico").status == 200
    context.close()
