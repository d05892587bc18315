// Heaters review page: one player, editor keys, the whole video as a timeline.
//
// One <video> (#player, outside the swapped #panel) plays every clip of a video from one
// proxy load: moving to another clip seeks, it never reloads the source; a second, hidden
// <video> loads the next video's proxy ahead, and a move to that video swaps the two
// elements (the one shown is always #player). Clip panels are
// HTML fragments the page prefetches (GET /review/clips/{id}/panel) and swaps in at once;
// a decision moves to the predicted next clip straight away and POSTs in the background
// (one request at a time, in order); the answer says which clip the server claimed for the
// reviewer and which decisions are still settling (the countdowns; undo takes them back).
//
// Frames: frame k is shown by seeking to pts[k - start] + a tiny epsilon from the clip's PTS
// list (data-pts, from the proxy's frame index), never frame / fps; the presented frame is
// read back from requestVideoFrameCallback's mediaTime.
(() => {
  "use strict";

  const $ = (sel, root = document) => root.querySelector(sel);
  const now = () => performance.now();

  const R = {
    video: null,
    standby: null, // the hidden second <video>: the next video's proxy, loaded ahead
    keeper: null, // a hidden <video> on the player's proxy, parked on the clip before (cache)
    standbyKeeper: null, // the standby's keeper
    frameCallback: null, // the player's requestVideoFrameCallback handle
    swaps: 0, // moves to another video shown by the standby (no source loaded)
    playAfter: null, // the clip that plays once its first frame is presented (playWhenShown)
    playTimer: 0,
    clip: null, // the clip on screen (from #panel's data attributes)
    shown: null, // the clip the player last loaded (loadPlayer)
    frame: 0,
    seekTarget: null,
    presented: null,
    mediaTime: null,
    shuttle: 1, // 0 paused; 1, 2, 4 forward; -1, -2, -4 backwards
    reverseTimer: 0,
    loopTimer: 0,
    cache: new Map(), // clip id -> {html, at}
    epoch: 0, // bumped when every prefetched panel is dropped
    gens: new Map(), // clip id -> bumped when that clip's prefetched panel is dropped
    inflight: new Map(), // clip id -> Promise<html>
    queue: Promise.resolve(), // actions, one at a time, in order
    seq: 0, // navigation sequence: a late answer never overrides a later move
    timeline: null, // {video, clips}
    timelineText: null, // the timeline's last answer, as sent (a poll that changes nothing renders nothing)
    view: null, // the zoomed timeline: {start, span} in frames; null: the whole video
    pinned: false, // the reviewer panned or zoomed with the wheel: the view does not follow the playhead
    drag: null, // a cut being dragged on the timeline
    settling: [], // [{event_id, action, clip_ids, deadline}]
    clockOffset: 0, // server time - browser time, ms
    metrics: [], // [{kind, key, t0, panel, frame}]
    lost: [], // measurements a later key replaced before they completed (bench diagnostics)
    pending: null, // the measurement waiting for its panel / first frame
    busy: 0, // actions sent and not answered yet (or answered, their clip not shown yet)
    renewTimer: 0,
    guess: null, // {after, id}: the clip the server reserved for this page after clip `after` (id null: none left)
    onShown: [], // what waits for the clip on screen to show its first frame (whenShown)
  };

  // ---------------------------------------------------------------- small helpers

  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (_) {
      return "";
    }
  }

  function layout() {
    return document.getElementById("review");
  }

  function settleSeconds() {
    const l = layout();
    return l ? Number(l.dataset.settleSeconds || 60) : 60;
  }

  function claimSeconds() {
    const l = layout();
    return l ? Number(l.dataset.claimSeconds || 600) : 600;
  }

  function flash(message, kind) {
    const box = document.getElementById("flash");
    if (!box) return;
    const p = document.createElement("p");
    p.className = `flash-item flash-${kind || "ok"}`;
    p.setAttribute("role", kind === "error" ? "alert" : "status");
    p.textContent = message;
    box.prepend(p);
    trimFlash();
  }

  function trimFlash() {
    const box = document.getElementById("flash");
    if (!box) return;
    box.querySelectorAll(".flash-item").forEach((el, i) => {
      el.classList.toggle("old", i > 0);
      if (i >= 4) el.remove();
    });
  }

  async function post(url, fields) {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields || {})) {
      if (v !== null && v !== undefined && v !== "") body.set(k, String(v));
    }
    let resp;
    try {
      resp = await fetch(url, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrf(), Accept: "application/json", "X-Heaters-Panel": "1" },
        credentials: "same-origin",
      });
    } catch (err) {
      return { ok: false, status: 0, data: { detail: "the server did not answer: check that it runs, then try again" } };
    }
    let data = {};
    try {
      data = await resp.json();
    } catch (_) {
      data = {};
    }
    if (resp.status === 401) {
      window.location.href = "/login?next=" + encodeURIComponent(location.pathname);
    }
    // A refusal comes as 200 with ok: false and its status in the body (no console noise).
    if (resp.ok && data && data.ok === false) return { ok: false, status: data.status_code, data };
    return { ok: resp.ok, status: resp.status, data };
  }

  // ---------------------------------------------------------------- frames and the player

  // Largest i with pts[i] <= t (+ a little slack for float rounding); -1 when before pts[0].
  function indexAt(pts, t) {
    let lo = 0;
    let hi = pts.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (pts[mid] <= t + 1e-4) {
        ans = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return ans;
  }

  function frameDuration(c, i) {
    if (i + 1 < c.pts.length) return c.pts[i + 1] - c.pts[i];
    return 1 / (c.fps || 25);
  }

  function epsilon(c, i) {
    return Math.min(0.001, frameDuration(c, i) / 4);
  }

  function showFrame(frame) {
    const c = R.clip;
    if (!c) return;
    R.frame = frame;
    const i = frame - c.start;
    const no = document.getElementById("frame-no");
    if (no) no.textContent = String(frame);
    const out = document.getElementById("frame-readout");
    if (out) {
      const t = i < c.pts.length ? c.pts[i].toFixed(3) : "?";
      out.textContent = `frame ${frame} · ${i + 1} / ${c.n} · ${t} s`;
    }
    const scrub = document.getElementById("scrub");
    if (scrub && document.activeElement !== scrub) scrub.value = String(frame);
    const hidden = document.getElementById("split-frame");
    if (hidden) hidden.value = String(frame);
    const label = document.getElementById("split-label");
    if (label) label.textContent = String(frame);
    markPlayhead(frame);
  }

  function seekFrame(frame) {
    const c = R.clip;
    if (!c || !R.video) return;
    frame = Math.max(c.start, Math.min(c.end - 1, frame));
    const i = frame - c.start;
    if (i < c.pts.length && R.video.readyState >= 1) R.video.currentTime = c.pts[i] + epsilon(c, i);
    // Until this frame is on screen, callbacks of frames presented by earlier seeks must not
    // move the frame number (fast key repeats): the user's target wins.
    R.seekTarget = frame;
    showFrame(frame);
  }

  function setRateBadge() {
    const b = document.getElementById("rate-badge");
    if (b) {
      const s = R.shuttle;
      b.textContent = s === 0 || s === 1 ? "" : s > 0 ? `▶▶ ${s}×` : `◀◀ ${-s}×`;
    }
    const icon = $(".transport .icon-play");
    if (icon) icon.textContent = R.shuttle === 0 ? "▶" : "❚❚";
  }

  function stopReverse() {
    clearTimeout(R.reverseTimer);
    R.reverseTimer = 0;
  }

  function setShuttle(s) {
    const v = R.video;
    R.shuttle = s;
    R.playAfter = null; // the reviewer's choice (or the clip's first frame came): no auto-play
    clearTimeout(R.playTimer);
    stopReverse();
    clearTimeout(R.loopTimer);
    setRateBadge();
    if (!v || !R.clip) return;
    if (s === 0) {
      v.pause();
      return;
    }
    if (s > 0) {
      v.playbackRate = s;
      if (R.frame >= R.clip.end - 1) seekFrame(R.clip.start);
      v.play().catch(() => {});
      return;
    }
    // Backwards: <video> cannot play at a negative rate, so step back one frame at a time.
    v.pause();
    v.playbackRate = 1;
    const tick = () => {
      const c = R.clip;
      if (!c || R.shuttle >= 0) return;
      const next = R.frame <= c.start ? c.end - 1 : R.frame - 1;
      seekFrame(next);
      const i = next - c.start;
      R.reverseTimer = setTimeout(tick, (frameDuration(c, i) * 1000) / -R.shuttle);
    };
    tick();
  }

  function shuttleForward() {
    setShuttle(R.shuttle <= 0 ? 1 : Math.min(4, R.shuttle * 2));
  }

  function shuttleBackward() {
    setShuttle(R.shuttle >= 0 ? -1 : Math.max(-4, R.shuttle * 2));
  }

  function togglePlay() {
    setShuttle(R.shuttle === 0 ? 1 : 0);
  }

  function step(delta) {
    if (!R.clip) return;
    R.pinned = false;
    setShuttle(0);
    seekFrame(R.frame + delta);
  }

  function restartLoop() {
    // Last frame of the clip is on screen: hold it for its duration, then back to the start.
    const c = R.clip;
    R.video.pause();
    clearTimeout(R.loopTimer);
    const clip = c;
    R.loopTimer = setTimeout(() => {
      if (R.clip !== clip || R.shuttle <= 0) return;
      seekFrame(c.start);
      R.video.play().catch(() => {});
    }, (frameDuration(c, c.n - 1) * 1000) / (R.video.playbackRate || 1));
  }

  function onVideoFrame(_now, meta) {
    const v = R.video;
    R.frameCallback = v.requestVideoFrameCallback(onVideoFrame);
    const c = R.clip;
    if (!c) return;
    R.mediaTime = meta.mediaTime;
    const i = indexAt(c.pts, meta.mediaTime);
    // A frame outside the clip (a late frame of the clip before): not ours.
    if (i < 0 || i > c.n) return;
    R.presented = c.start + i;
    if (R.onShown.length) flushShown();
    // The metric's first frame: the clip's first frame presented after the page seeked there
    // (its first or second frame: requestVideoFrameCallback may skip the seeked frame when
    // playback starts on the same vsync).
    if (R.pending && R.pending.clipId === c.id && R.pending.frame === null && R.pending.seeked && i <= 1) {
      R.pending.frame = now();
      finishMetric();
    }
    if (R.playAfter === c && i <= 1) resumePlay(c);
    if (R.seekTarget !== null) {
      if (R.presented === R.seekTarget || !v.paused) R.seekTarget = null;
      else return;
    }
    const frame = c.start + Math.min(i, c.n);
    if (frame >= c.end) {
      if (!v.paused) seekFrame(c.start); // past the clip while playing: back at once
      return;
    }
    showFrame(frame);
    if (R.shuttle > 0 && !v.paused && frame === c.end - 1) restartLoop();
  }

  // Run `fn` once the clip on screen shows a frame (at the latest after 300 ms): the work a
  // move brings along (the claim, prefetches, the timeline) must not hold up its first frame.
  function whenShown(fn) {
    if (R.presented !== null) {
      setTimeout(fn, 0);
      return;
    }
    R.onShown.push(fn);
    if (R.onShown.length === 1) setTimeout(flushShown, 300);
  }

  function flushShown() {
    const fns = R.onShown;
    R.onShown = [];
    for (const fn of fns) setTimeout(fn, 0);
  }

  function loadPlayer(c) {
    const v = R.video;
    if (!v) return;
    const left = R.shown; // the clip the player showed until now
    R.shown = c;
    stopReverse();
    clearTimeout(R.loopTimer);
    R.seekTarget = null;
    R.presented = null;
    R.mediaTime = null;
    const scrub = document.getElementById("scrub");
    if (scrub) {
      scrub.min = String(c.start);
      scrub.max = String(c.end - 1);
    }
    let swapped = false;
    const start = () => {
      if (R.clip !== c) return;
      const at = c.pts.length ? c.pts[0] + epsilon(c, 0) : null;
      if (swapped && R.shuttle !== 0 && at !== null && Math.abs(R.video.currentTime - at) < 1e-4 && R.video.readyState >= 2) {
        // The standby has this clip's first frame already: it plays from there (a seek to
        // where it is would present no new frame).
        if (R.pending && R.pending.clipId === c.id) R.pending.seeked = true;
        showFrame(c.start);
        setShuttle(R.shuttle > 0 ? R.shuttle : 1);
        return;
      }
      // Paused while it seeks, so the clip's first frame is presented; it plays from there
      // (a seek while playing let Chromium drop the first frames of a clip under load).
      R.video.pause();
      seekFrame(c.start);
      if (R.pending && R.pending.clipId === c.id) R.pending.seeked = true;
      if (R.shuttle !== 0) playWhenShown(c);
    };
    let player = v;
    if (c.proxy && v.getAttribute("src") !== c.proxy) {
      if (R.standby && R.standby.getAttribute("src") === c.proxy) {
        player = swapPlayers(); // a new video the standby has loaded already
        swapped = true;
      } else {
        v.setAttribute("src", c.proxy); // a new video: the only time the source changes
        keepWith(R.keeper, v);
        v.addEventListener("loadedmetadata", start, { once: true });
        return;
      }
    } else if (left && left.videoId === c.videoId && left.start < c.start) {
      whenShown(() => R.clip === c && parkKeeper(left)); // after the move's first frame (its decode)
    }
    if (player.readyState >= 1) start();
    else player.addEventListener("loadedmetadata", start, { once: true });
  }

  // Clip `c` plays (at the shuttle's speed) once its first frame is on screen, or after
  // 300 ms at the latest.
  function playWhenShown(c) {
    R.playAfter = c;
    clearTimeout(R.playTimer);
    R.playTimer = setTimeout(() => resumePlay(c), 300);
  }

  function resumePlay(c) {
    if (R.playAfter !== c) return;
    R.playAfter = null;
    clearTimeout(R.playTimer);
    if (R.clip === c && R.shuttle !== 0) setShuttle(R.shuttle > 0 ? R.shuttle : 1);
  }

  // ---------------------------------------------------------------- the keeper

  // Chromium's media cache pins only ~2 MB behind a player's read position and lets the rest
  // go at once, so ↑ to a clip a few seconds back found its bytes gone: a new range request
  // there, and both it and the paused read-ahead aborted (issue 21). A second, hidden element
  // on the same proxy shares that cache and pins the bytes around its own position: parked
  // on the clip the player left (a move forward), ↑ and the clip's loop find them cached.
  // It loads its proxy once its player has the file's header (see keepWith).
  function makeHidden(cls) {
    const v = R.video;
    const s = document.createElement("video");
    s.muted = true;
    s.playsInline = true;
    s.preload = "auto";
    s.className = cls;
    s.style.cssText = STANDBY_STYLE;
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("aria-label", v.getAttribute("aria-label") || "");
    v.after(s);
    return s;
  }

  // Keeper `k` loads the proxy of `el` once `el` has its metadata: then the response (206
  // with a strong ETag: cacheable) has put the proxy in Chromium's shared media cache and the
  // keeper reads the header from there. Set at once, both would ask for bytes 0- and Chromium
  // would drop one of the two requests when it merges them (aborted).
  function keepWith(k, el) {
    if (!k) return;
    const src = el.getAttribute("src");
    const go = () => {
      if (el.getAttribute("src") === src && k.getAttribute("src") !== src) k.setAttribute("src", src);
    };
    if (el.readyState >= 1) go();
    else el.addEventListener("loadedmetadata", go, { once: true });
  }

  // The keeper seeks to `c`'s first frame, where the bytes are cached (a clip just shown),
  // only within what it has buffered itself: a seek beyond would drop its own paused
  // read-ahead (an aborted request) after a jump far ahead; it stays where it is then.
  function parkKeeper(c) {
    const k = R.keeper;
    if (!k || !c.pts.length || k.getAttribute("src") !== R.video.getAttribute("src") || k.readyState < 1) return;
    const t = c.pts[0];
    if (Math.abs(k.currentTime - t) <= 1e-3) return;
    for (let i = 0; i < k.buffered.length; i++) {
      if (k.buffered.start(i) <= t && t <= k.buffered.end(i)) {
        k.currentTime = t;
        return;
      }
    }
  }

  // ---------------------------------------------------------------- the standby player

  // A second <video>, hidden, holds the proxy of the next video the page may show (that of
  // the clip reserved after this one, when it is in another video), loaded and seeked to
  // that clip's first frame; a move to that video swaps the two elements instead of loading
  // a source (issue 21: a new video's proxy was the tail of the keypress → first frame).
  const STANDBY_STYLE = "position:absolute;inset:0;visibility:hidden;pointer-events:none";

  function makeStandby() {
    const v = R.video;
    if (!v || R.standby) return;
    R.keeper = makeHidden("keeper");
    if (v.getAttribute("src")) keepWith(R.keeper, v);
    R.standbyKeeper = makeHidden("keeper");
    R.standby = makeHidden("standby");
    wireVideo(R.standby);
  }

  // Whether `el` has read the bytes of `pts` (seconds), with half a second to spare.
  function covered(el, pts) {
    const b = el.buffered;
    for (let i = 0; i < b.length; i += 1) if (b.start(i) <= pts && pts + 0.5 <= b.end(i)) return true;
    return el.duration > 0 && pts + 0.5 >= el.duration && b.length > 0 && b.end(b.length - 1) >= el.duration - 0.05;
  }

  // The standby (and its keeper) load `proxy` (unless the player shows it); the standby seeks
  // to `pts` (seconds) once its first request has read that far: a seek ahead of the bytes
  // read opens a second request, and Chromium cuts the first short when they meet (aborted).
  // A clip beyond the read-ahead is sought only when shown.
  function warmStandby(proxy, pts) {
    const s = R.standby;
    if (!s || !proxy || !R.video || R.video.getAttribute("src") === proxy) return;
    let tries = 0;
    const seek = () => {
      if (s.getAttribute("src") !== proxy || s === R.video || Math.abs(s.currentTime - pts) < 1e-4) return;
      if (covered(s, pts)) s.currentTime = pts;
      else if (s.networkState === HTMLMediaElement.NETWORK_LOADING && (tries += 1) < 100) setTimeout(seek, 30);
    };
    if (s.getAttribute("src") !== proxy) {
      s.setAttribute("src", proxy);
      keepWith(R.standbyKeeper, s);
      s.addEventListener("loadedmetadata", seek, { once: true });
    } else if (s.readyState >= 1) seek();
  }

  // The panel of the clip a move from the clip on screen most likely shows (the reserved
  // one, else the panel's next pending clip): in another video, its proxy goes to the standby.
  function warmNext() {
    const c = R.clip;
    const id = c && (reservedAfter(c) || c.nextPending);
    const e = id && cacheEntry(id);
    if (e && e.proxy && e.videoId !== c.videoId) warmStandby(e.proxy, e.firstPts);
  }

  // The standby becomes the player (id "player", shown, sound as the player had it) and the
  // player the standby; returns the new player.
  function swapPlayers() {
    const old = R.video;
    const v = R.standby;
    old.pause();
    if (R.frameCallback !== null && old.cancelVideoFrameCallback) old.cancelVideoFrameCallback(R.frameCallback);
    R.frameCallback = null;
    v.muted = old.muted;
    v.playbackRate = old.playbackRate;
    old.muted = true;
    old.removeAttribute("id");
    old.classList.add("standby");
    old.style.cssText = STANDBY_STYLE;
    old.setAttribute("aria-hidden", "true");
    v.id = "player";
    v.classList.remove("standby");
    v.style.cssText = "";
    v.removeAttribute("aria-hidden");
    R.video = v;
    R.standby = old;
    [R.keeper, R.standbyKeeper] = [R.standbyKeeper, R.keeper];
    R.swaps += 1;
    if ("requestVideoFrameCallback" in v) R.frameCallback = v.requestVideoFrameCallback(onVideoFrame);
    return v;
  }

  // Listeners of either element, acting only while it is the player.
  function wireVideo(el) {
    if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) {
      el.addEventListener("timeupdate", () => {
        const c = R.clip;
        if (!c || el !== R.video) return;
        const i = indexAt(c.pts, el.currentTime);
        if (i >= c.n) seekFrame(c.start);
        else if (i >= 0) showFrame(c.start + i);
      });
    }
    el.addEventListener("ended", () => {
      if (el === R.video && R.clip && R.shuttle > 0) {
        seekFrame(R.clip.start);
        el.play().catch(() => {});
      }
    });
  }

  // ---------------------------------------------------------------- panels and moving between clips

  function readClip(panel) {
    if (!panel || !panel.dataset.clipId) return null;
    const d = panel.dataset;
    const num = (x) => (x ? Number(x) : null);
    const c = {
      id: Number(d.clipId),
      videoId: Number(d.videoId),
      start: Number(d.start),
      end: Number(d.end),
      fps: Number(d.fps),
      pts: JSON.parse(d.pts || "[]"),
      proxy: d.proxy || "",
      state: d.state,
      changing: d.changing === "true", // decided: approve / skip / archive change the decision
      prevId: num(d.prevId),
      nextId: num(d.nextId),
      nextPending: num(d.nextPending),
      holder: d.holder || null,
      readonly: d.readonly === "true",
      eventId: num(d.eventId),
      spriteUrl: d.spriteUrl || null,
      sprite: d.sprite ? JSON.parse(d.sprite) : null,
      suggestions: JSON.parse(d.suggestions || "[]"), // [{frame, seconds, confidence, reason}]
    };
    c.n = c.end - c.start;
    return c;
  }

  function setupPanel(opts) {
    const panel = document.getElementById("panel");
    const l = layout();
    const c = readClip(panel);
    if (l) l.classList.toggle("no-clip", !c);
    if (!c) {
      R.clip = null;
      if (R.video) R.video.pause();
      stopReverse();
      return;
    }
    const sameClip = R.clip && R.clip.id === c.id && R.clip.start === c.start && R.clip.end === c.end;
    R.clip = c;
    if (!sameClip) R.pinned = false;
    if (!sameClip) loadPlayer(c);
    if (R.pending && R.pending.clipId === c.id && R.pending.panel === null) {
      requestAnimationFrame(() => {
        if (R.pending && R.pending.clipId === c.id && R.pending.panel === null) {
          R.pending.panel = now();
          finishMetric();
        }
      });
    }
    if (location.pathname !== `/review/clips/${c.id}` && location.pathname.startsWith("/review")) {
      history.replaceState(null, "", `/review/clips/${c.id}`);
    }
    renderFilmstrip();
    // Loaded again for another video only: a decision reloads it once answered, the poll
    // follows other reviewers, and a move must not send the server a whole video's clips.
    loadTimeline(c.videoId, false);
    markCurrent();
    prefetchAround(c);
    if (!(opts && opts.noClaim)) whenShown(() => R.clip === c && claim(c));
    startRenew();
  }

  function panelUrl(id) {
    return `/review/clips/${id}/panel`;
  }

  // A panel fetched before an action changed its clip must not be cached after it: every
  // fetch remembers the generation it started in (forget/invalidate move it on).
  function generation(id) {
    return `${R.epoch}:${R.gens.get(id) || 0}`;
  }

  function fetchPanel(id) {
    const gen = generation(id);
    const running = R.inflight.get(id);
    if (running && running.gen === gen) return running.p;
    const p = fetch(panelUrl(id), { headers: { "X-Heaters-Panel": "1" }, credentials: "same-origin" })
      .then(async (r) => {
        if (!r.ok) throw new Error(`clip ${id}: ${r.status}`);
        const html = await r.text();
        if (gen === generation(id)) {
          R.cache.set(id, { html, at: Date.now(), ...panelMeta(html) });
          warmNext();
        }
        return html;
      })
      .finally(() => {
        if (R.inflight.get(id) && R.inflight.get(id).p === p) R.inflight.delete(id);
      });
    R.inflight.set(id, { p, gen });
    return p;
  }

  function cacheEntry(id) {
    const e = R.cache.get(id);
    if (!e) return null;
    if (Date.now() - e.at > 30000) {
      R.cache.delete(id);
      return null;
    }
    return e;
  }

  function cached(id) {
    const e = cacheEntry(id);
    return e ? e.html : null;
  }

  // The state and holder a panel was rendered with (its <section> tag's data attributes;
  // attribute values are HTML-escaped, so the tag ends at the first ">").
  function panelMeta(html) {
    const at = html.indexOf("<section");
    const tag = at < 0 ? "" : html.slice(at, html.indexOf(">", at));
    const attr = (name) => {
      const m = new RegExp(`data-${name}="([^"]*)"`).exec(tag);
      return m ? m[1] : null;
    };
    const pts = /^\[\s*([0-9.eE+-]+)(?:\s*,\s*([0-9.eE+-]+))?/.exec(attr("pts") || "");
    const first = pts ? Number(pts[1]) : 0;
    const step = pts && pts[2] !== undefined ? Number(pts[2]) - first : 0.04;
    return {
      state: attr("state"),
      readonly: attr("readonly") === "true",
      videoId: Number(attr("video-id")),
      proxy: (attr("proxy") || "").replace(/&amp;/g, "&"),
      firstPts: first + Math.min(0.001, step / 4), // as seekFrame: just past the frame's PTS
    };
  }

  function me() {
    const l = layout();
    return l ? l.dataset.user : null;
  }

  function timelineClip(id) {
    return (R.timeline && R.timeline.clips.find((x) => x.id === id)) || null;
  }

  // The prefetched panel of clip `id` when it may be shown as the next clip: rendered
  // pending and not held by another reviewer, and the timeline (polled, reloaded after
  // every action) does not know better. A guess decided meanwhile is never shown.
  function guessable(id) {
    const e = cacheEntry(id);
    if (!e || e.state !== "pending_review" || e.readonly) return null;
    const t = timelineClip(id);
    if (t && (t.state !== "pending_review" || (t.held_by && t.held_by !== me()))) return null;
    return e.html;
  }

  // The clip the server reserved for this page after clip `after` (the answer to a decision
  // or a claim: web/review_guess.py): no other reviewer's queue takes it, so a decision on
  // `after` shows it at once; its panel is fetched now.
  function takeGuess(after, id) {
    R.guess = { after, id: id || null };
    if (id && !cached(id)) fetchPanel(id).catch(() => {});
    else warmNext();
  }

  // The reserved clip after `c`: its id, null when none is left, undefined when unknown.
  function reservedAfter(c) {
    return R.guess && R.guess.after === c.id ? R.guess.id : undefined;
  }

  // The timeline's next pending shots after `c` that no other reviewer holds.
  function pendingAfter(c, n) {
    if (!R.timeline || R.timeline.video.id !== c.videoId) return [];
    const mine = (t) => !t.held_by || t.held_by === me();
    return R.timeline.clips.filter((t) => t.start > c.start && !t.transition && t.state === "pending_review" && mine(t)).slice(0, n);
  }

  // The clip a decision on `c` shows at once: the clip reserved for this page (when its
  // panel is here; none when nothing is left), else the panel's guess (data-next-pending)
  // when it still holds, else the timeline's next pending clip after `c` with a usable panel.
  function nextGuess(c) {
    const reserved = reservedAfter(c);
    if (reserved !== undefined) return reserved && guessable(reserved) ? reserved : null;
    if (c.nextPending && guessable(c.nextPending)) return c.nextPending;
    const after = pendingAfter(c, 2).find((t) => guessable(t.id));
    return after ? after.id : null;
  }

  function prefetchAround(c) {
    // The clip a decision leads to, at once (a quick key must find it); the others when idle.
    const first = reservedAfter(c) || c.nextPending;
    if (first && !cached(first)) fetchPanel(first).catch(() => {});
    const after = pendingAfter(c, 1)[0];
    const ids = [after && after.id, c.nextId, c.prevId].filter((x) => x && x !== first && !cached(x));
    const go = () => {
      for (const id of ids) fetchPanel(id).catch(() => {});
      // The sprite sheets of the clips around (neighbour cards, the next filmstrip).
      for (const id of [c.nextPending, c.nextId]) {
        const tl = R.timeline && R.timeline.clips.find((x) => x.id === id);
        if (tl && tl.sprite_url) new Image().src = tl.sprite_url;
      }
    };
    whenShown(go);
  }

  function swapPanel(html, opts) {
    const old = document.getElementById("panel");
    if (!old) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    const fresh = tpl.content.firstElementChild;
    if (!fresh) return;
    old.replaceWith(fresh);
    setupPanel(opts); // first: it starts the player's seek
    if (window.htmx) window.htmx.process(fresh);
  }

  // Show clip `id`: from the prefetched panel at once, else fetched. Resolves when shown.
  async function goto(id, opts) {
    if (!id) return;
    const seq = ++R.seq;
    const html = !(opts && opts.fresh) && cached(id);
    if (html) {
      swapPanel(html, opts);
      return;
    }
    try {
      const got = await fetchPanel(id);
      if (seq === R.seq) swapPanel(got, opts);
    } catch (err) {
      flash(`could not load clip ${id}: ${err.message}`, "error");
    }
  }

  // The reviewer's next clip from the server's queue (claimed there); with `afterVideo`,
  // the first undecided clip of a later video. With `metric` ({kind, e}: a key) the move
  // is measured like any other, to the clip the server gives.
  async function gotoNext(opts, afterVideo, metric) {
    const seq = ++R.seq;
    if (metric) startMetric(metric.kind, metric.e, null);
    const pending = R.pending;
    const url = afterVideo ? `/review/next?after_video=${afterVideo}` : "/review/next";
    const r = await fetch(url, { headers: { "X-Heaters-Panel": "1" }, credentials: "same-origin" });
    const html = r.ok && seq === R.seq ? await r.text() : "";
    const m = /data-clip-id="(\d+)"/.exec(html);
    if (metric && R.pending === pending && pending) {
      if (m && seq === R.seq) pending.clipId = Number(m[1]);
      else R.pending = null; // nothing left, or overtaken by a later key: no measure
    }
    if (html && seq === R.seq) swapPanel(html, { ...(opts || {}), noClaim: true });
  }

  // The queue of decided clips the page goes through (skipped, archived, approved,
  // low_confidence), or "" for the undecided clips (the session's queue choice).
  function browsing() {
    const l = layout();
    return l ? l.dataset.browse || "" : "";
  }

  // The next clip of that queue after `c` (from the first again past the last).
  async function gotoBrowse(c, opts) {
    const kind = browsing();
    const seq = ++R.seq;
    const after = c ? `&after=${c.id}` : "";
    const r = await fetch(`/review/browse?kind=${kind}${after}`, { headers: { "X-Heaters-Panel": "1" }, credentials: "same-origin" });
    if (!r.ok) {
      flash(`no ${kind.replace("_", "-")} clips left`, "error");
      return;
    }
    if (seq === R.seq) swapPanel(await r.text(), opts);
  }

  function refreshPanel() {
    if (!R.clip) return Promise.resolve();
    R.cache.delete(R.clip.id);
    return goto(R.clip.id, { fresh: true, noClaim: true });
  }

  function invalidate() {
    R.cache.clear();
    R.epoch += 1;
  }

  function forget(ids) {
    for (const id of ids) {
      R.cache.delete(id);
      R.gens.set(id, (R.gens.get(id) || 0) + 1);
    }
  }

  // ---------------------------------------------------------------- hard claims

  // Claims go out one at a time, in the order of the moves, and one whose clip is no longer
  // on screen is dropped: two in flight at once could be answered out of order, and the
  // later answer (a claim drops the reviewer's other claims) would leave the clip on
  // screen unclaimed.
  let claims = Promise.resolve();
  function claim(c) {
    claims = claims.then(() => claimNow(c)).catch(() => {});
    return claims;
  }

  async function claimNow(c) {
    if (!c || c.state !== "pending_review" || R.clip !== c) return;
    const r = await post(`/review/clips/${c.id}/claim`);
    if (!r.ok || R.clip !== c) return;
    if (!r.data.readonly && r.data.guess !== undefined) takeGuess(c.id, r.data.guess);
    if (r.data.readonly && !c.readonly) {
      flash(`clip ${c.id} is open read-only: ${r.data.held_by} is reviewing it`, "pending");
      refreshPanel();
    }
  }

  function startRenew() {
    clearInterval(R.renewTimer);
    const every = Math.max(5, claimSeconds() / 3) * 1000;
    R.renewTimer = setInterval(() => {
      const c = R.clip;
      if (c && !c.readonly && c.state === "pending_review") {
        claims = claims
          .then(() => (R.clip === c ? post(`/review/clips/${c.id}/claim`) : null))
          .then((r) => {
            if (r && r.ok && R.clip === c && !r.data.readonly && r.data.guess !== undefined) takeGuess(c.id, r.data.guess);
          })
          .catch(() => {});
      }
    }, every);
  }

  window.addEventListener("pagehide", () => {
    const c = R.clip;
    if (!c || c.readonly || !navigator.sendBeacon) return;
    const body = new URLSearchParams({ _csrf_token: csrf(), clip_id: String(c.id) });
    navigator.sendBeacon("/review/release", body);
  });

  // ---------------------------------------------------------------- actions

  function button(action) {
    const panel = document.getElementById("panel");
    return panel && panel.querySelector(`[data-action="${action}"]`);
  }

  function refused(action) {
    const btn = button(action);
    if (!btn) return `${action}: not available here`;
    if (btn.disabled) return `${action}: ${btn.title || "not available for this clip"}`;
    return null;
  }

  function enqueue(fn) {
    R.busy += 1;
    const run = R.queue.then(fn, fn).finally(() => {
      R.busy -= 1;
    });
    R.queue = run.catch(() => {});
    return run;
  }

  function startMetric(kind, e, clipId) {
    const p = R.pending;
    if (p) R.lost.push({ kind: p.kind, clipId: p.clipId, panel: p.panel !== null, frame: p.frame !== null, seeked: p.seeked, shown: R.clip ? R.clip.id : null });
    R.pending = { kind, t0: e && e.timeStamp ? e.timeStamp : now(), clipId, panel: null, frame: null, seeked: false };
  }

  function finishMetric() {
    const p = R.pending;
    if (!p || p.panel === null || p.frame === null) return;
    R.metrics.push({ kind: p.kind, clipId: p.clipId, t0: p.t0, panel: p.panel - p.t0, frame: p.frame - p.t0, corrected: !!p.corrected });
    R.pending = null;
  }

  // The guess shown at once was not the clip the server gave (taken meanwhile): the measure
  // of the key runs on until the right clip `to` is shown (a wrong clip on screen is no answer).
  function retarget(from, to) {
    let t0 = R.pending && R.pending.clipId === from ? R.pending : null;
    const last = R.metrics[R.metrics.length - 1];
    if (!t0 && last && last.clipId === from) t0 = R.metrics.pop();
    if (t0) R.pending = { kind: t0.kind, t0: t0.t0, clipId: to, panel: null, frame: null, seeked: false, corrected: true };
  }

  async function answered(r, what) {
    if (r.ok) {
      const d = r.data;
      flash(d.message || `${what}: done`, d.settles_at ? "pending" : "ok");
      if (d.settling) setSettling(d.settling, d.now);
      return d;
    }
    const detail = (r.data && (r.data.detail || r.data.message)) || `${what} failed (${r.status})`;
    if (r.status === 409) {
      // A stale page: someone (or an earlier key) acted first. Show the right clip.
      flash(`${detail} — showing your next clip`, "error");
      invalidate();
      await gotoNext();
    } else {
      flash(detail, "error");
    }
    return null;
  }

  function decision(action, e) {
    const c = R.clip;
    if (!c) return;
    const why = refused(action);
    if (why) {
      flash(why, "error");
      return;
    }
    const predicted = browsing() ? null : nextGuess(c);
    const optimistic = predicted !== null;
    // Not shown yet (its panel is still on the way): the server claims it all the same and
    // answers with its panel.
    const reserved = optimistic || browsing() ? null : reservedAfter(c) || null;
    const change = c.changing; // the clip was shown decided: this replaces its decision
    c.state = "deciding";
    markTimelineState(c.id, action === "skip" ? "review_skipped" : action === "archive" ? "review_archived" : "review_approved");
    if (optimistic) {
      startMetric(action, e, predicted);
      goto(predicted, { noClaim: true });
    }
    const seq = R.seq;
    enqueue(async () => {
      const then = optimistic ? predicted : reserved || "";
      const r = await post(`/review/clips/${c.id}/${action}`, { then, shown: optimistic ? 1 : "", change: change ? 1 : "", browse: browsing() ? 1 : "" });
      const d = await answered(r, action);
      // A decision changes only its own clips: the other prefetched panels stay usable.
      if (d) {
        forget([c.id, ...(d.clip_ids || [])]);
        const label = DECIDED_AS[action];
        for (const id of d.clip_ids || [c.id]) {
          document.querySelectorAll(`#panel .neighbour[data-goto="${id}"] .badge`).forEach((b) => {
            b.className = `badge state-review_${label}`;
            b.textContent = label;
          });
        }
      } else invalidate();
      whenShown(() => loadTimeline(c.videoId, true));
      if (!d) return;
      const show = d.show_clip_id;
      const onScreen = R.clip && R.clip.id;
      if (show && d.guess !== undefined) takeGuess(show, d.guess);
      if (browsing() && seq === R.seq) {
        await gotoBrowse(c); // looking again: the queue's next clip
      } else if (seq === R.seq && show !== onScreen) {
        if (show) {
          if (!optimistic) startMetric(action, e, show);
          else retarget(predicted, show);
          if (d.panel) {
            R.seq += 1; // as goto: a later answer must not override it
            swapPanel(d.panel, { noClaim: true }); // the server sent it with the answer
          } else await goto(show, { noClaim: true, fresh: true });
        } else {
          await gotoNext();
        }
      } else if (R.clip && (d.clip_ids || []).includes(R.clip.id)) {
        await refreshPanel(); // the reviewer went back to a clip this decision changed
      } else if (R.clip) {
        prefetchAround(R.clip);
      }
    });
  }

  function edit(action, fields, refuseAs) {
    const c = R.clip;
    if (!c) return;
    const why = refused(refuseAs || action);
    if (why) {
      flash(why.replace(refuseAs || action, action.replace("_", " ")), "error");
      return;
    }
    enqueue(() => editOf(c, action, fields));
  }

  async function editOf(c, action, fields) {
    const r = await post(`/review/clips/${c.id}/${action}`, fields);
    const d = await answered(r, action.replace("_", " "));
    invalidate();
    loadTimeline(c.videoId, true);
    if (!d) return;
    const onScreen = R.clip && R.clip.id;
    if (d.show_clip_id && d.show_clip_id !== onScreen) await goto(d.show_clip_id, { noClaim: true, fresh: true });
    else if (!d.show_clip_id) await gotoNext();
    else await refreshPanel();
  }

  // Split (blade) at `frame`, the current frame by default.
  function split(frame) {
    if (!R.clip) return;
    edit("split", { frame: frame === undefined ? R.frame : frame });
  }

  // A boundary suggestion (a candidate cut the detector rejected) in the clip on screen:
  // the one nearest the playhead (of two as near, the later one).
  function nearestSuggestion() {
    const c = R.clip;
    if (!c || !c.suggestions.length) return null;
    let best = null;
    for (const sg of c.suggestions) {
      if (!best || Math.abs(sg.frame - R.frame) <= Math.abs(best.frame - R.frame)) best = sg;
    }
    return best;
  }

  // Accepting a suggestion is the split at its frame (the same edit, undoable the same way).
  function acceptSuggestion(frame) {
    const c = R.clip;
    if (!c) return;
    const sg = frame === undefined ? nearestSuggestion() : c.suggestions.find((x) => x.frame === frame);
    if (!sg) {
      flash("no suggested cut in this clip", "error");
      return;
    }
    split(sg.frame);
  }

  function undoLatest(eventId) {
    enqueue(async () => {
      const r = await post("/review/undo", { event_id: eventId || "" });
      const c = R.clip;
      const d = await answered(r, "undo");
      invalidate();
      if (c) loadTimeline(c.videoId, true);
      if (!d) return;
      if (d.show_clip_id) await goto(d.show_clip_id, { noClaim: true, fresh: true });
      else await refreshPanel();
    });
  }

  function reopen() {
    const btn = button("reopen");
    if (!btn) {
      flash("reopen: only a decided clip can be reopened", "error");
      return;
    }
    edit("reopen", { event_id: btn.dataset.eventId || "" });
  }

  // The cut nearer the playhead: the clip's start or its end.
  function nearerEdge() {
    const c = R.clip;
    return R.frame - c.start < c.end - 1 - R.frame ? "start" : "end";
  }

  function moveBoundary(edge, frame) {
    edit("move_boundary", { edge, frame }, "set-in");
  }

  function nudge(delta) {
    const c = R.clip;
    if (!c) return;
    const edge = nearerEdge();
    moveBoundary(edge, (edge === "start" ? c.start : c.end) + delta);
  }

  // ---------------------------------------------------------------- settle countdowns

  function setSettling(events, serverNow) {
    if (serverNow) R.clockOffset = Date.parse(serverNow) - Date.now();
    R.settling = events.map((ev) => ({ ...ev, deadline: Date.parse(ev.settles_at) - R.clockOffset }));
    renderSettling();
  }

  function loadSettling() {
    fetch("/review/settling", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((d) => d && setSettling(d.events, d.now))
      .catch(() => {});
  }

  function secondsLeft(deadline) {
    return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  }

  function renderSettling() {
    const box = document.getElementById("settling");
    const list = document.getElementById("settling-list");
    if (!box || !list) return;
    R.settling = R.settling.filter((ev) => ev.deadline > Date.now());
    box.hidden = R.settling.length === 0;
    list.replaceChildren(
      ...R.settling.map((ev) => {
        const li = document.createElement("li");
        li.dataset.eventId = String(ev.event_id);
        const what = document.createElement("span");
        what.textContent = `${ev.action} ${ev.clip_ids.map((i) => "#" + i).join(", ")}`;
        const cd = document.createElement("span");
        cd.className = "countdown";
        cd.dataset.deadline = String(ev.deadline);
        cd.textContent = `${secondsLeft(ev.deadline)} s`;
        const b = document.createElement("button");
        b.type = "button";
        b.className = "link";
        b.textContent = "undo";
        b.addEventListener("click", () => undoLatest(ev.event_id));
        li.append(what, " ", cd, " ", b);
        return li;
      }),
    );
    const undoBtn = button("undo");
    if (undoBtn) undoBtn.title = R.settling.length ? `undo ${R.settling[0].action} of #${R.settling[0].clip_ids.join(", #")}` : "nothing of yours is settling";
  }

  setInterval(() => {
    document.querySelectorAll(".countdown[data-deadline]").forEach((el) => {
      el.textContent = `${secondsLeft(Number(el.dataset.deadline))} s`;
    });
    document.querySelectorAll("#panel .countdown[data-settles-at]").forEach((el) => {
      const left = secondsLeft(Date.parse(el.dataset.settlesAt) - R.clockOffset);
      el.textContent = `${left} s`;
    });
    if (R.settling.some((ev) => ev.deadline <= Date.now())) {
      renderSettling();
      if (R.clip) loadTimeline(R.clip.videoId, true);
    }
  }, 250);

  // ---------------------------------------------------------------- the timeline

  function loadTimeline(videoId, force) {
    const tl = document.getElementById("timeline");
    if (!tl || !videoId) return Promise.resolve();
    if (!force && R.timeline && R.timeline.video.id === videoId) {
      markCurrent();
      return Promise.resolve();
    }
    return fetch(`/review/videos/${videoId}/timeline`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null))
      .then((text) => {
        if (!text) return;
        const same = R.timeline && R.timelineText === text;
        R.timelineText = text;
        if (same) return reconcile();
        const d = JSON.parse(text);
        if (!R.timeline || R.timeline.video.id !== d.video.id) R.view = null;
        R.timeline = d;
        renderTimeline();
        reconcile();
      })
      .catch(() => {});
  }

  // What the timeline says against what the page holds: a prefetched panel of a clip that
  // was decided, edited or claimed by someone else since is dropped (never shown as a
  // guess); a read-only clip whose holder let go (or decided it) reloads by itself, claimed
  // for this reviewer when it is free; a clip on screen decided by someone else reloads.
  function reconcile() {
    const d = R.timeline;
    if (!d) return;
    const byId = new Map(d.clips.map((t) => [t.id, t]));
    let dropped = false;
    for (const [id, e] of R.cache) {
      const t = byId.get(id);
      if (!t) continue;
      const heldByOther = t.held_by && t.held_by !== me();
      if (t.state !== e.state || (heldByOther && !e.readonly)) {
        forget([id]);
        dropped = true;
      }
    }
    const c = R.clip;
    if (dropped && c && layout()) prefetchAround(c); // the next guess, from what is true now
    if (!c || c.videoId !== d.video.id || !layout() || R.busy > 0) return;
    const t = byId.get(c.id);
    if (c.readonly && (!t || t.held_by !== c.holder || t.state !== c.state)) {
      goto(c.id, { fresh: true }); // claims it when it is free
    } else if (!c.readonly && c.state === "pending_review" && (!t || t.state !== "pending_review")) {
      refreshPanel();
    }
  }

  // Read-only pages and the guesses follow other reviewers: the timeline is polled (every
  // 2 s while read-only, else every 5 s; not while the tab is hidden).
  function pollTimeline() {
    const c = R.clip;
    const wait = c && c.readonly ? 2000 : 5000;
    setTimeout(() => {
      const cur = R.clip;
      const go = cur && document.visibilityState === "visible" && !R.drag ? loadTimeline(cur.videoId, true) : Promise.resolve();
      go.finally(pollTimeline);
    }, wait);
  }

  // ---------------------------------------------------------------- timeline zoom

  function frameCount() {
    return (R.timeline && R.timeline.video.frame_count) || 1;
  }

  function viewStart() {
    return R.view ? R.view.start : 0;
  }

  function viewSpan() {
    return R.view ? R.view.span : frameCount();
  }

  function pct(frame) {
    return `${(100 * (frame - viewStart())) / viewSpan()}%`;
  }

  function inView(frame) {
    return frame >= viewStart() && frame <= viewStart() + viewSpan();
  }

  function timelineWidth() {
    const tl = document.getElementById("timeline");
    return (tl && tl.clientWidth) || 800;
  }

  // The fewest frames the timeline shows: about 24 px a frame.
  function minSpan() {
    return Math.max(4, Math.round(timelineWidth() / 24));
  }

  // Show frames [start, start + span) (clamped to the video; the whole video when it fits).
  function setView(start, span) {
    const n = frameCount();
    span = Math.min(n, Math.max(minSpan(), span));
    R.view = span >= n ? null : { start: Math.min(n - span, Math.max(0, start)), span };
    renderTimeline();
  }

  // Zoom by `factor` (> 1: in) keeping frame `anchor` where it is on screen.
  function zoomBy(factor, anchor) {
    if (!R.timeline) return;
    const s = viewStart();
    const w = viewSpan();
    const at = anchor === undefined ? R.frame : anchor;
    const frac = Math.min(1, Math.max(0, (at - s) / w));
    const nw = w / factor;
    setView(at - frac * nw, nw);
  }

  function zoomFit() {
    R.view = null;
    renderTimeline();
  }

  // Keep the playhead in view when zoomed (a new clip, a step), unless the reviewer panned.
  function follow(frame) {
    if (!R.view || R.pinned || inView(frame)) return;
    setView(frame - R.view.span * 0.1, R.view.span);
  }

  function timecode(frame, withFrames) {
    const fps = (R.timeline && R.timeline.video.fps) || 25;
    const secs = Math.floor(frame / fps + 1e-6);
    const h = Math.floor(secs / 3600);
    const m = Math.floor((secs % 3600) / 60);
    const sec = String(secs % 60).padStart(2, "0");
    const base = h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
    if (!withFrames) return base;
    const ff = Math.round(frame - secs * fps);
    return `${base}:${String(ff).padStart(2, "0")}`;
  }

  // The ruler: timecodes at a step of at least 70 px (frames, then seconds, then minutes);
  // a tick for every frame once a frame is 6 px wide or more.
  function renderRuler() {
    const ruler = document.getElementById("tl-ruler");
    if (!ruler || !R.timeline) return;
    const fps = R.timeline.video.fps || 25;
    const pxPerFrame = timelineWidth() / viewSpan();
    const steps = [1, 2, 5, 10, ...[1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600].map((x) => x * fps)];
    const step = steps.find((x) => x * pxPerFrame >= 70) || steps[steps.length - 1];
    const byFrames = step < fps;
    const s = viewStart();
    const e = s + viewSpan();
    const ticks = [];
    const first = Math.ceil(s / step - 1e-9);
    for (let k = first; k * step <= e + 1e-9 && ticks.length < 400; k++) {
      const f = Math.round(k * step);
      const t = document.createElement("span");
      t.className = "tl-tick major";
      t.style.left = pct(f);
      t.dataset.frame = String(f);
      t.textContent = byFrames ? timecode(f, true) : timecode(f, false);
      ticks.push(t);
    }
    if (pxPerFrame >= 6) {
      for (let f = Math.ceil(s); f <= e; f++) {
        const t = document.createElement("span");
        t.className = "tl-tick frame";
        t.style.left = pct(f + 0.5);
        ticks.push(t);
      }
    }
    ruler.replaceChildren(...ticks);
    ruler.dataset.step = String(step);
    ruler.dataset.pxPerFrame = pxPerFrame.toFixed(2);
    const zoom = document.getElementById("tl-zoom-level");
    if (zoom) zoom.textContent = R.view ? `${Math.round(viewSpan())} frames · ${timecode(Math.floor(s))}–${timecode(Math.floor(e))}` : "whole video";
  }

  // ---------------------------------------------------------------- the cut view

  // The last frame before the cut at `frame` and the first after it, side by side, with the
  // cut's confidence (GET /review/videos/{id}/cuts/{frame}: decoded exactly from the proxy).
  function showCut(frame) {
    const box = document.getElementById("cut-view");
    const d = R.timeline;
    if (!box || !d) return;
    const idx = d.clips.findIndex((x) => x.start === frame);
    if (idx <= 0) {
      flash(`no cut at frame ${frame}`, "error");
      return;
    }
    const after = d.clips[idx];
    const conf = after.confidence;
    box.dataset.frame = String(frame);
    const img = $("img", box);
    img.src = `/review/videos/${d.video.id}/cuts/${frame}`;
    img.alt = `frame ${frame - 1} (left) and frame ${frame} (right)`;
    $(".cut-before", box).textContent = `frame ${frame - 1} · ${timecode(frame - 1, true)} · #${d.clips[idx - 1].id}`;
    $(".cut-after", box).textContent = `frame ${frame} · ${timecode(frame, true)} · #${after.id}`;
    $(".cut-conf", box).textContent = conf === null || conf === undefined ? "confidence unknown (a cut made by a reviewer)" : `confidence ${Number(conf).toFixed(2)}`;
    box.hidden = false;
  }

  function stepCut(delta) {
    const box = document.getElementById("cut-view");
    const d = R.timeline;
    if (!box || !d || box.hidden) return;
    const cuts = d.clips.slice(1).map((x) => x.start);
    const i = cuts.indexOf(Number(box.dataset.frame)) + delta;
    if (i >= 0 && i < cuts.length) showCut(cuts[i]);
  }

  // The cut nearer the playhead (the clip's start or its end).
  function nearerCut() {
    const c = R.clip;
    if (!c) return null;
    const edge = nearerEdge();
    if (edge === "start" && c.start > 0) return c.start;
    if (edge === "end" && c.end < frameCount()) return c.end;
    return c.start > 0 ? c.start : c.end < frameCount() ? c.end : null;
  }

  // Past review a clip moves on (exporting, exported, …, archiving): coloured by the decision
  // it came from; failures stand out.
  function timelineState(state) {
    if (state === "pending_review" || state.startsWith("review_")) return state;
    if (state.endsWith("_failed")) return "failed";
    if (state.startsWith("archiv")) return "review_archived";
    return "review_approved";
  }

  function renderTimeline() {
    const tl = document.getElementById("timeline");
    const d = R.timeline;
    if (!tl || !d) return;
    tl.dataset.videoId = String(d.video.id);
    tl.dataset.frameCount = String(d.video.frame_count);
    tl.classList.toggle("zoomed", R.view !== null);
    const parts = [];
    const vs = viewStart();
    const ve = vs + viewSpan();
    d.clips.forEach((c, idx) => {
      if (c.end <= vs || c.start >= ve) return; // outside the zoomed view
      const b = document.createElement("div");
      b.className = `tl-clip st-${timelineState(c.state)}`;
      if (c.transition) b.classList.add("transition", `tr-${c.transition}`);
      if (c.settles_at && Date.parse(c.settles_at) - R.clockOffset > Date.now()) b.classList.add("settling");
      const me = layout() ? layout().dataset.user : null;
      if (c.held_by && c.held_by !== me) b.classList.add("held");
      b.dataset.clipId = String(c.id);
      b.dataset.start = String(c.start);
      b.dataset.end = String(c.end);
      b.setAttribute("role", "option");
      const from = Math.max(c.start, vs);
      b.style.left = pct(from);
      b.style.width = `${(100 * (Math.min(c.end, ve) - from)) / viewSpan()}%`;
      const st = c.state.replace(/^review_/, "").replace(/_/g, " ");
      b.title = `#${c.id} · frames ${c.start}–${c.end - 1} · ${c.transition ? c.transition + " transition" : st}` +
        (c.held_by && c.held_by !== me ? ` · open by ${c.held_by}` : "");
      parts.push(b);
      if (idx > 0 && c.start >= vs) {
        const cut = document.createElement("div");
        cut.className = "tl-cut";
        cut.dataset.frame = String(c.start);
        cut.dataset.clipId = String(c.id);
        cut.dataset.prevId = String(d.clips[idx - 1].id);
        cut.style.left = pct(c.start);
        const conf = c.confidence;
        if (conf !== null && conf !== undefined) {
          cut.dataset.confidence = String(conf);
          cut.style.setProperty("--conf", String(conf));
          cut.classList.add(conf < 0.5 ? "weak" : "strong");
          cut.title = `cut at frame ${c.start} · confidence ${conf.toFixed(2)} · drag to move`;
        } else {
          cut.title = `cut at frame ${c.start} · drag to move`;
        }
        parts.push(cut);
      }
    });
    if (layout()) {
      const head = document.createElement("div");
      head.className = "tl-playhead";
      head.id = "tl-playhead";
      parts.push(head);
    }
    tl.replaceChildren(...parts);
    renderRuler();
    markCurrent();
    if (R.clip) markPlayhead(R.frame, true);
  }

  function markTimelineState(clipId, state) {
    const t = timelineClip(clipId);
    if (t) t.state = state; // until the timeline reloads: not a guess any more
    const b = document.querySelector(`#timeline .tl-clip[data-clip-id="${clipId}"]`);
    if (b) {
      b.className = b.className.replace(/\bst-\S+/, `st-${state}`);
      b.classList.add("settling");
    }
  }

  function markCurrent() {
    const tl = document.getElementById("timeline");
    if (!tl) return;
    const id = R.clip ? String(R.clip.id) : null;
    tl.querySelectorAll(".tl-clip").forEach((b) => {
      const on = b.dataset.clipId === id;
      b.classList.toggle("current", on);
      b.setAttribute("aria-selected", on ? "true" : "false");
    });
    renderSuggestions();
  }

  // The current clip's boundary suggestions as marks on the timeline (dashed, not cuts):
  // C accepts the one nearest the playhead, a click accepts that one (a split there).
  function renderSuggestions() {
    const tl = document.getElementById("timeline");
    if (!tl) return;
    tl.querySelectorAll(".tl-suggestion").forEach((m) => m.remove());
    const c = R.clip;
    if (!c || !R.timeline || R.timeline.video.id !== c.videoId) return;
    const head = document.getElementById("tl-playhead");
    for (const sg of c.suggestions) {
      if (!inView(sg.frame)) continue;
      const m = document.createElement("div");
      m.className = "tl-suggestion";
      m.dataset.frame = String(sg.frame);
      m.dataset.reason = sg.reason;
      m.dataset.confidence = String(sg.confidence);
      m.style.left = pct(sg.frame);
      m.setAttribute("role", "button");
      m.title = `suggested cut at frame ${sg.frame} · ${sg.reason.replace(/_/g, " ")} · ` +
        `confidence ${Number(sg.confidence).toFixed(2)} · C or click: split here`;
      tl.insertBefore(m, head);
    }
  }

  function markPlayhead(frame, rendering) {
    if (!rendering && R.timeline) follow(frame);
    const h = document.getElementById("tl-playhead");
    if (h && R.timeline) {
      h.hidden = !inView(frame);
      h.style.left = pct(frame);
    }
    const strip = document.getElementById("filmstrip");
    if (strip) {
      let best = null;
      strip.querySelectorAll(".fs-tile").forEach((t) => {
        if (Number(t.dataset.frame) <= frame) best = t;
        t.classList.remove("at");
      });
      if (best) best.classList.add("at");
    }
  }

  // The frame under x (fractional: the anchor of a zoom; floor it for a frame index).
  function frameAtXExact(tl, clientX) {
    const r = tl.getBoundingClientRect();
    const f = Math.min(0.99999, Math.max(0, (clientX - r.left) / r.width));
    return viewStart() + f * viewSpan();
  }

  function frameAtX(tl, clientX) {
    return Math.min(frameCount() - 1, Math.floor(frameAtXExact(tl, clientX)));
  }

  function clipAtFrame(frame) {
    if (!R.timeline) return null;
    return R.timeline.clips.find((c) => c.start <= frame && frame < c.end) || null;
  }

  // The sprite tile that shows `frame` (the last tile at or before it) as a CSS background.
  function spriteStyle(el, c, frame, scale) {
    const m = c.sprite;
    const frames = (m && m.frames) || [];
    if (!c.sprite_url || !frames.length) {
      el.style.backgroundImage = "none";
      return null;
    }
    let idx = indexAt(frames, frame + 1e-3);
    if (idx < 0) idx = 0;
    const col = idx % m.cols;
    const row = Math.floor(idx / m.cols);
    const s = scale || 1;
    el.style.backgroundImage = `url('${c.sprite_url}')`;
    el.style.backgroundSize = `${m.cols * m.tile_width * s}px ${m.rows * m.tile_height * s}px`;
    el.style.backgroundPosition = `-${col * m.tile_width * s}px -${row * m.tile_height * s}px`;
    el.style.width = `${m.tile_width * s}px`;
    el.style.height = `${m.tile_height * s}px`;
    return frames[idx];
  }

  function renderFilmstrip() {
    const strip = document.getElementById("filmstrip");
    const c = R.clip;
    if (!strip) return;
    if (!c || !c.sprite || !c.spriteUrl) {
      strip.replaceChildren();
      return;
    }
    const frames = c.sprite.frames || [];
    const want = Math.min(frames.length, 10);
    const width = strip.clientWidth || 760;
    const scale = Math.min(1, (width - 4 * want) / (want * (c.sprite.tile_width || 160)));
    const tiles = [];
    for (let k = 0; k < want; k++) {
      const idx = Math.floor((k * frames.length) / want);
      const t = document.createElement("button");
      t.type = "button";
      t.className = "fs-tile";
      t.dataset.frame = String(frames[idx]);
      t.title = `frame ${frames[idx]}`;
      t.tabIndex = -1;
      spriteStyle(t, { sprite: c.sprite, sprite_url: c.spriteUrl }, frames[idx], scale);
      tiles.push(t);
    }
    strip.replaceChildren(...tiles);
  }

  function setupTimelineEvents() {
    const tl = document.getElementById("timeline");
    if (!tl || tl.dataset.wired) return;
    tl.dataset.wired = "1";
    const hover = document.getElementById("tl-hover");
    let drag = null;

    tl.addEventListener("mousemove", (e) => {
      if (!R.timeline || !hover) return;
      const frame = frameAtX(tl, e.clientX);
      const c = clipAtFrame(frame);
      if (!c) return;
      const thumb = $(".tl-thumb", hover);
      const shown = spriteStyle(thumb, c, frame, 0.75);
      $(".tl-hover-frame", hover).textContent = `frame ${shown !== null ? shown : frame} · #${c.id}`;
      hover.hidden = false;
      const r = tl.getBoundingClientRect();
      const w = hover.offsetWidth || 120;
      const x = Math.min(r.width - w, Math.max(0, e.clientX - r.left - w / 2));
      hover.style.left = `${x}px`;
      hover.dataset.frame = String(shown !== null ? shown : frame);
    });
    tl.addEventListener("mouseleave", () => {
      if (hover) hover.hidden = true;
    });

    // The wheel zooms around the frame under the pointer; Shift+wheel (or a sideways
    // wheel) pans. A zoomed view stays where the reviewer put it until the clip changes.
    tl.addEventListener(
      "wheel",
      (e) => {
        if (!R.timeline) return;
        e.preventDefault();
        R.pinned = true;
        const dx = Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.shiftKey ? e.deltaY : 0;
        if (dx) {
          if (R.view) setView(R.view.start + (dx / timelineWidth()) * R.view.span, R.view.span);
          return;
        }
        zoomBy(e.deltaY < 0 ? 1.25 : 0.8, frameAtXExact(tl, e.clientX));
      },
      { passive: false },
    );

    tl.addEventListener("mousedown", (e) => {
      const cut = e.target instanceof Element && e.target.closest(".tl-cut");
      if (!cut || !R.timeline || !layout()) return;
      e.preventDefault();
      const clipId = Number(cut.dataset.clipId);
      const idx = R.timeline.clips.findIndex((c) => c.id === clipId);
      const prev = R.timeline.clips[idx - 1];
      const here = R.timeline.clips[idx];
      drag = { cut, clipId, from: here.start, to: here.start, lo: prev.start + 1, hi: here.end - 1 };
      R.drag = drag;
      cut.classList.add("dragging");
    });
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      const f = Math.max(drag.lo, Math.min(drag.hi, Math.round(frameAtX(tl, e.clientX))));
      drag.to = f;
      drag.cut.style.left = pct(f);
      drag.cut.dataset.label = String(f);
    });
    window.addEventListener("mouseup", () => {
      if (!drag) return;
      const d = drag;
      drag = null;
      R.drag = null;
      d.cut.classList.remove("dragging");
      d.cut.dataset.label = "";
      if (d.to === d.from) {
        showCut(d.from); // a click on a cut: its two frames side by side
        return;
      }
      const c = R.timeline.clips.find((x) => x.id === d.clipId);
      const moveFrom = R.clip;
      if (moveFrom && moveFrom.id === d.clipId) moveBoundary("start", d.to);
      else if (moveFrom && c && moveFrom.end === d.from) moveBoundary("end", d.to);
      else {
        const target = { id: d.clipId, videoId: R.timeline.video.id };
        enqueue(() => editOf(target, "move_boundary", { edge: "start", frame: d.to }));
      }
    });

    tl.addEventListener("click", (e) => {
      const mark = e.target instanceof Element && e.target.closest(".tl-suggestion");
      if (mark && layout()) {
        e.preventDefault();
        acceptSuggestion(Number(mark.dataset.frame));
        return;
      }
      if (e.target instanceof Element && e.target.closest(".tl-cut")) return;
      const frame = frameAtX(tl, e.clientX);
      const c = clipAtFrame(frame);
      if (!c) return;
      if (!layout()) {
        window.location.href = `/review/clips/${c.id}`;
        return;
      }
      if (R.clip && c.id === R.clip.id) {
        setShuttle(0);
        seekFrame(frame);
      } else {
        startMetric("timeline", e, c.id);
        goto(c.id);
      }
    });
  }

  // ---------------------------------------------------------------- keys

  const DECISION_KEYS = { a: "approve", s: "skip", x: "archive", g: "group" };
  const DECIDED_AS = { approve: "approved", skip: "skipped", archive: "archived", group: "approved" };

  function onKey(e) {
    if (e.defaultPrevented || e.altKey || e.metaKey) return;
    const t = e.target;
    if (t instanceof HTMLElement && t.closest("input:not([type=range]), textarea, select, [contenteditable]")) return;
    const help = document.getElementById("help");
    if (help && help.open) return; // the dialog handles Esc itself
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (e.ctrlKey) {
      if (key === "z" && !e.repeat) {
        e.preventDefault();
        undoLatest();
      } else if (key === "k" && !e.repeat) {
        e.preventDefault(); // Premiere's blade
        split();
      }
      return;
    }
    if (e.key === "?") {
      e.preventDefault();
      showHelp();
      return;
    }
    if (e.key === "+" || e.key === "=" || e.key === "-" || e.key === "0") {
      e.preventDefault(); // timeline zoom around the playhead: in, out, the whole video
      R.pinned = false;
      if (e.key === "0") zoomFit();
      else zoomBy(e.key === "-" ? 0.5 : 2);
      return;
    }
    if (e.key === "Escape") {
      const box = document.getElementById("cut-view");
      if (box && !box.hidden) {
        e.preventDefault();
        box.hidden = true;
      }
      return;
    }
    if (DECISION_KEYS[key]) {
      e.preventDefault();
      if (!e.repeat) decision(DECISION_KEYS[key], e); // holding a key must not decide many clips
      return;
    }
    switch (key) {
      case "m":
        e.preventDefault();
        if (e.repeat) return;
        if (e.shiftKey) toggleMute();
        else edit("merge", {});
        return;
      case "u":
        e.preventDefault();
        if (!e.repeat) undoLatest();
        return;
      case "r":
        e.preventDefault();
        if (!e.repeat) reopen();
        return;
      case "n": {
        // The next undecided clip: after this one in its video, else in a later video.
        e.preventDefault();
        if (e.repeat) return;
        const c = R.clip;
        if (browsing()) gotoBrowse(c);
        else if (c && (reservedAfter(c) || c.nextPending)) {
          const id = reservedAfter(c) || c.nextPending;
          startMetric("undecided", e, id);
          goto(id);
        } else gotoNext({}, c ? c.videoId : null, { kind: "undecided", e });
        return;
      }
      default:
    }
    if (!R.clip) return;
    const c = R.clip;
    switch (key) {
      case "b":
        e.preventDefault();
        if (!e.repeat) split();
        break;
      case "v": {
        e.preventDefault();
        const box = document.getElementById("cut-view");
        if (box && !box.hidden) box.hidden = true;
        else if (nearerCut() !== null) showCut(nearerCut());
        break;
      }
      case ",":
      case ".":
        e.preventDefault();
        stepCut(key === "," ? -1 : 1);
        break;
      case "c":
        e.preventDefault();
        if (!e.repeat) acceptSuggestion();
        break;
      case "j":
        e.preventDefault();
        shuttleBackward();
        break;
      case "k":
        e.preventDefault();
        setShuttle(0);
        break;
      case "l":
        e.preventDefault();
        shuttleForward();
        break;
      case " ":
        e.preventDefault();
        togglePlay();
        break;
      case "ArrowLeft":
      case "ArrowRight":
        e.preventDefault();
        step((key === "ArrowLeft" ? -1 : 1) * (e.shiftKey ? 10 : 1));
        break;
      case "ArrowUp":
      case "ArrowDown": {
        e.preventDefault();
        const id = key === "ArrowUp" ? c.prevId : c.nextId;
        if (!id && key === "ArrowDown" && browsing()) {
          gotoBrowse(c);
          return;
        }
        if (!id && key === "ArrowDown") {
          flash("the last clip of the video: on to the next video's undecided clips");
          gotoNext({}, c.videoId, { kind: "next", e });
          return;
        }
        if (!id) {
          flash("this is the first clip of the video", "error");
          return;
        }
        startMetric(key === "ArrowUp" ? "prev" : "next", e, id);
        goto(id);
        break;
      }
      case "Home":
      case "End":
        e.preventDefault();
        setShuttle(0);
        seekFrame(key === "Home" ? c.start : c.end - 1);
        break;
      case "i":
        e.preventDefault();
        if (!e.repeat) moveBoundary("start", R.frame);
        break;
      case "o":
        e.preventDefault();
        if (!e.repeat) moveBoundary("end", R.frame + 1);
        break;
      default:
        if (e.code === "BracketLeft" || e.code === "BracketRight") {
          e.preventDefault();
          if (!e.repeat) nudge((e.code === "BracketLeft" ? -1 : 1) * (e.shiftKey ? 10 : 1));
        }
    }
  }

  function showHelp() {
    const help = document.getElementById("help");
    if (help && !help.open) help.showModal();
  }

  function toggleMute() {
    const v = R.video;
    if (!v) return;
    v.muted = !v.muted;
    try {
      localStorage.setItem("heaters-sound", v.muted ? "off" : "on");
    } catch (_) {
      /* private mode */
    }
    renderMute();
  }

  function renderMute() {
    const b = document.getElementById("mute");
    if (!b || !R.video) return;
    b.setAttribute("aria-pressed", R.video.muted ? "false" : "true");
    const label = $(".mute-label", b);
    if (label) label.textContent = R.video.muted ? "muted" : "sound on";
    b.classList.toggle("sound-on", !R.video.muted);
  }

  // ---------------------------------------------------------------- wiring

  function wirePage() {
    R.video = document.getElementById("player");
    if (R.video) {
      try {
        R.video.muted = localStorage.getItem("heaters-sound") !== "on";
      } catch (_) {
        R.video.muted = true;
      }
      renderMute();
      if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
        R.frameCallback = R.video.requestVideoFrameCallback(onVideoFrame);
      }
      wireVideo(R.video);
      if (layout()) makeStandby();
    }
    const scrub = document.getElementById("scrub");
    if (scrub) {
      scrub.addEventListener("input", () => {
        setShuttle(0);
        seekFrame(Number(scrub.value));
      });
    }
    document.querySelectorAll(".transport [data-cmd]").forEach((btn) => {
      btn.addEventListener("click", () => {
        const cmd = btn.dataset.cmd;
        if (cmd === "play") togglePlay();
        else if (cmd === "mute") toggleMute();
        else step(Number(cmd));
      });
    });
    const order = document.getElementById("order");
    if (order) order.addEventListener("change", () => order.form.submit());
    const showKeys = document.getElementById("show-keys");
    if (showKeys) showKeys.addEventListener("click", showHelp);
    const strip = document.getElementById("filmstrip");
    if (strip) {
      strip.addEventListener("click", (e) => {
        const t = e.target instanceof Element && e.target.closest(".fs-tile");
        if (!t) return;
        setShuttle(0);
        seekFrame(Number(t.dataset.frame));
      });
    }
    setupTimelineEvents();
    document.querySelectorAll("[data-zoom]").forEach((btn) => {
      btn.addEventListener("click", () => {
        R.pinned = false;
        const z = btn.dataset.zoom;
        if (z === "fit") zoomFit();
        else zoomBy(z === "in" ? 2 : 0.5);
      });
    });
    const cutView = document.getElementById("cut-view");
    if (cutView) {
      cutView.addEventListener("click", (e) => {
        const b = e.target instanceof Element && e.target.closest("[data-cut]");
        if (!b) return;
        if (b.dataset.cut === "close") cutView.hidden = true;
        else stepCut(b.dataset.cut === "next" ? 1 : -1);
      });
    }
    if (layout()) pollTimeline();
    const tl = document.getElementById("timeline");
    if (tl && !layout() && tl.dataset.videoId) loadTimeline(Number(tl.dataset.videoId), true);
    if (layout()) {
      setupPanel();
      loadSettling();
    }
    trimFlash();
  }

  document.addEventListener("keydown", (e) => {
    if (layout()) onKey(e);
  });

  // A double click on a decision must not decide the clip that the first click brought in.
  document.addEventListener(
    "click",
    (e) => {
      const el = e.target instanceof Element ? e.target.closest("#panel [data-action]") : null;
      if (el && e.detail > 1) {
        e.preventDefault();
        e.stopPropagation();
      }
    },
    true,
  );

  // With JavaScript the action buttons run through the same path as the keys (no reload).
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.closest("#panel") || !layout()) return;
    e.preventDefault();
    const btn = e.submitter;
    const action = btn && btn.dataset.action;
    if (!action) return;
    if (Object.values(DECISION_KEYS).includes(action)) decision(action, e);
    else if (action === "merge") edit("merge", {});
    else if (action === "split") split();
    else if (action === "undo") undoLatest();
  });
  document.addEventListener("click", (e) => {
    const el = e.target instanceof Element ? e.target : null;
    if (!el || !layout()) return;
    const nav = el.closest("a[data-goto]");
    if (nav && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      e.preventDefault();
      startMetric("click", e, Number(nav.dataset.goto));
      goto(Number(nav.dataset.goto));
      return;
    }
    const btn = el.closest("#panel button[data-action]");
    if (!btn || btn.type === "submit") return;
    const a = btn.dataset.action;
    if (a === "set-in") moveBoundary("start", R.frame);
    else if (a === "set-out") moveBoundary("end", R.frame + 1);
    else if (a === "nudge-back") nudge(-1);
    else if (a === "nudge-forward") nudge(1);
    else if (a === "reopen") reopen();
  });

  // Sprite sheets of the neighbour cards: hovering at fraction f shows tile floor(f * n).
  document.addEventListener("mousemove", (e) => {
    const el = e.target instanceof Element && e.target.closest(".sprite[data-sprite]");
    if (!el) return;
    const m = JSON.parse(el.dataset.sprite);
    const frames = m.frames || [];
    if (!frames.length) return;
    const r = el.getBoundingClientRect();
    const f = Math.min(0.9999, Math.max(0, (e.clientX - r.left) / r.width));
    const idx = Math.floor(f * frames.length);
    const col = idx % m.cols;
    const row = Math.floor(idx / m.cols);
    el.style.backgroundPosition = `-${col * m.tile_width}px -${row * m.tile_height}px`;
    const label = el.querySelector(".sprite-frame");
    if (label) label.textContent = String(frames[idx]);
  });
  document.addEventListener("mouseout", (e) => {
    const el = e.target instanceof Element && e.target.closest(".sprite[data-sprite]");
    if (!el || (e.relatedTarget instanceof Node && el.contains(e.relatedTarget))) return;
    el.style.backgroundPosition = "0 0";
    const m = JSON.parse(el.dataset.sprite);
    const label = el.querySelector(".sprite-frame");
    if (label && m.frames && m.frames.length) label.textContent = String(m.frames[0]);
  });

  // htmx still drives the empty panel's polling and the dashboard.
  document.addEventListener("htmx:afterSettle", (e) => {
    if (e.target instanceof Element && e.target.id === "panel") setupPanel();
    trimFlash();
  });
  document.addEventListener("htmx:oobAfterSwap", trimFlash);
  document.addEventListener("htmx:sendError", () =>
    flash("the server did not answer: check that it runs, then try again", "error"),
  );
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wirePage);
  else wirePage();

  // For tests, the benchmark and debugging: what the player shows.
  window.heatersReview = {
    state: () =>
      R.clip && {
        clipId: R.clip.id,
        videoId: R.clip.videoId,
        frame: R.frame,
        start: R.clip.start,
        end: R.clip.end,
        mediaTime: R.mediaTime,
        presented: R.presented,
        currentTime: R.video ? R.video.currentTime : null,
        paused: R.video ? R.video.paused : null,
        playbackRate: R.video ? R.video.playbackRate : null,
        shuttle: R.shuttle,
        muted: R.video ? R.video.muted : null,
        readonly: R.clip.readonly,
        suggestions: R.clip.suggestions.slice(),
        holder: R.clip.holder,
        src: R.video ? R.video.getAttribute("src") : null,
        state: R.clip.state,
        prevId: R.clip.prevId,
        nextId: R.clip.nextId,
      },
    seekFrame: (f) => seekFrame(f),
    metrics: () => R.metrics.slice(),
    swaps: () => R.swaps,
    lost: () => R.lost.slice(),
    settling: () => R.settling.map((ev) => ({ event_id: ev.event_id, action: ev.action, clip_ids: ev.clip_ids, seconds_left: secondsLeft(ev.deadline) })),
    timeline: () => R.timeline,
    view: () => ({ start: viewStart(), span: viewSpan(), frames: frameCount() }),
    busy: () => R.busy + R.inflight.size,
    // For review_batch.js (tags, notes, batch actions): the page's own paths, so its
    // actions queue behind the decisions and update the same countdowns and panels.
    flash: (message, kind) => flash(message, kind),
    post: (url, fields) => post(url, fields),
    enqueue: (fn) => enqueue(fn),
    settle: (events) => setSettling(events),
    changed: (ids, videoId) => {
      forget(ids);
      if (videoId) loadTimeline(videoId, true);
    },
    refresh: () => refreshPanel(),
    frameAt: (clientX) => {
      const tl = document.getElementById("timeline");
      return tl ? frameAtX(tl, clientX) : null;
    },
  };
})();
