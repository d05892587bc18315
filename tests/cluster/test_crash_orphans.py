"""A worker SIGKILLed while its ffmpeg encodes leaves no process behind (no ffmpeg, no process
pool child, no resource tracker), and the restarted worker encodes the video exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.conftest import REPO, SAMPLE, ffmpeg, heaters_cmd, json_lines, run_heaters, wait_for

PROXY_GOP = "keyint=1:min-keyint=1:scenecut=0"
"""Only the preprocess ffmpeg encodes this (the all-I-frame review proxy)."""


def _encodes(home: Path) -> list[psutil.Process]:
    """Running preprocess ffmpegs of this test (their outputs are under ``home``)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        line = " ".join(cmd)
        if cmd and "ffmpeg" in Path(cmd[0]).name and PROXY_GOP in line and str(home) in line:
            found.append(proc)
    return found


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            continue
    return out


@pytest.fixture(scope="module")
def longer_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s at 640x360: its preprocess runs long enough to be caught mid-encode."""
    out = tmp_path_factory.mktemp("videos") / "bbb_20s.mp4"
    ffmpeg("-ss", "5", "-i", str(SAMPLE), "-t", "20", "-vf", "scale=640:360",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-b:a", "64k",
           str(out))  # fmt: skip
    return out


def test_sigkill_mid_encode_leaves_no_process_and_one_encode_after(
    heaters_env: dict[str, str], longer_video: Path, tmp_path: Path
) -> None:
    url = heaters_env["DATABASE_URL"]
    home = Path(heaters_env["HEATERS_HOME"])
    log = tmp_path / "worker.log"
    first = subprocess.Popen(
        heaters_cmd("worker", "-v"), env=heaters_env, stdout=log.open("ab"),
        stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    try:
        sub = run_heaters(heaters_env, "ingest", str(longer_video), "--json")
        assert sub.returncode == 0, sub.stderr
        (video,) = json_lines(sub.stdout)
        me = psutil.Process(first.pid)

        def encoding() -> bool:
            kids = me.children(recursive=True)
            return any(p in kids for p in _encodes(home))

        wait_for(encoding, "the worker's ffmpeg to encode")
        family = me.children(recursive=True)
        names = {p.name() for p in family}
        assert "ffmpeg" in " ".join(names), names
        assert len(family) >= 3, f"ffmpeg, pool processes, resource tracker: {names}"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()

    # Nothing of the dead worker runs on: the kernel killed its children with it.
    wait_for(lambda: not _alive(family), "every child of the killed worker to die", timeout=15)
    assert not _encodes(home), "no ffmpeg of the killed worker is left"

    second = subprocess.Popen(
        heaters_cmd("worker", "-v"), env=heaters_env, stdout=log.open("ab"),
        stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    seen: dict[int, int] = {}  # pid of a preprocess ffmpeg → the worker it belongs to

    def done() -> bool:
        for p in _encodes(home):
            try:
                seen[p.pid] = int(p.environ().get("HEATERS_WORKER", "0"))
            except psutil.Error:
                continue
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT state FROM source_videos WHERE id = %s", (video["id"],))
            return row.fetchone()[0] == "detected"

    try:
        wait_for(done, "the video to be detected after the restart")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert list(seen.values()) == [second.pid], f"exactly one encode, by the new worker: {seen}"
    with psycopg.connect(url) as conn:
        runs = conn.execute(
            "SELECT outcome FROM stage_runs WHERE stage = 'preprocess' AND item_id = %s",
            (video["id"],),
        ).fetchall()
    assert [r[0] for r in runs] == ["done"], "one preprocess run finished, by the new worker"
    assert not (home / "tmp" / f"w{first.pid}").exists(), "the dead worker's temp folder is gone"
    assert not _alive(family)


def test_start_up_kills_processes_left_by_a_dead_worker_then_removes_its_folder(
    tmp_path: Path,
) -> None:
    """Children no parent-death signal reaches (a library's ffmpeg, say) still carry the dead
    worker's mark; the next worker's start-up kills them before removing the folder."""
    import sys

    from heaters.pipeline.tmp import TempRoot

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    folder = tmp_path / f"w{gone.pid}"
    (folder / "job").mkdir(parents=True)
    env = {**os.environ, "HEATERS_WORKER": str(gone.pid)}
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], env=env)
    live = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)"],
        env={**os.environ, "HEATERS_WORKER": str(os.getpid())},
    )
    try:
        wait_for(lambda: "HEATERS_WORKER" in psutil.Process(orphan.pid).environ(), "start")
        removed = TempRoot(tmp_path).clean_dead()
        assert not psutil.pid_exists(orphan.pid), "the dead worker's process was killed"
        assert removed == [folder] and not folder.exists()
        assert live.poll() is None, "a live worker's process is left alone"
    finally:
        for p in (orphan, live):
            if p.poll() is None:
                p.kill()
                p.wait()
