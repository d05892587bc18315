"""The watcher that stops the embedded Postgres once the process that joined it has ended.

Run as ``python -m heaters.pg_watch PID PGDATA`` by :func:`heaters.db.embedded.start_embedded`
(one per process that joins the server). It imports only psutil while it waits; pgserver only
when it has to stop the server. Also home of the helpers on pgserver's holder list.
"""

from __future__ import annotations

import contextlib
import json
import logging
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
