"""The dispatcher: runs every stage's finder and defers one job per item found.

It is the only place that enqueues stage jobs (workers never enqueue workers). It runs as a
periodic procrastinate task and is deferred again whenever a job ends or a user acts, so the
pipeline reacts in LISTEN/NOTIFY time. A stage that is off here (its model is not installed:
:attr:`Stage.enabled`) is given no work; its items wait in the previous stage's done state.
Nor is a stage whose queue an operator paused (:func:`pause_queue`, table ``paused_queues``):
its items wait in their ready states until :func:`resume_queue`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from heaters.db import Database, fetch_all
from heaters.pipeline.stages import STAGES, Stage

log = logging.getLogger(__name__)

#: Defer one job of ``stage`` for ``item_id``; returns False when one is already queued.
Deferrer = Callable[[Stage, int], Awaitable[bool]]


@dataclass
class DispatchReport:
    """What one dispatcher run deferred: ``{stage name: [item ids]}``."""

    deferred: dict[str, list[int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Number of jobs deferred."""
        return sum(len(v) for v in self.deferred.values())


@functools.cache
def stage_status(stage: Stage) -> tuple[bool, str]:
    """``(on, reason)`` of ``stage`` in this process (asked once: installing a model needs a
    restart anyway)."""
    if stage.enabled is None:
        return True, "on"
    return stage.enabled()


def stages_off(stages: Sequence[Stage] = STAGES) -> dict[str, str]:
    """The stages that are off here: ``{name: reason, with how to turn it on}``."""
    off: dict[str, str] = {}
    for stage in stages:
        on, reason = stage_status(stage)
        if not on:
            off[stage.name] = reason
    return off


async def dispatch(
    db: Database,
    defer: Deferrer,
    *,
    stages: Sequence[Stage] = STAGES,
    limit_per_stage: int = 500,
) -> DispatchReport:
    """Find work for every stage and defer it.

    Parameters
    ----------
    db:
        The database.
    defer:
        Enqueues one job (procrastinate in production: ``queueing_lock`` makes a second defer
        of the same stage and item fail, which ``defer`` reports as False).
    limit_per_stage:
        At most this many items per stage and run (the next run takes the rest).
    """
    report = DispatchReport()
    async with db.acquire() as conn:
        paused = {r["queue"] for r in await fetch_all(db.q.paused_queues(conn))}
    for stage in stages:
        if not stage_status(stage)[0] or stage.queue in paused:
            continue
        finder = stage.finds
        async with db.acquire() as conn:
            query = finder.query(db.q)
            rows = await fetch_all(
                query(conn, states=list(stage.states), stage=stage.name, limit=limit_per_stage)
            )
        for row in rows:
            if await defer(stage, row["id"]):
                report.deferred.setdefault(stage.name, []).append(row["id"])
    if report.total:
        log.info("dispatched %s", {k: len(v) for k, v in report.deferred.items()})
    return report


#: The queues that stage jobs run in (what can be paused).
STAGE_QUEUES: tuple[str, ...] = tuple(sorted({s.queue for s in STAGES}))


async def pause_queue(db: Database, queue: str, by: str | None = None) -> int:
    """Pause ``queue``: the dispatcher defers no stage job to it, and the stage jobs waiting
    in it are withdrawn (their items stay in their ready states; jobs already running
    finish). Returns how many were withdrawn. Raises ValueError for an unknown queue."""
    if queue not in STAGE_QUEUES:
        raise ValueError(f"unknown queue {queue!r} (queues: {', '.join(STAGE_QUEUES)})")
    tasks = [s.task_name for s in STAGES if s.queue == queue]
    async with db.transaction() as conn:
        await db.q.pause_queue(conn, queue=queue, paused_by=by)
        withdrawn = int(await db.q.withdraw_waiting_jobs(conn, queue=queue, tasks=tasks))
    log.info("queue %s paused by %s: %d waiting jobs withdrawn", queue, by or "?", withdrawn)
    return withdrawn


async def resume_queue(db: Database, queue: str) -> bool:
    """Resume ``queue`` (the next dispatcher run defers its work again); False when it was
    not paused."""
    async with db.acquire() as conn:
        resumed = await db.q.resume_queue(conn, queue=queue) is not None
    if resumed:
        log.info("queue %s resumed", queue)
    return resumed
