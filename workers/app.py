"""The procrastinate app: one task per stage of the stage list, the dispatcher, periodic upkeep.

Tasks are registered from ``heaters.pipeline.stages.STAGES``, so adding a stage there is
all it takes. Every stage task ends by deferring the dispatcher (under its queueing lock),
which finds the next stage's work; tasks never enqueue other stage tasks.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, builtin_tasks
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status

from heaters.config import get_settings
from heaters.db.connection import database_url
from heaters.pipeline.dispatcher import dispatch, stages_off
from heaters.pipeline.stages import STAGES, Stage, stage_named
from workers.runtime import get_runtime

log = logging.getLogger(__name__)

DISPATCH_TASK = "heaters.dispatch"
DISPATCH_LOCK = "dispatch"


class _LazyConnector(PsycopgConnector):
    """A psycopg connector whose conninfo is resolved when the app opens (embedded PG)."""

    async def open_async(self, pool: Any = None, **kwargs: Any) -> None:
        self._pool_args["conninfo"] = database_url()
        await super().open_async(pool, **kwargs)

    def get_sync_connector(self) -> Any:
        self._pool_args["conninfo"] = database_url()
        return super().get_sync_connector()


app = App(connector=_LazyConnector(), import_paths=["workers.app", "workers.deliver"])


async def defer_dispatch() -> None:
    """Ask for a dispatcher run (a no-op when one is already waiting)."""
    with contextlib.suppress(AlreadyEnqueued):
        await app.configure_task(
            DISPATCH_TASK, queueing_lock=DISPATCH_LOCK, lock=DISPATCH_LOCK, queue="default"
        ).defer_async()


async def defer_stage(stage: Stage, item_id: int) -> bool:
    """Defer one job of ``stage`` for ``item_id``; False if one is already waiting."""
    try:
        await app.configure_task(
            stage.task_name,
            queueing_lock=stage.queueing_lock(item_id),
            lock=stage.lock(item_id),
            queue=stage.queue,
        ).defer_async(item_id=item_id)
    except AlreadyEnqueued:
        return False
    return True


async def schedule_edit_commit(event_id: int, delay_seconds: float) -> int:
    """Schedule the commit of review edit ``event_id`` in ``delay_seconds``; returns the job id.

    It is the ``commit_edits`` stage's own task, under the stage's queueing lock, so the
    dispatcher does not queue it again while it waits.
    """
    stage = stage_named("commit_edits")
    job_id: int = await app.configure_task(
        stage.task_name,
        queueing_lock=stage.queueing_lock(event_id),
        lock=stage.lock(event_id),
        queue=stage.queue,
        schedule_in={"seconds": delay_seconds},
    ).defer_async(item_id=event_id)
    return job_id


async def cancel_job(job_id: int) -> bool:
    """Cancel a job that has not started; False when it already ran or runs."""
    cancelled: bool = await app.job_manager.cancel_job_by_id_async(job_id)
    return cancelled


@app.task(name=DISPATCH_TASK, queue="default", pass_context=False)
async def dispatch_task() -> int:
    """Run the dispatcher once; returns the number of jobs deferred."""
    rt = await get_runtime()
    report = await dispatch(rt.db, defer_stage)
    return report.total


def _register(stage: Stage) -> None:
    async def run_stage(item_id: int) -> str:
        rt = await get_runtime()
        try:
            return await stage.task(rt, item_id)
        finally:
            await defer_dispatch()

    run_stage.__name__ = run_stage.__qualname__ = f"{stage.name}_task"
    app.task(name=stage.task_name, queue=stage.queue, pass_context=False)(run_stage)


for _stage in STAGES:
    _register(_stage)


@app.periodic(cron=f"* * * * * */{get_settings().dispatch_period_seconds}", periodic_id="tick")
@app.task(name="heaters.tick", queue="default", queueing_lock="tick", pass_context=True)
async def tick(context: JobContext, timestamp: int) -> None:
    """Periodic upkeep: retry jobs of dead workers, then dispatch (catches due retries)."""
    settings = get_settings()
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.stalled_after_seconds
    )
    for job in stalled:
        log.warning("retrying stalled job %s (%s, worker gone)", job.id, job.task_name)
        try:
            await app.job_manager.retry_job(job)
        except UniqueViolation:
            # Its queueing lock is taken by a waiting job of the same kind (a dispatcher run,
            # say): that one does the work, so this stalled copy is closed instead.
            log.info("stalled job %s is redundant with a waiting one: closing it", job.id)
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
    await defer_dispatch()


@app.periodic(cron="0 17 * * *", periodic_id="prune")
@app.task(name="heaters.prune", queue="default", queueing_lock="prune", pass_context=True)
async def prune(context: JobContext, timestamp: int) -> None:
    """Delete finished jobs older than the retention period."""
    await builtin_tasks.remove_old_jobs(
        context, max_hours=get_settings().job_retention_hours, remove_failed=True
    )


async def run_worker(
    *,
    queues: list[str] | None = None,
    concurrency: int | None = None,
    install_signal_handlers: bool = True,
    wait: bool = True,
    name: str | None = None,
) -> None:
    """Run a worker on ``queues`` (None: all) until stopped (the app must be open).

    Stages that are off here (a model not installed) are said once, with how to turn them on.
    """
    s = get_settings()
    for name, reason in stages_off().items():
        log.warning("stage %s is off: %s", name, reason)
    await app.run_worker_async(
        queues=queues or None,  # type: ignore[arg-type]  # None = every queue
        concurrency=concurrency or s.worker_concurrency,
        fetch_job_polling_interval=s.job_poll_seconds,
        update_heartbeat_interval=s.heartbeat_seconds,
        stalled_worker_timeout=s.stalled_after_seconds,
        install_signal_handlers=install_signal_handlers,
        wait=wait,
        name=name or "worker",
    )


__all__ = [
    "app",
    "cancel_job",
    "defer_dispatch",
    "defer_stage",
    "run_worker",
    "schedule_edit_commit",
]
