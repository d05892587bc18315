"""Child processes die with the worker that started them.

Two layers, so that a worker killed by SIGKILL (no clean-up code runs) leaves nothing behind:

1. **Parent-death signal.** On Linux every child Heaters starts itself (each ffmpeg, each
   process of the process pool) asks the kernel, with ``prctl(PR_SET_PDEATHSIG, SIGKILL)``,
   to be killed the moment its parent dies: a pool process itself (:func:`die_with_parent`,
   the pool's ``initializer``), an ffmpeg through util-linux's ``setpriv --pdeathsig KILL``
   put in front of its command (:func:`with_parent_death`), which sets the signal and then
   executes it. Not a ``preexec_fn``: Python code run between ``fork`` and ``exec`` in a
   process with other threads can wait forever on a lock one of them held at the fork (the
   segmented preprocess hung that way, an ffmpeg for its audio forked while other threads
   encoded). The signal follows the *thread* that started the child: Heaters starts them
   from the event loop's thread or from a pool process's main thread, which live as long as
   the process. Where ``setpriv`` is missing the command runs as it is, and layer 2 remains.
2. **A mark in the environment.** :func:`mark_worker` puts ``HEATERS_WORKER=<pid>`` into the
   worker's environment, which every descendant inherits, including those started by
   libraries (yt-dlp's ffmpeg, multiprocessing's resource tracker) where no such wrapper
   can be given. A new worker's start-up kills, with :func:`kill_orphans`, every process
   still marked with a dead worker's PID before that worker's temp folder is removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

import psutil

log = logging.getLogger(__name__)

__all__ = [
    "MARK_ENV",
    "die_with_parent",
    "kill_orphans",
    "mark_worker",
    "pool_child",
    "with_parent_death",
]

#: Environment variable holding the PID of the worker process a process belongs to.
MARK_ENV = "HEATERS_WORKER"

_PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (Linux only), looked up once, before any fork needs it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    fn: Callable[..., int] = libc.prctl
    return fn


def _pdeathsig(prctl: Callable[..., int], parent_pid: int | None) -> None:
    prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request: the signal would never come


def die_with_parent(parent_pid: int | None = None) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; elsewhere a no-op).

    If the parent died before the request was made (``getppid()`` is no longer
    ``parent_pid``), exit at once: the signal would never come.
    """
    prctl = _prctl()
    if prctl is not None:
        _pdeathsig(prctl, parent_pid)


def _exit_on_sigint(signum: int, frame: object) -> None:
    os._exit(128 + signum)


def pool_child(parent_pid: int | None = None) -> None:
    """The initializer of a worker's process-pool processes: :func:`die_with_parent`, and
    SIGINT ends the process at once, quietly. A Ctrl-C reaches the whole process group: the
    worker handles it (a clean stop that puts its items back), a pool process just goes (it
    would otherwise print a ``KeyboardInterrupt`` traceback, or, ignoring it, keep the
    worker's exit waiting for its task). The pool starts its processes with SIGINT blocked
    (``heaters.pipeline.runtime``), unblocked here once handled."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, _exit_on_sigint)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@functools.cache
def _setpriv() -> tuple[str, ...]:
    """``setpriv --pdeathsig KILL --`` where util-linux's ``setpriv`` (2.33 or later) is on
    the ``PATH`` (Linux), else nothing; looked up once."""
    exe = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if exe is None:
        return ()
    try:
        probe = subprocess.run(
            [exe, "--help"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    if b"--pdeathsig" not in probe.stdout:
        log.warning("%s has no --pdeathsig: children started now may outlive a killed worker", exe)
        return ()
    return (exe, "--pdeathsig", "KILL", "--")


def with_parent_death(cmd: Sequence[str]) -> list[str]:
    """``cmd`` (program and arguments) run so that the kernel SIGKILLs it when the thread that
    starts it dies: behind ``setpriv --pdeathsig KILL --``, which sets the signal and then
    executes ``cmd`` in its own place (same PID, ``cmd``'s command line). ``cmd`` unchanged
    where there is no such ``setpriv``."""
    return [*_setpriv(), *cmd]


def mark_worker() -> None:
    """Mark this process (and so every descendant started from now on) as this worker's."""
    os.environ[MARK_ENV] = str(os.getpid())


def _marked_pid(proc: psutil.Process) -> int | None:
    with contextlib.suppress(psutil.Error, OSError, ValueError):
        mark = proc.environ().get(MARK_ENV)
        return int(mark) if mark else None
    return None


def kill_orphans() -> list[int]:
    """SIGKILL every process still marked as belonging to a worker that no longer runs.

    Returns the PIDs killed (after waiting up to 5 s for them to go). Processes of live
    workers are never touched; processes whose environment cannot be read (another user's)
    are skipped.
    """
    me = os.getpid()
    victims: list[psutil.Process] = []
    owners: set[int] = set()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        owner = _marked_pid(proc)
        if owner is None or owner == me or psutil.pid_exists(owner):
            continue
        victims.append(proc)
        owners.add(owner)
    for proc in victims:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    _, alive = psutil.wait_procs(victims, timeout=5)
    if alive:
        log.warning("orphans of dead workers still running: %s", [p.pid for p in alive])
    killed = [p.pid for p in victims if p not in alive]
    if killed:
        log.warning("killed processes left by dead workers %s: %s", sorted(owners), killed)
    return killed
