"""Opening a media file's video stream, and writing a file whole: the steps the media
functions share (each raises its own error type, with the same wording)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def av_reason(exc: BaseException) -> str:
    """One-line text of a PyAV/OS error (the FFmpeg message without errno or path)."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0].strip()


@contextmanager
def open_video(
    path: Path | str, error: Callable[[str], Exception], what: str
) -> Iterator[tuple[Any, Any]]:
    """``(container, stream)``: ``path`` opened for reading and its first video stream,
    closed when the block ends.

    Raises ``error("cannot read {what}: {reason}")`` when it cannot be opened and
    ``error("{what} has no video stream")`` when it has none (``what``: how the message names
    the file, e.g. ``"the proxy clip.mp4"``).
    """
    import av  # here: the storage uses this module too, and needs no PyAV
    import av.error

    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError) as exc:
        raise error(f"cannot read {what}: {av_reason(exc)}") from None
    with container:
        if not container.streams.video:
            raise error(f"{what} has no video stream")
        yield container, container.streams.video[0]


@contextmanager
def written_whole(out: Path, *, unique: bool = False) -> Iterator[Path]:
    """The path to write ``out`` at: a hidden ``.{name}.part`` beside it, moved onto ``out``
    when the block ends without an error and removed in any case, so ``out`` is never seen
    half-written. ``unique``: ``.{name}.{random hex}.part``, for a file that several writers
    may make at once (a storage object)."""
    part = out.with_name(f".{out.name}.{uuid.uuid4().hex}.part" if unique else f".{out.name}.part")
    try:
        yield part
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
