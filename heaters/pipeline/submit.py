"""Submitting sources: record a video as ``new``, or find the one already ingested.

A source is an http(s) URL, a file path (``heaters ingest FILE``: read by the download stage
on whichever worker runs it, so it must be readable there: a shared folder, or the worker on
the same host), or an API upload, put into the storage at once (:func:`submit_upload`) so
that a worker on any machine can fetch it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from heaters.db import Database
from heaters.domain.states import VideoState
from heaters.errors import HeatersError
from heaters.storage.keys import upload_key

if TYPE_CHECKING:
    from heaters.storage import Storage

log = logging.getLogger(__name__)


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
            conn, source_url=url, source_path=path, source_key=None, sha256=sha256, title=title
        )
        if new_id is not None:
            return Submission(new_id, source, existing=False, state=VideoState.NEW)
        dup = await db.q.find_duplicate(conn, source_url=url, sha256=sha256)
    if dup is None:  # pragma: no cover - a conflict implies a row
        raise SubmitError(f"could not record {source}")
    return Submission(dup["id"], source, existing=True, state=dup["state"])


async def submit_upload(
    db: Database,
    storage: Storage,
    local: Path,
    *,
    filename: str,
    sha256: str,
    title: str | None = None,
) -> Submission:
    """Record an upload (the file ``local``, whose sha256 is ``sha256``) as a new video.

    Content already ingested (same sha256) is not stored: the existing video is returned
    with ``existing=True``. Otherwise ``local`` is moved into the storage under
    :func:`heaters.storage.keys.upload_key` (``uploads/{uuid}_{name}``) and the video row
    records that key (``source_key``); the download stage on any worker fetches it from
    there. An upload that loses a race with the same content, or whose row cannot be
    written, has its object deleted again: a duplicate leaves nothing behind. ``local`` is
    consumed when stored; the caller removes it otherwise.

    Parameters
    ----------
    filename:
        The name the file was sent with (its suffix is kept; :func:`upload_key`).
    title:
        The video's title; None: ``filename`` without its suffix.

    Raises
    ------
    StorageError
        If the storage cannot take the file (nothing is recorded).
    """
    title = title or Path(filename).stem or None
    async with db.acquire() as conn:
        dup = await db.q.find_duplicate(conn, source_url=None, sha256=sha256)
    if dup is not None:
        return Submission(dup["id"], filename, existing=True, state=dup["state"])
    key = upload_key(filename)
    await storage.put_file(local, key, move=True)
    try:
        async with db.transaction() as conn:
            new_id = await db.q.insert_video(
                conn, source_url=None, source_path=None, source_key=key, sha256=sha256,
                title=title,
            )  # fmt: skip
            if new_id is None:
                dup = await db.q.find_duplicate(conn, source_url=None, sha256=sha256)
    except BaseException:
        await _forget_upload(storage, key)
        raise
    if new_id is not None:
        return Submission(new_id, filename, existing=False, state=VideoState.NEW)
    await _forget_upload(storage, key)  # the same bytes arrived at once from another client
    if dup is None:  # pragma: no cover - a conflict implies a row
        raise SubmitError(f"could not record {filename}")
    return Submission(dup["id"], filename, existing=True, state=dup["state"])


async def _forget_upload(storage: Storage, key: str) -> None:
    """Delete an upload object no video names (a failure is logged, not raised: the
    caller's own outcome matters more than one stray object)."""
    try:
        await asyncio.shield(storage.delete_many([key]))
    except Exception as exc:
        log.warning("could not delete the unrecorded upload %s: %s", key, exc)
