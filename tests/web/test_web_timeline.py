"""Reviewing real videos (issue 21) in a real browser: a steady page (messages never move the
player; a guessed next clip decided meanwhile is never shown), the timeline for real lengths
(zoom down to single frames and back, the timecode ruler, the cut view, settling clips keep
their decision's colour), and a read-only page that updates by itself. Real server, worker,
Postgres and Chromium; every wait is on a condition."""

from __future__ import annotations

from typing import Any

from tests.web.helpers import (
    ARTIFACTS,
    Stack,
    api_post,
    clips_of,
    export_worker,
    login,
    panel_clip,
    wait_flash,
    wait_idle,
    wait_panel_change,
    wait_video_ready,
)


def _player_box(page: Any) -> tuple[float, float, float, float]:
    box = page.locator("#player").bounding_box()
    assert box is not None
    return (box["x"], box["y"], box["width"], box["height"])


def test_messages_never_move_the_player(browser: Any, fresh: Stack) -> None:
    first, second = clips_of(fresh)[:2]
    page = login(browser, fresh, "alice")
    wait_video_ready(page)
    before = _player_box(page)
    page.keyboard.press("ArrowUp")  # the first clip: an error message
    wait_flash(page, "this is the first clip of the video")
    assert _player_box(page) == before
    page.keyboard.press("a")
    wait_flash(page, f"clip {first['id']} approved")
    assert panel_clip(page) == second["id"]
    page.keyboard.press("s")
    wait_flash(page, f"clip {second['id']} skipped")
    assert page.locator("#flash .flash-item").count() == 3
    assert _player_box(page) == before, "three messages, the player where it was"
    # The messages float over the page, inside the window.
    flash = page.locator("#flash").bounding_box()
    assert flash is not None and flash["y"] + flash["height"] <= 900
    assert page.evaluate("() => getComputedStyle(document.querySelector('#flash')).position") == (
        "fixed"
    )
    page.context.close()


def test_guess_decided_meanwhile_is_never_shown(browser: Any, fresh: Stack) -> None:
    """The page prefetched the next clip; another reviewer decides it meanwhile. The page
    learns it from the timeline it polls, so the decision on the clip before never shows
    the decided clip, not even for a moment: it goes to the clip after it."""
    first, second, third = clips_of(fresh)[:3]
    page = login(browser, fresh, "alice")
    assert panel_clip(page) == first["id"]
    assert page.get_attribute("#panel", "data-next-pending") == str(second["id"])
    page.wait_for_function(
        "id => heatersReview.busy() === 0 && document.readyState === 'complete'", arg=second["id"]
    )
    fresh.sql(
        "UPDATE clips SET state = 'review_skipped', reviewed_by = 'bob', reviewed_at = now() "
        "WHERE id = %s",
        (second["id"],),
    )
    page.wait_for_function(
        "id => (heatersReview.timeline().clips.find(c => c.id === id) || {}).state "
        "=== 'review_skipped'",
        arg=second["id"],
        timeout=15_000,
    )
    page.evaluate(
        """() => {
            window.shownClips = [];
            new MutationObserver(() => {
                const p = document.querySelector('#panel');
                if (p) window.shownClips.push(+p.dataset.clipId);
            }).observe(document.querySelector('#review'), {childList: true, subtree: false});
        }"""
    )
    page.keyboard.press("a")
    wait_flash(page, f"clip {first['id']} approved")
    assert wait_panel_change(page, first["id"]) == third["id"]
    wait_idle(page)
    shown = page.evaluate("() => window.shownClips")
    assert second["id"] not in shown and shown and shown[-1] == third["id"], shown
    page.context.close()


def test_timeline_zoom_ruler_cut_view_and_settling_colours(browser: Any, fresh: Stack) -> None:
    first, second = clips_of(fresh)[:2]
    frames = fresh.videos[0]["frame_count"]
    page = login(browser, fresh, "alice")
    wait_video_ready(page)
    page.wait_for_selector("#timeline .tl-clip")
    # Approved and skipped clips keep their own colours while they settle (striped).
    page.keyboard.press("a")
    wait_flash(page, f"clip {first['id']} approved")
    page.keyboard.press("s")
    wait_flash(page, f"clip {second['id']} skipped")
    colours = page.evaluate(
        """ids => ids.map(id => {
            const b = document.querySelector(`#timeline .tl-clip[data-clip-id="${id}"]`);
            return [b.classList.contains('settling'), getComputedStyle(b).backgroundColor];
        })""",
        [first["id"], second["id"]],
    )
    assert colours[0][0] and colours[1][0], "both still settling"
    assert colours[0][1] != colours[1][1], colours
    panel = page.evaluate(
        "() => getComputedStyle(document.querySelector('#panel')).backgroundColor"
    )
    assert panel not in (colours[0][1], colours[1][1])

    # The whole video, then + down to single frames, a tick a frame, and back with 0.
    view = page.evaluate("() => heatersReview.view()")
    assert (view["start"], view["span"], view["frames"]) == (0, frames, frames)
    assert page.locator("#tl-ruler .tl-tick.major").count() >= 2
    for _ in range(12):
        page.keyboard.press("+")
    view = page.evaluate("() => heatersReview.view()")
    width = page.evaluate("() => document.querySelector('#timeline').clientWidth")
    assert view["span"] <= width / 20, "a frame is 20 px or more"
    assert float(page.get_attribute("#tl-ruler", "data-px-per-frame") or 0) >= 20
    ticks = page.locator("#tl-ruler .tl-tick.frame").count()
    assert abs(ticks - view["span"]) <= 2, (ticks, view)
    state = page.evaluate("() => heatersReview.state()")
    assert view["start"] <= state["frame"] <= view["start"] + view["span"], "the playhead shows"
    page.keyboard.press("0")
    assert page.evaluate("() => heatersReview.view().span") == frames
    # The wheel zooms around the pointer.
    box = page.locator("#timeline").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_function("n => heatersReview.view().span < n", arg=frames)
    page.keyboard.press("0")

    # The cut view: the frames on both sides of the cut the current clip starts on.
    cut = page.evaluate("() => heatersReview.state().start")
    assert cut > 0
    page.evaluate("f => heatersReview.seekFrame(f)", cut)
    page.keyboard.press("v")
    page.wait_for_selector("#cut-view:not([hidden])")
    page.wait_for_function(
        "() => { const i = document.querySelector('#cut-view img'); "
        "return i.complete && i.naturalWidth === 640; }"
    )
    caption = page.inner_text("#cut-view figcaption")
    assert f"frame {cut - 1}" in caption and f"frame {cut} " in caption
    assert "confidence" in caption
    page.keyboard.press("Escape")
    page.wait_for_selector("#cut-view", state="hidden")
    bad = page.context.request.get(f"{fresh.url}/review/videos/{fresh.videos[0]['id']}/cuts/0")
    assert bad.status == 404
    page.context.close()


def test_read_only_page_updates_when_the_holder_lets_go(browser: Any, fresh: Stack) -> None:
    first = clips_of(fresh)[0]
    alice = login(browser, fresh, "alice")
    assert panel_clip(alice) == first["id"]
    bob = login(browser, fresh, "bob")
    bob.goto(f"{fresh.url}/review/clips/{first['id']}")
    assert bob.get_attribute("#panel", "data-readonly") == "true"
    alice.goto(f"{fresh.url}/history")  # lets go of the clip (sendBeacon)
    bob.wait_for_function(
        "() => document.querySelector('#panel').dataset.readonly === 'false'", timeout=15_000
    )
    assert panel_clip(bob) == first["id"], "the same clip, now bob's, without a reload"
    fresh.wait_for(lambda: fresh.clip(first["id"])["claimed_by"] == "bob", what="bob's claim")
    assert not bob.is_disabled("[data-action=approve]")
    bob.keyboard.press("a")
    wait_flash(bob, f"clip {first['id']} approved")
    alice.context.close()
    bob.context.close()


def test_settled_decision_changed_and_export_follows(browser: Any, fresh: Stack) -> None:
    """Part 2: a settled skip is changed to approve from the clip page (a new decision,
    undoable), and once that settles the worker exports the clip; ↓ on a video's last clip
    goes on to the next video's undecided clips; N is the next undecided clip."""
    first = clips_of(fresh)[0]
    page = login(browser, fresh, "alice")
    page.keyboard.press("s")
    wait_flash(page, f"clip {first['id']} skipped")
    fresh.sql("UPDATE review_events SET settles_at = now() - interval '1 second'")
    page.goto(f"{fresh.url}/review/clips/{first['id']}")
    assert page.get_attribute("#panel", "data-changing") == "true"
    assert "change the decision" in page.inner_text("#panel .notice.change")
    assert page.is_disabled("[data-action=skip]"), "already skipped"
    assert not page.is_disabled("[data-action=approve]")
    page.keyboard.press("a")
    wait_flash(page, f"clip {first['id']} approved (was skipped)")
    assert fresh.clip(first["id"])["state"] == "review_approved"
    page.keyboard.press("u")
    wait_flash(page, "undid approve")
    assert fresh.clip(first["id"])["state"] == "review_skipped"
    page.goto(f"{fresh.url}/review/clips/{first['id']}")
    page.keyboard.press("a")
    wait_flash(page, f"clip {first['id']} approved (was skipped)")
    fresh.sql("UPDATE review_events SET settles_at = now() - interval '1 second'")
    with export_worker(fresh):
        fresh.wait_for(
            lambda: fresh.clip(first["id"])["clip_path"] is not None,
            timeout=60,
            what="the re-approved clip to be exported",
        )

    # ↓ on the last clip of the first video: the second video's first undecided clip.
    last = clips_of(fresh)[-1]
    page.goto(f"{fresh.url}/review/clips/{last['id']}")
    wait_idle(page)
    page.keyboard.press("ArrowDown")
    second_video = fresh.videos[1]["id"]
    page.wait_for_function(
        "v => document.querySelector('#panel').dataset.videoId === String(v)", arg=second_video
    )
    wait_idle(page)
    # N: the next undecided clip after this one.
    here = panel_clip(page)
    page.keyboard.press("n")
    after = wait_panel_change(page, here)
    assert after is not None and fresh.clip(after)["state"] == "pending_review"
    assert fresh.clip(after)["start_frame"] > fresh.clip(here)["start_frame"]
    page.context.close()


def test_queues_of_decided_clips(browser: Any, fresh: Stack) -> None:
    """The queue menu goes through skipped / archived clips (N: the next one) to look at them
    again and change their decision; the next clip is the queue's, not a pending one."""
    first, second, third = clips_of(fresh)[:3]
    page = login(browser, fresh, "alice")
    page.keyboard.press("s")
    wait_flash(page, f"clip {first['id']} skipped")
    page.keyboard.press("x")
    wait_flash(page, f"clip {second['id']} archived")
    page.keyboard.press("s")
    wait_flash(page, f"clip {third['id']} skipped")
    fresh.sql("UPDATE review_events SET settles_at = now() - interval '1 second'")
    page.goto(f"{fresh.url}/review?order=skipped")
    assert page.get_attribute("#review", "data-browse") == "skipped"
    assert panel_clip(page) == first["id"]
    wait_idle(page)
    page.keyboard.press("n")
    assert wait_panel_change(page, first["id"]) == third["id"]
    wait_idle(page)
    page.keyboard.press("a")  # a change: then the queue's next skipped clip (the first)
    wait_flash(page, f"clip {third['id']} approved (was skipped)")
    page.wait_for_function(
        "id => document.querySelector('#panel').dataset.clipId === String(id)", arg=first["id"]
    )
    assert fresh.clip(third["id"])["state"] == "review_approved"
    assert fresh.sql("SELECT count(*) FROM clips WHERE claimed_by = 'alice'") == [(0,)]
    page.goto(f"{fresh.url}/review?order=archived")
    assert panel_clip(page) == second["id"]
    page.goto(f"{fresh.url}/review?order=video")
    assert page.get_attribute("#review", "data-browse") == ""
    assert fresh.clip(panel_clip(page) or 0)["state"] == "pending_review"
    page.context.close()


def test_tag_keys_a_note_and_a_batch_of_ten_undone_at_once(browser: Any, fresh: Stack) -> None:
    """Issue 21, parts 3-4: keys 1-9 toggle tags, the note saves, and ten clips shift-clicked
    on the timeline are approved in one decision that one U takes back."""
    from tests.conftest import run_heaters

    for name, key in (("night", "1"), ("rain", "2")):
        made = run_heaters(fresh.env, "tag", "add", name, "--key", key)
        assert made.returncode == 0, made.stderr
    video = fresh.videos[0]["id"]
    live = (
        "SELECT id, start_frame, end_frame FROM clips WHERE source_video_id = %s"
        " AND superseded_by IS NULL ORDER BY start_frame"
    )
    page = login(browser, fresh, "alice")
    while len(rows := fresh.sql(live, (video,))) < 11:  # split the longest clip in two
        cid, start, end = max(rows, key=lambda r: r[2] - r[1])
        r = api_post(page, fresh, f"/review/clips/{cid}/split", {"frame": (start + end) // 2})
        assert r.ok and r.json()["ok"], r.text()
    ids = [r[0] for r in fresh.sql(live, (video,))]
    page.goto(f"{fresh.url}/review/clips/{ids[0]}")
    wait_video_ready(page)
    page.wait_for_function("n => (heatersReview.timeline() || {clips: []}).clips.length >= n",
                           arg=len(ids))  # fmt: skip

    def tags() -> list[str]:
        return [r[0] for r in fresh.sql("SELECT t.name FROM clip_tags ct JOIN tags t ON "
                                        "t.id = ct.tag_id WHERE ct.clip_id = %s ORDER BY 1",
                                        (ids[0],))]  # fmt: skip

    # 1 puts night on, 2 rain, 2 takes rain off again: each a review event.
    page.keyboard.press("1")
    page.wait_for_selector('#panel .tag-chip.on[data-tag="night"]')
    wait_flash(page, f"tag night put on clip {ids[0]}")
    page.keyboard.press("2")
    wait_flash(page, f"tag rain put on clip {ids[0]}")
    page.keyboard.press("2")
    wait_flash(page, f"tag rain taken off clip {ids[0]}")
    assert tags() == ["night"]
    assert page.get_attribute('#panel .tag-chip[data-tag="rain"]', "aria-pressed") == "false"

    # The note saves with Ctrl+Enter; U takes it back.
    page.fill("#clip-note", "rain on the lens")
    page.press("#clip-note", "Control+Enter")
    wait_flash(page, f"note of clip {ids[0]} saved")
    assert fresh.clip(ids[0])["note"] == "rain on the lens"
    page.press("#clip-note", "Escape")  # focus off the note: keys act on the page again
    page.keyboard.press("u")
    wait_flash(page, "undid note")
    assert fresh.clip(ids[0])["note"] is None

    # Shift+click on the tenth clip selects ten; A approves them in one decision; one U
    # restores all ten.
    page.click(f'#timeline .tl-clip[data-clip-id="{ids[9]}"]', modifiers=["Shift"])
    page.wait_for_function("() => heatersBatch.selection().length === 10")
    assert "10 clips selected" in page.inner_text("#batch-bar")
    assert page.locator("#timeline .tl-clip.tl-selected").count() == 10
    page.screenshot(path=str(ARTIFACTS / "review-tags-batch.png"))
    page.keyboard.press("a")
    wait_flash(page, "approved")
    states = "SELECT state FROM clips WHERE id = ANY(%s) ORDER BY start_frame"
    assert [r[0] for r in fresh.sql(states, (ids,))] == ["review_approved"] * 10 + [
        "pending_review"
    ] * (len(ids) - 10)
    events = fresh.sql("SELECT count(*) FROM review_events WHERE action = 'approve'")
    assert events == [(1,)], "one decision for the ten"
    page.keyboard.press("u")
    wait_flash(page, "undid approve")
    assert {r[0] for r in fresh.sql(states, (ids,))} == {"pending_review"}
    assert page.locator("#batch-bar").is_hidden()

    # Shift+↓ twice selects the clip on screen and the two after it; Esc clears.
    wait_idle(page)
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Shift+ArrowDown")
    page.wait_for_function("() => heatersBatch.selection().length === 3")
    assert "3 clips selected" in page.inner_text("#batch-bar")
    page.keyboard.press("Escape")
    page.wait_for_function("() => heatersBatch.selection().length === 0")

    # The history names them: the tag and whether it went on, the batch and its size.
    page.goto(f"{fresh.url}/history")
    text = page.inner_text("table")
    assert "night on" in text and "rain off" in text and "(batch of 10)" in text
    page.context.close()
