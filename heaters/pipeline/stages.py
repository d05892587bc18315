"""The stage list: which query finds an item's work, and which service does it (docs/architecture.md).

The list is data and reads as the pipeline diagram: adding a stage is one entry. The
dispatcher runs each stage's finder and defers one job per item, under the queueing lock
``{stage}:{item_id}``; the job holds the lock ``{kind}:{item_id}`` so one item is never worked
on by two jobs at once. Workers register one procrastinate task per entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from heaters.embeddings.availability import available as embeddings_available
from heaters.pipeline import artifact_stages, clip_stages, edit_stages, video_stages
from heaters.pipeline.runtime import Runtime

ItemKind = Literal["video", "clip", "edit"]
Service = Callable[[Runtime, int], Awaitable[str]]


@dataclass(frozen=True)
class Finder:
    """One SQL query (``queries/dispatch.sql``) that finds the items a stage should work on."""

    query: str
    kind: ItemKind
    states: tuple[str, ...]


def videos_in(*states: str) -> Finder:
    """Videos in ``states`` (``*_failed`` ones once their backoff is due)."""
    return Finder("find_videos", "video", states)


def clips_in(*states: str) -> Finder:
    """Clips in ``states`` (``*_failed`` ones once their backoff is due)."""
    return Finder("find_clips", "clip", states)


def clips_missing_artifact(kind: str) -> Finder:
    """Clips in ``pending_review`` whose video has a proxy and that lack a ``kind`` artifact.

    The query is ``find_clips_missing_{kind}`` (one per kind: only ``sprite`` exists). A clip
    whose last attempt failed is found again once its backoff is due, never after the
    attempts are used up or on a permanent failure (``clips.last_error`` stays set).
    """
    return Finder(f"find_clips_missing_{kind}", "clip", ())


def due_review_edits() -> Finder:
    """Merges/splits logged before migration 0007 (when edits still waited for a commit job)
    whose window has passed and whose job was lost. Edits made since apply at once."""
    return Finder("find_due_edits", "edit", ())


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: ``finds`` the work, ``task`` does it on one item, on ``queue``."""

    name: str
    finds: Finder
    task: Service
    queue: str
    enabled: Callable[[], tuple[bool, str]] | None = None
    """``(on, reason)``: can the stage run here (its model installed)? None: always. An off
    stage is given no work by the dispatcher; its items wait in the previous stage's state."""

    @property
    def task_name(self) -> str:
        """The procrastinate task name."""
        return f"heaters.{self.name}"

    def queueing_lock(self, item_id: int) -> str:
        """At most one waiting job per stage and item."""
        return f"{self.name}:{item_id}"

    def lock(self, item_id: int) -> str:
        """At most one running job per item, whatever the stage."""
        return f"{self.finds.kind}:{item_id}"


STAGES: tuple[Stage, ...] = (
    Stage("download",   videos_in("new", "download_failed"),          video_stages.download_video,   "io"),
    Stage("preprocess", videos_in("downloaded", "preprocess_failed"), video_stages.preprocess_video, "cpu"),
    Stage("detect",     videos_in("preprocessed", "detect_failed"),   video_stages.detect_video,     "cpu"),
    Stage("sprite",     clips_missing_artifact("sprite"),             artifact_stages.make_clip_sprite, "cpu"),
    Stage("export",     clips_in("review_approved", "export_failed"), clip_stages.export_clip, "cpu"),
    Stage("keyframe",   clips_in("exported", "keyframe_failed"),      clip_stages.extract_clip_keyframes, "cpu"),
    Stage("embed",      clips_in("keyframed", "embedding_failed"),    clip_stages.embed_clip,  "ml", enabled=embeddings_available),
    Stage("archive",    clips_in("review_archived", "archive_failed"), clip_stages.archive_clip, "io"),
    Stage("commit_edits", due_review_edits(),                         edit_stages.commit_edit,      "default"),
)  # fmt: skip

QUEUES: tuple[str, ...] = ("default", "io", "cpu", "ml")
"""Queues by cost: ``default`` (dispatch, edits), ``io``, ``cpu``, ``ml`` (embeddings)."""


def stage_named(name: str) -> Stage:
    """The stage called ``name``. Raises KeyError if there is none."""
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(name)
