"""Stream-copied cuts through the whole ingest (issue 20, item 1): ``ffmpeg -ss S -t T -c copy``
writes an MP4 whose first GOP starts before the cut and an edit list that hides the frames
before it, the most common real file of all. Ingested to ``detected``, the video has the
frames a player presents, and its clips cover exactly those frames."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import av
import pytest

from tests.conftest import detected_video, ffmpeg


@pytest.fixture(scope="module")
def long_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """85 s, 160x90, 24 fps H.264 (a keyframe every 2 s, B-frames) with AAC audio: a hard
    cut every 10 s between two lavfi pictures."""
    out = tmp_path_factory.mktemp("copy_cuts") / "source.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=160x90:r=24:d=85",
        "-f", "lavfi", "-i", "mandelbrot=s=160x90:r=24",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=85",
        "-filter_complex",
        "[1:v]trim=duration=85,setpts=PTS-STARTPTS[m];"
        "[0:v][m]overlay=enable='lt(mod(t,20),10)'[v]",
        "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "48",
        "-bf", "2", "-c:a", "aac", "-shortest", str(out),
    )  # fmt: skip
    return out


def _presented_frames(path: Path) -> int:
    """Frames a player shows: PyAV decodes through the edit list and drops the hidden ones."""
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(c.streams.video[0]))


@pytest.mark.parametrize("seconds", [20, 75])
@pytest.mark.slow  # ingests two stream-copied cuts (~8 s)
async def test_a_stream_copied_cut_is_ingested_with_its_presented_frames(
    db: Any, long_source: Path, tmp_path: Path, seconds: int
) -> None:
    cut = tmp_path / f"cut{seconds}.mp4"
    ffmpeg("-ss", "3.5", "-t", str(seconds), "-i", str(long_source), "-c", "copy", str(cut))
    with av.open(str(cut)) as c:  # the cut starts mid-GOP: packets the edit list hides
        hidden = sum(p.is_discard for p in c.demux(c.streams.video[0]) if p.size)
    assert hidden > 0, "the copy must start mid-GOP for this test"
    shown = _presented_frames(cut)
    assert abs(shown - 24 * seconds) <= 24

    vid, clips = await detected_video(db, cut)

    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT state, frame_count FROM source_videos WHERE id = $1", vid)
    assert row["state"] == "detected"
    assert row["frame_count"] == shown
    assert clips[0]["start_frame"] == 0 and clips[-1]["end_frame"] == shown
    assert all(a["end_frame"] == b["start_frame"] for a, b in itertools.pairwise(clips))
    assert len(clips) >= seconds // 10  # the source's cuts every 10 s are found
