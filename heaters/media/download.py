"""Fetch a source video: from a URL with yt-dlp, or by copying a local file.

:func:`download` is synchronous (network and disk bound; callers run it in a process pool).
It asks yt-dlp for the best quality (``bestvideo*+bestaudio/best``, merged into Matroska by
the ``imageio-ffmpeg`` binary), then probes the file and normalises it only when the probe
fails: first a stream-copy remux to MKV, then a full re-encode to H.264/AAC in MKV.

Every connection of a download is checked against the address policy of
:mod:`heaters.media.addresses` at connect time (the first request, each redirect, each
fragment): a redirect to a loopback, private or link-local address fails permanently with
the address named. Only yt-dlp's own (Python) downloaders run: a stream it would hand to an
external program (ffmpeg for a live or unusual HLS stream, rtmpdump), whose connections
cannot be checked, is refused, with the real reason (a live HLS stream, an encryption only
ffmpeg reads).

Every download has a byte budget and a deadline (the download stage passes
``HEATERS_MAX_DOWNLOAD_BYTES`` and ``HEATERS_DOWNLOAD_TIMEOUT_SECONDS``; this module reads no
settings): every response yt-dlp opens (the page, the media, each
fragment, each retry) counts its bytes against the one budget as they are read, a response
announcing more than is left (``Content-Length``) is refused before its body is read, a
whole-body read (a web page, a playlist) stops at :data:`PAGE_MAX_BYTES`, and the deadline
is checked at every read (a silent server is cut off by the socket timeout, 30 s), so an
endless or trickling response fails with the limit in its reason instead of filling the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import http
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yt_dlp
import yt_dlp.utils

from heaters.errors import DownloadError, ProbeError
from heaters.media.addresses import (
    AddressPolicy,
    AddressRefusedError,
    download_policy,
    guard_connections,
)
from heaters.media.ffmpeg import ffmpeg_exe, run_ffmpeg_sync
from heaters.media.probe import probe

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT_SECONDS",
    "DownloadResult",
    "copy_local",
    "download",
    "inspect_url",
    "normalise",
    "sha256_file",
]

#: yt-dlp format selection: best video + best audio merged, else the best single file.
FORMAT = "bestvideo*+bestaudio/best"
#: Used when :data:`FORMAT` is not available at all.
FALLBACK_FORMAT = "best"
#: Most bytes one whole-body read may return (a web page, an HLS playlist): media is read in
#: blocks; a "page" larger than this is not one a person made.
PAGE_MAX_BYTES = 64 * 1024**2
#: Seconds a read may wait for the server before the connection is given up.
SOCKET_TIMEOUT_SECONDS = 30.0


class _LimitError(Exception):
    """A download passed its byte budget or its deadline (permanent; the message is the
    reason without the URL)."""


@dataclass
class _Budget:
    """The bytes and the time one download (all its responses together) may take."""

    max_bytes: int
    timeout_seconds: float
    started: float = field(default_factory=time.monotonic)
    read: int = 0

    def announced(self, length: int) -> None:
        """Refuse a response whose ``Content-Length`` would pass the budget."""
        if self.read + length > self.max_bytes:
            raise _LimitError(
                f"the server announces {length:,} bytes (Content-Length), more than the limit "
                f"of {self.max_bytes:,} bytes (HEATERS_MAX_DOWNLOAD_BYTES)"
            )

    def take(self, n: int) -> None:
        """Count ``n`` bytes read; raise past the budget or the deadline."""
        self.read += n
        if self.read > self.max_bytes:
            raise _LimitError(
                f"the download passed the limit of {self.max_bytes:,} bytes "
                f"(HEATERS_MAX_DOWNLOAD_BYTES)"
            )
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() - self.started > self.timeout_seconds:
            raise _LimitError(
                f"the download took longer than the limit of {self.timeout_seconds:g} s "
                f"(HEATERS_DOWNLOAD_TIMEOUT_SECONDS; {self.read:,} bytes read)"
            )

    def wrap(self, response: Any) -> Any:
        """Make ``response.read`` count against this budget (whole-body reads in blocks, up
        to :data:`PAGE_MAX_BYTES`)."""
        length = response.headers.get("Content-Length")
        if length and length.strip().isdigit():
            self.announced(int(length))
        raw_read = response.read

        def read(amt: int | None = None) -> bytes:
            self.check_time()
            if amt is not None and amt >= 0:
                data: bytes = raw_read(amt)
                self.take(len(data))
                return data
            body = bytearray()
            while chunk := read(1 << 20):
                body += chunk
                if len(body) > PAGE_MAX_BYTES:
                    raise _LimitError(
                        f"the server sent a page of more than {PAGE_MAX_BYTES:,} bytes that "
                        f"is not a video"
                    )
            return bytes(body)

        response.read = read
        return response


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """A fetched source video.

    Attributes
    ----------
    path
        The file in ``dest_dir`` that the next stage reads.
    title
        The title yt-dlp found (the file stem for a local copy), or None.
    source_url
        The URL asked for (a ``file://`` URI for a local copy).
    extractor
        yt-dlp's extractor key (``"Generic"``, ``"Youtube"``, …), ``"local"`` for a copy.
    normalised
        ``"remux"`` or ``"transcode"`` when the downloaded file did not probe and had to be
        rewritten, None when it was used as downloaded.
    """

    path: Path
    title: str | None
    source_url: str
    extractor: str | None
    normalised: str | None


class _ExternalDownloaderRefusedError(Exception):
    """yt-dlp was about to hand a stream to an external program (its connections unchecked).

    Its message is the real reason, said for a person (:func:`_delegation_reason`)."""


def _delegation_reason(why: str, info: dict[str, Any] | None = None) -> str:
    """Why yt-dlp's own downloader would not take a stream, from its warning or the format."""
    if (info or {}).get("is_live") or "Live HLS" in why:
        return "a live stream (its HLS playlist has no end): only a recording can be ingested"
    if "AES-128" in why:
        return "an AES-128 encrypted HLS stream: decrypting it needs pycryptodomex, not installed"
    if "Unsupported features" in why:
        return "an HLS stream with an encryption or features only ffmpeg reads"
    protocol = (info or {}).get("protocol")
    return f"a {protocol} stream only an external program can download" if protocol else why


class _QuietLogger:
    """Swallow yt-dlp's output (errors reach us as exceptions).

    One warning is an error: yt-dlp's HLS downloader announces that it hands a stream to
    ffmpeg ("… will be delegated to ffmpeg") just before it does; raising here stops it.
    """

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        if "will be delegated to" in msg:
            raise _ExternalDownloaderRefusedError(_delegation_reason(msg))

    def error(self, msg: str) -> None:
        pass


def sha256_file(path: Path, *, chunk_size: int = 1 << 20) -> str:
    """Return the SHA-256 of a file's bytes as 64 lowercase hex digits.

    Parameters
    ----------
    path
        The file to hash (read in ``chunk_size`` byte blocks, never whole in memory).
    chunk_size
        Read size in bytes.

    Raises
    ------
    DownloadError
        ``"file not found: <path>"`` or ``"cannot read <path>: <reason>"``.
    """
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            while block := fh.read(chunk_size):
                digest.update(block)
    except FileNotFoundError:
        raise DownloadError(f"file not found: {path}") from None
    except OSError as exc:
        raise DownloadError(f"cannot read {path}: {exc.strerror or exc}") from None
    return digest.hexdigest()


def copy_local(src: Path, dest_dir: Path) -> DownloadResult:
    """Copy a local video into ``dest_dir`` (the "download" of a local source).

    The copy goes to a temporary name first and is renamed when complete.

    Parameters
    ----------
    src
        The local file.
    dest_dir
        Directory to copy into (created if missing); the copy keeps ``src``'s name.

    Returns
    -------
    DownloadResult
        ``path`` = the copy, ``title`` = the file stem, ``source_url`` = ``src`` as a
        ``file://`` URI, ``extractor`` = ``"local"``, ``normalised`` = None.

    Raises
    ------
    DownloadError
        ``"file not found: <src>"``, ``"not a file: <src>"`` or ``"cannot copy <src>: …"``.
    """
    src = Path(src)
    if not src.exists():
        raise DownloadError(f"file not found: {src}")
    if not src.is_file():
        raise DownloadError(f"not a file: {src}")
    dest_dir = Path(dest_dir)
    dest = dest_dir / src.name
    part = dest_dir / f".{src.name}.part"
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, part)
        part.replace(dest)
    except OSError as exc:
        with contextlib.suppress(OSError):
            part.unlink()
        raise DownloadError(f"cannot copy {src}: {exc.strerror or exc}") from None
    return DownloadResult(
        path=dest,
        title=src.stem,
        source_url=src.resolve().as_uri(),
        extractor="local",
        normalised=None,
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Yield ``exc`` and everything it wraps (yt-dlp ``exc_info``/``cause``, ``__cause__``)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        exc_info = getattr(cur, "exc_info", None)
        if (
            isinstance(exc_info, tuple)
            and len(exc_info) > 1
            and isinstance(exc_info[1], BaseException)
        ):
            todo.append(exc_info[1])
        # ``reason``: what urllib's URLError wraps (the socket error of a failed connect).
        for nxt in (
            getattr(cur, "cause", None), getattr(cur, "reason", None), cur.__cause__,
            cur.__context__,
        ):  # fmt: skip
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _http_reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _download_error(exc: BaseException, url: str) -> DownloadError:
    """Turn a yt-dlp failure into a DownloadError whose reason is one line a person
    understands; network trouble and HTTP 408/429/5xx are transient (worth a retry)."""
    reason = _download_error_reason(exc, url)
    transient = bool(
        re.match(r"HTTP (408|429|5\d\d) ", reason)
        or re.match(
            r"(cannot connect|cannot resolve|connection timed out|network error|"
            r"the server closed the connection)",
            reason,
        )
    )
    return DownloadError(reason, transient=transient)


def _download_error_reason(exc: BaseException, url: str) -> str:
    """Turn a yt-dlp failure into one line a person understands."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    chain = list(_causes(exc))
    for err in chain:
        if isinstance(err, AddressRefusedError):
            return str(err)
        if isinstance(err, _LimitError):
            return f"{err}: {url}"
        if isinstance(err, _ExternalDownloaderRefusedError):
            return (
                f"refused: {err} (yt-dlp would hand it to ffmpeg, whose connections cannot be "
                f"checked): {url}"
            )
    for err in chain:
        if isinstance(err, HTTPError):
            failed = getattr(err.response, "url", None) or url
            embedded = f" (the video the page {url} names)" if failed != url else ""
            return f"HTTP {err.status} {_http_reason(err.status)}: {failed}{embedded}"
    for err in chain:
        if isinstance(err, yt_dlp.utils.UnsupportedError):
            return f"no video found at {url} (the page has nothing yt-dlp can download)"
    text = " ".join(str(err) for err in chain)
    host = urlsplit(url).netloc or url
    if m := re.search(r"HTTP Error (\d{3})", text):
        status = int(m.group(1))
        return f"HTTP {status} {_http_reason(status)}: {url}"
    if "Unsupported URL" in text:
        return f"no video found at {url} (the page has nothing yt-dlp can download)"
    if "Connection refused" in text or any(isinstance(e, ConnectionRefusedError) for e in chain):
        return f"cannot connect to {host}: connection refused ({url})"
    if re.search(
        r"Name or service not known|nodename nor servname|getaddrinfo failed|"
        r"Temporary failure in name resolution|No address associated",
        text,
    ):
        return f"cannot resolve host {urlsplit(url).hostname or host}: {url}"
    if re.search(r"timed out|Timeout", text, re.IGNORECASE):
        return f"connection timed out: {url}"
    if any(isinstance(e, TransportError) for e in chain):
        return f"network error while fetching {url}"
    if "Requested format is not available" in text:
        return f"no downloadable video format at {url}"
    if m := re.search(r"(\d+) bytes read, (\d+) more expected", text):
        got, more = int(m[1]), int(m[2])
        return (
            f"the server closed the connection after {got:,} of the {got + more:,} bytes it "
            f"announced (Content-Length), also on retrying: {url}"
        )
    # Last resort: yt-dlp's own message, without prefixes and the "(caused by …)" tail
    # (yt-dlp starts some with a carriage return: not a line of its own).
    lines = [x.strip() for x in str(exc).replace("\r", "").split("\n")]
    msg = next((x for x in lines if x), "") or type(exc).__name__
    msg = re.sub(r"^ERROR:\s*", "", msg)
    msg = re.sub(r"^\[[^\]]+\]\s*(\S+:\s*)?", "", msg)
    msg = re.sub(r"\s*\(caused by .*\)$", "", msg).strip() or type(exc).__name__
    return f"download failed: {msg} ({url})"


def _ydl_options(
    dest_dir: Path,
    fmt: str,
    on_progress: Callable[[int, int | None], None] | None,
    budget: _Budget,
) -> dict[str, Any]:
    def hook(d: dict[str, Any]) -> None:
        if on_progress is None or d.get("status") not in ("downloading", "finished"):
            return
        done = int(d.get("downloaded_bytes") or 0)
        total = d.get("total_bytes") or d.get("total_bytes_estimate")
        on_progress(done, int(total) if total else None)

    return {
        "format": fmt,
        "merge_output_format": "mkv",
        "outtmpl": {"default": str(dest_dir / "%(id).80B.%(ext)s")},
        "restrictfilenames": True,
        "ffmpeg_location": ffmpeg_exe(),
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _QuietLogger(),
        "progress_hooks": [hook],
        "overwrites": True,
        "cachedir": False,
        "writethumbnail": False,
        "writesubtitles": False,
        "writeinfojson": False,
        "socket_timeout": min(SOCKET_TIMEOUT_SECONDS, budget.timeout_seconds),
        "retries": 3,
        "fragment_retries": 3,
        # Only yt-dlp's Python downloaders, in this thread, so every connection is checked.
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        "concurrent_fragment_downloads": 1,
    }


class _GuardedYDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
    """A YoutubeDL that refuses downloaders that are external programs (ffmpeg, rtmpdump)
    and counts every response it opens against a :class:`_Budget`."""

    def __init__(self, params: dict[str, Any], budget: _Budget) -> None:
        super().__init__(params)
        self._budget = budget

    def urlopen(self, req: Any) -> Any:
        self._budget.check_time()
        return self._budget.wrap(super().urlopen(req))

    def dl(self, name: str, info: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        from yt_dlp.downloader import get_suitable_downloader
        from yt_dlp.downloader.dash import DashSegmentsFD
        from yt_dlp.downloader.hls import HlsFD
        from yt_dlp.downloader.http import HttpFD

        fd = get_suitable_downloader(dict(info), self.params, to_stdout=(name == "-"))
        if fd is None or not issubclass(fd, (HttpFD, HlsFD, DashSegmentsFD)):
            raise _ExternalDownloaderRefusedError(_delegation_reason("", info))
        return super().dl(name, info, *args, **kwargs)


def _downloaded_path(ydl: yt_dlp.YoutubeDL, info: dict[str, Any]) -> Path:
    for item in info.get("requested_downloads") or ():
        if item.get("filepath"):
            return Path(item["filepath"])
    return Path(ydl.prepare_filename(info))


def normalise(path: Path) -> tuple[Path, str | None]:
    """Make a downloaded file probe-able, rewriting it only if it does not probe as it is.

    Steps, each tried only if the previous result does not probe: use ``path`` as is; remux
    (``-c copy``) to ``<stem>.remux.mkv``; re-encode to H.264 (crf 18, veryfast) / AAC 192k in
    ``<stem>.transcode.mkv``. A replaced original is deleted.

    Parameters
    ----------
    path
        The downloaded file.

    Returns
    -------
    tuple[Path, str | None]
        The usable file and how it was made: None (as downloaded), ``"remux"`` or
        ``"transcode"``.

    Raises
    ------
    DownloadError
        ``"the downloaded file is not a usable video: <probe reason>"`` when all steps fail;
        the probe's reason alone (``"not a video: a still image (PNG)"``, ``"no video stream
        (audio only)"``) when the file is a picture or sound, which no rewrite is tried on.
    """
    try:
        probe(path)
        return path, None
    except ProbeError as exc:
        first_reason = str(exc)
    if first_reason.startswith(("not a video:", "no video stream")):
        # A picture or a sound: rewriting it would only dress it up as a video.
        raise DownloadError(first_reason)
    steps: list[tuple[str, list[str]]] = [
        ("remux", ["-map", "0:v", "-map", "0:a?", "-c", "copy"]),
        (
            "transcode",
            [
                "-map", "0:v:0", "-map", "0:a:0?",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "192k",
            ],
        ),
    ]  # fmt: skip
    for name, codec_args in steps:
        out = path.with_name(f"{path.stem}.{name}.mkv")
        try:
            run_ffmpeg_sync(
                ["-i", str(path), *codec_args, "-f", "matroska", str(out)], error=DownloadError
            )
            probe(out)
        except (DownloadError, ProbeError):
            with contextlib.suppress(OSError):
                out.unlink()
            continue
        with contextlib.suppress(OSError):
            path.unlink()
        return out, name
    raise DownloadError(f"the downloaded file is not a usable video: {first_reason}")


DEFAULT_MAX_BYTES = 20 * 1000**3
"""Most bytes one download reads unless the caller says otherwise (the download stage passes
``HEATERS_MAX_DOWNLOAD_BYTES``, whose default this is)."""

DEFAULT_TIMEOUT_SECONDS = 6 * 3600.0
"""Most seconds one download takes unless the caller says otherwise (the download stage
passes ``HEATERS_DOWNLOAD_TIMEOUT_SECONDS``, whose default this is)."""


def _policy(url: str, policy: AddressPolicy | None) -> AddressPolicy:
    return policy if policy is not None else download_policy(url)


def _budget(max_bytes: int | None, timeout_seconds: float | None) -> _Budget:
    return _Budget(
        max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
        timeout_seconds=DEFAULT_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds,
    )


def download(
    url: str,
    dest_dir: Path,
    *,
    on_progress: Callable[[int, int | None], None] | None = None,
    policy: AddressPolicy | None = None,
    max_bytes: int | None = None,
    timeout_seconds: float | None = None,
) -> DownloadResult:
    """Download the video at ``url`` into ``dest_dir`` with yt-dlp, best quality first.

    Only ``url`` is fetched (no playlist, no thumbnails, subtitles or info files). The format
    is ``bestvideo*+bestaudio/best`` merged into MKV, falling back to ``best`` when that
    selection is not available. The file is then probed and normalised only if needed (see
    :func:`normalise`).

    Parameters
    ----------
    url
        An http(s) URL: a page yt-dlp understands or a direct media file.
    dest_dir
        Directory for the file (created if missing), named ``<id>.<ext>``.
    on_progress
        Called with ``(bytes_done, bytes_total or None)`` while downloading.
    policy
        The addresses the download may connect to; default: the strict
        :func:`heaters.media.addresses.download_policy` of ``url`` (public addresses and the
        IP literal the URL names).
    max_bytes
        Most bytes all the download's responses together may bring (default
        :data:`DEFAULT_MAX_BYTES`, 20 GB).
    timeout_seconds
        Most seconds the whole download may take (default :data:`DEFAULT_TIMEOUT_SECONDS`,
        6 h); a silent server is given up after 30 s.

    Returns
    -------
    DownloadResult
        The file, title, extractor and how (if at all) it was normalised.

    Raises
    ------
    DownloadError
        One line, e.g. ``"HTTP 404 Not Found: <url>"``, ``"HTTP 403 Forbidden: <url>"``,
        ``"no video found at <url> (the page has nothing yt-dlp can download)"``,
        ``"cannot connect to <host:port>: connection refused (<url>)"``,
        ``"cannot resolve host <host>: <url>"``, ``"connection timed out: <url>"``,
        ``"the downloaded file is not a usable video: <probe reason>"``, and (permanent)
        ``"refused to connect to 169.254.169.254 port 80, a link-local address (fetching
        <url>)"`` when the URL or a redirect leads to a refused address; (permanent)
        ``"the download passed the limit of 20,000,000,000 bytes
        (HEATERS_MAX_DOWNLOAD_BYTES): <url>"``, ``"the server announces N bytes
        (Content-Length), more than the limit …"``, ``"the download took longer than the
        limit of 21600 s (HEATERS_DOWNLOAD_TIMEOUT_SECONDS; N bytes read): <url>"``,
        ``"refused: a live stream (its HLS playlist has no end) …"``; (transient) ``"the
        server closed the connection after N of the M bytes it announced (Content-Length),
        also on retrying: <url>"``.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    budget = _budget(max_bytes, timeout_seconds)
    with guard_connections(_policy(url, policy), url):
        info, path = _fetch(url, dest_dir, on_progress, budget)
    if not path.is_file():
        raise DownloadError(f"yt-dlp reported success but wrote no file for {url}")
    if path.stat().st_size == 0:
        raise DownloadError(f"the downloaded file is empty (0 bytes): {url}")
    usable, how = normalise(path)
    title = info.get("title")
    extractor = info.get("extractor_key") or info.get("extractor")
    return DownloadResult(
        path=usable,
        title=str(title) if title is not None else None,
        source_url=url,
        extractor=str(extractor) if extractor is not None else None,
        normalised=how,
    )


def inspect_url(url: str, *, policy: AddressPolicy | None = None) -> dict[str, Any]:
    """What yt-dlp finds at ``url``, downloading no media (``heaters ingest --check``).

    The same address checks and limits as :func:`download` apply to every connection.

    Returns
    -------
    dict
        ``title``, ``extractor``, ``duration_seconds`` (or None), ``width``, ``height``
        (or None), ``format`` (yt-dlp's format id of the selection).

    Raises
    ------
    DownloadError
        The same one-line reasons as :func:`download`.
    """
    info: dict[str, Any] | None = None
    budget = _budget(None, None)
    with guard_connections(_policy(url, policy), url):
        for fmt in (FORMAT, FALLBACK_FORMAT):
            opts = _ydl_options(Path("."), fmt, None, budget) | {
                "simulate": True,
                "skip_download": True,
            }
            try:
                with _GuardedYDL(opts, budget) as ydl:
                    info = ydl.extract_info(url, download=False)
                break
            except Exception as exc:  # yt-dlp raises many types; all become one line
                if fmt == FORMAT and "Requested format is not available" in str(exc):
                    continue
                raise _download_error(exc, url) from None
    if info is None:
        raise DownloadError(f"no video found at {url} (yt-dlp returned nothing)")
    if info.get("_type") == "playlist" or (not info.get("formats") and not info.get("url")):
        raise DownloadError(f"no video found at {url} (the page has nothing yt-dlp can download)")
    return {
        "title": info.get("title"),
        "extractor": info.get("extractor_key") or info.get("extractor"),
        "duration_seconds": info.get("duration"),
        "width": info.get("width"),
        "height": info.get("height"),
        "format": info.get("format_id"),
    }


def _fetch(
    url: str,
    dest_dir: Path,
    on_progress: Callable[[int, int | None], None] | None,
    budget: _Budget,
) -> tuple[dict[str, Any], Path]:
    """Run yt-dlp (best format, else ``best``); returns its info and the file it wrote."""
    info: dict[str, Any] | None = None
    path: Path | None = None
    for fmt in (FORMAT, FALLBACK_FORMAT):
        try:
            with _GuardedYDL(_ydl_options(dest_dir, fmt, on_progress, budget), budget) as ydl:
                info = ydl.extract_info(url, download=True)
                if info is None:
                    raise DownloadError(f"no video found at {url} (yt-dlp returned nothing)")
                info = ydl.sanitize_info(info)
                path = _downloaded_path(ydl, info)
            break
        except DownloadError:
            raise
        except Exception as exc:  # yt-dlp raises many types; all become one line
            if fmt == FORMAT and "Requested format is not available" in str(exc):
                continue
            raise _download_error(exc, url) from None
    if info is None or path is None:
        raise DownloadError(f"no downloadable video format at {url}")
    return info, path
