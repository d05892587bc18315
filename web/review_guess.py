"""The review page's next clip, known before the reviewer decides (issue 21, latency tails).

A decision shows the page's guess of the next clip at once and posts in the background; the
guess is only worth showing when nobody takes it meanwhile. So the server reserves it
(:func:`heaters.review.reserve_next`) whenever it gives the reviewer a clip: in the answer to
a decision or a claim (``guess``: the clip id, None when no clip is left) and as the panel's
``data-next-pending`` of the clip it claimed. Other reviewers' queues and guesses skip a
reserved clip, so the guess holds unless another reviewer opens that very clip.

When the server shows another clip than the page's guess (no guess, or it was taken), the
answer carries that clip's panel (``panel``: the HTML fragment), so the page swaps it in
without a second request. Review responses carry ``Server-Timing`` (ms per phase), which the
browser exposes in its Performance entries (``bench/review_browser.py`` reports them).
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Request
from litestar.response import Template

from heaters.domain.states import ClipState
from heaters.review import ClipView, reserve_next
from web.auth import reviewer
from web.state import web_state


async def reserve_for(
    request: Request[Any, Any, Any], clip: ClipView | int | None, *, video_order: bool
) -> int | None:
    """Reserve the reviewer's next clip after ``clip`` (the clip they now hold, or its id)
    and return its id; None when there is no clip, it is not pending, or the queue is not in
    video order (``video_order`` False: the confidence queue, or browsing decided clips)."""
    if clip is None or not video_order:
        return None
    if isinstance(clip, ClipView) and clip.state != ClipState.PENDING_REVIEW:
        return None
    st = web_state(request)
    clip_id = clip.id if isinstance(clip, ClipView) else clip
    return await reserve_next(
        st.db, reviewer(request), clip_id, seconds=float(st.settings.claim_seconds)
    )


def render_panel(request: Request[Any, Any, Any], ctx: dict[str, Any]) -> str:
    """``_panel.html`` rendered with ``ctx`` (what ``GET /review/clips/{id}/panel`` sends)."""
    engine = request.app.template_engine
    if engine is None:  # pragma: no cover - the app always configures Jinja
        raise RuntimeError("no template engine")
    page = Template(template_name="_panel.html", context=ctx)
    html: str = engine.get_template("_panel.html").render(**page.create_template_context(request))
    return html


class Timings:
    """Phases of one request, for a ``Server-Timing`` header: ``mark(name)`` ends the phase
    begun at the previous mark (or at creation); ``header()`` lists them and ``total``, in
    milliseconds."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.phases: list[tuple[str, float]] = []

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.phases.append((name, (now - self.last) * 1000))
        self.last = now

    def header(self) -> dict[str, str]:
        total = (time.perf_counter() - self.start) * 1000
        parts = [f"{n};dur={ms:.1f}" for n, ms in self.phases] + [f"total;dur={total:.1f}"]
        return {"Server-Timing": ", ".join(parts)}
