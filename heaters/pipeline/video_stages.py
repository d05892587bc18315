"""Video stages: download and detect (one video each; docs/architecture.md; preprocess is
:mod:`heaters.pipeline.preprocess_stages`).

A service claims the item (state → ``*ing``; nothing to do → ``"noop"``), runs the media
function (CPU-bound Python in the process pool, ffmpeg as an asyncio subprocess), writes its
results and the next state in one transaction, and returns ``"done"``. A ``HeatersError``
marks the item ``*_failed`` with its one-line reason (retried with backoff when transient);
any other exception is recorded as an internal error and retried like a transient one.
Storage objects are written under keys that carry the claim's token before the commit
(which records them in the row); the objects a redo replaces are deleted only after the DB
change has committed, a claim's own ones when it does not commit (``runner``).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import numpy as np

from heaters.db import lifecycle
from heaters.db.clips import insert_clips
from heaters.domain import states
from heaters.domain.cuts import last_frame_end, spans_from_boundaries
from heaters.errors import DetectError, DownloadError, StorageError
from heaters.pipeline import progress, runner
from heaters.pipeline.features import store_features, stored_features, video_features
from heaters.pipeline.media_io import local_copy
from heaters.pipeline.runner import Outcome, Row, pause_point
from heaters.pipeline.runtime import Runtime
from heaters.storage.keys import original_key, upload_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from heaters.db.pool import Connection
    from heaters.media.boundaries import SceneResult
    from heaters.media.download import DownloadResult

log = logging.getLogger(__name__)


# --- download -----------------------------------------------------------------------------


async def download_video(rt: Runtime, video_id: int) -> Outcome:
    """Fetch the source into storage as the video's original: yt-dlp for a URL, a copy of
    a local file (a path readable on this worker), or for an API upload a copy inside the
    storage (the upload object is deleted after the commit).

    ``new``/``download_failed`` → ``downloading`` → ``downloaded``. The same content as an
    already ingested video (sha256) fails permanently, naming that video.
    """
    from heaters.media import download as dl
    from heaters.media.addresses import download_policy
    from heaters.media.probe import probe

    async def work(row: Row) -> None:
        upload: str | None = row["source_key"]
        with rt.tmp.job_dir(f"download-{video_id}") as tmp:
            if row["source_url"]:
                url, s = row["source_url"], rt.settings
                result = await rt.run_sync(
                    dl.download, url, tmp,
                    policy=download_policy(url, allow_private=s.api_allow_private_urls),
                    max_bytes=s.max_download_bytes, timeout_seconds=s.download_timeout_seconds,
                )  # fmt: skip
            elif upload:
                result = await _fetch_upload(rt, upload, tmp)
            else:
                result = await rt.run_sync(dl.copy_local, Path(row["source_path"]), tmp)
            await rt.run_sync(probe, result.path)
            if upload and row["sha256"]:
                sha256 = row["sha256"]  # hashed by the web as it stored the upload
            else:
                sha256 = await rt.run_sync(dl.sha256_file, result.path)
            async with rt.db.acquire() as conn:
                dup = await rt.db.q.find_duplicate(conn, source_url=None, sha256=sha256)
            if dup is not None and dup["id"] != video_id:
                raise DownloadError(f"same content as video {dup['id']} (sha256 {sha256[:12]}…)")
            suffix = result.path.suffix
            prev = row["previous_token"]
            prev_keys = [original_key(video_id, suffix, prev)] if prev is not None else []
            runner.replaces(row, prev_keys, [row["original_path"], row["master_path"]])
            if row["original_path"] and row["sha256"] == sha256:
                key = row["original_path"]  # a redo of a committed download: the same bytes
            else:
                key = original_key(video_id, suffix, row["claim_token"])
                runner.writes(row, key)
                if upload:
                    await rt.storage.copy(upload, key)  # inside the storage, kept until the commit
                else:
                    await rt.storage.put_file(result.path, key, move=True)
            await pause_point(rt, "download")
            async with runner.commit(rt, row) as conn:
                try:
                    await lifecycle.finish(
                        conn, "video", states.DOWNLOAD, video_id, token=row["claim_token"],
                        original_path=key, sha256=sha256,
                        title=row["title"] if row["title"] is not None else result.title,
                    )  # fmt: skip
                except asyncpg.UniqueViolationError as exc:
                    raise DownloadError(
                        f"same content as another video (sha256 {sha256[:12]}…)"
                    ) from exc
        # What the row named before, and what the claim this one replaced wrote (a crashed
        # or stale download of the same source: the same suffix).
        await runner.delete_replaced(
            rt, [row["original_path"], *prev_keys], [key, row["master_path"]], f"video {video_id}"
        )
        # An API upload has served its purpose once its original is committed (a user's own
        # file, ``heaters ingest FILE``, is never touched).
        if upload:
            await _forget_upload(rt, upload)
        # A video submitted before uploads went to the storage (migration 0013) names the
        # upload spooled under the web's HEATERS_HOME/uploads.
        source = row["source_path"]
        if source and Path(source).parent == rt.settings.home.resolve() / "uploads":
            await asyncio.to_thread(Path(source).unlink, missing_ok=True)

    return await runner.run_stage(rt, "video", video_id, states.DOWNLOAD, work)


async def _fetch_upload(rt: Runtime, key: str, tmp: Path) -> DownloadResult:
    """An API upload (the storage object ``key``) as a file this worker can probe: the
    storage's own file when it is on this disk, else a download into ``tmp``."""
    from heaters.media.download import DownloadResult

    path = await local_copy(rt, key, tmp)
    return DownloadResult(
        path=path, title=Path(upload_name(key)).stem or None, source_url=key,
        extractor="upload", normalised=None,
    )  # fmt: skip


async def _forget_upload(rt: Runtime, key: str) -> None:
    """Delete an upload object after the commit that stored it as an original. A failure is
    logged, not raised: the download is done, the object is only garbage."""
    try:
        await rt.storage.delete_many([key])
    except StorageError as exc:
        log.warning("could not delete the stored upload %s: %s", key, exc)


# --- detect -------------------------------------------------------------------------------


async def _second_opinion(rt: Runtime, video_id: int, row: Row, result: Any) -> Any:
    """``result`` with its uncertain boundaries checked by TransNetV2 on the proxy
    (``HEATERS_DETECT_SECOND_OPINION``); unchanged, with one warning, without torch."""
    from heaters.media import transnet, verify

    if not verify.uncertain_windows(result):
        return result
    with rt.tmp.job_dir(f"verify-{video_id}") as tmp:
        proxy = await local_copy(rt, row["proxy_path"], tmp)
        try:  # in the process pool: torch and the model load once per pool process
            checked, report = await rt.run_sync(verify.second_opinion, proxy, result)
        except transnet.NeuralUnavailable as exc:
            log.warning("video %s: no second opinion: %s", video_id, exc)
            return result
    log.info(
        "video %s: second opinion: %d windows, %d network runs, %d suggestions promoted",
        video_id, len(report.windows), report.runs, len(report.suggestions_promoted),
    )  # fmt: skip
    return checked


def detector_params(rt: Runtime, profile: Any = None) -> Any:
    """The detector's parameters: ``profile``'s (the video's collection's active detector
    profile, :func:`heaters.pipeline.profiles.params_for_video`) or the defaults, with the
    settings' overrides."""
    from dataclasses import replace

    from heaters.media import scenes

    params = profile or scenes.DetectorParams()
    if rt.settings.detect_threshold is not None:
        params = replace(params, threshold=rt.settings.detect_threshold)
    if rt.settings.detect_min_scene_len is not None:
        params = replace(params, min_scene_len=rt.settings.detect_min_scene_len)
    return params


async def store_suggestions(
    rt: Runtime, conn: Connection, video_id: int, result: SceneResult, pts: Sequence[float]
) -> None:
    """Replace the video's boundary suggestions by ``result.suggestions`` (call it in the
    transaction that writes the clips, after them): each with the PTS of its frame from the
    frame index ``pts``, as the clips' boundaries get theirs. A suggestion on a live clip's
    boundary (a cut already) or past the last frame is not stored; a redo stores the same
    rows again."""
    await rt.db.q.delete_video_suggestions(conn, video_id=video_id)
    rows = [
        {
            "video_id": video_id,
            "frame": s.frame,
            "seconds": float(pts[s.frame]),
            "confidence": min(1.0, max(0.0, float(s.confidence))),
            "reason": s.reason,
            "detector": result.detector,
        }
        for s in result.suggestions
        if 0 < s.frame < len(pts)
    ]
    if rows:
        await rt.db.q.insert_suggestions(conn, rows)


async def detect_video(rt: Runtime, video_id: int) -> Outcome:
    """Find the cuts and write virtual clips that cover the video with no gap and no overlap.

    Uses the per-frame features preprocess stored for the current detector (decodes the
    proxy only when they are missing or were made by another detector, and stores them). A
    gradual transition's frames become a transition clip; every clip carries the confidence
    of the boundary it starts on. The candidate boundaries a rule rejected (the result's
    ``suggestions``) replace the video's stored ones in the same transaction
    (:func:`store_suggestions`). The thresholds are those of the active detector profile of
    the video's collection when it has one (:func:`detector_params`). ``preprocessed``/
    ``detect_failed`` → ``detecting`` → ``detected``.
    """
    from fractions import Fraction

    from heaters.media.detectors import get_detector
    from heaters.pipeline.profiles import params_for_video

    detector = get_detector(rt.settings.detector)
    fast = detector.key == "fast"

    async def work(row: Row) -> None:
        ok, why = detector.available()
        if not ok:
            raise DetectError(f"HEATERS_DETECTOR={detector.key}: {why}")
        async with rt.db.acquire() as conn:
            index = await rt.db.q.get_frame_index(conn, id=video_id)
            profile = await params_for_video(rt.db, conn, video_id) if fast else None
            features: np.ndarray | None = None
            if index is not None:
                frames = len(index["pts_seconds"])
                features = await stored_features(rt, conn, video_id, frames, detector.key)
        if index is None:
            raise DetectError("no frame index: preprocess the video again")
        pts = list(index["pts_seconds"])
        shown = progress.start("detect", "video", video_id, total=len(pts))
        if features is None:
            with rt.tmp.job_dir(f"detect-{video_id}") as tmp:
                proxy = await local_copy(rt, row["proxy_path"], tmp)
                async with progress.relayed(shown, tmp) as on_progress:
                    features = await rt.run_sync(
                        video_features, proxy, detector.key, on_progress=on_progress
                    )
            if len(features) == len(pts):
                async with rt.db.acquire() as conn:
                    await store_features(rt, conn, video_id, features, detector.key)
        fps = Fraction(row["fps_num"], row["fps_den"]) if row["fps_num"] else Fraction(25)
        params = detector_params(rt, profile) if fast else None
        result = detector.decide(features, fps, params)
        if fast and rt.settings.detect_second_opinion:
            result = await _second_opinion(rt, video_id, row, result)
        shown.update(len(pts))
        cuts = result.cuts
        spans = spans_from_boundaries(
            result.cuts, result.cut_confidence, result.transitions, pts,
            last_frame_end(pts, 1.0 / float(fps)),
        )  # fmt: skip
        await pause_point(rt, "detect")
        async with rt.db.transaction() as conn:
            await rt.db.q.delete_unreviewed_clips(conn, video_id=video_id)
            await insert_clips(rt.db.q, conn, video_id, spans)
            await store_suggestions(rt, conn, video_id, result, pts)
            await lifecycle.finish(conn, "video", states.DETECT, video_id, token=row["claim_token"])
        log.info(
            "video %s: %d cuts, %d transitions, %d clips (%s)",
            video_id, len(cuts), sum(s.is_transition for s in spans), len(spans),
            result.detector,
        )  # fmt: skip

    return await runner.run_stage(rt, "video", video_id, states.DETECT, work)
