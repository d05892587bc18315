"""Operations around review: ``heaters status`` lists failing clips with their reasons,
``heaters retry --failed-clips`` retries them all, and
``heaters web`` says it is ready only when it accepts connections, then logs every request."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import REPO, heaters_cmd, json_lines, run_heaters
from tests.review.test_review import _make_video


async def test_status_lists_failing_clips_with_their_reasons(
    db: Any, heaters_env: dict[str, str]
) -> None:
    vid, ids = await _make_video(db, [60, 130], proxy=None)
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE clips SET state = 'export_failed', last_error = 'storage unavailable: disk',"
            " attempts = 3, next_attempt_at = NULL WHERE id = $1",
            ids[1],
        )
    done = await asyncio.to_thread(run_heaters, heaters_env, "status", "--json")
    assert done.returncode == 0, done.stderr
    (s,) = json_lines(done.stdout)
    assert s["clips"] == {"export_failed": 1, "pending_review": 2}
    (failing,) = s["failed_clips"]  # type: ignore[misc]
    assert failing["id"] == ids[1] and failing["source_video_id"] == vid
    assert (failing["state"], failing["last_error"], failing["attempts"]) == (
        "export_failed", "storage unavailable: disk", 3,
    )  # fmt: skip
    wide = {**heaters_env, "COLUMNS": "200"}
    text = await asyncio.to_thread(run_heaters, wide, "status")
    assert text.returncode == 0, text.stderr
    assert "failing clips" in text.stdout and "storage unavailable: disk" in text.stdout
    assert "waits for an operator" in text.stdout
    # The bulk retry: every failed clip is due again, with a fresh attempt budget.
    retried = await asyncio.to_thread(run_heaters, heaters_env, "retry", "--failed-clips", "--json")
    assert retried.returncode == 0, retried.stderr
    assert json_lines(retried.stdout) == [{"retried": [ids[1]]}]
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT attempts, next_attempt_at FROM clips WHERE id = $1", ids[1]
        )
    assert row["attempts"] == 0 and row["next_attempt_at"] is not None
    usage = await asyncio.to_thread(run_heaters, heaters_env, "retry")
    assert usage.returncode == 2 and "--failed-clips" in usage.stderr


def test_web_is_ready_when_it_says_so_and_logs_requests(
    heaters_env: dict[str, str], tmp_path: Path
) -> None:
    err = tmp_path / "web.err"
    proc = subprocess.Popen(
        heaters_cmd("web", "--port", "0"), env={**heaters_env, "PYTHONUNBUFFERED": "1"},
        cwd=REPO, stdout=subprocess.PIPE, stderr=err.open("wb"), text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(120)
        assert line and "review UI ready on http://" in line[0], (line, err.read_text())
        url = line[0].split("ready on ")[1].split()[0]
        assert not url.endswith(":0/"), "the port actually bound"
        # No retry loop: the server accepts connections from the moment it says it is ready.
        r = httpx.get(f"{url}login", timeout=30)
        assert r.status_code == 200
        assert httpx.get(f"{url}no-such-page", timeout=30).status_code in (302, 303, 404)
    finally:
        proc.terminate()
        proc.wait(30)
    # stderr is no terminal: JSON lines (HEATERS_LOG_FORMAT=auto), the access log among them
    lines = [json.loads(x) for x in err.read_text().splitlines() if x.startswith("{")]
    access = [e["event"] for e in lines if e.get("logger") == "uvicorn.access"]
    assert any('"GET /login HTTP/1.1" 200' in e for e in access), access
    assert any("/no-such-page" in e for e in access), access
