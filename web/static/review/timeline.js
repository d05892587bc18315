// The timeline drawn: clips by state, cuts with their confidence, suggestions, the playhead,
// the filmstrip and sprite tiles; the cut view (the two frames of a cut, V , .); the
// timeline's mouse: hover thumbnails, wheel zoom, dragging a cut, clicks.

import { $, flash, layout, R, startMetric } from "./state.js";
import { indexAt, seekFrame, setShuttle } from "./player.js";
import { goto, timelineClip } from "./panels.js";
import { acceptSuggestion, editOf, enqueue, moveBoundary, nearerEdge } from "./decisions.js";
import { follow, frameAtX, frameAtXExact, frameCount, inView, pct, renderRuler, setView, timecode, timelineWidth, viewSpan, viewStart, zoomBy } from "./zoom.js";

// ---------------------------------------------------------------- the cut view

// The last frame before the cut at `frame` and the first after it, side by side, with the
// cut's confidence (GET /review/videos/{id}/cuts/{frame}: decoded exactly from the proxy).
export function showCut(frame) {
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

export function stepCut(delta) {
  const box = document.getElementById("cut-view");
  const d = R.timeline;
  if (!box || !d || box.hidden) return;
  const cuts = d.clips.slice(1).map((x) => x.start);
  const i = cuts.indexOf(Number(box.dataset.frame)) + delta;
  if (i >= 0 && i < cuts.length) showCut(cuts[i]);
}

// The cut nearer the playhead (the clip's start or its end).
export function nearerCut() {
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

export function renderTimeline() {
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

export function markTimelineState(clipId, state) {
  const t = timelineClip(clipId);
  if (t) t.state = state; // until the timeline reloads: not a guess any more
  const b = document.querySelector(`#timeline .tl-clip[data-clip-id="${clipId}"]`);
  if (b) {
    b.className = b.className.replace(/\bst-\S+/, `st-${state}`);
    b.classList.add("settling");
  }
}

export function markCurrent() {
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

export function markPlayhead(frame, rendering) {
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

export function renderFilmstrip() {
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

export function setupTimelineEvents() {
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
