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
//
// The entry module of the page (base.html loads it as type="module": deferred, run once the
// document is parsed, before DOMContentLoaded, as the classic deferred script was). The code
// lives in ES modules of one concern each under /static/review/ (no build step): state.js
// (the shared state `R`, helpers), player.js, standby.js (keeper and standby <video>s),
// panels.js (prefetch, guesses, moves), claims.js, decisions.js (the action queue, undo,
// settle countdowns), poll.js (timeline data, read-only polling), zoom.js, timeline.js,
// keys.js, page.js (wiring). This module starts them in the order the single script did and
// publishes window.heatersReview (tests, the benchmark, review_batch.js).

import { flash, post, R } from "./review/state.js";
import { seekFrame } from "./review/player.js";
import { forget, refreshPanel } from "./review/panels.js";
import { releaseOnPageHide } from "./review/claims.js";
import { enqueue, secondsLeft, setSettling, startCountdowns } from "./review/decisions.js";
import { loadTimeline } from "./review/poll.js";
import { frameAtX, frameCount, viewSpan, viewStart } from "./review/zoom.js";
import { wireDocument, wirePage } from "./review/page.js";

releaseOnPageHide();
startCountdowns();
wireDocument();
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
