"""Benchmark ``heaters detect`` against PySceneDetect 0.7.2 ``AdaptiveDetector`` (defaults).

Each tool runs as its own subprocess on the same videos in the same run, alternating which
goes first, ``--runs`` times; every measurement is taken by a fresh, short-lived parent
process that starts the tool, waits for it and reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss``,
so the peak RSS is that one tool's. Wall-clock time covers the whole command (interpreter
start-up, imports, decode, detection, output), as a user would see it.

Prints JSON lines:

* one per (video, tool): median wall seconds and fps (frames / wall second), the best run's
  fps (``fps_best``: the run least disturbed on a shared machine), median CPU
  seconds (user + system, all threads: what the run costs when the machine is busy), median
  peak RSS,
  cut count and, where ``bench/ground_truth/*.json`` labels the video, precision/recall/F1 with
  a ±1 frame tolerance (each labelled cut matched at most once);
* one per video with the ratios ours/theirs (fps, peak RSS; ``fps_ratio_paired_median``: the
  median of the per-run ratios, each from two runs back to back, so slow drift of a shared
  machine cancels) and one ``"video": "ALL"`` line over all videos (total frames / total
  median seconds).

Usage::

    python bench/make_synthetic.py            # once: builds bench/out/synthetic_a.mp4
    python bench/detect.py --runs 5 [VIDEO ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GROUND_TRUTH = ROOT / "bench" / "ground_truth"
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


def ours_cmd(video: Path) -> list[str]:
    """``heaters detect VIDEO --json``: the console script installed next to this Python.

    Preferred over ``PATH`` because a version manager's shim there (pyenv: bash + ``pyenv
    exec``) would add ~70 ms that PySceneDetect's ``python -c`` run does not pay.
    """
    beside = Path(sys.executable).with_name("heaters")
    exe = str(beside) if beside.exists() else (shutil.which("heaters") or "heaters")
    return [exe, "detect", str(video), "--json", "--no-progress"]


def theirs_cmd(video: Path) -> list[str]:
    """PySceneDetect's AdaptiveDetector through its Python API, in a fresh interpreter."""
    return [sys.executable, "-c", _PYSCENEDETECT, str(video)]


TOOLS = {"heaters": ours_cmd, "pyscenedetect": theirs_cmd}


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


def ground_truth() -> dict[Path, list[int]]:
    """Labelled cut lists by resolved video path."""
    out: dict[Path, list[int]] = {}
    for f in sorted(GROUND_TRUTH.glob("*.json")):
        gt = json.loads(f.read_text())
        out[(ROOT / gt["video"]).resolve()] = [int(c) for c in gt["cuts"]]
    return out


def prf(pred: list[int], truth: list[int], tol: int = 1) -> dict[str, float]:
    """Precision, recall and F1 with each labelled cut matched at most once within ±tol."""
    free = sorted(truth)
    tp = 0
    for p in sorted(pred):
        near = [t for t in free if abs(t - p) <= tol]
        if near:
            free.remove(min(near, key=lambda t: abs(t - p)))
            tp += 1
    precision = tp / len(pred) if pred else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": len(pred) - tp,
        "fn": len(truth) - tp,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="heaters detect vs PySceneDetect AdaptiveDetector")
    ap.add_argument("videos", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=3, help="runs per (video, tool); median reported")
    args = ap.parse_args()
    videos = [v.resolve() for v in (args.videos or [v for v in DEFAULT_VIDEOS if v.exists()])]
    truth = ground_truth()
    results: dict[tuple[Path, str], list[dict[str, Any]]] = {}
    for run in range(args.runs):
        for i, video in enumerate(videos):
            order = list(TOOLS) if (run + i) % 2 == 0 else list(reversed(TOOLS))
            for tool in order:
                results.setdefault((video, tool), []).append(measure(TOOLS[tool](video)))

    totals: dict[str, dict[str, float]] = {t: {"frames": 0.0, "wall_s": 0.0} for t in TOOLS}
    for video in videos:
        summary: dict[str, dict[str, Any]] = {}
        for tool in TOOLS:
            runs = results[(video, tool)]
            frames = int(runs[0]["out"]["frame_count"])
            cuts = [int(c) for c in runs[0]["out"]["cuts"]]
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
                "deterministic": all(r["out"]["cuts"] == cuts for r in runs),
            }
            if video in truth:
                line.update(prf(cuts, truth[video]))
                line["labelled_cuts"] = len(truth[video])
            summary[tool] = line
            totals[tool]["frames"] += frames
            totals[tool]["wall_s"] += wall
            print(json.dumps(line), flush=True)
        ours, theirs = summary["heaters"], summary["pyscenedetect"]
        ratio: dict[str, Any] = {
            "video": video.name,
            "ratio": "heaters/pyscenedetect",
            "fps_ratio": round(ours["fps"] / theirs["fps"], 2),
            "fps_best_ratio": round(ours["fps_best"] / theirs["fps_best"], 2),
            # run by run (the two ran back to back), so a drift of the machine's speed cancels
            "fps_ratio_paired_median": round(
                statistics.median(
                    t / o for t, o in zip(theirs["wall_s_all"], ours["wall_s_all"], strict=True)
                ),
                2,
            ),
            "peak_rss_ratio": round(ours["peak_rss_mb"] / theirs["peak_rss_mb"], 2),
            "cpu_s_ratio": round(ours["cpu_s"] / theirs["cpu_s"], 2),
        }
        if "f1" in ours:
            ratio["f1"] = {"heaters": ours["f1"], "pyscenedetect": theirs["f1"]}
        print(json.dumps(ratio), flush=True)
    fps = {t: totals[t]["frames"] / totals[t]["wall_s"] for t in TOOLS}
    print(
        json.dumps(
            {
                "video": "ALL",
                "ratio": "heaters/pyscenedetect",
                "fps": {t: round(v, 1) for t, v in fps.items()},
                "fps_ratio": round(fps["heaters"] / fps["pyscenedetect"], 2),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
