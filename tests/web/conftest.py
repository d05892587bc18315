"""The review UI for real: uvicorn serving ``web.app:create_app`` on 127.0.0.1, a ``heaters
worker`` committing merges and splits, two real videos processed by ``heaters ingest --wait``,
a real Postgres, and Debian's Chromium driven by Playwright.

The stack is built once per module (ingest, server, worker, browser: ~10 s); each test starts
from a clean review state (:func:`fresh`), which puts every detected clip back to
``pending_review`` and forgets events, edits and claims.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, create_database_sql, fast_env, heaters_cmd, run_heaters
from tests.web.helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    SETTLE,
    Stack,
    _free_port,
    _stop,
    _wait_http,
)

_db_counter = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the browser tests where Debian's Chromium or the playwright package is missing."""
    import importlib.util

    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    elif importlib.util.find_spec("playwright") is None:
        reason = "the playwright package is missing (pip install playwright)"
    else:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "tests/web/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def stack_videos(small_video: Path, other_video: Path) -> list[Path]:
    """The videos :func:`stack` ingests, in order (a module may override this fixture)."""
    return [small_video, other_video]


@pytest.fixture(scope="module")
def stack(
    pg_server: str,
    template_db: str,
    stack_videos: list[Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """A fresh database with the processed :func:`stack_videos` (two by default), the web
    server, a worker, two users."""
    import psycopg

    name = f"w{os.getpid()}_{next(_db_counter)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(create_database_sql(name, template_db))
    url = pg_server.replace("/postgres?", f"/{name}?", 1)
    home = tmp_path_factory.mktemp("web-home")
    env = {
        **os.environ,
        **fast_env(url, home),
        "HEATERS_REVIEW_SETTLE_SECONDS": str(SETTLE),
        "PYTHONUNBUFFERED": "1",
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        done = run_heaters(env, "ingest", *map(str, stack_videos), "--wait", "--json")
        assert done.returncode == 0, done.stderr
        videos = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        assert all(v["state"] == "detected" for v in videos), videos
        for user in ("alice", "bob"):
            made = subprocess.run(
                [sys.executable, "-c", "from heaters.cli.web import user_group; user_group()",
                 "add", user, "--password-stdin"],
                input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=60,
                cwd=REPO,
            )  # fmt: skip
            assert made.returncode == 0, made.stderr
        port = _free_port()
        log_dir = tmp_path_factory.mktemp("web-logs")
        server = subprocess.Popen(
            [sys.executable, "-c",
             "from heaters.cli.web import web_command; web_command()",
             "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=REPO, stdout=(log_dir / "web.out").open("wb"),
            stderr=(log_dir / "web.err").open("wb"),
        )  # fmt: skip
        procs.append(server)
        # Sprites first (dispatcher + cpu queue), then a worker on the default queue only:
        # it commits merges and splits, while approved clips stay put (no export runs
        # under the tests' feet; each test resets the review state).
        sprites = subprocess.Popen(
            [*heaters_cmd("worker", "--queues", "default,cpu")], env=env, cwd=REPO,
            stdout=(log_dir / "sprites.out").open("wb"),
            stderr=(log_dir / "sprites.err").open("wb"),
        )  # fmt: skip
        procs.append(sprites)
        stack_db = Stack(url="", env=env, database_url=url, videos=videos)
        stack_db.wait_for(
            lambda: (
                stack_db.sql(
                    "SELECT count(*) FROM clips c WHERE NOT EXISTS (SELECT 1 FROM clip_artifacts a "
                    "WHERE a.clip_id = c.id AND a.kind = 'sprite')"
                )[0][0]
                == 0
            ),
            timeout=90,
            what="sprite sheets of every clip",
        )
        _stop(sprites)
        worker = subprocess.Popen(
            heaters_cmd("worker", "--queues", "default"), env=env, cwd=REPO,
            stdout=(log_dir / "worker.out").open("wb"),
            stderr=(log_dir / "worker.err").open("wb"),
        )  # fmt: skip
        procs.append(worker)
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/login", server)
        yield Stack(url=base, env=env, database_url=url, videos=videos)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            _stop(proc)
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def fresh(stack: Stack) -> Stack:
    """The stack with every detected clip pending review again, no events, edits, claims,
    reservations (a page's next clip), tags or notes."""
    originals = [c["id"] for v in stack.videos for c in v["clips"]]
    stack.sql(
        """
        DELETE FROM review_events;
        DELETE FROM review_reservations;
        DELETE FROM tags;
        UPDATE clips SET note = NULL WHERE note IS NOT NULL;
        """
    )
    stack.sql("DELETE FROM clips WHERE NOT (id = ANY(%s))", (originals,))
    stack.sql(
        "UPDATE clips SET state = 'pending_review', superseded_by = NULL, reviewed_at = NULL, "
        "reviewed_by = NULL, grouped_with_clip_id = NULL, claimed_by = NULL, claimed_at = NULL"
    )
    return stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright (never ``playwright install``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
