"""The one way a stage runs on one item: claim, work, commit or fail (docs/architecture.md).

``run_stage`` claims the item (:func:`heaters.db.lifecycle.claim`: state → the stage's
running state, the attempt counted; nothing to claim → ``"noop"``), runs ``work`` (which
writes storage objects under keys that carry the claim's token, noted with
:func:`writes`, and then its rows and :func:`heaters.db.lifecycle.finish` in one
:func:`commit`; ``work`` returning ``"noop"`` says there turned out to be nothing to do),
and turns any failure into the ``*_failed`` state
(:func:`heaters.db.lifecycle.fail`) with a one-line reason: ``HeatersError`` as it says
(retried with backoff when transient), anything else as an internal error (retried like a
transient one).

**Crashes are capped.** A worker that dies holding an item (killed, out of memory, a
segfault in a decoder) leaves it running; the stalled job is retried and its claim counts a
crash (``crashes``, :mod:`heaters.db.lifecycle`). Once the item's count reaches
``HEATERS_MAX_CRASHES`` (3) the stage is not run again: the item fails for good with ``the
worker died 3 times on this item``, so an input that kills its worker is not retried for
ever (an operator's ``heaters retry`` starts the count over).

Two failures are not the item's and spend no attempt:

- **A lost claim.** The claim returns a fencing token (``claim_token``) that the finish and
  the fail must show; when another worker has claimed the item since (this one stalled past
  the stalled-after time, or a partition cut it off and its job was retried elsewhere), the
  finish raises :class:`~heaters.db.lifecycle.ClaimLost` (the stage's transaction rolls
  back), or the fail changes nothing: one line ``video 12: claim lost to another worker
  (stale token), result discarded`` and the outcome ``"lost"``.

Storage is fenced by the keys: objects noted with :func:`writes` and not committed (a lost
claim, a failure, a ``"noop"``) are deleted once the outcome is written (DB first, storage
second: a committed row never names them); after its commit a stage deletes, with
:func:`delete_replaced`, the objects its row named before and those the claim it replaced
(``previous_token``, a crashed or stale worker) would have written, noted with
:func:`replaces` (deleted by ``run_stage`` too when the stage ends without its commit).
- **A lost database.** An error that means the database cannot be reached
  (:func:`heaters.db.errors.stage_lost_database`) is re-raised after one log line (``video
  12: database unavailable in preprocessing (connection refused): retried once it is back,
  no attempt spent``), no traceback and nothing written: the job is retried
  (``workers/app.py``) once the database is back and redoes the stage from its inputs; its
  claim, in the same process, resumes the lost one without counting an attempt. A stage
  cancelled because its worker's heartbeat lease ran out in an outage is resumed the same way
  by a redo in the same process, and once the database answers the worker puts every claim
  it gave up back (:func:`put_back_abandoned`), before any other worker may retry its jobs,
  so a redo anywhere spends nothing either.
- **A stop.** SIGINT or SIGTERM (Ctrl-C, systemd, a ``kill`` of the process group, which
  also kills the stage's ffmpeg and pool processes) makes the worker call
  :func:`request_stop` and cancel its stages: whatever a stage then ends with (cancelled, a
  child killed by the same signal), the item is put back as its claim found it (state,
  attempts, crash count: :func:`heaters.db.lifecycle.put_back`), one line ``video 12: put
  back in downloaded (the worker stops): no attempt spent``, and :class:`Interrupted` is
  raised (the worker retries the job).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias
from uuid import UUID

import asyncpg
import structlog

from heaters.db import lifecycle
from heaters.db.errors import stage_lost_database
from heaters.domain.states import ItemKind, Transition
from heaters.errors import HeatersError
from heaters.pipeline.runtime import Runtime

if TYPE_CHECKING:
    from heaters.db.pool import Connection

log = logging.getLogger(__name__)
slog = structlog.get_logger("heaters.stage")

Outcome = str  # "done" | "failed" | "noop" | "lost"
Row: TypeAlias = asyncpg.Record

#: The claim tokens of items whose stage this process left for a lost database, by item:
#: the retried job's claim resumes such a claim (no attempt counted); a claim by another
#: process counts on, as a redo after a crash does.
_resume: dict[tuple[ItemKind, int], UUID] = {}

#: The claims this process gave up without an outcome (its lease ran out in a database
#: outage, or the database was lost mid-stage), by token: put back once the database answers
#: (:func:`put_back_abandoned`), so a redo in any process spends nothing.
_abandoned: dict[UUID, tuple[ItemKind, int, Transition, Row, list[str]]] = {}

#: Set by :func:`request_stop` (the worker's SIGINT/SIGTERM handler): stages that end now were
#: interrupted, not failed.
_stopping = False


#: The tasks whose stage work has returned (its commit through, or none to make): the
#: worker's stop lets them end rather than cancelling them (see :func:`work_ended`).
_work_ended: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def work_ended(task: asyncio.Task[Any]) -> bool:
    """Whether ``task`` runs a stage whose work has returned: what is left (deleting
    uncommitted objects, recording the run) must not be cut by a stop, or the job would be
    marked aborted with its item already moved on."""
    return task in _work_ended


def request_stop() -> None:
    """Say that this process is stopping (SIGINT/SIGTERM): from now on a stage that ends
    without its commit is put back, not failed. Safe to call from a signal handler."""
    global _stopping
    _stopping = True


def stop_requested() -> bool:
    """Whether :func:`request_stop` was called (and not :func:`clear_stop` since)."""
    return _stopping


def clear_stop() -> None:
    """Forget a stop request (a worker started again in this process, tests)."""
    global _stopping
    _stopping = False


class Interrupted(Exception):
    """The stage was interrupted by the worker's stop and its item put back as its claim
    found it: the job is to be retried, spending nothing."""


#: The storage objects each claim (by token) wrote and has not committed yet.
_written: dict[UUID, list[str]] = {}
#: The objects the claim each claim replaced (its ``previous_token``) may have written and
#: no row names, by token: deleted when the claim ends without its commit too, so a chain
#: of crashed or failed claims leaves nothing behind.
_replaced: dict[UUID, list[str]] = {}


def writes(row: Row, *keys: str) -> None:
    """Note objects the claim of ``row`` is about to write (call it before the put): unless
    its :func:`commit` succeeds, :func:`run_stage` deletes them when the stage ends."""
    _written.setdefault(row["claim_token"], []).extend(keys)


def replaces(row: Row, keys: Iterable[str], named: Iterable[str | None]) -> None:
    """Note ``keys``, the objects the claim that ``row``'s claim replaced (its
    ``previous_token``: a crashed, failed or stale worker) may have written, less those the
    row names (``named``: a committed result is never deleted before it is replaced). Unless
    the stage commits (it then deletes them itself, :func:`delete_replaced`),
    :func:`run_stage` deletes them when the stage ends."""
    keep = {k for k in named if k}
    _replaced.setdefault(row["claim_token"], []).extend(k for k in keys if k not in keep)


@asynccontextmanager
async def commit(rt: Runtime, row: Row) -> AsyncIterator[Connection]:
    """The stage's transaction (its rows and the finish under the claim of ``row``); once it
    has committed, the objects noted with :func:`writes` are the rows' and are kept."""
    async with rt.db.transaction() as conn:
        yield conn
    _written.pop(row["claim_token"], None)
    _replaced.pop(row["claim_token"], None)


async def delete_objects(rt: Runtime, keys: Iterable[str | None], what: str) -> None:
    """Delete objects no committed row names (any more); a failure only leaves strays, so it
    is logged, not raised. On a local disk an emptied ``segments`` folder goes too."""
    present = sorted({k for k in keys if k})
    if not present:
        return
    try:
        await rt.storage.delete_many(present)
    except HeatersError as exc:
        log.warning("%s: could not delete %d objects: %s", what, len(present), exc)
        return
    folders = {
        p.parent
        for k in present
        if (p := rt.storage.local_path(k)) is not None and p.parent.name == "segments"
    }
    for folder in folders:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(folder.rmdir)


async def delete_replaced(
    rt: Runtime, old: Iterable[str | None], kept: Iterable[str | None], what: str
) -> None:
    """After a stage's commit: delete the objects in ``old`` (what its row named before, what
    the replaced claim would have written) that no key in ``kept`` (what the rows name now)
    is."""
    keep = {k for k in kept if k}
    await delete_objects(rt, (k for k in old if k and k not in keep), what)


async def pause_point(rt: Runtime, stage: str) -> None:
    """Crash tests: hold the stage just before its commit (``HEATERS_TEST_PAUSE_BEFORE_COMMIT``)."""
    if rt.settings.test_pause_before_commit == stage:
        log.warning("%s: pausing before commit (HEATERS_TEST_PAUSE_BEFORE_COMMIT)", stage)
        await asyncio.sleep(3600)


def _test_kill_point(rt: Runtime, kind: ItemKind, row: Row) -> None:
    """Crash tests: die here, holding the claim, on a video whose title contains
    ``HEATERS_TEST_KILL_WORKER_ON`` (an input that kills its worker)."""
    marker = rt.settings.test_kill_worker_on
    if marker and kind == "video" and marker in (row["title"] or ""):
        log.warning("video %s: killing this worker (HEATERS_TEST_KILL_WORKER_ON)", row["id"])
        os.kill(os.getpid(), signal.SIGKILL)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def _record(
    rt: Runtime,
    transition: Transition,
    kind: ItemKind,
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
    kind: ItemKind,
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
    for t, held in list(_abandoned.items()):
        if held[:2] == (kind, item_id):  # redone here first: resumed, nothing to put back
            del _abandoned[t]
    slog.info("stage_start", stage=transition.stage, kind=kind, item_id=item_id, attempt=attempt)
    outcome, error = "done", None
    try:
        if row["crashes"] >= rt.settings.max_crashes:
            raise WorkerDied(row["crashes"], rt.settings.max_crashes)
        _test_kill_point(rt, kind, row)
        try:
            result = await work(row)
            task = asyncio.current_task()
            if task is not None:  # its commit is through (or there was none to make)
                _work_ended.add(task)
        except lifecycle.ClaimLost:
            raise
        except BaseException as exc:
            if not _stopping:
                raise
            await _interrupted(rt, kind, item_id, transition, row, exc)
        if result == "noop":
            outcome = "noop"
    except Interrupted:
        raise
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
            # its commit may have gone through: its objects stay (the redo, which replaces
            # this claim, or the put-back, deletes them)
            _abandoned[token] = (kind, item_id, transition, row, _written.pop(token, []))
            _replaced.pop(token, None)
            raise
        log.exception("%s %s: internal error in %s", kind, item_id, transition.running)
        error = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0][:500]
        outcome = await _fail(rt, kind, item_id, transition, token, error, transient=True)
    except BaseException as exc:
        # cancelled (the worker stops, or gave its jobs up when its heartbeat lease ran out
        # in a database outage) or dying: its objects may be committed, so they stay (a redo,
        # which replaces this claim, deletes them)
        written = _written.pop(token, [])
        if isinstance(exc, asyncio.CancelledError):
            # not the item's fault: a redo in this process resumes the claim, and once the
            # database answers the worker puts it back (put_back_abandoned), spending no
            # attempt and counting no crash wherever the redo lands
            _resume[(kind, item_id)] = token
            _abandoned[token] = (kind, item_id, transition, row, written)
        _replaced.pop(token, None)
        raise
    # not committed (lost, failed, nothing to do): named by no row, so deleted
    await delete_objects(
        rt, [*_written.pop(token, ()), *_replaced.pop(token, ())], f"{kind} {item_id}"
    )
    await _record(
        rt, transition, kind, item_id, attempt, outcome, error, started, time.monotonic() - t0
    )
    return outcome


async def _put_back(
    rt: Runtime,
    kind: ItemKind,
    item_id: int,
    transition: Transition,
    row: Row,
    written: Iterable[str],
    why: str,
) -> bool:
    """Put the item back as the claim of ``row`` found it (:func:`lifecycle.put_back`) and
    delete the objects that claim wrote (named by no row: its commit did not go through, or
    the item would not be held by it any more). Returns whether the item was held."""
    async with rt.db.transaction() as conn:
        held = await lifecycle.put_back(conn, kind, transition, item_id, row)
    if held:
        log.warning(
            "%s %s: put back in %s (%s): no attempt spent",
            kind, item_id, row["previous_state"], why,
        )  # fmt: skip
        await delete_objects(rt, written, f"{kind} {item_id}")
    return held


async def _interrupted(
    rt: Runtime,
    kind: ItemKind,
    item_id: int,
    transition: Transition,
    row: Row,
    exc: BaseException,
) -> NoReturn:
    """The stage ended (``exc``) while this process stops: put its item back, raise
    :class:`Interrupted`. The put-back runs to its end even when the stop's cancel reaches
    this task only now (the stage ended first, its ffmpeg killed by the same signal)."""
    task = asyncio.current_task()
    if isinstance(exc, asyncio.CancelledError) and task is not None:
        task.uncancel()  # the stop's cancel was taken
    token = row["claim_token"]
    written = _written.pop(token, [])
    _replaced.pop(token, None)  # the previous claim's, whose token the item gets back
    put = asyncio.ensure_future(
        asyncio.wait_for(
            _put_back(rt, kind, item_id, transition, row, written, "the worker stops"),
            rt.settings.stalled_after_seconds,
        )
    )
    while not put.done():
        try:
            await asyncio.shield(put)
        except asyncio.CancelledError:
            if task is not None:
                task.uncancel()  # the stop's cancel, arriving late: the put-back goes on
    try:
        put.result()
    except Exception as failed:
        if stage_lost_database(failed) is None and not isinstance(failed, TimeoutError):
            raise
        log.warning("%s %s: not put back (database unavailable): a redo counts it", kind, item_id)
    raise Interrupted(f"{kind} {item_id}: interrupted by the worker's stop") from None


async def put_back_abandoned(rt: Runtime) -> int:
    """Put back the items of the claims this process gave up in a database outage (its stages
    cancelled when its heartbeat lease ran out, or lost the database mid-run) and that no redo
    here has taken since: called by the worker once the database answers, before its old
    registration is dropped (only then do other workers retry those jobs). Returns how many
    were still held. Raises what the database raises (the caller retries later)."""
    done = 0
    for token, (kind, item_id, transition, row, written) in list(_abandoned.items()):
        held = await _put_back(rt, kind, item_id, transition, row, written,
                               "given up in a database outage")  # fmt: skip
        _abandoned.pop(token, None)
        if _resume.get((kind, item_id)) == token:
            del _resume[(kind, item_id)]
        done += held
    return done


class WorkerDied(HeatersError):
    """The crash budget is spent: workers died (or were cut off) this many times holding the
    item in this stage (``crashes``, counted by the claim), so it is given up instead of
    being redone once more: an input that kills its worker is not retried for ever."""

    def __init__(self, crashes: int, limit: int) -> None:
        super().__init__(
            f"the worker died {crashes} times on this item (HEATERS_MAX_CRASHES={limit}): "
            "given up, 'heaters retry' tries again"
        )


def _lost(kind: ItemKind, item_id: int, *, taken_over: bool = True) -> Outcome:
    why = "to another worker (stale token)" if taken_over else "(it left its running state)"
    log.warning("%s %s: claim lost %s, result discarded", kind, item_id, why)
    return "lost"


async def _fail(
    rt: Runtime,
    kind: ItemKind,
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
