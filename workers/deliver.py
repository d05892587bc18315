"""Dataset exports as procrastinate jobs (``POST /api/datasets``, the dataset page).

The task lives here and is found by the worker through the app's ``import_paths``; the web
process defers it by name (:func:`defer_dataset_export`), under a queueing lock per dataset,
so at most one export of a dataset waits at a time (the exporter's advisory lock keeps two
from running at once).
"""

from __future__ import annotations

from typing import Any

from procrastinate import JobContext

from workers.app import app
from workers.runtime import get_runtime

EXPORT_TASK = "heaters.export_dataset"


def export_lock(name: str) -> str:
    """The queueing lock of dataset ``name``'s export jobs."""
    return f"dataset:{name}"


async def defer_dataset_export(
    name: str,
    *,
    format: str | None = None,
    target: str | None = None,
    state: str | None = None,
    video_ids: list[int] | None = None,
    shard_size: int | None = None,
    media: str | None = None,
    tags: list[str] | None = None,
) -> int:
    """Defer an export of the next version of dataset ``name``; returns the job id.

    Raises
    ------
    procrastinate.exceptions.AlreadyEnqueued
        When an export of the dataset is already waiting.
    """
    args: dict[str, Any] = {
        "name": name, "format": format, "target": target, "state": state,
        "video_ids": video_ids, "shard_size": shard_size, "media": media, "tags": tags,
    }  # fmt: skip
    deferrer = app.configure_task(EXPORT_TASK, queueing_lock=export_lock(name), queue="default")
    job_id: int = await deferrer.defer_async(**args)
    return job_id


@app.task(name=EXPORT_TASK, queue="default", pass_context=True)
async def export_dataset_task(
    context: JobContext,
    name: str,
    format: str | None = None,
    target: str | None = None,
    state: str | None = None,
    video_ids: list[int] | None = None,
    shard_size: int | None = None,
    media: str | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """Export the next version of dataset ``name`` (or resume a crashed one); returns the
    summary :meth:`heaters.deliver.datasets.ExportResult.summary` gives."""
    from heaters.deliver.datasets import export_dataset

    rt = await get_runtime()
    job_id = context.job.id if context.job is not None else None
    result = await export_dataset(
        rt.db, rt.storage, name, format=format, target=target, state=state,
        video_ids=video_ids, shard_size=shard_size, media=media, tags=tags, job_id=job_id,
    )  # fmt: skip
    return result.summary()


__all__ = ["EXPORT_TASK", "defer_dataset_export", "export_dataset_task", "export_lock"]
