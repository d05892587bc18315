"""Benchmark: milliseconds per frame of the default image embedder (EfficientNet-Lite0).

Decodes ``--frames`` real frames (1280×720) spread over the sample video with PyAV, then
times ``EfficientNetLite0Embedder.embed_images`` on them (cv2 resize to 224×224 included,
decoding excluded) in batches of ``--batch-size`` (8), ``--runs`` times after one warm-up
batch, for each torch thread count in ``--threads`` (default: 2 and 1). Prints one JSON line
per thread count: median ms per frame over the runs, the best run, model load seconds, and
the 1-minute load average (other processes on the machine slow torch's threads down a lot).

Usage::

    python bench/embed.py [--video PATH] [--frames 64] [--batch-size 8] [--runs 3]
                          [--threads 2,1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import av
import numpy as np
import torch

from heaters.embeddings import EfficientNetLite0Embedder

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO / "samples" / "big_buck_bunny_action_59s.mp4"


def decode_frames(video: Path, count: int) -> list[np.ndarray]:
    """``count`` RGB frames evenly spread over the video (decode order, counted from 0)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        total = stream.frames or 1000
        wanted = set(np.linspace(0, total - 1, count).astype(int).tolist())
        frames = []
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == len(wanted):
                break
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=lambda s: [int(x) for x in s.split(",")], default=[2, 1])
    args = parser.parse_args()

    frames = decode_frames(args.video, args.frames)
    t0 = time.perf_counter()
    embedder = EfficientNetLite0Embedder(batch_size=args.batch_size)
    load_s = time.perf_counter() - t0
    for threads in args.threads:
        torch.set_num_threads(threads)
        embedder.embed_images(frames[: args.batch_size])  # warm-up (allocator, kernels)
        per_frame = []
        for _ in range(args.runs):
            t = time.perf_counter()
            vectors = embedder.embed_images(frames)
            per_frame.append((time.perf_counter() - t) * 1000.0 / len(frames))
        assert vectors.shape == (len(frames), embedder.dim)
        print(
            json.dumps(
                {
                    "bench": "embed",
                    "model": embedder.name,
                    "frames": len(frames),
                    "frame_size": list(frames[0].shape),
                    "batch_size": args.batch_size,
                    "threads": threads,
                    "ms_per_frame": round(statistics.median(per_frame), 1),
                    "ms_per_frame_best": round(min(per_frame), 1),
                    "frames_per_second": round(1000.0 / statistics.median(per_frame), 1),
                    "load_seconds": round(load_s, 2),
                    "cpus": os.cpu_count(),
                    "loadavg_1m": round(os.getloadavg()[0], 2),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
