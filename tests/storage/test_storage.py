"""The storage contract, run against ``LocalStorage`` and ``S3Storage`` (moto's real server).

The S3 backend goes through real HTTP to moto on 127.0.0.1; requests are counted with
botocore's own event hooks on the storage's client, failures are real (a stopped server, a
connection dropped mid-upload, IAM auth switched on in moto), never mocks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ConnectionClosedError

from heaters.errors import ConfigError, StorageError
from heaters.storage import LocalStorage, S3Storage, Storage, storage_from_url
from tests.conftest import SAMPLE
from tests.storage.conftest import BUCKET, REGION, Lister, MotoS3

MIB = 1024 * 1024


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count_requests(client: Any, *operations: str) -> Counter[str]:
    """Count the HTTP requests (retries included) the storage's client sends per operation."""
    sent: Counter[str] = Counter()
    for op in operations:

        def hook(op: str = op, **_: Any) -> None:
            sent[op] += 1

        client.meta.events.register(f"before-send.s3.{op}", hook, unique_id=f"count-{op}")
    return sent


# --- the contract, both backends ------------------------------------------------------------


async def test_round_trip_real_video(
    backend: tuple[Storage, Lister], small_video: Path, tmp_path: Path
) -> None:
    storage, listing = backend
    key = "videos/1/original.mp4"
    assert not await storage.exists(key)
    await storage.put_file(small_video, key)
    assert small_video.exists(), "move=False keeps the local file"
    assert await storage.exists(key)
    out = tmp_path / "back.mp4"
    await storage.get_file(key, out)
    assert sha256(out) == sha256(small_video)
    assert await listing() == {key}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    if isinstance(storage, S3Storage):
        assert storage.local_path(key) is None
        assert storage.url == f"s3://{BUCKET}/{storage.prefix}"
    else:
        assert storage.local_path(key) == Path(storage.url.removeprefix("file://")) / key


async def test_put_replaces_an_object(
    backend: tuple[Storage, Lister], small_video: Path, tmp_path: Path
) -> None:
    storage, listing = backend
    key = "videos/2/proxy.mp4"
    other = tmp_path / "other.mp4"
    shutil.copy(SAMPLE, other)
    await storage.put_file(small_video, key)
    await storage.put_file(other, key)
    out = tmp_path / "out.mp4"
    await storage.get_file(key, out)
    assert sha256(out) == sha256(SAMPLE)
    assert await listing() == {key}


async def test_move_consumes_the_local_file(
    backend: tuple[Storage, Lister], small_video: Path, tmp_path: Path
) -> None:
    storage, listing = backend
    work = tmp_path / "work"
    work.mkdir()
    local = work / "master.mkv"
    shutil.copy(small_video, local)
    await storage.put_file(local, "videos/3/master.mkv", move=True)
    assert not local.exists()
    assert list(work.iterdir()) == []
    out = tmp_path / "out.mkv"
    await storage.get_file("videos/3/master.mkv", out)
    assert sha256(out) == sha256(small_video)
    assert await listing() == {"videos/3/master.mkv"}


async def test_failed_put_leaves_no_partial_object(
    backend: tuple[Storage, Lister], small_video: Path, tmp_path: Path
) -> None:
    storage, listing = backend
    key = "videos/4/original.mp4"
    await storage.put_file(small_video, key)
    missing = tmp_path / "gone.mp4"
    with pytest.raises(StorageError):
        await storage.put_file(missing, key)  # the old object stays whole
    with pytest.raises(StorageError):
        await storage.put_file(missing, "videos/5/original.mp4", move=True)
    assert await listing() == {key}
    out = tmp_path / "out.mp4"
    await storage.get_file(key, out)
    assert sha256(out) == sha256(small_video)


async def test_get_of_a_missing_object_is_a_permanent_error(
    backend: tuple[Storage, Lister], tmp_path: Path
) -> None:
    storage, _ = backend
    out = tmp_path / "x.mp4"
    with pytest.raises(StorageError) as err:
        await storage.get_file("clips/3/x.mp4", out)
    assert str(err.value) == "object not found in storage: clips/3/x.mp4"
    assert err.value.transient is False
    assert list(tmp_path.iterdir()) == [], "no file, no temp file left behind"


async def test_a_key_cannot_escape(backend: tuple[Storage, Lister], small_video: Path) -> None:
    storage, listing = backend
    with pytest.raises(StorageError) as err:
        await storage.put_file(small_video, "../escape.mp4")
    assert err.value.transient is False
    assert await listing() == set()


async def test_delete_many_in_batches(backend: tuple[Storage, Lister], tmp_path: Path) -> None:
    storage, listing = backend
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("x")
    keys = [f"clips/{i}/sprite.jpg" for i in range(2500)]
    stored = keys[::10]  # 250 real objects, spread over all three batches; the rest are missing
    gate = asyncio.Semaphore(16)

    async def put(key: str) -> None:
        async with gate:
            await storage.put_file(tiny, key)

    await asyncio.gather(*(put(k) for k in [*stored, "clips/keep/sprite.jpg"]))
    assert len(await listing()) == 251

    sent: Counter[str] = Counter()
    if isinstance(storage, S3Storage):
        sent = count_requests(await storage.client(), "DeleteObjects")
    await storage.delete_many(keys)
    assert await listing() == {"clips/keep/sprite.jpg"}
    if isinstance(storage, S3Storage):
        assert sent["DeleteObjects"] == 3, "2,500 keys → 1,000 + 1,000 + 500"
    await storage.delete_many(keys)  # all gone already: fine
    assert await listing() == {"clips/keep/sprite.jpg"}
    if isinstance(storage, S3Storage):
        assert sent["DeleteObjects"] == 6


async def test_delete_of_missing_keys_is_fine(backend: tuple[Storage, Lister]) -> None:
    storage, listing = backend
    await storage.delete_many([])
    await storage.delete_many(["videos/404/master.mkv", "clips/404/sprite.jpg"])
    assert await listing() == set()


# --- S3: multipart, errors, outages ---------------------------------------------------------


@pytest.fixture
async def small_parts(moto_s3: MotoS3, s3_prefix: str) -> Any:
    """An ``S3Storage`` whose multipart threshold is 5 MiB: the 7.5 MiB sample is 2 parts."""
    storage = S3Storage(
        BUCKET,
        s3_prefix,
        endpoint_url=moto_s3.url,
        region=REGION,
        multipart_threshold=5 * MIB,
        part_size=5 * MIB,
        max_attempts=2,
    )
    yield storage
    if not moto_s3.running:
        moto_s3.start()
    await storage.aclose()


async def test_multipart_upload_of_a_real_video(small_parts: S3Storage, tmp_path: Path) -> None:
    storage = small_parts
    assert SAMPLE.stat().st_size > 5 * MIB
    client = await storage.client()
    sent = count_requests(
        client, "PutObject", "CreateMultipartUpload", "UploadPart",
        "CompleteMultipartUpload", "AbortMultipartUpload",
    )  # fmt: skip
    await storage.put_file(SAMPLE, "videos/7/original.mp4")
    assert sent == {"CreateMultipartUpload": 1, "UploadPart": 2, "CompleteMultipartUpload": 1}
    head = await client.head_object(Bucket=BUCKET, Key=f"{storage.prefix}/videos/7/original.mp4")
    assert head["ContentLength"] == SAMPLE.stat().st_size
    assert head["ETag"].strip('"').endswith("-2"), "a multipart object's ETag counts its parts"
    out = tmp_path / "out.mp4"
    await storage.get_file("videos/7/original.mp4", out)
    assert sha256(out) == sha256(SAMPLE)


async def test_multipart_failure_is_aborted_and_leaves_nothing(
    small_parts: S3Storage, tmp_path: Path
) -> None:
    storage = small_parts
    client = await storage.client()

    def drop_part_two(request: Any, **_: Any) -> None:
        if "partNumber=2" in request.url:
            raise ConnectionClosedError(endpoint_url=request.url)

    sent = count_requests(client, "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload")
    client.meta.events.register("before-send.s3.UploadPart", drop_part_two)  # after the count
    local = tmp_path / "original.mp4"
    shutil.copy(SAMPLE, local)
    with pytest.raises(StorageError) as err:
        await storage.put_file(local, "videos/8/original.mp4", move=True)
    assert err.value.transient is True
    assert str(err.value) == (
        f"storage unavailable: the connection to {storage.endpoint_url} was lost ({storage.url})"
    )
    assert local.exists(), "a failed move keeps the local file"
    # botocore retried part 2 (max_attempts=2), then the upload was aborted.
    assert sent == {"UploadPart": 3, "AbortMultipartUpload": 1}
    assert not await storage.exists("videos/8/original.mp4")
    uploads = await client.list_multipart_uploads(Bucket=BUCKET, Prefix=storage.prefix)
    assert uploads.get("Uploads", []) == [], "the multipart upload was aborted"

    client.meta.events.unregister("before-send.s3.UploadPart", drop_part_two)
    await storage.put_file(local, "videos/8/original.mp4", move=True)
    assert not local.exists()
    assert await storage.exists("videos/8/original.mp4")


async def test_presigned_url_serves_ranges(s3_storage: S3Storage, small_video: Path) -> None:
    storage = s3_storage
    await storage.put_file(small_video, "videos/1/proxy.mp4")
    url = await storage.presigned_url("videos/1/proxy.mp4", expires_seconds=60)
    data = small_video.read_bytes()
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Range": "bytes=100-1123"}) as resp:
            assert resp.status == 206
            assert await resp.read() == data[100:1124]
        missing = await storage.presigned_url("videos/404/proxy.mp4")
        async with http.get(missing) as resp:
            assert resp.status == 404


async def test_no_such_bucket(moto_s3: MotoS3, small_video: Path, tmp_path: Path) -> None:
    storage = S3Storage("no-such-bucket", "p", endpoint_url=moto_s3.url, region=REGION)
    try:
        for call in (
            storage.put_file(small_video, "videos/1/original.mp4"),
            storage.get_file("videos/1/original.mp4", tmp_path / "x.mp4"),
            storage.delete_many(["videos/1/original.mp4"]),
        ):
            with pytest.raises(StorageError) as err:
                await call
            assert str(err.value) == "no such bucket: s3://no-such-bucket"
            assert err.value.transient is False
    finally:
        await storage.aclose()


async def test_access_denied(
    moto_s3: MotoS3, s3_prefix: str, small_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiobotocore.session import get_session

    # A real IAM user who may only read the bucket, made before moto checks credentials.
    async with get_session().create_client(
        "iam", endpoint_url=moto_s3.url, region_name=REGION
    ) as iam:
        name = f"reader-{s3_prefix.replace('/', '-')}"
        await iam.create_user(UserName=name)
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
            ],
        }
        await iam.put_user_policy(
            UserName=name, PolicyName="read", PolicyDocument=json.dumps(policy)
        )
        access_key = (await iam.create_access_key(UserName=name))["AccessKey"]

    key = "videos/1/original.mp4"
    with _moto_auth_on(moto_s3):
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", access_key["SecretAccessKey"])
        reader = S3Storage(BUCKET, s3_prefix, endpoint_url=moto_s3.url, region=REGION)
        stranger = S3Storage(BUCKET, s3_prefix, endpoint_url=moto_s3.url, region=REGION)
        try:
            await reader.client()  # credentials are read when the client is made
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNUNKNOWN00")
            with pytest.raises(StorageError) as err:
                await reader.put_file(small_video, key)
            assert str(err.value) == f"access denied to s3://{BUCKET}/{s3_prefix}/{key}"
            assert err.value.transient is False

            await stranger.client()
            with pytest.raises(StorageError) as err:
                await stranger.put_file(small_video, key)
            assert str(err.value) == (
                f"access denied to s3://{BUCKET}/{s3_prefix}/{key} (InvalidAccessKeyId)"
            )
            assert err.value.transient is False
        finally:
            await reader.aclose()
            await stranger.aclose()


class _moto_auth_on:
    """``with _moto_auth_on(server):`` moto checks credentials and IAM policies inside."""

    def __init__(self, server: MotoS3) -> None:
        self.url = f"{server.url}/moto-api/reset-auth"

    def _post(self, count: str) -> None:
        import urllib.request

        req = urllib.request.Request(
            self.url, data=count.encode(), method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200

    def __enter__(self) -> None:
        self._post("0")

    def __exit__(self, *exc: object) -> None:
        self._post("inf")


async def test_outage_is_transient_and_the_same_call_works_after(
    moto_s3: MotoS3, s3_prefix: str, small_video: Path, tmp_path: Path
) -> None:
    # No retries here (max_attempts=1): botocore's backoff would only slow the test down.
    storage = S3Storage(BUCKET, s3_prefix, endpoint_url=moto_s3.url, region=REGION, max_attempts=1)
    await storage.put_file(small_video, "videos/1/original.mp4")
    unavailable = f"storage unavailable: cannot connect to {moto_s3.url} ({storage.url})"
    # The first request may find its pooled keep-alive connection cut rather than refused.
    first = re.compile(
        re.escape("storage unavailable: ")
        + f"(cannot connect to {re.escape(moto_s3.url)}"
        + f"|the connection to {re.escape(moto_s3.url)} was lost)"
        + re.escape(f" ({storage.url})")
    )
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: storage.exists("videos/1/original.mp4"),
        lambda: storage.get_file("videos/1/original.mp4", tmp_path / "a.mp4"),
        lambda: storage.put_file(small_video, "videos/2/original.mp4"),
        lambda: storage.delete_many(["videos/1/original.mp4"]),
    ]
    try:
        moto_s3.stop()
        for i, call in enumerate(calls):
            with pytest.raises(StorageError) as err:
                await call()
            assert err.value.transient is True
            if i == 0:
                assert first.fullmatch(str(err.value)), str(err.value)
            else:
                assert str(err.value) == unavailable
        assert not (tmp_path / "a.mp4").exists()
        assert list(tmp_path.iterdir()) == [], "no temp file left behind"

        moto_s3.start()  # same port, same buckets
        assert await calls[0]() is True
        await calls[1]()
        assert sha256(tmp_path / "a.mp4") == sha256(small_video)
        await calls[2]()
        await calls[3]()
        assert not await storage.exists("videos/1/original.mp4")
        assert await storage.exists("videos/2/original.mp4")
    finally:
        if not moto_s3.running:
            moto_s3.start()
        await storage.aclose()


async def test_outage_in_the_middle_of_a_multipart_upload(
    small_parts: S3Storage, moto_s3: MotoS3
) -> None:
    storage = small_parts
    client = await storage.client()

    def server_dies(**_: Any) -> None:
        if moto_s3.running:
            moto_s3.stop()  # right after part 1 was stored

    client.meta.events.register("after-call.s3.UploadPart", server_dies)
    with pytest.raises(StorageError) as err:
        await storage.put_file(SAMPLE, "videos/9/original.mp4")
    assert err.value.transient is True
    assert str(err.value).startswith("storage unavailable: ")
    assert moto_s3.url in str(err.value)

    client.meta.events.unregister("after-call.s3.UploadPart", server_dies)
    moto_s3.start()
    await storage.put_file(SAMPLE, "videos/9/original.mp4")
    head = await client.head_object(Bucket=BUCKET, Key=f"{storage.prefix}/videos/9/original.mp4")
    assert head["ContentLength"] == SAMPLE.stat().st_size
    # The upload whose abort could not reach the dead server is left for the bucket's
    # lifecycle rule (AbortIncompleteMultipartUpload); it never shows as an object.
    listed = await client.list_objects_v2(Bucket=BUCKET, Prefix=storage.prefix)
    assert [o["Key"] for o in listed["Contents"]] == [f"{storage.prefix}/videos/9/original.mp4"]


async def test_a_missing_server_is_named(tmp_path: Path, aws_env: dict[str, str]) -> None:
    port = free_port()
    storage = S3Storage(BUCKET, endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1)
    try:
        with pytest.raises(StorageError) as err:
            await storage.exists("videos/1/original.mp4")
    finally:
        await storage.aclose()
    assert str(err.value) == (
        f"storage unavailable: cannot connect to http://127.0.0.1:{port} (s3://{BUCKET})"
    )
    assert err.value.transient is True
    assert isinstance(err.value.__cause__, Exception)
    assert not isinstance(err.value.__cause__, aiohttp.ClientError), "botocore wraps aiohttp"


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- storage_from_url -----------------------------------------------------------------------


def test_storage_from_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from heaters.config import get_settings

    local = storage_from_url(f"file://{tmp_path}")
    assert isinstance(local, LocalStorage)

    monkeypatch.setenv("HEATERS_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("HEATERS_S3_REGION", "eu-west-3")
    get_settings.cache_clear()
    try:
        s3 = storage_from_url("s3://media/heaters/prod/")
        assert isinstance(s3, S3Storage)
        assert (s3.bucket, s3.prefix, s3.url) == (
            "media",
            "heaters/prod",
            "s3://media/heaters/prod",
        )
        assert (s3.endpoint_url, s3.region) == ("http://127.0.0.1:9000", "eu-west-3")
        bare = storage_from_url("s3://media", endpoint_url="http://localhost:1", region="x-1")
        assert isinstance(bare, S3Storage)
        assert (bare.url, bare.prefix, bare.endpoint_url, bare.region) == (
            "s3://media", "", "http://localhost:1", "x-1",
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    for bad in ("s3://", "s3:///prefix", "gs://bucket/x", "/plain/path"):
        with pytest.raises(ConfigError):
            storage_from_url(bad)
