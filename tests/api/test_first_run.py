"""A first run as a new user makes it (issue 23, part 4): ``heaters web`` with
``HEATERS_LOG_FORMAT=json`` logs JSON lines only (uvicorn's, Litestar's and ours: Litestar
no longer swaps in its own plain-text handler), and text responses name their charset once.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, heaters_cmd, run_heaters


def test_web_logs_json_lines_and_one_charset(heaters_env: dict[str, str], tmp_path: Path) -> None:
    env = {**heaters_env, "HEATERS_LOG_FORMAT": "json"}
    err = tmp_path / "stderr"
    with err.open("wb") as err_fh:
        proc = subprocess.Popen(
            heaters_cmd("web", "--port", "0"), env=env, cwd=REPO, stdout=subprocess.PIPE,
            stderr=err_fh, text=True,
        )  # fmt: skip
    watchdog = threading.Timer(120, proc.kill)  # a hung start fails the test, never hangs it
    watchdog.start()
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        found = re.search(r"http://[^/\s]+/", ready)
        assert found, f"no ready line: {ready!r} {err.read_text()}"
        with httpx.Client(base_url=found.group(0), timeout=60) as client:
            page = client.get("/login")
            assert page.headers["content-type"] == "text/html; charset=utf-8"
            metrics = client.get("/metrics")
            assert metrics.status_code == 200
            assert metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    finally:
        proc.terminate()
        proc.wait(60)
        watchdog.cancel()
    lines = [line for line in err.read_text().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"event", "level", "timestamp"} <= e.keys() for e in events), events
    assert any(
        e.get("logger") == "uvicorn.access" and "GET /login" in e["event"] for e in events
    ), "the access log goes through the same JSON formatter"


@pytest.mark.parametrize(
    ("value", "tty", "expected"),
    [("json", True, True), ("JSON", False, True), ("console", False, False),
     ("", True, False), ("auto", False, True), (None, True, False)],
)  # fmt: skip
def test_log_format_setting(
    value: str | None, tty: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from heaters import logs

    monkeypatch.setattr(logs.sys.stderr, "isatty", lambda: tty)
    if value is None:
        monkeypatch.delenv(logs.FORMAT_ENV, raising=False)
    else:
        monkeypatch.setenv(logs.FORMAT_ENV, value)
    assert logs.json_lines_wanted() is expected


def test_bad_log_format_warns_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from heaters import logs

    root = logging.getLogger()
    before = (root.handlers[:], root.level)
    monkeypatch.setenv(logs.FORMAT_ENV, "xml")
    try:
        logs.configure_logging(logging.INFO)
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        root.handlers, _ = before
        root.setLevel(before[1])
    assert (
        len(lines) == 1 and "HEATERS_LOG_FORMAT='xml': use one of auto, json, console" in lines[0]
    )
    assert "using auto" in lines[0]


def test_ingest_says_what_to_do_next(heaters_env: dict[str, str], small_video: Path) -> None:
    """After the clips, ``heaters ingest`` names the next commands (on stderr: stdout stays
    the table); ``--json`` prints only its objects."""
    p = run_heaters(heaters_env, "ingest", str(small_video))
    assert p.returncode == 0, p.stderr
    steps = p.stderr[p.stderr.index("next steps:") :]
    for command in ("heaters user add NAME", "heaters web", "heaters worker", "heaters status"):
        assert f"  {command} " in steps, steps
    assert "http://127.0.0.1:8000/" in steps and "the rest of these videos" in steps
    assert "next steps" not in p.stdout
    p = run_heaters(heaters_env, "ingest", str(small_video), "--json")
    assert p.returncode == 0 and "next steps" not in p.stdout + p.stderr
    assert json.loads(p.stdout)["existing"] is True


def test_ingest_wait_prints_plain_progress_off_a_terminal(
    heaters_env: dict[str, str], small_video: Path
) -> None:
    """Not on a terminal (here: a pipe), ``heaters ingest --wait`` prints plain progress
    lines on stderr: the states reached and each counting stage's frames, time and fps
    (issue 23, part 4); ``--json`` prints none."""
    p = run_heaters(heaters_env, "ingest", str(small_video), "--wait")
    assert p.returncode == 0, p.stderr
    vid = int(re.search(r"^\+ .*: video (\d+)$", p.stderr, re.M).group(1))  # type: ignore[union-attr]
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith(f"video {vid}: ")]
    pre = next(i for i, ln in enumerate(lines) if ln.startswith(f"video {vid}: preprocess done:"))
    det = next(i for i, ln in enumerate(lines) if ln.startswith(f"video {vid}: detect done:"))
    assert re.fullmatch(rf"video {vid}: preprocess done: 192 frames in [\d.]+ s, [\d.]+ fps",
                        lines[pre]), lines  # fmt: skip
    assert re.fullmatch(rf"video {vid}: detect done: 192 frames in [\d.]+ s(, [\d.]+ fps)?",
                        lines[det]), lines  # fmt: skip
    assert pre < det < len(lines) - 1 and lines[-1] == f"video {vid}: detected", lines
    assert len(lines) == len(set(lines)), lines  # a state, or a stage done, is said once
