"""Clip stages after review: export, keyframes, embeddings, archive (one clip each).

Each runs through :func:`heaters.pipeline.runner.run_stage`: claim the clip, do the media
work in the process pool (or ffmpeg as a subprocess), write objects, then the rows and the
next state in one transaction. An export writes under a key that carries its claim's token
(recorded as ``clip_path``; the file a redo replaces is deleted after its commit);
keyframes, deterministic images, under fixed keys. Re-running a stage upserts the same
rows: nothing is duplicated.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from heaters.db import lifecycle
from heaters.domain import states
from heaters.errors import HeatersError, MediaError
from heaters.pipeline import runner
from heaters.pipeline.media_io import check_source, local_copy, media_source
from heaters.pipeline.runner import Outcome, Row, pause_point
from heaters.pipeline.runtime import Runtime
from heaters.storage.keys import clip_key, keyframe_key

log = logging.getLogger(__name__)


async def _clip(rt: Runtime, clip_id: int) -> Row:
    async with rt.db.acquire() as conn:
        row = await rt.db.q.clip_with_video(conn, id=clip_id)
    if row is None:  # pragma: no cover - the claim found it
        raise HeatersError(f"clip {clip_id} disappeared")
    clip: Row = row
    return clip


# --- export -------------------------------------------------------------------------------


async def export_clip(rt: Runtime, clip_id: int) -> Outcome:
    """Write an approved clip's frames as an MP4 (``master``, the default, or ``copy``).

    ``master``: the clip's frames are decoded from the video's master (its original, or its
    FFV1 master: ``master_path`` names either) from the keyframe at or before the clip, and
    exactly ``end_frame - start_frame`` of them re-encoded (``export_codec``/``crf``/
    ``preset``), with the audio of the same span unless ``export_audio`` is off. ``copy``:
    the proxy's packets are remuxed.
    ``review_approved``/``export_failed`` → ``exporting`` → ``exported``. The proxy or master
    is read where it lies, or through a presigned URL on S3 (:func:`media_source`), never
    downloaded whole; when such a read fails, one ``exists`` request tells a storage outage
    (transient) or a missing object (permanent) from bad media.
    """
    from heaters.media.export import (
        EncodeOptions,
        ExportError,
        encode_clip_exact,
        is_url,
        remux_clip,
    )

    async def work(row: Row) -> None:
        prev = row["previous_token"]
        prev_keys = [clip_key(clip_id, prev)] if prev is not None else []
        runner.replaces(row, prev_keys, [row["clip_path"]])
        clip = await _clip(rt, clip_id)
        first = max(0, clip["start_frame"] - 1)  # the frame before too: the seek's margin
        async with rt.db.acquire() as conn:
            pts_row = await rt.db.q.clip_pts(
                conn,
                video_id=clip["source_video_id"],
                start_frame=first,
                end_frame=clip["end_frame"],
            )
        around = list(pts_row["pts"]) if pts_row else []
        pts = around[clip["start_frame"] - first :]
        prev = around[0] if clip["start_frame"] > first and around else None
        n = clip["end_frame"] - clip["start_frame"]
        if len(pts) < n:
            raise MediaError(f"the frame index has no PTS for frames of clip {clip_id}")
        s = rt.settings
        key = clip["proxy_path"] if s.export_mode == "copy" else clip["master_path"]
        with rt.tmp.job_dir(f"export-{clip_id}") as tmp:
            out = tmp / "clip.mp4"
            source = await media_source(rt, key, tmp)
            try:
                if s.export_mode == "copy":
                    await rt.run_sync(
                        remux_clip, source, out, start_seconds=pts[0],
                        end_seconds=clip["end_seconds"], frame_count=n,
                    )  # fmt: skip
                else:
                    await rt.run_sync(
                        encode_clip_exact, source, out, start_seconds=pts[0], frame_count=n,
                        duration_seconds=clip["end_seconds"] - clip["start_seconds"],
                        prev_seconds=prev, next_seconds=pts[1] if len(pts) > 1 else None,
                        encode=EncodeOptions(
                            crf=s.export_crf, preset=s.export_preset, codec=s.export_codec,
                            audio=s.export_audio, faststart=s.export_faststart,
                        ),
                    )  # fmt: skip
            except ExportError as exc:
                if is_url(source):
                    await check_source(rt, key)  # an outage or a lost object says so
                    # bad media: name the key, never the signed URL (it grants access for 1 h)
                    reason = str(exc).replace(source, key)
                    if key not in reason:
                        reason = f"{key}: {reason}"
                    raise ExportError(reason, transient=exc.transient) from None
                raise
            out_key = clip_key(clip_id, row["claim_token"])
            runner.writes(row, out_key)
            await rt.storage.put_file(out, out_key, move=True)
        await pause_point(rt, "export")
        async with runner.commit(rt, row) as conn:
            await lifecycle.finish(
                conn, "clip", states.EXPORT, clip_id, token=row["claim_token"],
                clip_path=out_key, is_virtual=False,
            )  # fmt: skip
        await runner.delete_replaced(
            rt, [row["clip_path"], *prev_keys], [out_key], f"clip {clip_id}"
        )

    return await runner.run_stage(rt, "clip", clip_id, states.EXPORT, work)


# --- keyframes ----------------------------------------------------------------------------


async def extract_clip_keyframes(rt: Runtime, clip_id: int) -> Outcome:
    """Representative frames of an exported clip as images, recorded in ``clip_artifacts``.

    ``exported``/``keyframe_failed`` → ``keyframing`` → ``keyframed``.
    """
    from heaters.media.keyframes import extract_keyframes, keyframe_picks

    async def work(row: Row) -> None:
        s = rt.settings
        n = row["end_frame"] - row["start_frame"]
        picks = keyframe_picks(n, s.keyframe_strategies)
        with rt.tmp.job_dir(f"keyframe-{clip_id}") as tmp:
            clip_file = await local_copy(rt, row["clip_path"], tmp)
            out_dir = tmp / "keyframes"
            out_dir.mkdir()
            frames = await rt.run_sync(
                extract_keyframes, clip_file, picks, out_dir, image_format=s.keyframe_format
            )
            for kf in frames:
                key = keyframe_key(clip_id, kf.strategy, kf.tag, s.keyframe_format)
                await rt.storage.put_file(kf.path, key, move=True)
        await pause_point(rt, "keyframe")
        async with rt.db.transaction() as conn:
            for kf in frames:
                await rt.db.q.upsert_artifact(
                    conn, clip_id=clip_id, kind="keyframe", strategy=kf.strategy, tag=kf.tag,
                    storage_key=keyframe_key(clip_id, kf.strategy, kf.tag, s.keyframe_format),
                    metadata={"clip_frame": kf.frame, "frame": row["start_frame"] + kf.frame,
                              "width": kf.width, "height": kf.height},
                )  # fmt: skip
            await lifecycle.finish(conn, "clip", states.KEYFRAME, clip_id, token=row["claim_token"])

    return await runner.run_stage(rt, "clip", clip_id, states.KEYFRAME, work)


# --- embeddings ---------------------------------------------------------------------------


def embed_image_files(
    paths: list[Path], model: str, checkpoint: Path | None
) -> tuple[str, np.ndarray]:
    """Embed images and average them (process pool; the model loads once per process).

    Returns the model's name and the clip vector: float32 (d,), mean of the image vectors,
    L2-normalised.
    """
    from heaters.embeddings import aggregate, load_embedder
    from heaters.media.keyframes import load_image

    embedder = load_embedder(model, checkpoint)
    vectors = embedder.embed_images([load_image(p) for p in paths])
    return embedder.name, aggregate(vectors, "mean")


async def embed_clip(rt: Runtime, clip_id: int) -> Outcome:
    """The clip's vector from its keyframes, stored in ``clip_embeddings`` (HNSW-indexed).

    ``keyframed``/``embedding_failed`` → ``embedding`` → ``embedded``.
    """

    async def work(row: Row) -> None:
        s = rt.settings
        async with rt.db.acquire() as conn:
            arts = [
                a
                async for a in rt.db.q.clip_artifacts(conn, clip_id=clip_id, kind="keyframe")
                if a["strategy"] == s.embedding_keyframes
            ]
        if not arts:
            raise MediaError(f"clip {clip_id} has no {s.embedding_keyframes} keyframes to embed")
        with rt.tmp.job_dir(f"embed-{clip_id}") as tmp:
            paths = [await local_copy(rt, a["storage_key"], tmp) for a in arts]
            name, vector = await rt.run_sync(
                embed_image_files, paths, s.embedding_model, s.embedding_checkpoint
            )
        await pause_point(rt, "embed")
        async with rt.db.transaction() as conn:
            await rt.db.q.upsert_embedding(
                conn, clip_id=clip_id, model_name=name,
                strategy=f"{s.embedding_keyframes}-mean", embedding=vector,
            )  # fmt: skip
            await lifecycle.finish(conn, "clip", states.EMBED, clip_id, token=row["claim_token"])

    return await runner.run_stage(rt, "clip", clip_id, states.EMBED, work)


# --- archive ------------------------------------------------------------------------------


async def archive_clip(rt: Runtime, clip_id: int) -> Outcome:
    """Delete an archived clip's storage objects; the row stays, as ``archived``.

    The claim commits ``archiving`` before anything is deleted, so the database says so
    first; a failed delete (storage outage) leaves ``archive_failed`` and a retry deletes
    again (missing objects are not an error). ``review_archived`` → ``archiving`` →
    ``archived``.
    """

    async def work(row: Row) -> None:
        async with rt.db.acquire() as conn:
            keys: list[Any] = [
                r["key"] async for r in rt.db.q.clip_storage_keys(conn, clip_id=clip_id)
            ]
        await pause_point(rt, "archive")
        await rt.storage.delete_many(keys)
        async with rt.db.transaction() as conn:
            await rt.db.q.delete_clip_artifacts(conn, clip_id=clip_id)
            await rt.db.q.delete_clip_embeddings(conn, clip_id=clip_id)
            # The row stays (archived); its file and artifacts are gone once this commits.
            await lifecycle.finish(
                conn, "clip", states.ARCHIVE, clip_id, token=row["claim_token"],
                clip_path=None, is_virtual=True,
            )  # fmt: skip
        log.info("clip %s: deleted %d storage objects", clip_id, len(keys))

    return await runner.run_stage(rt, "clip", clip_id, states.ARCHIVE, work)
