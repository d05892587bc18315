"""Failed clips: list them with their reasons, retry them all at once (``heaters status``,
the dashboard's bulk retry, ``POST /api/clips/retry-failed``)."""

from __future__ import annotations

from typing import Any

from heaters.db import Database, fetch_all


async def failed_clips(db: Database, *, limit: int = 100) -> list[dict[str, Any]]:
    """Failed clips (the ``v_failures`` view: ``*_failed`` states, and clips in review whose
    sprite failed), newest first, as dicts: ``id``, ``source_video_id``, ``state``,
    ``last_error`` (the reason), ``attempts``, ``next_attempt_at`` (None: waits for an
    operator), ``updated_at``."""
    async with db.acquire() as conn:
        return [dict(r) for r in await fetch_all(db.q.failed_clips(conn, limit=limit))]


async def retry_failed_clips(db: Database) -> list[int]:
    """Make every failed clip due now with a fresh attempt budget; returns their ids (the
    caller then asks for a dispatcher run so a worker picks them up)."""
    async with db.transaction() as conn:
        return sorted(r["id"] for r in await fetch_all(db.q.retry_failed_clips(conn)))
