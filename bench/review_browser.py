"""Benchmark: a reviewer in Chromium makes 100 decisions with the keyboard, a worker running.

What it measures (issue 12, "review at editor speed"): for each key that moves to another
clip (approve, skip), measured in the page with ``performance.now()``, from the key event's
``timeStamp``:

- **keypress → panel**: the next clip's panel is in the DOM and a frame has been rendered
  (``requestAnimationFrame`` after the swap);
- **keypress → first frame**: the player presents the next clip's first frame
  (``requestVideoFrameCallback`` reports the frame the page seeked to);

both over every measured key and over the decisions alone (``..._decisions``), plus the
requests Chromium aborted per action (the old page reloaded the proxy on every swap: two
aborted range requests per action), each put down to the key before it and to the element
that held that source (``aborted``, ``aborted_by_kind``: ``"ArrowUp:player"``), and how
many times the proxy was requested
(its key is ``videos/{id}/proxy-{claim}.mp4``, or ``proxy.mp4`` from before the keys carried
the claim), and, after the review, the proxy requests while one clip simply loops for
``--loop-seconds`` (a proxy whose audio is not interleaved with its video makes the browser
ping-pong between two offsets: hundreds of range requests; target at most one a second).

Then (``--compare``, default 40 frames spread over the video) the two ways to show an exact
frame, in the same page: WebCodecs (``VideoDecoder`` fed the frame's bytes, found by the frame
index's byte offset, range-fetched from the all-I proxy, drawn on a canvas; and the decode and
draw alone, bytes in memory) against the page's one ``<video>`` seeking to the frame's PTS
until ``requestVideoFrameCallback`` reports it presented.

How it gets enough clips and jumps between videos: the committed 59 s sample (24
hand-labelled cuts) cut at keyframes into ``--pieces`` short videos (default 5, 11–13 s
each; stream copy, so each is a file of its own: the duplicate check compares sha256), then
the sample itself, then the sample concatenated ``--copies`` times (default 6: 354 s, over
five minutes, so it is preprocessed in segments and joined; ffmpeg's concat demuxer, stream
copy): 200 clips, of which the two reviewers decide about 155 in a default run.
The queue goes in video order and the videos' ids follow the order ``heaters ingest`` is
given them, so the reviewers go through the short videos first (a switch every few clips),
then the sample, then the long video; ``heaters ingest --wait`` downloads, preprocesses and
detects all of them.

The reviewer decides with A / S / X until it has made ``--decisions`` (default 100; about
170 keys), moves with ↓ and ↑ (↑ then ↓ back), and jumps with N
(the next undecided clip; at the end of a video the next video's); a clip found decided is
left with N, and a move at the last clip of a video is N (on to the next video). With ``--second-reviewer`` (default) another reviewer approves a clip in a
second page after every third key of the first, from the same queue: the first reviewer's
guesses of its next clip are decided meanwhile, as with a colleague at work. Everything
runs in a throw-away ``HEATERS_HOME`` (its own embedded Postgres), with the real processes:
``heaters worker`` (all queues: sprites, and exports once decisions settle), ``heaters web``,
and Debian's Chromium driven by Playwright. The reviewer looks at each clip for ``--dwell-ms``
(default 400 ms: a quick human look) before the next key; ``--dwell-ms 0`` hammers keys.

``--trace-media`` adds every media event of the page's ``<video>`` elements and every
proxy request (epoch ms) to the last line, to find what an aborted request came from.

Prints one JSON line per metric: ``{"bench": "review_browser", "metric", "n", "p50_ms",
"p95_ms", "max_ms", "target_p95_ms", "ok"}``, a line ``requests`` (the first reviewer's
requests to the review routes by kind, from the browser's Performance entries: decision,
claim, panel, timeline, next; each with its count, p50/p95 of the request's duration and of
the server's own time, the ``Server-Timing`` total where the server sends it) and a last line
with the counts (``decisions``, ``actions``: keys pressed, ``video_switches``; ``by_kind``: the p95s of each kind of move: approve, skip, next, prev, n, and
``video_switch`` for any move that showed another video; ``player_swaps``: how many of them
the page showed from its standby player, the next video's proxy loaded ahead; ``corrected``:
moves whose guess of the next clip was shown and then replaced by the server's, measured to
the right clip; ``aborted_paths``: the paths of the aborted requests; ``load_average``:
the machine's when the review began and ended).

Usage::

    python bench/review_browser.py [--decisions 100] [--pieces 5] [--copies 6] [--dwell-ms 400]
                                   [--loop-seconds 12] [--no-second-reviewer]
                                   [--chromium /usr/bin/chromium] [--keep] [--trace-media]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import imageio_ffmpeg

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "big_buck_bunny_action_59s.mp4"
PASSWORD = "bench review password"
TARGETS = {"panel": 100.0, "first_frame": 150.0}
PROXY_URL = re.compile(r"/videos/\d+/proxy(-[0-9a-f]+)?\.mp4")
"""A request for a proxy (any key scheme); presigned S3 URLs carry the same key."""


def _heaters(*args: str) -> list[str]:
    return [sys.executable, "-m", "heaters", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def concat_sample(copies: int, out: Path) -> Path:
    """The sample ``copies`` times in a row (stream copy)."""
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{SAMPLE}'\n" for _ in range(copies)))
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    return out


def cut_pieces(pieces: int, out_dir: Path) -> list[Path]:
    """The sample cut into ``pieces`` videos of about equal length, each from a keyframe to
    the next piece's (stream copy: no re-encode, so a cut must start on a keyframe)."""
    import av

    if pieces <= 0:
        return []
    with av.open(str(SAMPLE)) as container:
        stream = container.streams.video[0]
        duration = float(container.duration or 0) / 1e6
        base = float(stream.time_base or 0)
        keys = sorted(
            pkt.pts * base
            for pkt in container.demux(stream)
            if pkt.is_keyframe and pkt.pts is not None
        )
    starts = sorted(
        {min(keys, key=lambda k: abs(k - i * duration / pieces)) for i in range(pieces)}
    )
    out: list[Path] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else duration
        path = out_dir / f"bbb_piece{i + 1}.mp4"
        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
            "-y", "-ss", f"{start:.6f}", "-i", str(SAMPLE), "-t", f"{end - start:.6f}",
            "-c", "copy", "-avoid_negative_ts", "make_zero", str(path),
        ]  # fmt: skip
        subprocess.run(cmd, check=True)
        out.append(path)
    return out


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the web server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no answer from {url} within {timeout} s")


def _sql(url: str, query: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query)
        return cur.fetchall() if cur.description else []


def _stats(name: str, values: list[float], over: str = "") -> dict[str, Any]:
    """The line of metric ``keypress_to_{name}`` (``over``: a suffix naming the subset)."""
    ordered = sorted(values) or [float("nan")]
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    target = TARGETS[name]
    return {
        "bench": "review_browser",
        "metric": f"keypress_to_{name}{over}",
        "n": len(values),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "target_p95_ms": target,
        "ok": p95 < target,
    }


COMPARE_JS = """
async ({url, codec, desc, samples}) => {
  const description = Uint8Array.from(atob(desc), (c) => c.charCodeAt(0));
  const canvas = document.createElement("canvas");
  canvas.width = 1280;
  canvas.height = 720;
  const ctx = canvas.getContext("2d");
  let output = null;
  const decoder = new VideoDecoder({
    output: (frame) => { ctx.drawImage(frame, 0, 0); frame.close(); output && output(); },
    error: (e) => { output && output(e); },
  });
  decoder.configure({ codec, description, optimizeForLatency: true });
  const decode = async (data, pts) => {
    const shown = new Promise((r) => { output = r; });
    decoder.decode(new EncodedVideoChunk({ type: "key", timestamp: Math.round(pts * 1e6), data }));
    await decoder.flush();
    const err = await shown;
    if (err) throw err;
  };
  const v = document.getElementById("player");
  const out = { fetch_decode: [], decode: [], seek: [] };
  for (const [pos, size, pts] of samples) {
    let t0 = performance.now();
    const resp = await fetch(url, { headers: { Range: `bytes=${pos}-${pos + size - 1}` } });
    const data = new Uint8Array(await resp.arrayBuffer());
    await decode(data, pts);
    out.fetch_decode.push(performance.now() - t0);
    t0 = performance.now();
    await decode(data, pts);
    out.decode.push(performance.now() - t0);
    t0 = performance.now();
    v.currentTime = pts + 0.001;
    await new Promise((r) => {
      const f = (now, m) => (Math.abs(m.mediaTime - pts) < 2e-3 ? r() : v.requestVideoFrameCallback(f));
      v.requestVideoFrameCallback(f);
    });
    out.seek.push(performance.now() - t0);
  }
  decoder.close();
  return out;
}
"""


def webcodecs_samples(home: Path, db_url: str, n: int) -> dict[str, Any]:
    """What the page needs to decode ``n`` frames of the proxy with WebCodecs: the proxy's
    URL, the codec string and avcC from its header, and (byte offset, size, PTS) of frames
    spread over the video (offsets from the frame index; sizes from the container)."""
    import base64

    import av

    key, video_id = _sql(  # the long video
        db_url, "SELECT proxy_path, id FROM source_videos ORDER BY frame_count DESC, id LIMIT 1"
    )[0]
    pts, offsets = _sql(
        db_url,
        f"SELECT pts_seconds, byte_offsets FROM frame_indexes WHERE source_video_id = {video_id}",
    )[0]
    with av.open(str(home / "storage" / key)) as container:
        stream = container.streams.video[0]
        extradata = bytes(stream.codec_context.extradata or b"")
        sizes = {p.pos: p.size for p in container.demux(stream) if p.size}
    codec = "avc1." + extradata[1:4].hex()
    step = max(1, len(pts) // n)
    samples = [
        [offsets[k], sizes[offsets[k]], pts[k]]
        for k in range(step // 2, len(pts), step)
        if offsets[k] in sizes
    ][:n]
    return {
        "url": f"/media/{key}",
        "codec": codec,
        "desc": base64.b64encode(extradata).decode(),
        "samples": samples,
        "video_id": video_id,
    }


def _plain_stats(metric: str, values: list[float]) -> dict[str, Any]:
    ordered = sorted(values) or [float("nan")]
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "bench": "review_browser",
        "metric": metric,
        "n": len(values),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
    }


RESOURCES_JS = """
() => performance.getEntriesByType("resource")
  .filter((e) => e.name.includes("/review/"))
  .map((e) => ({
    name: new URL(e.name).pathname,
    ms: e.duration,
    server: (e.serverTiming.find((t) => t.name === "total") || {}).duration,
  }))
"""
REQUEST_KINDS = [
    ("decision", re.compile(r"/review/clips/\d+/(approve|skip|archive)$")),
    ("claim", re.compile(r"/review/clips/\d+/claim$")),
    ("panel", re.compile(r"/review/clips/\d+/panel$")),
    ("timeline", re.compile(r"/review/videos/\d+/timeline$")),
    ("next", re.compile(r"/review/next$")),
]


def request_stats(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The review requests by kind: count, p50/p95 of duration and of server time (ms)."""
    out: dict[str, Any] = {"bench": "review_browser", "metric": "requests"}
    for kind, pattern in REQUEST_KINDS:
        rs = [r for r in resources if pattern.search(r["name"])]
        if not rs:
            continue
        row = {"n": len(rs), **_p50_p95("ms", [r["ms"] for r in rs])}
        server = [r["server"] for r in rs if r.get("server") is not None]
        if server:
            row.update(_p50_p95("server_ms", server))
        out[kind] = row
    return out


def _p50_p95(name: str, values: list[float]) -> dict[str, float]:
    stats = _plain_stats("", values)
    return {f"{name}_p50": stats["p50_ms"], f"{name}_p95": stats["p95_ms"]}


KEYS = ["a", "a", "ArrowDown", "s", "ArrowUp", "ArrowDown", "a", "n", "x", "a"]
"""The first reviewer's keys, in turn (mostly decisions; moves and jumps between them)."""
DECISION_KEYS = {"a": "approve", "s": "skip", "x": "archive"}
DECISIONS = set(DECISION_KEYS.values())
"""The page's metric kinds of a decision (the others: next, prev, undecided)."""
PLAYERS_JS = """
() => [document.getElementById("player"), document.querySelector("video.standby")]
  .map((v) => (v ? v.getAttribute("src") : null))
"""
MEDIA_TRACE_JS = """
(() => {
  window.__mediaTrace = [];
  const types = ["loadstart", "abort", "emptied", "suspend", "stalled", "seeking", "seeked",
                 "waiting", "play", "pause", "loadedmetadata"];
  for (const type of types) {
    document.addEventListener(type, (e) => {
      const v = e.target;
      if (!(v instanceof HTMLVideoElement)) return;
      window.__mediaTrace.push({ at: Date.now(), type, el: v.id || v.className,
        src: v.getAttribute("src"), t: Math.round(v.currentTime * 1000) / 1000,
        network: v.networkState, ready: v.readyState, paused: v.paused,
        buffered: Array.from({ length: v.buffered.length },
          (_, i) => [Math.round(v.buffered.start(i) * 10) / 10, Math.round(v.buffered.end(i) * 10) / 10]) });
    }, true);
  }
})();
"""
"""``--trace-media``: every media event of both players, with the time (epoch ms)."""


def _proxy_key(path: str | None) -> str | None:
    m = PROXY_URL.search(path or "")
    return m.group(0) if m else None


def _aborted_by_kind(aborted: list[dict[str, Any]]) -> dict[str, int]:
    """Aborted requests counted by the key that preceded them and the element that held the
    source (``"a:standby"``: after an approve, the standby player's request)."""
    out: dict[str, int] = {}
    for a in aborted:
        kind = f"{a['key']}:{a['element_before'] or a['element_after'] or 'other'}"
        out[kind] = out.get(kind, 0) + 1
    return out


def _sign_in(browser: Any, base: str, name: str, watch: Any = None) -> Any:
    """A page signed in as ``name`` on /review (``watch(page)`` first: its listeners)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    if watch is not None:
        watch(page)
    page.goto(f"{base}/review")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#panel")
    return page


def _key_for(state: dict[str, Any], key: str) -> str:
    """``key``, or N where it would not move or not apply: ↑ on a video's first clip, ↓ on
    its last, a decision on a clip that is decided already (a colleague's, or one passed with ↓) or that
    the colleague holds (read-only)."""
    if key == "ArrowUp" and not state.get("prevId"):
        return "n"
    if key == "ArrowDown" and not state.get("nextId"):
        return "n"  # the last clip of its video: on to the next video's undecided clips
    if key in ("a", "s", "x") and (state.get("state") != "pending_review" or state["readonly"]):
        return "n"
    return key


def review(
    base: str, args: argparse.Namespace, compare: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Sign in and review until ``args.decisions`` decisions are made (at most
    ``args.max_actions`` keys); returns the printed results."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    aborted: list[dict[str, Any]] = []
    # The key being measured and what each player held just before and after it: an
    # aborted request is put down to that key and to the element whose source it was.
    at: dict[str, Any] = {"action": 0, "key": None, "t": 0.0, "before": [None, None],
                          "after": [None, None]}  # fmt: skip

    requested: list[dict[str, Any]] = []  # --trace-media: every proxy request

    def on_request(r: Any) -> None:
        if not PROXY_URL.search(r.url):
            return
        proxy_requests.append(r.url)
        if args.trace_media:
            requested.append({
                "path": _proxy_key(r.url), "range": r.headers.get("range"),
                "action": at["action"], "at": round(time.time() * 1000),
            })  # fmt: skip

    def on_failed(r: Any) -> None:
        if "ERR_ABORTED" not in (r.failure or ""):
            return
        key = _proxy_key(r.url)
        names = ("player", "standby")
        aborted.append({
            "path": re.sub(r"^https?://[^/]+", "", r.url),
            "range": r.headers.get("range"),
            "action": at["action"],
            "key": at["key"],
            "ms_after_key": round((time.monotonic() - at["t"]) * 1000),
            "element_before": next((n for n, s in zip(names, at["before"], strict=True)
                                    if key and _proxy_key(s) == key), None),
            "element_after": next((n for n, s in zip(names, at["after"], strict=True)
                                   if key and _proxy_key(s) == key), None),
            "at": round(time.time() * 1000),
        })  # fmt: skip

    proxy_requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )

        def watch(page: Any) -> None:
            page.on("requestfailed", on_failed)
            if args.trace_media:
                page.add_init_script(MEDIA_TRACE_JS)
            page.on("request", on_request)
            page.on("pageerror", lambda e: errors.append(str(e)))

        page = _sign_in(browser, base, "bench", watch)
        page.evaluate("() => performance.setResourceTimingBufferSize(100000)")
        second = _sign_in(browser, base, "bench2") if args.second_reviewer else None
        page.wait_for_selector("#panel[data-clip-id]")
        load_before = os.getloadavg()
        done = 0  # keys pressed
        decisions = 0  # of them approve / skip / archive
        switched: set[int] = set()  # indexes in metrics() of moves to another video
        second_done = 0
        stuck = 0
        while decisions < args.decisions and done < args.max_actions:
            page.wait_for_function(  # the clip is on screen and nothing is in flight
                "() => heatersReview.state() && heatersReview.state().presented !== null "
                "&& heatersReview.busy() === 0"
            )
            if args.dwell_ms:
                page.wait_for_timeout(args.dwell_ms)
            before = page.evaluate("() => heatersReview.metrics().length")
            state = page.evaluate("() => heatersReview.state()")
            clip = state["clipId"]
            key = _key_for(state, KEYS[done % len(KEYS)])
            at.update(action=done, key=key, before=page.evaluate(PLAYERS_JS))
            at["after"] = at["before"]
            at["t"] = time.monotonic()
            page.keyboard.press(key)
            try:
                page.wait_for_function(  # measured, or (a refusal, the end) answered and moved
                    "([n, id]) => heatersReview.metrics().length > n || (heatersReview.busy() "
                    "=== 0 && (heatersReview.state() === null || heatersReview.state().clipId "
                    "!== id))",
                    arg=[before, clip],
                )
            except PlaywrightTimeout:
                stuck += 1  # nowhere left to go (the last undecided clip is this one)
                break
            done += 1
            decisions += key in DECISION_KEYS
            at["after"] = page.evaluate(PLAYERS_JS)
            after = page.evaluate("() => [heatersReview.metrics().length, heatersReview.state()]")
            if after[0] > before and after[1] and after[1]["videoId"] != state["videoId"]:
                switched.add(after[0] - 1)  # that measure is a switch to another video
            if second is not None and done % 3 == 0:
                other = second.evaluate("() => heatersReview.state()")
                if other is not None:
                    second.keyboard.press(_key_for(other, "a"))
                    second_done += 1
                    second.wait_for_function("() => heatersReview.busy() === 0")
            if page.evaluate("() => heatersReview.state() === null"):
                break  # the queue ran dry
        page.wait_for_function("() => heatersReview.busy() === 0")
        metrics: list[dict[str, Any]] = page.evaluate("() => heatersReview.metrics()")
        resources: list[dict[str, Any]] = page.evaluate(RESOURCES_JS)
        lost: list[dict[str, Any]] = page.evaluate("() => heatersReview.lost()")
        swaps = page.evaluate("() => heatersReview.swaps ? heatersReview.swaps() : null")
        load_after = os.getloadavg()
        aborted_in_review, proxy_in_review = list(aborted), len(proxy_requests)
        trace = page.evaluate("() => window.__mediaTrace || []") if args.trace_media else []
        at.update(action=done, key="(after the review)", t=time.monotonic())
        looped: dict[str, Any] = {}
        if args.loop_seconds and page.evaluate("() => heatersReview.state() !== null"):
            # One clip looping, nothing else: count the proxy's requests (and aborts).
            page.keyboard.press("l")
            page.wait_for_function("() => heatersReview.state().paused === false")
            page.wait_for_timeout(1000)  # the loop under way (not a correctness wait)
            n0, a0 = len(proxy_requests), len(aborted)
            page.wait_for_timeout(args.loop_seconds * 1000)
            looped = {
                "loop_seconds": args.loop_seconds,
                "loop_proxy_requests": len(proxy_requests) - n0,
                "loop_requests_per_second": round(
                    (len(proxy_requests) - n0) / args.loop_seconds, 2
                ),
                "loop_aborted": len(aborted) - a0,
            }
        compared: dict[str, list[float]] = {}
        on_screen = page.evaluate("() => heatersReview.state() && heatersReview.state().videoId")
        if compare and on_screen == compare["video_id"]:  # the player holds the long video
            page.keyboard.press("k")  # pause: the comparison seeks the paused player
            compared = page.evaluate(COMPARE_JS, compare)
        browser.close()
    panel = [m["panel"] for m in metrics]
    frame = [m["frame"] for m in metrics]
    decided = [m for m in metrics if m["kind"] in DECISIONS]
    kinds: dict[str, list[dict[str, Any]]] = {}
    for i, m in enumerate(metrics):
        kinds.setdefault("video_switch" if i in switched else m["kind"], []).append(m)
    by_kind = {
        kind: {
            "n": len(ms),
            "panel_p95_ms": _plain_stats("", [m["panel"] for m in ms])["p95_ms"],
            "first_frame_p95_ms": _plain_stats("", [m["frame"] for m in ms])["p95_ms"],
            "first_frame_max_ms": round(max(m["frame"] for m in ms), 1),
        }
        for kind, ms in sorted(kinds.items())
    }
    extra = [
        _plain_stats(f"{name}_ms_per_frame", values)
        for name, values in (
            ("webcodecs_fetch_decode_draw", compared.get("fetch_decode", [])),
            ("webcodecs_decode_draw", compared.get("decode", [])),
            ("video_seek_presented", compared.get("seek", [])),
        )
        if values
    ]
    return [
        _stats("panel", panel),
        _stats("first_frame", frame),
        _stats("panel", [m["panel"] for m in decided], "_decisions"),
        _stats("first_frame", [m["frame"] for m in decided], "_decisions"),
        *extra,
        request_stats(resources),
        {
            "bench": "review_browser",
            "metric": "counts",
            "decisions": decisions,
            "actions": done,
            "video_switches": len(switched),
            "second_reviewer_actions": second_done,
            "stuck": stuck,
            "measured": len(metrics),
            "measured_decisions": len(decided),
            "corrected": sum(1 for m in metrics if m.get("corrected")),
            "aborted_requests": len(aborted_in_review),
            "aborted_per_action": round(len(aborted_in_review) / max(1, done), 3),
            "aborted_by_kind": _aborted_by_kind(aborted_in_review),
            "aborted": aborted_in_review[:20],
            "proxy_requests": proxy_in_review,
            "by_kind": by_kind,
            "player_swaps": swaps,
            **looped,
            "page_errors": errors,
            "unmeasured": lost,
            "dwell_ms": args.dwell_ms,
            **({"media_trace": trace, "proxy_trace": requested} if args.trace_media else {}),
            "load_average": {  # 1, 5, 15 min, when the review began and ended
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in load_after],
            },
        },
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--decisions", type=int, default=100,
        help="review until the first reviewer has made this many decisions (A / S / X)",
    )  # fmt: skip
    ap.add_argument(
        "--max-actions", type=int, default=400, help="stop after this many keys in any case"
    )
    ap.add_argument(
        "--trace-media", action="store_true",
        help="print every media event of both players (diagnosing aborted requests)",
    )  # fmt: skip
    ap.add_argument(
        "--pieces", type=int, default=5,
        help="short videos cut from the sample, reviewed first (jumps between videos)",
    )  # fmt: skip
    ap.add_argument("--copies", type=int, default=6)
    ap.add_argument("--dwell-ms", type=int, default=400)
    ap.add_argument(
        "--chromium", default=os.environ.get("HEATERS_TEST_CHROMIUM", "/usr/bin/chromium")
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary HEATERS_HOME")
    ap.add_argument(
        "--second-reviewer", action=argparse.BooleanOptionalAction, default=True,
        help="a second reviewer approves a clip after every third key of the first",
    )  # fmt: skip
    ap.add_argument(
        "--loop-seconds", type=int, default=12,
        help="after the review, let one clip loop this long and count the proxy requests (0: no)",
    )  # fmt: skip
    ap.add_argument(
        "--compare", type=int, default=40, help="frames decoded both ways at the end (0: none)"
    )
    ap.add_argument(
        "--home", help="use (and keep) this HEATERS_HOME; a video detected there is reused"
    )
    args = ap.parse_args()

    if args.home:
        home = Path(args.home)
        home.mkdir(parents=True, exist_ok=True)
    else:
        home = Path(tempfile.mkdtemp(prefix="heaters-bench-review-"))
        if not args.keep:  # registered first, so it runs after the database has stopped
            atexit.register(shutil.rmtree, home, ignore_errors=True)
    # This process starts the embedded Postgres of the temporary home and holds it until it
    # exits; the heaters processes join it through DATABASE_URL.
    os.environ.pop("DATABASE_URL", None)
    os.environ["HEATERS_HOME"] = str(home)
    from heaters.config import get_settings
    from heaters.db.connection import database_url

    get_settings.cache_clear()
    db_url = database_url()
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    try:
        done_before = 0
        if args.home and _sql(db_url, "SELECT to_regclass('clips') IS NOT NULL")[0][0]:
            done_before = _sql(db_url, "SELECT count(*) FROM clips")[0][0]
        if not done_before:
            video = concat_sample(args.copies, home / f"bbb_x{args.copies}.mp4")
            sources = [*cut_pieces(args.pieces, home), SAMPLE, video]  # the queue's order
            t0 = time.monotonic()
            done = subprocess.run(
                _heaters("ingest", *map(str, sources), "--wait", "--json"),
                env=env, capture_output=True, text=True, cwd=ROOT,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"ingest failed: {done.stderr[-2000:]}")
            infos = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
            clips = [c for info in infos for c in info["clips"]]
            shots = [c for c in clips if not c.get("is_transition")]
            print(
                json.dumps({
                    "bench": "review_browser", "metric": "setup",
                    "videos_seconds": [info["duration_seconds"] for info in infos],
                    "frames": sum(info["frame_count"] for info in infos),
                    "clips": len(clips), "reviewable": len(shots),
                    "ingest_seconds": round(time.monotonic() - t0, 1),
                }),
                flush=True,
            )  # fmt: skip
        for user in ("bench", "bench2"):
            subprocess.run(  # (again: the same password)
                _heaters("user", "add", user, "--password-stdin"),
                input=PASSWORD + "\n", env=env, text=True, check=True, capture_output=True,
                cwd=ROOT,
            )  # fmt: skip
        worker = subprocess.Popen(
            _heaters("worker"), env=env, cwd=ROOT,
            stdout=(logs / "worker.out").open("wb"), stderr=(logs / "worker.err").open("wb"),
        )  # fmt: skip
        procs.append(worker)
        deadline = time.monotonic() + 600
        while _sql(
            db_url,
            "SELECT count(*) FROM clips c WHERE NOT EXISTS (SELECT 1 FROM clip_artifacts a "
            "WHERE a.clip_id = c.id AND a.kind = 'sprite')",
        )[0][0]:
            if time.monotonic() > deadline:
                raise SystemExit("sprites were not made within 600 s")
            time.sleep(1)
        port = _free_port()
        web = subprocess.Popen(
            _heaters("web", "--host", "127.0.0.1", "--port", str(port)), env=env, cwd=ROOT,
            stdout=(logs / "web.out").open("wb"), stderr=(logs / "web.err").open("wb"),
        )  # fmt: skip
        procs.append(web)
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/login", web)
        compare = webcodecs_samples(home, db_url, args.compare) if args.compare else None
        for line in review(base, args, compare):
            print(json.dumps(line), flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if args.keep or args.home:
            print(f"kept {home}", file=sys.stderr)


if __name__ == "__main__":
    main()
