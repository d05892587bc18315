"""The dashboard and /metrics show what the SQL views hold; retry from the dashboard works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.api.conftest import Api
from tests.conftest import REPO, run_heaters


def _login(api: Api) -> object:
    import httpx

    made = subprocess.run(
        [sys.executable, "-m", "heaters", "user", "add", "ops", "--password-stdin"],
        input="correct horse battery\n", env=api.env, capture_output=True, text=True,
        timeout=60, cwd=REPO,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    c = httpx.Client(base_url=api.url, timeout=60, follow_redirects=False)
    c.get("/login")
    r = c.post("/login", data={"name": "ops", "password": "correct horse battery", "next": "/dashboard",
                               "_csrf_token": c.cookies["heaters_csrf"]})  # fmt: skip
    assert r.status_code == 303, r.text
    return c


@pytest.mark.slow  # a pipeline run behind the dashboard (~8 s)
def test_dashboard_and_metrics_match_the_views(api: Api, small_video: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    done = run_heaters(api.env, "ingest", str(small_video), str(empty), "--wait", "--json")
    assert done.returncode == 1  # the empty file fails
    url = api.env["DATABASE_URL"]
    with psycopg.connect(url) as conn:
        states = conn.execute("SELECT kind, state, items FROM v_item_states").fetchall()
        failures = conn.execute("SELECT kind, id, last_error FROM v_failures").fetchall()
        runs = conn.execute("SELECT stage, done FROM v_stage_throughput").fetchall()
    assert ("video", "detected", 1) in states and ("video", "download_failed", 1) in states
    assert [(f[0], f[2]) for f in failures] == [("video", "file is empty (0 bytes)")]
    assert {r[0] for r in runs} >= {"download", "preprocess", "detect"}

    c = _login(api)
    page = c.get("/dashboard").text  # type: ignore[attr-defined]
    for kind, state, items in states:
        assert re.search(rf"<td>{kind}</td><td>{state}</td><td class=\"num\">{items}</td>", page), (
            kind,
            state,
        )
    assert "file is empty (0 bytes)" in page
    assert 'hx-trigger="every 5s"' in page

    metrics = c.get("/metrics").text  # type: ignore[attr-defined]
    for kind, state, items in states:
        assert f'heaters_items{{kind="{kind}",state="{state}"}} {float(items)}' in metrics
    assert re.search(r'heaters_stage_runs_total\{outcome="done",stage="detect"\} 1\.0', metrics)

    vid = failures[0][1]
    csrf = c.cookies["heaters_csrf"]  # type: ignore[attr-defined]
    r = c.post(f"/dashboard/retry/video/{vid}", headers={"X-CSRFToken": csrf, "HX-Request": "true"})  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    with psycopg.connect(url) as conn:
        attempts, due = conn.execute(
            "SELECT attempts, next_attempt_at IS NOT NULL FROM source_videos WHERE id = %s", (vid,)
        ).fetchone()
    assert (attempts, due) == (0, True)
    anonymous = c.__class__(base_url=api.url).get("/dashboard")  # type: ignore[attr-defined]
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]
    _job_search_detail_and_charts(c, url, done.stdout, vid)


def _job_search_detail_and_charts(c: Any, url: str, stdout: str, failed_vid: int) -> None:
    """Job search by state, stage and item; a job's detail with its history, its item's
    reason and runs; the last hour's charts (issue 23, part 3)."""
    import json

    vid = next(v["id"] for v in map(json.loads, stdout.splitlines()) if v["state"] == "detected")
    with psycopg.connect(url) as conn:
        jobs = dict(conn.execute(
            "SELECT task_name, id FROM procrastinate_jobs WHERE args->>'item_id' = %s"
            " AND task_name IN ('heaters.download', 'heaters.preprocess', 'heaters.detect')",
            (str(vid),),
        ).fetchall())  # fmt: skip
        (failed_job,) = conn.execute(
            "SELECT id FROM procrastinate_jobs WHERE task_name = 'heaters.download'"
            " AND args->>'item_id' = %s", (str(failed_vid),),
        ).fetchone()  # fmt: skip
    assert set(jobs) == {"heaters.download", "heaters.preprocess", "heaters.detect"}
    page = c.get("/dashboard/jobs", params={"stage": "preprocess", "item": f"video {vid}",
                                            "status": "succeeded"}).text  # fmt: skip
    assert re.findall(r'data-job="(\d+)"', page) == [str(jobs["heaters.preprocess"])], page
    assert '<form id="job-search"' in page  # the whole page
    rows = c.get("/dashboard/jobs", params={"item": str(vid)}, headers={"HX-Request": "true"}).text
    assert "<form" not in rows  # htmx gets the rows alone
    assert {int(j) for j in re.findall(r'data-job="(\d+)"', rows)} >= set(jobs.values())
    assert (
        'data-job="'
        not in c.get("/dashboard/jobs", params={"status": "failed", "item": f"video {vid}"}).text
    )
    assert c.get("/dashboard/jobs", params={"item": "frame 3"}).status_code == 400
    assert c.get("/dashboard/jobs", params={"status": "sleeping"}).status_code == 400

    detail = c.get(f"/dashboard/jobs/{jobs['heaters.detect']}").text
    events = re.findall(r"<tr><td>(\w+)</td><td>", detail.split('id="job-events"')[1])
    assert events[0] == "deferred" and events[-2:] == ["started", "succeeded"], events
    assert '<td id="job-status">succeeded' in detail and "<td>detected</td>" in detail
    assert re.search(r'class="this-stage"><td>detect</td><td class="num">1</td><td>done</td>',
                     detail), detail  # fmt: skip
    failed = c.get(f"/dashboard/jobs/{failed_job}").text
    assert '<td id="item-error">file is empty (0 bytes)</td>' in failed
    assert re.search(r"<td>download</td>.*?<td>failed</td><td>file is empty \(0 bytes\)</td>",
                     failed, re.S), failed  # fmt: skip
    assert c.get("/dashboard/jobs/999999").status_code == 404

    charts = c.get("/dashboard/charts").text
    for stage in ("download", "preprocess", "detect"):
        assert re.search(rf"<title>\d\d:\d\d {stage}: \d+ runs</title>", charts), stage
    assert charts.count("<svg viewBox") == 3 and "no jobs in the last hour" not in charts
    assert re.search(r"<title>\d\d:\d\d p95: [\d.e+-]+ s</title>", charts)


def test_the_dashboard_lists_workers_and_says_when_none_is_alive(api: Api) -> None:
    """Workers with their heartbeats; a worker silent past the stall limit is gone; no
    worker alive while jobs wait is a banner (issue 23, part 3, in part)."""
    c: Any = _login(api)
    url = api.env["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args)"
            " VALUES ('cpu', 'heaters.stage.export', '{}')"
        )
    page = c.get("/dashboard/panels").text
    assert 'id="no-worker"' in page and "1 job wait" in page and "no worker has started" in page
    with psycopg.connect(url, autocommit=True) as conn:
        (wid,) = conn.execute(
            "INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id"
        ).fetchone()  # type: ignore[misc]
        conn.execute(
            "INSERT INTO worker_info (worker_id, host, pid, concurrency, queues)"
            " VALUES (%s, 'box-7', 4242, 3, '{io,cpu}')", (wid,),
        )  # fmt: skip
    page = c.get("/dashboard/panels").text
    assert 'id="no-worker"' not in page
    assert re.search(rf"<td>{wid}</td>.*?<td>alive</td>", page, re.S), page
    assert re.search(
        rf'data-pid="4242"><td>{wid}</td><td>box-7</td><td class="num">4242</td>'
        r'<td>io, cpu</td><td class="num"><a [^>]*>0</a> / 3</td>',
        page,
    ), page
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
            " WHERE id = %s", (wid,),
        )  # fmt: skip
    page = c.get("/dashboard/panels").text
    assert 'id="no-worker"' in page and re.search(rf"<td>{wid}</td>.*?<td>gone", page, re.S)


def test_a_queue_is_paused_and_resumed_from_the_dashboard(api: Api) -> None:
    c: Any = _login(api)
    csrf = {"x-csrftoken": c.cookies["heaters_csrf"]}
    page = c.post("/dashboard/queues/cpu/pause", headers=csrf).text
    assert 'id="paused-cpu"' in page and "cpu: paused by ops" in page and "Resume cpu" in page
    with psycopg.connect(api.env["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT queue FROM paused_queues").fetchall() == [("cpu",)]
    page = c.post("/dashboard/queues/cpu/resume", headers=csrf).text
    assert 'id="paused-cpu"' not in page and "Pause cpu" in page
    assert c.post("/dashboard/queues/nope/pause", headers=csrf).status_code == 404
