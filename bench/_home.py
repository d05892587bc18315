"""A throw-away Heaters home for benchmarks: a temp folder, an embedded Postgres (pgserver)
with every migration applied, and ``HEATERS_HOME`` / ``DATABASE_URL`` pointing at them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path


@contextlib.asynccontextmanager
async def throwaway_home(prefix: str) -> AsyncIterator[tuple[Path, str]]:
    """Yield ``(tmp, database_url)``: ``tmp / "home"`` is ``HEATERS_HOME``; the server is
    stopped and ``tmp`` removed afterwards."""
    import pgserver

    from heaters.config import get_settings
    from heaters.db.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    home = tmp / "home"
    home.mkdir()
    os.environ["HEATERS_HOME"] = str(home)
    get_settings.cache_clear()
    server = pgserver.get_server(tmp / "pgdata", cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        url = server.get_uri()
        os.environ["DATABASE_URL"] = url
        await asyncio.to_thread(upgrade, url)
        yield tmp, url
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
