"""Datasets: versioned, incremental exports of reviewed clips for training.

A dataset is a name in Postgres (``datasets``) with a format, a target and a selection; each
export makes its next version (``dataset_versions``): the clip ids it holds, what was
``added`` / ``removed`` since the previous complete version, and its files. Layout under the
target (a folder or ``s3://bucket/prefix``)::

    v000001/000000.tar …       version 1's shards (webdataset) or part-000000.parquet …
    v000001/dataset.json       version 1's manifest
    v000002/000000.tar …       only the files version 2 added
    v000002/dataset.json       version 2's manifest: every file of version 2 (those it keeps
                               from earlier versions too, by path), sha256 each
    dataset.json               a copy of the newest version's manifest

Incremental: version N+1 keeps every file of version N none of whose clips was removed, and
writes the clips added plus the remaining clips of files it drops into new files under its
own folder. An earlier version's files are never written again. Files are built under a
temporary name (a ``.heaters-tmp`` folder of a local target, or a temp folder for S3) and
stored under their final name only when complete (rename, or one S3 upload), then recorded
in Postgres; a crashed export leaves its version ``writing`` and the next run resumes it,
writing only the files not recorded yet, with the same plan. One export per dataset runs at
a time (a Postgres advisory lock).

A dataset is self-contained: it holds the clips themselves, never a path or URL into the
exporting project's storage, so a copy of the target folder loads anywhere (Hugging Face
``datasets``, ``webdataset``, pyarrow).

WebDataset (``webdataset`` package conventions): tar shards ``000000.tar`` …, one sample per
clip keyed ``%010d`` by clip id: ``KEY.mp4`` (the clip file), ``KEY.json`` (its metadata),
``KEY.txt`` (its caption), ``KEY.TAG.jpg`` per distinct keyframe (``p25``, ``p50``…: a
keyframe at the position of an earlier one, ``mid`` = ``p50``, is not stored twice),
``KEY.npy`` (its embedding, float32; empty when it has none). Parquet (pyarrow):
``part-000000.parquet`` …, one row per clip with its metadata, caption, the clip's bytes in
the binary column ``mp4`` (media ``bytes``, the default) or the path of the clip file written
beside it in ``mp4_path`` (media ``files``: ``v000001/part-000000/KEY.mp4``, relative to the
target), and ``embedding`` as a fixed-size list of float32. Each shard has its statistics
beside it (``000000_stats.json``, ``part-000000_stats.json``: :func:`shard_stats`). Shard
size (samples per tar, rows per Parquet file) is a per-dataset setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from heaters.deliver.shards import (
    sha256_size,
    shard_stats,
    write_parquet,
    write_tar,
)
from heaters.deliver.states import DATASET_STATE_FILTERS, DeliverConflict, DeliverError
from heaters.domain.states import EXPORT
from heaters.domain.tags import TAG_NAME

log = logging.getLogger(__name__)

DatasetFormat = Literal["webdataset", "parquet"]
FORMATS: tuple[str, ...] = ("webdataset", "parquet")
#: Where a Parquet dataset's clips go: in the rows (``bytes``) or in files beside them.
MEDIA: tuple[str, ...] = ("bytes", "files")
#: Samples per shard by default: per format, and for Parquet whose clips are files beside it.
DEFAULT_SHARD_SIZE: dict[str, int] = {"webdataset": 256, "parquet": 256, "parquet-files": 10_000}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MANIFEST = "dataset.json"
TMP_DIR = ".heaters-tmp"
#: Seconds to sleep after each stored file (tests kill an export mid-way with it).
PAUSE_ENV = "HEATERS_TEST_DATASET_PAUSE_SECONDS"
_LOCK_SPACE = 1_414_743_380  # advisory-lock class id of dataset exports ("TDSE")


@dataclass(frozen=True)
class Progress:
    """What an export reports as it goes: ``phase`` (``plan``, ``write``, ``done``), samples
    written so far of ``total`` to write in this run, files stored of ``files_total``."""

    phase: str
    done: int = 0
    total: int = 0
    files_done: int = 0
    files_total: int = 0
    message: str = ""


ProgressFn = Callable[[Progress], None]


@dataclass
class ExportResult:
    """What an export did.

    ``status``: ``complete`` (a new version), ``unchanged`` (nothing changed since the last
    version: none made), ``resumed`` (a crashed version finished). ``files_written``: the
    files this run stored (paths relative to the target); ``files``: every file of the
    version; ``seconds``: wall time of the run; ``waiting``: approved clips of the selection
    not exported yet (not in this version); ``clips_written``: samples this run wrote.
    """

    name: str
    version: int
    status: str
    format: str
    target: str
    clips: int
    added: list[int]
    removed: list[int]
    files: list[dict[str, Any]]
    files_written: list[str]
    manifest: str
    bytes_written: int
    seconds: float
    waiting: int = 0
    clips_written: int = 0

    def summary(self) -> dict[str, Any]:
        """A one-line JSON-able summary (the ``--json`` output): counts, not id lists."""
        d = asdict(self)
        d["added"] = len(self.added)
        d["removed"] = len(self.removed)
        d["files"] = len(self.files)
        rate = self.clips_written / self.seconds if self.seconds else None
        d["clips_per_second"] = None if rate is None else round(rate, 2)
        return d


def validate_name(name: str) -> str:
    """The dataset name, checked: letters, digits, ``.``, ``_``, ``-`` (at most 100).

    Raises
    ------
    DeliverError
        For any other name.
    """
    if not NAME_RE.match(name):
        raise DeliverError(
            f"invalid dataset name {name!r}: use letters, digits, '.', '_' and '-' (1-100)"
        )
    return name


def target_url(target: str) -> str:
    """A target as a storage URL: ``s3://…`` and ``file://…`` as they are, a path as
    ``file:///absolute/path``."""
    if target.startswith(("s3://", "file://")):
        return target.rstrip("/")
    return f"file://{Path(target).expanduser().resolve()}"


def check_media(fmt: str, media: str | None) -> None:
    """Refuse media ``files`` for a format other than Parquet (a WebDataset sample holds its
    clip).

    Raises
    ------
    DeliverConflict
        Saying so.
    """
    if fmt != "parquet" and media not in (None, "bytes"):
        raise DeliverConflict(f"media {media} is for Parquet: a {fmt} sample holds its clip")


def dataset_media(ds: Any) -> str:
    """Where a dataset row's clips go: ``bytes`` (in the samples or rows) or ``files``."""
    return str(ds["settings"].get("media") or "bytes")


def stats_path(shard: str) -> str:
    """The statistics file of a shard: ``v000001/000000_stats.json`` for ``…/000000.tar``."""
    return f"{shard.rsplit('.', 1)[0]}_stats.json"


def version_dir(version: int) -> str:
    """The folder of a version's files: ``v000001``."""
    return f"v{version:06d}"


# --- the export ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _dataset_lock(db: Any, name: str) -> AsyncIterator[None]:
    async with db.acquire() as conn:
        got = await conn.fetchval(
            "SELECT pg_try_advisory_lock($1, hashtext($2))", _LOCK_SPACE, name
        )
        if not got:
            raise DeliverError(f"dataset {name} is being exported by another process right now")
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", _LOCK_SPACE, name)


async def export_dataset(
    db: Any,
    source: Any,
    name: str,
    *,
    format: str | None = None,
    target: str | None = None,
    state: str | None = None,
    video_ids: Sequence[int] | None = None,
    shard_size: int | None = None,
    media: str | None = None,
    tags: Sequence[str] | None = None,
    embedding_model: str | None = None,
    job_id: int | None = None,
    progress: ProgressFn | None = None,
    target_storage: Any = None,
) -> ExportResult:
    """Export the next version of dataset ``name`` (or finish a crashed one).

    Parameters
    ----------
    db
        A ``heaters.db.Database``.
    source
        The ``Storage`` the clips' files and keyframes are in (the project's storage).
    name
        The dataset (made on its first export; :func:`validate_name` rules).
    format, target, state, video_ids, shard_size
        ``webdataset`` or ``parquet``; a folder or ``s3://bucket/prefix``; a key of
        ``DATASET_STATE_FILTERS``; the videos (None: all); samples per shard / rows per file.
        Needed on the first export (``format`` defaults to webdataset, ``state`` to
        approved); later None keeps the dataset's. A ``format`` or ``target`` other than the
        dataset's is an error (its versions build on each other's files).
    media
        Parquet only: ``bytes`` (default: each row holds its clip in the ``mp4`` column) or
        ``files`` (the clips as mp4 files beside the Parquet file, ``mp4_path`` relative to
        the target). Fixed by the first export, like the format.
    tags
        Keep only the clips carrying any of these tags (names; None: the dataset's, at
        first every clip). Part of the selection: later exports keep it until given again.
        A sample's ``tags`` / ``note`` / ``caption`` are those of its clip when its shard was
        written (a shard kept from an earlier version keeps them).
    embedding_model
        Whose embeddings go in (default: the ``HEATERS_EMBEDDING_MODEL`` setting).
    job_id
        The procrastinate job running this export, recorded on the version.
    progress
        Called as the export goes (:class:`Progress`).
    target_storage
        The ``Storage`` to write to (default: made from the target URL).

    Returns
    -------
    ExportResult

    Raises
    ------
    DeliverError
        Bad name or options (an unknown tag too), no clips to export, another export of the
        dataset running,
        a clip file missing (the version is marked failed; the next run starts it again).
    StorageError
        When the source or target storage fails (the version stays ``writing``: run again
        to resume).
    """
    from heaters.config import get_settings
    from heaters.storage import storage_from_url

    validate_name(name)
    t0 = time.perf_counter()
    settings = get_settings()
    model = embedding_model or settings.embedding_model
    if format is not None and format not in FORMATS:
        raise DeliverError(f"unknown dataset format {format!r} (one of {', '.join(FORMATS)})")
    if state is not None and state not in DATASET_STATE_FILTERS:
        raise DeliverError(
            f"unknown state filter {state!r} (one of {', '.join(DATASET_STATE_FILTERS)})"
        )
    if shard_size is not None and shard_size < 1:
        raise DeliverError("the shard size must be at least 1")
    if media is not None and media not in MEDIA:
        raise DeliverError(f"unknown media {media!r} (one of {', '.join(MEDIA)})")
    for t in tags or ():
        if not TAG_NAME.match(t):
            raise DeliverError(f"bad tag name {t!r}")
    if tags:
        async with db.acquire() as conn:
            known = set(await db.q.existing_tag_names(conn, names=list(tags)))
        if unknown := sorted(set(tags) - known):
            raise DeliverError(f"no tag {unknown[0]} (heaters tag list shows them)")
    report = progress or (lambda p: None)
    async with _dataset_lock(db, name):
        ds = await _dataset_row(
            db, name, format=format, target=target, state=state, video_ids=video_ids,
            shard_size=shard_size, media=media, tags=tags,
        )  # fmt: skip
        fmt: str = ds["format"]
        store = target_storage or storage_from_url(ds["target"])
        try:
            async with db.acquire() as conn:
                open_v = await db.q.open_version(conn, dataset_id=ds["id"])
                if open_v is not None and open_v["state"] == "failed":
                    await db.q.delete_version(conn, id=open_v["id"])
                    open_v = None
                waiting = int(
                    await db.q.dataset_waiting(
                        conn,
                        video_ids=ds["selection"].get("video_ids"),
                        states=list(EXPORT.claimable),
                    )
                )
            resumed = open_v is not None
            if open_v is None:
                report(Progress("plan", message="planning"))
                open_v = await _new_version(db, ds, job_id)
                if open_v is None:
                    async with db.acquire() as conn:
                        last = await db.q.latest_complete_version(conn, dataset_id=ds["id"])
                    return ExportResult(
                        name=name, version=last["version"], status="unchanged", format=fmt,
                        target=ds["target"], clips=len(last["clip_ids"]), added=[], removed=[],
                        files=list(last["manifest"]["files"]), files_written=[],
                        manifest=f"{version_dir(last['version'])}/{MANIFEST}", bytes_written=0,
                        seconds=time.perf_counter() - t0, waiting=waiting,
                    )  # fmt: skip
            elif job_id is not None:
                async with db.acquire() as conn:
                    await db.q.set_version_job(conn, id=open_v["id"], job_id=job_id)
            try:
                written, nbytes, nclips = await _write_version(
                    db, source, store, ds, open_v, model, report
                )
            except DeliverError as exc:
                async with db.acquire() as conn:
                    await db.q.fail_version(conn, id=open_v["id"], error=str(exc))
                raise
            manifest = await _finish(db, store, ds, open_v, model)
        finally:
            if target_storage is None:
                aclose = getattr(store, "aclose", None)
                if aclose is not None:
                    await aclose()
    report(Progress("done", message=f"version {open_v['version']}"))
    return ExportResult(
        name=name, version=open_v["version"], status="resumed" if resumed else "complete",
        format=fmt, target=ds["target"], clips=len(open_v["clip_ids"]),
        added=list(open_v["added"]), removed=list(open_v["removed"]), files=manifest["files"],
        files_written=written, manifest=f"{version_dir(open_v['version'])}/{MANIFEST}",
        bytes_written=nbytes, seconds=time.perf_counter() - t0, waiting=waiting,
        clips_written=nclips,
    )  # fmt: skip


async def _dataset_row(
    db: Any,
    name: str,
    *,
    format: str | None,
    target: str | None,
    state: str | None,
    video_ids: Sequence[int] | None,
    shard_size: int | None,
    media: str | None,
    tags: Sequence[str] | None = None,
) -> Any:
    url = target_url(target) if target else None
    async with db.transaction() as conn:
        ds = await db.q.get_dataset(conn, name=name)
        if ds is None:
            if url is None:
                raise DeliverError(
                    f"no dataset {name} yet: give its target (-o DIR or s3://bucket/prefix)"
                )
            fmt = format or "webdataset"
            check_media(fmt, media)
            selection = {
                "state": state or "approved",
                "video_ids": sorted(set(video_ids)) if video_ids else None,
                "tags": sorted(set(tags)) if tags else None,
            }
            kind = f"{fmt}-files" if media == "files" else fmt
            ds_settings: dict[str, Any] = {"shard_size": shard_size or DEFAULT_SHARD_SIZE[kind]}
            if fmt == "parquet":
                ds_settings["media"] = media or "bytes"
            ds = await db.q.create_dataset(
                conn, name=name, format=fmt, target=url, selection=selection,
                settings=ds_settings,
            )  # fmt: skip
            if ds is None:  # made meanwhile by another process (the lock is per name)
                ds = await db.q.get_dataset(conn, name=name)
            return ds
        if format is not None and format != ds["format"]:
            raise DeliverError(f"dataset {name} is {ds['format']}, not {format}")
        if media is not None and media != dataset_media(ds):
            raise DeliverError(
                f"dataset {name} keeps its clips as {dataset_media(ds)}, not {media}"
            )
        if url is not None and url != ds["target"]:
            raise DeliverError(
                f"dataset {name} lives at {ds['target']}, not {url}: its versions share files"
            )
        selection = dict(ds["selection"])
        ds_settings = dict(ds["settings"])
        if state is not None:
            selection["state"] = state
        if video_ids:
            selection["video_ids"] = sorted(set(video_ids))
        if tags:
            selection["tags"] = sorted(set(tags))
        if shard_size is not None:
            ds_settings["shard_size"] = shard_size
        if selection != ds["selection"] or ds_settings != ds["settings"]:
            ds = await db.q.update_dataset(
                conn, id=ds["id"], selection=selection, settings=ds_settings
            )
        return ds


async def _new_version(db: Any, ds: Any, job_id: int | None) -> Any:
    """Plan and record the next version; None when nothing changed since the last one."""
    from heaters.db import fetch_all

    sel = ds["selection"]
    states = list(DATASET_STATE_FILTERS[sel.get("state") or "approved"])
    async with db.transaction() as conn:
        rows = await fetch_all(
            db.q.dataset_candidates(
                conn, states=states, video_ids=sel.get("video_ids"), tags=sel.get("tags")
            )
        )
        last = await db.q.latest_complete_version(conn, dataset_id=ds["id"])
        now_ids = [r["id"] for r in rows]
        prev_ids: set[int] = set(last["clip_ids"]) if last else set()
        added = sorted(set(now_ids) - prev_ids)
        removed = sorted(prev_ids - set(now_ids))
        if last is not None and not added and not removed:
            return None
        if not now_ids:
            raise DeliverError(
                f"no clips to put in dataset {ds['name']}: none is {sel.get('state')} with its "
                "file exported yet"
            )
        version = (last["version"] if last else 0) + 1
        kept: list[dict[str, Any]] = []
        rewrite: set[int] = set(added)
        gone = set(removed)
        for f in last["manifest"]["files"] if last else []:
            if gone.intersection(f["clip_ids"]):
                rewrite.update(c for c in f["clip_ids"] if c not in gone)
            else:
                kept.append(f)
        size = int(ds["settings"].get("shard_size") or DEFAULT_SHARD_SIZE[ds["format"]])
        todo = sorted(rewrite)
        ext = "tar" if ds["format"] == "webdataset" else "parquet"
        prefix = "" if ext == "tar" else "part-"
        shards = [
            {
                "path": f"{version_dir(version)}/{prefix}{i:06d}.{ext}",
                "clip_ids": todo[i * size : (i + 1) * size],
            }
            for i in range(math.ceil(len(todo) / size))
        ]
        plan = {"shards": shards, "kept": kept, "shard_size": size, "media": dataset_media(ds)}
        return await db.q.insert_version(
            conn, dataset_id=ds["id"], version=version, clip_ids=sorted(now_ids), added=added,
            removed=removed, plan=plan, job_id=job_id,
        )  # fmt: skip


def _tmp_root(store: Any) -> Path:
    local = store.local_path(TMP_DIR) if hasattr(store, "local_path") else None
    if local is not None:
        return Path(local)
    return Path(tempfile.gettempdir()) / "heaters-datasets"


async def _write_version(
    db: Any, source: Any, store: Any, ds: Any, v: Any, model: str, report: ProgressFn
) -> tuple[list[str], int, int]:
    """Write the planned files not recorded yet; returns (paths written, bytes, clips)."""
    plan = v["plan"]
    done = {f["path"] for f in v["files"]}
    todo = [s for s in plan["shards"] if s["path"] not in done]
    total = sum(len(s["clip_ids"]) for s in todo)
    files_total = len(plan["shards"])
    tmp_root = _tmp_root(store)
    work = tmp_root / f"{ds['name']}.{version_dir(v['version'])}"
    await asyncio.to_thread(shutil.rmtree, work, True)  # what a crashed run left
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    pause = float(os.environ.get(PAUSE_ENV) or 0)
    written: list[str] = []
    nbytes = 0
    count = 0
    report(Progress("write", 0, total, len(done), files_total))
    mtime = v["created_at"].timestamp()
    try:
        for shard in todo:
            rows = await _clip_rows(db, shard["clip_ids"], model)
            missing = sorted(set(shard["clip_ids"]) - {r["id"] for r in rows})
            if missing:
                raise DeliverError(
                    f"clips {missing[:5]} of dataset {ds['name']} version {v['version']} no "
                    "longer exist; the next export plans the version again"
                )
            part = work / Path(shard["path"]).name
            base = count

            def tick(n: int, base: int = base) -> None:
                report(Progress("write", base + n, total, len(done) + len(written), files_total))

            meta = {
                "dataset": ds["name"], "version": v["version"], "shard": shard["path"],
                "media": plan.get("media") or "bytes",
            }  # fmt: skip
            if ds["format"] == "webdataset":
                digest, size, mp4_sizes = await write_tar(
                    source, rows, part, work, meta, mtime, tick
                )
            else:
                mp4_sizes = await write_parquet(source, store, rows, part, work, meta)
                digest, size = await asyncio.to_thread(sha256_size, part)
                tick(len(rows))
            stats = shard_stats(rows, mp4_sizes, meta, sha256=digest, size=size)
            await _put_text(store, stats_path(shard["path"]), manifest_text(stats))
            await store.put_file(part, shard["path"], move=True)
            entry = {
                "path": shard["path"], "sha256": digest, "bytes": size,
                "samples": len(rows), "version": v["version"], "clip_ids": shard["clip_ids"],
                "stats": stats_path(shard["path"]), "frames": stats["frames"],
                "duration": stats["duration"],
            }  # fmt: skip
            async with db.acquire() as conn:
                await db.q.record_file(conn, id=v["id"], file=entry)
            written.append(shard["path"])
            nbytes += size
            count += len(rows)
            report(Progress("write", count, total, len(done) + len(written), files_total))
            if pause:
                await asyncio.sleep(pause)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)
        with contextlib.suppress(OSError):
            tmp_root.rmdir()  # only when empty
    return written, nbytes, count


async def _finish(db: Any, store: Any, ds: Any, v: Any, model: str) -> dict[str, Any]:
    """Write the manifest (the version's, then the root copy) and mark the version complete."""
    from heaters import __version__

    async with db.acquire() as conn:
        fresh = await db.q.get_version(conn, dataset_id=ds["id"], version=v["version"])
    by_path = {f["path"]: f for f in fresh["files"]}
    files = [*fresh["plan"]["kept"], *[by_path[s["path"]] for s in fresh["plan"]["shards"]]]
    files.sort(key=lambda f: f["path"])
    manifest = {
        "name": ds["name"],
        "version": v["version"],
        "format": ds["format"],
        "created_at": datetime.now(UTC).isoformat(),
        "heaters_version": __version__,
        "settings": {
            "state": ds["selection"].get("state"),
            "video_ids": ds["selection"].get("video_ids"),
            "tags": ds["selection"].get("tags"),
            "shard_size": fresh["plan"]["shard_size"],
            "embedding_model": model,
        },
        "counts": {
            "clips": len(fresh["clip_ids"]),
            "added": len(fresh["added"]),
            "removed": len(fresh["removed"]),
            "files": len(files),
            "bytes": sum(int(f["bytes"]) for f in files),
        },
        "added": list(fresh["added"]),
        "removed": list(fresh["removed"]),
        "files": files,
    }
    text = manifest_text(manifest)
    await _put_text(store, f"{version_dir(v['version'])}/{MANIFEST}", text)
    await _put_text(store, MANIFEST, text)
    async with db.acquire() as conn:
        await db.q.finish_version(conn, id=v["id"], manifest=manifest)
    return manifest


def manifest_text(manifest: dict[str, Any]) -> str:
    """The bytes of ``dataset.json`` (sorted keys, 2-space indent, final newline): the web
    page serves the manifest stored in Postgres through this, identical to the file. The
    shards' ``_stats.json`` are written the same way."""
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


async def _put_text(store: Any, key: str, text: str) -> None:
    """Store ``text`` (UTF-8) under ``key`` of the target, atomically like every file."""
    with tempfile.TemporaryDirectory(prefix="heaters-dataset-") as tmp:
        local = Path(tmp) / Path(key).name
        await asyncio.to_thread(local.write_text, text, "utf-8")
        await store.put_file(local, key, move=True)


async def _clip_rows(db: Any, ids: Sequence[int], model: str) -> list[Any]:
    from heaters.db import fetch_all

    async with db.acquire() as conn:
        return await fetch_all(db.q.dataset_clip_rows(conn, ids=list(ids), model_name=model))


# --- reading back -------------------------------------------------------------------------


async def dataset_status(db: Any, name: str) -> dict[str, Any]:
    """A dataset and its versions as a JSON-able dict (``GET /api/datasets/{name}``).

    ``{"name", "format", "target", "selection", "settings", "created_at", "versions":
    [{"version", "state", "clips", "added", "removed", "files_done", "files_planned",
    "error", "job_id", "created_at", "finished_at", "manifest"}]}``, newest version first;
    ``manifest`` is the path of its ``dataset.json`` under the target once complete.

    Raises
    ------
    DeliverError
        For an unknown dataset.
    """
    from heaters.db import fetch_all

    async with db.acquire() as conn:
        ds = await db.q.get_dataset(conn, name=name)
        if ds is None:
            raise DeliverError(f"no dataset {name}")
        versions = await fetch_all(db.q.dataset_versions(conn, dataset_id=ds["id"]))
    return {
        "name": ds["name"],
        "format": ds["format"],
        "target": ds["target"],
        "selection": ds["selection"],
        "settings": ds["settings"],
        "created_at": ds["created_at"].isoformat(),
        "versions": [
            {
                "version": v["version"],
                "state": v["state"],
                "clips": v["clips"],
                "added": v["added"],
                "removed": v["removed"],
                "files_done": v["files_done"],
                "files_planned": v["files_planned"],
                "error": v["error"],
                "job_id": v["job_id"],
                "created_at": v["created_at"].isoformat(),
                "finished_at": v["finished_at"].isoformat() if v["finished_at"] else None,
                "manifest": f"{version_dir(v['version'])}/{MANIFEST}"
                if v["has_manifest"]
                else None,
            }
            for v in versions
        ],
    }


__all__ = [
    "DEFAULT_SHARD_SIZE",
    "FORMATS",
    "MANIFEST",
    "MEDIA",
    "PAUSE_ENV",
    "ExportResult",
    "Progress",
    "check_media",
    "dataset_media",
    "dataset_status",
    "export_dataset",
    "manifest_text",
    "stats_path",
    "target_url",
    "validate_name",
    "version_dir",
]
