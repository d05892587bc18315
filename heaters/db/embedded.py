"""The embedded Postgres 16 (+ pgvector) from the ``pgserver`` package.

Started once per process tree: the first Heaters process that needs a database starts the
server (or finds it running) and puts its URI into ``DATABASE_URL`` so child processes use the
same server without starting another. pgserver tracks the processes that hold the server in
``PGDATA/.handle_pids.json`` and stops the server when the last one exits; a process that was
killed never removes itself, so dead holders are cleared before each start (otherwise a crash
would leave the server running forever).
"""

from __future__ import annotations

import json
import logging
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
    return uri
