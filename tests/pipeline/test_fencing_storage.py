"""The fence covers storage: a stage's objects carry its claim's token in their keys.

A stale worker (its claim taken over) that reaches its put after the new owner committed
writes beside the committed object, never over it; its refused finish then deletes its own
object. A redo after a crash deletes, once it has committed, what the crashed claim wrote.
Throughout, the storage holds exactly the objects the rows name. Real stages, real ffmpeg,
real Postgres, local storage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from heaters import review
from heaters.config import get_settings
from heaters.domain import states
from heaters.pipeline import clip_stages, preprocess_stages, runner, video_stages
from heaters.pipeline.runtime import Runtime, open_runtime
from heaters.pipeline.submit import submit
from heaters.storage import keys
from tests.conftest import detected_video

NAMED = (
    "SELECT original_path FROM source_videos UNION SELECT master_path FROM source_videos"
    " UNION SELECT proxy_path FROM source_videos UNION SELECT clip_path FROM clips"
    " UNION SELECT storage_key FROM clip_artifacts UNION SELECT proxy_key FROM video_segments"
    " UNION SELECT small_key FROM video_segments"
)


class Crash(BaseException):
    """The worker's process dies here: nothing after it runs (no fail, no cleanup)."""


def _stored(storage: Path) -> set[str]:
    return {p.relative_to(storage).as_posix() for p in storage.rglob("*") if p.is_file()}


async def _named(db: Any) -> set[str]:
    async with db.acquire() as conn:
        return {r[0] for r in await conn.fetch(NAMED) if r[0]}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _video(db: Any, vid: int) -> Any:
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM source_videos WHERE id = $1", vid)


def _late_put(
    rt: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
    new_owner: Callable[[], Awaitable[Any]],
) -> list[str]:
    """Make the first put of a key ending in ``suffix`` wait until ``new_owner`` (the stage
    run again, as the worker that took the job over) has run to its commit; returns the
    keys of those late puts."""
    put_file = rt.storage.put_file
    late: list[str] = []

    async def put_after_the_new_owner(local: Path, key: str, *, move: bool = False) -> None:
        if key.endswith(suffix) and not late:
            late.append(key)
            assert await new_owner() == "done"
        await put_file(local, key, move=move)

    monkeypatch.setattr(rt.storage, "put_file", put_after_the_new_owner)
    return late


@pytest.mark.parametrize("master", ["original", "ffv1"])
@pytest.mark.slow  # two preprocesses per case (~5 s)
async def test_a_stale_preprocess_writing_after_the_new_owner_committed_changes_nothing(
    db: Any, heaters_env: dict[str, str], small_video: Path, monkeypatch: pytest.MonkeyPatch,
    master: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("HEATERS_MASTER", master)
    get_settings.cache_clear()
    storage = Path(heaters_env["HEATERS_HOME"]) / "storage"
    vid = (await submit(db, str(small_video))).video_id
    committed: dict[str, Any] = {}
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "done"

        async def new_owner() -> str:
            outcome = await preprocess_stages.preprocess_video(rt, vid)
            row = await _video(db, vid)
            committed.update(row=row, proxy=_digest(storage / row["proxy_path"]))
            if master == "ffv1":
                committed["master"] = _digest(storage / row["master_path"])
            return outcome

        late = _late_put(rt, monkeypatch, ".mp4" if master == "original" else ".mkv", new_owner)
        assert await preprocess_stages.preprocess_video(rt, vid) == "lost"
    row = await _video(db, vid)
    assert late and late[0] not in (row["proxy_path"], row["master_path"])
    assert late[0].startswith(f"videos/{vid}/{'proxy' if master == 'original' else 'master'}-")
    # the row and the objects are the new owner's, untouched
    assert row["state"] == "preprocessed"
    assert (row["claim_token"], row["proxy_path"], row["master_path"]) == (
        committed["row"]["claim_token"], committed["row"]["proxy_path"],
        committed["row"]["master_path"],
    )  # fmt: skip
    assert row["proxy_path"] == keys.proxy_key(vid, row["claim_token"])
    assert _digest(storage / row["proxy_path"]) == committed["proxy"]
    if master == "ffv1":
        assert row["master_path"] == keys.master_key(vid, row["claim_token"])
        assert _digest(storage / row["master_path"]) == committed["master"]
    else:
        assert row["master_path"] == row["original_path"]
    # the stale worker's objects are gone: the storage holds exactly what the rows name
    assert not (storage / late[0]).exists()
    assert _stored(storage) == await _named(db)
    async with db.acquire() as conn:
        outcomes = await conn.fetch(
            "SELECT outcome FROM stage_runs WHERE item_id = $1 AND stage = 'preprocess'"
            " ORDER BY id", vid,
        )  # fmt: skip
    assert [r["outcome"] for r in outcomes] == ["done", "lost"]


async def test_a_stale_export_writing_after_the_new_owner_committed_changes_nothing(
    db: Any, heaters_env: dict[str, str], small_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEATERS_EXPORT_PRESET", "veryfast")
    get_settings.cache_clear()
    storage = Path(heaters_env["HEATERS_HOME"]) / "storage"
    _, clips = await detected_video(db, small_video)
    clip = clips[1]["id"]
    await review.decide(db, clip, "approve", "ann")
    committed: dict[str, Any] = {}

    async def clip_row() -> Any:
        async with db.acquire() as conn:
            return await conn.fetchrow("SELECT * FROM clips WHERE id = $1", clip)

    async with open_runtime() as rt:

        async def new_owner() -> str:
            outcome = await clip_stages.export_clip(rt, clip)
            row = await clip_row()
            committed.update(row=row, digest=_digest(storage / row["clip_path"]))
            return outcome

        late = _late_put(rt, monkeypatch, ".mp4", new_owner)
        assert await clip_stages.export_clip(rt, clip) == "lost"
    row = await clip_row()
    assert row["state"] == "exported"
    assert (row["claim_token"], row["clip_path"]) == (
        committed["row"]["claim_token"], committed["row"]["clip_path"]
    )  # fmt: skip
    assert row["clip_path"] == keys.clip_key(clip, row["claim_token"])
    assert late and late[0].startswith(f"clips/{clip}/clip-") and late[0] != row["clip_path"]
    assert _digest(storage / row["clip_path"]) == committed["digest"]
    assert not (storage / late[0]).exists()
    assert _stored(storage) == await _named(db)


async def test_a_redo_after_a_crash_deletes_the_crashed_claims_objects_once_it_commits(
    db: Any, heaters_env: dict[str, str], small_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEATERS_MASTER", "ffv1")
    get_settings.cache_clear()
    storage = Path(heaters_env["HEATERS_HOME"]) / "storage"
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "done"

        async def crash(rt_: Any, stage: str) -> None:
            raise Crash

        monkeypatch.setattr(preprocess_stages, "pause_point", crash)
        with pytest.raises(Crash):
            await preprocess_stages.preprocess_video(rt, vid)
        crashed = await _video(db, vid)
        assert crashed["state"] == states.PREPROCESS.running and crashed["proxy_path"] is None
        left = {
            keys.proxy_key(vid, crashed["claim_token"]),
            keys.master_key(vid, crashed["claim_token"]),
        }
        assert left <= _stored(storage), "the crashed claim wrote its objects"
        seen_before_commit: list[set[str]] = []

        async def before_commit(rt_: Any, stage: str) -> None:
            seen_before_commit.append(_stored(storage))

        monkeypatch.setattr(preprocess_stages, "pause_point", before_commit)
        assert await preprocess_stages.preprocess_video(rt, vid) == "done"
    assert seen_before_commit and left <= seen_before_commit[0], "kept until the redo commits"
    row = await _video(db, vid)
    assert row["proxy_path"] == keys.proxy_key(vid, row["claim_token"])
    assert row["master_path"] == keys.master_key(vid, row["claim_token"])
    assert not left & _stored(storage), "the crashed claim's objects are gone"
    assert _stored(storage) == await _named(db)


async def test_a_failed_stage_deletes_what_it_and_the_crashed_claim_before_it_wrote(
    db: Any, heaters_env: dict[str, str], small_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crashed claim, then a redo that fails after its puts (here: its commit raises): no
    object is left behind, since none is named by a row (a chain of claims that never commit
    leaves nothing either)."""
    storage = Path(heaters_env["HEATERS_HOME"]) / "storage"
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "done"
        before = _stored(storage)

        async def crash(rt_: Any, stage: str) -> None:
            raise Crash

        monkeypatch.setattr(preprocess_stages, "pause_point", crash)
        with pytest.raises(Crash):
            await preprocess_stages.preprocess_video(rt, vid)
        crashed = (await _video(db, vid))["claim_token"]
        assert keys.proxy_key(vid, crashed) in _stored(storage)

        async def broken(rt_: Any, stage: str) -> None:
            raise RuntimeError("the commit could not be written")

        monkeypatch.setattr(preprocess_stages, "pause_point", broken)
        assert await preprocess_stages.preprocess_video(rt, vid) == "failed"
    assert _stored(storage) == before == await _named(db)
    assert runner._written == {} and runner._replaced == {}
