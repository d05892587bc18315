"""The stage list: which query finds an item's work, and which service does it (docs/architecture.md).

The list is data and reads as the pipeline diagram: adding a stage is one entry. The
dispatcher runs each stage's finder and defers one job per item, under the queueing lock
``{stage}:{item_id}``; the job holds the lock ``{kind}:{item_id}`` so one item is never worked
on by two jobs at once. Workers register one procrastinate task per entry.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import asyncpg

from heaters.config import get_settings
from heaters.db import ready
from heaters.domain import states
from heaters.domain.states import ItemKind, Transition
from heaters.embeddings.availability import available as embeddings_available
from heaters.pipeline import (
    artifact_stages,
    clip_stages,
    labels,
    preprocess_stages,
    profiles,
    video_stages,
)
from heaters.pipeline.runtime import Runtime

if TYPE_CHECKING:
    from heaters.db._typed_queries import Queries

#: What a stage's job works on, and its lock's namespace (``{kind}:{id}``): an item with a
#: lifecycle (:data:`~heaters.domain.states.ItemKind`), or one with no state of its own: a
#: review event (``edit``, the labels stage) or a collection (``calibrate``).
WorkKind = ItemKind | Literal["edit", "collection"]
Service = Callable[[Runtime, int], Awaitable[str]]
#: A finder's named query, called as ``query(conn, states=…, stage=…, limit=…)``.
FinderQuery = Callable[..., AsyncIterator[asyncpg.Record]]


@dataclass(frozen=True)
class Finder:
    """One named SQL query that finds the items of ``kind`` a stage should work on, given the
    stage's ready states (``*_failed`` ones once their backoff is due), its name (items with a
    waiting or running job of the stage are skipped) and a limit."""

    kind: WorkKind
    query: Callable[[Queries], FinderQuery]
    """The query, picked from ``db.q`` (typed: mypy checks the name)."""

    @classmethod
    def ready(cls, stage: str) -> Finder:
        """The finder :mod:`heaters.db.ready` makes for ``stage``, from the guard its claim
        checks."""
        return cls(ready.FINDERS[stage].kind, lambda _q: ready.finder(stage))


VIDEOS = Finder("video", lambda q: q.find_videos)
"""Videos in the stage's ready states (``queries/dispatch.sql``)."""
CLIPS = Finder("clip", lambda q: q.find_clips)
"""Clips in the stage's ready states, untouched by a review event still settling."""
CLIPS_MISSING_SPRITE = Finder.ready("sprite")
"""Clips in review whose video has a proxy and that have no sprite; one whose last attempt
failed once its backoff is due, never after the attempts are used up or a permanent failure
(``clips.last_error`` stays set)."""
SEGMENTS = Finder.ready("preprocess_segment")
"""Segments (``video_segments``) in the stage's ready states, of videos being segmented."""
COLLECTIONS_TO_CALIBRATE = Finder(
    "collection",
    lambda q: functools.partial(
        q.find_collections_to_calibrate, every=get_settings().calibrate_every
    ),
)
"""Collections with ``HEATERS_CALIBRATE_EVERY`` new labels since their last detector profile,
as their first video's id (none while the setting is 0); lock ``collection:{id}``."""
SETTLED_EVENTS = Finder("edit", lambda q: q.find_unlabelled_events)
"""Review events settled and never undone whose boundary labels are not written yet
(``queries/dispatch.sql``; issue 22)."""
JOINABLE_VIDEOS = Finder.ready("join")
"""Videos in the stage's ready states whose segments are all encoded."""


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: ``finds`` the work, ``task`` does it on one item, on ``queue``.

    Made from its :class:`~heaters.domain.states.Transition` with :meth:`of` (its name and
    the states its finder looks in are the transition's); only ``label_reviews`` (review
    events) and ``calibrate`` (collections), with no item state, are made directly.
    """

    name: str
    finds: Finder
    task: Service
    queue: str
    enabled: Callable[[], tuple[bool, str]] | None = None
    """``(on, reason)``: can the stage run here (its model installed)? None: always. An off
    stage is given no work by the dispatcher; its items wait in the previous stage's state."""
    transition: Transition | None = None
    """What the stage does to its item's state (None: ``label_reviews``, ``calibrate``)."""

    @classmethod
    def of(
        cls,
        transition: Transition,
        finds: Finder,
        task: Service,
        queue: str,
        *,
        enabled: Callable[[], tuple[bool, str]] | None = None,
    ) -> Stage:
        """The stage that makes ``transition``: named ``transition.stage``, finding items in
        ``transition.ready``."""
        return cls(transition.stage, finds, task, queue, enabled, transition)

    @property
    def states(self) -> tuple[str, ...]:
        """The states its finder looks in: the transition's ready states (() for edits)."""
        return tuple(self.transition.ready) if self.transition else ()

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
    Stage.of(states.DOWNLOAD,   VIDEOS, video_stages.download_video,   "io"),
    Stage.of(states.PREPROCESS, VIDEOS, preprocess_stages.preprocess_video, "cpu"),
    Stage.of(states.ENCODE_SEGMENT, SEGMENTS, preprocess_stages.encode_video_segment, "cpu"),
    Stage.of(states.JOIN,       JOINABLE_VIDEOS, preprocess_stages.join_video_segments, "cpu"),
    Stage.of(states.DETECT,     VIDEOS, video_stages.detect_video,     "cpu"),
    Stage.of(states.SPRITE,     CLIPS_MISSING_SPRITE, artifact_stages.make_clip_sprite, "cpu"),
    Stage.of(states.EXPORT,     CLIPS,  clip_stages.export_clip,       "cpu"),
    Stage.of(states.KEYFRAME,   CLIPS,  clip_stages.extract_clip_keyframes, "cpu"),
    Stage.of(states.EMBED,      CLIPS,  clip_stages.embed_clip,        "ml", enabled=embeddings_available),
    Stage.of(states.ARCHIVE,    CLIPS,  clip_stages.archive_clip,      "io"),
    Stage("label_reviews",      SETTLED_EVENTS, labels.label_event,    "default"),
    Stage("calibrate",          COLLECTIONS_TO_CALIBRATE, profiles.calibrate_stage, "cpu"),
)  # fmt: skip


def stage_named(name: str) -> Stage:
    """The stage called ``name``. Raises KeyError if there is none."""
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(name)
