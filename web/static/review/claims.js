// Hard claims on the clip on screen: one at a time, in the order of the moves; renewed
// while it stays on screen; released when the page goes away.

import { claimSeconds, csrf, flash, post, R } from "./state.js";
import { refreshPanel, takeGuess } from "./panels.js";

// Claims go out one at a time, in the order of the moves, and one whose clip is no longer
// on screen is dropped: two in flight at once could be answered out of order, and the
// later answer (a claim drops the reviewer's other claims) would leave the clip on
// screen unclaimed.
let claims = Promise.resolve();
export function claim(c) {
  claims = claims.then(() => claimNow(c)).catch(() => {});
  return claims;
}

async function claimNow(c) {
  if (!c || c.state !== "pending_review" || R.clip !== c) return;
  const r = await post(`/review/clips/${c.id}/claim`);
  if (!r.ok || R.clip !== c) return;
  if (!r.data.readonly && r.data.guess !== undefined) takeGuess(c.id, r.data.guess);
  if (r.data.readonly && !c.readonly) {
    flash(`clip ${c.id} is open read-only: ${r.data.held_by} is reviewing it`, "pending");
    refreshPanel();
  }
}

export function startRenew() {
  clearInterval(R.renewTimer);
  const every = Math.max(5, claimSeconds() / 3) * 1000;
  R.renewTimer = setInterval(() => {
    const c = R.clip;
    if (c && !c.readonly && c.state === "pending_review") {
      claims = claims
        .then(() => (R.clip === c ? post(`/review/clips/${c.id}/claim`) : null))
        .then((r) => {
          if (r && r.ok && R.clip === c && !r.data.readonly && r.data.guess !== undefined) takeGuess(c.id, r.data.guess);
        })
        .catch(() => {});
    }
  }, every);
}

// The clip on screen is released when the page goes away.
export function releaseOnPageHide() {
  window.addEventListener("pagehide", () => {
    const c = R.clip;
    if (!c || c.readonly || !navigator.sendBeacon) return;
    const body = new URLSearchParams({ _csrf_token: csrf(), clip_id: String(c.id) });
    navigator.sendBeacon("/review/release", body);
  });
}
