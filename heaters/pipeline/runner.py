"""The one way a stage runs on one item: claim, work, commit or fail (docs/architecture.md).

``run_stage`` claims the item (:func:`heaters.db.lifecycle.claim`: state → the stage's
running state, the attempt counted; nothing to claim → ``"noop"``), runs ``work`` (which
writes storage objects under fixed keys and then its rows and
:func:`heaters.db.lifecycle.finish` in one transaction; ``work`` returning ``"noop"`` says
there turned out to be nothing to do), and turns any failure into the ``*_failed`` state
(:func:`heaters.db.lifecycle.fail`) with a one-line reason: ``HeatersError`` as it says
(retried with backoff when transient), anything else as an internal error (retried like a
transient one).
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

import asyncpg
import structlog

from heaters.db import lifecycle
from heaters.domain.states import Transition
from heaters.errors import HeatersError
from heaters.pipeline.runtime import Runtime

log = logging.getLogger(__name__)
slog = structlog.get_logger("heaters.stage")

Outcome = str  # "done" | "failed" | "noop"
Row: TypeAlias = asyncpg.Record
Kind = lifecycle.Kind


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
        row = await lifecycle.claim(conn, kind, transition, item_id)
    if row is None:
        await _record(rt, transition, kind, item_id, None, "noop", None, started, 0.0)
        return "noop"
    attempt = row["attempts"]
    slog.info("stage_start", stage=transition.stage, kind=kind, item_id=item_id, attempt=attempt)
    outcome, error = "done", None
    try:
        if await work(row) == "noop":
            outcome = "noop"
    except HeatersError as exc:
        error = str(exc)
        outcome = await _fail(rt, kind, item_id, transition, error, transient=exc.transient)
    except Exception as exc:
        log.exception("%s %s: internal error in %s", kind, item_id, transition.running)
        error = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0][:500]
        outcome = await _fail(rt, kind, item_id, transition, error, transient=True)
    await _record(
        rt, transition, kind, item_id, attempt, outcome, error, started, time.monotonic() - t0
    )
    return outcome


async def _fail(
    rt: Runtime, kind: Kind, item_id: int, transition: Transition, reason: str, *, transient: bool
) -> Outcome:
    s = rt.settings
    if transition.running == transition.done:
        # The state does not say which stage failed (an artifact of a clip in review).
        reason = f"{transition.stage}: {reason}".splitlines()[0][:500]
    async with rt.db.transaction() as conn:
        await lifecycle.fail(
            conn,
            kind,
            transition,
            item_id,
            error=reason,
            transient=transient,
            max_attempts=s.max_attempts,
            backoff_seconds=s.retry_backoff_seconds,
        )
    return "failed"
