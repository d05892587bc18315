// The hidden <video> elements beside the player: the keeper (parked on the clip left, so
// its bytes stay in Chromium's media cache) and the standby (the next video's proxy, loaded
// ahead and swapped in as the player), and the listeners either element needs as the player.

import { R } from "./state.js";
import { indexAt, onVideoFrame, seekFrame, showFrame } from "./player.js";
import { cacheEntry, reservedAfter } from "./panels.js";

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
export function keepWith(k, el) {
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
export function parkKeeper(c) {
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

export function makeStandby() {
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
export function warmNext() {
  const c = R.clip;
  const id = c && (reservedAfter(c) || c.nextPending);
  const e = id && cacheEntry(id);
  if (e && e.proxy && e.videoId !== c.videoId) warmStandby(e.proxy, e.firstPts);
}

// The standby becomes the player (id "player", shown, sound as the player had it) and the
// player the standby; returns the new player.
export function swapPlayers() {
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
export function wireVideo(el) {
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
