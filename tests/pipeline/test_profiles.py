"""Detector profiles (issue 22) on a real Postgres and a real video: calibrate from settled
review labels, activate only what beats the active profile, the detect stage and rerun use
the active profile, rerun never moves a reviewed clip's boundaries, and the CLI round trip."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

from heaters import review
from heaters.db import fetch_all
from heaters.media.scenes import DetectorParams
from heaters.pipeline import labels, profiles
from tests.conftest import detected_video, json_lines

#: Parameters under which the detector finds no cut at all in the small video.
BLIND = dataclasses.asdict(DetectorParams(min_scene_len=100_000))


async def _labelled(db: Any) -> None:
    """Settle every review event now (no sleep) and write its labels, as the stage does."""
    async with db.acquire() as conn:
        await conn.execute("UPDATE review_events SET settles_at = now() - interval '1 second'")
        events = [r["id"] for r in await conn.fetch("SELECT id FROM review_events ORDER BY id")]
    for event_id in events:
        await labels.record_labels(db, event_id)


async def _store_profile(db: Any, collection: str, params: dict[str, Any]) -> int:
    """An active profile of ``collection`` with ``params`` (as calibrate would store one)."""
    from heaters.media import scenes

    async with db.transaction() as conn:
        row = await db.q.insert_profile(
            conn, collection=collection, detector=scenes.DETECTOR_NAME, params=params,
            training_video_ids=[], figures={},
        )  # fmt: skip
    await profiles.activate(db, collection, row["version"])
    return int(row["version"])


async def _live(db: Any, vid: int) -> list[tuple[int, int, int]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, start_frame, end_frame FROM clips WHERE source_video_id = $1"
            " AND state NOT IN ('merged', 'split') ORDER BY start_frame",
            vid,
        )
    return [(r["id"], r["start_frame"], r["end_frame"]) for r in rows]


async def test_a_profile_is_activated_only_when_it_beats_the_active_one(
    db: Any, small_video: Path
) -> None:
    _vid, clips = await detected_video(db, small_video)
    assert len(clips) >= 3
    for c in clips:  # every boundary confirmed, nothing inside any clip
        await review.decide(db, c["id"], "approve", "ann", settle_seconds=0)
    await _labelled(db)

    # the defaults find every labelled cut: a fit cannot beat them, so it is kept, inactive
    first = await profiles.calibrate_collection(db, "default")
    assert first.calibration.cross_validated and first.profile.version == 1
    assert first.calibration.before.f1 == 1.0 and not first.activated
    assert "does not beat" in first.reason
    async with db.acquire() as conn:
        assert await profiles.active_profile(db, conn, "default") is None

    # a blind profile is active: the next fit starts from it and beats it on held-out parts
    blind = await _store_profile(db, "default", BLIND)
    second = await profiles.calibrate_collection(db, "default")
    assert second.previous is not None and second.previous.version == blind
    assert second.calibration.before.f1 == 0.0 < second.calibration.after.f1
    assert second.activated and second.profile.active
    # ... and the one after it does not beat that one: kept, the active one stays
    third = await profiles.calibrate_collection(db, "default")
    assert not third.activated
    listed = await profiles.list_profiles(db)
    assert [(p.version, p.active) for p in listed] == [
        (4, False),
        (3, True),
        (2, False),
        (1, False),
    ]


async def test_rerun_keeps_reviewed_clips_and_new_videos_get_the_profile(
    db: Any, small_video: Path, other_video: Path
) -> None:
    from heaters.pipeline.runtime import open_runtime
    from heaters.pipeline.submit import submit
    from tests.conftest import run_to_detected

    vid, clips = await detected_video(db, small_video)
    await profiles.put_in_collection(db, vid, "films")
    assert len(clips) >= 4
    approved = await review.decide(db, clips[0]["id"], "approve", "ann", settle_seconds=0)
    c = clips[2]
    mid = (c["start_frame"] + c["end_frame"]) // 2
    split = await review.split(db, c["id"], mid, "ann", settle_seconds=600)  # still settling
    reviewed = [
        x for x in await _live(db, vid) if x[0] in (*approved.clip_ids, *split.live_clip_ids)
    ]
    assert len(reviewed) == 3

    await _store_profile(db, "films", BLIND)
    profile, report = await profiles.rerun_collection(db, "films")
    assert profile is not None and [r.video_id for r in report] == [vid]
    after = await _live(db, vid)
    assert all(x in after for x in reviewed)  # same rows, same frames
    # the rest is new: one clip per gap between reviewed clips (the profile sees no cut)
    frames = sorted((a, b) for _, a, b in after)
    assert frames[0][0] == 0 and all(p[1] == q[0] for p, q in itertools.pairwise(frames))
    assert frames[-1][1] == clips[-1]["end_frame"]
    assert report[0].kept == 3 and report[0].made == len(after) - 3

    # a new video of the collection is detected with its active profile: no cut
    other = (await submit(db, str(other_video))).video_id
    await profiles.put_in_collection(db, other, "films")
    async with open_runtime() as rt:
        await run_to_detected(rt, other)
    assert len(await _live(db, other)) == 1


def test_cli_round_trip(small_video: Path, heaters_env: dict[str, str]) -> None:
    import asyncio

    from click.testing import CliRunner

    from heaters.cli import app
    from heaters.db import Database

    async def reviewed() -> tuple[int, int]:
        async with Database.connect(heaters_env["DATABASE_URL"]) as db:
            vid, clips = await detected_video(db, small_video)
            for c in clips:
                await review.decide(db, c["id"], "approve", "ann", settle_seconds=0)
            await _labelled(db)
            async with db.acquire() as conn:
                assert len(await fetch_all(db.q.video_labels(conn, ids=[vid]))) > len(clips)
        return vid, len(clips)

    vid, count = asyncio.run(reviewed())
    runner = CliRunner()

    def heaters(*args: str, code: int = 0) -> Any:
        res = runner.invoke(app, list(args))
        assert res.exit_code == code, res.output
        return res

    (cal,) = json_lines(heaters("detect", "calibrate", "-c", "default", "--json").stdout)
    assert cal["version"] == 1 and cal["activated"] is False and cal["videos"] == [vid]
    assert cal["before"]["f1"] == 1.0
    shown = heaters("detect", "calibrate", "--collection", "default").stdout
    assert "profile version 2" in shown and "not activated" in shown

    assert json_lines(heaters("detect", "activate", "default", "1", "--json").stdout)[0]["active"]
    assert "no profile version 9" in heaters("detect", "activate", "default", "9", code=1).output

    listed = json_lines(heaters("detect", "profiles", "--json").stdout)
    assert [(p["collection"], p["version"], p["active"]) for p in listed] == [
        ("default", 2, False), ("default", 1, True),
    ]  # fmt: skip
    (line,) = json_lines(heaters("detect", "rerun", "--collection", "default", "--json").stdout)
    assert line["video_id"] == vid and line["kept"] == count and line["replaced"] == 0

    assert "no reviewed video" in heaters("detect", "calibrate", "-c", "empty", code=1).output


async def test_the_calibrate_stage_runs_after_n_new_labels(
    db: Any, small_video: Path, monkeypatch: Any
) -> None:
    """HEATERS_CALIBRATE_EVERY: off by default; on, a collection with that many labels since
    its last profile is calibrated once by the ``calibrate`` stage."""
    from heaters.config import get_settings
    from heaters.pipeline.dispatcher import dispatch
    from heaters.pipeline.runtime import open_runtime
    from heaters.pipeline.stages import Stage, stage_named

    async def found() -> list[int]:
        got: list[int] = []

        async def defer(stage: Stage, item: int) -> bool:
            got.append(item)
            return True

        await dispatch(db, defer, stages=[stage_named("calibrate")])
        return got

    vid, clips = await detected_video(db, small_video)
    for c in clips:
        await review.decide(db, c["id"], "approve", "ann", settle_seconds=0)
    await _labelled(db)
    assert await found() == []  # off by default
    monkeypatch.setenv("HEATERS_CALIBRATE_EVERY", "3")
    get_settings.cache_clear()
    assert await found() == [vid]
    async with open_runtime() as rt:
        assert await stage_named("calibrate").task(rt, vid) == "done"
    assert [p.version for p in await profiles.list_profiles(db)] == [1]
    assert await found() == []  # no label since that profile
