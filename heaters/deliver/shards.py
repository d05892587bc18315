"""Writing one dataset shard (:mod:`heaters.deliver.datasets` plans and records them): a
WebDataset tar (:func:`write_tar`) or a Parquet file (:func:`write_parquet`) from clip rows,
each sample's metadata and caption, its distinct keyframes, and the shard's statistics
(:func:`shard_stats`). The formats are described in :mod:`heaters.deliver.datasets`."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from heaters.deliver.states import DeliverError, review_outcome

__all__ = [
    "ROW_GROUP_ROWS",
    "clip_caption",
    "clip_metadata",
    "keyframe_fields",
    "media_path",
    "parquet_schema",
    "sample_key",
    "sha256_size",
    "shard_stats",
    "write_parquet",
    "write_tar",
]

log = logging.getLogger(__name__)

#: Rows per Parquet row group (bounds the memory a writer or a reader needs for clip bytes).
ROW_GROUP_ROWS = 64


def sample_key(clip_id: int) -> str:
    """The WebDataset key of a clip's sample (``__key__``): its id on 10 digits."""
    return f"{clip_id:010d}"


def media_path(shard: str, clip_id: int) -> str:
    """Where media ``files`` put a clip of a Parquet shard, relative to the target:
    ``v000001/part-000000/0000000012.mp4``."""
    return f"{shard.rsplit('.', 1)[0]}/{sample_key(clip_id)}.mp4"


def shard_stats(
    rows: Sequence[Any], mp4_bytes: Sequence[int], meta: dict[str, Any], *, sha256: str, size: int
) -> dict[str, Any]:
    """A shard's statistics (its ``_stats.json``, in the style of video2dataset's).

    ``{"dataset", "version", "shard"`` (its path under the target), ``"sha256", "bytes"`` (the
    shard file), ``"count"`` (clips), ``"mp4_bytes"`` (their clip files together),
    ``"frames"`` (their frames together), ``"duration"`` (their seconds together),
    ``"durations": {"min", "mean", "max"}`` (seconds per clip), ``"clip_ids"}``.
    """
    durations = [float(r["end_seconds"] - r["start_seconds"]) for r in rows]
    n = len(durations)
    return {
        "dataset": meta["dataset"],
        "version": meta["version"],
        "shard": meta["shard"],
        "sha256": sha256,
        "bytes": size,
        "count": n,
        "mp4_bytes": int(sum(mp4_bytes)),
        "frames": sum(int(r["end_frame"] - r["start_frame"]) for r in rows),
        "duration": round(sum(durations), 6),
        "durations": {
            "min": round(min(durations), 6) if n else None,
            "mean": round(sum(durations) / n, 6) if n else None,
            "max": round(max(durations), 6) if n else None,
        },
        "clip_ids": [int(r["id"]) for r in rows],
    }


def sha256_size(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def clip_caption(row: Any) -> str:
    """A clip's caption (``caption`` / ``KEY.txt``): its note, then its tags joined by ``, ``
    on a line of their own; ``""`` when it has neither (the field is there for every loader,
    empty until a reviewer tags or notes the clip)."""
    get = getattr(row, "get", None)
    note = str((get("note") if get else None) or "").strip()
    tags = [str(t).strip() for t in ((get("tags") if get else None) or []) if str(t).strip()]
    return "\n".join(part for part in (note, ", ".join(tags)) if part)


def clip_metadata(row: Any, dataset: str, version: int) -> dict[str, Any]:
    """A sample's metadata (``KEY.json`` / the Parquet row without embedding and clip).

    Keys: ``dataset, version`` (the version that wrote the sample), ``clip_id, video_id,
    source_url, title, start_frame, end_frame`` (end exclusive), ``frames, start_seconds,
    end_seconds`` (PTS), ``duration, fps, width, height, state, review, reviewed_by,
    reviewed_at`` (ISO 8601), ``group`` (the clip it is grouped with), ``detector,
    confidence, embedding_model, embedding_strategy, clip_key`` (the clip's storage key in
    the exporting project: provenance only, the clip itself is in the sample), ``tags``
    (names, sorted), ``note`` (the reviewer's note or None), ``caption``
    (:func:`clip_caption`: note and tags as text), ``keyframes`` (``[{strategy, tag, frame,
    field}]``: ``frame`` clip-relative, ``field`` the sample field holding its image, see
    :func:`keyframe_fields`).
    """
    fps = row["fps_num"] / row["fps_den"] if row["fps_num"] and row["fps_den"] else None
    conf = row["boundary_confidence"]
    keyframes = list(row["keyframes"])
    return {
        "dataset": dataset,
        "version": version,
        "clip_id": row["id"],
        "video_id": row["source_video_id"],
        "source_url": row["source_url"] or row["source_path"],
        "title": row["title"],
        "start_frame": row["start_frame"],
        "end_frame": row["end_frame"],
        "frames": row["end_frame"] - row["start_frame"],
        "start_seconds": row["start_seconds"],
        "end_seconds": row["end_seconds"],
        "duration": row["end_seconds"] - row["start_seconds"],
        "fps": fps,
        "width": row["width"],
        "height": row["height"],
        "state": row["state"],
        "review": review_outcome(row["state"]),
        "reviewed_by": row["reviewed_by"],
        "reviewed_at": row["reviewed_at"].isoformat() if row["reviewed_at"] else None,
        "group": row["grouped_with_clip_id"],
        "detector": row["detector"],
        "confidence": None if conf is None else round(float(conf), 4),
        "embedding_model": row["embedding_model"],
        "embedding_strategy": row["embedding_strategy"],
        "clip_key": row["clip_path"],
        "tags": list(row["tags"] or ()),
        "note": row["note"],
        "caption": clip_caption(row),
        "keyframes": [
            {"strategy": k["strategy"], "tag": k["tag"], "frame": k["frame"], "field": field}
            for k, field in zip(keyframes, keyframe_slots(keyframes), strict=True)
        ],
    }


def keyframe_slots(keyframes: Sequence[dict[str, Any]]) -> list[str]:
    """The sample field holding each keyframe's image: ``TAG.EXT`` (``p25.jpg``), or
    ``STRATEGY-TAG.EXT`` when two strategies share a tag; a keyframe at the same position of
    the clip as an earlier one (``tag``'s ``mid`` and ``percentage``'s ``p50``, both at 50 %)
    is the same frame, so it gets that one's field."""
    from heaters.media.keyframes import STRATEGIES

    tags = [k["tag"] for k in keyframes]
    at: dict[float, str] = {}
    slots = []
    for k in keyframes:
        ext = Path(k["key"]).suffix.lstrip(".") or "jpg"
        name = k["tag"] if tags.count(k["tag"]) == 1 else f"{k['strategy']}-{k['tag']}"
        field = f"{name}.{ext}"
        position = dict(STRATEGIES.get(k["strategy"], ())).get(k["tag"])
        slots.append(field if position is None else at.setdefault(position, field))
    return slots


def keyframe_fields(keyframes: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Sample fields of a clip's distinct keyframe images (:func:`keyframe_slots`: one per
    position in the clip, so no two hold the same frame). Maps field → storage key."""
    out: dict[str, str] = {}
    for k, field in zip(keyframes, keyframe_slots(keyframes), strict=True):
        out.setdefault(field, k["key"])
    return out


async def local_file(source: Any, key: str, work: Path) -> Path:
    """A path on this machine holding ``key``: where it lies, or a download into ``work``.

    Raises DeliverError when the object is missing (a permanent failure), StorageError on an
    outage (the version stays writing: the next run resumes it).
    """
    from heaters.errors import StorageError

    local = source.local_path(key)
    if local is not None:
        if not await asyncio.to_thread(Path(local).is_file):
            raise DeliverError(f"the stored file {key} is missing")
        return Path(local)
    dest = work / "get" / key.replace("/", "_")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        await source.get_file(key, dest)
    except StorageError as exc:
        if exc.transient:
            raise
        raise DeliverError(f"the stored file {key} cannot be read: {exc}") from None
    return dest


class HashingWriter:
    """A write-only stream to ``fh`` that hashes (sha256) and counts what goes through it."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        written: int = self.fh.write(data)
        return written


async def write_tar(
    source: Any,
    rows: Sequence[Any],
    part: Path,
    work: Path,
    meta: dict[str, Any],
    mtime: float,
    tick: Callable[[int], None],
) -> tuple[str, int, list[int]]:
    """Write one shard to ``part`` (webdataset's ``TarWriter``); returns (sha256, bytes, the
    bytes of each clip file).

    The files are found (or downloaded) first, then the whole shard is written in one thread.
    """
    import numpy as np

    samples: list[tuple[dict[str, Any], dict[str, Path]]] = []
    for row in rows:
        md = clip_metadata(row, meta["dataset"], meta["version"])
        fixed: dict[str, Any] = {
            "__key__": sample_key(row["id"]),
            "json": json.dumps(md, sort_keys=True, default=str).encode(),
            "txt": md["caption"].encode(),
        }
        # Every sample has its npy (empty without an embedding): Hugging Face's webdataset
        # loader refuses shards whose first samples have different fields.
        buf = io.BytesIO()
        emb = row["embedding"]
        np.save(buf, np.asarray([] if emb is None else emb, dtype=np.float32))
        fixed["npy"] = buf.getvalue()
        files = {"mp4": await local_file(source, row["clip_path"], work)}
        for fld, key in keyframe_fields(row["keyframes"]).items():
            files[fld] = await local_file(source, key, work)
        samples.append((fixed, files))
    loop = asyncio.get_running_loop()

    def write() -> tuple[str, int, list[int]]:
        import webdataset as wds

        sizes = []
        with part.open("wb") as fh:
            out = HashingWriter(fh)
            writer = wds.TarWriter(out, mtime=mtime)
            try:
                for i, (fixed, files) in enumerate(samples):
                    sample = dict(fixed)
                    for fld, path in files.items():
                        sample[fld] = path.read_bytes()
                    sizes.append(len(sample["mp4"]))
                    writer.write(sample)
                    loop.call_soon_threadsafe(tick, i + 1)
            finally:
                writer.close()
        return out.sha256.hexdigest(), out.size, sizes

    try:
        return await asyncio.to_thread(write)
    finally:
        await asyncio.to_thread(shutil.rmtree, work / "get", True)


def parquet_schema(dim: int, media: str = "bytes") -> Any:
    """The Arrow schema of a Parquet dataset file (``embedding``: ``dim`` float32; the clip
    as bytes in ``mp4``, or with media ``files`` as ``mp4_path`` relative to the target)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("dataset", pa.string()), ("version", pa.int32()), ("clip_id", pa.int64()),
            ("video_id", pa.int64()), ("source_url", pa.string()), ("title", pa.string()),
            ("start_frame", pa.int32()), ("end_frame", pa.int32()), ("frames", pa.int32()),
            ("start_seconds", pa.float64()), ("end_seconds", pa.float64()),
            ("duration", pa.float64()), ("fps", pa.float64()), ("width", pa.int32()),
            ("height", pa.int32()), ("state", pa.string()), ("review", pa.string()),
            ("reviewed_by", pa.string()), ("reviewed_at", pa.string()), ("group", pa.int64()),
            ("detector", pa.string()), ("confidence", pa.float32()),
            ("embedding_model", pa.string()), ("embedding_strategy", pa.string()),
            ("clip_key", pa.string()), ("tags", pa.list_(pa.string())), ("note", pa.string()),
            ("caption", pa.string()),
            ("keyframe_tags", pa.list_(pa.string())), ("keyframe_frames", pa.list_(pa.int32())),
            ("embedding", pa.list_(pa.float32(), dim)),
            ("mp4_bytes", pa.int64()), ("mp4_sha256", pa.string()),
            ("mp4_path", pa.string()) if media == "files" else ("mp4", pa.binary()),
        ]
    )  # fmt: skip


async def write_parquet(
    source: Any,
    store: Any,
    rows: Sequence[Any],
    part: Path,
    work: Path,
    meta: dict[str, Any],
) -> list[int]:
    """Write one Parquet file to ``part`` (row groups of :data:`ROW_GROUP_ROWS`, so a clip's
    bytes are read one group at a time) and, with media ``files``, store each clip beside it
    (:func:`media_path`); returns the bytes of each clip file."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = [await local_file(source, row["clip_path"], work) for row in rows]
    in_files = meta["media"] == "files"
    dims = {len(r["embedding"]) for r in rows if r["embedding"] is not None}
    dim = dims.pop() if len(dims) == 1 else 1280
    schema = parquet_schema(dim, meta["media"])
    at = schema.get_field_index("embedding")
    rest = schema.remove(at)

    def group(chunk: Sequence[tuple[Any, Path]]) -> tuple[Any, list[int]]:
        records, sizes = [], []
        vectors = np.zeros((len(chunk), dim), dtype=np.float32)
        missing = []
        for i, (row, path) in enumerate(chunk):
            md = clip_metadata(row, meta["dataset"], meta["version"])
            kfs = md.pop("keyframes")
            md["keyframe_tags"] = [k["tag"] for k in kfs]
            md["keyframe_frames"] = [k["frame"] for k in kfs]
            data = path.read_bytes()
            sizes.append(len(data))
            md["mp4_bytes"] = len(data)
            md["mp4_sha256"] = hashlib.sha256(data).hexdigest()
            if in_files:
                md["mp4_path"] = media_path(meta["shard"], row["id"])
            else:
                md["mp4"] = data
            records.append(md)
            emb = row["embedding"]
            missing.append(emb is None)
            if emb is not None:
                vectors[i] = np.asarray(emb, dtype=np.float32)
        # The embedding column straight from one float32 buffer (no Python floats per value).
        embeddings = pa.FixedSizeListArray.from_arrays(
            pa.array(vectors.reshape(-1)),
            type=schema.field("embedding").type,
            mask=pa.array(missing, type=pa.bool_()),
        )
        table = pa.Table.from_pylist(records, schema=rest)
        return table.add_column(at, schema.field("embedding"), embeddings), sizes

    def write() -> list[int]:
        sizes: list[int] = []
        pairs = list(zip(rows, files, strict=True))
        # The clip bytes are H.264 already: stored as they are (no zstd, no dictionary, no
        # min/max statistics); every other column zstd-compressed.
        others = [f.name for f in schema if f.name != "mp4"]
        codecs = {name: "zstd" for name in others} | ({} if in_files else {"mp4": "none"})
        with pq.ParquetWriter(
            part, schema, compression=codecs, use_dictionary=others, write_statistics=others
        ) as writer:
            for start in range(0, len(pairs), ROW_GROUP_ROWS):
                table, got = group(pairs[start : start + ROW_GROUP_ROWS])
                writer.write_table(table)
                sizes.extend(got)
        return sizes

    try:
        sizes = await asyncio.to_thread(write)
        if in_files:
            for row, path in zip(rows, files, strict=True):
                await store.put_file(path, media_path(meta["shard"], row["id"]))
        return sizes
    finally:
        await asyncio.to_thread(shutil.rmtree, work / "get", True)
