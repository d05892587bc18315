"""The pure calibration layer (issue 22): folding labels, scoring against them, the search
moving a threshold only when it helps, and the memo of the dissolve search being exact."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from heaters.media import calibrate, scenes
from heaters.media.boundaries import SceneResult, Transition
from heaters.media.calibrate import Counts, LabelledVideo, fold_labels, score


def _result(cuts: tuple[int, ...], spans: tuple[tuple[int, int], ...] = ()) -> SceneResult:
    return SceneResult(
        detector="t", frame_count=100, fps=Fraction(24), cuts=cuts,
        cut_confidence=tuple(1.0 for _ in cuts),
        transitions=tuple(Transition(a, b, "dissolve", 1.0) for a, b in spans),
    )  # fmt: skip


def test_later_labels_win() -> None:
    rows = [
        (10, 11, "cut"),
        (20, 21, "cut"),
        (1, 30, "not_cut"),
        (20, 21, "cut"),
        (40, 50, "gradual"),
    ]
    cuts, not_cut, gradual = fold_labels(rows, 100)
    assert cuts == (20,) and gradual == ((40, 50),)  # the approval after the split at 10 ...
    assert not_cut[10] and not not_cut[20] and not not_cut[0]  # ... says there is no cut there
    with pytest.raises(ValueError, match="unknown boundary label"):
        fold_labels([(1, 2, "maybe")], 10)


def test_score_counts_only_what_the_labels_judge() -> None:
    nc = np.zeros(100, bool)
    nc[50:70] = True
    v = LabelledVideo(1, np.zeros((100, 1), np.float32), Fraction(24), (10, 30), nc, ((80, 90),))
    # 11: cut 10 found one frame off; 30 missed; 60: false (reviewers said no cut there);
    # 40: nobody looked, not counted; the span finds the gradual label
    got = score(_result((11, 40, 60), ((81, 89),)), v, tol=1)
    assert got == Counts(tp=2, fp=1, fn=1)
    assert score(_result((12,)), v, tol=1).tp == 0 and score(_result((12,)), v, tol=2).tp == 1
    assert got.as_dict()["f1"] == round(2 * (2 / 3) * (2 / 3) / (4 / 3), 4)


def test_the_gradual_cache_keys_on_what_the_search_reads() -> None:
    """``gradual.PARAMS_READ`` is every DetectorParams field ``search_gradual`` reads (from
    its code, so the cache key follows the detector as it changes), and it never hands
    ``params`` on whole (then every field could matter)."""
    import ast
    import inspect
    import textwrap

    from heaters.media import gradual

    tree = ast.parse(textwrap.dedent(inspect.getsource(gradual.search_gradual)))
    read = {
        n.attr for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "params"
    }  # fmt: skip
    uses = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "params"]
    assert len(uses) == sum(
        1 for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "params"
    ), "params handed on whole"  # fmt: skip
    assert read == set(gradual.PARAMS_READ)


def test_fit_recovers_from_a_blind_start(devset_features: tuple[np.ndarray, list[int]]) -> None:
    feats, cuts = devset_features
    nc = np.ones(len(feats), bool)
    nc[cuts] = False
    v = LabelledVideo("v", feats, Fraction(24), tuple(cuts), nc)
    blind = scenes.DetectorParams(min_scene_len=100_000)
    cal = calibrate.calibrate([v], blind, space={"min_scene_len": (8,), "threshold": (3.0,)})
    assert cal.cross_validated and cal.units == "parts"
    assert cal.before.f1 == 0.0 and cal.after.f1 > 0.8 and cal.improves
    assert cal.params.min_scene_len == 8
    # the memoised search gives what the detector gives
    direct = scenes.result_from_features(feats, Fraction(24), cal.params)
    assert calibrate.Evaluator([v]).result(0, cal.params).cuts == direct.cuts


@pytest.fixture(scope="module")
def devset_features(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, list[int]]:
    """Features of an 8 s cut of the sample and its detected cuts (all right: tests/test_scenes)."""
    from tests.conftest import SAMPLE, ffmpeg

    out: Path = tmp_path_factory.mktemp("cal") / "bbb.mp4"
    ffmpeg("-ss", "10", "-i", str(SAMPLE), "-t", "8", "-vf", "scale=320:180", "-an",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", str(out))  # fmt: skip
    feats = scenes.decode_features(out)
    return feats, list(scenes.result_from_features(feats, Fraction(24)).cuts)
