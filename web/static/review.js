// Heaters review page: frame-exact looping player, keyboard shortcuts, sprite hover-scrub.
//
// Seeking uses the PTS list the server sends with each clip (data-pts: PTS in seconds of
// frames start..end, from the proxy's frame index): frame k is shown by seeking to
// pts[k - start] + a tiny epsilon, never frame / fps (variable frame rate exists). The
// presented frame is read back from requestVideoFrameCallback's mediaTime.
(() => {
  "use strict";

  let cur = null; // state of the current panel's player

  const $ = (sel, root = document) => root.querySelector(sel);

  // Largest i with pts[i] <= t (+ a little slack for float rounding); -1 when before pts[0].
  function indexAt(pts, t) {
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

  function frameDuration(s, i) {
    if (i + 1 < s.pts.length) return s.pts[i + 1] - s.pts[i];
    return 1 / (s.fps || 25);
  }

  function epsilon(s, i) {
    return Math.min(0.001, frameDuration(s, i) / 4);
  }

  function showFrame(s, frame) {
    s.frame = frame;
    const i = frame - s.start;
    const no = $("#frame-no", s.panel);
    if (no) no.textContent = String(frame);
    const out = $("#frame-readout", s.panel);
    if (out) {
      const t = i < s.pts.length ? s.pts[i].toFixed(3) : "?";
      out.textContent = `frame ${frame} · ${i + 1} / ${s.n} · ${t} s`;
    }
    const scrub = $("#scrub", s.panel);
    if (scrub && document.activeElement !== scrub) scrub.value = String(frame);
    const hidden = $("#split-frame", s.panel);
    if (hidden) hidden.value = String(frame);
    const label = $("#split-label", s.panel);
    if (label) label.textContent = String(frame);
  }

  function seekFrame(s, frame) {
    frame = Math.max(s.start, Math.min(s.end - 1, frame));
    const i = frame - s.start;
    if (i < s.pts.length) s.video.currentTime = s.pts[i] + epsilon(s, i);
    // Until this frame is on screen, callbacks of frames presented by earlier seeks must not
    // move the frame number (fast key repeats): the user's target wins.
    s.seekTarget = frame;
    showFrame(s, frame);
  }

  function step(delta) {
    const s = cur;
    if (!s) return;
    s.video.pause();
    seekFrame(s, s.frame + delta);
  }

  function togglePlay() {
    const s = cur;
    if (!s) return;
    if (s.video.paused) {
      if (s.frame >= s.end - 1) seekFrame(s, s.start);
      s.video.play().catch(() => {});
    } else {
      s.video.pause();
    }
  }

  function restartLoop(s) {
    // Last frame of the clip is on screen: hold it for its duration, then back to the start.
    s.video.pause();
    const i = s.n - 1;
    clearTimeout(s.loopTimer);
    s.loopTimer = setTimeout(() => {
      if (!s.alive || !s.playing) return;
      seekFrame(s, s.start);
      s.video.play().catch(() => {});
    }, (frameDuration(s, i) * 1000) / (s.video.playbackRate || 1));
  }

  function onVideoFrame(now, meta) {
    const s = this;
    if (!s.alive) return;
    const i = indexAt(s.pts, meta.mediaTime);
    s.mediaTime = meta.mediaTime;
    s.presented = i >= 0 ? s.start + i : null;
    if (s.seekTarget !== null) {
      if (s.presented === s.seekTarget || !s.video.paused) s.seekTarget = null;
      else {
        s.video.requestVideoFrameCallback(onVideoFrame.bind(s));
        return;
      }
    }
    if (i >= 0) {
      const frame = s.start + Math.min(i, s.n); // n = first frame after the clip
      if (frame >= s.end) {
        // Past the clip (a late callback while playing): jump back at once.
        if (!s.video.paused) seekFrame(s, s.start);
      } else {
        showFrame(s, frame);
        if (s.playing && !s.video.paused && frame === s.end - 1) restartLoop(s);
      }
    }
    s.video.requestVideoFrameCallback(onVideoFrame.bind(s));
  }

  function setupPanel() {
    const panel = document.getElementById("panel");
    if (!panel || !panel.dataset.clipId) {
      if (cur) cur.alive = false;
      cur = null;
      return;
    }
    if (cur && cur.panel === panel) return;
    if (cur) {
      cur.alive = false;
      clearTimeout(cur.loopTimer);
    }
    const video = $("#player", panel);
    const s = {
      panel,
      video,
      clipId: Number(panel.dataset.clipId),
      start: Number(panel.dataset.start),
      end: Number(panel.dataset.end),
      fps: Number(panel.dataset.fps),
      pts: JSON.parse(panel.dataset.pts || "[]"),
      frame: Number(panel.dataset.start),
      playing: true,
      alive: true,
      seekTarget: null,
      presented: null,
      mediaTime: null,
      loopTimer: 0,
    };
    s.n = s.end - s.start;
    cur = s;
    if (!video) return;

    const playIcon = $(".icon-play", panel);
    video.addEventListener("play", () => {
      s.playing = true;
      if (playIcon) playIcon.textContent = "❚❚";
    });
    video.addEventListener("pause", () => {
      if (playIcon) playIcon.textContent = "▶";
    });
    video.addEventListener("ended", () => {
      if (s.playing) {
        seekFrame(s, s.start);
        video.play().catch(() => {});
      }
    });
    // Without requestVideoFrameCallback: a coarse loop on timeupdate.
    if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) {
      video.addEventListener("timeupdate", () => {
        const i = indexAt(s.pts, video.currentTime);
        if (i >= s.n) seekFrame(s, s.start);
        else if (i >= 0) showFrame(s, s.start + i);
      });
    } else {
      video.requestVideoFrameCallback(onVideoFrame.bind(s));
    }
    const start = () => {
      seekFrame(s, s.start);
      video.play().catch(() => {});
    };
    if (video.readyState >= 1) start();
    else video.addEventListener("loadedmetadata", start, { once: true });

    const scrub = $("#scrub", panel);
    if (scrub) {
      scrub.addEventListener("input", () => {
        video.pause();
        s.playing = false;
        seekFrame(s, Number(scrub.value));
      });
    }
    panel.querySelectorAll(".transport [data-cmd]").forEach((btn) => {
      btn.addEventListener("click", () => {
        const cmd = btn.dataset.cmd;
        if (cmd === "play") togglePlay();
        else {
          s.playing = false;
          step(Number(cmd));
        }
      });
    });
  }

  function act(action) {
    const panel = document.getElementById("panel");
    const btn = panel && panel.querySelector(`[data-action="${action}"]`);
    if (!btn) return;
    if (btn.disabled) {
      flash(`${action}: ${btn.title || "not available for this clip"}`, "error");
      return;
    }
    if (action === "split" && cur) {
      const hidden = $("#split-frame", panel);
      if (hidden) hidden.value = String(cur.frame);
    }
    btn.click();
  }

  function flash(message, kind) {
    const box = document.getElementById("flash");
    if (!box) return;
    const p = document.createElement("p");
    p.className = `flash-item flash-${kind || "ok"}`;
    p.setAttribute("role", kind === "error" ? "alert" : "status");
    p.textContent = message;
    box.prepend(p);
    trimFlash();
  }

  function trimFlash() {
    const box = document.getElementById("flash");
    if (!box) return;
    const items = box.querySelectorAll(".flash-item");
    items.forEach((el, i) => {
      el.classList.toggle("old", i > 0);
      if (i >= 4) el.remove();
    });
  }

  const ACTION_KEYS = { a: "approve", s: "skip", x: "archive", g: "group", m: "merge", k: "split", u: "undo" };

  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.altKey || e.metaKey) return;
    const t = e.target;
    if (t instanceof HTMLElement && t.closest("input:not([type=range]), textarea, select, [contenteditable]")) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (e.ctrlKey) {
      if (key === "z" && !e.repeat) {
        e.preventDefault();
        act("undo");
      }
      return;
    }
    if (ACTION_KEYS[key]) {
      e.preventDefault();
      if (!e.repeat) act(ACTION_KEYS[key]); // holding a key must not decide many clips
      return;
    }
    if (!cur) return;
    switch (key) {
      case "ArrowLeft":
      case "ArrowRight":
        e.preventDefault();
        cur.playing = false;
        step((key === "ArrowLeft" ? -1 : 1) * (e.shiftKey ? 10 : 1));
        break;
      case "Home":
      case "End":
        e.preventDefault();
        cur.playing = false;
        cur.video.pause();
        seekFrame(cur, key === "Home" ? cur.start : cur.end - 1);
        break;
      case " ":
        e.preventDefault();
        togglePlay();
        break;
      default:
    }
  });

  // Sprite sheets: hovering at fraction f of a thumbnail shows tile floor(f * n).
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

  document.addEventListener("htmx:load", setupPanel);
  document.addEventListener("htmx:afterSettle", () => {
    setupPanel();
    trimFlash();
  });
  document.addEventListener("htmx:oobAfterSwap", trimFlash);
  document.addEventListener("htmx:sendError", () =>
    flash("the server did not answer: check that it runs, then try again", "error"),
  );
  document.addEventListener("DOMContentLoaded", () => {
    setupPanel();
    trimFlash();
  });

  // For tests and debugging: what the player shows.
  window.heatersReview = {
    state: () =>
      cur && {
        clipId: cur.clipId,
        frame: cur.frame,
        start: cur.start,
        end: cur.end,
        mediaTime: cur.mediaTime,
        presented: cur.presented,
        currentTime: cur.video ? cur.video.currentTime : null,
        paused: cur.video ? cur.video.paused : null,
      },
    seekFrame: (f) => cur && seekFrame(cur, f),
  };
})();
