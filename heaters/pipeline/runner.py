"""The one way a stage runs on one item: claim, work, commit or fail (docs/architecture.md).

``run_stage`` claims the item (:func:`heaters.db.lifecycle.claim`: state → the stage's
running state, the attempt counted; nothing to claim → ``"noop"``), runs ``work`` (which
writes storage objects under fixed keys and then its rows and
:func:`heaters.db.lifecycle.finish` in one transaction; ``work`` returning ``"noop"`` says
there turned out to be nothing to do), and turns any failure into the ``*_failed`` state
(:func:`heaters.db.lifecycle.fail`) with a one-line reason: ``HeatersError`` as it says
(retried with backoff when transient), anything else as an internal error (retried like a
transient one).

Two failures are not the item's and spend no attempt:

- **A lost claim.** The claim returns a fencing token (``claim_token``) that the finish and
  the fail must show; when another worker has claimed the item since (this one stalled past
  the stalled-after time, or a partition cut it off and its job was retried elsewhere), the
  finish raises :class:`~heaters.db.lifecycle.ClaimLost` (the stage's transaction rolls
  back), or the fail changes nothing: one line ``video 12: claim lost to another worker
  (stale token), result discarded`` and the outcome ``"lost"``.
- **A lost database.** An error that means the database cannot be reached
  (:func:`heaters.db.errors.stage_lost_database`) is re-raised after one log line (``video
  12: database unavailable in preprocessing (connection refused): retried once it is back,
  no attempt spent``), no traceback and nothing written: the job is retried
  (``workers/app.py``) once the database is back and redoes the stage from its inputs; its
  claim, in the same process, resumes the lost one without counting an attempt.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg
import structlog

from heaters.db import lifecycle
from heaters.db.errors import stage_lost_database
from heaters.domain.states import Transition
from heaters.errors import HeatersError
from heaters.pipeline.runtime import Runtime

log = logging.getLogger(__name__)
slog = structlog.get_logger("heaters.stage")

Outcome = str  # "done" | "failed" | "noop" | "lost"
Row: TypeAlias = asyncpg.Record
Kind = lifecycle.Kind

#: The claim tokens of items whose stage this process left for a lost database, by item:
#: the retried job's claim resumes such a claim (no attempt counted); a claim by another
#: process counts on, as a redo after a crash does.
_resume: dict[tuple[Kind, int], UUID] = {}


async def pause_point(rt: Runtime, stage: str) -> None:
    """Crash tests: hold the stage just before its commit (``HEATERS_TEST_PAUSE_BEFORE_COMMIT``)."""
    if rt.settings.test_pause_before_commit == stage:
        log.warning("%s: pausing before commit (HEATERS_TEST_PAUSE_BEFORE_COMMIT)", stage)
        await asyncio.sleep(3600)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def _record(
    rt: Runtime,
    transition: Transition,
    kind: Kind,
    item_id: int,
    attempt: int | None,
    outcome: Outcome,
    error: str | None,
    started: datetime,
    seconds: float,
) -> None:
    duration_ms = round(seconds * 1000)
    slog.info(
        "stage_end", stage=transition.stage, kind=kind, item_id=item_id, attempt=attempt,
        outcome=outcome, duration_ms=duration_ms, error=error,
    )  # fmt: skip
    try:
        async with rt.db.acquire() as conn:
            await rt.db.q.record_stage_run(
                conn, stage=transition.stage, item_kind=kind, item_id=item_id, attempt=attempt,
                outcome=outcome, error=error, worker=_worker_name(), started_at=started,
                duration_ms=duration_ms,
            )  # fmt: skip
    except asyncpg.PostgresError:  # metrics must never fail the stage
        log.exception("could not record the stage run")


async def run_stage(
    rt: Runtime,
    kind: Kind,
    item_id: int,
    transition: Transition,
    work: Callable[[Row], Awaitable[Any]],
) -> Outcome:
    """Run ``work`` on item ``item_id`` of ``kind`` under ``transition``; see the module doc.

    Every run is recorded in ``stage_runs`` (outcome, attempt, duration) and logged as
    ``stage_start`` / ``stage_end`` events.
    """
    started = datetime.now(UTC)
    t0 = time.monotonic()
    async with rt.db.transaction() as conn:
        row = await lifecycle.claim(
            conn, kind, transition, item_id, resume=_resume.get((kind, item_id))
        )
    _resume.pop((kind, item_id), None)
    if row is None:
        await _record(rt, transition, kind, item_id, None, "noop", None, started, 0.0)
        return "noop"
    attempt, token = row["attempts"], row["claim_token"]
    slog.info("stage_start", stage=transition.stage, kind=kind, item_id=item_id, attempt=attempt)
    outcome, error = "done", None
    try:
        if await work(row) == "noop":
            outcome = "noop"
    except lifecycle.ClaimLost as lost:
        outcome = _lost(kind, item_id, taken_over=lost.taken_over)
    except HeatersError as exc:
        error = str(exc)
        outcome = await _fail(rt, kind, item_id, transition, token, error, transient=exc.transient)
    except Exception as exc:
        reason = stage_lost_database(exc)
        if reason is not None:
            # Not the item's failure: the job is retried once the database is back
            # (workers/app.py); this process's next claim of the item resumes this one
            # without counting an attempt.
            log.warning(
                "%s %s: database unavailable in %s (%s): retried once it is back, no attempt"
                " spent", kind, item_id, transition.running, reason,
            )  # fmt: skip
            _resume[(kind, item_id)] = token
            raise
        log.exception("%s %s: internal error in %s", kind, item_id, transition.running)
        error = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0][:500]
        outcome = await _fail(rt, kind, item_id, transition, token, error, transient=True)
    await _record(
        rt, transition, kind, item_id, attempt, outcome, error, started, time.monotonic() - t0
    )
    return outcome


def _lost(kind: Kind, item_id: int, *, taken_over: bool = True) -> Outcome:
    why = "to another worker (stale token)" if taken_over else "(it left its running state)"
    log.warning("%s %s: claim lost %s, result discarded", kind, item_id, why)
    return "lost"


async def _fail(
    rt: Runtime,
    kind: Kind,
    item_id: int,
    transition: Transition,
    token: UUID,
    reason: str,
    *,
    transient: bool,
) -> Outcome:
    s = rt.settings
    if transition.running == transition.done:
        # The state does not say which stage failed (an artifact of a clip in review).
        reason = f"{transition.stage}: {reason}".splitlines()[0][:500]
    async with rt.db.transaction() as conn:
        row = await lifecycle.fail(
            conn,
            kind,
            transition,
            item_id,
            token=token,
            error=reason,
            transient=transient,
            max_attempts=s.max_attempts,
            backoff_seconds=s.retry_backoff_seconds,
        )
    return "failed" if row is not None else _lost(kind, item_id)
