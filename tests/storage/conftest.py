"""Storage fixtures: moto's real S3 HTTP server on 127.0.0.1, a bucket, both backends.

The server is moto's ``ThreadedMotoServer`` (werkzeug, in a thread of the test process), so
the S3 backend talks real HTTP through aiobotocore and aiohttp. ``MotoS3.stop()`` closes the
listening socket and every open connection, as a dying server would; ``start()`` brings it
back on the same port with the same buckets (moto keeps its state in this process).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

BUCKET = "heaters-test"
REGION = "us-east-1"

#: Environment the S3 backend (and ``heaters`` subprocesses) need to reach the moto server.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


class MotoS3:
    """moto's S3 server on 127.0.0.1 that a test can stop and start again on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self._server: Any = None
        self._conns: set[socket.socket] = set()
        self._guard = threading.Lock()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve on ``self.port`` (a free one the first time)."""
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self.port = server.get_host_and_port()[1]
        wsgi: Any = server._server  # werkzeug's server: track its connections to cut them at stop
        accept = wsgi.process_request

        def process_request(request: socket.socket, client_address: Any) -> None:
            with self._guard:
                self._conns.add(request)
            accept(request, client_address)

        wsgi.process_request = process_request
        self._server = server

    def stop(self) -> None:
        """Stop accepting, close the port and drop every open (keep-alive) connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        server._server.server_close()
        with self._guard:
            conns, self._conns = self._conns, set()
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by its handler
                conn.shutdown(socket.SHUT_RDWR)

    @property
    def running(self) -> bool:
        """True while the server accepts connections."""
        return self._server is not None


@pytest.fixture(scope="session")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Fake AWS credentials in ``os.environ``, and no AWS config of this machine in the way."""
    empty = tmp_path_factory.mktemp("aws")
    env = {
        **AWS_ENV,
        "AWS_CONFIG_FILE": str(empty / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty / "credentials"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            mp.delenv(name, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        yield env


@pytest.fixture(scope="session")
async def moto_s3(aws_env: dict[str, str]) -> AsyncIterator[MotoS3]:
    """moto's S3 server on 127.0.0.1 with the bucket ``heaters-test`` (made by aiobotocore)."""
    from aiobotocore.session import get_session

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    server = MotoS3()
    server.start()
    async with get_session().create_client(
        "s3", endpoint_url=server.url, region_name=REGION
    ) as client:
        await client.create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture
def s3_prefix() -> str:
    """A fresh key prefix, so that tests sharing the bucket never see each other's objects."""
    return f"t/{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def s3_storage(moto_s3: MotoS3, s3_prefix: str) -> AsyncIterator[Any]:
    """An ``S3Storage`` on the moto bucket; fast retries so outage tests end quickly."""
    from heaters.storage.s3 import S3Storage

    storage = S3Storage(BUCKET, s3_prefix, endpoint_url=moto_s3.url, region=REGION, max_attempts=2)
    yield storage
    if not moto_s3.running:
        moto_s3.start()  # a failed outage test must not leave the server down
    await storage.aclose()


Lister = Callable[[], Awaitable[set[str]]]


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Lister]]:
    """Each backend in turn, with a function that lists everything it holds.

    The listing shows every file under the local root (temp ``.part`` files included), or
    every S3 object under the prefix plus ``upload:KEY`` for each unfinished multipart upload.
    """
    if request.param == "local":
        from heaters.storage.local import LocalStorage

        root = tmp_path / "storage"
        local = LocalStorage(root)

        async def list_local() -> set[str]:
            if not root.exists():
                return set()
            return {p.relative_to(local.root).as_posix() for p in root.rglob("*") if p.is_file()}

        yield local, list_local
        return

    s3 = request.getfixturevalue("s3_storage")

    async def list_s3() -> set[str]:
        client = await s3.client()
        found: set[str] = set()
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=f"{s3.prefix}/"
        )
        async for page in pages:
            found.update(o["Key"].removeprefix(f"{s3.prefix}/") for o in page.get("Contents", []))
        uploads = await client.list_multipart_uploads(Bucket=BUCKET, Prefix=f"{s3.prefix}/")
        found.update(
            "upload:" + u["Key"].removeprefix(f"{s3.prefix}/") for u in uploads.get("Uploads", [])
        )
        return found

    yield s3, list_s3
