// Tags, notes and batch actions on the review page (issue 21). An ES module beside
// review.js (no build step): it reaches the page through window.heatersReview, so its
// actions queue behind the decisions (one request at a time, in order) and update the same
// settle countdowns; every one of them is a review event that U undoes.
//
// Keys 1–9 toggle the tag on that key on the clip on screen; the note saves with its button,
// Ctrl+Enter, or when it loses focus changed. Shift+click on the timeline selects the clips
// from the current one (or the last shift-clicked) to the clicked one, Shift+↑ / Shift+↓
// move the selection's far end by a clip; while a selection is on, A / S / X / 1–9 apply to
// all of it in ONE decision (one undo restores all); Esc clears.

const H = () => window.heatersReview;
const sel = { anchor: null, end: null, ids: [], videoId: null };

function typing(e) {
  const t = e.target;
  return t instanceof HTMLElement && Boolean(t.closest("input:not([type=range]), textarea, select, [contenteditable]"));
}

function panel() {
  return document.getElementById("panel");
}

function detail(r, what) {
  return (r.data && (r.data.detail || r.data.message)) || `${what} failed (${r.status})`;
}

// ---------------------------------------------------------------- tags on one clip

function chipFor(key, name) {
  const p = panel();
  if (!p) return null;
  return name ? p.querySelector(`.tag-chip[data-tag="${CSS.escape(name)}"]`) : p.querySelector(`.tag-chip[data-key="${key}"]`);
}

function setChip(chip, on) {
  chip.classList.toggle("on", on);
  chip.setAttribute("aria-pressed", on ? "true" : "false");
}

function toggleTag(key, name) {
  const st = H().state();
  if (!st) return;
  const chip = chipFor(key, name);
  if (!chip) {
    H().flash(`no tag on key ${key}: add one with 'heaters tag add NAME --key ${key}'`, "error");
    return;
  }
  if (chip.disabled) {
    H().flash(`tag ${chip.dataset.tag}: this clip cannot be changed here`, "error");
    return;
  }
  const clipId = st.clipId;
  const on = !chip.classList.contains("on");
  setChip(chip, on); // at once; the answer confirms it (or puts it back)
  H().enqueue(async () => {
    const r = await H().post(`/review/clips/${clipId}/tag`, { tag: chip.dataset.tag, on: on ? 1 : 0 });
    if (!r.ok) {
      if (chip.isConnected) setChip(chip, !on);
      H().flash(detail(r, "tag"), "error");
      return;
    }
    H().flash(r.data.message, "pending");
    if (r.data.settling) H().settle(r.data.settling);
    H().changed([clipId]);
  });
}

// ---------------------------------------------------------------- the note

function saveNote(form) {
  const ta = form.querySelector("textarea");
  const p = panel();
  if (!ta || !p || ta.disabled) return;
  const clipId = Number(p.dataset.clipId);
  const note = ta.value.trim();
  if (note === (ta.dataset.saved || "").trim()) return;
  ta.dataset.saved = note; // a second save of the same text sends nothing
  H().enqueue(async () => {
    const r = await H().post(`/review/clips/${clipId}/note`, { note });
    if (!r.ok) {
      H().flash(detail(r, "note"), "error");
      return;
    }
    H().flash(r.data.message, "pending");
    if (r.data.settling) H().settle(r.data.settling);
    H().changed([clipId]);
  });
}

// ---------------------------------------------------------------- selection on the timeline

function clipsOfTimeline() {
  const t = H().timeline();
  return t ? t.clips : [];
}

function selectTo(clipId) {
  const clips = clipsOfTimeline();
  const st = H().state();
  const anchor = sel.anchor !== null ? sel.anchor : st ? st.clipId : clipId;
  const a = clips.findIndex((c) => c.id === anchor);
  const b = clips.findIndex((c) => c.id === clipId);
  if (b < 0) return;
  const [lo, hi] = a < 0 ? [b, b] : [Math.min(a, b), Math.max(a, b)];
  sel.anchor = a < 0 ? clipId : anchor;
  sel.end = clipId;
  sel.ids = clips.slice(lo, hi + 1).map((c) => c.id);
  sel.videoId = H().timeline().video.id;
  renderSelection();
}

// Shift+↑ / Shift+↓: the selection's far end one clip earlier / later (from the clip on
// screen when nothing is selected).
function extendSelection(delta) {
  const clips = clipsOfTimeline();
  const st = H().state();
  const from = sel.end !== null ? sel.end : st ? st.clipId : null;
  const i = clips.findIndex((c) => c.id === from);
  if (i < 0) return;
  const j = Math.max(0, Math.min(clips.length - 1, i + delta));
  selectTo(clips[j].id);
}

function clearSelection() {
  sel.anchor = null;
  sel.end = null;
  sel.ids = [];
  renderSelection();
}

function renderSelection() {
  const on = new Set(sel.ids.map(String));
  document.querySelectorAll("#timeline .tl-clip").forEach((b) => {
    b.classList.toggle("tl-selected", on.has(b.dataset.clipId));
  });
  let bar = document.getElementById("batch-bar");
  if (!bar) {
    const tl = document.getElementById("timeline");
    if (!tl) return;
    bar = document.createElement("p");
    bar.id = "batch-bar";
    bar.className = "batch-bar";
    bar.setAttribute("role", "status");
    tl.insertAdjacentElement("beforebegin", bar);
  }
  bar.hidden = sel.ids.length === 0;
  bar.textContent = sel.ids.length
    ? `${sel.ids.length} clips selected: A approve · S skip · X archive · 1–9 tag them all (one undo takes it back) · Esc clears`
    : "";
  bar.dataset.count = String(sel.ids.length);
}

function batch(action, fields) {
  const ids = sel.ids.slice();
  const videoId = sel.videoId;
  clearSelection();
  H().enqueue(async () => {
    const r = await H().post("/review/batch", { action, clip_ids: ids.join(","), ...(fields || {}) });
    if (!r.ok) {
      H().flash(detail(r, action), "error");
      return;
    }
    H().flash(r.data.message, "pending");
    if (r.data.settling) H().settle(r.data.settling);
    H().changed(ids, videoId);
    await H().refresh();
  });
}

// ---------------------------------------------------------------- wiring

const BATCH_KEYS = { a: "approve", s: "skip", x: "archive" };

document.addEventListener(
  "keydown",
  (e) => {
    if (!document.getElementById("review") || !H() || e.defaultPrevented) return;
    if (e.altKey || e.metaKey || e.ctrlKey || typing(e)) return;
    const help = document.getElementById("help");
    if (help && help.open) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const digit = /^[1-9]$/.test(e.key) ? Number(e.key) : null;
    if (e.shiftKey && (key === "ArrowUp" || key === "ArrowDown")) {
      e.preventDefault(); // review.js would move to the previous / next clip
      extendSelection(key === "ArrowUp" ? -1 : 1);
      return;
    }
    if (sel.ids.length) {
      if (key === "Escape") {
        e.preventDefault();
        clearSelection();
      } else if (BATCH_KEYS[key] || digit !== null) {
        e.preventDefault(); // review.js leaves a key already handled alone
        if (e.repeat) return;
        if (digit !== null) batch("tag", { key: digit });
        else batch(BATCH_KEYS[key]);
      }
      return;
    }
    if (digit !== null) {
      e.preventDefault();
      if (!e.repeat) toggleTag(digit);
    }
  },
  true,
);

// Shift+click on the timeline selects; a plain click (review.js) opens the clip.
document.addEventListener(
  "click",
  (e) => {
    const el = e.target instanceof Element ? e.target : null;
    if (!el || !H()) return;
    if (e.shiftKey && el.closest("#timeline") && !el.closest(".tl-cut")) {
      const frame = H().frameAt(e.clientX);
      const c = clipsOfTimeline().find((x) => frame !== null && x.start <= frame && frame < x.end);
      if (!c) return;
      e.preventDefault();
      e.stopPropagation();
      selectTo(c.id);
      return;
    }
    const chip = el.closest("#panel .tag-chip[data-tag]");
    if (chip && !chip.disabled) {
      e.preventDefault();
      toggleTag(Number(chip.dataset.key) || null, chip.dataset.tag);
    }
  },
  true,
);

document.addEventListener("submit", (e) => {
  const form = e.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("note-form") || !H()) return;
  e.preventDefault();
  saveNote(form);
});

document.addEventListener("keydown", (e) => {
  const ta = e.target instanceof HTMLTextAreaElement && e.target.closest(".note-form") ? e.target : null;
  if (!ta) return;
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    saveNote(ta.form);
  } else if (e.key === "Escape") {
    ta.blur();
  }
});

document.addEventListener("change", (e) => {
  const ta = e.target instanceof HTMLTextAreaElement && e.target.closest(".note-form") ? e.target : null;
  if (ta && H()) saveNote(ta.form);
});

// The timeline is drawn again on every poll and zoom: keep the selection's marks on it.
function watchTimeline() {
  const tl = document.getElementById("timeline");
  if (!tl) return;
  new MutationObserver(() => {
    if (sel.ids.length) renderSelection();
  }).observe(tl, { childList: true });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watchTimeline);
else watchTimeline();

window.heatersBatch = { selection: () => sel.ids.slice(), clear: clearSelection, selectTo };
