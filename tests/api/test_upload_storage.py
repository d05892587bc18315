"""API uploads go into the storage at once (several machines share only Postgres and the
storage): an upload lands in the bucket (or the local storage root), never in the web host's
``HEATERS_HOME``; a worker with another ``HEATERS_HOME`` (another host) downloads and
preprocesses it from there, and the upload object is gone once the download committed; a
duplicate upload leaves no object behind."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.api.conftest import Api
from tests.conftest import REPO, heaters_cmd, wait_until
from tests.storage import conftest as storage_fixtures
from tests.storage.conftest import AWS_ENV, BUCKET, REGION, MotoS3

# moto's S3 server and a fresh key prefix, from the storage tests' fixtures.
aws_env = storage_fixtures.aws_env
moto_s3 = storage_fixtures.moto_s3
s3_prefix = storage_fixtures.s3_prefix


@pytest.fixture(params=["s3", "local"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """The storage backend of the API and its worker: moto's S3, or a local folder both
    hosts mount (a shared file system)."""
    return str(request.param)


@pytest.fixture
def api_env_extra(
    request: pytest.FixtureRequest, backend_name: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The API's storage: the moto bucket under a fresh prefix, or a shared folder."""
    if backend_name == "local":
        shared = tmp_path_factory.mktemp("shared-storage")
        return {"HEATERS_STORAGE_URL": f"file://{shared}"}
    moto: MotoS3 = request.getfixturevalue("moto_s3")
    prefix: str = request.getfixturevalue("s3_prefix")
    return {**AWS_ENV, "HEATERS_STORAGE_URL": f"s3://{BUCKET}/{prefix}",
            "HEATERS_S3_ENDPOINT_URL": moto.url}  # fmt: skip


class Stored:
    """What the API's storage holds: every key, and the size of one (S3 or a folder)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.url = env["HEATERS_STORAGE_URL"]
        self.endpoint = env.get("HEATERS_S3_ENDPOINT_URL")

    async def keys(self) -> dict[str, int]:
        """Every stored key → its size; S3 also ``upload:KEY`` for unfinished multipart
        uploads, a local root also its temp files."""
        if self.url.startswith("file://"):
            root = Path(self.url.removeprefix("file://"))
            return {p.relative_to(root).as_posix(): p.stat().st_size
                    for p in root.rglob("*") if p.is_file()}  # fmt: skip
        from aiobotocore.session import get_session

        bucket, _, prefix = self.url.removeprefix("s3://").partition("/")
        found: dict[str, int] = {}
        async with get_session().create_client(
            "s3", endpoint_url=self.endpoint, region_name=REGION
        ) as client:
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=f"{prefix}/"
            )
            async for page in pages:
                for o in page.get("Contents", []):
                    found[o["Key"].removeprefix(f"{prefix}/")] = o["Size"]
            uploads = await client.list_multipart_uploads(Bucket=bucket, Prefix=f"{prefix}/")
            for u in uploads.get("Uploads", []):
                found["upload:" + u["Key"].removeprefix(f"{prefix}/")] = 0
        return found

    async def uploads(self) -> dict[str, int]:
        """The stored upload objects."""
        return {k: n for k, n in (await self.keys()).items() if k.startswith("uploads/")}


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``HEATERS_HOME`` of the worker: not the web's (another host's disk)."""
    return tmp_path_factory.mktemp("worker-host")


@pytest.fixture
def worker(api: Api, worker_home: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``heaters worker`` on the API's database and storage, with its own ``HEATERS_HOME``."""
    env = {**api.env, "HEATERS_HOME": str(worker_home)}
    log = (worker_home / "worker.log").open("wb")
    proc = subprocess.Popen(heaters_cmd("worker", "-v"), env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=REPO)  # fmt: skip
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def _post(c: httpx.Client, name: str, body: bytes) -> httpx.Response:
    return c.post("/api/videos", files={"file": (name, body, "video/mp4")})


@pytest.mark.slow  # a worker processes uploads, local and S3 (~13 s)
async def test_an_upload_is_stored_at_once_and_a_worker_elsewhere_processes_it(
    api: Api, backend_name: str, small_video: Path, worker_home: Path, request: Any
) -> None:
    web_home = Path(api.env["HEATERS_HOME"])
    stored = Stored(api.env)
    data = small_video.read_bytes()
    with api.client() as c:
        r = _post(c, "my clip.mp4", data)
        assert r.status_code == 201, r.text
        video = r.json()
        assert video["source"] == "myclip.mp4" and video["title"] == "my clip", video
        # In the storage, as sent; nothing on the web host's disk (no spool, no temp file).
        uploads = await stored.uploads()
        assert list(uploads.values()) == [len(data)], uploads
        (key,) = uploads
        assert key.startswith("uploads/") and key.endswith("_myclip.mp4"), key
        assert not (web_home / "uploads").exists()
        assert _files(web_home / "tmp") == []
        assert key not in r.text and api.env["HEATERS_STORAGE_URL"] not in r.text

        # The same bytes again, under another name: the existing video, no second object.
        again = _post(c, "again.mp4", data)
        assert again.status_code == 200 and again.json()["id"] == video["id"], again.text
        assert again.json()["existing"] is True
        assert await stored.uploads() == uploads
        assert _files(web_home / "tmp") == []

        # A worker on "another host" (its own HEATERS_HOME; only the database and the
        # storage shared) downloads the upload from the storage and preprocesses it.
        proc = request.getfixturevalue("worker")
        url = api.env["DATABASE_URL"]

        async def preprocessed() -> bool:
            assert proc.poll() is None, (worker_home / "worker.log").read_text()[-3000:]
            state = c.get(f"/api/videos/{video['id']}").json()["state"]
            assert not state.endswith("_failed"), c.get(f"/api/videos/{video['id']}").text
            return state in ("preprocessed", "detecting", "detected")

        await wait_until(preprocessed, "the upload downloaded and preprocessed", timeout=180)

        async def upload_gone() -> bool:
            return await stored.uploads() == {}

        await wait_until(upload_gone, "the upload object deleted after the download")
        vid = video["id"]
        keys = await stored.keys()
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT source_key, source_path, original_path, sha256, proxy_path"
                " FROM source_videos WHERE id = %s", (vid,)
            ).fetchone()  # fmt: skip
            runs = conn.execute(
                "SELECT stage, outcome FROM stage_runs WHERE item_kind = 'video'"
                " AND item_id = %s AND stage IN ('download', 'preprocess')", (vid,)
            ).fetchall()  # fmt: skip
        assert row is not None
        assert row[0] == key and row[1] is None
        assert re.fullmatch(rf"videos/{vid}/original-[0-9a-f]{{12}}\.mp4", row[2]), row[2]
        assert keys[row[2]] == len(data), keys
        assert row[4] in keys, keys
        assert sorted(runs) == [("download", "done"), ("preprocess", "done")], runs
        # The source shown is still the name it was sent with; no path, no key.
        shown = c.get(f"/api/videos/{vid}").json()
        assert shown["source"] == "myclip.mp4" and shown["title"] == "my clip", shown
        # Nothing of the upload ever went through either host's uploads folder.
        assert not (web_home / "uploads").exists() and not (worker_home / "uploads").exists()
        if backend_name == "s3":
            assert not (web_home / "storage").exists() and not (worker_home / "storage").exists()


@pytest.mark.slow  # moto's S3 server and a live API (~5 s)
async def test_uploads_past_the_limit_or_empty_leave_no_object(api: Api, backend_name: str) -> None:
    stored = Stored(api.env)
    with api.client() as c:
        big = _post(c, "big.mp4", b"\1" * (3 * 1024 * 1024 + 1))
        assert big.status_code == 413, big.text
        empty = _post(c, "e.mp4", b"")
        assert empty.status_code == 400 and "empty" in empty.text
        assert c.get("/api/videos").json()["total"] == 0
    assert await stored.keys() == {}
    assert _files(Path(api.env["HEATERS_HOME"]) / "tmp") == []


# --- in-process: the submission itself ---------------------------------------------------


class FailingPut:
    """A storage that refuses every write (an outage), around a real one."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def put_file(self, local: Path, key: str, *, move: bool = False) -> None:
        from heaters.errors import StorageError

        raise StorageError("storage unavailable: cannot connect (test)")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_submit_upload_races_and_failures_leave_nothing_behind(
    db: Any, small_video: Path, tmp_path: Path
) -> None:
    from heaters.errors import StorageError
    from heaters.media.download import sha256_file
    from heaters.pipeline.submit import submit_upload
    from heaters.storage.local import LocalStorage

    storage = LocalStorage(tmp_path / "storage")
    sha = sha256_file(small_video)

    def spool(i: int) -> Path:
        p = tmp_path / f"spool{i}"
        p.write_bytes(small_video.read_bytes())
        return p

    # The same bytes from several clients at once: one video, one stored object.
    subs = await asyncio.gather(*(
        submit_upload(db, storage, spool(i), filename=f"c{i}.mp4", sha256=sha) for i in range(4)
    ))  # fmt: skip
    assert len({s.video_id for s in subs}) == 1
    assert sorted(s.existing for s in subs) == [False, True, True, True]
    objects = [p for p in (tmp_path / "storage").rglob("*") if p.is_file()]
    assert len(objects) == 1 and objects[0].parent.name == "uploads", objects

    # A storage that cannot take the file: the error is raised, no video is recorded.
    other = spool(9)
    with other.open("ab") as f:
        f.write(b"\0")
    with pytest.raises(StorageError, match="storage unavailable"):
        await submit_upload(db, FailingPut(storage), other, filename="x.mp4",
                            sha256=sha256_file(other))  # fmt: skip
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM source_videos") == 1
