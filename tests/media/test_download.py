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
    from .conftest import run_ffmpeg_cli

    run_ffmpeg_cli("-i", str(media.small), "-frames:v", "1", str(root / "still.png"))
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
        ("/still.png", "not a video: a still image (PNG)"),  # never re-encoded into one
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


# --- addresses checked at connect time: redirects to refused addresses ----------------------


@pytest.fixture(scope="module")
def redirector(server: str) -> Iterator[tuple[str, str]]:
    """A second server on 127.0.0.1 that answers every path with a 302 to ``?to=<url>``.

    Yields ``(redirector base URL, the video server's base URL)``; the two listen on
    different ports, so the redirector's own address allowance does not cover the other.
    """
    from urllib.parse import parse_qs, urlsplit

    class Redirect(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            target = parse_qs(urlsplit(self.path).query)["to"][0]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.mark.parametrize(
    ("target", "address", "kind"),
    [
        ("{server}/clip.mp4", "127.0.0.1 port {port}", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 port 80", "a link-local address"),
        ("http://10.1.2.3:8080/clip.mp4", "10.1.2.3 port 8080", "a private address"),
        ("http://[::ffff:127.0.0.1]:{port}/clip.mp4", "::ffff:127.0.0.1 port {port}", "a loopback address"),
    ],
)
def test_a_redirect_to_a_refused_address_fails_permanently_naming_it(
    redirector: tuple[str, str], tmp_path: Path, target: str, address: str, kind: str
) -> None:
    """The allowance is scoped to the address and port the URL names (the redirector): the
    video server on another loopback port, link-local and private addresses are refused."""
    from urllib.parse import quote

    from heaters.pipeline.url_check import download_policy

    origin, server = redirector
    port = server.rsplit(":", 1)[1]
    to = target.format(server=server, port=port)
    url = f"{origin}/watch?to={quote(to, safe='')}"
    policy = download_policy(url)
    assert policy.refusal("127.0.0.1", int(origin.rsplit(":", 1)[1])) is None
    with pytest.raises(DownloadError) as err:
        download(url, tmp_path / "out", policy=policy)
    expected = f"refused to connect to {address.format(port=port)}, {kind} (fetching {url})"
    assert str(err.value) == expected
    assert err.value.transient is False, "permanent: retrying cannot help"
    assert not any(p.is_file() for p in (tmp_path / "out").rglob("*")), "nothing was fetched"


def test_a_redirect_back_to_the_named_address_is_allowed(
    redirector: tuple[str, str], tmp_path: Path
) -> None:
    from urllib.parse import quote

    origin, _ = redirector
    # The redirector sends itself: same address and port as the URL names, so allowed; its
    # second answer is a redirect to the refused link-local address.
    inner = f"{origin}/again?to={quote('http://169.254.169.254/', safe='')}"
    url = f"{origin}/first?to={quote(inner, safe='')}"
    with pytest.raises(DownloadError, match=r"^refused to connect to 169\.254\.169\.254 port 80"):
        download(url, tmp_path / "out")


def test_a_name_resolving_to_a_private_address_is_refused(server: str, tmp_path: Path) -> None:
    """``localhost`` names no address: the allowance covers only IP literals in the URL."""
    from heaters.pipeline.url_check import AddressPolicy

    port = int(server.rsplit(":", 1)[1])
    url = f"http://localhost:{port}/clip.mp4"
    with pytest.raises(DownloadError, match=rf"^refused to connect to (127\.0\.0\.1|::1) port {port}, a loopback address"):
        download(url, tmp_path / "out")
    # The same file through the address the operator named is fine.
    assert download(f"{server}/clip.mp4", tmp_path / "ok").path.is_file()
    # And with every private address allowed (HEATERS_API_ALLOW_PRIVATE_URLS), so is the name.
    assert download(url, tmp_path / "any", policy=AddressPolicy(allow_private=True)).path.is_file()
