"""The one root of temporary files, with a folder per live worker process.

Each worker process works under ``TMP_ROOT/w{pid}``; at start-up the folders of processes that
no longer run (a worker killed mid-job) are removed, so a crash leaves no stray files while
other workers on the same machine keep theirs. Before that, processes a dead worker left
running (an ffmpeg still writing into its folder) are killed (:mod:`heaters.children`).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from heaters.children import kill_orphans

log = logging.getLogger(__name__)


class TempRoot:
    """Temporary folders of this process under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mine = root / f"w{os.getpid()}"

    def clean_dead(self) -> list[Path]:
        """Kill what dead workers left running, then remove their folders; return the folders."""
        kill_orphans()
        removed: list[Path] = []
        if not self.root.exists():
            return removed
        for child in self.root.iterdir():
            name = child.name
            if not (name.startswith("w") and name[1:].isdigit()):
                continue
            if int(name[1:]) == os.getpid() or psutil.pid_exists(int(name[1:])):
                continue
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
        if removed:
            log.info("removed temp folders of dead workers: %s", [p.name for p in removed])
        return removed

    @contextmanager
    def job_dir(self, name: str) -> Iterator[Path]:
        """A fresh folder for one job, removed when the block ends (whatever the outcome)."""
        path = self.mine / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
