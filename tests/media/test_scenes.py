"""Scene detection: the pure cut rule, both frame readers, the features, and detect() on a
real clip (gradual transitions and edge cases: tests/media/test_transitions.py)."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from heaters.errors import DetectError
from heaters.media import frames as small
from heaters.media import scenes, scores
from heaters.media.boundaries import SceneResult
from heaters.media.scenes import DetectorParams, cuts_from_scores

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "big_buck_bunny_action_59s.mp4"

# Three pieces of the sample, each inside one shot (hand-labelled cuts of the sample:
# bench/ground_truth/big_buck_bunny_action_59s.json): (start frame, frames).
PIECES = [(450, 100), (980, 50), (1190, 60)]
CLIP_CUTS = [100, 150]
CLIP_FRAMES = 210


def _ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    base = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*base, *args], check=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 640×360 H.264 clip of three far-apart pieces of the sample: cuts at 100 and 150.

    Keyframes every 48 frames, so the parallel reader splits it into chunks.
    """
    out = tmp_path_factory.mktemp("scenes") / "clip.mp4"
    inputs: list[str] = []
    graph = []
    for i, (start, n) in enumerate(PIECES):
        inputs += ["-ss", f"{start / 24:.6f}", "-i", str(SAMPLE)]
        graph.append(f"[{i}:v]trim=end_frame={n},setpts=PTS-STARTPTS,scale=640:360[v{i}]")
    joined = "".join(f"[v{i}]" for i in range(len(PIECES)))
    graph.append(f"{joined}concat=n={len(PIECES)}:v=1:a=0[out]")
    _ffmpeg(
        *inputs, "-filter_complex", ";".join(graph), "-map", "[out]", "-r", "24",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "48",
        "-pix_fmt", "yuv420p", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def raw(clip: Path) -> Path:
    """The clip's analysis frames as the preprocess stage writes them (ffmpeg, rgb24)."""
    w, h = small.ANALYSIS_SIZE
    out = clip.with_suffix(".rgb")
    _ffmpeg(
        "-i", str(clip), "-map", "0:v:0", "-vf", f"scale={w}:{h}:flags=area,format=rgb24",
        "-fps_mode", "passthrough", "-f", "rawvideo", str(out),
    )  # fmt: skip
    return out


# --------------------------------------------------------------------------- cuts_from_scores


def _spikes(n: int, at: dict[int, float], base: float = 1.0) -> np.ndarray:
    s = np.full(n, base, np.float32)
    s[0] = 0.0
    for k, v in at.items():
        s[k] = v
    return s


P = DetectorParams(threshold=3.0, min_scene_len=8, min_content=15.0, window=2)


def test_single_spike_is_a_cut() -> None:
    assert cuts_from_scores(_spikes(100, {40: 60.0}), P) == [40]


def test_never_a_cut_at_zero_or_within_min_scene_len_of_it() -> None:
    s = _spikes(100, {5: 60.0})
    s[0] = 200.0
    assert cuts_from_scores(s, P) == []
    assert cuts_from_scores(s, DetectorParams(min_scene_len=1, window=1)) == [5]
    assert 0 not in cuts_from_scores(s, DetectorParams(min_scene_len=1, window=1))


def test_min_scene_len() -> None:
    s = _spikes(100, {30: 60.0, 34: 60.0, 50: 60.0, 58: 60.0})
    assert cuts_from_scores(s, P) == [30, 50, 58]  # 34 is 4 frames after 30; 58 is 8 after 50
    assert cuts_from_scores(s, DetectorParams(min_scene_len=9)) == [30, 50]
    assert cuts_from_scores(s, DetectorParams(min_scene_len=1, window=1)) == [30, 34, 50, 58]


def test_adaptive_window_rejects_sustained_motion() -> None:
    s = _spikes(100, {}, base=40.0)  # every frame changes a lot: fast motion, no cut
    assert cuts_from_scores(s, P) == []
    s[60] = 119.0  # 2.975x its neighbours' mean: below the ratio
    assert cuts_from_scores(s, P) == []
    s[60] = 120.0  # exactly 3x: a cut
    assert cuts_from_scores(s, P) == [60]


def test_window_width_decides_the_neighbourhood() -> None:
    # A spike with a busy frame two places away: window 1 ignores it, window 2 averages it.
    s = _spikes(100, {50: 30.0, 52: 50.0}, base=1.0)
    assert 50 in cuts_from_scores(s, DetectorParams(window=1, min_scene_len=1))
    assert 50 not in cuts_from_scores(s, DetectorParams(window=2, min_scene_len=1))


def test_min_content_floor_and_zero_neighbours() -> None:
    quiet = _spikes(100, {40: 10.0}, base=0.1)  # 100x its neighbours but small
    assert cuts_from_scores(quiet, P) == []
    assert cuts_from_scores(quiet, DetectorParams(min_content=5.0)) == [40]
    still = _spikes(100, {40: 20.0}, base=0.0)  # neighbours exactly 0: ratio capped at 255
    assert cuts_from_scores(still, P) == [40]


def test_no_cut_without_a_full_window_at_the_ends() -> None:
    assert cuts_from_scores(_spikes(50, {49: 90.0, 48: 90.0}), P) == []
    assert cuts_from_scores(np.zeros(0, np.float32), P) == []
    assert cuts_from_scores([0.0, 50.0, 0.0], DetectorParams(window=2)) == []


def test_params_validation() -> None:
    with pytest.raises(ValueError):
        DetectorParams(window=0)
    with pytest.raises(ValueError):
        DetectorParams(min_scene_len=0)
    with pytest.raises(ValueError):
        DetectorParams(threshold=0.0)


def test_hsv_diff_shape_and_first_zero() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (600, 36, 64, 3), dtype=np.uint8)  # > one batch
    frames[300:] = frames[299]  # still from 300 on
    f = scores.frame_features(iter(frames))
    s = f[:, scores.COL["hsv_diff"]]
    assert f.shape == (600, len(scores.FEATURES)) and f.dtype == np.float32
    assert s[0] == 0.0 and s[1] > 20.0 and s[256] > 20.0  # across the batch boundary
    assert not s[300:].any()
    assert scores.frame_features([]).shape == (0, len(scores.FEATURES))


# --------------------------------------------------------------------------- real media


def test_detect_finds_the_joins(clip: Path) -> None:
    seen: list[int] = []
    result = scenes.detect(clip, on_progress=seen.append)
    assert isinstance(result, SceneResult) and result.detector == scenes.DETECTOR_NAME
    assert result.frame_count == CLIP_FRAMES
    assert list(result.cuts) == CLIP_CUTS and result.transitions == ()
    assert len(result.cut_confidence) == 2 and all(0.5 <= c <= 1.0 for c in result.cut_confidence)
    assert result.fps == Fraction(24)
    assert result.features.shape == (CLIP_FRAMES, len(scores.FEATURES))
    assert result.features.dtype == np.float32 and result.features[0, 0] == 0.0
    assert seen[-1] == CLIP_FRAMES
    # features let the rules be re-run without decoding, with the same result
    again = scenes.result_from_features(result.features, Fraction(24))
    assert again == result
    assert cuts_from_scores(result.features[:, 0], DetectorParams()) == CLIP_CUTS
    # and other thresholds apply: a minimum shot longer than the middle shot drops a cut
    longer = scenes.result_from_features(
        result.features, Fraction(24), DetectorParams(min_scene_len=60)
    )
    assert list(longer.cuts) == [100]
    assert np.array_equal(scenes.decode_features(clip), result.features)


def test_result_from_features_checks_shape() -> None:
    with pytest.raises(ValueError):
        scenes.result_from_features(np.zeros((10, 3), np.float32), Fraction(24))
    empty = scenes.result_from_features(
        np.zeros((0, len(scores.FEATURES)), np.float32), Fraction(24)
    )
    assert empty.cuts == () and empty.transitions == () and empty.frame_count == 0


def test_parallel_scores_equal_sequential(clip: Path) -> None:
    plan = small.plan_chunks(clip, 2)
    assert len(plan.chunks) >= 2 and plan.fps == Fraction(24)  # the clip really is split
    assert sum(c.frames for c in plan.chunks) == CLIP_FRAMES
    frames = np.stack(list(small.read_small_frames(clip)))
    w, h = small.ANALYSIS_SIZE
    assert frames.shape == (CLIP_FRAMES, h, w, 3) and frames.dtype == np.uint8
    seq = scores.frame_features(iter(frames))
    seen: list[int] = []
    par = scores.decode_features(clip, workers=2, on_progress=seen.append)
    assert par.chunks == len(plan.chunks)
    assert np.array_equal(seq, par.features)  # chunk boundaries (lags 1-4) measured exactly
    assert seen[-1] == CLIP_FRAMES and seen == sorted(seen)
    one = scores.decode_features(clip, workers=1)
    assert one.chunks == 1 and np.array_equal(seq, one.features)


@pytest.fixture(scope="module")
def open_gop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of the sample as open-GOP H.264 (x264 open-gop, B-frames, a keyframe per 2 s)."""
    out = tmp_path_factory.mktemp("opengop") / "open_gop.mp4"
    _ffmpeg(
        "-ss", "10", "-t", "12", "-i", str(SAMPLE), "-an", "-vf", "scale=320:180",
        "-c:v", "libx264", "-preset", "veryfast",
        "-x264-params", "open-gop=1:keyint=48:min-keyint=48:bframes=3", str(out),
    )  # fmt: skip
    return out


def test_open_gop_boundaries_are_decoded_on(open_gop: Path) -> None:
    plan = small.plan_chunks(open_gop, 2)
    assert len(plan.chunks) >= 2
    # a keyframe with leading pictures: the chunk before it decodes on past it
    assert any(c.open_end for c in plan.chunks)
    assert [c.open_end for c in plan.chunks[:-1]] == [c.open_start for c in plan.chunks[1:]]
    seq = scores.frame_features(small.read_small_frames(open_gop))
    par = scores.decode_features(open_gop, workers=2)
    assert par.chunks == len(plan.chunks)  # no fallback to one sequential decode
    assert np.array_equal(seq, par.features)


def test_chunks_decode_every_frame_once(clip: Path) -> None:
    plan = small.plan_chunks(clip, 2)
    decoders = small.ChunkDecoders(clip)
    try:
        parts = [list(small.iter_chunk(decoders, c, small.ANALYSIS_SIZE)) for c in plan.chunks]
    finally:
        decoders.close()
    assert [len(p) for p in parts] == [c.frames for c in plan.chunks]
    whole = list(small.read_small_frames(clip))
    assert np.array_equal(np.stack([f for p in parts for f in p]), np.stack(whole))


def test_raw_reader_agrees_with_pyav_reader(clip: Path, raw: Path) -> None:
    from_raw = np.stack(list(small.read_small_frames_raw(raw)))
    from_av = np.stack(list(small.read_small_frames(clip)))
    assert from_raw.shape == from_av.shape
    # different scalers (swscale area vs ours): close, not identical
    assert np.abs(from_raw.astype(int) - from_av.astype(int)).mean() < 8.0
    feats = scenes.features_from_raw(raw)
    by_raw = scenes.result_from_features(feats, Fraction(24))
    by_av = scenes.detect(clip)
    assert by_raw.cuts == by_av.cuts == tuple(CLIP_CUTS)
    assert by_raw.transitions == by_av.transitions == ()
    assert feats.shape == by_av.features.shape
    assert by_raw.frame_count == by_av.frame_count
    assert by_raw.fps == Fraction(24)


def test_raw_reader_ignores_partial_trailing_frame(tmp_path: Path) -> None:
    w, h = small.ANALYSIS_SIZE
    f = tmp_path / "x.rgb"
    f.write_bytes(bytes(range(256)) * (w * h * 3 * 2 // 256) + b"\x00" * 10)
    frames = list(small.read_small_frames_raw(f))
    assert len(frames) == 2 and frames[0].shape == (h, w, 3)
    with pytest.raises(DetectError):
        list(small.read_small_frames_raw(tmp_path / "missing.rgb"))


def test_unreadable_input_raises_detect_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    for bad in (text, tmp_path / "missing.mp4"):
        with pytest.raises(DetectError) as info:
            scenes.detect(bad)
        assert "\n" not in str(info.value) and str(info.value)
    audio = tmp_path / "tone.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac", str(audio))
    with pytest.raises(DetectError, match="no video stream"):
        scenes.detect(audio)


def test_cli_json_and_bad_file(clip: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from heaters.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["detect", str(clip), "--json", "--no-progress"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["cuts"] == CLIP_CUTS and out["frame_count"] == CLIP_FRAMES
    assert out["fps"] == 24.0 and out["fps_rational"] == "24/1"
    assert out["detector"] == scenes.DETECTOR_NAME and out["transitions"] == []
    assert len(out["cut_confidence"]) == 2
    assert all(0.5 <= c <= 1.0 for c in out["cut_confidence"])
    res = runner.invoke(app, ["detect", str(clip), "--csv", "--no-progress"])
    assert res.exit_code == 0, res.output
    rows = res.stdout.strip().splitlines()
    assert rows[0] == "type,start_frame,end_frame,kind,confidence,seconds"
    assert [r.split(",")[:3] for r in rows[1:]] == [["cut", "100", "100"], ["cut", "150", "150"]]
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    res = runner.invoke(app, ["detect", str(bad), "--json"])
    assert res.exit_code == 2
