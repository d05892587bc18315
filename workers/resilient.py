"""``heaters worker`` when the database goes away: it waits and reconnects (docs/architecture.md).

procrastinate 3.10's worker does not survive a database restart on its own: a heartbeat, a
LISTEN reconnect or a periodic defer that fails ends its side task and the worker stops; a
failed job fetch ends the run loop with a traceback; a job whose end cannot be written stays
``doing`` while its worker lives, so it is never rescued. :class:`ResilientWorker` keeps
every side task alive through an outage, retries a job whose stage could not reach the
database (the job is retried, the stage redoes the work from its inputs) and writes a job's
end once the database is back. One :class:`DatabaseGate` per process says why, in one line
per retry: ``database unavailable (connection refused at 10.0.0.1:5432): retrying in 2 s``.

A worker that could not write its heartbeat for nearly ``stalled_after_seconds`` (its
*lease*) must assume other workers are about to retry its jobs (the stalled-job rescue of
``workers.app.tick``): it cancels them (their transactions roll back, nothing is committed
and no end is written) and, once the database answers again, registers as a new worker and
drops its old registration, so the next tick retries those jobs at once. A network partition
of a worker host therefore never lets two workers finish one job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from procrastinate import periodic, utils
from procrastinate.worker import Worker

from heaters.db.errors import DatabaseUnavailable, unavailable

_LOST = ("the server closed the connection", "the connection was lost")

log = logging.getLogger("heaters.worker")


def where(url: str) -> str:
    """``host:port`` of a libpq URL (the socket folder for a unix socket)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:  # a malformed URL: connecting says what is wrong
        return "the database"
    host = str(info.get("host") or "localhost").split(",")[0]
    if host.startswith("/"):
        return f"the socket in {host}"
    return f"{host}:{str(info.get('port') or 5432).split(',')[0]}"


async def probe(url: str, seconds: float = 5.0) -> None:
    """Open a connection to ``url`` and run ``SELECT 1``; raises what the driver raises."""
    import psycopg

    async def once() -> None:
        conn = await psycopg.AsyncConnection.connect(
            url, connect_timeout=max(2, round(seconds)), autocommit=True
        )
        async with conn:
            await conn.execute("SELECT 1")

    start = time.monotonic()
    try:
        await asyncio.wait_for(once(), seconds + 1)
    except psycopg.OperationalError as exc:
        # A host that does not answer at all (a cut link) shows as "server closed the
        # connection unexpectedly" after seconds of silence: say what happened.
        if time.monotonic() - start >= 2 and unavailable(exc) in _LOST:
            raise DatabaseUnavailable("no answer: timed out") from exc
        raise


class DatabaseGate:
    """Whether this process can reach its database, and the one line that says why not.

    The first part that fails :meth:`report`\\ s the outage; a probe then retries with a
    growing wait (1, 2, 4, … s, at most ``max_wait``), logging one line per retry, until the
    database answers (:meth:`wait_up` returns then). Reports during an outage add nothing.
    """

    def __init__(
        self,
        url: str,
        *,
        first_wait: float = 1.0,
        max_wait: float = 5.0,
        check: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.url = url
        self.where = where(url)
        self.first_wait = first_wait
        self.max_wait = max_wait
        self._check = check or (lambda: probe(url))
        self._up = asyncio.Event()
        self._up.set()
        self._probe: asyncio.Task[None] | None = None
        self.down_since: float | None = None

    @property
    def is_up(self) -> bool:
        """False while an outage is being waited out."""
        return self._up.is_set()

    def line(self, reason: str, wait: float) -> str:
        """The one-line log message."""
        return f"database unavailable ({reason} at {self.where}): retrying in {wait:g} s"

    def report(self, exc: BaseException | str) -> None:
        """Note that the database could not be reached (``exc``: the error, or the reason)."""
        if not self._up.is_set():
            return
        reason = exc if isinstance(exc, str) else (unavailable(exc) or str(exc).splitlines()[0])
        self._up.clear()
        self.down_since = time.monotonic()
        self._probe = asyncio.create_task(self._wait_out(reason), name="database probe")

    def mark_up(self) -> None:
        """Something reached the database: the outage is over."""
        if self._up.is_set():
            return
        if self._probe is not None and self._probe is not asyncio.current_task():
            self._probe.cancel()
        self._probe = None
        since = self.down_since
        self.down_since = None
        log.warning(
            "database available again at %s after %.1f s",
            self.where, time.monotonic() - since if since else 0.0,
        )  # fmt: skip
        self._up.set()

    async def wait_up(self) -> None:
        """Return once the database can be reached (at once when it can)."""
        await self._up.wait()

    async def _wait_out(self, reason: str) -> None:
        wait = self.first_wait
        while True:
            log.warning("%s", self.line(reason, wait))
            await asyncio.sleep(wait)
            try:
                await self._check()
            except Exception as exc:
                reason = unavailable(exc) or str(exc).splitlines()[0]
                wait = min(wait * 2, self.max_wait)
                continue
            self.mark_up()
            return

    async def close(self) -> None:
        """Stop probing."""
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
            self._probe = None


async def wait_for_database(
    url: str, *, give_up_after: float | None, first_wait: float = 1.0, max_wait: float = 5.0
) -> None:
    """Return once ``url`` answers; until then log the one line per retry.

    Raises
    ------
    DatabaseUnavailable
        After ``give_up_after`` seconds (None: never), or at once when the error is not an outage
        (a wrong password, a database that does not exist): the one-line reason.
    """
    start = time.monotonic()
    gate = DatabaseGate(url, first_wait=first_wait, max_wait=max_wait)
    wait = first_wait
    while True:
        try:
            await probe(url)
            return
        except Exception as exc:
            reason = unavailable(exc)
            if reason is None:
                raise DatabaseUnavailable(
                    f"cannot use the database at {gate.where}: {str(exc).strip().splitlines()[0]}"
                ) from None
            waited = time.monotonic() - start
            now = wait
            if give_up_after is not None:
                if waited >= give_up_after:
                    raise DatabaseUnavailable(
                        f"database unavailable ({reason} at {gate.where}): gave up after"
                        f" {waited:.0f} s (HEATERS_WORKER_DB_WAIT_SECONDS)"
                    ) from None
                now = min(wait, max(0.1, round(give_up_after - waited, 1)))
            log.warning("%s", gate.line(reason, now))
            await asyncio.sleep(now)
            wait = min(wait * 2, max_wait)


class ResilientWorker(Worker):
    """A procrastinate worker that waits out database outages instead of stopping.

    ``lease_seconds``: how long it may go without a written heartbeat before it assumes its
    jobs are being retried elsewhere (less than the ``stalled_after`` other workers use).
    ``on_registered``: awaited with procrastinate's worker id each time it registers (its
    host, pid and concurrency are recorded for the dashboard: ``workers.app``).
    """

    def __init__(
        self,
        *args: Any,
        gate: DatabaseGate,
        lease_seconds: float,
        rescue: Callable[[], Awaitable[int]] | None = None,
        rescue_every: float = 10.0,
        on_registered: Callable[[int], Coroutine[Any, Any, None]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_registered = on_registered
        self.gate = gate
        self.lease_seconds = lease_seconds
        self.rescue = rescue
        self.rescue_every = rescue_every
        self.lease_lost = False
        self.abandoned_worker_id: int | None = None
        self._lost = asyncio.Event()
        self._lost_jobs: set[int] = set()
        self._last_beat = time.monotonic()
        self._db_timeout = max(2.0, min(2 * self.update_heartbeat_interval, lease_seconds / 3))

    # --- registration -----------------------------------------------------------------

    async def run(self) -> None:
        self._last_beat = time.monotonic()  # registering writes the first heartbeat
        await super().run()  # type: ignore[no-untyped-call]

    async def _run_loop(self) -> None:
        log.info("worker %s registered, heartbeat lease %.1f s", self.worker_id, self.lease_seconds)
        # Beside the loop, not before it: the heartbeat starts with the loop's side tasks.
        noted: asyncio.Task[None] | None = None
        if self.on_registered is not None and self.worker_id is not None:
            noted = asyncio.create_task(self.on_registered(self.worker_id), name="registered")
        try:
            await super()._run_loop()  # type: ignore[no-untyped-call]
        finally:
            if noted is not None and not noted.done():
                noted.cancel()

    async def _shutdown(self, side_tasks: list[asyncio.Task[Any]]) -> None:
        try:
            await super()._shutdown(side_tasks)
        except Exception as exc:
            if unavailable(exc) is None:
                raise
            self.gate.report(exc)
            self.abandoned_worker_id, self.worker_id = self.worker_id, None

    # --- side tasks -------------------------------------------------------------------

    def _start_side_tasks(self) -> list[asyncio.Task[Any]]:
        tasks = [
            asyncio.create_task(self._update_heartbeat(), name="update_heartbeats"),
            asyncio.create_task(self._watch_lease(), name="lease"),
            asyncio.create_task(self._periodic_deferrer(), name="deferrer"),
            asyncio.create_task(self._poll_jobs_to_abort(), name="poll_jobs_to_abort"),
        ]
        if self.listen_notify:
            tasks.append(asyncio.create_task(self._listen(), name="listener"))
        if self.rescue is not None:
            tasks.append(asyncio.create_task(self._rescue_stalled(), name="rescue"))
        return tasks

    async def _rescue_stalled(self) -> None:
        """Retry other workers' stalled jobs every ``rescue_every`` seconds (a side task, so
        it never waits for a job slot the way a periodic job does)."""
        assert self.rescue is not None
        while True:
            await asyncio.sleep(self.rescue_every)
            if not self.gate.is_up or self.lease_lost:
                continue
            try:
                await asyncio.wait_for(self.rescue(), max(10.0, 5 * self._db_timeout))
            except Exception as exc:
                if unavailable(exc) is None:
                    raise
                self.gate.report(exc)

    async def _outage(self, exc: BaseException) -> None:
        """Report ``exc`` if it is an outage (re-raise it if not) and wait for the database
        (or for this worker to give its jobs up)."""
        if unavailable(exc) is None:
            raise exc
        self.gate.report(exc)
        await utils.wait_any(self.gate.wait_up(), self._lost.wait())

    async def _update_heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.update_heartbeat_interval)
            sent = time.monotonic()
            assert self.worker_id is not None
            try:
                await asyncio.wait_for(
                    self.app.job_manager.update_heartbeat(self.worker_id), self._db_timeout
                )
            except Exception as exc:
                if unavailable(exc) is None:
                    raise
                self.gate.report(exc)
                continue
            self._last_beat = sent
            self.gate.mark_up()

    async def _watch_lease(self) -> None:
        step = max(0.05, min(0.5, self.lease_seconds / 20))
        while time.monotonic() - self._last_beat <= self.lease_seconds:  # noqa: ASYNC110
            await asyncio.sleep(step)
        self._lose_lease()

    def _lose_lease(self) -> None:
        self.lease_lost = True
        self._lost.set()
        running = [(t, c) for t, c in self._running_jobs.items() if c.job.id is not None]
        log.warning(
            "worker %s wrote no heartbeat for %.0f s: other workers may retry its jobs now;"
            " cancelling its %d running job(s) (%s) and registering again once the database"
            " answers",
            self.worker_id, time.monotonic() - self._last_beat, len(running),
            ", ".join(str(c.job.id) for _, c in running) or "none",
        )  # fmt: skip
        for task, context in running:
            assert context.job.id is not None
            self._lost_jobs.add(context.job.id)
            task.cancel()
        self.stop()  # type: ignore[no-untyped-call]

    async def _periodic_deferrer(self) -> None:
        deferrer = periodic.PeriodicDeferrer(
            registry=self.app.periodic_registry, **self.app.periodic_defaults
        )
        while True:
            try:
                await deferrer.worker()
                return
            except Exception as exc:
                await self._outage(exc)

    async def _poll_jobs_to_abort(self) -> None:
        while True:
            await asyncio.sleep(self.abort_job_polling_interval)
            if not self._running_jobs or not self.gate.is_up:
                continue
            try:
                job_ids = await asyncio.wait_for(
                    self.app.job_manager.list_jobs_to_abort_async(), self._db_timeout
                )
            except Exception as exc:
                if unavailable(exc) is None:
                    raise
                self.gate.report(exc)
                continue
            self._handle_abort_jobs_requested(job_ids)

    async def _listen(self) -> None:
        while True:
            try:
                await self.app.job_manager.listen_for_jobs(
                    on_notification=self._handle_notification, queues=self.queues
                )
            except Exception as exc:
                await self._outage(exc)
                self._new_job_event.set()  # fetch what was deferred meanwhile

    # --- jobs -------------------------------------------------------------------------

    async def _fetch_and_process_jobs(self) -> None:
        if self.lease_lost:
            return
        try:
            await super()._fetch_and_process_jobs()  # type: ignore[no-untyped-call]
        except Exception as exc:
            if unavailable(exc) is None:
                raise
            self.gate.report(exc)
            await utils.wait_any(self.gate.wait_up(), self._stop_event.wait())

    async def _persist_job_status(self, job: Any, *args: Any, **kwargs: Any) -> None:
        tried = False
        while True:
            if job.id in self._lost_jobs:
                log.info("job %s is left to the stalled-job rescue (no end written)", job.id)
                return
            try:
                await super()._persist_job_status(job, *args, **kwargs)
                return
            except Exception as exc:
                if unavailable(exc) is None:
                    if not tried:
                        raise
                    # A retry after a lost connection: the first write may have landed.
                    log.warning("job %s: its end was not written again: %s", job.id,
                                str(exc).strip().splitlines()[0])  # fmt: skip
                    return
                tried = True
                await self._outage(exc)


__all__ = [
    "DatabaseGate",
    "DatabaseUnavailable",
    "ResilientWorker",
    "probe",
    "unavailable",
    "wait_for_database",
    "where",
]
