// The keyboard map (NLE keys): A/S/X/G decide, J/K/L shuttle, I/O and [ ] move a boundary,
// ↑/↓ and N move between clips, B / Ctrl+K split, C accepts a suggestion, M merges, U undoes,
// R reopens, V , . show cuts, + - 0 zoom, ? the help dialog.

import { browsing, flash, R, startMetric } from "./state.js";
import { seekFrame, setShuttle, shuttleBackward, shuttleForward, step, toggleMute, togglePlay } from "./player.js";
import { goto, gotoBrowse, gotoNext, reservedAfter } from "./panels.js";
import { acceptSuggestion, decision, edit, moveBoundary, nudge, reopen, split, undoLatest } from "./decisions.js";
import { zoomBy, zoomFit } from "./zoom.js";
import { nearerCut, showCut, stepCut } from "./timeline.js";

export const DECISION_KEYS = { a: "approve", s: "skip", x: "archive", g: "group" };

export function onKey(e) {
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

export function showHelp() {
  const help = document.getElementById("help");
  if (help && !help.open) help.showModal();
}
