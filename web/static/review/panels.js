// Clip panels: reading a panel's data attributes, setting the page up for it, the prefetch
// cache (generations, expiry), the next-clip guess (the server's reservation, the panel's
// next pending clip, the timeline) and the moves: goto, next, browse, refresh.

import { browsing, finishMetric, flash, layout, me, now, R, startMetric } from "./state.js";
import { loadPlayer, stopReverse, whenShown } from "./player.js";
import { warmNext } from "./standby.js";
import { claim, startRenew } from "./claims.js";
import { loadTimeline } from "./poll.js";
import { markCurrent, renderFilmstrip } from "./timeline.js";

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

export function setupPanel(opts) {
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

export function cacheEntry(id) {
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

export function timelineClip(id) {
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
export function takeGuess(after, id) {
  R.guess = { after, id: id || null };
  if (id && !cached(id)) fetchPanel(id).catch(() => {});
  else warmNext();
}

// The reserved clip after `c`: its id, null when none is left, undefined when unknown.
export function reservedAfter(c) {
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
export function nextGuess(c) {
  const reserved = reservedAfter(c);
  if (reserved !== undefined) return reserved && guessable(reserved) ? reserved : null;
  if (c.nextPending && guessable(c.nextPending)) return c.nextPending;
  const after = pendingAfter(c, 2).find((t) => guessable(t.id));
  return after ? after.id : null;
}

export function prefetchAround(c) {
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

export function swapPanel(html, opts) {
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
export async function goto(id, opts) {
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
export async function gotoNext(opts, afterVideo, metric) {
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

// The next clip of that queue after `c` (from the first again past the last).
export async function gotoBrowse(c, opts) {
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

export function refreshPanel() {
  if (!R.clip) return Promise.resolve();
  R.cache.delete(R.clip.id);
  return goto(R.clip.id, { fresh: true, noClaim: true });
}

export function invalidate() {
  R.cache.clear();
  R.epoch += 1;
}

export function forget(ids) {
  for (const id of ids) {
    R.cache.delete(id);
    R.gens.set(id, (R.gens.get(id) || 0) + 1);
  }
}
