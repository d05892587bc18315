"""The database goes away under a running web (issue 15, item 4): pages and the API answer 503
"database unavailable" instead of 500 "FileNotFoundError", a web started meanwhile exits
with one line, and once Postgres is back the same process answers 200 again (its pool
reconnects by itself).

Postgres is a pgserver instance of this test's own (the session's serves every other test),
stopped and started again with ``pg_ctl`` on the same data folder and socket.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_throttle import PASSWORD, Browser, web_server
from tests.conftest import REPO, fast_env, heaters_cmd


@dataclass
class Postgres:
    """A Postgres server the test can stop and start again (same URI)."""

    uri: str
    server: Any  # pgserver.PostgresServer

    def stop(self) -> None:
        import pgserver

        pgserver.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()
        assert self.server.get_uri() == self.uri


@pytest.fixture
def stoppable_pg() -> Iterator[Postgres]:
    """A migrated database on a Postgres of this test's own."""
    import pgserver

    from heaters.db.migrate import upgrade

    pgdata = Path(tempfile.mkdtemp(prefix="heaters-dbdown-pg-"))
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    pg = Postgres(uri=server.get_uri(), server=server)
    try:
        upgrade(pg.uri)
        yield pg
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


async def _account_and_token(uri: str) -> str:
    from heaters.api_tokens import create_token
    from heaters.db import Database
    from heaters.review.users import add_user

    async with Database.connect(uri) as db:
        await add_user(db, "ops", PASSWORD)
        return await create_token(db, "tests")


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_database_down_is_503_and_the_web_recovers(stoppable_pg: Postgres, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = {**os.environ, **fast_env(stoppable_pg.uri, tmp_path / "home")}
    token = asyncio.run(_account_and_token(stoppable_pg.uri))
    log = tmp_path / "web.err"
    with web_server(env, log) as url:
        browser = Browser(url, "198.51.100.7")
        api = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"})
        try:
            assert browser.sign_in("ops", PASSWORD).status_code == 303
            assert browser.client.get("/history").status_code == 200
            assert api.get("/api/videos").status_code == 200

            stoppable_pg.stop()

            page = browser.client.get("/history")
            assert page.status_code == 503, page.text[:500]
            assert page.headers["content-type"].startswith("text/html")
            assert "database unavailable" in page.text and "FileNotFoundError" not in page.text
            assert page.headers["Retry-After"]
            flash = browser.client.get("/history", headers={"HX-Request": "true"})
            assert flash.status_code == 503 and "database unavailable" in flash.text
            listed = api.get("/api/videos")
            assert listed.status_code == 503, listed.text
            assert listed.json()["status_code"] == 503
            assert listed.json()["detail"].startswith("database unavailable")
            assert api.get("/api/videos/1").status_code == 503
            # Signing in needs the database too (the throttle and the password).
            assert browser.sign_in("ops", PASSWORD).status_code == 503

            # A web started while the database is down exits at once with one line.
            started = subprocess.run(
                heaters_cmd("web", "--port", "0"), env=env, capture_output=True, text=True,
                timeout=120, cwd=REPO,
            )  # fmt: skip
            output = started.stdout + started.stderr
            assert started.returncode != 0, output
            assert "database unavailable at start-up" in output, output
            assert "Traceback" not in output, output

            stoppable_pg.start()

            # The same process recovers: its pool reconnects on the next request.
            wait_for("the page", lambda: browser.client.get("/history").status_code == 200)
            wait_for("the API", lambda: api.get("/api/videos").status_code == 200)
            assert browser.sign_in("ops", PASSWORD).status_code == 303
        finally:
            browser.close()
            api.close()
    text = log.read_text()
    assert "database unavailable on GET /history" in text, text
    assert "Traceback" not in text, text


async def test_what_counts_as_database_unavailable(tmp_path: Path) -> None:
    import asyncpg
    import psycopg

    from web.errors import database_unavailable

    # A socket that is not there, as asyncpg meets it (the 500 "FileNotFoundError" of before).
    with pytest.raises(OSError) as gone:
        await asyncpg.connect(f"postgresql://postgres@/postgres?host={tmp_path}")
    assert database_unavailable(gone.value) == (
        "FileNotFoundError: [Errno 2] No such file or directory"
    )
    # The same error from anywhere else (a missing media file) is not the database's.
    with pytest.raises(OSError) as missing:
        (tmp_path / "clip.mp4").open()
    assert database_unavailable(missing.value) is None
    dropped = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
    assert database_unavailable(dropped) is not None
    shutting = asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")
    assert database_unavailable(RuntimeError("wrapped")) is None
    try:
        raise RuntimeError("job not deferred") from shutting
    except RuntimeError as wrapped:
        assert database_unavailable(wrapped) == (
            "CannotConnectNowError: the database system is shutting down"
        )
    assert database_unavailable(psycopg.OperationalError("connection failed")) is not None
    # asyncpg on a pooled connection whose server went away mid-operation (the worker's
    # dispatcher met it once while Postgres stopped): the connection is lost, not a bug
    midway = asyncpg.exceptions._base.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )
    assert database_unavailable(midway) is not None
    from heaters.db.errors import unavailable

    assert unavailable(midway) == "the connection was lost"
    assert unavailable(asyncpg.exceptions._base.InternalClientError("other bug")) is None
    # Errors of a query on a live server are not an outage.
    assert database_unavailable(psycopg.errors.QueryCanceled("canceling statement")) is None
    assert database_unavailable(asyncpg.exceptions.QueryCanceledError("canceled")) is None
    assert database_unavailable(asyncpg.exceptions.UniqueViolationError("dup")) is None
