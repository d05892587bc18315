"""Stage services: each joins the database, a pure media function and storage for one item.

A service claims the item (state → ``*ing``; nothing to do → ``"noop"``), runs the media
function (CPU-bound Python in the process pool, ffmpeg as an asyncio subprocess), writes its
results and the next state in one transaction, and returns ``"done"``. A ``HeatersError``
marks the item ``*_failed`` with its one-line reason (retried with backoff when transient);
any other exception is recorded as an internal error and retried like a transient one.
Storage objects are written under fixed keys before the commit (a redo replaces them) and
deleted only after the DB change has committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import numpy as np

from heaters.domain import states
from heaters.domain.cuts import last_frame_end, spans_from_cuts
from heaters.errors import DetectError, DownloadError, HeatersError
from heaters.pipeline.runtime import Runtime

log = logging.getLogger(__name__)

Outcome = str  # "done" | "failed" | "noop"
Row: TypeAlias = asyncpg.Record  # a row of source_videos


def original_key(video_id: int, suffix: str) -> str:
    """Storage key of a video's original (downloaded or copied) file."""
    return f"videos/{video_id}/original{suffix.lower() or '.bin'}"


def master_key(video_id: int) -> str:
    """Storage key of the FFV1/MKV master."""
    return f"videos/{video_id}/master.mkv"


def proxy_key(video_id: int) -> str:
    """Storage key of the all-I-frame H.264 proxy."""
    return f"videos/{video_id}/proxy.mp4"


async def _run_video_stage(
    rt: Runtime,
    video_id: int,
    transition: states.Transition,
    work: Callable[[Row], Awaitable[None]],
) -> Outcome:
    async with rt.db.transaction() as conn:
        row = await rt.db.q.claim_video(
            conn, id=video_id, running=transition.running, claimable=list(transition.claimable)
        )
    if row is None:
        log.info("video %s: nothing to do for %s", video_id, transition.running)
        return "noop"
    started = time.monotonic()
    log.info("video %s: %s (attempt %s)", video_id, transition.running, row["attempts"])
    try:
        await work(row)
    except HeatersError as exc:
        return await _fail(rt, video_id, transition, str(exc), transient=exc.transient)
    except Exception as exc:
        log.exception("video %s: internal error in %s", video_id, transition.running)
        reason = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0][:500]
        return await _fail(rt, video_id, transition, reason, transient=True)
    log.info("video %s: %s in %.2f s", video_id, transition.done, time.monotonic() - started)
    return "done"


async def _pause_point(rt: Runtime, stage: str) -> None:
    """Crash tests: hold the stage just before its commit (``HEATERS_TEST_PAUSE_BEFORE_COMMIT``)."""
    if rt.settings.test_pause_before_commit == stage:
        log.warning("%s: pausing before commit (HEATERS_TEST_PAUSE_BEFORE_COMMIT)", stage)
        await asyncio.sleep(3600)


async def _fail(
    rt: Runtime, video_id: int, transition: states.Transition, reason: str, *, transient: bool
) -> Outcome:
    s = rt.settings
    async with rt.db.transaction() as conn:
        await rt.db.q.fail_video(
            conn,
            id=video_id,
            failed=transition.failed,
            running=transition.running,
            error=reason,
            transient=transient,
            max_attempts=s.max_attempts,
            backoff=s.retry_backoff_seconds,
        )
    log.warning("video %s: %s: %s", video_id, transition.failed, reason)
    return "failed"


# --- download -----------------------------------------------------------------------------


async def download_video(rt: Runtime, video_id: int) -> Outcome:
    """Fetch the source (yt-dlp for URLs, a copy for local files) into storage.

    ``new``/``download_failed`` → ``downloading`` → ``downloaded``. The same content as an
    already ingested video (sha256) fails permanently, naming that video.
    """
    from heaters.media import download as dl
    from heaters.media.probe import probe

    async def work(row: Row) -> None:
        with rt.tmp.job_dir(f"download-{video_id}") as tmp:
            if row["source_url"]:
                result = await rt.run_sync(dl.download, row["source_url"], tmp)
            else:
                result = await rt.run_sync(dl.copy_local, Path(row["source_path"]), tmp)
            await rt.run_sync(probe, result.path)
            sha256 = await rt.run_sync(dl.sha256_file, result.path)
            async with rt.db.acquire() as conn:
                dup = await rt.db.q.find_duplicate(conn, source_url=None, sha256=sha256)
            if dup is not None and dup["id"] != video_id:
                raise DownloadError(f"same content as video {dup['id']} (sha256 {sha256[:12]}…)")
            key = original_key(video_id, result.path.suffix)
            await rt.storage.put_file(result.path, key, move=True)
            await _pause_point(rt, "download")
            async with rt.db.transaction() as conn:
                try:
                    await rt.db.q.finish_download(
                        conn, id=video_id, original_path=key, sha256=sha256, title=result.title
                    )
                except asyncpg.UniqueViolationError as exc:
                    raise DownloadError(
                        f"same content as another video (sha256 {sha256[:12]}…)"
                    ) from exc

    return await _run_video_stage(rt, video_id, states.DOWNLOAD, work)


# --- preprocess ---------------------------------------------------------------------------


def score_analysis_frames(raw: Path) -> np.ndarray:
    """Per-frame change scores from the small frames preprocess wrote (process pool)."""
    from heaters.media import scenes

    return scenes.frame_scores(scenes.read_small_frames_raw(raw))


def score_video_frames(video: Path) -> np.ndarray:
    """Per-frame change scores, decoding ``video`` (used when no analysis frames exist)."""
    from heaters.media import scenes

    return scenes.frame_scores(scenes.read_small_frames(video))


async def _local_copy(rt: Runtime, key: str, tmp: Path) -> Path:
    local = rt.storage.local_path(key)
    if local is not None and local.exists():
        return local
    dest = tmp / Path(key).name
    await rt.storage.get_file(key, dest)
    return dest


async def preprocess_video(rt: Runtime, video_id: int) -> Outcome:
    """Make the FFV1 master, the all-I-frame proxy, the frame index and the change scores.

    One ffmpeg decode of the original writes the master, the proxy and small analysis frames
    (for the scene detector, so detection never decodes again).
    ``downloaded``/``preprocess_failed`` → ``preprocessing`` → ``preprocessed``.
    """
    from heaters.media import scenes
    from heaters.media.preprocess import preprocess

    async def work(row: Row) -> None:
        with rt.tmp.job_dir(f"preprocess-{video_id}") as tmp:
            src = await _local_copy(rt, row["original_path"], tmp)
            master, proxy, small = tmp / "master.mkv", tmp / "proxy.mp4", tmp / "analysis.rgb"
            result = await preprocess(
                src,
                master,
                proxy,
                small_frames=small,
                small_size=scenes.ANALYSIS_SIZE,
                executor=rt.executor,
                crf=rt.settings.proxy_crf,
                preset=rt.settings.proxy_preset,
            )
            scores = await rt.run_sync(score_analysis_frames, small)
            if len(scores) != result.frame_count:
                # Decoder and demuxer disagree on the count: score the proxy itself.
                scores = await rt.run_sync(score_video_frames, proxy)
            await rt.storage.put_file(master, master_key(video_id), move=True)
            await rt.storage.put_file(proxy, proxy_key(video_id), move=True)
            await _pause_point(rt, "preprocess")
            idx = result.frame_index
            async with rt.db.transaction() as conn:
                await rt.db.q.upsert_frame_index(
                    conn,
                    id=video_id,
                    pts_seconds=list(idx.pts_seconds),
                    byte_offsets=list(idx.byte_offsets),
                )
                await rt.db.q.upsert_scene_scores(
                    conn,
                    id=video_id,
                    detector=scenes.DETECTOR_NAME,
                    params={"analysis_size": list(scenes.ANALYSIS_SIZE)},
                    scores=[float(s) for s in scores],
                )
                await rt.db.q.finish_preprocess(
                    conn,
                    id=video_id,
                    master_path=master_key(video_id),
                    proxy_path=proxy_key(video_id),
                    fps_num=result.fps.numerator,
                    fps_den=result.fps.denominator,
                    tb_num=result.time_base.numerator,
                    tb_den=result.time_base.denominator,
                    frame_count=result.frame_count,
                    duration_seconds=result.duration_seconds,
                    width=result.width,
                    height=result.height,
                    is_vfr=result.is_vfr,
                    has_audio=result.has_audio,
                )

    return await _run_video_stage(rt, video_id, states.PREPROCESS, work)


# --- detect -------------------------------------------------------------------------------


def detector_params(rt: Runtime) -> Any:
    """The detector's parameters: its defaults, with the settings' overrides."""
    from dataclasses import replace

    from heaters.media import scenes

    params = scenes.DetectorParams()
    if rt.settings.detect_threshold is not None:
        params = replace(params, threshold=rt.settings.detect_threshold)
    if rt.settings.detect_min_scene_len is not None:
        params = replace(params, min_scene_len=rt.settings.detect_min_scene_len)
    return params


async def detect_video(rt: Runtime, video_id: int) -> Outcome:
    """Find the cuts and write virtual clips that cover the video with no gap and no overlap.

    Uses the per-frame scores preprocess stored (decodes the proxy only when they are
    missing). ``preprocessed``/``detect_failed`` → ``detecting`` → ``detected``.
    """
    from heaters.media import scenes

    async def work(row: Row) -> None:
        async with rt.db.acquire() as conn:
            index = await rt.db.q.get_frame_index(conn, id=video_id)
            stored = await conn.fetchval(
                "SELECT scores FROM scene_scores WHERE source_video_id = $1", video_id
            )
        if index is None:
            raise DetectError("no frame index: preprocess the video again")
        pts = list(index["pts_seconds"])
        if stored is not None and len(stored) == len(pts):
            scores = np.asarray(stored, dtype=np.float32)
        else:
            with rt.tmp.job_dir(f"detect-{video_id}") as tmp:
                proxy = await _local_copy(rt, row["proxy_path"], tmp)
                scores = await rt.run_sync(score_video_frames, proxy)
        params = detector_params(rt)
        cuts = scenes.cuts_from_scores(scores, params)
        fps = row["fps_num"] / row["fps_den"] if row["fps_num"] else 25.0
        spans = spans_from_cuts(cuts, pts, last_frame_end(pts, 1.0 / fps))
        await _pause_point(rt, "detect")
        async with rt.db.transaction() as conn:
            await rt.db.q.delete_unreviewed_clips(conn, video_id=video_id)
            await rt.db.q.insert_clips(
                conn,
                [
                    {
                        "video_id": video_id,
                        "clip_identifier": s.identifier(video_id),
                        "start_frame": s.start_frame,
                        "end_frame": s.end_frame,
                        "start_seconds": s.start_seconds,
                        "end_seconds": s.end_seconds,
                    }
                    for s in spans
                ],
            )
            await rt.db.q.finish_detect(conn, id=video_id)
        log.info("video %s: %d cuts, %d clips", video_id, len(cuts), len(spans))

    return await _run_video_stage(rt, video_id, states.DETECT, work)


# --- review edits -------------------------------------------------------------------------


async def commit_edit(rt: Runtime, event_id: int) -> Outcome:
    """Commit a merge/split whose undo window has passed (scheduled, or found overdue)."""
    from heaters import review

    return "done" if await review.commit_edit(rt.db, event_id) == "committed" else "noop"
