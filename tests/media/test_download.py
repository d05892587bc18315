"""download(), copy_local(), sha256_file(): a real HTTP server on 127.0.0.1, real yt-dlp."""

from __future__ import annotations

import contextlib
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
        if self.path == "/endless.mp4":  # a video response that never ends, no Content-Length
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.end_headers()
            with contextlib.suppress(OSError):  # until the client goes away
                while True:
                    self.wfile.write(bytes(65536))
            return
        if self.path in ("/short.mp4", "/huge.mp4"):  # announces more than it sends
            body = (Path(self.directory) / "clip.mp4").read_bytes()
            extra = 100_000 if self.path == "/short.mp4" else 10**12
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(body) + extra))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)
            self.close_connection = True
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
    for name, src in [("embeds.html", "/clip.mp4"), ("embeds_missing.html", "/gone.mp4"),
                      ("embeds_short.html", "/short.mp4")]:  # fmt: skip
        (root / name).write_text(
            "<!doctype html><html><head><title>Embed</title></head><body><video controls>"
            f'<source src="{src}" type="video/mp4"></video></body></html>'
        )
    # HLS: a finished recording (one MPEG-TS segment, #EXT-X-ENDLIST) and a live playlist
    run_ffmpeg_cli("-i", str(media.small), "-c", "copy", "-f", "mpegts", str(root / "seg0.ts"))
    playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n#EXTINF:4.0,\nseg0.ts\n"
    (root / "vod.m3u8").write_text(playlist + "#EXT-X-ENDLIST\n")
    (root / "live.m3u8").write_text(playlist)
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

    from heaters.media.addresses import download_policy

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
    from heaters.media.addresses import AddressPolicy

    port = int(server.rsplit(":", 1)[1])
    url = f"http://localhost:{port}/clip.mp4"
    with pytest.raises(DownloadError, match=rf"^refused to connect to (127\.0\.0\.1|::1) port {port}, a loopback address"):
        download(url, tmp_path / "out")
    # The same file through the address the operator named is fine.
    assert download(f"{server}/clip.mp4", tmp_path / "ok").path.is_file()
    # And with every private address allowed (HEATERS_API_ALLOW_PRIVATE_URLS), so is the name.
    assert download(url, tmp_path / "any", policy=AddressPolicy(allow_private=True)).path.is_file()


def test_an_endless_response_stops_at_the_byte_limit(server: str, tmp_path: Path) -> None:
    url = f"{server}/endless.mp4"
    with pytest.raises(DownloadError) as err:
        download(url, tmp_path, max_bytes=2_000_000)
    assert str(err.value) == (
        f"the download passed the limit of 2,000,000 bytes (HEATERS_MAX_DOWNLOAD_BYTES): {url}"
    )
    assert not err.value.transient
    assert sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file()) <= 2_000_000


def test_an_endless_response_stops_at_the_time_limit(server: str, tmp_path: Path) -> None:
    url = f"{server}/endless.mp4"
    with pytest.raises(DownloadError) as err:
        download(url, tmp_path, timeout_seconds=1.0)
    reason = str(err.value)
    assert reason.startswith(
        "the download took longer than the limit of 1 s (HEATERS_DOWNLOAD_TIMEOUT_SECONDS; "
    ), reason
    assert reason.endswith(f" bytes read): {url}") and not err.value.transient


@pytest.mark.parametrize(
    ("path", "reason", "transient"),
    [
        ("/huge.mp4", "the server announces {huge} bytes (Content-Length), more than the limit "
         "of 20,000,000,000 bytes (HEATERS_MAX_DOWNLOAD_BYTES): {url}", False),
        ("/short.mp4", "the server closed the connection after {size} of the {short} bytes it "
         "announced (Content-Length), also on retrying: {url}", True),
        ("/embeds_short.html", "the server closed the connection after {size} of the {short} "
         "bytes it announced (Content-Length), also on retrying: {url}", True),
        ("/embeds_missing.html", "HTTP 404 Not Found: {server}/gone.mp4 (the video the page "
         "{url} names)", False),
        ("/live.m3u8", "refused: a live stream (its HLS playlist has no end): only a recording "
         "can be ingested (yt-dlp would hand it to ffmpeg, whose connections cannot be "
         "checked): {url}", False),
    ],
)  # fmt: skip
def test_odd_responses_fail_with_their_reason(
    server: str, media: MediaFiles, tmp_path: Path, path: str, reason: str, transient: bool
) -> None:
    url = server + path
    size = media.small.stat().st_size
    with pytest.raises(DownloadError) as err:
        download(url, tmp_path, max_bytes=20 * 1000**3)
    assert str(err.value) == reason.format(
        url=url, server=server, size=f"{size:,}", short=f"{size + 100_000:,}",
        huge=f"{size + 10**12:,}",
    )  # fmt: skip
    assert err.value.transient is transient


@pytest.mark.parametrize("path", ["/embeds.html", "/vod.m3u8"])
def test_an_embedded_video_and_an_hls_recording_download(
    server: str, tmp_path: Path, path: str
) -> None:
    r = download(server + path, tmp_path)
    assert probe(r.path).frame_count == SMALL_FRAMES


async def test_the_download_stage_fails_an_endless_url_with_the_limit(
    db: Any, heaters_env: dict[str, str], server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from heaters.config import get_settings
    from heaters.pipeline import video_stages
    from heaters.pipeline.runtime import open_runtime
    from heaters.pipeline.submit import submit

    monkeypatch.setenv("HEATERS_MAX_DOWNLOAD_BYTES", "3000000")
    get_settings.cache_clear()
    url = f"{server}/endless.mp4"
    vid = (await submit(db, url)).video_id
    async with open_runtime() as rt:
        assert await video_stages.download_video(rt, vid) == "failed"
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT state, last_error FROM source_videos WHERE id=$1", vid)
    assert row["state"] == "download_failed"
    assert row["last_error"] == (
        f"the download passed the limit of 3,000,000 bytes (HEATERS_MAX_DOWNLOAD_BYTES): {url}"
    )
