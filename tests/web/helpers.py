"""Helpers of the review UI tests: the running stack, signing in, reading the panel."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("HEATERS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "correct horse battery"
SETTLE = 15.0
"""The review settle window of the web tests' stack (HEATERS_REVIEW_SETTLE_SECONDS)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Stack:
    """The running review UI and what the tests need to check it."""

    url: str
    env: dict[str, str]
    database_url: str
    videos: list[dict[str, Any]]

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run ``query`` on the test database (autocommit); rows as tuples."""
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def clip(self, clip_id: int) -> dict[str, Any]:
        """One clip row as a dict."""
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.database_url, row_factory=dict_row) as conn:
            row = conn.execute("SELECT * FROM clips WHERE id = %s", (clip_id,)).fetchone()
        assert row is not None, f"no clip {clip_id}"
        return dict(row)

    def wait_for(
        self, check: Callable[[], Any], timeout: float = 15.0, what: str = "condition"
    ) -> Any:
        """Poll ``check`` until it returns something truthy; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the web server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the web server did not answer {url} within {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def login(browser: Any, stack: Stack, user: str) -> Any:
    """A new browser context signed in as ``user``, on /review; returns the page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{stack.url}/review")
    assert "/login" in page.url, "an anonymous visit must land on the login page"
    page.fill("#name", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    # /review, which the page then names by its clip (/review/clips/N) for a reload.
    page.wait_for_url(re.compile(re.escape(stack.url) + r"/review(/clips/\d+)?$"))
    page.wait_for_selector("#panel")
    return page


def panel_clip(page: Any) -> int | None:
    """The id of the clip the review panel shows (None: nothing to review)."""
    value = page.get_attribute("#panel", "data-clip-id")
    return int(value) if value else None


def wait_panel_change(page: Any, old: int | None) -> int | None:
    """Wait until the panel shows another clip than ``old``; returns the new id."""
    page.wait_for_function(
        "old => (document.querySelector('#panel') || {}).dataset?.clipId !== old",
        arg=str(old) if old is not None else None,
    )
    return panel_clip(page)


def wait_video_ready(page: Any) -> None:
    """Wait until the player has presented a frame (requestVideoFrameCallback ran)."""
    page.wait_for_function(
        "() => window.heatersReview && heatersReview.state() && heatersReview.state().mediaTime !== null"
    )


def wait_idle(page: Any) -> None:
    """Wait until the page has no action waiting for its answer and no panel loading."""
    page.wait_for_function("() => window.heatersReview && heatersReview.busy() === 0")


def api_post(page: Any, stack: Stack, path: str, form: dict[str, Any] | None = None) -> Any:
    """POST as the page's session with its CSRF token, asking for JSON; returns the response."""
    return page.context.request.post(
        f"{stack.url}{path}",
        form=form or {},
        headers={"X-CSRFToken": csrf_token(page), "Accept": "application/json"},
    )


def csrf_token(page: Any) -> str:
    """The page's CSRF token (the value of its CSRF cookie)."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return str(cookies["heaters_csrf"])


def clips_of(stack: Stack, video: int = 0) -> list[dict[str, Any]]:
    """The clips ``heaters ingest --json`` reported for the stack's video ``video``."""
    return list(stack.videos[video]["clips"])


def wait_flash(page: Any, text: str) -> str:
    """Wait for a message, then until the page has shown what follows it; the message."""
    page.wait_for_function("t => document.querySelector('#flash').innerText.includes(t)", arg=text)
    wait_idle(page)
    return str(page.inner_text("#flash"))


@contextmanager
def export_worker(stack: Stack) -> Iterator[None]:
    """A worker on the cpu queue (export, sprites) for the length of a test."""
    from tests.conftest import heaters_cmd

    proc = subprocess.Popen(
        heaters_cmd("worker", "--queues", "cpu"),
        env=stack.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        _stop(proc)
