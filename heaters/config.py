"""Settings, read from the environment (pydantic-settings).

Every setting has a sensible default so that a fresh machine needs nothing: with no
``DATABASE_URL`` Heaters starts an embedded Postgres under ``HEATERS_HOME``, and stores media
on the local disk under the same folder.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("heaters", appauthor=False))


class Settings(BaseSettings):
    """Heaters' settings; environment variables are ``HEATERS_<NAME>`` unless noted."""

    model_config = SettingsConfigDict(env_prefix="HEATERS_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    """Data folder: embedded Postgres data, local storage, temporary files."""

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "HEATERS_DATABASE_URL")
    )
    """``postgresql://…`` of an external server; unset → the embedded Postgres."""

    storage_url: str | None = None
    """Where media objects go: ``file:///path`` or ``s3://bucket/prefix`` (default:
    ``file://HEATERS_HOME/storage``). S3 credentials come from the standard
    ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` variables (or a profile, a role)."""
    s3_endpoint_url: str | None = None
    """URL of an S3-compatible server (MinIO, R2, moto: ``http://127.0.0.1:9000``) for an
    ``s3://`` storage URL; unset: AWS S3 itself."""
    s3_storage_classes: dict[str, str] = Field(default_factory=dict)
    """S3 storage class per kind of object, passed on upload (JSON, e.g.
    ``{"master": "STANDARD_IA", "original": "STANDARD_IA"}``). Kinds: ``original`` (the
    downloaded file, also the master by default), ``master`` (an FFV1 master), ``proxy``,
    ``clip`` (exported clips), ``keyframe``, ``sprite``, ``other``; a kind not named uses the
    bucket's default (``STANDARD``)."""
    s3_region: str | None = None
    """Region of the ``s3://`` bucket; unset: botocore's default (``AWS_DEFAULT_REGION``, the
    profile's region, else ``us-east-1``)."""

    # --- pipeline -----------------------------------------------------------------------
    max_attempts: int = 3
    """Attempts per stage before an item waits for an operator (``heaters retry``)."""
    retry_backoff_seconds: float = 30.0
    """Base of the exponential backoff between attempts: base × 2^(attempts − 1)."""
    dispatch_period_seconds: int = 10
    """Period of the dispatcher's periodic run (it also runs whenever a job ends)."""
    db_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long opening one database connection may take (the pool's connect), and a third
    of how long a stage or a request waits for a pooled connection: an unreachable server
    (a cut link answers nothing) then surfaces as "database unavailable" in seconds, not
    when the operating system gives up on the connection."""
    stalled_after_seconds: float = Field(default=30.0, gt=0)
    """A running job whose worker has sent no heartbeat for this long is retried; at least
    three heartbeats (``HEATERS_HEARTBEAT_SECONDS``), else refused at start-up: a worker
    gives its own jobs up a little before this (its lease), so a shorter value makes it
    cancel them whenever one heartbeat is late."""
    max_crashes: int = Field(default=3, ge=1)
    """Times a worker may die (killed, out of memory, a crash in a decoder) holding one item
    in one stage before the item fails for good with "the worker died N times on this item"
    (``HEATERS_MAX_CRASHES``): an input that kills its worker is not retried for ever."""
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    """How often a worker writes its heartbeat."""
    storage_check_every: float = Field(default=3600.0, ge=0)
    """Seconds between the workers' periodic storage checks (one worker runs each): the
    report of ``heaters db reconcile-storage`` (objects no row names, rows whose objects are
    missing), its counts stored and shown on ``/metrics``; 0: off."""
    storage_check_delete: bool = False
    """Whether the periodic storage check also deletes the orphans older than
    ``HEATERS_STORAGE_CHECK_OLDER_THAN_SECONDS`` (as ``--delete``); off: it only reports."""
    storage_check_older_than_seconds: float = Field(default=3600.0, ge=0)
    """The grace period of the periodic check's deletes (``--older-than``)."""
    job_poll_seconds: float = 1.0
    """Polling fallback of workers for scheduled jobs and retries (LISTEN/NOTIFY otherwise)."""
    worker_concurrency: int = 4
    """Jobs one worker process runs at once (CPU work is bounded by the process pool)."""
    process_pool_size: int | None = None
    """Processes for CPU-bound Python (decode, scoring); default: the CPU count."""
    job_retention_hours: int = 72
    """Finished procrastinate jobs older than this are pruned."""
    worker_db_wait_seconds: float | None = Field(default=None, ge=0)
    """How long ``heaters worker`` waits for an unreachable database at start-up before it
    exits 1 (one line, the reason); unset: it waits as long as it takes, saying why once per
    retry. Once running, a worker always waits and reconnects (docs/architecture.md)."""

    max_download_bytes: int = Field(default=20 * 1000**3, gt=0)
    """Most bytes one URL download may read, all its responses together (the page, the
    media, every fragment): past it (or when a server announces more), the video fails
    ``download_failed`` with the limit in its reason. 20 GB: a feature film at a high bitrate
    fits, an endless response stops before it fills a disk."""
    download_timeout_seconds: float = Field(default=6 * 3600.0, gt=0)
    """Most seconds one URL download may take (6 h: 20 GB at about 1 MB/s); a server that
    sends nothing is given up after 30 s."""

    # --- media --------------------------------------------------------------------------
    master: Literal["original", "ffv1"] = "original"
    """The master exports re-encode from (``HEATERS_MASTER``): ``original``, the downloaded
    file itself (sought frame-exactly; preprocess still makes an FFV1 master, saying why,
    when the original cannot be read so); ``ffv1``: a lossless FFV1/MKV copy (~70× an H.264
    source on disk)."""
    proxy_crf: int = 25
    """x264 CRF of the all-I-frame review proxy (chosen for review on screen, not delivery:
    on the 720p sample CRF 18 → 25 shrinks it 1.9× at SSIM 0.977, PSNR 39.8 dB)."""
    proxy_preset: str = "veryfast"
    """x264 preset of the proxy."""
    segment_seconds: float = Field(default=60.0, ge=0)
    """Videos longer than this (seconds of the source) are preprocessed in keyframe-aligned
    segments of about this length, each encoded by its own ``preprocess_segment`` job (any
    worker, any machine sharing the database and storage), then joined without re-encoding
    by the ``join`` stage; ``0``: never split (one pass). 60 s gives a 10-minute video ten
    segments, enough for two to four workers to share evenly, each far longer than a job's
    overhead (a claim, a seek)."""
    proxy_height: int | None = Field(default=720, ge=2)
    """Most lines of the proxy; taller sources are scaled down, keeping the aspect (unset
    with an empty value: the source's height)."""
    detector: Literal["fast", "transnetv2"] = "fast"
    """Which shot-boundary detector the detect stage runs (:mod:`heaters.media.detectors`):
    ``fast`` (default), the feature rules (no model; its features come from preprocess's
    analysis frames, no second decode); ``transnetv2``, the TransNetV2 network (the
    ``neural`` extra; the detect stage decodes the proxy for it; about 4× the fast
    detector's CPU time, and on the development set it found fewer transitions:
    ``docs/detection.md``). The threshold overrides and calibrated profiles below apply to
    ``fast`` only."""
    detect_threshold: float | None = None
    """Override of the detector's adaptive threshold (None: the detector's default)."""
    detect_min_scene_len: int | None = None
    """Override of the detector's minimum scene length in frames (None: its default)."""
    detect_second_opinion: bool = False
    """Check the fast detector's uncertain cuts, suggestions and spans with TransNetV2 on
    windows of the proxy around them (``heaters.media.verify``; needs the ``neural`` extra,
    the model loaded once per worker process). Off by default: on the development set it
    promoted two real cuts in fast pans of the transition suite, found nothing on the dev
    set, and cost ~4× the detector's CPU time (``docs/detection.md``)."""
    calibrate_every: int = Field(default=0, ge=0)
    """Calibrate a collection's detector profile by itself (the ``calibrate`` stage, as
    ``heaters detect calibrate`` does) once this many boundary labels settled since its
    last profile; 0 (default): only by hand."""

    # --- after review -------------------------------------------------------------------
    export_mode: Literal["copy", "master"] = "master"
    """``master`` (default): re-encode the clip's frames from the master (the original, or
    an FFV1 master) at ``export_crf``, frame-exactly, with its audio: one generation from
    the source; ``copy``: remux from the all-I-frame review proxy (frame-exact, fast, the
    proxy's quality)."""
    export_codec: str = "libx264"
    """FFmpeg video encoder of master-mode exports (yuv420p, MP4)."""
    export_crf: int = 18
    """CRF of master-mode exports."""
    export_preset: str = "medium"
    """Encoder preset of master-mode exports."""
    export_audio: bool = True
    """Master-mode exports keep the source's first audio track over the clip's span."""
    export_faststart: bool = True
    """Master-mode exports put the MP4 index first (``+faststart``)."""
    keyframe_strategies: list[str] = Field(default_factory=lambda: ["percentage", "tag"])
    """Keyframe strategies per clip: ``percentage`` (25/50/75 %), ``tag`` (first/mid/last)."""
    keyframe_format: Literal["jpg", "webp"] = "jpg"
    """Image format of keyframes."""
    embedding_model: str = "efficientnet-lite0"
    """Image-embedding model (``efficientnet-lite0``, or ``open-clip`` with a checkpoint)."""
    embedding_checkpoint: Path | None = None
    """Local checkpoint file of a CLIP model (open_clip), when that model is configured."""
    similar_ef_search: int = 100
    """pgvector ``hnsw.ef_search`` of similar-clip queries: 100 gave recall@10 0.96 at p95
    5.8 ms on 100,000 vectors (bench/similar.py); raise it for more recall."""
    embedding_keyframes: str = "percentage"
    """Which keyframe strategy's images are embedded and averaged into a clip's vector."""

    # --- review -------------------------------------------------------------------------
    review_settle_seconds: float = Field(default=60.0, ge=0)
    """Settle window: every review decision (approve, skip, archive, group, merge, split,
    boundary move) can be undone for this long; export and archive wait until it settles."""
    claim_seconds: float = Field(default=120.0, gt=0)
    """Lease of a reviewer's claim on a clip (``HEATERS_CLAIM_SECONDS``): others can read the
    clip but not act on it until the lease expires or is released; renewed on every claim."""
    secret_key: str | None = None
    """Signs session cookies and CSRF tokens; default: a random key kept in HEATERS_HOME."""
    web_host: str = "127.0.0.1"
    """Address ``heaters web`` listens on."""
    web_port: int = 8000
    """Port ``heaters web`` listens on."""
    web_header_timeout_seconds: float = Field(default=10.0, gt=0)
    """``heaters web`` closes a connection whose request line and headers have not all
    arrived this many seconds after it opened (or after the request's first byte): slow or
    half-sent requests (slowloris) cannot hold connections (``web/timeouts.py``)."""
    web_body_timeout_seconds: float = Field(default=30.0, gt=0)
    """``heaters web`` closes a connection whose request body sends nothing for this many
    seconds (between two reads: a long upload at any steady speed goes on)."""
    login_window_seconds: float = Field(default=60.0, gt=0)
    """Sign-in throttling window (``HEATERS_LOGIN_WINDOW_SECONDS``): failed sign-ins are
    counted per account and per client address in fixed windows of this length, kept in
    Postgres so every web process counts the same (``web/throttle.py`` says why)."""
    login_account_limit: int = Field(default=50, ge=1)
    """Failed sign-ins per account name in a window; past it the sign-in answers 429 with
    ``Retry-After`` until the window ends, whatever the password (the 51st wrong password
    within a minute is refused: no person mistypes 50 times a minute, a guesser is held to
    72,000 tries a day per account)."""
    login_address_limit: int = Field(default=100, ge=1)
    """Failed sign-ins per client address (an IPv6 client by its /64) in a window, on any
    accounts: stops one address spraying a password across many names; twice the account
    limit so one reviewer's typos do not lock out an office behind one NAT address."""

    # --- API ----------------------------------------------------------------------------
    api_allow_private_urls: bool = False
    """Let API clients submit URLs on loopback, link-local or private addresses."""
    api_max_upload_bytes: int = 4 * 1024**3
    """Largest upload the API accepts (413 past it)."""

    test_pause_before_commit: str | None = None
    """Crash tests only: the named stage (e.g. ``preprocess``) sleeps just before its commit,
    after its media work and storage writes, so a test can SIGKILL the worker there."""
    test_kill_worker_on: str | None = None
    """Crash tests only: a worker SIGKILLs itself when it claims a stage of a video whose
    title contains this text (an input that kills its worker: the crash budget)."""

    @model_validator(mode="after")
    def _stall_spans_heartbeats(self) -> Settings:
        least = 3 * self.heartbeat_seconds
        if self.stalled_after_seconds < least:
            raise ValueError(
                f"HEATERS_STALLED_AFTER_SECONDS={self.stalled_after_seconds:g} is too short for "
                f"HEATERS_HEARTBEAT_SECONDS={self.heartbeat_seconds:g}: use at least {least:g} "
                "(three heartbeats, so a worker whose heartbeat is late once keeps its jobs)"
            )
        return self

    @property
    def storage_root(self) -> Path:
        """Local folder of the default storage."""
        if self.storage_url and self.storage_url.startswith("file://"):
            return Path(self.storage_url.removeprefix("file://"))
        return self.home / "storage"

    @property
    def tmp_root(self) -> Path:
        """The one root of temporary files (cleaned of dead workers' folders at start-up)."""
        return self.home / "tmp"

    @property
    def pgdata(self) -> Path:
        """Data folder of the embedded Postgres."""
        return self.home / "pgdata"


def settings_problems(exc: Exception) -> list[str] | None:
    """One line per problem of a :class:`Settings` that could not be made, naming the
    environment variable (``HEATERS_CLAIM_SECONDS='-1': Input should be greater than 0``);
    None when ``exc`` is not such an error."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or exc.title != Settings.__name__:
        return None
    lines = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["loc"]:
            name = str(err["loc"][0])
            var = "DATABASE_URL" if name == "database_url" else f"HEATERS_{name.upper()}"
            given = err.get("input")
            msg = f"{var}={given!r}: {msg}" if isinstance(given, str) else f"{var}: {msg}"
        lines.append(f"invalid setting {msg}")
    return lines


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
