"""Run the ffmpeg binary that ships with ``imageio-ffmpeg`` as an asyncio subprocess.

Nothing here needs a system ffmpeg: :func:`ffmpeg_exe` returns the path of the binary in the
``imageio-ffmpeg`` wheel, and :func:`run_ffmpeg` runs it without blocking the event loop.
Every ffmpeg started here dies with the process that started it, even one killed by SIGKILL
(``PR_SET_PDEATHSIG`` through ``setpriv``, see :mod:`heaters.children`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import subprocess
from collections import deque
from collections.abc import Callable, Sequence

import imageio_ffmpeg

from heaters.children import with_parent_death
from heaters.errors import MediaError, PreprocessError

__all__ = ["ffmpeg_exe", "last_error_line", "run_ffmpeg", "run_ffmpeg_sync"]

#: Options put in front of every command: no stdin, no banner, errors only, overwrite outputs.
BASE_ARGS: tuple[str, ...] = ("-nostdin", "-hide_banner", "-loglevel", "error", "-y")

_STDERR_KEEP = 50


@functools.cache
def ffmpeg_exe() -> str:
    """Return the path of the ffmpeg binary shipped by ``imageio-ffmpeg``.

    Returns
    -------
    str
        Absolute path of an executable ffmpeg (cached after the first call).
    """
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def last_error_line(stderr: str | Sequence[str]) -> str:
    """Pick the last meaningful line of ffmpeg's stderr.

    Parameters
    ----------
    stderr
        The whole stderr text, or its lines.

    Returns
    -------
    str
        The last non-blank line that is not a bare "Conversion failed!"/"Error …" summary when a
        more specific line precedes it; ``""`` when stderr is empty.
    """
    lines = stderr.splitlines() if isinstance(stderr, str) else list(stderr)
    kept = [line.strip() for line in lines if line.strip()]
    if not kept:
        return ""
    generic = ("Conversion failed!", "Exiting normally")
    specific = [line for line in kept if not line.startswith(generic)]
    return (specific or kept)[-1]


async def run_ffmpeg(
    args: Sequence[str],
    *,
    error: type[MediaError] = PreprocessError,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Run ffmpeg with ``args`` and wait for it to finish.

    The command is ``ffmpeg -nostdin -hide_banner -loglevel error -y [-progress pipe:1] *args``.
    stdout (progress) and stderr are read concurrently, so the child never blocks on a full
    pipe.

    Parameters
    ----------
    args
        Arguments after the program name and the base options (inputs, filters, outputs).
    error
        The :class:`~heaters.errors.MediaError` subclass to raise when ffmpeg fails.
    on_progress
        Called with the number of frames written so far (int, frames of the first video output)
        each time ffmpeg reports progress (about twice a second), and once more at the end.

    Raises
    ------
    MediaError
        An instance of ``error`` when ffmpeg exits non-zero (or cannot be started); the message
        is ``"ffmpeg failed (exit N): <last meaningful stderr line>"``.
    asyncio.CancelledError
        Re-raised after the child has been killed and reaped, when the awaiting task is
        cancelled.
    """
    cmd = [ffmpeg_exe(), *BASE_ARGS]
    if on_progress is not None:
        cmd += ["-progress", "pipe:1", "-stats_period", "0.5"]
    cmd += list(args)
    stdout = asyncio.subprocess.PIPE if on_progress is not None else asyncio.subprocess.DEVNULL
    try:
        proc = await asyncio.create_subprocess_exec(
            *with_parent_death(cmd),  # killed with this process, even by SIGKILL
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise error(f"cannot start ffmpeg: {exc.strerror or exc}") from exc

    stderr_tail: deque[str] = deque(maxlen=_STDERR_KEEP)

    async def read_stderr() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            stderr_tail.append(raw.decode("utf-8", "replace").rstrip())

    async def read_progress() -> None:
        if proc.stdout is None:
            return
        last = -1
        async for raw in proc.stdout:
            line = raw.decode("ascii", "replace").strip()
            if on_progress is not None and line.startswith("frame="):
                try:
                    frames = int(line.partition("=")[2])
                except ValueError:
                    continue
                if frames != last:
                    last = frames
                    on_progress(frames)

    readers = asyncio.gather(read_stderr(), read_progress())
    try:
        await readers
        code = await proc.wait()
    except BaseException:
        # Cancellation (or a failing progress callback): never leave the child running.
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            # Reap it even if we are being cancelled again.
            with contextlib.suppress(BaseException):
                await asyncio.shield(proc.wait())
        readers.cancel()
        with contextlib.suppress(BaseException):
            await readers
        raise
    if code != 0:
        reason = last_error_line(list(stderr_tail)) or "no error message"
        raise error(f"ffmpeg failed (exit {code}): {reason}")


def run_ffmpeg_sync(
    args: Sequence[str],
    *,
    error: type[MediaError] = PreprocessError,
    timeout: float | None = None,
) -> None:
    """Run ffmpeg with ``args`` and wait (blocking), for code that already runs in a worker.

    Parameters
    ----------
    args
        Arguments after the program name and the base options.
    error
        The :class:`~heaters.errors.MediaError` subclass to raise when ffmpeg fails.
    timeout
        Seconds before the child is killed (None: no limit).

    Raises
    ------
    MediaError
        An instance of ``error``: ``"ffmpeg failed (exit N): <last meaningful stderr line>"``,
        ``"ffmpeg timed out after T s"`` or ``"cannot start ffmpeg: …"``.
    """
    cmd = [ffmpeg_exe(), *BASE_ARGS, *args]
    try:
        done = subprocess.run(
            with_parent_death(cmd),  # killed with this process, even by SIGKILL
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise error(f"ffmpeg timed out after {timeout:g} s") from None
    except OSError as exc:
        raise error(f"cannot start ffmpeg: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        reason = last_error_line(stderr) or "no error message"
        raise error(f"ffmpeg failed (exit {done.returncode}): {reason}")
