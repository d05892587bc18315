"""The fast detector on the looks of real footage that broke it (issue 19), from real media.

Letterbox and pillarbox bars (features measured on the active picture), flat grey ramps (no
hue from near-grey pixels; two flat frames are not unrelated pictures), a brightness step
kept as a suggestion instead of a silent veto, and a transition that fails the strict span
tests still giving a boundary.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from heaters.media import bars, scenes, scores
from heaters.media.frames import read_small_frames
from heaters.media.scores import COL, FEATURES

from .conftest import REPO, SAMPLE, run_ffmpeg_cli

SIZE = "320x180"
FRAMES = 600  # the sample's first 25 s: 7 labelled cuts
LABELLED = json.loads((REPO / "bench" / "ground_truth" / "big_buck_bunny_action_59s.json")
                      .read_text())["cuts"]  # fmt: skip
CUTS = [c for c in LABELLED if c < FRAMES]

LOOKS = {
    "letterbox": "scale=320:134,pad=320:180:0:23:black",  # 2.39:1 in 16:9
    "pillarbox": "scale=240:180,pad=320:180:40:0:black,noise=alls=12:allf=t",  # 4:3, grain
}


@pytest.fixture(scope="module", params=sorted(LOOKS))
def boxed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("looks") / f"{request.param}.mp4"
    run_ffmpeg_cli("-i", str(SAMPLE), "-frames:v", str(FRAMES), "-an",
                   "-vf", LOOKS[request.param], "-c:v", "libx264", "-preset", "veryfast",
                   "-crf", "26", "-g", "48", "-pix_fmt", "yuv420p", str(out))  # fmt: skip
    return out


def test_boxed_live_action_keeps_every_cut(boxed: Path) -> None:
    """Bars a quarter of the frame made different shots correlate as one picture: measured on
    the active picture, every labelled cut is found, none added."""
    run = scores.decode_features(boxed, workers=2)
    assert run.box is not None
    if "letterbox" in boxed.name:
        assert run.box.left == 0 and run.box.right == 64
        assert 4 <= run.box.top <= 6 and 30 <= run.box.bottom <= 32
    else:
        assert run.box.top == 0 and run.box.bottom == 36
        assert 8 <= run.box.left <= 9 and 55 <= run.box.right <= 56
    result = scenes.result_from_features(run.features, run.fps)
    found = list(result.cuts)
    assert len(found) == len(CUTS)
    assert all(any(abs(c - k) <= 1 for k in found) for c in CUTS), (found, CUTS)
    # the sequential reader measures the same active picture, row for row
    seq = scores.frame_features(read_small_frames(boxed), run.box)
    assert np.array_equal(seq, run.features)


def _rgb_video(path: Path, frames: np.ndarray, fps: int = 24) -> None:
    _, h, w, _ = frames.shape
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
           str(path)]  # fmt: skip
    subprocess.run(cmd, input=frames.tobytes(), check=True)


def test_flat_grey_ramp_gives_no_cut(tmp_path: Path) -> None:
    """250 frames of flat grey from black to white and back (a slate, a fade through a
    colour), with a one-level tint on alternate levels: no cut, no span."""
    levels = np.concatenate([np.linspace(0, 255, 125), np.linspace(255, 0, 125)]).round()
    frames = np.empty((250, 90, 160, 3), np.uint8)
    for i, v in enumerate(levels):
        frames[i] = int(v)
        if i % 2:
            frames[i, ..., 2] = min(255, int(v) + 1)  # the tint a YUV→RGB conversion gives
    video = tmp_path / "ramp.mp4"
    _rgb_video(video, frames)
    result = scenes.detect(video)
    assert result.frame_count == 250
    assert result.cuts == ()
    # directly on the RGB frames too (no codec in between)
    direct = scenes.result_from_features(scores.frame_features(iter(frames)), Fraction(24))
    assert direct.cuts == ()


def test_brightness_step_is_a_suggestion_not_a_silent_veto(tmp_path: Path) -> None:
    """One shot that steps brighter at frame 50 (exposure): no cut, but a suggestion there
    with its reason and a low confidence."""
    video = tmp_path / "step.mp4"
    run_ffmpeg_cli("-ss", "0", "-i", str(SAMPLE), "-frames:v", "100", "-an", "-s", "160x90",
                   "-vf", "eq=brightness=0.3:contrast=1.2:enable='gte(n,50)'",
                   "-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p", str(video))  # fmt: skip
    result = scenes.detect(video)
    assert 50 not in result.cuts
    hit = [s for s in result.suggestions if abs(s.frame - 50) <= 1]
    assert hit and hit[0].reason == "brightness_only"
    assert 0 < hit[0].confidence < 0.5
    assert hit[0].as_dict()["reason"] == "brightness_only"


def test_graphics_within_a_shot_are_no_cut(tmp_path: Path) -> None:
    """A lower third appears (frame 40), its text changes (70), it goes (100), a subtitle
    line comes and goes (110–130), all inside the sample's first shot: no cut; the big
    changes are kept as ``local`` suggestions."""
    video = tmp_path / "graphics.mp4"
    boxes = [
        "drawbox=x=40:y=250:w=420:h=70:color=navy@1:t=fill:enable='between(n,40,99)'",
        "drawbox=x=50:y=262:w=300:h=18:color=white@1:t=fill:enable='between(n,40,69)'",
        "drawbox=x=50:y=262:w=240:h=18:color=yellow@1:t=fill:enable='between(n,70,99)'",
        "drawbox=x=120:y=320:w=400:h=24:color=white@1:t=fill:enable='between(n,110,130)'",
    ]
    run_ffmpeg_cli("-i", str(SAMPLE), "-frames:v", "150", "-an",
                   "-vf", ",".join(["scale=640:360", *boxes]),
                   "-c:v", "libx264", "-crf", "20", "-pix_fmt", "yuv420p", str(video))  # fmt: skip
    result = scenes.detect(video)
    assert result.cuts == () and result.transitions == ()
    assert all(s.reason == "local" for s in result.suggestions)
    assert {s.frame for s in result.suggestions} <= {40, 70, 100, 110, 131}


def _still() -> np.ndarray:
    """A 320×180 RGB frame of the sample (5 s in), float32."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-ss", "5",
           "-i", str(SAMPLE), "-frames:v", "1", "-s", "320x180", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-"]  # fmt: skip
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(180, 320, 3).astype(np.float32)


@pytest.mark.parametrize("kind", ["title", "object", "shadow"])
def test_changes_to_part_of_a_still_are_no_transition(kind: str, tmp_path: Path) -> None:
    """Over a still shot: a title fades in and out (12 frames each way), a dark object slides
    in and stops, a shadow darkens half the picture over 20 frames: no span, no cut."""
    still = _still()
    letters = np.zeros((180, 320), bool)
    rng = np.random.default_rng(1)
    for i in range(9):
        letters[70:110, 40 + i * 27 : 58 + i * 27] = rng.random((40, 18)) < 0.6
    frames = np.empty((120, 180, 320, 3), np.uint8)
    for k in range(120):
        f = still.copy()
        if kind == "title":
            a = np.clip((k - 30) / 12, 0, 1) * np.clip((90 - k) / 12, 0, 1)
            f[letters] = (1 - a) * f[letters] + a * 255
        elif kind == "object":
            x = int(np.clip((k - 30) * 8, 0, 120))
            f[40:160, max(0, x - 100) : x] = 30
        else:
            f[:, :160] *= 1 - 0.5 * np.clip((k - 30) / 20, 0, 1)
        frames[k] = np.clip(f, 0, 255).astype(np.uint8)
    video = tmp_path / f"{kind}.mp4"
    _rgb_video(video, frames)
    result = scenes.detect(video)
    assert result.transitions == () and result.cuts == ()


def _features(thumbs: np.ndarray, std: float = 40.0) -> np.ndarray:
    """Feature rows with the given thumbnails, a steady low HSV difference (no cut
    candidate) and a textured, unflat picture."""
    n = thumbs.shape[0]
    f = np.zeros((n, len(FEATURES)), np.float32)
    f[:, COL["hsv_diff"]] = 2.0
    f[:, COL["luma_mean"]] = thumbs.mean(axis=1)
    f[:, COL["luma_std"]] = std
    for j in range(1, 5):  # consecutive frames of a shot correlate (no flash returns)
        f[:, COL[f"corr_lag{j}"]] = 0.02 * j
    first = COL["thumb_0"]
    f[:, first : first + 32] = thumbs
    return f


def test_transition_failing_the_span_tests_still_gives_a_boundary() -> None:
    """A 12-frame dissolve whose middle frames stray from the line between its sides (shake,
    grain: excess 0.27, over the strict 0.15): no span, but a cut at its largest change,
    never nothing."""
    rng = np.random.default_rng(5)
    a = rng.uniform(40, 200, 32)
    b = rng.uniform(40, 200, 32)
    wobble = rng.uniform(-1, 1, 32)
    rows = [a] * 30
    for j in range(1, 13):
        p = j / 13
        rows.append((1 - p) * a + p * b + wobble * 80 * np.sin(np.pi * p))
    rows += [b] * 30
    feats = _features(np.array(rows))
    strict = scenes.find_gradual(feats, scenes.DetectorParams())
    assert strict == []
    result = scenes.result_from_features(feats, Fraction(24))
    assert result.transitions == ()
    assert len(result.cuts) == 1 and 29 <= result.cuts[0] <= 43
    assert result.cut_confidence == (0.5,)


def test_moving_sides_are_no_fallback_boundary() -> None:
    """A pan (the picture moving before, during and after) is no transition, strict or
    relaxed: no cut."""
    rng = np.random.default_rng(6)
    wide = rng.uniform(40, 200, 400)
    rows = [np.interp(np.arange(32) + 1.5 * k, np.arange(400), wide) for k in range(100)]
    result = scenes.result_from_features(_features(np.array(rows)), Fraction(24))
    assert result.cuts == () and result.transitions == ()


def _texture(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    return rng.integers(60, 250, (n, h, w, 3), dtype=np.uint8)


def test_active_box_letterbox_pillarbox_and_none() -> None:
    rng = np.random.default_rng(7)
    frames = np.zeros((20, 36, 64, 3), np.uint8)
    frames[:, 5:31] = _texture(rng, 20, 26, 64)
    assert bars.find_active_box(frames) == bars.ActiveBox(6, 30, 0, 64)
    frames = np.zeros((20, 36, 64, 3), np.uint8)
    frames[:, :, 8:56] = _texture(rng, 20, 36, 48)
    assert bars.find_active_box(frames) == bars.ActiveBox(0, 36, 9, 55)
    full = _texture(rng, 20, 36, 64)
    assert bars.find_active_box(full) == bars.ActiveBox.whole(36, 64)


def test_active_box_ignores_dark_scenes_subtitles_and_slivers() -> None:
    rng = np.random.default_rng(8)
    # a night scene: the picture's top rows dark in half the frames: no crop
    frames = _texture(rng, 20, 36, 64)
    frames[:10, :8] = 5
    assert bars.find_active_box(frames) == bars.ActiveBox.whole(36, 64)
    # a subtitle in the bottom bar in 40 % of the frames does not widen the box
    frames = np.zeros((20, 36, 64, 3), np.uint8)
    frames[:, 5:31] = _texture(rng, 20, 26, 64)
    frames[:8, 32:34, 20:44] = 230
    assert bars.find_active_box(frames) == bars.ActiveBox(6, 30, 0, 64)
    # all black / flat samples say nothing
    assert bars.find_active_box(np.zeros((10, 36, 64, 3), np.uint8)) == bars.ActiveBox.whole(36, 64)
    # a sliver of picture (under 40 % of the width) is measured whole
    frames = np.zeros((20, 36, 64, 3), np.uint8)
    frames[:, :, 24:40] = _texture(rng, 20, 36, 16)
    assert bars.find_active_box(frames) == bars.ActiveBox.whole(36, 64)
