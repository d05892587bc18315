"""Artifact stages: files made for a clip in review that change no clip state (the sprite).

See :func:`make_clip_sprite` and docs/architecture.md.
"""

from __future__ import annotations

import logging
import time

from heaters.errors import HeatersError
from heaters.pipeline.keys import sprite_key
from heaters.pipeline.media_io import local_copy
from heaters.pipeline.runner import Outcome, pause_point
from heaters.pipeline.runtime import Runtime

log = logging.getLogger(__name__)


async def _fail_clip_artifact(
    rt: Runtime, clip_id: int, kind: str, reason: str, *, transient: bool
) -> Outcome:
    """Record a failed artifact attempt on the clip (no state change: see artifacts.sql)."""
    s = rt.settings
    reason = f"{kind}: {reason}".splitlines()[0][:500]
    async with rt.db.transaction() as conn:
        row = await rt.db.q.fail_clip_artifact(
            conn,
            clip_id=clip_id,
            error=reason,
            transient=transient,
            max_attempts=s.max_attempts,
            backoff=s.retry_backoff_seconds,
        )
    log.warning(
        "clip %s: %s failed (attempt %s, next %s): %s",
        clip_id,
        kind,
        row["attempts"] if row else "?",
        row["next_attempt_at"] if row else None,
        reason,
    )
    return "failed"


async def make_clip_sprite(rt: Runtime, clip_id: int) -> Outcome:
    """Make the sprite sheet (hover scrubbing) of a clip in review, from its video's proxy.

    Found by the dispatcher for every ``pending_review`` clip without one (originals and
    the clips a merge or split made). Writes ``clips/{id}/sprite.jpg`` and one
    ``clip_artifacts`` row (kind ``sprite``, strategy ``grid``, tag ``''``; metadata
    ``cols``, ``rows``, ``tile_width``, ``tile_height``, ``frames``: the absolute frame of
    each tile, row-major). The clip's state does not change. A clip no longer in review or
    that already has a sprite is a ``"noop"``. A failure keeps its reason in
    ``clips.last_error`` and counts an attempt; the finder retries it after a backoff, up to
    ``max_attempts`` (there is no ``sprite_failed`` state).
    """
    from heaters.media.sprite import make_sprite

    async with rt.db.acquire() as conn:
        row = await rt.db.q.sprite_source(conn, clip_id=clip_id, kind="sprite")
    if row is None or row["state"] != "pending_review" or row["has_artifact"]:
        log.info("clip %s: no sprite to make", clip_id)
        return "noop"
    if not row["proxy_path"]:
        log.info("clip %s: its video has no proxy yet", clip_id)
        return "noop"
    started = time.monotonic()
    key = sprite_key(clip_id)
    try:
        with rt.tmp.job_dir(f"sprite-{clip_id}") as tmp:
            proxy = await local_copy(rt, row["proxy_path"], tmp)
            pts = row["pts_seconds"]
            result = await rt.run_sync(
                make_sprite,
                proxy,
                row["start_frame"],
                row["end_frame"],
                tmp / "sprite.jpg",
                pts_seconds=list(pts) if pts else None,
            )
            await rt.storage.put_file(result.path, key, move=True)
        await pause_point(rt, "sprite")
        async with rt.db.transaction() as conn:
            stored = await rt.db.q.upsert_clip_artifact(
                conn,
                clip_id=clip_id,
                kind="sprite",
                strategy="grid",
                tag="",
                storage_key=key,
                metadata={
                    "cols": result.cols,
                    "rows": result.rows,
                    "tile_width": result.tile_width,
                    "tile_height": result.tile_height,
                    "frames": list(result.frames),
                },
            )
    except HeatersError as exc:
        return await _fail_clip_artifact(rt, clip_id, "sprite", str(exc), transient=exc.transient)
    except Exception as exc:
        log.exception("clip %s: internal error making its sprite", clip_id)
        reason = f"internal error: {type(exc).__name__}: {exc}"
        return await _fail_clip_artifact(rt, clip_id, "sprite", reason, transient=True)
    if stored is None:
        # The clip was deleted meanwhile (detection redone): DB first, storage second.
        log.info("clip %s: gone before its sprite was recorded", clip_id)
        try:
            await rt.storage.delete_many([key])
        except HeatersError as exc:
            log.warning("clip %s: could not delete %s: %s", clip_id, key, exc)
        return "noop"
    log.info(
        "clip %s: sprite %dx%d tiles in %.2f s",
        clip_id,
        result.cols,
        result.rows,
        time.monotonic() - started,
    )
    return "done"
