"""Artifact stages: files made for a clip in review that change no clip state (the sprite).

They run through :func:`heaters.pipeline.runner.run_stage` like every stage, under a
:class:`~heaters.domain.states.Transition` whose states are all ``pending_review``
(``states.SPRITE``): the claim counts the attempt, a failure keeps its reason in
``clips.last_error`` (prefixed with the stage's name) with a backoff, a success clears them,
and every run is a ``stage_runs`` row. See docs/architecture.md.
"""

from __future__ import annotations

import logging
import time

from heaters.db import lifecycle
from heaters.domain import states
from heaters.pipeline import runner
from heaters.pipeline.media_io import local_copy
from heaters.pipeline.runner import Outcome, Row, pause_point
from heaters.pipeline.runtime import Runtime
from heaters.storage.keys import sprite_key

log = logging.getLogger(__name__)


async def make_clip_sprite(rt: Runtime, clip_id: int) -> Outcome:
    """Make the sprite sheet (hover scrubbing) of a clip in review, from its video's proxy.

    Found by the dispatcher for every ``pending_review`` clip without one (originals and
    the clips a merge or split made). Writes ``clips/{id}/sprite-{token}.jpg`` (the claim's
    :func:`~heaters.storage.keys.sprite_key`) and one ``clip_artifacts`` row (kind
    ``sprite``, strategy ``grid``, tag ``''``; metadata
    ``cols``, ``rows``, ``tile_width``, ``tile_height``, ``frames``: the absolute frame of
    each tile, row-major). The clip's state does not change. A clip no longer in review,
    whose video has no proxy yet, or that already has a sprite is a ``"noop"`` (the claim's
    guard, ``heaters.db.lifecycle.CLAIM_GUARDS``). A failure keeps ``sprite: <reason>`` in
    ``clips.last_error`` and counts an attempt; the finder retries it after a backoff, up to
    ``max_attempts`` (there is no ``sprite_failed`` state).
    """
    from heaters.media.sprite import make_sprite

    async def work(claimed: Row) -> Outcome:
        started = time.monotonic()
        key = sprite_key(clip_id, claimed["claim_token"])
        prev = claimed["previous_token"]
        # A sprite a crashed or stale claim wrote is named by no row (the claim's guard: the
        # clip had no sprite).
        prev_keys = [sprite_key(clip_id, prev)] if prev is not None else []
        runner.replaces(claimed, prev_keys, [])
        async with rt.db.acquire() as conn:
            row = await rt.db.q.sprite_source(conn, clip_id=clip_id, kind="sprite")
        if row is None:  # deleted since the claim (detection redone)
            return "noop"
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
            runner.writes(claimed, key)
            await rt.storage.put_file(result.path, key, move=True)
        await pause_point(rt, "sprite")
        async with runner.commit(rt, claimed) as conn:
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
            if stored is not None:
                try:
                    await lifecycle.finish(
                        conn, "clip", states.SPRITE, clip_id, token=claimed["claim_token"]
                    )
                except lifecycle.ClaimLost as lost:
                    if lost.taken_over:
                        # claimed since (another sprite job; or, once approved, the export):
                        # rolled back, and run_stage deletes this claim's sprite object
                        raise
                    # The clip left review meanwhile (a reviewer decided) and nobody claimed
                    # it since: the sprite is still the clip's; keep its row (its object is
                    # named by it, so an archive deletes it).
                    log.info("clip %s: left review while its sprite was made", clip_id)
        if stored is None:
            # The clip was deleted meanwhile (detection redone): DB first, storage second.
            log.info("clip %s: gone before its sprite was recorded", clip_id)
            await runner.delete_objects(rt, [key], f"clip {clip_id}")
            return "noop"
        await runner.delete_objects(rt, prev_keys, f"clip {clip_id}")
        log.info(
            "clip %s: sprite %dx%d tiles in %.2f s",
            clip_id,
            result.cols,
            result.rows,
            time.monotonic() - started,
        )
        return "done"

    return await runner.run_stage(rt, "clip", clip_id, states.SPRITE, work)
