"""A long video reviewed in a real browser (issue 21): a 5.5-minute video, preprocessed in
segments and joined, reviewed with ↓/↑, approve, skip, a jump far into it on the timeline and
jumps to another video and back. Chromium's network events are counted: no request of the
page fails or is aborted on any action, and one clip looping asks for at most one range of
the proxy a second (a proxy whose audio is not interleaved with its video makes the browser
ping-pong between two offsets: hundreds of aborted range requests).

The video is synthetic and small (160x90, 12 fps, a hard cut every 5 s between six lavfi
sources, a sine tone; 30 s encoded once and stream-copied 11 times), so ingest stays quick.
Real server, worker, Postgres and Chromium; every wait is on a condition."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ffmpeg
from tests.web.helpers import Stack, login, panel_clip, wait_idle

SHOT_SECONDS = 5
FPS = 12  # few frames: a quick ingest
COPIES = 11  # 11 x 30 s: 330 s, over five minutes (and over HEATERS_SEGMENT_SECONDS, 60)
PROXY_URL = re.compile(r"/videos/\d+/proxy(-[0-9a-f]+)?\.mp4")


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 330 s, 160x90, 12 fps H.264/AAC video with a hard cut every 5 s."""
    out = tmp_path_factory.mktemp("videos")
    size = f"size=160x90:rate={FPS}"
    sources = [
        f"testsrc2={size}:duration={SHOT_SECONDS}",
        f"mandelbrot={size},trim=duration={SHOT_SECONDS}",
        f"smptebars={size}:duration={SHOT_SECONDS}",
        f"cellauto={size}:rule=110,trim=duration={SHOT_SECONDS}",
        f"rgbtestsrc={size}:duration={SHOT_SECONDS}",
        f"life={size}:mold=10:ratio=0.5,trim=duration={SHOT_SECONDS}",
    ]
    inputs = [arg for src in sources for arg in ("-f", "lavfi", "-i", src)]
    n = len(sources)
    cycle = out / "cycle.mp4"
    ffmpeg(
        *inputs, "-f", "lavfi", "-i", f"sine=frequency=440:duration={n * SHOT_SECONDS}",
        "-filter_complex",
        "".join(f"[{i}:v]" for i in range(n)) + f"concat=n={n}:v=1:a=0,format=yuv420p[v]",
        "-map", "[v]", "-map", f"{n}:a",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-c:a", "aac", "-b:a", "48k",
        str(cycle),
    )  # fmt: skip
    listing = out / "list.txt"
    listing.write_text(f"file '{cycle}'\n" * COPIES)
    video = out / "long.mp4"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(video))
    return video


@pytest.fixture(scope="module")
def stack_videos(long_video: Path, other_video: Path) -> list[Path]:
    """The long video first, then a short one to jump to."""
    return [long_video, other_video]


class Network:
    """The page's requests: every failed or aborted one, and those for a proxy."""

    def __init__(self, page: Any) -> None:
        self.failed: list[str] = []
        self.proxy: list[str] = []
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        page.on("request", lambda r: self.proxy.append(r.url) if PROXY_URL.search(r.url) else 0)


def _shown(page: Any, clip_id: int) -> None:
    """Wait until the page shows ``clip_id`` with a frame presented and nothing in flight."""
    page.wait_for_function(
        "id => { const s = heatersReview.state(); return s && s.clipId === id "
        "&& s.presented !== null && s.mediaTime !== null && heatersReview.busy() === 0; }",
        arg=clip_id,
    )
    wait_idle(page)


def _click_clip(page: Any, clip_id: int) -> None:
    page.locator(f'#timeline .tl-clip[data-clip-id="{clip_id}"]').click()


def test_long_video_reviewed_without_aborted_requests(browser: Any, fresh: Stack) -> None:
    long, short = fresh.videos
    assert long["duration_seconds"] > 300 and long["frame_count"] > 300 * FPS
    shots = [c for c in long["clips"] if not c.get("is_transition")]
    assert len(shots) >= 60, "a clip for every 5 s shot"
    ids = [c["id"] for c in shots]
    page = login(browser, fresh, "alice")
    net = Network(page)
    _shown(page, ids[0])
    assert page.evaluate("() => heatersReview.state().videoId") == long["id"]
    proxy = fresh.url + page.evaluate("() => heatersReview.state().src")

    def act(name: str, do: Any, expect: int | None = None, far: bool = False) -> None:
        """Do an action and wait for the clip it shows (``expect``, or any other clip): no
        request fails on the way. ``far``: a jump minutes away from what the player has read,
        where Chromium drops the read-ahead it had paused (one aborted range of the proxy,
        no more; every other action, a switch of videos included, aborts nothing)."""
        failed, before = len(net.failed), panel_clip(page)
        do()
        if expect is None:
            expect = page.wait_for_function(
                "old => { const s = heatersReview.state(); "
                "return s && s.clipId !== old && s.clipId; }",
                arg=before,
            ).json_value()
        assert expect is not None
        _shown(page, expect)
        allowed = [f"{proxy} (net::ERR_ABORTED)"] if far else []
        new = net.failed[failed:]
        assert new in ([], allowed), f"{name}: requests failed or aborted: {new}"
        net.failed[failed:] = []

    act("↓", lambda: page.keyboard.press("ArrowDown"), ids[1])
    act("↓", lambda: page.keyboard.press("ArrowDown"), ids[2])
    act("↑", lambda: page.keyboard.press("ArrowUp"), ids[1])
    act("approve", lambda: page.keyboard.press("a"), ids[2])
    act("skip", lambda: page.keyboard.press("s"), ids[3])
    far = ids[len(ids) * 3 // 4]  # some 4 minutes in
    act("timeline, far", lambda: _click_clip(page, far), far, far=True)
    act("approve", lambda: page.keyboard.press("a"), ids[ids.index(far) + 1])
    act("timeline, last", lambda: _click_clip(page, ids[-1]), ids[-1], far=True)
    # ↓ on the last clip: the next video's undecided clips; its last approved: back here.
    # The next video's proxy is loaded ahead in the hidden standby player, so each switch
    # swaps the two players and loads no source (the long one stays in the standby).
    page.wait_for_function(
        "() => { const s = document.querySelector('video.standby'); return s && "
        "s.readyState >= 1 && s.getAttribute('src') !== heatersReview.state().src; }"
    )
    swaps = page.evaluate("() => heatersReview.swaps()")
    act("↓ to the next video", lambda: page.keyboard.press("ArrowDown"))
    assert page.evaluate("() => heatersReview.state().videoId") == short["id"]
    assert page.evaluate("() => heatersReview.swaps()") == swaps + 1
    while page.evaluate("() => heatersReview.state().videoId") != long["id"]:
        act("approve", lambda: page.keyboard.press("a"))
    assert page.evaluate("() => heatersReview.swaps()") == swaps + 2
    assert page.evaluate("() => heatersReview.state().clipId") in ids
    assert fresh.clip(ids[1])["state"] == "review_approved"
    assert fresh.clip(ids[2])["state"] == "review_skipped"
    assert fresh.clip(far)["state"] == "review_approved"
    shorts = [c["id"] for c in short["clips"] if not c.get("is_transition")]
    assert {fresh.clip(c)["state"] for c in shorts} == {"review_approved"}

    # One clip looping: the proxy is asked for at most one range a second, none aborted.
    page.evaluate(
        """() => {
            const v = document.getElementById('player');
            window.loop = {wraps: 0, last: null};
            const f = (now, m) => {
                if (loop.last !== null && m.mediaTime < loop.last) loop.wraps += 1;
                loop.last = m.mediaTime;
                v.requestVideoFrameCallback(f);
            };
            v.requestVideoFrameCallback(f);
        }"""
    )
    page.keyboard.press("l")
    page.wait_for_function("() => heatersReview.state().paused === false")
    requests, t0 = len(net.proxy), page.evaluate("() => performance.now()")
    page.wait_for_function("() => loop.wraps >= 2", timeout=30_000)
    seconds = (page.evaluate("() => performance.now()") - t0) / 1000
    looped = net.proxy[requests:]
    assert len(looped) <= seconds, f"{len(looped)} proxy requests in {seconds:.1f} s of a loop"
    assert net.failed == []
    page.context.close()
