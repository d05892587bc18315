"""Failed items: list failed clips with their reasons, retry one video or clip, or every
failed clip at once. The one code path of ``heaters retry``, the dashboard's buttons and the
API's retry routes."""

from __future__ import annotations

import logging
from typing import Any, Literal

from heaters.db import Database, fetch_all

log = logging.getLogger(__name__)


async def retry_item(db: Database, kind: Literal["video", "clip"], item_id: int) -> str | None:
    """An operator's retry of one failed item: it becomes due now with a fresh attempt
    budget (a clip in review whose sprite failed too). Returns its state (``*_failed``), or
    None when it is not failed or does not exist; the caller then asks for a dispatcher run
    so a worker picks it up."""
    async with db.transaction() as conn:
        query = db.q.retry_video if kind == "video" else db.q.retry_clip
        row = await query(conn, id=item_id)
    if row is None:
        return None
    log.info("%s %s (%s) made due again by an operator", kind, item_id, row["state"])
    return str(row["state"])


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
