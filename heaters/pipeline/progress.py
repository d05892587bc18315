"""Frames done of a stage run, for ``heaters ingest --wait`` (which runs the workers in its
own process and shows frames, fps and ETA per stage).

A stage asks :func:`start` for a :class:`Progress` and hands its :meth:`Progress.update` to
the media function as ``on_progress`` (preprocess: ffmpeg's frame count; detect: the frames
whose features are measured, when it has to decode). Only the items a reader asked for with
:func:`watch` are kept, so a long-running ``heaters worker`` keeps nothing; a worker in
another process is not seen (the dashboard shows its jobs). A function that runs in the
process pool reports through a file (:func:`relayed`), as a callback cannot cross processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

_WATCHED: dict[tuple[str, int], dict[str, Progress]] = {}


@dataclass
class Progress:
    """One stage run on one item: ``done`` of ``total`` frames (None: not known yet), times
    from ``time.monotonic()`` in seconds."""

    stage: str
    kind: str
    item_id: int
    total: int | None = None
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    updated: float | None = None

    def update(self, done: int) -> None:
        """Frames done so far (the ``on_progress`` callback of the media functions)."""
        self.done = done
        self.updated = time.monotonic()

    def set_total(self, total: int | None) -> None:
        """The frames the run will do (preprocess learns it from its probe)."""
        self.total = total

    @property
    def seconds(self) -> float:
        """Seconds from the start to the last update (0 before the first)."""
        return 0.0 if self.updated is None else max(0.0, self.updated - self.started)

    @property
    def fps(self) -> float | None:
        """Frames per second so far; None before a frame is done."""
        return self.done / self.seconds if self.done and self.seconds > 0 else None

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far; None while the total or the rate is unknown."""
        if self.total is None or self.fps is None:
            return None
        return max(0, self.total - self.done) / self.fps


def watch(kind: str, item_id: int) -> None:
    """Keep the progress of the stage runs on this item from now on."""
    _WATCHED.setdefault((kind, item_id), {})


def unwatch(kind: str, item_id: int) -> None:
    """Forget this item's progress."""
    _WATCHED.pop((kind, item_id), None)


def of(kind: str, item_id: int) -> dict[str, Progress]:
    """The watched item's stage runs, by stage (the latest run of each), in start order."""
    return dict(_WATCHED.get((kind, item_id), {}))


def start(stage: str, kind: str, item_id: int, total: int | None = None) -> Progress:
    """A new run of ``stage`` on the item; kept (replacing the previous run of that stage)
    only when the item is watched."""
    p = Progress(stage, kind, item_id, total)
    runs = _WATCHED.get((kind, item_id))
    if runs is not None:
        runs.pop(stage, None)
        runs[stage] = p
    return p


def is_watched(kind: str, item_id: int) -> bool:
    """Whether a reader wants this item's progress."""
    return (kind, item_id) in _WATCHED


@dataclass(frozen=True)
class FileCounter:
    """A picklable ``on_progress`` for a function run in the process pool: writes the count
    to ``path`` (whole, through a rename), at most every ``every`` seconds."""

    path: str
    every: float = 0.2

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        last = _LAST_WRITE.get(self.path, 0.0)
        if now - last < self.every:
            return
        _LAST_WRITE[self.path] = now
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as f:
            f.write(str(done))
        os.replace(tmp, self.path)


_LAST_WRITE: dict[str, float] = {}


@contextlib.asynccontextmanager
async def relayed(
    progress: Progress, folder: Path, every: float = 0.25
) -> AsyncIterator[Callable[[int], None] | None]:
    """An ``on_progress`` to pass to a process-pool function (None when nobody watches the
    item): it writes to a file in ``folder`` that this reads every ``every`` seconds into
    ``progress`` while the block runs."""
    if not is_watched(progress.kind, progress.item_id):
        yield None
        return
    path = folder / f".progress-{progress.stage}-{progress.item_id}"

    def read() -> None:
        with contextlib.suppress(OSError, ValueError):
            progress.update(int(path.read_text()))

    async def poll() -> None:
        while True:
            await asyncio.sleep(every)
            await asyncio.to_thread(read)

    task = asyncio.create_task(poll())
    try:
        yield FileCounter(str(path))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        read()
