"""The JSON API for real: uvicorn serving ``web.app:create_app`` on 127.0.0.1 against a fresh
database, with an API token made by ``heaters token create``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import REPO


@dataclass
class Api:
    """A running API: its base URL, a valid token, the environment of its processes."""

    url: str
    token: str
    env: dict[str, str]

    def client(self, token: str | None = "valid") -> httpx.Client:
        headers = {}
        if token == "valid":
            headers["Authorization"] = f"Bearer {self.token}"
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _create_token(url: str, name: str) -> str:
    """An API token called ``name`` in the database at ``url``, made by ``create_token`` on a
    loop of its own (a thread: the tests' loop may be running)."""
    import asyncio
    import concurrent.futures

    from heaters.api_tokens import create_token
    from heaters.db import Database

    async def create() -> str:
        async with Database.connect(url) as db:
            return await create_token(db, name)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, create()).result(timeout=60)


@pytest.fixture
def api_env_extra() -> dict[str, str]:
    """More settings for the API server of a test module (override this fixture)."""
    return {}


@pytest.fixture
def api(
    heaters_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    api_env_extra: dict[str, str],
) -> Iterator[Api]:
    env = {**heaters_env, "HEATERS_API_ALLOW_PRIVATE_URLS": "true",
           "HEATERS_API_MAX_UPLOAD_BYTES": str(3 * 1024 * 1024), **api_env_extra}  # fmt: skip
    # In this process (``heaters token create`` itself is tested in test_api.py): one Python
    # start-up less per test.
    token = _create_token(env["DATABASE_URL"], "tests")
    port = _free_port()
    logs = tmp_path_factory.mktemp("api-logs")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=REPO, stdout=(logs / "out").open("wb"), stderr=(logs / "err").open("wb"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a bound for a hung server (a loaded machine: ~60 s)
    while True:
        try:
            httpx.get(f"{url}/schema/openapi.json", timeout=2)
            break
        except httpx.TransportError:
            assert server.poll() is None, (logs / "err").read_text()
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.1)
    try:
        yield Api(url=url, token=token, env=env)
    finally:
        server.terminate()
        server.wait(30)
