"""The dev set's CI subset (``bench/devset/make.py --subset ci``): labels and per-look floors.

One short 160×90 video per look, made here from the sample, FFmpeg lavfi sources and Pillow
frames (no download): letterbox, pillarbox + grain, grain + low bitrate, night grade + shake,
subtitles and lower thirds, flat ramps and title cards with fades, pans and shake, flashes and
strobes, a screen recording, dissolves / fades / wipes. The generator reads every label back
from the frames (it raises when a transition is not where its ``xfade`` put it, or a plain cut
shows mixed frames); here the labels must also equal the committed
``bench/devset/labels_ci.json`` (deterministic), and the fast detector must stay at or above
``FLOORS`` on every look, scored by ``bench/devset/metrics.py`` (the code ``bench/detect.py
--devset`` uses). The floors are what the detector measured when they were set, rounded down;
raise them when the detector improves, never lower them to let a change in.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from heaters.media import scenes

ROOT = Path(__file__).resolve().parents[2]
DEVSET = ROOT / "bench" / "devset"

# look -> the least cut F1, the least boundary recall, the most false cuts on events; measured
# on the fast detector of 2026-12-06 (heaters/media/scenes.py as edited that day), rounded down
FLOORS: dict[str, dict[str, float]] = {
    "plain": {"cut_f1": 0.84, "boundary_rate": 0.74, "false_cuts_on_events": 0},
    "letterbox": {"cut_f1": 0.99, "boundary_rate": 0.49, "false_cuts_on_events": 0},
    "pillarbox_grain": {"cut_f1": 0.99, "boundary_rate": 0.79, "false_cuts_on_events": 0},
    "grain": {"cut_f1": 0.99, "boundary_rate": 0.99, "false_cuts_on_events": 0},
    "dark": {"cut_f1": 0.99, "boundary_rate": 0.82, "false_cuts_on_events": 0},
    "subtitles": {"cut_f1": 0.99, "boundary_rate": 0.99, "false_cuts_on_events": 0},
    "flat": {"cut_f1": 0.99, "boundary_rate": 0.99, "false_cuts_on_events": 0},
    "shake_pan": {"cut_f1": 0.99, "boundary_rate": 0.99, "false_cuts_on_events": 0},
    "flashes": {"cut_f1": 0.99, "boundary_rate": 0.99, "false_cuts_on_events": 0},
    "screen": {"cut_f1": 0.99, "boundary_rate": 0.99, "false_cuts_on_events": 0},
    "transitions": {"cut_f1": 0.99, "boundary_rate": 0.79, "false_cuts_on_events": 0},
    "shadow_zoom": {"cut_f1": 0.99, "boundary_rate": 0.99, "false_cuts_on_events": 0},
}


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def devset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], ModuleType]:
    """The CI subset in a temporary folder, its manifest, and the metrics module."""
    make = _load("devset_make", DEVSET / "make.py")
    out = tmp_path_factory.mktemp("devset")
    manifest: dict[str, Any] = make.build(out, "ci", log=False)
    return out, manifest, _load("devset_metrics", DEVSET / "metrics.py")


def test_ci_subset_covers_every_look_and_its_labels_are_the_committed_ones(
    devset: tuple[Path, dict[str, Any], ModuleType],
) -> None:
    out, manifest, _ = devset
    assert {v["look"] for v in manifest["videos"]} == set(FLOORS)
    for v in manifest["videos"]:
        assert (out / v["path"]).stat().st_size > 0
        for c in v["cuts"]:  # cuts never inside a transition
            assert not any(t["start_frame"] < c < t["end_frame"] for t in v["transitions"])
    kinds = {t["kind"] for v in manifest["videos"] for t in v["transitions"]}
    assert {"dissolve", "wipe", "fade_out", "fade_in"} <= kinds
    events = {e["kind"] for v in manifest["videos"] for e in v["events"]}
    assert {
        "flash",
        "strobe",
        "subtitle",
        "lower_third",
        "pan",
        "shake",
        "flat_ramp",
        "scroll",
        "title",
        "shadow",
        "light",
        "zoom",
    } <= events
    committed = json.loads((DEVSET / "labels_ci.json").read_text())
    make = sys.modules["devset_make"]
    assert make.labels_only(manifest)["videos"] == committed["videos"]


def test_fast_detector_floors_per_look(devset: tuple[Path, dict[str, Any], ModuleType]) -> None:
    out, manifest, metrics = devset
    failures = []
    for v in manifest["videos"]:
        r = scenes.detect(out / v["path"], workers=1)
        assert r.frame_count == v["frame_count"], v["name"]
        pred = {
            "cuts": list(r.cuts),
            "transitions": [
                {"start_frame": t.start_frame, "end_frame": t.end_frame, "kind": t.kind}
                for t in r.transitions
            ],
            "suggestions": [{"frame": g.frame} for g in r.suggestions],
        }
        got = metrics.summarize([metrics.score_video(pred, v)])
        floor = FLOORS[v["look"]]
        if (
            got["cut_f1"] < floor["cut_f1"]
            or got["boundary_rate"] < floor["boundary_rate"]
            or got["false_cuts_on_events"] > floor["false_cuts_on_events"]
        ):
            keys = ("cut_f1", "boundary_rate", "false_cuts_on_events")
            failures.append((v["look"], {k: got[k] for k in keys}, floor, pred["cuts"], v["cuts"]))
    assert not failures, failures
