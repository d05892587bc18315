// Wiring: the page's elements (player, scrub bar, transport, filmstrip, timeline, zoom and
// cut view buttons) once the document is parsed, and the listeners on the document: keys,
// clicks and forms of the panel, neighbour sprites, htmx's events.

import { flash, layout, R, startMetric, trimFlash } from "./state.js";
import { onVideoFrame, renderMute, seekFrame, setShuttle, step, toggleMute, togglePlay } from "./player.js";
import { makeStandby, wireVideo } from "./standby.js";
import { goto, setupPanel } from "./panels.js";
import { decision, edit, loadSettling, moveBoundary, nudge, reopen, split, undoLatest } from "./decisions.js";
import { loadTimeline, pollTimeline } from "./poll.js";
import { zoomBy, zoomFit } from "./zoom.js";
import { setupTimelineEvents, stepCut } from "./timeline.js";
import { DECISION_KEYS, onKey, showHelp } from "./keys.js";

export function wirePage() {
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

// The page's listeners on the document: keys, clicks, forms, sprites, htmx.
export function wireDocument() {
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
}
