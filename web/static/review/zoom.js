// The timeline's zoomed view (frames [start, start + span), the wheel, + / - / 0), the
// playhead kept in view, timecodes, the ruler, and the frame under a pointer's x.

import { R } from "./state.js";
import { renderTimeline } from "./timeline.js";

export function frameCount() {
  return (R.timeline && R.timeline.video.frame_count) || 1;
}

export function viewStart() {
  return R.view ? R.view.start : 0;
}

export function viewSpan() {
  return R.view ? R.view.span : frameCount();
}

export function pct(frame) {
  return `${(100 * (frame - viewStart())) / viewSpan()}%`;
}

export function inView(frame) {
  return frame >= viewStart() && frame <= viewStart() + viewSpan();
}

export function timelineWidth() {
  const tl = document.getElementById("timeline");
  return (tl && tl.clientWidth) || 800;
}

// The fewest frames the timeline shows: about 24 px a frame.
function minSpan() {
  return Math.max(4, Math.round(timelineWidth() / 24));
}

// Show frames [start, start + span) (clamped to the video; the whole video when it fits).
export function setView(start, span) {
  const n = frameCount();
  span = Math.min(n, Math.max(minSpan(), span));
  R.view = span >= n ? null : { start: Math.min(n - span, Math.max(0, start)), span };
  renderTimeline();
}

// Zoom by `factor` (> 1: in) keeping frame `anchor` where it is on screen.
export function zoomBy(factor, anchor) {
  if (!R.timeline) return;
  const s = viewStart();
  const w = viewSpan();
  const at = anchor === undefined ? R.frame : anchor;
  const frac = Math.min(1, Math.max(0, (at - s) / w));
  const nw = w / factor;
  setView(at - frac * nw, nw);
}

export function zoomFit() {
  R.view = null;
  renderTimeline();
}

// Keep the playhead in view when zoomed (a new clip, a step), unless the reviewer panned.
export function follow(frame) {
  if (!R.view || R.pinned || inView(frame)) return;
  setView(frame - R.view.span * 0.1, R.view.span);
}

export function timecode(frame, withFrames) {
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
export function renderRuler() {
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

// The frame under x (fractional: the anchor of a zoom; floor it for a frame index).
export function frameAtXExact(tl, clientX) {
  const r = tl.getBoundingClientRect();
  const f = Math.min(0.99999, Math.max(0, (clientX - r.left) / r.width));
  return viewStart() + f * viewSpan();
}

export function frameAtX(tl, clientX) {
  return Math.min(frameCount() - 1, Math.floor(frameAtXExact(tl, clientX)));
}
