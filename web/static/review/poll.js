// The timeline's data from the server, and what follows from it: prefetched panels that
// went stale are dropped, a read-only clip reloads when its holder lets go, a clip decided
// by someone else reloads; polled every 2 s while read-only, else every 5 s.

import { layout, me, R } from "./state.js";
import { forget, goto, prefetchAround, refreshPanel } from "./panels.js";
import { markCurrent, renderTimeline } from "./timeline.js";

export function loadTimeline(videoId, force) {
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
export function pollTimeline() {
  const c = R.clip;
  const wait = c && c.readonly ? 2000 : 5000;
  setTimeout(() => {
    const cur = R.clip;
    const go = cur && document.visibilityState === "visible" && !R.drag ? loadTimeline(cur.videoId, true) : Promise.resolve();
    go.finally(pollTimeline);
  }, wait);
}
