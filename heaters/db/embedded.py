"""The embedded Postgres 16 (+ pgvector) from the ``pgserver`` package.

Started once per process tree: the first Heaters process that needs a database starts the
server (or finds it running) and puts its URI into ``DATABASE_URL`` so child processes use the
same server without starting another. pgserver tracks the processes that hold the server in
``PGDATA/.handle_pids.json`` and stops the server when the last one exits; a process that was
killed never removes itself, so dead holders are cleared before each start (otherwise a crash
would leave the server running forever).

pgserver stops the server from an ``atexit`` hook, which does not run when a process dies of
a signal (SIGTERM with the default action, as after uvicorn's shutdown, or SIGKILL). So each
process that joins the server also starts a small *watcher* (``python -m heaters.db.embedded
PID PGDATA``, in its own session) that waits for that process to end, however it ends, then
clears dead holders and stops the server when no live holder is left.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

_HANDLES = ".handle_pids.json"


def clear_dead_holders(pgdata: Path) -> list[int]:
    """Remove PIDs of processes that no longer run from pgserver's holder list.

    Returns the PIDs removed.
    """
    path = pgdata / _HANDLES
    if not path.exists():
        return []
    try:
        pids = [int(p) for p in json.loads(path.read_text() or "[]")]
    except (ValueError, TypeError):
        pids = []
    alive = [p for p in pids if psutil.pid_exists(p)]
    dead = [p for p in pids if p not in alive]
    if dead:
        path.write_text(json.dumps(alive))
        log.info("embedded postgres: cleared dead holders %s", dead)
    return dead


def start_embedded(pgdata: Path) -> str:
    """Start (or join) the embedded Postgres in ``pgdata`` and return its URI.

    The URI has the form ``postgresql://postgres:@/postgres?host=SOCKET_DIR`` (unix socket,
    trust authentication, no TCP port). The server is stopped when the last process of this
    machine that joined it exits.

    Raises
    ------
    RuntimeError
        If pgserver cannot initialise or start the server (its log is in ``pgdata/log``).
    """
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    clear_dead_holders(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri()
    _start_watcher(os.getpid(), pgdata)
    return uri


_watchers: dict[int, subprocess.Popen[bytes]] = {}


def _start_watcher(pid: int, pgdata: Path) -> None:
    """Start the watcher that stops the server once ``pid`` has ended (once per process)."""
    if pid in _watchers:
        return
    from heaters.children import MARK_ENV

    env = {k: v for k, v in os.environ.items() if k != MARK_ENV}  # not a worker's child
    _watchers[pid] = subprocess.Popen(
        [sys.executable, "-m", "heaters.db.embedded", str(pid), str(pgdata)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives its parent; no terminal signals
        env=env,
    )


def postmaster_pid(pgdata: Path) -> int | None:
    """PID of the running postmaster of ``pgdata``, or None when it does not run."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if psutil.pid_exists(pid) else None


def watch(pid: int, pgdata: Path) -> None:
    """Wait until process ``pid`` has ended, then stop the server if no live holder is left.

    The server is stopped through pgserver (``pg_ctl stop``, as the user it runs as), by
    joining it as a holder and leaving at once: pgserver stops it when the last one leaves.
    """
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(pid).wait()
    clear_dead_holders(pgdata)
    path = pgdata / _HANDLES
    try:
        holders = json.loads(path.read_text() or "[]") if path.exists() else []
    except ValueError:
        holders = []
    if holders or postmaster_pid(pgdata) is None:
        return  # still in use, or already stopped (the process exited normally)
    import pgserver

    log.info("embedded postgres: process %s ended without stopping it: stopping", pid)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    server.cleanup()


if __name__ == "__main__":  # pragma: no cover - run as the watcher process
    watch(int(sys.argv[1]), Path(sys.argv[2]))
