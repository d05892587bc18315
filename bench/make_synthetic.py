"""Build the synthetic benchmark video whose cuts are known by construction.

Segments are cut out of single shots of the sample (shot bounds from the hand-labelled
``bench/ground_truth/big_buck_bunny_action_59s.json``, kept 2 frames away from every real cut,
so no segment contains a cut), optionally transformed (horizontal flip, 80 % centre crop,
brightness/contrast/saturation change) and concatenated with ffmpeg's ``trim``/``concat``
filters into one re-encoded H.264 video. Consecutive segments always come from different
shots, so every join is a visible hard cut and nothing else is. Shot lengths are drawn from a
fixed list that includes a few short (9–12 frame) shots, as in real action editing.

Everything is deterministic (fixed seed). Writes ``bench/out/synthetic_<name>.mp4`` (git-ignored)
and ``bench/ground_truth/synthetic_<name>.json`` (the cut list), then checks frame by frame
(64×36 RGB, PyAV) that the output frames match the source frames they were made from.

Usage: ``python bench/make_synthetic.py [--name a] [--seed 7] [--segments 60]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "big_buck_bunny_action_59s.mp4"
GT = ROOT / "bench" / "ground_truth" / "big_buck_bunny_action_59s.json"
MARGIN = 2
LENGTHS = [9, 12, 16, 20, 24, 30, 36, 48, 60, 72]
TRANSFORMS = {
    "none": "",
    "hflip": ",hflip",
    "crop": ",crop=iw*0.8:ih*0.8,scale=1280:720",
    "eq": ",eq=brightness=0.06:contrast=1.15:saturation=1.3",
}


def plan(seed: int, segments: int) -> list[dict[str, object]]:
    """Choose (source start, length, transform) for every segment, deterministically."""
    gt = json.loads(GT.read_text())
    bounds = [0, *gt["cuts"], gt["frame_count"]]
    shots = list(itertools.pairwise(bounds))
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    prev_shot = -1
    while len(out) < segments:
        length = rng.choice(LENGTHS)
        usable = [
            i
            for i, (a, b) in enumerate(shots)
            if i != prev_shot and (b - MARGIN) - (a + MARGIN) >= length
        ]
        i = rng.choice(usable)
        a, b = shots[i]
        start = rng.randrange(a + MARGIN, b - MARGIN - length + 1)
        out.append(
            {"shot": i, "start": start, "length": length, "transform": rng.choice(list(TRANSFORMS))}
        )
        prev_shot = i
    return out


def build(name: str, seed: int, segments: int) -> Path:
    """Render the video and write its ground truth; returns the video path."""
    segs = plan(seed, segments)
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / f"synthetic_{name}.mp4"
    parts = []
    for j, s in enumerate(segs):
        start, length = int(str(s["start"])), int(str(s["length"]))
        parts.append(
            f"[0:v]trim=start_frame={start}:end_frame={start + length},setpts=PTS-STARTPTS"
            f"{TRANSFORMS[str(s['transform'])]},setsar=1,format=yuv420p[v{j}]"
        )
    graph = ";".join(parts) + ";" + "".join(f"[v{j}]" for j in range(len(segs)))
    graph += f"concat=n={len(segs)}:v=1:a=0[out]"
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-i", str(SAMPLE), "-filter_complex", graph, "-map", "[out]", "-r", "24",
        "-c:v", "libx264", "-preset", "medium", "-crf", "23", "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", str(video),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    lengths = [int(str(s["length"])) for s in segs]
    cuts = [sum(lengths[:j]) for j in range(1, len(lengths))]
    gt = {
        "video": str(video.relative_to(ROOT)),
        "frame_count": sum(lengths),
        "fps": "24/1",
        "cuts": cuts,
        "convention": "frame numbers from 0 in decode order; a cut k means frame k is the "
        "first frame of the new shot",
        "method": f"synthetic by construction: bench/make_synthetic.py --name {name} "
        f"--seed {seed} --segments {segments}",
        "segments": segs,
    }
    (ROOT / "bench" / "ground_truth" / f"synthetic_{name}.json").write_text(
        json.dumps(gt, indent=1) + "\n"
    )
    verify(video, segs)
    return video


def verify(video: Path, segs: list[dict[str, object]]) -> None:
    """Check the output has the planned frames and untransformed segments match the source."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from heaters.media.frames import read_small_frames

    src = np.stack(list(read_small_frames(SAMPLE))).astype(np.int16)
    out = np.stack(list(read_small_frames(video))).astype(np.int16)
    total = sum(int(str(s["length"])) for s in segs)
    if out.shape[0] != total:
        raise SystemExit(f"{video}: {out.shape[0]} frames, planned {total}")
    pos = 0
    worst = 0.0
    for s in segs:
        start, length = int(str(s["start"])), int(str(s["length"]))
        if s["transform"] == "none":
            for k in (0, length - 1):
                d = float(np.abs(out[pos + k] - src[start + k]).mean())
                others = [
                    float(np.abs(out[pos + k] - src[start + k + o]).mean())
                    for o in (-1, 1)
                    if 0 <= start + k + o < src.shape[0]
                ]
                worst = max(worst, d)
                if d > 6.0 or any(o < d for o in others):
                    raise SystemExit(f"{video}: frame {pos + k} is not source frame {start + k}")
        pos += length
    print(f"{video}: {total} frames, {len(segs) - 1} cuts, verified (worst diff {worst:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", default="a")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--segments", type=int, default=60)
    args = ap.parse_args()
    build(args.name, args.seed, args.segments)


if __name__ == "__main__":
    main()
