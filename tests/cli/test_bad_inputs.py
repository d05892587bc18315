"""Every kind of bad input gets a one-line reason a person understands, and breaks nothing."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import av
import pytest

from tests.conftest import ffmpeg, json_lines, run_heaters


@pytest.fixture(scope="module")
def redirector() -> Iterator[str]:
    """A server on 127.0.0.1 answering ``/go?to=<url>`` with a 302 to that URL."""

    class Redirect(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", parse_qs(urlsplit(self.path).query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _corrupt_middle(good: Path, out: Path, tmp: Path) -> tuple[int, float]:
    """Zero the video packets of frames [k, k+12) of a B-frame-free copy of ``good``; returns
    k (the first frame that cannot decode) and its time from the first frame in seconds."""
    nob = tmp / "no_bframes.mp4"
    ffmpeg("-i", str(good), "-c:v", "libx264", "-bf", "0", "-preset", "veryfast", "-crf", "23",
           "-c:a", "copy", "-movflags", "+faststart", str(nob))  # fmt: skip
    with av.open(str(nob)) as c:
        stream = c.streams.video[0]
        packets = sorted((p.pts, p.pos, p.size) for p in c.demux(stream) if p.size)
        tb = stream.time_base
    k = len(packets) // 2
    data = bytearray(nob.read_bytes())
    for _, pos, size in packets[k : k + 12]:
        data[pos : pos + size] = bytes(size)
    out.write_bytes(data)
    return k, float((packets[k][0] - packets[0][0]) * tb)


def _make_bad_inputs(tmp: Path, good: Path) -> dict[str, Path]:
    empty = tmp / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp / "notes.mp4"
    text.write_text("These are my notes, not a video.\n" * 50)
    audio = tmp / "audio_only.m4a"
    ffmpeg("-i", str(good), "-vn", "-c:a", "aac", str(audio))
    # A plain (not faststart) MP4 cut in half loses its index (moov atom) at the end.
    plain = tmp / "plain.mp4"
    ffmpeg("-i", str(good), "-c", "copy", "-movflags", "-faststart", str(plain))
    truncated = tmp / "truncated.mp4"
    data = plain.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    # A faststart MP4 (index first) cut in half: it probes, but half its frames are missing.
    fast = tmp / "fast.mp4"
    ffmpeg("-i", str(good), "-c", "copy", "-movflags", "+faststart", str(fast))
    cut_fast = tmp / "truncated_faststart.mp4"
    data = fast.read_bytes()
    cut_fast.write_bytes(data[: len(data) // 2])
    # Pictures: a PNG, a JPEG, a one-frame Matroska "video" of PNG, a stream of JPEGs.
    png, jpeg = tmp / "still.png", tmp / "photo.jpg"
    ffmpeg("-ss", "1", "-i", str(good), "-frames:v", "1", str(png))
    ffmpeg("-ss", "1", "-i", str(good), "-frames:v", "1", str(jpeg))
    one_frame = tmp / "one_frame.mkv"
    ffmpeg("-i", str(png), "-c:v", "png", "-frames:v", "1", str(one_frame))
    sequence = tmp / "frames.mjpeg"
    ffmpeg("-i", str(good), "-frames:v", "5", "-f", "image2pipe", "-c:v", "mjpeg", str(sequence))
    return {"empty": empty, "text": text, "audio": audio, "truncated": truncated,
            "truncated_faststart": cut_fast, "png": png, "jpeg": jpeg, "one_frame": one_frame,
            "sequence": sequence}  # fmt: skip


def test_bad_inputs_fail_with_reasons_and_good_work_goes_on(
    heaters_env: dict[str, str], small_video: Path, other_video: Path, tmp_path: Path,
    http_server: str, redirector: str,
) -> None:  # fmt: skip
    bad = _make_bad_inputs(tmp_path, small_video)
    missing = tmp_path / "does_not_exist.mp4"
    corrupt = tmp_path / "corrupt_middle.mp4"
    frame, at = _corrupt_middle(small_video, corrupt, tmp_path)
    # A URL on one loopback server that redirects to another loopback port: refused when
    # yt-dlp connects (the allowance covers only the address and port the URL names).
    redirected = f"{redirector}/go?to={quote(http_server + '/clip.mp4', safe='')}"
    port = http_server.rsplit(":", 1)[1]
    sources = [
        str(bad["empty"]), str(bad["text"]), str(bad["audio"]), str(bad["truncated"]),
        str(bad["truncated_faststart"]), str(missing), f"{http_server}/missing.mp4", f"{http_server}/page.html",
        str(bad["png"]), str(bad["jpeg"]), str(bad["one_frame"]), str(bad["sequence"]),
        str(corrupt), redirected, str(other_video),
    ]  # fmt: skip
    proc = run_heaters(heaters_env, "ingest", *sources, "--wait", "--json")
    assert proc.returncode == 1, "a failed source makes the exit status non-zero"
    out = {r["source"]: r for r in json_lines(proc.stdout)}
    expected = {
        str(bad["empty"]): ("download_failed", r"empty \(0 bytes\)"),
        str(bad["text"]): ("download_failed", r"not a (video|media) file"),
        str(bad["audio"]): ("download_failed", r"no video stream \(audio only\)"),
        str(bad["truncated"]): ("download_failed", r"truncated|corrupt"),
        str(bad["truncated_faststart"]): ("download_failed", r"truncated"),
        str(missing): ("rejected", r"file not found"),
        f"{http_server}/missing.mp4": ("download_failed", r"404"),
        f"{http_server}/page.html": ("download_failed", r"no video"),
        str(bad["png"]): ("download_failed", r"^not a video: a still image \(PNG\)$"),
        str(bad["jpeg"]): ("download_failed", r"^not a video: a still image \(MJPEG\)$"),
        str(bad["one_frame"]): ("download_failed", r"^not a video: a still image \(PNG in a matroska file\)$"),
        str(bad["sequence"]): ("download_failed", r"^not a video: an image sequence \(5 MJPEG images\)$"),
        str(corrupt): ("preprocess_failed", rf"^file is corrupt at frame {frame} \({at:.2f} s\): \d+ of \d+ frames could not be decoded$"),
        redirected: ("download_failed", rf"^refused to connect to 127\.0\.0\.1 port {port}, a loopback address \(fetching {re.escape(redirected)}\)$"),
    }
    for source, (state, pattern) in expected.items():
        r = out[str(source)]
        assert r["state"] == state, (source, r)
        assert re.search(pattern, r["error"]), (source, r["error"])
        assert "\n" not in r["error"] and "Traceback" not in r["error"]
        assert r["clips"] == []
    assert [r["source"] for r in json_lines(proc.stdout)] == sources, "one line per source, in order"
    good = out[str(other_video)]
    assert good["state"] == "detected" and good["clips"], good
    # Permanent failures are not retried by themselves: they wait for an operator.
    status = run_heaters(heaters_env, "status", "--json")
    (s,) = json_lines(status.stdout)
    assert s["videos"] == {"detected": 1, "download_failed": 12, "preprocess_failed": 1}


def test_json_has_one_line_per_source_in_order_and_existing_only_when_already_there(
    heaters_env: dict[str, str], small_video: Path, other_video: Path, tmp_path: Path
) -> None:
    twin = tmp_path / "twin.mp4"
    shutil.copy(small_video, twin)
    missing = tmp_path / "missing.mp4"
    sources = [str(other_video), str(small_video), str(missing), str(twin), str(other_video)]
    proc = run_heaters(heaters_env, "ingest", *sources, "--json")
    assert proc.returncode == 1, "the missing file is rejected"
    lines = json_lines(proc.stdout)
    assert [r["source"] for r in lines] == sources
    other, small, rejected, second, again = lines
    assert (other["existing"], small["existing"]) == (False, False)
    assert rejected["state"] == "rejected" and rejected["existing"] is False
    assert second["existing"] is True and second["id"] == small["id"], "the twin points at the first"
    assert again["existing"] is True and again["id"] == other["id"]
    # Given again in a later call, every one was already there.
    proc = run_heaters(heaters_env, "ingest", str(twin), str(small_video), "--json")
    assert proc.returncode == 0, proc.stderr
    assert [(r["id"], r["existing"]) for r in json_lines(proc.stdout)] == [
        (small["id"], True), (small["id"], True)
    ]


def test_check_probes_without_recording(
    heaters_env: dict[str, str], small_video: Path, tmp_path: Path, http_server: str,
    redirector: str,
) -> None:  # fmt: skip
    png = tmp_path / "still.png"
    ffmpeg("-ss", "1", "-i", str(small_video), "-frames:v", "1", str(png))
    redirected = f"{redirector}/go?to={quote('http://169.254.169.254/latest/', safe='')}"
    sources = [
        str(small_video), str(png), str(tmp_path / "missing.mp4"), f"{http_server}/clip.mp4",
        f"{http_server}/missing.mp4", redirected,
    ]  # fmt: skip
    proc = run_heaters(heaters_env, "ingest", "--check", *sources, "--json")
    assert proc.returncode == 1, "some sources fail their check"
    lines = json_lines(proc.stdout)
    assert [r["source"] for r in lines] == sources
    video, still, missing, url, url404, refused = lines
    assert video["ok"] and video["kind"] == "file" and video["error"] is None
    assert (video["width"], video["height"], video["frame_count"]) == (320, 180, 192)
    assert not still["ok"] and still["error"] == "not a video: a still image (PNG)"
    assert not missing["ok"] and missing["error"].startswith("file not found")
    assert url["ok"] and url["kind"] == "url" and url["extractor"] == "Generic", url
    assert not url404["ok"] and url404["error"].startswith("HTTP 404 Not Found")
    assert not refused["ok"] and refused["error"].startswith(
        "refused to connect to 169.254.169.254 port 80, a link-local address"
    )
    # Nothing was recorded (nor downloaded: the storage folder was never made).
    status = run_heaters(heaters_env, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json_lines(status.stdout)[0]["videos"] == {}
    assert not (Path(heaters_env["HEATERS_HOME"]) / "storage").exists()
    human = run_heaters(heaters_env, "ingest", "--check", str(small_video), str(png))
    assert human.returncode == 1
    assert "320x180" in human.stdout and "not a video: a still image (PNG)" in human.stderr
