"""Preprocess stages (docs/architecture.md, "Preprocess"): one video's master check, review
proxy, frame index and analysis features, in one pass or, for a long video, in segments that
several workers encode at once.

- :func:`preprocess_video` (stage ``preprocess``): one pass for a short video; a video longer
  than ``HEATERS_SEGMENT_SECONDS`` is planned instead (:func:`split_if_long`):
  keyframe-aligned segments (:func:`heaters.media.segments.plan_for_jobs`) become
  ``video_segments`` rows and the video moves to ``segmenting``.
- :func:`encode_video_segment` (stage ``preprocess_segment``): one segment per job, any
  worker on any machine sharing the database and storage.
- :func:`join_video_segments` (stage ``join``): once all are encoded, the pieces are joined
  without re-encoding (the proxy is all-I) and the video ends exactly as the one-pass
  preprocess does (:func:`store_preprocessed`: same rows, same ``preprocessed`` state).

Workers never enqueue each other. Each segment is resumable on its own: its pieces are stored
under keys that carry its claim's token (:func:`heaters.storage.keys.segment_keys`) before the
commit that marks it ``encoded`` and records them; a job killed mid-way leaves it
``encoding`` and the retried job redoes only it; encoded segments are not redone. A segment
that will not be retried (permanent failure, attempts used up) fails its video
(``preprocess_failed``, reason ``segment N: …``: :data:`heaters.db.lifecycle.GIVE_UP`, the
failure of :data:`~heaters.domain.states.VIDEO_IN_SEGMENTS`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import fields
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heaters.db import fetch_all, lifecycle
from heaters.domain import states
from heaters.errors import PreprocessError
from heaters.media.segments import Segment, SegmentPlan, segment_paths
from heaters.pipeline import progress
from heaters.pipeline.features import analysis_features, store_features, video_features
from heaters.pipeline.media_io import local_copy, media_source
from heaters.pipeline.runner import (
    Outcome,
    Row,
    commit,
    delete_objects,
    delete_replaced,
    pause_point,
    replaces,
    run_stage,
    writes,
)
from heaters.pipeline.runtime import Runtime
from heaters.storage.keys import master_key, proxy_key, segment_keys

if TYPE_CHECKING:
    from uuid import UUID

    from heaters.db.pool import Connection
    from heaters.media.preprocess import PreprocessResult

log = logging.getLogger(__name__)


async def preprocess_video(rt: Runtime, video_id: int) -> Outcome:
    """Make the all-I-frame proxy, the frame index and the change scores (and an FFV1 master
    when configured or needed).

    One ffmpeg decode of the original writes the proxy and small analysis frames (for the
    scene detector, so detection never decodes again). The original is the master
    (``master_path`` = its key, ``master_kind`` = ``original``) unless ``HEATERS_MASTER=ffv1``
    or the original cannot be read frame-exactly by seeking: then an FFV1 master is stored
    under :func:`master_key` and ``master_reason`` says why.
    ``downloaded``/``preprocess_failed`` → ``preprocessing`` → ``preprocessed``.
    """
    from heaters.media import scenes
    from heaters.media.preprocess import preprocess

    async def work(row: Row) -> None:
        replaces_media(video_id, row)
        with rt.tmp.job_dir(f"preprocess-{video_id}") as tmp:
            src = await local_copy(rt, row["original_path"], tmp)
            if await split_if_long(rt, video_id, row["claim_token"], src):
                return  # a long video: its segments are encoded by separate jobs
            master, proxy, small = tmp / "master.mkv", tmp / "proxy.mp4", tmp / "analysis.rgb"
            s = rt.settings
            shown = progress.start("preprocess", "video", video_id)
            result = await preprocess(
                src,
                master,
                proxy,
                small_frames=small,
                small_size=scenes.ANALYSIS_SIZE,
                executor=rt.executor,
                on_progress=shown.update,
                on_probe=lambda info: shown.set_total(info.frame_count),
                crf=s.proxy_crf,
                preset=s.proxy_preset,
                proxy_height=s.proxy_height,
                master_mode=s.master,
            )
            await store_preprocessed(
                rt, video_id, row, result, master=master, proxy=proxy, small=small
            )

    return await run_stage(rt, "video", video_id, states.PREPROCESS, work)


def _media_keys(video_id: int, token: UUID | None) -> list[str]:
    """The master and proxy keys a claim with ``token`` writes (none for no token)."""
    return [master_key(video_id, token), proxy_key(video_id, token)] if token else []


def replaces_media(video_id: int, row: Row) -> None:
    """Preprocess or join: note the master and proxy the claim this one replaced may have
    written (:func:`heaters.pipeline.runner.replaces`), less those the row names."""
    replaces(
        row, _media_keys(video_id, row["previous_token"]),
        [row["master_path"], row["proxy_path"], row["original_path"]],
    )  # fmt: skip


async def store_preprocessed(
    rt: Runtime,
    video_id: int,
    row: Row,
    result: PreprocessResult,
    *,
    master: Path,
    proxy: Path,
    small: Path,
    transition: states.Transition = states.PREPROCESS,
    pause: str = "preprocess",
    in_commit: Callable[[Connection], Awaitable[None]] | None = None,
) -> None:
    """What preprocess ends with, in one pass or joined from segments: the change scores
    from the small frames, the proxy (and an FFV1 master) stored, then the frame index,
    features and the finish of ``transition`` (``PREPROCESS``, or the ``JOIN`` of a
    segmented video: both end ``preprocessed`` with the same columns) in one transaction,
    with ``in_commit`` run first inside it (the join forgets its segments)."""
    detector = rt.settings.detector
    features = await rt.run_sync(analysis_features, small, detector)
    if features is not None and len(features) != result.frame_count:
        # Decoder and demuxer disagree on the count: score the proxy itself.
        features = await rt.run_sync(video_features, proxy, detector)
    token = row["claim_token"]
    proxy_path = proxy_key(video_id, token)
    if result.master_kind == "ffv1":
        master_path = master_key(video_id, token)
        writes(row, master_path)
        await rt.storage.put_file(master, master_path, move=True)
    else:
        master_path = row["original_path"]
    writes(row, proxy_path)
    await rt.storage.put_file(proxy, proxy_path, move=True)
    await pause_point(rt, pause)
    idx = result.frame_index
    async with commit(rt, row) as conn:
        if in_commit is not None:
            await in_commit(conn)
        await rt.db.q.upsert_frame_index(
            conn,
            id=video_id,
            pts_seconds=list(idx.pts_seconds),
            byte_offsets=list(idx.byte_offsets),
        )
        if features is not None:  # else the detect stage decodes the proxy for its detector
            await store_features(rt, conn, video_id, features, detector)
        # master_kind: 'original' (the downloaded file is the master) or 'ffv1' (a lossless
        # copy, master_reason says why).
        await lifecycle.finish(
            conn,
            "video",
            transition,
            video_id,
            token=token,
            master_path=master_path,
            master_kind=result.master_kind,
            master_reason=result.master_reason,
            proxy_path=proxy_path,
            fps_num=result.fps.numerator,
            fps_den=result.fps.denominator,
            time_base_num=result.time_base.numerator,
            time_base_den=result.time_base.denominator,
            frame_count=result.frame_count,
            duration_seconds=result.duration_seconds,
            width=result.width,
            height=result.height,
            is_vfr=result.is_vfr,
            has_audio=result.has_audio,
        )
    # The master and proxy the row named before (a redo), and those the claim this one
    # replaced wrote (a crashed or stale worker), unless the row names them now.
    await delete_replaced(
        rt, [row["master_path"], row["proxy_path"], *_media_keys(video_id, row["previous_token"])],
        [master_path, proxy_path, row["original_path"]], f"video {video_id}",
    )  # fmt: skip


# --- segments ----------------------------------------------------------------------------

_SEGMENT_COLUMNS = tuple(f.name for f in fields(Segment))
"""The ``video_segments`` columns that hold a :class:`Segment`: its fields, by the same names
(``index``, ``first_frame``, ``frame_count``, ``start_pts``, ``end_pts``)."""


def plan_from_rows(rows: Sequence[Any]) -> SegmentPlan:
    """The :class:`SegmentPlan` stored as a video's ``video_segments`` rows (in index order).

    ``has_audio`` is not stored (the join probes the source); it is False here.
    """
    first = rows[0]
    return SegmentPlan(
        segments=tuple(Segment(**{c: r[c] for c in _SEGMENT_COLUMNS}) for r in rows),
        time_base=Fraction(first["time_base_num"], first["time_base_den"]),
        origin_pts=first["origin_pts"],
        has_audio=False,
    )


async def split_if_long(rt: Runtime, video_id: int, token: UUID, src: Path) -> bool:
    """Inside a claimed preprocess job: plan a long video's segments and hand it over.

    True when ``src`` (the local original) is longer than ``HEATERS_SEGMENT_SECONDS`` and
    splits at keyframes: its ``video_segments`` rows are written (a re-plan keeps segments
    already encoded under the same plan) and the video moves ``preprocessing`` →
    ``segmenting`` (the finish of :data:`~heaters.domain.states.PREPROCESS_IN_SEGMENTS`
    under the claim's ``token``; :class:`~heaters.db.lifecycle.ClaimLost` when it was taken
    over) in one transaction. False (preprocess it in one pass) for a short
    video, one that cannot be split, an FFV1 master asked for, or segments off (``0``).
    """
    from heaters.media.segments import plan_for_jobs

    s = rt.settings
    if s.segment_seconds <= 0 or s.master == "ffv1":
        return False
    plan = await rt.run_sync(plan_for_jobs, src, s.segment_seconds)
    if plan is None:
        return False
    tb = plan.time_base
    async with rt.db.transaction() as conn:
        await rt.db.q.plan_segments(
            conn,
            [
                {
                    "video_id": video_id,
                    **{c: getattr(seg, c) for c in _SEGMENT_COLUMNS},
                    "tb_num": tb.numerator,
                    "tb_den": tb.denominator,
                    "origin_pts": plan.origin_pts,
                }
                for seg in plan.segments
            ],
        )
        dropped = await fetch_all(
            rt.db.q.drop_segments_from(conn, video_id=video_id, count=len(plan.segments))
        )
        await lifecycle.finish(conn, "video", states.PREPROCESS_IN_SEGMENTS, video_id, token=token)
    await delete_objects(
        rt, [k for r in dropped for k in (r["proxy_key"], r["small_key"])], f"video {video_id}"
    )
    log.info(
        "video %s: %d segments of about %.0f s for separate jobs",
        video_id, len(plan.segments), s.segment_seconds,
    )  # fmt: skip
    return True


async def encode_video_segment(rt: Runtime, segment_id: int) -> Outcome:
    """Encode one segment of a video being segmented into its proxy part and small frames.

    ``pending``/``encode_failed`` → ``encoding`` → ``encoded`` (``video_segments``). Reads
    the original where it is (this disk, or byte ranges of a presigned URL on S3: only the
    segment's span is fetched), stores both pieces under its claim's
    :func:`~heaters.storage.keys.segment_keys`, then marks
    the segment encoded with ``result`` = ``{"frames": N, "seconds": wall time}``.
    """
    from heaters.media import scenes
    from heaters.media.segments import encode_segment

    async def work(row: Row) -> None:
        started = time.monotonic()
        video_id, index = row["source_video_id"], row["index"]
        prev = row["previous_token"]
        prev_keys = segment_keys(video_id, index, prev) if prev is not None else ()
        replaces(row, prev_keys, [row["proxy_key"], row["small_key"]])
        async with rt.db.acquire() as conn:
            rows = await fetch_all(rt.db.q.segments_of(conn, video_id=video_id))
        plan = plan_from_rows(rows)
        s = rt.settings
        with rt.tmp.job_dir(f"segment-{segment_id}") as tmp:
            src = await media_source(rt, row["original_path"], tmp)
            work_dir = tmp / "pieces"
            await asyncio.to_thread(work_dir.mkdir)
            frames = await rt.run_sync(
                encode_segment,
                src,
                plan,
                index,
                work_dir,
                small_size=scenes.ANALYSIS_SIZE,
                crf=s.proxy_crf,
                preset=s.proxy_preset,
                proxy_height=s.proxy_height,
            )
            keys = segment_keys(video_id, index, row["claim_token"])
            writes(row, *keys)
            for path, key in zip(segment_paths(work_dir, index), keys, strict=True):
                await rt.storage.put_file(path, key, move=True)
        await pause_point(rt, "preprocess_segment")
        await pause_point(rt, f"preprocess_segment:{index}")
        async with commit(rt, row) as conn:
            # a segment that left encoding meanwhile (or was claimed again) raises ClaimLost
            await lifecycle.finish(
                conn, "segment", states.ENCODE_SEGMENT, segment_id, token=row["claim_token"],
                proxy_key=keys[0], small_key=keys[1],
                result={"frames": frames, "seconds": round(time.monotonic() - started, 3)},
            )  # fmt: skip
        await delete_replaced(
            rt, [row["proxy_key"], row["small_key"], *prev_keys], keys,
            f"video {video_id} segment {index}",
        )  # fmt: skip

    return await run_stage(rt, "segment", segment_id, states.ENCODE_SEGMENT, work)


async def _fetch_piece(rt: Runtime, key: str, dest: Path) -> None:
    """Put the object ``key`` at ``dest``: a symlink to the storage's own file when it is on
    this disk, else a download."""
    local = rt.storage.local_path(key)
    if local is not None and await asyncio.to_thread(local.exists):
        await asyncio.to_thread(os.symlink, local, dest)
    else:
        await rt.storage.get_file(key, dest)


async def join_video_segments(rt: Runtime, video_id: int) -> Outcome:
    """Join a segmented video's encoded pieces and finish its preprocess.

    ``segmenting``/``join_failed`` → ``joining`` → ``preprocessed``, for a video whose
    segments are all encoded (its claim's guard, which its finder uses too: a stale job
    claims nothing). Encodes the audio once, joins the pieces
    without re-encoding, indexes the proxy, checks the original as a master (FFV1 fallback
    as in one pass), then stores exactly what the one-pass path stores; the segment rows go
    in the same commit and their objects after it.
    """
    from heaters.media.probe import probe
    from heaters.media.segments import encode_audio, finish_segmented

    async def work(row: Row) -> str | None:
        replaces_media(video_id, row)
        async with rt.db.acquire() as conn:
            rows = await fetch_all(rt.db.q.segments_of(conn, video_id=video_id))
        if not rows or any(r["state"] != states.SegmentState.ENCODED for r in rows):
            # The claim's guard found them all encoded, and no segment job claims one of a
            # joining video: only an edit by hand gets here.
            raise PreprocessError("the video's segments changed while it was joined")
        plan = plan_from_rows(rows)
        with rt.tmp.job_dir(f"join-{video_id}") as tmp:
            src = await local_copy(rt, row["original_path"], tmp)
            pieces = tmp / "pieces"
            await asyncio.to_thread(pieces.mkdir)
            info = await rt.run_sync(probe, src)
            audio = tmp / "audio.m4a" if info.has_audio else None

            async def fetch_all_pieces() -> None:
                for r in rows:
                    for key, dest in zip(
                        (r["proxy_key"], r["small_key"]),
                        segment_paths(pieces, r["index"]),
                        strict=True,
                    ):
                        await _fetch_piece(rt, key, dest)

            await asyncio.gather(
                fetch_all_pieces(),
                encode_audio(src, audio) if audio is not None else asyncio.sleep(0),
            )
            master, proxy, small = tmp / "master.mkv", tmp / "proxy.mp4", tmp / "analysis.rgb"
            result = await finish_segmented(
                src, plan, pieces, master, proxy, small, audio, info, executor=rt.executor
            )
            forgotten: list[str | None] = []

            async def forget(conn: Any) -> None:
                for r in await fetch_all(rt.db.q.forget_segments(conn, video_id=video_id)):
                    forgotten.extend((r["proxy_key"], r["small_key"]))

            await store_preprocessed(
                rt, video_id, row, result, master=master, proxy=proxy, small=small,
                transition=states.JOIN, pause="join", in_commit=forget,
            )  # fmt: skip
        await delete_objects(rt, forgotten, f"video {video_id}")
        log.info("video %s: %d segments joined", video_id, len(rows))
        return None

    return await run_stage(rt, "video", video_id, states.JOIN, work)


__all__ = [
    "encode_video_segment",
    "join_video_segments",
    "plan_from_rows",
    "segment_keys",
    "split_if_long",
]
