"""The procrastinate app: one task per stage of the stage list, the dispatcher, periodic upkeep.

Tasks are registered from ``heaters.pipeline.stages.STAGES``, so adding a stage there is
all it takes. Every stage task ends by deferring the dispatcher (under its queueing lock),
which finds the next stage's work; tasks never enqueue other stage tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import time
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy, builtin_tasks
from procrastinate.exceptions import AlreadyEnqueued

from heaters.config import Settings, get_settings
from heaters.db.connection import database_url
from heaters.pipeline import runner
from heaters.pipeline.dispatcher import dispatch, stages_off
from heaters.pipeline.stages import STAGES, Stage
from workers.resilient import DatabaseGate, DatabaseUnavailable, ResilientWorker, unavailable
from workers.runtime import get_runtime

log = logging.getLogger(__name__)

DISPATCH_TASK = "heaters.dispatch"
DISPATCH_LOCK = "dispatch"


#: libpq options of the job queue's connections: a dead server or a cut link is noticed in
#: seconds (connect timeout, TCP keepalives, unacknowledged data), not after minutes of TCP
#: retransmissions, so the worker says so and waits (workers/resilient.py).
_CONNECT_KWARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,
}


class _LazyConnector(PsycopgConnector):
    """A psycopg connector whose conninfo is resolved when the app opens (embedded PG)."""

    def __init__(self) -> None:
        super().__init__(kwargs=dict(_CONNECT_KWARGS), timeout=10.0)

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


async def cancel_job(job_id: int) -> bool:
    """Cancel a job that has not started; False when it already ran or runs."""
    cancelled: bool = await app.job_manager.cancel_job_by_id_async(job_id)
    return cancelled


@app.task(name=DISPATCH_TASK, queue="default", pass_context=False)
async def dispatch_task() -> int:
    """Run the dispatcher once; returns the number of jobs deferred. A run that loses the
    database says so in one line and defers nothing (the next tick or job end runs it)."""
    rt = await get_runtime()
    try:
        report = await dispatch(rt.db, defer_stage)
    except Exception as exc:
        reason = unavailable(exc)
        if reason is None:
            raise
        log.info("dispatcher run skipped (database unavailable: %s): the next tick runs it", reason)
        return 0
    return report.total


#: A stage that could not reach the database (its claim, its commit or its failure could not
#: be written) is retried as a job once the database is back: the item may be left in its
#: running state, which only a job of the stage moves on (``RetryStrategy`` waits 1 s, then
#: the worker's persist of the retry waits for the database).
#: A stage interrupted by the worker's stop (its item put back, ``runner.Interrupted``) is
#: retried the same way, by whichever worker runs next.
_DB_RETRY = RetryStrategy(retry_exceptions={DatabaseUnavailable, runner.Interrupted}, wait=1)


async def _after_job() -> None:
    """Defer the dispatcher after a job; an outage only costs this run (the tick catches up)."""
    try:
        await asyncio.wait_for(defer_dispatch(), 10)
    except Exception as exc:
        if unavailable(exc) is None:
            raise
        log.info("dispatcher not deferred (database unavailable): the next tick runs it")


def _register(stage: Stage) -> None:
    async def run_stage(item_id: int) -> str:
        rt = await get_runtime()
        try:
            result = await stage.task(rt, item_id)
        except (asyncio.CancelledError, runner.Interrupted):
            raise  # stopped, lost lease: retried (_DB_RETRY) or rescued; no dispatcher run
        except Exception as exc:
            reason = unavailable(exc)
            if reason is None:
                await _after_job()
                raise
            what = f"{stage.name} of {stage.finds.kind} {item_id}"
            raise DatabaseUnavailable(
                f"database unavailable ({reason}): {what} will be retried"
            ) from None
        await _after_job()
        return result

    run_stage.__name__ = run_stage.__qualname__ = f"{stage.name}_task"
    app.task(name=stage.task_name, queue=stage.queue, pass_context=False, retry=_DB_RETRY)(
        run_stage
    )


for _stage in STAGES:
    _register(_stage)


#: The job is still running on a worker whose heartbeat is stale (or gone): checked again in
#: the statement that retries or closes it, under the row's lock, so two rescuers (every
#: worker has one) never retry one job twice, and a job a live worker picked up again
#: meanwhile is left alone. (procrastinate's ``retry_job`` checks only ``status = 'doing'``.)
#: Nor within ``secs`` of a Postgres start: every heartbeat lapsed while it was down, which
#: says nothing of the workers (their leases are extended by the outage; a worker that gave
#: its jobs up puts their items back first, ``runner.put_back_abandoned``).
_STILL_STALLED = """
    j.id = %(id)s AND j.status = 'doing'
    AND pg_postmaster_start_time() < now() - make_interval(secs => %(secs)s)
    AND NOT EXISTS (SELECT 1 FROM procrastinate_workers w WHERE w.id = j.worker_id
                    AND w.last_heartbeat >= now() - make_interval(secs => %(secs)s))"""
_RETRY_STALLED = f"""
UPDATE procrastinate_jobs j SET status = 'todo', attempts = attempts + 1, scheduled_at = NULL
WHERE {_STILL_STALLED} RETURNING j.id"""
_CLOSE_STALLED = f"""
UPDATE procrastinate_jobs j SET status = 'failed', attempts = attempts + 1, abort_requested = false
WHERE {_STILL_STALLED} RETURNING j.id"""


async def rescue_stalled_jobs() -> int:
    """Retry the running jobs whose worker wrote no heartbeat for ``stalled_after_seconds``
    (killed, or cut off: such a worker gives its jobs up itself, see workers/resilient.py),
    none within that time of this process's own outage or of a Postgres start;
    returns how many were retried or closed. A job whose queueing lock a waiting job of the
    same kind holds (a dispatcher run, say) is closed instead: that one does the work."""
    import psycopg

    secs = get_settings().stalled_after_seconds
    if _back_at is not None and time.monotonic() - _back_at < secs:
        # this process was cut off too: others' heartbeats lapsed in the same outage, and
        # a worker that gave its jobs up is putting their items back now
        return 0
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=secs))
    pool = app.connector.pool  # type: ignore[attr-defined]
    done = 0
    for job in stalled:
        args = {"id": job.id, "secs": secs}
        async with pool.connection() as conn:
            try:
                async with conn.transaction():
                    row = await (await conn.execute(_RETRY_STALLED, args)).fetchone()
                if row:
                    log.warning("retrying stalled job %s (%s, worker gone)", job.id, job.task_name)
            except psycopg.errors.UniqueViolation:
                async with conn.transaction():
                    row = await (await conn.execute(_CLOSE_STALLED, args)).fetchone()
                if row:
                    log.info("stalled job %s is redundant with a waiting one: closed", job.id)
        done += bool(row)
    if done:
        await defer_dispatch()
    return done


@app.periodic(cron=f"* * * * * */{get_settings().dispatch_period_seconds}", periodic_id="tick")
@app.task(name="heaters.tick", queue="default", queueing_lock="tick", pass_context=True)
async def tick(context: JobContext, timestamp: int) -> None:
    """Periodic upkeep: retry jobs of dead workers, then dispatch (catches due retries).

    Every worker also rescues stalled jobs from a side task of its own, at the same period,
    so a rescue never waits for a free job slot (this job queues behind busy slots)."""
    try:
        await rescue_stalled_jobs()
        await defer_dispatch()
    except Exception as exc:
        reason = unavailable(exc)
        if reason is None:
            raise
        log.info("tick skipped (database unavailable: %s): the next tick runs it", reason)


@app.task(name="heaters.storage_check", queue="default", queueing_lock="storage_check",
          pass_context=True)  # fmt: skip
async def storage_check(context: JobContext, timestamp: int) -> None:
    """The periodic storage check (``heaters.pipeline.reconcile.periodic_storage_check``):
    run when due, by whichever worker takes this job; a storage or database it cannot reach
    costs one line (the next run tries again)."""
    from heaters.errors import HeatersError
    from heaters.pipeline.reconcile import periodic_storage_check

    rt = await get_runtime()
    try:
        await periodic_storage_check(rt.db, rt.storage, rt.settings)
    except HeatersError as exc:
        log.warning("storage check failed: %s", exc)
    except Exception as exc:
        reason = unavailable(exc)
        if reason is None:
            raise
        log.info("storage check skipped (database unavailable: %s)", reason)


def _storage_check_cron(every: float) -> str:
    """Every minute (the check itself runs when due); every ``every`` seconds below that."""
    return "* * * * *" if every >= 60 else f"* * * * * */{max(1, int(every))}"


if get_settings().storage_check_every > 0:
    app.periodic(
        cron=_storage_check_cron(get_settings().storage_check_every), periodic_id="storage_check"
    )(storage_check)


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
    for stage_name, reason in stages_off().items():
        log.warning("stage %s is off: %s", stage_name, reason)
    app.perform_import_paths()  # type: ignore[no-untyped-call]
    # The pools' own reconnect warnings (a traceback per attempt) say what the gate's one
    # line says; errors still show.
    for noisy in ("asyncpg.pool", "psycopg.pool"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    for name in ("procrastinate.worker", "procrastinate.worker.worker"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _OneLineOutage) for f in logger.filters):
            logger.addFilter(_OneLineOutage())
    gate = DatabaseGate(database_url())
    stop = asyncio.Event()
    current: list[ResilientWorker] = []

    def on_signal() -> None:
        if stop.is_set():
            return  # a second Ctrl-C: the stop is under way (its put-backs must not be cut)
        stop.set()
        for w in current:
            w.stop()  # type: ignore[no-untyped-call]
            _interrupt_stages(w)

    loop = asyncio.get_running_loop()
    runner.clear_stop()
    if install_signal_handlers:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
            # and at once, before the loop handles anything else (a child killed by the same
            # signal, as Ctrl-C or systemd kill the whole group): stages end as interrupted
            signal.signal(sig, _stop_requested)
    abandoned: list[int] = []
    try:
        while not stop.is_set():
            worker = ResilientWorker(
                app=app,
                gate=gate,
                lease_seconds=lease_seconds(s),
                queues=queues or None,
                concurrency=concurrency or s.worker_concurrency,
                fetch_job_polling_interval=s.job_poll_seconds,
                update_heartbeat_interval=s.heartbeat_seconds,
                stalled_worker_timeout=s.stalled_after_seconds,
                rescue=rescue_stalled_jobs,
                rescue_every=float(s.dispatch_period_seconds),
                on_registered=functools.partial(
                    _record_worker, queues, concurrency or s.worker_concurrency
                ),
                install_signal_handlers=False,
                wait=wait,
                name=name or "worker",
            )
            current[:] = [worker]
            try:
                await worker.run()
            except Exception as exc:  # registering (or the first fetch) found no database
                if unavailable(exc) is None:
                    raise
                gate.report(exc)
            else:
                if worker.abandoned_worker_id is not None:
                    abandoned.append(worker.abandoned_worker_id)
                if not worker.lease_lost:
                    break  # stopped (signal, or wait=False and no job left)
            waiter = asyncio.ensure_future(gate.wait_up())
            await asyncio.wait([waiter, asyncio.ensure_future(stop.wait())],
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            if not waiter.done():
                waiter.cancel()
            if waiter.done() and await _put_back_abandoned():
                abandoned = await _forget_workers(abandoned)
    finally:
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        runner.clear_stop()
        await gate.close()


def _stop_requested(signum: int, frame: object) -> None:
    """The Python-level SIGINT/SIGTERM handler: runs in the main thread before the event loop
    handles the events that woke it (the loop's own callback, ``on_signal``, comes later)."""
    runner.request_stop()


#: The procrastinate task names of the stages (their jobs are interrupted by a stop).
_STAGE_TASKS = frozenset(stage.task_name for stage in STAGES)


def _interrupt_stages(worker: ResilientWorker) -> None:
    """Cancel ``worker``'s running stage jobs (a stop): each puts its item back as its claim
    found it and is retried by the next worker (``runner.Interrupted``); other jobs (the
    dispatcher, a dataset export) are waited for, as procrastinate does."""
    running = [
        (t, c)
        for t, c in worker._running_jobs.items()
        # a stage whose work has returned (committed) is waited for: cancelled now, its job
        # would end aborted with its item already moved on
        if c.job.task_name in _STAGE_TASKS and not runner.work_ended(t)
    ]
    if running:
        log.warning("stopping: interrupting %d stage job(s), their items are put back",
                    len(running))  # fmt: skip
    for task, _ in running:
        task.cancel()


#: When this process's last outage ended (monotonic): its rescue waits a stalled-after time.
_back_at: float | None = None


async def _put_back_abandoned() -> bool:
    """Once the database answers after this worker gave its jobs up: put their items back
    (``runner.put_back_abandoned``) before its old registration is dropped (only then may
    others retry those jobs). False when the database went away again (tried next time)."""
    global _back_at
    _back_at = time.monotonic()
    try:
        rt = await get_runtime()
        await asyncio.wait_for(runner.put_back_abandoned(rt), 30)
    except Exception as exc:
        if unavailable(exc) is None:
            raise
        return False
    return True


class _OneLineOutage(logging.Filter):
    """A job retried because the database went away is logged in one line, not with the
    traceback procrastinate attaches to every failed job."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (DatabaseUnavailable, runner.Interrupted)):
            record.msg = f"{record.getMessage()}: {exc}"
            record.args = None
            record.exc_info = None
        return True


async def _record_worker(queues: list[str] | None, concurrency: int, worker_id: int) -> None:
    """Note this process's host, pid, concurrency and queues beside procrastinate's worker
    row (``worker_info``, shown by the dashboard). A failure costs only the dashboard's
    facts: one line, and the worker runs on."""

    async def write() -> None:
        async with rt.db.acquire() as conn:
            await rt.db.q.record_worker(
                conn, worker_id=worker_id, host=socket.gethostname(), pid=os.getpid(),
                concurrency=concurrency, queues=queues or None,
            )  # fmt: skip

    try:
        rt = await get_runtime()
        await asyncio.wait_for(write(), 10)
    except Exception as exc:
        log.warning("worker %s: its host and pid were not recorded (%s)", worker_id, exc)


def lease_seconds(settings: Settings) -> float:
    """How long a worker may go without a written heartbeat before it gives its jobs up: a
    little less than ``stalled_after_seconds``, after which other workers retry them."""
    margin = max(settings.heartbeat_seconds, 0.2 * settings.stalled_after_seconds)
    return max(0.5, settings.stalled_after_seconds - margin)


async def _forget_workers(worker_ids: list[int]) -> list[int]:
    """Delete the registrations this process gave up (their jobs were cancelled here): the
    next tick retries their jobs at once. Returns those that could not be deleted yet."""
    left: list[int] = []
    for worker_id in worker_ids:
        try:
            await asyncio.wait_for(app.job_manager.unregister_worker(worker_id), 10)
            log.info("worker %s unregistered: its jobs are retried by the next tick", worker_id)
        except Exception as exc:
            if unavailable(exc) is None:
                raise
            left.append(worker_id)
    return left


__all__ = [
    "app",
    "cancel_job",
    "defer_dispatch",
    "defer_stage",
    "run_worker",
]
