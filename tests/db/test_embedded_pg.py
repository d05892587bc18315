"""The embedded Postgres stops when the Heaters process that started it gets SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO, heaters_cmd, wait_for


def _postmaster(pgdata: Path) -> int | None:
    from heaters.db.embedded import postmaster_pid

    return postmaster_pid(pgdata)


def _worker_registered(pgdata: Path) -> bool:
    import psycopg

    try:
        with psycopg.connect(f"postgresql://postgres:@/postgres?host={pgdata}") as conn:
            return bool(conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0])
    except psycopg.Error:
        return False


def _answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def bare_home() -> Iterator[Path]:
    """A HEATERS_HOME outside pytest's 0700 temp root (Postgres runs as another user as root)."""
    import shutil

    home = Path(tempfile.mkdtemp(prefix="heaters-embedded-"))
    yield home
    pid = _postmaster(home / "pgdata")
    if pid is not None:  # the test failed: do not leave a server behind
        subprocess.run(
            [
                str(Path(__import__("pgserver").__file__).parent / "pginstall/bin/pg_ctl"),
                "-D", str(home / "pgdata"), "-m", "immediate", "stop",
            ],
            check=False, capture_output=True,
            user="pgserver" if os.geteuid() == 0 else None,
        )  # fmt: skip
    shutil.rmtree(home, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("command", ["worker", "web"])
@pytest.mark.slow  # starts and stops embedded Postgres twice (~9 s)
def test_sigterm_stops_the_embedded_postgres(bare_home: Path, command: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HEATERS_DATABASE_URL")}
    env |= {"HEATERS_HOME": str(bare_home), "HEATERS_JOB_POLL_SECONDS": "0.2"}
    port = _free_port()
    args = ["worker", "-v"] if command == "worker" else ["web", "--port", str(port)]
    log = bare_home / f"{command}.log"
    proc = subprocess.Popen(
        heaters_cmd(*args), env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO
    )
    try:
        pgdata = bare_home / "pgdata"
        wait_for(lambda: _postmaster(pgdata) is not None, "the embedded postgres to start")
        pid = _postmaster(pgdata)
        assert pid is not None
        postmaster = psutil.Process(pid)
        if command == "worker":
            wait_for(lambda: _worker_registered(pgdata), "the worker to run")
        else:
            wait_for(lambda: _answers(port), "the web server to listen")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) is not None
        wait_for(lambda: not postmaster.is_running(), "the postmaster to exit", timeout=30)

        def watchers() -> list[int]:
            return [
                p.pid for p in psutil.process_iter(["cmdline"])
                if "heaters.pg_watch" in (p.info["cmdline"] or []) and str(pgdata) in (p.info["cmdline"] or [])
            ]  # fmt: skip

        wait_for(lambda: not watchers(), "the watcher to exit", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
