"""An ffmpeg started by :func:`heaters.media.ffmpeg.run_ffmpeg` dies with the process that
started it, even one killed by SIGKILL, and starting it runs no Python between ``fork`` and
``exec`` (a ``preexec_fn`` in a process whose other threads hold locks can hang the child
for ever: the segmented preprocess did, in CI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from heaters.children import with_parent_death
from tests.conftest import REPO, wait_for

pytestmark = pytest.mark.skipif(
    not with_parent_death(["x"])[:-1], reason="no setpriv --pdeathsig on this machine"
)

_PARENT = """
import asyncio, threading
from heaters.media.ffmpeg import run_ffmpeg

def busy():  # other threads allocating and taking locks while the loop forks
    while True:
        bytearray(1 << 16)

for _ in range(4):
    threading.Thread(target=busy, daemon=True).start()
asyncio.run(run_ffmpeg(["-f", "lavfi", "-i", "testsrc=s=320x240:r=30", "-t", "600",
                        "-f", "null", "-"]))
"""


def _ffmpeg_children(pid: int) -> list[psutil.Process]:
    with_cmd: list[psutil.Process] = []
    for child in psutil.Process(pid).children():
        try:
            if "ffmpeg" in Path(child.cmdline()[0]).name:
                with_cmd.append(child)
        except (psutil.Error, IndexError):
            continue
    return with_cmd


def test_ffmpeg_dies_with_its_sigkilled_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], cwd=REPO)
    try:
        found: list[psutil.Process] = []

        def running() -> bool:  # /proc/PID/cmdline reads empty for an instant around exec
            found[:] = _ffmpeg_children(parent.pid)
            return bool(found)

        wait_for(running, "the ffmpeg to run")
        [child] = found
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)

        def gone() -> bool:
            try:
                return child.status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return True

        wait_for(gone, "the ffmpeg to die with its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_the_command_is_ffmpeg_behind_setpriv() -> None:
    cmd = with_parent_death(["ffmpeg", "-version"])
    assert cmd[-2:] == ["ffmpeg", "-version"]
    assert Path(cmd[0]).name == "setpriv" and cmd[1:4] == ["--pdeathsig", "KILL", "--"]
