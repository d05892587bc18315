// The review page's shared state and small helpers (an ES module of web/static/review.js):
// the one state object `R` every module reads and writes, the CSRF token, flash messages,
// the POST helper, the layout's data attributes (reviewer, queue, claim time) and the
// measure of a move (heatersReview.metrics: bench/review_browser.py).

export const $ = (sel, root = document) => root.querySelector(sel);
export const now = () => performance.now();

export const R = {
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

export function csrf() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch (_) {
    return "";
  }
}

export function layout() {
  return document.getElementById("review");
}

export function claimSeconds() {
  const l = layout();
  return l ? Number(l.dataset.claimSeconds || 600) : 600;
}

export function flash(message, kind) {
  const box = document.getElementById("flash");
  if (!box) return;
  const p = document.createElement("p");
  p.className = `flash-item flash-${kind || "ok"}`;
  p.setAttribute("role", kind === "error" ? "alert" : "status");
  p.textContent = message;
  box.prepend(p);
  trimFlash();
}

export function trimFlash() {
  const box = document.getElementById("flash");
  if (!box) return;
  box.querySelectorAll(".flash-item").forEach((el, i) => {
    el.classList.toggle("old", i > 0);
    if (i >= 4) el.remove();
  });
}

export async function post(url, fields) {
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

export function me() {
  const l = layout();
  return l ? l.dataset.user : null;
}

// The queue of decided clips the page goes through (skipped, archived, approved,
// low_confidence), or "" for the undecided clips (the session's queue choice).
export function browsing() {
  const l = layout();
  return l ? l.dataset.browse || "" : "";
}

// ---------------------------------------------------------------- the measure of a move

export function startMetric(kind, e, clipId) {
  const p = R.pending;
  if (p) R.lost.push({ kind: p.kind, clipId: p.clipId, panel: p.panel !== null, frame: p.frame !== null, seeked: p.seeked, shown: R.clip ? R.clip.id : null });
  R.pending = { kind, t0: e && e.timeStamp ? e.timeStamp : now(), clipId, panel: null, frame: null, seeked: false };
}

export function finishMetric() {
  const p = R.pending;
  if (!p || p.panel === null || p.frame === null) return;
  R.metrics.push({ kind: p.kind, clipId: p.clipId, t0: p.t0, panel: p.panel - p.t0, frame: p.frame - p.t0, corrected: !!p.corrected });
  R.pending = null;
}

// The guess shown at once was not the clip the server gave (taken meanwhile): the measure
// of the key runs on until the right clip `to` is shown (a wrong clip on screen is no answer).
export function retarget(from, to) {
  let t0 = R.pending && R.pending.clipId === from ? R.pending : null;
  const last = R.metrics[R.metrics.length - 1];
  if (!t0 && last && last.clipId === from) t0 = R.metrics.pop();
  if (t0) R.pending = { kind: t0.kind, t0: t0.t0, clipId: to, panel: null, frame: null, seeked: false, corrected: true };
}
