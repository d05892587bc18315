// Actions on the clip on screen: decisions (shown at once, POSTed in the background, one at a
// time, in order), edits (split, merge, move a boundary, suggestions), undo and reopen, the
// server's answer, and the settle countdowns (with their undo buttons).

import { browsing, flash, post, R, retarget, startMetric } from "./state.js";
import { whenShown } from "./player.js";
import { forget, goto, gotoBrowse, gotoNext, invalidate, nextGuess, prefetchAround, refreshPanel, reservedAfter, swapPanel, takeGuess } from "./panels.js";
import { loadTimeline } from "./poll.js";
import { markTimelineState } from "./timeline.js";

// ---------------------------------------------------------------- actions

function button(action) {
  const panel = document.getElementById("panel");
  return panel && panel.querySelector(`[data-action="${action}"]`);
}

function refused(action) {
  const btn = button(action);
  if (!btn) return `${action}: not available here`;
  if (btn.disabled) return `${action}: ${btn.title || "not available for this clip"}`;
  return null;
}

export function enqueue(fn) {
  R.busy += 1;
  const run = R.queue.then(fn, fn).finally(() => {
    R.busy -= 1;
  });
  R.queue = run.catch(() => {});
  return run;
}

async function answered(r, what) {
  if (r.ok) {
    const d = r.data;
    flash(d.message || `${what}: done`, d.settles_at ? "pending" : "ok");
    if (d.settling) setSettling(d.settling, d.now);
    return d;
  }
  const detail = (r.data && (r.data.detail || r.data.message)) || `${what} failed (${r.status})`;
  if (r.status === 409) {
    // A stale page: someone (or an earlier key) acted first. Show the right clip.
    flash(`${detail} — showing your next clip`, "error");
    invalidate();
    await gotoNext();
  } else {
    flash(detail, "error");
  }
  return null;
}

export function decision(action, e) {
  const c = R.clip;
  if (!c) return;
  const why = refused(action);
  if (why) {
    flash(why, "error");
    return;
  }
  const predicted = browsing() ? null : nextGuess(c);
  const optimistic = predicted !== null;
  // Not shown yet (its panel is still on the way): the server claims it all the same and
  // answers with its panel.
  const reserved = optimistic || browsing() ? null : reservedAfter(c) || null;
  const change = c.changing; // the clip was shown decided: this replaces its decision
  c.state = "deciding";
  markTimelineState(c.id, action === "skip" ? "review_skipped" : action === "archive" ? "review_archived" : "review_approved");
  if (optimistic) {
    startMetric(action, e, predicted);
    goto(predicted, { noClaim: true });
  }
  const seq = R.seq;
  enqueue(async () => {
    const then = optimistic ? predicted : reserved || "";
    const r = await post(`/review/clips/${c.id}/${action}`, { then, shown: optimistic ? 1 : "", change: change ? 1 : "", browse: browsing() ? 1 : "" });
    const d = await answered(r, action);
    // A decision changes only its own clips: the other prefetched panels stay usable.
    if (d) {
      forget([c.id, ...(d.clip_ids || [])]);
      const label = DECIDED_AS[action];
      for (const id of d.clip_ids || [c.id]) {
        document.querySelectorAll(`#panel .neighbour[data-goto="${id}"] .badge`).forEach((b) => {
          b.className = `badge state-review_${label}`;
          b.textContent = label;
        });
      }
    } else invalidate();
    whenShown(() => loadTimeline(c.videoId, true));
    if (!d) return;
    const show = d.show_clip_id;
    const onScreen = R.clip && R.clip.id;
    if (show && d.guess !== undefined) takeGuess(show, d.guess);
    if (browsing() && seq === R.seq) {
      await gotoBrowse(c); // looking again: the queue's next clip
    } else if (seq === R.seq && show !== onScreen) {
      if (show) {
        if (!optimistic) startMetric(action, e, show);
        else retarget(predicted, show);
        if (d.panel) {
          R.seq += 1; // as goto: a later answer must not override it
          swapPanel(d.panel, { noClaim: true }); // the server sent it with the answer
        } else await goto(show, { noClaim: true, fresh: true });
      } else {
        await gotoNext();
      }
    } else if (R.clip && (d.clip_ids || []).includes(R.clip.id)) {
      await refreshPanel(); // the reviewer went back to a clip this decision changed
    } else if (R.clip) {
      prefetchAround(R.clip);
    }
  });
}

export function edit(action, fields, refuseAs) {
  const c = R.clip;
  if (!c) return;
  const why = refused(refuseAs || action);
  if (why) {
    flash(why.replace(refuseAs || action, action.replace("_", " ")), "error");
    return;
  }
  enqueue(() => editOf(c, action, fields));
}

export async function editOf(c, action, fields) {
  const r = await post(`/review/clips/${c.id}/${action}`, fields);
  const d = await answered(r, action.replace("_", " "));
  invalidate();
  loadTimeline(c.videoId, true);
  if (!d) return;
  const onScreen = R.clip && R.clip.id;
  if (d.show_clip_id && d.show_clip_id !== onScreen) await goto(d.show_clip_id, { noClaim: true, fresh: true });
  else if (!d.show_clip_id) await gotoNext();
  else await refreshPanel();
}

// Split (blade) at `frame`, the current frame by default.
export function split(frame) {
  if (!R.clip) return;
  edit("split", { frame: frame === undefined ? R.frame : frame });
}

// A boundary suggestion (a candidate cut the detector rejected) in the clip on screen:
// the one nearest the playhead (of two as near, the later one).
function nearestSuggestion() {
  const c = R.clip;
  if (!c || !c.suggestions.length) return null;
  let best = null;
  for (const sg of c.suggestions) {
    if (!best || Math.abs(sg.frame - R.frame) <= Math.abs(best.frame - R.frame)) best = sg;
  }
  return best;
}

// Accepting a suggestion is the split at its frame (the same edit, undoable the same way).
export function acceptSuggestion(frame) {
  const c = R.clip;
  if (!c) return;
  const sg = frame === undefined ? nearestSuggestion() : c.suggestions.find((x) => x.frame === frame);
  if (!sg) {
    flash("no suggested cut in this clip", "error");
    return;
  }
  split(sg.frame);
}

export function undoLatest(eventId) {
  enqueue(async () => {
    const r = await post("/review/undo", { event_id: eventId || "" });
    const c = R.clip;
    const d = await answered(r, "undo");
    invalidate();
    if (c) loadTimeline(c.videoId, true);
    if (!d) return;
    if (d.show_clip_id) await goto(d.show_clip_id, { noClaim: true, fresh: true });
    else await refreshPanel();
  });
}

export function reopen() {
  const btn = button("reopen");
  if (!btn) {
    flash("reopen: only a decided clip can be reopened", "error");
    return;
  }
  edit("reopen", { event_id: btn.dataset.eventId || "" });
}

// The cut nearer the playhead: the clip's start or its end.
export function nearerEdge() {
  const c = R.clip;
  return R.frame - c.start < c.end - 1 - R.frame ? "start" : "end";
}

export function moveBoundary(edge, frame) {
  edit("move_boundary", { edge, frame }, "set-in");
}

export function nudge(delta) {
  const c = R.clip;
  if (!c) return;
  const edge = nearerEdge();
  moveBoundary(edge, (edge === "start" ? c.start : c.end) + delta);
}

const DECIDED_AS = { approve: "approved", skip: "skipped", archive: "archived", group: "approved" };

// ---------------------------------------------------------------- settle countdowns

export function setSettling(events, serverNow) {
  if (serverNow) R.clockOffset = Date.parse(serverNow) - Date.now();
  R.settling = events.map((ev) => ({ ...ev, deadline: Date.parse(ev.settles_at) - R.clockOffset }));
  renderSettling();
}

export function loadSettling() {
  fetch("/review/settling", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((d) => d && setSettling(d.events, d.now))
    .catch(() => {});
}

export function secondsLeft(deadline) {
  return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
}

function renderSettling() {
  const box = document.getElementById("settling");
  const list = document.getElementById("settling-list");
  if (!box || !list) return;
  R.settling = R.settling.filter((ev) => ev.deadline > Date.now());
  box.hidden = R.settling.length === 0;
  list.replaceChildren(
    ...R.settling.map((ev) => {
      const li = document.createElement("li");
      li.dataset.eventId = String(ev.event_id);
      const what = document.createElement("span");
      what.textContent = `${ev.action} ${ev.clip_ids.map((i) => "#" + i).join(", ")}`;
      const cd = document.createElement("span");
      cd.className = "countdown";
      cd.dataset.deadline = String(ev.deadline);
      cd.textContent = `${secondsLeft(ev.deadline)} s`;
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = "undo";
      b.addEventListener("click", () => undoLatest(ev.event_id));
      li.append(what, " ", cd, " ", b);
      return li;
    }),
  );
  const undoBtn = button("undo");
  if (undoBtn) undoBtn.title = R.settling.length ? `undo ${R.settling[0].action} of #${R.settling[0].clip_ids.join(", #")}` : "nothing of yours is settling";
}

// The countdowns tick every 250 ms; an ended one reloads the timeline.
export function startCountdowns() {
  setInterval(() => {
    document.querySelectorAll(".countdown[data-deadline]").forEach((el) => {
      el.textContent = `${secondsLeft(Number(el.dataset.deadline))} s`;
    });
    document.querySelectorAll("#panel .countdown[data-settles-at]").forEach((el) => {
      const left = secondsLeft(Date.parse(el.dataset.settlesAt) - R.clockOffset);
      el.textContent = `${left} s`;
    });
    if (R.settling.some((ev) => ev.deadline <= Date.now())) {
      renderSettling();
      if (R.clip) loadTimeline(R.clip.videoId, true);
    }
  }, 250);
}
