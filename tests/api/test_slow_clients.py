"""``heaters web`` against slow clients and a busy port (issue 20, item 5): half-sent request
headers, a silent connection and a stalled body are closed by the server after the
configured read timeouts; a taken port is one line naming it, with no "ready" line."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, heaters_cmd

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
SAFETY = 30.0  # a socket read that waits longer than this fails the test (it never closed)


@pytest.fixture
def web(heaters_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """``heaters web --port 0`` with 1 s read timeouts; yields (host, port, its stderr)."""
    env = {**heaters_env, "HEATERS_WEB_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
           "HEATERS_WEB_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT), "PYTHONUNBUFFERED": "1"}  # fmt: skip
    err = tmp_path / "web.err"
    server = subprocess.Popen(heaters_cmd("web", "--port", "0", "--no-access-log"), env=env,
                              cwd=REPO, stdout=subprocess.PIPE, stderr=err.open("wb"),
                              text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # blocks until the ready line (or the exit)
        found = re.search(r"ready on http://([\d.]+):(\d+)/", line)
        assert found, (line, err.read_text())
        yield found[1], int(found[2]), err
    finally:
        server.terminate()
        server.wait(30)


def _closed_by_server(host: str, port: int, send: bytes) -> bytes:
    """Send ``send`` on a new connection and read until the server closes it; returns what
    the server sent. Fails if the server keeps the connection open past SAFETY seconds."""
    with socket.create_connection((host, port), timeout=SAFETY) as s:
        s.sendall(send)
        got = b""
        while chunk := s.recv(65536):  # b"": the server closed the connection
            got += chunk
        return got


def test_half_sent_requests_and_stalled_bodies_are_cut_off(web: tuple[str, int, Path]) -> None:
    host, port, err = web
    # half of a request's headers, then nothing: closed, no answer
    assert _closed_by_server(host, port, b"GET /login HTTP/1.1\r\nHost: x\r\nAccept: te") == b""
    # a connection that sends nothing
    assert _closed_by_server(host, port, b"") == b""
    # a body announced at 1,000 bytes that stops after 10: closed without a 200
    stalled = _closed_by_server(
        host, port,
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: 1000\r\n\r\nname=alice",
    )  # fmt: skip
    assert b" 200 " not in stalled and b" 303 " not in stalled, stalled[:200]
    # keep-alive: a whole request is answered, the half request after it is cut off
    both = _closed_by_server(
        host, port, b"GET /login HTTP/1.1\r\nHost: x\r\n\r\nGET /login HTTP/1.1\r\nHost: x\r\n"
    )
    assert both.startswith(b"HTTP/1.1 200 ") and both.count(b"HTTP/1.1 ") == 1, both[:200]
    # whole requests are served as before
    assert httpx.get(f"http://{host}:{port}/login", timeout=SAFETY).status_code == 200
    log = err.read_text()
    assert "request headers not complete within 1 s" in log, log[-2000:]
    assert "request body stalled for 1 s" in log, log[-2000:]


def test_a_busy_port_is_one_line_and_no_ready(heaters_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(heaters_cmd("web", "--port", str(port)), env=heaters_env, cwd=REPO,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert "ready" not in done.stdout + done.stderr, done
    assert done.stderr.strip().splitlines() == [
        f"port {port} on 127.0.0.1 is in use: pick another with --port (0: any free one)"
    ], done.stderr
