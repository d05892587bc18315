"""The fast detector on the labelled transition suite and on edge cases, from real media.

The suite (``bench/transitions/make_suite.py``) is generated here at 160×90 from the sample's
real shots: dissolves, fades to black and white, wipes, flashes, luma ramps, fast pans and
hard cuts, with ground truth read back from the frames. Edge cases: a video with no cut, a
video that is one long fade, a 2-frame video, a corrupt packet in the middle.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from heaters.media import scenes, scores

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "big_buck_bunny_action_59s.mp4"
SIZE = (160, 90)


def _ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    base = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*base, *args], check=True)


def _suite_module() -> ModuleType:
    path = ROOT / "bench" / "transitions" / "make_suite.py"
    spec = importlib.util.spec_from_file_location("make_suite", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_suite"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The suite at 160×90 (seed 11, as committed) and its labels."""
    out = tmp_path_factory.mktemp("suite")
    labels: dict[str, Any] = _suite_module().build(out, SIZE, 11)
    return out, labels


def _iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


@pytest.mark.slow  # renders the whole labelled suite (~13 s)
def test_suite_labels_are_the_committed_ones(suite: tuple[Path, dict[str, Any]]) -> None:
    """Same seed, other size: the same cuts, spans and events (labels are read back from the
    frames, so this also checks the generator is deterministic)."""
    _, labels = suite
    committed = json.loads((ROOT / "bench" / "transitions" / "suite.json").read_text())
    keys = ("name", "frame_count", "cuts", "transitions", "events")
    assert [{k: v[k] for k in keys} for v in labels["videos"]] == [
        {k: v[k] for k in keys} for v in committed["videos"]
    ]


@pytest.mark.slow  # renders the whole labelled suite (~10 s)
def test_suite_cuts_and_spans(suite: tuple[Path, dict[str, Any]]) -> None:
    folder, labels = suite
    for video in labels["videos"]:
        result = scenes.detect(folder / video["video"])
        assert result.frame_count == video["frame_count"]
        name = video["name"]
        # every labelled cut found within ±1 frame, and no other cut
        assert len(result.cuts) == len(video["cuts"]), (name, result.cuts, video["cuts"])
        for got, want in zip(result.cuts, video["cuts"], strict=True):
            assert abs(got - want) <= 1, (name, result.cuts, video["cuts"])
        assert all(0.5 <= c <= 1.0 for c in result.cut_confidence)
        # every labelled transition matched one to one (IoU >= 0.5, same kind), no other
        want_spans = video["transitions"]
        got_spans = result.transitions
        assert len(got_spans) == len(want_spans), (name, got_spans, want_spans)
        for got_t, want in zip(got_spans, want_spans, strict=True):
            span = (want["start_frame"], want["end_frame"])
            assert _iou((got_t.start_frame, got_t.end_frame), span) >= 0.5, (name, got_t, want)
            assert got_t.kind == want["kind"], (name, got_t, want)
            assert 0.5 <= got_t.confidence <= 1.0
        # cuts never inside a transition
        for t in got_spans:
            assert not any(t.start_frame < c < t.end_frame for c in result.cuts)


@pytest.mark.slow  # renders the whole labelled suite (~13 s)
def test_suite_transition_kinds_cover_the_issue(suite: tuple[Path, dict[str, Any]]) -> None:
    _, labels = suite
    kinds = {t["kind"] for v in labels["videos"] for t in v["transitions"]}
    assert kinds == {"dissolve", "fade_out", "fade_in", "wipe"}
    lengths = [
        t["end_frame"] - t["start_frame"]
        for v in labels["videos"]
        for t in v["transitions"]
        if t["kind"] == "dissolve"
    ]
    assert min(lengths) <= 9 and max(lengths) >= 34  # 6-40 frame dissolves (span d - 1)
    events = {e["kind"] for v in labels["videos"] for e in v["events"]}
    assert events == {"flash_white", "flash_bright", "ramp", "pan", "pan_still"}


def _shot(tmp: Path, name: str, first: int, frames: int, vf: str = "") -> Path:
    """``frames`` frames of the sample from ``first`` (inside one labelled shot), 160×90."""
    out = tmp / name
    chain = f"trim=start_frame={first}:end_frame={first + frames},setpts=PTS-STARTPTS,"
    chain += "scale=160:90" + (f",{vf}" if vf else "")
    _ffmpeg(
        "-i", str(SAMPLE), "-an", "-vf", chain, "-c:v", "libx264", "-preset", "veryfast",
        "-crf", "20", "-g", "48", "-pix_fmt", "yuv420p", str(out),
    )  # fmt: skip
    return out


def test_no_cuts(tmp_path: Path) -> None:
    """One shot (the sample's 443-569, with motion): nothing at all."""
    result = scenes.detect(_shot(tmp_path, "one_shot.mp4", 444, 120))
    assert result.frame_count == 120
    assert result.cuts == () and result.transitions == ()


def test_one_long_fade(tmp_path: Path) -> None:
    """A video that is one shot fading to black over its whole length (5 s) is one
    ``fade_out`` ending at the last frame, and no cut: its frames are the shot dimmed toward
    black, and the fade rule follows the shrinking mean and contrast back as far as they
    shrink every frame (this clip's motion stops it about half-way: 57 of 120)."""
    video = _shot(tmp_path, "long_fade.mp4", 444, 120, "fade=t=out:st=0:d=5")
    result = scenes.detect(video)
    assert result.cuts == ()
    assert len(result.transitions) == 1
    fade = result.transitions[0]
    assert fade.kind == "fade_out" and fade.end_frame == 120
    assert fade.start_frame <= 80  # at least the last third


def test_two_frame_video(tmp_path: Path) -> None:
    result = scenes.detect(_shot(tmp_path, "two.mp4", 444, 2))
    assert result.frame_count == 2 and result.cuts == () and result.transitions == ()
    assert result.features.shape == (2, len(scores.FEATURES))
    assert scenes.result_from_features(result.features, Fraction(24)) == result


def test_corrupt_packet_is_not_a_cut(tmp_path: Path) -> None:
    """Random bytes over one P-frame packet (its length prefix included, so FFmpeg rejects the
    packet): that frame is lost, its successors are concealed, the video is not failed and
    nothing is a cut."""
    import av

    good = tmp_path / "good.mp4"
    _ffmpeg(
        "-ss", f"{450 / 24:.6f}", "-i", str(SAMPLE), "-frames:v", "60", "-an",
        "-vf", "scale=160:90", "-c:v", "libx264", "-preset", "veryfast", "-g", "60",
        "-bf", "0", str(good),
    )  # fmt: skip
    with av.open(str(good)) as container:
        packets = [(p.pos, p.size, p.is_keyframe) for p in container.demux(video=0) if p.size]
    pos, size, key = packets[30]
    assert not key
    data = bytearray(good.read_bytes())
    data[pos : pos + size] = np.random.default_rng(0).integers(0, 256, size, np.uint8).tobytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    for workers in (1, 2):
        result = scenes.detect(bad, workers=workers)
        assert result.frame_count in (59, 60)
        assert result.cuts == () and result.transitions == ()
    assert scenes.detect(good).frame_count == 60


def test_rules_on_made_up_features() -> None:
    """The rules alone (pure): a flat run between falling and rising contrast is a fade out
    and a fade in; a 1-frame white flash and a brightness step are no cut."""
    n, f = 120, len(scores.FEATURES)
    col = scores.COL
    feats = np.zeros((n, f), np.float32)
    feats[:, col["luma_std"]] = 40.0
    feats[:, col["luma_mean"]] = 100.0
    feats[1:, col["hsv_diff"]] = 1.0
    feats[1:, col["corr_lag1"] : col["corr_lag4"] + 1] = 0.02
    # fade out over 40..49, black 50..54, fade in 55..64 (full contrast again at 65)
    for i, k in enumerate(range(40, 50)):
        feats[k, col["luma_std"]] = 40.0 * (9 - i) / 10
        feats[k, col["luma_mean"]] = 100.0 * (9 - i) / 10
    feats[50:55, col["luma_std"]] = 0.0
    feats[50:55, col["luma_mean"]] = 0.0
    for i, k in enumerate(range(55, 65)):
        feats[k, col["luma_std"]] = 40.0 * (i + 1) / 11
        feats[k, col["luma_mean"]] = 100.0 * (i + 1) / 11
    feats[[50, 55], col["hsv_diff"]] = 60.0
    # a white flash at 90 (picture back at 91) and a brightness step at 105
    feats[90, col["hsv_diff"]] = feats[91, col["hsv_diff"]] = 90.0
    feats[90, col["corr_lag1"]] = feats[91, col["corr_lag1"]] = 1.0
    feats[90, col["luma_std"]] = 0.0
    feats[91, col["corr_lag2"]] = 0.05
    feats[105, col["hsv_diff"]] = 60.0
    feats[105, col["corr_lag1"]] = 0.1
    result = scenes.result_from_features(feats, Fraction(24))
    # the dip splits in the middle of its held black frames, 49..54 (fades._hold_end)
    assert [(t.start_frame, t.end_frame, t.kind) for t in result.transitions] == [
        (40, 52, "fade_out"),
        (52, 65, "fade_in"),
    ]
    assert result.cuts == ()
    # the same spike as a real picture change is a cut: frames 105.. no longer correlate
    # with any frame before 105
    for j in range(1, 5):
        feats[105 : 105 + j, col[f"corr_lag{j}"]] = 1.0
    assert scenes.result_from_features(feats, Fraction(24)).cuts == (105,)
