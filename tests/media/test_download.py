"""download(), copy_local(), sha256_file(): a real HTTP server on 127.0.0.1, real yt-dlp."""

from __future__ import annotations

import functools
import hashlib
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from heaters.errors import DownloadError
from heaters.media.download import DownloadResult, copy_local, download, sha256_file
from heaters.media.probe import probe

from .conftest import SMALL_FRAMES, MediaFiles


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/forbidden"):
            self.send_error(403)
            return
        super().do_GET()

    def do_HEAD(self) -> None:
        if self.path.startswith("/forbidden"):
            self.send_error(403)
            return
        super().do_HEAD()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(media: MediaFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve a real mp4, an HTML page and broken mp4s; yield the base URL."""
    root = tmp_path_factory.mktemp("www")
    shutil.copyfile(media.small, root / "clip.mp4")
    shutil.copyfile(media.truncated_faststart, root / "cut_faststart.mp4")
    shutil.copyfile(media.truncated, root / "cut_nomoov.mp4")
    (root / "page.html").write_text(
        "<!doctype html><html><head><title>Hi</title></head><body><p>No video here.</p>"
        "</body></html>"
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_download_mp4(server: str, media: MediaFiles, tmp_path: Path) -> None:
    progress: list[tuple[int, int | None]] = []
    url = f"{server}/clip.mp4"
    r = download(
        url, tmp_path / "dl", on_progress=lambda done, total: progress.append((done, total))
    )
    assert isinstance(r, DownloadResult)
    assert r.path.is_file() and r.path.parent == tmp_path / "dl"
    assert r.source_url == url
    assert r.title == "clip"
    assert r.extractor == "Generic"
    assert r.normalised is None
    assert sha256_file(r.path) == sha256_file(media.small)
    assert probe(r.path).frame_count == SMALL_FRAMES
    size = media.small.stat().st_size
    assert progress and progress[-1][0] == size
    assert progress[-1][1] == size


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing.mp4", "HTTP 404 Not Found: {url}"),
        ("/forbidden.mp4", "HTTP 403 Forbidden: {url}"),
        ("/page.html", "no video found at {url} (the page has nothing yt-dlp can download)"),
    ],
)
def test_download_errors(server: str, tmp_path: Path, path: str, reason: str) -> None:
    url = server + path
    with pytest.raises(DownloadError) as err:
        download(url, tmp_path)
    assert str(err.value) == reason.format(url=url)


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/video.mp4"
    with pytest.raises(DownloadError) as err:
        download(url, tmp_path)
    assert str(err.value) == f"cannot connect to 127.0.0.1:{port}: connection refused ({url})"


def test_truncated_download_is_remuxed(server: str, tmp_path: Path) -> None:
    # The MP4 index promises 96 frames but the data stops half way: the probe fails, a
    # stream-copy remux to MKV keeps the readable frames and probes.
    r = download(f"{server}/cut_faststart.mp4", tmp_path)
    assert r.normalised == "remux"
    assert r.path.suffix == ".mkv"
    assert 0 < probe(r.path).frame_count < SMALL_FRAMES
    assert [p.name for p in tmp_path.iterdir()] == [r.path.name]  # the original is gone


def test_unusable_download(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        download(f"{server}/cut_nomoov.mp4", tmp_path)
    assert str(err.value) == (
        "the downloaded file is not a usable video: "
        "file is truncated or corrupt: the MP4 index (moov atom) is missing"
    )


def test_copy_local(media: MediaFiles, tmp_path: Path) -> None:
    r = copy_local(media.small, tmp_path / "copy")
    assert r.path == tmp_path / "copy" / media.small.name
    assert r.title == media.small.stem
    assert r.extractor == "local"
    assert r.normalised is None
    assert r.source_url.startswith("file://")
    assert sha256_file(r.path) == sha256_file(media.small)
    assert [p.name for p in (tmp_path / "copy").iterdir()] == [media.small.name]


def test_copy_local_missing(media: MediaFiles, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        copy_local(media.missing, tmp_path)
    assert str(err.value) == f"file not found: {media.missing}"


def test_sha256(media: MediaFiles) -> None:
    expected = hashlib.sha256(media.small.read_bytes()).hexdigest()
    assert sha256_file(media.small, chunk_size=1000) == expected
    with pytest.raises(DownloadError, match=r"^file not found: "):
        sha256_file(media.missing)
