"""The one way a stage runs on one item: claim, work, commit or fail (DESIGN.md §2).

``run_stage`` claims the item (state → the stage's running state; nothing to claim →
``"noop"``), runs ``work`` (which writes storage objects under fixed keys and then its rows and
the next state in one transaction), and turns any failure into the ``*_failed`` state with a
one-line reason: ``HeatersError`` as it says (retried with backoff when transient), anything
else as an internal error (retried like a transient one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeAlias

import asyncpg

from heaters.domain.states import Transition
from heaters.errors import HeatersError
from heaters.pipeline.runtime import Runtime

log = logging.getLogger(__name__)

Outcome = str  # "done" | "failed" | "noop"
Row: TypeAlias = asyncpg.Record
Kind = Literal["video", "clip"]

_CLAIM = {"video": "claim_video", "clip": "claim_clip"}
_FAIL = {"video": "fail_video", "clip": "fail_clip"}


async def pause_point(rt: Runtime, stage: str) -> None:
    """Crash tests: hold the stage just before its commit (``HEATERS_TEST_PAUSE_BEFORE_COMMIT``)."""
    if rt.settings.test_pause_before_commit == stage:
        log.warning("%s: pausing before commit (HEATERS_TEST_PAUSE_BEFORE_COMMIT)", stage)
        await asyncio.sleep(3600)


async def run_stage(
    rt: Runtime,
    kind: Kind,
    item_id: int,
    transition: Transition,
    work: Callable[[Row], Awaitable[Any]],
) -> Outcome:
    """Run ``work`` on item ``item_id`` of ``kind`` under ``transition``; see the module doc."""
    async with rt.db.transaction() as conn:
        row = await getattr(rt.db.q, _CLAIM[kind])(
            conn, id=item_id, running=transition.running, claimable=list(transition.claimable)
        )
    if row is None:
        log.info("%s %s: nothing to do for %s", kind, item_id, transition.running)
        return "noop"
    started = time.monotonic()
    log.info("%s %s: %s (attempt %s)", kind, item_id, transition.running, row["attempts"])
    try:
        await work(row)
    except HeatersError as exc:
        return await _fail(rt, kind, item_id, transition, str(exc), transient=exc.transient)
    except Exception as exc:
        log.exception("%s %s: internal error in %s", kind, item_id, transition.running)
        reason = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0][:500]
        return await _fail(rt, kind, item_id, transition, reason, transient=True)
    log.info("%s %s: %s in %.2f s", kind, item_id, transition.done, time.monotonic() - started)
    return "done"


async def _fail(
    rt: Runtime, kind: Kind, item_id: int, transition: Transition, reason: str, *, transient: bool
) -> Outcome:
    s = rt.settings
    async with rt.db.transaction() as conn:
        await getattr(rt.db.q, _FAIL[kind])(
            conn,
            id=item_id,
            failed=transition.failed,
            running=transition.running,
            error=reason,
            transient=transient,
            max_attempts=s.max_attempts,
            backoff=s.retry_backoff_seconds,
        )
    log.warning("%s %s: %s: %s", kind, item_id, transition.failed, reason)
    return "failed"
