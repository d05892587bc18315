"""Submitting sources: record a video as ``new``, or find the one already ingested."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from heaters.db import Database
from heaters.domain.states import VideoState
from heaters.errors import HeatersError


class SubmitError(HeatersError):
    """A source that cannot even be recorded (a missing file, an unsupported URL scheme)."""


@dataclass(frozen=True)
class Submission:
    """The video a source maps to; ``existing`` when it had been ingested before."""

    video_id: int
    source: str
    existing: bool
    state: str


def is_url(source: str) -> bool:
    """True for ``http://`` and ``https://`` sources."""
    return urlparse(source).scheme in ("http", "https")


def _check_file(source: str) -> tuple[Path, str]:
    """Resolve a local source and hash it (blocking: run in a thread)."""
    from heaters.media.download import sha256_file

    p = Path(source).expanduser()
    if not p.exists():
        raise SubmitError(f"file not found: {source}")
    if not p.is_file():
        raise SubmitError(f"not a regular file: {source}")
    return p.resolve(), sha256_file(p)


async def submit(db: Database, source: str, title: str | None = None) -> Submission:
    """Record ``source`` (an http(s) URL or a local file path) as a new video.

    A file's title is its name without the suffix unless ``title`` is given (an API upload
    passes the name it was sent with, not the spooled file's).

    A URL already submitted, or a file whose sha256 matches a video already ingested, is not
    recorded again: the existing video is returned with ``existing=True``.

    Raises
    ------
    SubmitError
        If a local path does not exist, is not a regular file, or a URL's scheme is not
        http(s).
    """
    if is_url(source):
        url, path, sha256, title = source, None, None, None
    else:
        if "://" in source:
            raise SubmitError(f"unsupported source {source!r}: give an http(s) URL or a file path")
        p, sha256 = await asyncio.to_thread(_check_file, source)
        url, path = None, str(p)
        title = title or p.stem
    async with db.transaction() as conn:
        new_id = await db.q.insert_video(
            conn, source_url=url, source_path=path, sha256=sha256, title=title
        )
        if new_id is not None:
            return Submission(new_id, source, existing=False, state=VideoState.NEW)
        dup = await db.q.find_duplicate(conn, source_url=url, sha256=sha256)
    if dup is None:  # pragma: no cover - a conflict implies a row
        raise SubmitError(f"could not record {source}")
    return Submission(dup["id"], source, existing=True, state=dup["state"])
