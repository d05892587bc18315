"""The dashboard in Chromium (issue 23, part 3): a paused queue holds its stage's jobs until
it is resumed, and a killed worker shows as gone, with the host and pid it recorded.

Its own small stack: a fresh database, ``heaters web`` and ``heaters worker`` processes as a
user runs them, one 4 s video. Every wait is on a condition (the page or the database)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, fast_env, heaters_cmd, run_heaters
from tests.web.helpers import ARTIFACTS, PASSWORD, Stack, _free_port, _stop, _wait_http


@pytest.fixture(scope="module")
def ops(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A fresh database, ``heaters web`` and a reviewer account; no worker."""
    import psycopg

    name = f"ops{os.getpid()}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template_db}")
    url = pg_server.replace("/postgres?", f"/{name}?", 1)
    env = {**os.environ, **fast_env(url, tmp_path_factory.mktemp("ops-home")),
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    logs = tmp_path_factory.mktemp("ops-logs")
    server = None
    try:
        made = subprocess.run(
            heaters_cmd("user", "add", "ops", "--password-stdin"), input=PASSWORD + "\n",
            env=env, capture_output=True, text=True, timeout=60, cwd=REPO,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        port = _free_port()
        server = subprocess.Popen(
            heaters_cmd("web", "--host", "127.0.0.1", "--port", str(port)), env=env, cwd=REPO,
            stdout=(logs / "web.out").open("wb"), stderr=(logs / "web.err").open("wb"),
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/login", server)
        yield Stack(url=base, env=env, database_url=url, videos=[])
    finally:
        if server is not None:
            _stop(server)
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _worker(ops: Stack, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(heaters_cmd("worker"), env=ops.env, cwd=REPO,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip


def _dashboard(browser: Any, ops: Stack) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{ops.url}/dashboard")
    page.fill("#name", "ops")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(ops.url) + r"/dashboard$"))
    return page


def test_a_paused_queue_holds_its_jobs_until_resumed(
    browser: Any, ops: Stack, other_video: Path, tmp_path: Path
) -> None:
    worker = _worker(ops, tmp_path / "worker.log")
    try:
        page = _dashboard(browser, ops)
        page.wait_for_selector(f'#workers tr[data-pid="{worker.pid}"]')
        page.click("text=Pause io")
        page.wait_for_selector("#paused-io")
        done = run_heaters(ops.env, "ingest", str(other_video), "--json")
        assert done.returncode == 0, done.stderr
        vid = json.loads(done.stdout)["id"]
        ((since,),) = ops.sql("SELECT now()")
        # A dispatcher run that started after the video was recorded has seen it.
        ops.wait_for(
            lambda: ops.sql(
                "SELECT 1 FROM procrastinate_jobs j JOIN procrastinate_events s ON s.job_id = j.id"
                " AND s.type = 'started' AND s.at > %s WHERE j.task_name = 'heaters.dispatch'"
                " AND j.status = 'succeeded'", (since,),
            ),
            timeout=30, what="a dispatcher run after the ingest",
        )  # fmt: skip
        assert ops.sql("SELECT state FROM source_videos WHERE id = %s", (vid,)) == [("new",)]
        page.goto(f"{ops.url}/dashboard/jobs?item=video+{vid}")
        assert page.locator("#jobs tbody tr[data-job]").count() == 0  # held: no job at all

        page.goto(f"{ops.url}/dashboard")
        page.click("text=Resume io")
        page.wait_for_selector("text=Pause io")
        ops.wait_for(
            lambda: ops.sql("SELECT 1 FROM source_videos WHERE id = %s AND state = 'detected'",
                            (vid,)),
            timeout=120, what=f"video {vid} detected after the resume",
        )  # fmt: skip
        page.click("text=Search jobs")
        # loaded, so htmx (a deferred script) has bound the form before it is changed
        page.wait_for_url(re.compile(r".*/dashboard/jobs$"), wait_until="load")
        page.fill("#job-search input[name=item]", f"video {vid}")
        page.select_option("#job-search select[name=status]", "succeeded")  # htmx: rows only
        page.wait_for_url(re.compile(r".*/dashboard/jobs\?.*status=succeeded.*"))
        page.wait_for_function(  # the rows of the search: only succeeded jobs of the video
            "() => { const s = [...document.querySelectorAll("
            "'#jobs tbody tr[data-job] td:nth-child(2)')].map(td => td.innerText);"
            " return s.length >= 3 && s.every(x => x === 'succeeded'); }"
        )
        stages = page.locator("#jobs tbody tr[data-job] td:nth-child(3)").all_inner_texts()
        items = page.locator("#jobs tbody tr[data-job] td:nth-child(5)").all_inner_texts()
        assert set(items) == {f"video {vid}"}, items
        assert {"download", "preprocess", "detect"} <= set(stages), stages
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-jobs.png"), full_page=True)
        page.click("#jobs tbody tr[data-job] a >> nth=-1")  # the oldest: the download
        page.wait_for_selector("#job-events")
        page.screenshot(path=str(ARTIFACTS / "dashboard-job.png"), full_page=True)
        events = page.locator("#job-events tbody td:first-child").all_inner_texts()
        assert events[0] == "deferred" and events[-1] == "succeeded", events
        page.goto(f"{ops.url}/dashboard")
        page.wait_for_selector("#charts rect")
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    finally:
        _stop(worker)


def test_a_killed_worker_shows_as_gone(browser: Any, ops: Stack, tmp_path: Path) -> None:
    worker = _worker(ops, tmp_path / "worker.log")
    try:
        page = _dashboard(browser, ops)
        row = f'#workers tr[data-pid="{worker.pid}"]'
        page.wait_for_selector(f"{row} >> text=alive")
        cells = page.locator(f"{row} td").all_inner_texts()
        assert cells[1] == socket.gethostname() and cells[2] == str(worker.pid), cells
        assert cells[4].endswith(" / 4"), cells  # HEATERS_WORKER_CONCURRENCY's default
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        # Gone once silent past HEATERS_STALLED_AFTER_SECONDS (3 s here); the panel refreshes
        # every 5 s.
        page.wait_for_selector(f"{row} >> text=gone", timeout=30_000)
        ops.sql("INSERT INTO procrastinate_jobs (queue_name, task_name, args)"
                " VALUES ('cpu', 'heaters.export', '{}')")  # fmt: skip
        page.wait_for_selector("#no-worker", timeout=30_000)
        assert "heaters worker" in page.inner_text("#no-worker")
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait()
