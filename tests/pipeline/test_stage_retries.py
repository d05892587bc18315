"""Every stage after the first retries a transient failure with backoff, up to the limit.

One video walks the pipeline with its storage unreachable at each stage in turn (reads,
writes and deletes fail as an outage does: a transient ``StorageError``): preprocess,
detect, then its clips through export, keyframe, embed, sprite and archive. For each stage,
the stage's real service fails ``max_attempts`` times and the test shows, from the database:
attempt ``n`` counted, ``next_attempt_at − updated_at = base × 2^(n − 1)`` (both set by the
same statement), the item not found by the stage's finder (the dispatcher's) before that
time and found once it has passed, a ``stage_runs`` row per attempt, and at the limit no
next attempt (``next_attempt_at`` NULL) and the finder passes it by. An operator's retry then
lets the next stage start with a whole budget of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from heaters import review
from heaters.config import get_settings
from heaters.domain import states
from heaters.domain.states import Transition
from heaters.errors import StorageError
from heaters.pipeline import artifact_stages, clip_stages, preprocess_stages, video_stages
from heaters.pipeline.runtime import Runtime, open_runtime
from heaters.pipeline.stages import stage_named
from heaters.pipeline.submit import submit
from tests.conftest import wait_until

BACKOFF = 60.0
"""Base of the backoff in this test (s): long enough that the check right after a failure
runs before the item is due; the test then moves ``next_attempt_at`` back by SQL."""

_TABLE = {"video": "source_videos", "clip": "clips"}


class Unreachable:
    """A storage whose every read, write and delete fails as an outage does."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def local_path(self, key: str) -> None:
        return None

    async def get_file(self, key: str, local: Path) -> None:
        raise StorageError("storage is unreachable")

    async def put_file(self, local: Path, key: str, *, move: bool = False) -> None:
        raise StorageError("storage is unreachable")

    async def delete_many(self, keys: Any) -> None:
        raise StorageError("storage is unreachable")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _found(db: Any, stage_name: str, item_id: int) -> tuple[bool, bool]:
    """(found by the stage's finder, not yet due), both as of one transaction's ``now()``."""
    stage = stage_named(stage_name)
    table = _TABLE[stage.finds.kind]
    async with db.transaction() as conn:
        query = stage.finds.query(db.q)
        rows = [
            r["id"]
            async for r in query(conn, states=list(stage.states), stage=stage.name, limit=10_000)
        ]
        waiting = await conn.fetchval(
            f"SELECT coalesce(next_attempt_at > now(), false) FROM {table} WHERE id = $1", item_id
        )
    return item_id in rows, bool(waiting)


async def _fails_with_backoff_up_to_the_limit(
    db: Any,
    rt: Runtime,
    service: Callable[[Runtime, int], Awaitable[str]],
    transition: Transition,
    item_id: int,
) -> None:
    """Run ``service`` on ``item_id`` with the storage unreachable until its attempts are used
    up, checking each attempt as the module doc says."""
    stage = stage_named(transition.stage)
    kind = stage.finds.kind
    limit = rt.settings.max_attempts
    assert limit >= 2
    real, rt.storage = rt.storage, Unreachable(rt.storage)
    try:
        for n in range(1, limit + 1):
            assert await service(rt, item_id) == "failed", (transition.stage, n)
            async with db.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT state, attempts, next_attempt_at, updated_at, last_error"
                    f" FROM {_TABLE[kind]} WHERE id = $1",
                    item_id,
                )
            where = f"{transition.stage} attempt {n}"
            assert row["state"] == transition.failed, where
            assert row["attempts"] == n, where
            assert "storage is unreachable" in row["last_error"], where
            if n < limit:
                assert row["next_attempt_at"] - row["updated_at"] == timedelta(
                    seconds=BACKOFF * 2 ** (n - 1)
                ), where
                found, waiting = await _found(db, transition.stage, item_id)
                assert waiting and not found, f"{where}: not found before its backoff is due"
                # Its backoff passes (moved back by SQL rather than waited for).
                async with db.acquire() as conn:
                    await conn.execute(
                        f"UPDATE {_TABLE[kind]} SET next_attempt_at = next_attempt_at"
                        " - make_interval(secs => $2) WHERE id = $1",
                        item_id,
                        BACKOFF * 2 ** (n - 1),
                    )

                async def due() -> bool:
                    return (await _found(db, transition.stage, item_id))[0]

                await wait_until(due, f"{where}: found once its backoff is due")
            else:
                assert row["next_attempt_at"] is None, f"{where}: given up at the limit"
                assert (await _found(db, transition.stage, item_id)) == (False, False), (
                    f"{where}: never found again by itself"
                )
    finally:
        rt.storage = real
    async with db.acquire() as conn:
        runs = await conn.fetch(
            "SELECT attempt, outcome FROM stage_runs WHERE stage = $1 AND item_kind = $2"
            " AND item_id = $3 ORDER BY id",
            transition.stage,
            kind,
            item_id,
        )
    assert [(r["attempt"], r["outcome"]) for r in runs] == [
        (n, "failed") for n in range(1, limit + 1)
    ], transition.stage


async def _retry(db: Any, kind: str, item_id: int) -> None:
    """An operator's retry (``heaters retry``): due now, with a fresh budget."""
    async with db.acquire() as conn:
        if kind == "video":
            assert await db.q.retry_video(conn, id=item_id) is not None
        else:
            assert await db.q.retry_clip(conn, id=item_id) is not None


async def _attempts(db: Any, table: str, item_id: int) -> tuple[int, Any, Any]:
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            f"SELECT attempts, next_attempt_at, last_error FROM {table} WHERE id = $1", item_id
        )
    return row["attempts"], row["next_attempt_at"], row["last_error"]


async def test_each_stage_after_the_first_retries_with_backoff_up_to_the_limit(
    db: Any, heaters_env: dict[str, str], small_video: Path
) -> None:
    # (No torch needed: embed fails reading its keyframes, before any model is loaded.)
    settings = get_settings().model_copy(update={"retry_backoff_seconds": BACKOFF})
    async with open_runtime(settings) as rt:
        vid = (await submit(db, str(small_video))).video_id
        assert await video_stages.download_video(rt, vid) == "done"
        assert await _attempts(db, "source_videos", vid) == (0, None, None), "success resets"

        # preprocess: the original cannot be read.
        await _fails_with_backoff_up_to_the_limit(
            db, rt, preprocess_stages.preprocess_video, states.PREPROCESS, vid
        )
        await _retry(db, "video", vid)
        assert await preprocess_stages.preprocess_video(rt, vid) == "done"
        assert await _attempts(db, "source_videos", vid) == (0, None, None)

        # detect: its stored features are gone, and the proxy cannot be read.
        async with db.acquire() as conn:
            await conn.execute("DELETE FROM scene_scores WHERE source_video_id = $1", vid)
        await _fails_with_backoff_up_to_the_limit(
            db, rt, video_stages.detect_video, states.DETECT, vid
        )
        await _retry(db, "video", vid)
        assert await video_stages.detect_video(rt, vid) == "done"
        assert await _attempts(db, "source_videos", vid) == (0, None, None)

        async with db.acquire() as conn:
            ids = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM clips WHERE source_video_id = $1 ORDER BY start_frame", vid
                )
            ]
        assert len(ids) >= 3
        kept, in_review, archived = ids[0], ids[1], ids[-1]

        # sprite: the proxy cannot be read (the clip stays in review).
        await _fails_with_backoff_up_to_the_limit(
            db, rt, artifact_stages.make_clip_sprite, states.SPRITE, in_review
        )

        # export: approved, settled, and the master cannot be read.
        await review.decide(db, kept, "approve", "ann")
        await review.decide(db, archived, "archive", "ann")

        async def settled() -> bool:
            return (await _found(db, "export", kept))[0] and (
                await _found(db, "archive", archived)
            )[0]

        await wait_until(settled, "the review decisions to settle")
        await _fails_with_backoff_up_to_the_limit(
            db, rt, clip_stages.export_clip, states.EXPORT, kept
        )
        await _retry(db, "clip", kept)
        assert await clip_stages.export_clip(rt, kept) == "done"
        assert await _attempts(db, "clips", kept) == (0, None, None)

        # keyframe: the exported clip cannot be read.
        await _fails_with_backoff_up_to_the_limit(
            db, rt, clip_stages.extract_clip_keyframes, states.KEYFRAME, kept
        )
        await _retry(db, "clip", kept)
        assert await clip_stages.extract_clip_keyframes(rt, kept) == "done"
        assert await _attempts(db, "clips", kept) == (0, None, None)

        # embed: the keyframes cannot be read.
        await _fails_with_backoff_up_to_the_limit(
            db, rt, clip_stages.embed_clip, states.EMBED, kept
        )

        # archive: the clip's objects cannot be deleted.
        await _fails_with_backoff_up_to_the_limit(
            db, rt, clip_stages.archive_clip, states.ARCHIVE, archived
        )
        await _retry(db, "clip", archived)
        assert await clip_stages.archive_clip(rt, archived) == "done"
        assert await _attempts(db, "clips", archived) == (0, None, None)
