"""``heaters split`` and ``heaters detect --scene-list / --save-images / --html`` (issue 23):
a drop-in for PySceneDetect users, with no database, compared with ``scenedetect`` itself on
the same video (its CLI reads our CSV back; its split-video and save-images name and cut the
same files)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import opentimelineio as otio
import pytest

from heaters.deliver.cutlists import CSV_ANNOTATIONS, CSV_HEADER
from heaters.media.split import image_frames, snap_to_keyframes
from tests.conftest import decoded_frames, detected_video, ffmpeg, heaters_cmd

SCENEDETECT = Path(sys.executable).with_name("scenedetect")


def _no_db_env(home: Path) -> dict[str, str]:
    """The environment of a user with no database: no DATABASE_URL, an empty HEATERS_HOME
    (where an embedded Postgres would be made)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, "HEATERS_HOME": str(home)}


def _heaters(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        heaters_cmd(*args), env=_no_db_env(home), capture_output=True, text=True, timeout=120
    )


def _frames(path: Path) -> tuple[int, int, bool]:
    """(video packets, decoded frames, has audio) of a file."""
    with av.open(str(path)) as c:
        packets = sum(1 for p in c.demux(c.streams.video[0]) if p.size)
    with av.open(str(path)) as c:
        decoded = sum(1 for _ in c.decode(video=0))
        audio = bool(c.streams.audio)
    return packets, decoded, audio


def _nearest(frame: np.ndarray, source: list[Any], around: int) -> int:
    """The source frame among ``around`` ± 2 that ``frame`` looks most like."""
    lo, hi = max(0, around - 2), min(len(source), around + 3)
    diffs = [np.abs(frame.astype(int) - source[k].astype(int)).mean() for k in range(lo, hi)]
    return lo + int(np.argmin(diffs))


def test_split_is_frame_exact_and_reads_back_in_scenedetect(
    small_video: Path, tmp_path: Path
) -> None:
    home, out = tmp_path / "home", tmp_path / "shots"
    csv_path = out / "scenes.csv"
    p = _heaters(home, "split", str(small_video), "-o", str(out), "--scene-list", str(csv_path),
                 "--save-images", "2", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert not home.exists(), "no database, no HEATERS_HOME"
    info = json.loads(p.stdout)
    files = info["files"]
    assert info["mode"] == "exact" and len(files) >= 3
    assert "splitting 1/" in p.stderr, "plain progress lines when stderr is no terminal"
    # Every frame once, each file exactly its shot's frames, decodable, with its audio.
    assert [f["start_frame"] for f in files[1:]] == [f["end_frame"] for f in files[:-1]]
    assert files[0]["start_frame"] == 0 and files[-1]["end_frame"] == info["frame_count"]
    source = decoded_frames(small_video)
    for f in files:
        path = Path(f["file"])
        assert path.name == f"bbb_8s-Scene-{f['scene']:03d}.mp4"
        assert [Path(i).name for i in f["images"]] == [
            f"bbb_8s-Scene-{f['scene']:03d}-{j:02d}.jpg" for j in (1, 2)
        ]
        assert _frames(path) == (f["frames"], f["frames"], True)
        first, last = decoded_frames(path, 0, 1)[0], decoded_frames(path, f["frames"] - 1)[0]
        assert _nearest(first, source, f["start_frame"]) == f["start_frame"]
        assert _nearest(last, source, f["end_frame"] - 1) == f["end_frame"] - 1

    # scenedetect reads our scene list back and writes the same one, cuts the same files
    # (same names, same frame counts) and names its images as ours.
    sd = tmp_path / "sd"
    r = subprocess.run(
        [str(SCENEDETECT), "-q", "-i", str(small_video), "-o", str(sd), "load-scenes", "-i",
         str(csv_path), "list-scenes", "-f", "theirs.csv", "split-video", "save-images", "-n",
         "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    # the same list: every row's PySceneDetect columns (ours adds Tags and Note after them)
    theirs_rows = list(csv.reader(io.StringIO((sd / "theirs.csv").read_text())))
    ours_rows = list(csv.reader(io.StringIO(csv_path.read_text())))
    assert ours_rows[1][len(CSV_HEADER):] == list(CSV_ANNOTATIONS)
    assert [row[: len(CSV_HEADER)] for row in ours_rows[1:]] == theirs_rows[1:]
    assert ours_rows[0] == theirs_rows[0] and len(ours_rows) == len(theirs_rows)
    for f in files:
        theirs = sd / Path(f["file"]).name
        assert _frames(theirs)[0] == f["frames"]

    out = tmp_path / "images"
    p = _heaters(home, "detect", str(small_video), "--save-images", "3", "-o", str(out),
                 "--html", str(out / "report.html"), "--no-progress")  # fmt: skip
    assert p.returncode == 0, p.stderr
    ours = sorted(x.name for x in out.glob("*.jpg"))
    assert ours == sorted(x.name for x in sd.glob("*.jpg")) and len(ours) == 3 * len(files)
    page = (out / "report.html").read_text()
    links = re.findall(r'<img src="([^"]+)"', page)
    assert links[:3] == ["bbb_8s-Scene-001-01.jpg", "bbb_8s-Scene-001-02.jpg",
                         "bbb_8s-Scene-001-03.jpg"]  # fmt: skip
    assert all((out / link).is_file() for link in links) and len(links) == len(ours)
    assert page.count("<tr class=") == len(files) and "http" not in page


def test_copy_mode_cuts_at_keyframes(small_video: Path, tmp_path: Path) -> None:
    # Keyframes every 48 frames only (no scene-cut keyframes): shots must move to them.
    video = tmp_path / "gop48.mp4"
    ffmpeg("-i", str(small_video), "-c:v", "libx264", "-preset", "ultrafast",
           "-x264-params", "scenecut=0:keyint=48:min-keyint=48", "-c:a", "copy", str(video))  # fmt: skip
    out = tmp_path / "copy"
    p = _heaters(tmp_path / "home", "split", str(video), "--copy", "-o", str(out), "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    files = info["files"]
    assert info["mode"] == "copy"
    # Cuts at 30, 78, 117 and 185: one in each GOP, each file starts on the keyframe before.
    assert [f["start_frame"] for f in files] == [0, 48, 96, 144]
    assert all(f["start_frame"] % 48 == 0 for f in files), "files start on keyframes"
    assert files[-1]["end_frame"] == info["frame_count"] == 192
    assert sum(f["frames"] for f in files) == 192, "the files cover the whole video"
    assert "do not start on a keyframe" in p.stderr
    for f in files:
        assert _frames(Path(f["file"])) == (f["frames"], f["frames"], True)
    # Each file starts the shots whose first frame is in it.
    starts = sorted(s for f in files for s in f["shots"])
    assert starts == list(range(1, len(starts) + 1))


def test_image_frames_are_scenedetects() -> None:
    from scenedetect import FrameTimecode
    from scenedetect.output.image import _generate_timecode_list

    fps = Fraction(24)
    shots = [(0, 30), (30, 78), (78, 117), (117, 185), (185, 192), (200, 203)]
    scene_list = [(FrameTimecode(a, fps=fps), FrameTimecode(b, fps=fps)) for a, b in shots]
    for n in (1, 2, 3, 5):
        theirs = _generate_timecode_list(scene_list, n, 1)
        for (a, b), tcs in zip(shots, theirs, strict=True):
            assert image_frames(a, b, n) == [tc.frame_num for tc in tcs], (a, b, n)
    # Where PySceneDetect would take the next shot's first frame, we stay in the shot.
    assert image_frames(10, 11, 3) == [10, 10, 10]
    assert snap_to_keyframes([30, 78, 117, 185], [0, 48, 96, 144]) == [0, 48, 96, 144]
    assert snap_to_keyframes([5, 50], [3, 48]) == [0, 3, 48]


def test_html_alone_embeds_pictures(small_video: Path, tmp_path: Path) -> None:
    page_path = tmp_path / "r" / "report.html"
    p = _heaters(tmp_path / "home", "detect", str(small_video), "--html", str(page_path),
                 "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["outputs"]["html"] == str(page_path)
    page = page_path.read_text()
    links = re.findall(r'<img src="([^"]+)"', page)
    assert links and all(link.startswith("data:image/jpeg;base64,") for link in links)
    assert list(page_path.parent.iterdir()) == [page_path], "nothing written beside it"


def test_clear_errors(small_video: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    for args, message in [
        (["split", str(tmp_path / "missing.mp4")], "no such file"),
        (["split", str(text), "-o", str(tmp_path / "o")], "not a readable video"),
        (["detect", str(small_video), "--scene-list", str(tmp_path / "x.xls")],
         "cannot tell the cut-list format of 'x.xls'"),
    ]:  # fmt: skip
        p = _heaters(home, *args)
        assert p.returncode == 2 and message in p.stderr, p.stderr
        assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def _ranges(otio_json: str) -> list[tuple[str, int, int]]:
    """(kind, timeline start, frames) of every item of a timeline's first track (equal to
    the source range for our clips: record time = source time)."""
    timeline = otio.adapters.read_from_string(otio_json, "otio_json")
    track = timeline.tracks[0]
    return [
        (type(i).__name__, r.start_time.to_frames(), r.duration.to_frames())
        for n, i in enumerate(track)
        for r in [track.range_of_child_at_index(n)]
    ]


async def test_scene_lists_are_export_cuts(db: Any, small_video: Path, tmp_path: Path) -> None:
    """No database for `heaters detect --scene-list`, yet the same EDL events and OTIO ranges
    as `heaters export cuts` of the ingested video, at the frame index's times."""
    from heaters.deliver.cut_source import load_cut_list
    from heaters.deliver.cutlists import render

    vid, _ = await detected_video(db, small_video)
    cl = await load_cut_list(db, vid)
    formats = ("edl", "otio", "csv")
    args = [a for fmt in formats for a in ("--scene-list", str(tmp_path / f"scenes.{fmt}"))]
    p = _heaters(tmp_path / "home", "detect", str(small_video), *args, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["outputs"]["scene_lists"] == args[1::2]
    for fmt in formats:
        ours, theirs = (tmp_path / f"scenes.{fmt}").read_text(), render(cl, fmt)
        if fmt == "csv":
            assert ours == theirs
        elif fmt == "edl":
            events = re.compile(r"^\d{3} +\S+ +(V .*)$", re.M)
            assert events.findall(ours) == events.findall(theirs) != []
        else:
            ranges = [_ranges(text) for text in (ours, theirs)]
            assert ranges[0] == ranges[1] != []
    rows = list(csv.reader(io.StringIO((tmp_path / "scenes.csv").read_text())))
    assert len(rows) - 2 == len(cl.shots)


def test_split_help_loads_no_database_or_web_stack() -> None:
    code = (
        "import sys\n"
        "from heaters.cli import app\n"
        "try:\n"
        "    app(['split', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ['asyncpg', 'procrastinate', 'litestar', 'rich', 'opentimelineio', 'cv2']\n"
        "print('loaded:' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "--save-images N" in out and "--copy" in out and "--scene-list" in out
    assert out.strip().splitlines()[-1] == "loaded:"


@pytest.mark.parametrize("mode", ["exact", "copy"])
def test_mpeg_ts_is_cut_through_an_mp4_copy(small_video: Path, tmp_path: Path, mode: str) -> None:
    # MPEG-TS cannot be sought frame-exactly: the split goes through a stream copy in MP4.
    video = tmp_path / "bbb.ts"
    ffmpeg("-i", str(small_video), "-c", "copy", str(video))
    out = tmp_path / "ts"
    args = ["--copy"] if mode == "copy" else []
    p = _heaters(tmp_path / "home", "split", str(video), "-o", str(out), "--json", *args)
    assert p.returncode == 0, p.stderr
    assert "cannot be cut where it lies" in p.stderr and "temporary MP4 file" in p.stderr
    files = json.loads(p.stdout)["files"]
    assert sum(f["frames"] for f in files) == 192
    source = decoded_frames(small_video)
    for f in files:
        assert _frames(Path(f["file"])) == (f["frames"], f["frames"], True)
        first = decoded_frames(Path(f["file"]), 0, 1)[0]
        assert _nearest(first, source, f["start_frame"]) == f["start_frame"]
    assert sorted(x.name for x in out.iterdir()) == [Path(f["file"]).name for f in files]


def test_transitions_are_in_no_shot_unless_asked(small_video: Path, tmp_path: Path) -> None:
    from heaters.cli.shots import build_shots, write_scene_list
    from heaters.media.boundaries import SceneResult, Transition

    result = SceneResult(
        "test", 192, Fraction(24), (30,), (0.9,), (Transition(70, 90, "dissolve", 0.8),)
    )
    shots = build_shots(small_video, result)
    assert [(s.start_frame, s.end_frame) for s in shots.listed] == [(0, 30), (30, 70), (90, 192)]
    assert write_scene_list(shots, tmp_path / "a.otio") == "otio"
    kinds = [k for k, _, _ in _ranges((tmp_path / "a.otio").read_text())]
    assert kinds == ["Clip", "Clip", "Transition", "Clip"], "a dissolve between two shots"
    with_t = build_shots(small_video, result, transitions=True)
    assert [s.transition_kind for s in with_t.listed] == [None, None, "dissolve", None]
    write_scene_list(with_t, tmp_path / "b.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "b.csv").read_text())))[2:]
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("1", "1", "30"), ("2", "31", "70"), ("3", "71", "90"), ("4", "91", "192"),
    ]  # fmt: skip
    assert with_t.name(3) == "bbb_8s-Scene-003"
