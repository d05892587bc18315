"""Operations: the dashboard (htmx, refreshing, built on the SQL views) and ``/metrics``.

Every number on the dashboard is a row of a view (``v_item_states``, ``v_stage_throughput``,
``v_failures``, ``v_queues``, ``v_review_progress``), so ``SELECT * FROM v_queues`` in psql
shows exactly what the page shows. ``/metrics`` renders the same views in the Prometheus text
format (prometheus-client), computed at scrape time.
"""

from __future__ import annotations

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
            "workers": await fetch_all(db.q.workers(conn)),
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
    # Litestar adds "; charset=utf-8" to a text/ type itself (prometheus_client's
    # CONTENT_TYPE_LATEST has it already: it would be there twice).
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")


ops_routes = [dashboard, dashboard_panels, dashboard_retry, dashboard_queue, dashboard_cancel]
