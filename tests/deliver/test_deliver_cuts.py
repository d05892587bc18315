"""Cut lists (issue 14): EDL, OTIO, CSV, chapters and JSON, read back with their own readers.

Pure tests on made-up rows (transitions, a state filter, drop-frame, a variable frame rate),
then the real pipeline on a real video through ``heaters export cuts`` and the API.
"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import opentimelineio as otio
import pytest

from heaters import review
from heaters.deliver.cutlists import (
    CSV_ANNOTATIONS,
    CSV_HEADER,
    CutClip,
    CutList,
    CutVideo,
    edit_rate,
    render,
    to_timeline,
)
from tests.conftest import detected_video, ffmpeg, run_heaters


def _video(fps: Fraction, n: int = 400, pts: list[float] | None = None) -> CutVideo:
    pts = pts if pts is not None else [k / float(fps) for k in range(n)]
    end = pts[-1] + (pts[-1] - pts[-2])
    return CutVideo(7, "A video; with = signs", "file:///media/v.mp4", fps, pts, end, 320, 180)


CLIPS = (
    CutClip(1, 0, 100, "review_approved"),
    CutClip(2, 100, 120, "pending_review", "dissolve", 0.8),
    CutClip(3, 120, 300, "exported", confidence=0.9, reviewed_by="ann"),
    CutClip(4, 300, 350, "pending_review", confidence=0.7),
    CutClip(5, 350, 400, "embedded", confidence=0.95),
)


def _edl_boundaries(text: str, rate: float) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(clip record ranges, transition record ranges) of an EDL read by OTIO's cmx_3600."""
    timeline = otio.adapters.read_from_string(text, "cmx_3600", rate=rate)
    (track,) = timeline.tracks
    clips, transitions = [], []
    for i, item in enumerate(track):
        r = track.range_of_child_at_index(i)
        span = (r.start_time.to_frames(), r.end_time_exclusive().to_frames())
        if isinstance(item, otio.schema.Clip):
            clips.append(span)
        elif isinstance(item, otio.schema.Transition):
            transitions.append(span)
    return clips, transitions


@pytest.mark.parametrize("fps", [Fraction(24), Fraction(30000, 1001), Fraction(60000, 1001)])
def test_edl_reads_back_to_the_same_cuts(fps: Fraction) -> None:
    cl = CutList(_video(fps), CLIPS)
    text = render(cl, "edl")
    drop = fps.denominator == 1001
    events = [line for line in text.splitlines() if line[:3].isdigit()]
    assert ("FCM: DROP FRAME" in text) == drop
    assert all((";" in line) == drop for line in events) and len(events) == 5
    clips, transitions = _edl_boundaries(text, float(cl.rate))
    # The dissolve [100, 120) sits between shots 1 and 3: the EDL cuts at 100 (its start).
    assert transitions == [(100, 120)]
    assert [s for s, _ in clips] == [0, 100, 300, 350]
    assert clips[-1][1] == 400
    cuts = sorted({s for s, _ in clips} | {e for _, e in transitions})
    assert cuts == sorted({c.start_frame for c in CLIPS})

    # Approved shots only: shot 4 becomes a gap, the dissolve between 1 and 3 stays.
    approved = CutList(_video(fps), tuple(c for c in CLIPS if c.id != 4), "approved")
    clips, transitions = _edl_boundaries(render(approved, "edl"), float(cl.rate))
    assert clips == [(0, 100), (100, 300), (350, 400)] and transitions == [(100, 120)]


def test_otio_loads_with_our_ranges_and_metadata(tmp_path: Path) -> None:
    cl = CutList(_video(Fraction(25)), CLIPS)
    path = tmp_path / "cuts.otio"
    path.write_text(render(cl, "otio"))
    timeline = otio.adapters.read_from_file(str(path))
    (track,) = timeline.tracks
    got = []
    for i, item in enumerate(track):
        r = track.range_of_child_at_index(i)
        span = (r.start_time.to_frames(), r.end_time_exclusive().to_frames())
        meta = dict(item.metadata["heaters"])
        got.append(
            (type(item).__name__, span, meta["clip_id"], meta["start_frame"], meta["end_frame"])
        )
        if isinstance(item, otio.schema.Clip):
            assert item.source_range.start_time.to_frames() == span[0], "record = source time"
            assert meta["state"] == next(c.state for c in CLIPS if c.id == meta["clip_id"])
    # Shots keep their own frames in metadata; on the timeline a transition's frames are split
    # at its middle frame (110) and the Transition covers exactly [100, 120).
    assert got == [
        ("Clip", (0, 110), 1, 0, 100),
        ("Transition", (100, 120), 2, 100, 120),
        ("Clip", (110, 300), 3, 120, 300),
        ("Clip", (300, 350), 4, 300, 350),
        ("Clip", (350, 400), 5, 350, 400),
    ]
    assert track[1].name == "dissolve" and track[1].metadata["heaters"]["confidence"] == 0.8
    assert track[2].metadata["heaters"]["confidence"] == 0.9
    assert track[2].metadata["heaters"]["reviewed_by"] == "ann"
    assert timeline.duration().to_frames() == 400


def test_csv_is_pyscenedetects() -> None:
    from scenedetect.output import write_scene_list

    theirs = io.StringIO()
    write_scene_list(theirs, [], include_cut_list=False)
    assert next(csv.reader(io.StringIO(theirs.getvalue()))) == list(CSV_HEADER)

    cl = CutList(_video(Fraction(24)), CLIPS)
    rows = list(csv.reader(io.StringIO(render(cl, "csv"))))
    assert rows[1] == [*CSV_HEADER, *CSV_ANNOTATIONS], "PySceneDetect's columns, then ours"
    assert rows[0] == ["Timecode List:", "00:00:05.000", "00:00:12.500", "00:00:14.583"]
    body = rows[2:]
    assert [r[0] for r in body] == ["1", "2", "3", "4"], "transitions are not shots"
    assert body[1] == [
        "2", "121", "00:00:05.000", "5.000", "300", "00:00:12.500", "12.500", "180",
        "00:00:07.500", "7.500", "", "",
    ]  # fmt: skip
    with_t = list(
        csv.reader(io.StringIO(render(cl, "csv", transitions=True, include_cut_list=False)))
    )
    assert with_t[0] == [*CSV_HEADER, *CSV_ANNOTATIONS] and len(with_t) == 1 + 5
    assert with_t[2][1:3] == ["101", "00:00:04.167"]


def test_variable_frame_rate_times_come_from_pts() -> None:
    # 30 fps nominal; frames 0-99 at 1/30 s, 100-199 at 1/15 s (half rate): index ÷ fps would
    # put frame 150 at 5.0 s, its PTS is 100/30 + 50/15 = 6.667 s.
    pts = [k / 30 for k in range(100)] + [100 / 30 + k / 15 for k in range(100)]
    video = _video(Fraction(30), pts=pts)
    cl = CutList(
        video, (CutClip(1, 0, 150, "review_approved"), CutClip(2, 150, 200, "review_approved"))
    )
    data = json.loads(render(cl, "json"))
    assert data["clips"][1]["start_seconds"] == pytest.approx(6.666667, abs=1e-6)
    assert data["clips"][1]["start_timecode"] == "00:00:06:20"
    clips, _ = _edl_boundaries(render(cl, "edl"), 30.0)
    assert clips == [(0, 200), (200, 300)], "timeline frames at 30 fps from PTS (ends at 10 s)"
    rows = list(csv.reader(io.StringIO(render(cl, "csv", include_cut_list=False))))
    assert rows[2][2:4] == ["00:00:06.667", "6.667"]
    assert "00:00:06.667 --> 00:00:10.000" in render(cl, "chapters")


def test_edit_rates() -> None:
    assert edit_rate(Fraction(24000, 1001)) == Fraction(24000, 1001)
    assert edit_rate(Fraction(2997, 100)) == Fraction(30000, 1001)
    assert edit_rate(Fraction(15)) == 30 and edit_rate(Fraction(25, 2)) == 25
    assert edit_rate(Fraction(12)) == 24 and edit_rate(Fraction(120)) == 60


def test_timeline_needs_no_transition_neighbours() -> None:
    # A fade-in at frame 0 and a fade-out at the end have a shot on one side only: clips.
    clips = (
        CutClip(1, 0, 10, "pending_review", "fade_in", 0.6),
        CutClip(2, 10, 390, "review_approved"),
        CutClip(3, 390, 400, "pending_review", "fade_out", 0.7),
    )
    timeline = to_timeline(CutList(_video(Fraction(24)), clips))
    kinds = [(type(i).__name__, i.metadata["heaters"]["is_transition"]) for i in timeline.tracks[0]]
    assert kinds == [("Clip", True), ("Clip", False), ("Clip", True)]


# --- the real pipeline --------------------------------------------------------------------


@pytest.mark.slow  # the whole pipeline on the sample (~9 s)
async def test_export_cuts_of_a_real_video(
    db: Any, heaters_env: dict[str, str], small_video: Path, tmp_path: Path
) -> None:
    vid, clips = await detected_video(db, small_video)
    assert len(clips) >= 3
    ids = [c["id"] for c in clips]
    await review.decide(db, ids[0], "approve", "ann")
    await review.decide(db, ids[-1], "approve", "ann")
    # Merge clips 1 and 2: both are superseded by a new clip and never listed again.
    await review.merge(db, ids[2], "ann")
    async with db.acquire() as conn:
        live = await conn.fetch(
            "SELECT id, start_frame, end_frame, state FROM clips WHERE source_video_id=$1 "
            "AND superseded_by IS NULL AND state NOT IN ('merged','split') ORDER BY start_frame",
            vid,
        )
        fps = await conn.fetchrow("SELECT fps_num, fps_den FROM source_videos WHERE id=$1", vid)
    assert ids[1] not in {r["id"] for r in live} and ids[2] not in {r["id"] for r in live}
    rate = fps["fps_num"] / fps["fps_den"]

    out = {}
    for fmt in ("edl", "otio", "csv", "chapters", "ffmetadata", "json"):
        path = tmp_path / f"cuts.{fmt}"
        p = run_heaters(
            heaters_env, "export", "cuts", str(vid), "--format", fmt, "-o", str(path), "--json"
        )
        assert p.returncode == 0, p.stderr
        info = json.loads(p.stdout)
        assert info["path"] == str(path) and info["shots"] == len(live)
        out[fmt] = path.read_text()

    starts = [r["start_frame"] for r in live]
    clips_edl, _ = _edl_boundaries(out["edl"], rate)
    assert [s for s, _ in clips_edl] == starts
    assert clips_edl[-1][1] == live[-1]["end_frame"]

    timeline = otio.adapters.read_from_string(out["otio"], "otio_json")
    ranges = [
        (i.source_range.start_time.to_frames(), i.source_range.end_time_exclusive().to_frames())
        for i in timeline.tracks[0]
        if isinstance(i, otio.schema.Clip)
    ]
    assert ranges == [(r["start_frame"], r["end_frame"]) for r in live]
    assert [i.metadata["heaters"]["clip_id"] for i in timeline.tracks[0]] == [r["id"] for r in live]

    rows = list(csv.reader(io.StringIO(out["csv"])))
    assert rows[1] == [*CSV_HEADER, *CSV_ANNOTATIONS]
    assert [int(r[1]) - 1 for r in rows[2:]] == starts

    data = json.loads(out["json"])
    assert [(c["id"], c["start_frame"], c["end_frame"], c["state"]) for c in data["clips"]] == [
        (r["id"], r["start_frame"], r["end_frame"], r["state"]) for r in live
    ]
    async with db.acquire() as conn:
        pts = await conn.fetchval(
            "SELECT pts_seconds FROM frame_indexes WHERE source_video_id=$1", vid
        )
    assert [c["start_pts"] for c in data["clips"]] == [pts[s] for s in starts]

    # ffmpeg muxes the chapters; PyAV reads them back at the shots' PTS.
    muxed = tmp_path / "with_chapters.mkv"
    ffmpeg("-i", str(small_video), "-i", str(tmp_path / "cuts.ffmetadata"), "-map", "0",
           "-map_metadata", "1", "-map_chapters", "1", "-c", "copy", str(muxed))  # fmt: skip
    with av.open(str(muxed)) as container:
        chapters = container.chapters()
    assert [round(float(ch["start"] * ch["time_base"]), 3) for ch in chapters] == [
        round(pts[s] - pts[0], 3) for s in starts
    ]
    assert out["chapters"].startswith("WEBVTT\n") and out["chapters"].count(" --> ") == len(live)

    # --state approved: the two approved shots only (stdout without -o).
    p = run_heaters(
        heaters_env, "export", "cuts", str(vid), "--format", "json", "--state", "approved"
    )
    assert p.returncode == 0, p.stderr
    assert [c["id"] for c in json.loads(p.stdout)["clips"]] == [ids[0], ids[-1]]

    p = run_heaters(heaters_env, "export", "cuts", "999999", "--format", "edl")
    assert p.returncode == 1 and "no video 999999" in p.stderr


def test_export_commands_explain_themselves_and_load_lightly() -> None:
    import subprocess
    import sys

    from click.testing import CliRunner

    from heaters.cli import app

    runner = CliRunner()
    assert "  export " in runner.invoke(app, ["--help"]).output
    for sub in ("cuts", "dataset"):
        res = runner.invoke(app, ["export", sub, "-h"])
        assert res.exit_code == 0 and res.output.startswith(f"Usage: heaters export {sub} ")
    code = (
        "import sys\n"
        "from heaters.cli import app\n"
        "try:\n"
        "    app(['export', 'dataset', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ['opentimelineio', 'pyarrow', 'webdataset', 'torch', 'asyncpg', 'litestar']\n"
        "print('loaded:' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "loaded:"


def test_media_reference_of_each_kind_of_source() -> None:
    from heaters.deliver.cut_source import media_url_of

    assert media_url_of("https://example.org/a.mp4", None, "a") == "https://example.org/a.mp4"
    assert media_url_of(None, "/data/film.mov", "film") == "file:///data/film.mov"
    # An API upload has neither: the name it was sent with, for relinking by file name.
    assert media_url_of(None, None, "interview 3.mp4") == "interview 3.mp4"
    assert media_url_of(None, None, None) == ""
