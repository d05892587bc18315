// The player: frame k shown by seeking to its PTS (never frame / fps), the presented frame
// read back from requestVideoFrameCallback, the shuttle (J/K/L, space, ←/→), the clip's loop,
// loading a clip (a seek, or a new proxy / the standby swapped in), whenShown, the sound.

import { $, finishMetric, now, R } from "./state.js";
import { keepWith, parkKeeper, swapPlayers } from "./standby.js";
import { markPlayhead } from "./timeline.js";

// Largest i with pts[i] <= t (+ a little slack for float rounding); -1 when before pts[0].
export function indexAt(pts, t) {
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

export function showFrame(frame) {
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

export function seekFrame(frame) {
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

export function stopReverse() {
  clearTimeout(R.reverseTimer);
  R.reverseTimer = 0;
}

export function setShuttle(s) {
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

export function shuttleForward() {
  setShuttle(R.shuttle <= 0 ? 1 : Math.min(4, R.shuttle * 2));
}

export function shuttleBackward() {
  setShuttle(R.shuttle >= 0 ? -1 : Math.max(-4, R.shuttle * 2));
}

export function togglePlay() {
  setShuttle(R.shuttle === 0 ? 1 : 0);
}

export function step(delta) {
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

export function onVideoFrame(_now, meta) {
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
export function whenShown(fn) {
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

export function loadPlayer(c) {
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
export function toggleMute() {
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

export function renderMute() {
  const b = document.getElementById("mute");
  if (!b || !R.video) return;
  b.setAttribute("aria-pressed", R.video.muted ? "false" : "true");
  const label = $(".mute-label", b);
  if (label) label.textContent = R.video.muted ? "muted" : "sound on";
  b.classList.toggle("sound-on", !R.video.muted);
}
