"""Operations: the dashboard (htmx, refreshing, built on the SQL views) and ``/metrics``.

Every number on the dashboard's panels is a row of a view (``v_item_states``,
``v_stage_throughput``, ``v_failures``, ``v_queues``, ``v_review_progress``) or a named query
(``queries/ops.sql``, ``queries/dashboard.sql``: workers, job search and detail, the last
hour's charts), so psql shows exactly what the page shows. ``/metrics`` renders the same views
in the Prometheus text format (prometheus-client), computed at scrape time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Parameter
from litestar.response import Template
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from heaters.db import fetch_all
from web.auth import reviewer
from web.state import web_state
from web.storage_metrics import storage_check_collector


async def _dashboard_data(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from heaters.pipeline.dispatcher import STAGE_QUEUES, stages_off

    state = web_state(request)
    db = state.db
    async with db.acquire() as conn:
        data: dict[str, Any] = {
            "stages_off": stages_off(),
            "states": await fetch_all(db.q.item_states(conn)),
            "throughput": await fetch_all(db.q.stage_throughput(conn, hours=24)),
            "failures": await fetch_all(db.q.failures(conn, limit=100)),
            "queues": await fetch_all(db.q.queues(conn)),
            "progress": await fetch_all(db.q.review_progress(conn)),
            "failed_jobs": await fetch_all(db.q.failed_jobs(conn, limit=50)),
            "workers": await fetch_all(db.q.worker_list(conn)),
            "paused": {r["queue"]: r for r in await fetch_all(db.q.paused_queues(conn))},
        }
    # A worker is alive while its heartbeat is younger than the stall limit (after which its
    # jobs are given to others: workers.app); none alive while jobs wait is a banner.
    limit = float(state.settings.stalled_after_seconds)
    data["alive_after"] = limit
    workers: list[Any] = data["workers"]
    data["alive"] = [w for w in workers if w["silent_seconds"] < limit]
    data["waiting"] = sum(int(q["waiting"]) for q in data["queues"])
    data["stage_queues"] = STAGE_QUEUES
    return data


@get("/dashboard", name="dashboard")
async def dashboard(request: Request[Any, Any, Any]) -> Template:
    """The operations dashboard (its panels refresh every 5 s; the detector profiles,
    ``_detector_profiles.html``, with the page)."""
    from heaters.pipeline.profiles import list_profiles

    context = await _dashboard_data(request)
    context["profiles"] = await list_profiles(web_state(request).db)
    return Template("dashboard.html", context=context)


@get("/dashboard/panels", name="dashboard-panels")
async def dashboard_panels(request: Request[Any, Any, Any]) -> Template:
    """The dashboard's panels alone (the htmx refresh)."""
    return Template("_dashboard_panels.html", context=await _dashboard_data(request))


@post("/dashboard/retry/{kind:str}/{item_id:int}", name="dashboard-retry", status_code=200)
async def dashboard_retry(
    request: Request[Any, Any, Any], kind: str, item_id: int = Parameter(ge=1)
) -> Template:
    """Retry a failed video or clip now (fresh attempt budget), then redraw the panels."""
    state = web_state(request)
    if kind not in ("video", "clip"):
        raise ClientException("kind is video or clip")
    from heaters.review import retry_item

    if await retry_item(state.db, "video" if kind == "video" else "clip", item_id) is None:
        raise NotFoundException(f"{kind} {item_id} is not failed (or does not exist)")
    await state.dispatch()
    return Template("_dashboard_panels.html", context=await _dashboard_data(request))


@post("/dashboard/queues/{queue:str}/{action:str}", name="dashboard-queue", status_code=200)
async def dashboard_queue(request: Request[Any, Any, Any], queue: str, action: str) -> Template:
    """Pause a queue (its waiting stage jobs withdrawn, no new ones deferred) or resume it,
    then redraw the panels."""
    from heaters.pipeline.dispatcher import pause_queue, resume_queue

    state = web_state(request)
    if action == "pause":
        try:
            await pause_queue(state.db, queue, by=reviewer(request))
        except ValueError as exc:
            raise NotFoundException(str(exc)) from None
    elif action == "resume":
        await resume_queue(state.db, queue)
        await state.dispatch()
    else:
        raise ClientException("action is pause or resume")
    return Template("_dashboard_panels.html", context=await _dashboard_data(request))


@post("/dashboard/jobs/{job_id:int}/cancel", name="dashboard-cancel", status_code=200)
async def dashboard_cancel(
    request: Request[Any, Any, Any], job_id: int = Parameter(ge=1)
) -> Template:
    """Cancel a waiting job, or delete a failed one from the queue, then redraw the panels."""
    state = web_state(request)
    if not await state.cancel(job_id):
        async with state.db.acquire() as conn:
            deleted = await state.db.q.delete_failed_job(conn, id=job_id)
        if deleted is None:
            raise NotFoundException(f"job {job_id} is not waiting or failed")
    return Template("_dashboard_panels.html", context=await _dashboard_data(request))


class _Snapshot(Collector):
    """A collector over values read from the views just before the scrape renders."""

    def __init__(self, data: dict[str, list[Any]]) -> None:
        self.data = data

    def collect(self) -> Any:
        items = GaugeMetricFamily(
            "heaters_items", "Videos and clips per state.", labels=["kind", "state"]
        )
        for r in self.data["states"]:
            items.add_metric([r["kind"], r["state"]], r["items"])
        yield items
        jobs = GaugeMetricFamily(
            "heaters_queue_jobs", "Jobs per queue and status.", labels=["queue", "status"]
        )
        oldest = GaugeMetricFamily(
            "heaters_queue_oldest_waiting_seconds",
            "Age of the oldest waiting job.",
            labels=["queue"],
        )
        for q in self.data["queues"]:
            for status in ("waiting", "scheduled", "running", "failed"):
                jobs.add_metric([q["queue"], status], q[status])
            oldest.add_metric([q["queue"]], q["oldest_waiting_seconds"] or 0.0)
        yield jobs
        yield oldest
        runs = CounterMetricFamily(
            "heaters_stage_runs", "Stage job runs by outcome.", labels=["stage", "outcome"]
        )
        secs = CounterMetricFamily(
            "heaters_stage_seconds",
            "Seconds spent in stage runs by outcome.",
            labels=["stage", "outcome"],
        )
        for r in self.data["runs"]:
            runs.add_metric([r["stage"], r["outcome"]], r["runs"])
            secs.add_metric([r["stage"], r["outcome"]], float(r["seconds"]))
        yield runs
        yield secs


def _age(since: datetime | None) -> float:
    return (datetime.now(UTC) - since).total_seconds() if since else 0.0


@get("/metrics", name="metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus metrics from the views: items per state, queue depth and age, stage runs."""
    db = web_state(request).db
    async with db.acquire() as conn:
        data: dict[str, list[Any]] = {
            "states": await fetch_all(db.q.item_states(conn)),
            "queues": [
                {**dict(q), "oldest_waiting_seconds": _age(q["oldest_waiting_since"])}
                for q in await fetch_all(db.q.queues(conn))
            ],
            "runs": await fetch_all(db.q.stage_run_totals(conn)),
        }  # fmt: skip
    registry = CollectorRegistry()
    registry.register(_Snapshot(data))
    registry.register(await storage_check_collector(db))  # the last storage check's counts
    # Litestar adds "; charset=utf-8" to a text/ type itself (prometheus_client's
    # CONTENT_TYPE_LATEST has it already: it would be there twice).
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")


CHART_MINUTES = 60
"""The charts' span: the last hour, one slot per minute."""


def _stage_tasks() -> dict[str, tuple[str, str]]:
    """Each stage's task name → ``(stage name, item kind)``."""
    from heaters.pipeline.stages import STAGES

    return {st.task_name: (st.name, st.finds.kind) for st in STAGES}


@get("/dashboard/charts", name="dashboard-charts")
async def dashboard_charts(request: Request[Any, Any, Any]) -> Template:
    """The last hour's charts as server-rendered SVG: stage runs finished per minute by
    stage, p50 / p95 of the stage jobs' wait (due → started) and run time, in seconds."""
    from web.charts import bar_chart, line_chart

    db = web_state(request).db
    minutes = CHART_MINUTES
    now = datetime.now(UTC)  # the slots' end (the database's clock stamps the rows)
    async with db.acquire() as conn:
        runs = await fetch_all(db.q.runs_per_minute(conn, minutes=minutes))
        run_s = await fetch_all(db.q.run_seconds_per_minute(conn, minutes=minutes))
        wait_s = await fetch_all(
            db.q.wait_seconds_per_minute(conn, minutes=minutes, tasks=list(_stage_tasks()))
        )
    charts = [
        bar_chart(runs, now=now, minutes=minutes, title="Stage runs finished per minute",
                  unit="runs"),
        line_chart(wait_s, now=now, minutes=minutes, title="Wait (due → started), s",
                   unit="s"),
        line_chart(run_s, now=now, minutes=minutes, title="Run time, s", unit="s"),
    ]  # fmt: skip
    return Template("_dashboard_charts.html", context={"charts": charts})


JOB_STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")
"""procrastinate's job statuses (waiting, running, and the four ends)."""

_ITEM = re.compile(r"^\s*(?:(video|clip|segment)\s*[:#]?\s*)?#?(\d+)\s*$", re.I)


def parse_item(text: str) -> tuple[str | None, int]:
    """``"video 12"``, ``"clip:7"``, ``"12"`` → ``(kind or None, id)``; raises
    ClientException for anything else."""
    m = _ITEM.match(text)
    if m is None:
        raise ClientException(f"item {text!r}: give an id, or video/clip/segment and an id")
    return (m.group(1).lower() if m.group(1) else None), int(m.group(2))


@get("/dashboard/jobs", name="dashboard-jobs")
async def dashboard_jobs(
    request: Request[Any, Any, Any],
    status: str | None = None,
    stage: str | None = None,
    queue: str | None = None,
    item: str | None = None,
    limit: int = Parameter(default=100, ge=1, le=1000),
) -> Template:
    """Job search: procrastinate's jobs by status, stage (a stage's name or any task name),
    queue and item (``video 12``, ``clip 7`` or an id), newest first. The whole page, or
    the result table alone for htmx."""
    tasks = _stage_tasks()
    status = status or None
    if status is not None and status not in JOB_STATUSES:
        raise ClientException(f"status is one of {', '.join(JOB_STATUSES)}")
    wanted: list[str] | None = None
    if stage:
        wanted = [t for t, (name, _) in tasks.items() if name == stage] or [stage]
    kind, item_id = parse_item(item) if item else (None, None)
    if kind is not None:
        of_kind = [t for t, (_, k) in tasks.items() if k == kind]
        wanted = [t for t in (wanted or of_kind) if t in of_kind]
    db = web_state(request).db
    async with db.acquire() as conn:
        jobs = await fetch_all(db.q.search_jobs(
            conn, status=status, tasks=wanted, queue=queue or None, item_id=item_id,
            limit=limit,
        ))  # fmt: skip
    context = {
        "jobs": [dict(j) | {"stage": tasks.get(j["task_name"], (j["task_name"], None))[0],
                            "kind": tasks.get(j["task_name"], (None, None))[1]}
                 for j in jobs],
        "query": {"status": status or "", "stage": stage or "", "queue": queue or "",
                  "item": item or ""},
        "statuses": JOB_STATUSES, "stages": sorted({n for n, _ in tasks.values()}),
        "queues": sorted({q for q in _stage_queues()}), "limit": limit,
    }  # fmt: skip
    partial = request.headers.get("hx-request") == "true"
    return Template("_job_rows.html" if partial else "jobs.html", context=context)


def _stage_queues() -> list[str]:
    from heaters.pipeline.dispatcher import STAGE_QUEUES

    return [*STAGE_QUEUES, "default"]


@get("/dashboard/jobs/{job_id:int}", name="dashboard-job")
async def dashboard_job(request: Request[Any, Any, Any], job_id: int = Parameter(ge=1)) -> Template:
    """A job's detail: its row, its history (procrastinate's events: deferred, started,
    retried, succeeded or failed…), its item's state and failure reason, and every stage run
    recorded on its item (each attempt, its outcome and error)."""
    db = web_state(request).db
    async with db.acquire() as conn:
        job = await db.q.job_detail(conn, id=job_id)
        if job is None:
            raise NotFoundException(f"job {job_id} does not exist (or was pruned)")
        events = await fetch_all(db.q.job_events(conn, id=job_id))
        stage, kind = _stage_tasks().get(job["task_name"], (None, None))
        args = job["args"] if isinstance(job["args"], dict) else {}
        item_id = args.get("item_id")
        item = runs = None
        if kind in ("video", "clip", "segment") and isinstance(item_id, int):
            item = await db.q.item_lifecycle(conn, kind=kind, id=item_id)
            runs = await fetch_all(db.q.item_runs(conn, kind=kind, item_id=item_id, limit=200))
    steps = []
    for i, e in enumerate(events):
        after = (e["at"] - events[i - 1]["at"]).total_seconds() if i else None
        steps.append({"type": e["type"], "at": e["at"], "after": after})
    context = {"job": job, "events": steps, "stage": stage, "kind": kind, "item_id": item_id,
               "item": item, "runs": runs or []}  # fmt: skip
    return Template("job.html", context=context)


ops_routes = [
    dashboard, dashboard_panels, dashboard_retry, dashboard_queue, dashboard_cancel,
    dashboard_charts, dashboard_jobs, dashboard_job,
]  # fmt: skip
