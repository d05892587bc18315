"""Datasets (issue 14) on real exported, keyframed, embedded clips of a real video.

WebDataset shards load with ``webdataset`` and every sample's mp4 decodes to the clip's frame
count; Parquet loads with pyarrow with Postgres's embeddings; version 2 after approving more
clips adds only those; a removed clip's file is rewritten into the new version, never the old
one; a SIGKILLed ``heaters export dataset`` resumes with the files it had stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from heaters import review
from heaters.pipeline import clip_stages
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit
from tests.conftest import (
    REPO,
    database_env,
    fast_env,
    heaters_cmd,
    run_heaters,
    run_to_detected,
)

pytest.importorskip("torch")
_counter = itertools.count()


async def prepared_clips(db: Any, video: Path, approve: int | None = None) -> tuple[int, list[int]]:
    """Detect ``video``, approve its first ``approve`` shots (all by default) and run export,
    keyframes and embedding on them; returns (video id, every shot id in frame order)."""
    vid = (await submit(db, str(video))).video_id
    async with open_runtime() as rt:
        await run_to_detected(rt, vid)
        async with db.acquire() as conn:
            ids = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM clips WHERE source_video_id=$1 AND NOT is_transition "
                    "ORDER BY start_frame",
                    vid,
                )
            ]
        for cid in ids[: approve if approve is not None else len(ids)]:
            await approve_and_process(db, rt, cid)
    return vid, ids


async def approve_and_process(db: Any, rt: Any, clip_id: int, *, embed: bool = True) -> None:
    """Approve a clip (settled at once) and run its export, keyframe and (when ``embed``)
    embed stages."""
    await review.decide(db, clip_id, "approve", "ann", settle_seconds=0)
    stages = [clip_stages.export_clip, clip_stages.extract_clip_keyframes]
    for fn in [*stages, clip_stages.embed_clip] if embed else stages:
        assert await fn(rt, clip_id) == "done"


@dataclass(frozen=True)
class Prepared:
    """A database (a template) and storage holding the small video detected, every shot but
    the last approved, exported, keyframed and embedded."""

    database: str
    storage: Path
    video_id: int
    ids: list[int]


@pytest.fixture(scope="module")
async def prepared(
    pg_server: str, template_db: str, small_video: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Prepared]:
    """The pipeline runs once per module; each test gets a copy (:func:`deliver_env`)."""
    import psycopg

    from heaters.config import get_settings
    from heaters.db import Database

    name = f"dlv{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template_db}")
    url = pg_server.replace("/postgres?", f"/{name}?", 1)
    home = tmp_path_factory.mktemp("deliver-home")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in fast_env(url, home).items():
            mp.setenv(k, v)
        get_settings.cache_clear()
        async with Database.connect(url) as db:
            vid, ids = await prepared_clips(db, small_video, approve=-1)
    get_settings.cache_clear()
    yield Prepared(name, home / "storage", vid, ids)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def deliver_env(
    pg_server: str, prepared: Prepared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Like ``heaters_env``, on a copy of the prepared database and storage."""
    home = tmp_path / "home"
    shutil.copytree(prepared.storage, home / "storage")
    with database_env(pg_server, prepared.database, home, monkeypatch, prefix="dlvcopy") as env:
        yield env


@pytest.fixture
async def ddb(deliver_env: dict[str, str]) -> AsyncIterator[Any]:
    """An open ``Database`` on the test's copy."""
    from heaters.db import Database

    async with Database.connect(deliver_env["DATABASE_URL"]) as database:
        yield database


async def db_facts(db: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT c.id, c.start_frame, c.end_frame, c.source_video_id, c.clip_path, e.embedding, "
            "c.note, ARRAY(SELECT t.name FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id "
            "WHERE ct.clip_id = c.id ORDER BY t.name) AS tags "
            "FROM clips c LEFT JOIN clip_embeddings e ON e.clip_id = c.id WHERE c.id = ANY($1)",
            ids,
        )
    return {r["id"]: dict(r) for r in rows}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_manifest(root: Path, version: int) -> dict[str, Any]:
    """The version's manifest, with every file's sha256 and size verified."""
    manifest = json.loads((root / f"v{version:06d}" / "dataset.json").read_text())
    assert manifest["version"] == version
    for f in manifest["files"]:
        assert (
            sha256(root / f["path"]) == f["sha256"]
            and (root / f["path"]).stat().st_size == f["bytes"]
        )
    assert manifest["counts"]["files"] == len(manifest["files"])
    for f in manifest["files"]:
        stats = json.loads((root / f["stats"]).read_text())
        assert f["stats"] == f["path"].rsplit(".", 1)[0] + "_stats.json"
        assert (stats["shard"], stats["sha256"], stats["bytes"]) == (
            f["path"],
            f["sha256"],
            f["bytes"],
        )
        assert stats["count"] == f["samples"] == len(f["clip_ids"]) == len(stats["clip_ids"])
        assert stats["frames"] == f["frames"] > 0 and stats["mp4_bytes"] > 0
        d = stats["durations"]
        assert 0 < d["min"] <= d["mean"] <= d["max"] and stats["duration"] == f["duration"]
    return manifest


def load_webdataset(root: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    import webdataset as wds

    urls = [str(root / f["path"]) for f in manifest["files"]]
    return list(wds.WebDataset(urls, shardshuffle=False, empty_check=False))


def frames_in(mp4: bytes) -> int:
    with av.open(io.BytesIO(mp4)) as container:
        return sum(1 for _ in container.decode(video=0))


def check_samples(
    samples: list[dict[str, Any]], facts: dict[int, dict[str, Any]], name: str
) -> None:
    assert sorted(int(s["__key__"]) for s in samples) == sorted(facts)
    for s in samples:
        clip = facts[int(s["__key__"])]
        meta = json.loads(s["json"])
        assert meta["dataset"] == name and meta["clip_id"] == clip["id"]
        assert (meta["start_frame"], meta["end_frame"]) == (clip["start_frame"], clip["end_frame"])
        assert meta["review"] == "approved" and meta["reviewed_by"] == "ann"
        assert meta["detector"] and meta["embedding_model"] in ("efficientnet-lite0", None)
        assert frames_in(s["mp4"]) == clip["end_frame"] - clip["start_frame"]
        emb = np.load(io.BytesIO(s["npy"]))
        assert emb.dtype == np.float32
        if clip["embedding"] is None:
            assert emb.shape == (0,) and meta["embedding_model"] is None, "exported, not embedded"
        else:
            assert np.array_equal(emb, np.asarray(clip["embedding"], np.float32))
        caption = "\n".join(p for p in (clip["note"] or "", ", ".join(clip["tags"])) if p)
        assert (meta["tags"], meta["note"]) == (list(clip["tags"]), clip["note"])
        assert s["txt"].decode() == meta["caption"] == caption, "note, then tags; empty if none"
        jpgs = [k for k in s if k.endswith(".jpg")]
        # tag/mid is percentage/p50's frame (both at 50 %): stored once, as p50.jpg.
        assert sorted(jpgs) == ["first.jpg", "last.jpg", "p25.jpg", "p50.jpg", "p75.jpg"]
        assert all(s[k][:2] == b"\xff\xd8" for k in jpgs), "JPEG bytes"
        assert {kf["tag"]: kf["field"] for kf in meta["keyframes"]}["mid"] == "p50.jpg"
        if clip["end_frame"] - clip["start_frame"] > 4:
            assert len({s[k] for k in jpgs}) == len(jpgs), "distinct images"


async def test_webdataset_versions(
    ddb: Any, deliver_env: dict[str, str], prepared: Prepared, tmp_path: Path
) -> None:
    db, heaters_env, ids = ddb, deliver_env, prepared.ids
    first, last = ids[:-1], ids[-1]
    out = tmp_path / "ds"
    p = run_heaters(
        heaters_env, "export", "dataset", "shots", "-o", str(out), "--shard-size", "2", "--json"
    )
    assert p.returncode == 0, p.stderr
    r1 = json.loads(p.stdout)
    assert (r1["version"], r1["status"], r1["clips"], r1["added"], r1["removed"]) == (
        1,
        "complete",
        len(first),
        len(first),
        0,
    )
    m1 = check_manifest(out, 1)
    assert [f["path"] for f in m1["files"]] == [
        f"v000001/{i:06d}.tar" for i in range((len(first) + 1) // 2)
    ]
    assert m1["added"] == sorted(first) and m1["settings"]["shard_size"] == 2
    assert json.loads((out / "dataset.json").read_text()) == m1
    check_samples(load_webdataset(out, m1), await db_facts(db, first), "shots")
    v1_files = {f["path"]: (out / f["path"]).stat().st_mtime_ns for f in m1["files"]}

    # Nothing changed: no version 2.
    from heaters.deliver.datasets import export_dataset
    from heaters.storage import LocalStorage

    source = LocalStorage(Path(heaters_env["HEATERS_HOME"]) / "storage")
    same = await export_dataset(db, source, "shots")
    assert (same.status, same.version, same.files_written) == ("unchanged", 1, [])

    # Approve the last shot (exported and keyframed, not embedded yet): version 2 adds it
    # alone, in one new file; version 1 is untouched.
    async with open_runtime() as rt:
        await approve_and_process(db, rt, last, embed=False)
    p = run_heaters(heaters_env, "export", "dataset", "shots", "--json")
    assert p.returncode == 0, p.stderr
    r2 = json.loads(p.stdout)
    assert (r2["version"], r2["added"], r2["removed"], r2["files_written"]) == (
        2,
        1,
        0,
        ["v000002/000000.tar"],
    )
    m2 = check_manifest(out, 2)
    assert m2["added"] == [last] and m2["removed"] == []
    assert [f["path"] for f in m2["files"]] == [*v1_files, "v000002/000000.tar"]
    assert {p: (out / p).stat().st_mtime_ns for p in v1_files} == v1_files, "never rewritten"
    assert check_manifest(out, 1) == m1
    check_samples(load_webdataset(out, m2), await db_facts(db, ids), "shots")

    # Postgres keeps each version's clip ids and what changed.
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT version, state, clip_ids, added, removed FROM dataset_versions ORDER BY version"
        )
    assert [(r["version"], r["state"], r["clip_ids"], r["added"]) for r in rows] == [
        (1, "complete", sorted(first), sorted(first)),
        (2, "complete", sorted(ids), [last]),
    ]
    assert not list(out.rglob("*.part")) and not (out / ".heaters-tmp").exists()


async def test_parquet_embeddings_and_removal(
    ddb: Any, deliver_env: dict[str, str], prepared: Prepared, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from heaters.deliver.datasets import export_dataset
    from heaters.storage import LocalStorage

    db, vid, ids = ddb, prepared.video_id, prepared.ids[:-1]
    source = LocalStorage(Path(deliver_env["HEATERS_HOME"]) / "storage")
    out = tmp_path / "pq"
    seen: list[Any] = []
    r1 = await export_dataset(
        db, source, "rows", format="parquet", target=str(out), shard_size=2, progress=seen.append
    )
    assert (r1.version, r1.clips, r1.status) == (1, len(ids), "complete")
    assert seen[-1].phase == "done" and max(p.done for p in seen) == len(ids)
    m1 = check_manifest(out, 1)
    table = pq.read_table([str(out / f["path"]) for f in m1["files"]])
    assert sorted(table.column("clip_id").to_pylist()) == sorted(ids)
    etype = table.schema.field("embedding").type
    assert pa.types.is_fixed_size_list(etype) and etype.list_size == 1280
    assert etype.value_type == pa.float32()
    facts = await db_facts(db, ids)
    for row in table.to_pylist():
        clip = facts[row["clip_id"]]
        assert np.array_equal(
            np.asarray(row["embedding"], np.float32), np.asarray(clip["embedding"], np.float32)
        )
        assert (row["start_frame"], row["end_frame"], row["video_id"]) == (
            clip["start_frame"],
            clip["end_frame"],
            vid,
        )
        assert row["clip_key"] == clip["clip_path"] and "clip_url" not in row
        assert re.fullmatch(rf"clips/{row['clip_id']}/clip-[0-9a-f]{{12}}\.mp4", row["clip_key"])
        assert len(row["keyframe_frames"]) == 6 and row["version"] == 1 and row["dataset"] == "rows"
        assert row["mp4_bytes"] == len(row["mp4"]) and row["caption"] == ""
        assert frames_in(row["mp4"]) == clip["end_frame"] - clip["start_frame"]

    # An operator archives the second clip: version 2 removes it; the file it was in is
    # written again (without it) under v000002, and v000001's files are left as they were.
    before = {f["path"]: sha256(out / f["path"]) for f in m1["files"]}
    async with db.acquire() as conn:
        await conn.execute("UPDATE clips SET state='review_archived' WHERE id=$1", ids[1])
    r2 = await export_dataset(db, source, "rows")
    assert (r2.version, r2.added, r2.removed) == (2, [], [ids[1]])
    m2 = check_manifest(out, 2)
    assert r2.files_written == ["v000002/part-000000.parquet"]
    assert {f["path"] for f in m2["files"]} == {*list(before)[1:], "v000002/part-000000.parquet"}
    assert {p: sha256(out / p) for p in before} == before
    table2 = pq.read_table([str(out / f["path"]) for f in m2["files"]])
    assert sorted(table2.column("clip_id").to_pylist()) == sorted(set(ids) - {ids[1]})

    # The CLI's path with its rich progress bar on (drawn on stderr only on a terminal).
    from heaters.cli.export import _dataset

    r3 = await _dataset("bar", "embedded", [vid], "parquet", str(tmp_path / "bar"), 1, True)
    assert (r3.version, r3.clips, len(r3.files)) == (1, len(ids) - 1, len(ids) - 1)


async def test_tags_select_the_clips_and_fill_every_sample(
    ddb: Any, deliver_env: dict[str, str], prepared: Prepared, tmp_path: Path
) -> None:
    """Issue 21: ``--tag`` keeps the clips with the tag; every WebDataset sample and Parquet
    row holds the clip's tags, note and the caption made of them; untagging removes a clip
    from the next version."""
    import pyarrow.parquet as pq

    from heaters.deliver.datasets import export_dataset
    from heaters.storage import LocalStorage

    db, ids = ddb, prepared.ids[:-1]
    for name in ("night", "wide"):
        assert run_heaters(deliver_env, "tag", "add", name).returncode == 0
    await review.set_note(db, ids[0], "rain on the lens", "ann")
    await review.decide_many(db, ids[:2], "tag", "ann", tag="night")
    await review.tag_clip(db, ids[1], "ann", name="wide")
    out = tmp_path / "nights"
    p = run_heaters(deliver_env, "export", "dataset", "nights", "-o", str(out), "--tag", "night",
                    "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["clips"] == 2
    m1 = check_manifest(out, 1)
    assert m1["settings"]["tags"] == ["night"]
    facts = await db_facts(db, ids[:2])
    assert (facts[ids[0]]["note"], facts[ids[1]]["tags"]) == ("rain on the lens", ["night", "wide"])
    check_samples(load_webdataset(out, m1), facts, "nights")

    source = LocalStorage(Path(deliver_env["HEATERS_HOME"]) / "storage")
    r = await export_dataset(db, source, "rows", format="parquet", target=str(tmp_path / "pq"),
                             tags=["wide"])  # fmt: skip
    table = pq.read_table([str(tmp_path / "pq" / f) for f in r.files_written]).to_pylist()
    assert [(x["clip_id"], x["tags"], x["note"], x["caption"]) for x in table] == [
        (ids[1], ["night", "wide"], None, "night, wide")
    ]

    await review.tag_clip(db, ids[1], "ann", name="night", on=False)
    again = await export_dataset(db, source, "nights")
    assert (again.version, again.added, again.removed) == (2, [], [ids[1]])


def no_path_into(home: Path, value: Any) -> None:
    """No string in ``value`` (nested) is a ``file://`` URL or names ``home``."""
    if isinstance(value, str):
        assert "file://" not in value and str(home) not in value, value
    elif isinstance(value, dict):
        for v in value.values():
            no_path_into(home, v)
    elif isinstance(value, list):
        for v in value:
            no_path_into(home, v)


async def test_datasets_load_anywhere_with_hugging_face(
    ddb: Any, deliver_env: dict[str, str], prepared: Prepared, tmp_path: Path
) -> None:
    """Parquet (clips in the rows, or mp4 files beside them) and WebDataset exports, copied
    elsewhere with HEATERS_HOME gone, load with Hugging Face ``datasets`` and their videos
    decode to the clips' frame counts; nothing in them points back into the project."""
    import datasets

    from heaters.deliver.datasets import export_dataset
    from heaters.storage import LocalStorage

    db, ids = ddb, prepared.ids[:-1]
    home = Path(deliver_env["HEATERS_HOME"])
    source = LocalStorage(home / "storage")
    # The first clip has no embedding (yet): its sample's fields are the same as the others'.
    async with db.acquire() as conn:
        await conn.execute("DELETE FROM clip_embeddings WHERE clip_id = $1", ids[0])
    kinds = {"wds": ("webdataset", None), "pq": ("parquet", None), "pqf": ("parquet", "files")}
    for name, (fmt, media) in kinds.items():
        r = await export_dataset(
            db, source, name, format=fmt, media=media, target=str(tmp_path / "out" / name),
            shard_size=2,
        )  # fmt: skip
        assert (r.status, r.clips) == ("complete", len(ids))
    frames = {i: c["end_frame"] - c["start_frame"] for i, c in (await db_facts(db, ids)).items()}
    shutil.copytree(tmp_path / "out", tmp_path / "elsewhere")
    shutil.rmtree(tmp_path / "out")
    home.rename(home.with_name("home-gone"))
    cache = str(tmp_path / "hf-cache")

    def load(name: str, builder: str) -> tuple[Path, Any]:
        root = tmp_path / "elsewhere" / name
        manifest = check_manifest(root, 1)
        no_path_into(home, manifest)
        files = [str(root / f["path"]) for f in manifest["files"]]
        return root, datasets.load_dataset(
            builder, data_files=files, split="train", cache_dir=cache
        )

    _, rows = load("pq", "parquet")
    assert sorted(rows["clip_id"]) == sorted(ids)
    assert rows.features["mp4"] == datasets.Value("binary")
    for row in rows:
        assert frames_in(row["mp4"]) == frames[row["clip_id"]] == row["frames"]
        assert row["caption"] == ""
        assert len(row["embedding"]) == 1280 if row["clip_id"] != ids[0] else not row["embedding"]
        no_path_into(home, {k: v for k, v in row.items() if k != "mp4"})

    root, rows = load("pqf", "parquet")
    assert "mp4" not in rows.column_names
    for row in rows:
        mp4 = (root / row["mp4_path"]).read_bytes()
        assert row["mp4_path"].startswith("v000001/part-0000") and len(mp4) == row["mp4_bytes"]
        assert hashlib.sha256(mp4).hexdigest() == row["mp4_sha256"]
        assert frames_in(mp4) == frames[row["clip_id"]]

    _, samples = load("wds", "webdataset")
    jpgs = ["first.jpg", "last.jpg", "p25.jpg", "p50.jpg", "p75.jpg"]
    assert set(samples.column_names) == {"__key__", "__url__", "mp4", "json", "txt", "npy", *jpgs}
    samples = samples.cast_column("mp4", datasets.Video(decode=False))
    for jpg in jpgs:
        samples = samples.cast_column(jpg, datasets.Image(decode=False))
    assert len(samples) == len(ids)
    for s in samples:
        clip_id = int(s["__key__"])
        assert s["json"]["clip_id"] == clip_id and s["txt"] == ""
        assert len(s["npy"]) == (0 if clip_id == ids[0] else 1280)
        assert frames_in(s["mp4"]["bytes"]) == frames[clip_id]
        assert len({s[k]["bytes"] for k in jpgs}) == len(jpgs), "five distinct keyframes"
        no_path_into(home, s["json"])


async def test_killed_export_resumes(
    ddb: Any, deliver_env: dict[str, str], prepared: Prepared, tmp_path: Path
) -> None:
    db, heaters_env, ids = ddb, deliver_env, prepared.ids[:-1]
    assert len(ids) >= 3
    out = tmp_path / "ds"
    env = {**heaters_env, "HEATERS_TEST_DATASET_PAUSE_SECONDS": "60"}
    proc = subprocess.Popen(  # noqa: ASYNC220 - a user's separate process, killed below
        heaters_cmd("export", "dataset", "crash", "-o", str(out), "--shard-size", "1"),
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        files: list[Any] = []
        while time.monotonic() < deadline and not files:
            async with db.acquire() as conn:
                files = json.loads(
                    await conn.fetchval("SELECT files::text FROM dataset_versions") or "[]"
                )
            await asyncio.sleep(0.2)
        assert len(files) == 1, "the first shard is stored, then the export pauses"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    first = out / files[0]["path"]
    stamp = (first.stat().st_ino, first.stat().st_mtime_ns)
    assert sorted(p.name for p in (out / "v000001").iterdir()) == [
        first.name,
        f"{first.stem}_stats.json",
    ], "no other final name"
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT state FROM dataset_versions") == "writing"

    p = run_heaters(heaters_env, "export", "dataset", "crash", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["version"], r["status"], r["clips"]) == (1, "resumed", len(ids))
    assert r["files_written"] == [f"v000001/{i:06d}.tar" for i in range(1, len(ids))]
    assert (first.stat().st_ino, first.stat().st_mtime_ns) == stamp, "kept, not written again"
    m = check_manifest(out, 1)
    check_samples(load_webdataset(out, m), await db_facts(db, ids), "crash")
    assert not (out / ".heaters-tmp").exists() and not list(out.rglob("*.part"))


async def test_missing_file_fails_the_version_and_one_export_at_a_time(
    ddb: Any, deliver_env: dict[str, str], prepared: Prepared, tmp_path: Path
) -> None:
    from heaters.deliver import DeliverError
    from heaters.deliver.datasets import _dataset_lock, export_dataset
    from heaters.storage import LocalStorage

    db, ids = ddb, prepared.ids[:-1]
    storage = Path(deliver_env["HEATERS_HOME"]) / "storage"
    source = LocalStorage(storage)
    out = tmp_path / "ds"

    # Another export of the same dataset holds its lock: this one is refused at once.
    async with _dataset_lock(db, "gone"):
        with pytest.raises(DeliverError, match="being exported by another process"):
            await export_dataset(db, source, "gone", target=str(out))

    # A clip file vanished: the version fails with the reason, and no shard is left.
    clip_key = (await db_facts(db, [ids[0]]))[ids[0]]["clip_path"]
    clip = storage / clip_key
    kept = clip.read_bytes()
    clip.unlink()
    with pytest.raises(DeliverError, match=f"{re.escape(clip_key)} is missing"):
        await export_dataset(db, source, "gone", target=str(out), shard_size=1)
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT version, state, error FROM dataset_versions")
    assert (row["version"], row["state"]) == (1, "failed") and "missing" in row["error"]
    assert not list(out.rglob("*.tar")) and not (out / ".heaters-tmp").exists()

    # The next run plans version 1 again from scratch and completes it.
    clip.write_bytes(kept)
    r = await export_dataset(db, source, "gone")
    assert (r.version, r.status, r.clips, len(r.files_written)) == (
        1,
        "complete",
        len(ids),
        len(ids),
    )
    check_manifest(out, 1)
