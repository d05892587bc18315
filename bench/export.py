"""Benchmark: clip export, ``copy`` (remux from the all-I-frame proxy) vs ``master``
(frame-exact re-encode from the master: the original by default, ``--master ffv1`` for an
FFV1 master), and master mode vs the plain ffmpeg CLI doing the same re-encode (``-ss``
input seek on the same master, same codec settings), on the same clips in the same run.

The sample is preprocessed once (master, proxy, frame index) into a temp folder; the clips are
the shots ``heaters detect`` finds in it. Per run, for each clip, the three exports alternate
order. Prints one JSON line per mode with the median seconds of export per second of clip,
then one line with the ratio ours(master)/ffmpeg (target ≤ 1.10). Timing: time.perf_counter.

Usage::

    python bench/export.py [--video PATH] [--runs N] [--clips N] [--preset P] [--master K]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from heaters.media import scenes
from heaters.media.export import (
    EncodeOptions,
    encode_clip_exact,
    master_export_args,
    remux_clip,
)
from heaters.media.ffmpeg import BASE_ARGS, ffmpeg_exe
from heaters.media.preprocess import preprocess

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO / "samples" / "big_buck_bunny_action_59s.mp4"
TARGET_RATIO = 1.10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clips", type=int, default=6, help="how many clips (the longest first)")
    ap.add_argument("--preset", default="medium", help="x264 preset of master exports")
    ap.add_argument("--master", choices=["original", "ffv1"], default="original")
    args = ap.parse_args()
    encode = EncodeOptions(preset=args.preset)

    with tempfile.TemporaryDirectory(prefix="heaters-bench-export-") as tmp_s:
        tmp = Path(tmp_s)
        master, proxy = tmp / "master.mkv", tmp / "proxy.mp4"
        result = asyncio.run(preprocess(args.video, master, proxy, master_mode=args.master))
        if result.master_kind == "original":
            master = args.video
        pts = list(result.frame_index.pts_seconds)
        end = pts[-1] + (pts[-1] - pts[-2])
        cuts = scenes.detect(proxy).cuts
        bounds = [0, *cuts, len(pts)]
        spans = sorted(itertools.pairwise(bounds), key=lambda s: s[0] - s[1])
        spans = spans[: args.clips]
        times: dict[str, list[float]] = {"copy": [], "master": [], "ffmpeg": []}
        clip_seconds = 0.0
        for run in range(args.runs):
            per = {"copy": 0.0, "master": 0.0, "ffmpeg": 0.0}
            for i, (a, b) in enumerate(spans):
                s0, s1 = pts[a], pts[b] if b < len(pts) else end
                if run == 0:
                    clip_seconds += s1 - s0
                half = (pts[a + 1] - pts[a]) / 2

                def ours_copy(a: int = a, b: int = b, s0: float = s0, s1: float = s1) -> None:
                    remux_clip(
                        proxy, tmp / "c.mp4", start_seconds=s0, end_seconds=s1, frame_count=b - a
                    )

                def ours_master(a: int = a, b: int = b, s0: float = s0, s1: float = s1) -> None:
                    encode_clip_exact(
                        master, tmp / "m.mp4", start_seconds=s0, frame_count=b - a,
                        duration_seconds=s1 - s0, encode=encode,
                        prev_seconds=pts[a - 1] if a else None,
                        next_seconds=pts[a + 1] if a + 1 < len(pts) else None,
                    )  # fmt: skip

                def plain(
                    a: int = a, b: int = b, s0: float = s0, s1: float = s1, half: float = half
                ) -> None:
                    subprocess.run([ffmpeg_exe(), *BASE_ARGS, *master_export_args(
                        master, tmp / "f.mp4", seek_seconds=max(s0 - half, 0.0),
                        start_seconds=s0, frame_count=b - a, duration_seconds=s1 - s0,
                        encode=encode,
                    )], check=True)  # fmt: skip

                order = [("copy", ours_copy), ("master", ours_master), ("ffmpeg", plain)]
                if (run + i) % 2:
                    order.reverse()
                for name, fn in order:
                    t0 = time.perf_counter()
                    fn()
                    per[name] += time.perf_counter() - t0
            for name, total in per.items():
                times[name].append(total)
        med = {k: statistics.median(v) for k, v in times.items()}
        for name in ("copy", "master", "ffmpeg"):
            print(json.dumps({
                "bench": "export", "mode": name, "clips": len(spans),
                "clip_seconds": round(clip_seconds, 3), "runs": args.runs,
                "median_seconds": round(med[name], 3),
                "seconds_per_clip_second": round(med[name] / clip_seconds, 4),
            }))  # fmt: skip
        ratio = med["master"] / med["ffmpeg"]
        print(json.dumps({
            "bench": "export", "ratio": "ours_master/ffmpeg", "value": round(ratio, 3),
            "target": TARGET_RATIO, "ok": ratio <= TARGET_RATIO,
            "copy_speedup_vs_master": round(med["master"] / med["copy"], 1),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
