"""``heaters ingest --wait`` progress (issue 23, part 4): frames, fps and ETA per stage, and
plain lines when stderr is not a terminal (the real run: tests/api/test_first_run.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from heaters.cli.ingest import PlainProgress, frames_text
from heaters.pipeline import progress
from heaters.pipeline.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _run(stage: str, done: int, total: int | None, seconds: float) -> Progress:
    p = Progress(stage, "video", 3, total, started=0.0)
    p.done, p.updated = done, seconds
    return p


def test_frames_fps_and_eta() -> None:
    assert frames_text(_run("preprocess", 400, 1600, 4.0)) == (
        "400/1600 frames (25%), 100.0 fps, ETA 12 s"
    )
    assert frames_text(_run("preprocess", 0, None, 0.0)) == "0 frames"
    assert (
        frames_text(_run("detect", 100, 10_000, 1.0))
        == "100/10000 frames (1%), 100.0 fps, ETA 1:39"
    )
    assert frames_text(_run("detect", 50, 50, 0.5)) == "50/50 frames (100%), 100.0 fps"


def test_plain_lines_per_state_every_few_seconds_and_per_finished_stage() -> None:
    lines: list[str] = []
    clock = Clock()
    plain = PlainProgress(lines.append, every=5.0, clock=clock)
    plain.update(3, "downloaded", {})
    plain.update(3, "downloaded", {})  # nothing new
    pre = _run("preprocess", 0, 1600, 0.0)
    plain.update(3, "preprocessing", {"preprocess": pre})
    pre.done, pre.updated = 400, 4.0
    clock.now += 4.9
    plain.update(3, "preprocessing", {"preprocess": pre})  # under 5 s since the last line
    clock.now += 0.1
    plain.update(3, "preprocessing", {"preprocess": pre})
    pre.done, pre.updated = 1600, 16.0
    det = _run("detect", 1600, 1600, 0.2)
    plain.update(3, "detected", {"preprocess": pre, "detect": det})  # detecting not seen
    plain.update(3, "detected", {"preprocess": pre, "detect": det})
    assert lines == [
        "video 3: downloaded",
        "video 3: preprocessing",
        "video 3: preprocess 400/1600 frames (25%), 100.0 fps, ETA 12 s",
        "video 3: preprocess done: 1600 frames in 16.0 s, 100.0 fps",
        "video 3: detect done: 1600 frames in 0.2 s, 8000.0 fps",
        "video 3: detected",
    ]


def test_only_watched_items_are_kept_and_the_pool_reports_through_a_file(tmp_path: Path) -> None:
    assert progress.start("preprocess", "video", 77, 10) is not None
    assert progress.of("video", 77) == {}  # not watched: nothing kept
    progress.watch("video", 77)
    try:
        p = progress.start("detect", "video", 77, 10)
        assert progress.of("video", 77) == {"detect": p}

        async def relay() -> None:
            async with progress.relayed(p, tmp_path, every=0.01) as on_progress:
                assert isinstance(on_progress, progress.FileCounter)
                on_progress(7)  # as a process-pool function would
                while p.done != 7:
                    await asyncio.sleep(0.01)

        asyncio.run(asyncio.wait_for(relay(), 30))
        assert p.done == 7 and p.fps is not None
    finally:
        progress.unwatch("video", 77)
    assert progress.of("video", 77) == {}


def test_a_segmented_preprocess_is_shown_by_its_encoded_segments() -> None:
    lines: list[str] = []
    clock = Clock()
    plain = PlainProgress(lines.append, every=5.0, clock=clock)
    seg = _run("segments", 500, 2000, 5.0)
    plain.update(3, "segmenting", {"segments": seg})
    clock.now += 5
    plain.update(3, "segmenting", {"segments": seg})
    seg.done, seg.updated = 2000, 20.0
    plain.update(3, "preprocessed", {"segments": seg})
    assert lines == [
        "video 3: encoding segments",
        "video 3: segments 500/2000 frames (25%), 100.0 fps, ETA 15 s",
        "video 3: segments done: 2000 frames in 20.0 s, 100.0 fps",
        "video 3: preprocessed",
    ]
