"""The embedded Postgres 16 (+ pgvector) from the ``pgserver`` package.

Started once per process tree: the first Heaters process that needs a database starts the
server (or finds it running) and puts its URI into ``DATABASE_URL`` so child processes use the
same server without starting another. pgserver tracks the processes that hold the server in
``PGDATA/.handle_pids.json`` and stops the server when the last one exits; a process that was
killed never removes itself, so dead holders are cleared before each start (otherwise a crash
would leave the server running forever).

pgserver stops the server from an ``atexit`` hook, which does not run when a process dies of
a signal (SIGTERM with the default action, as after uvicorn's shutdown, or SIGKILL). So each
process that joins the server also starts a small *watcher* (``python -m heaters.pg_watch
PID PGDATA``, in its own session) that waits for that process to end, however it ends, then
clears dead holders and stops the server when no live holder is left
(:mod:`heaters.pg_watch`, which imports nothing of the database stack while it waits).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from heaters.pg_watch import clear_dead_holders, postmaster_pid, watch

__all__ = ["clear_dead_holders", "postmaster_pid", "start_embedded", "watch"]


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
        [sys.executable, "-m", "heaters.pg_watch", str(pid), str(pgdata)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives its parent; no terminal signals
        env=env,
    )
