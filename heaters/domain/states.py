"""States of source videos and clips, and the transitions a stage makes (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

ItemKind = Literal["video", "clip", "segment"]
"""What has a state and a lifecycle: a video (``source_videos``), a clip (``clips``), a
segment of a long video being preprocessed (``video_segments``); the SQL that moves each is
``heaters.db.lifecycle``'s."""


class VideoState(StrEnum):
    """``source_videos.state``."""

    NEW = "new"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    DOWNLOAD_FAILED = "download_failed"
    PREPROCESSING = "preprocessing"
    PREPROCESSED = "preprocessed"
    PREPROCESS_FAILED = "preprocess_failed"
    SEGMENTING = "segmenting"
    """Long video: its segments are planned (``video_segments``) and being encoded."""
    JOINING = "joining"
    JOIN_FAILED = "join_failed"
    DETECTING = "detecting"
    DETECTED = "detected"
    DETECT_FAILED = "detect_failed"


class SegmentState(StrEnum):
    """``video_segments.state`` (segmented preprocess, ``pipeline/preprocess_stages.py``)."""

    PENDING = "pending"
    ENCODING = "encoding"
    ENCODED = "encoded"
    ENCODE_FAILED = "encode_failed"


class ClipState(StrEnum):
    """``clips.state``."""

    PENDING_REVIEW = "pending_review"
    REVIEW_APPROVED = "review_approved"
    REVIEW_SKIPPED = "review_skipped"
    REVIEW_ARCHIVED = "review_archived"
    MERGED = "merged"
    SPLIT = "split"
    EXPORTING = "exporting"
    EXPORTED = "exported"
    EXPORT_FAILED = "export_failed"
    KEYFRAMING = "keyframing"
    KEYFRAMED = "keyframed"
    KEYFRAME_FAILED = "keyframe_failed"
    EMBEDDING = "embedding"
    EMBEDDED = "embedded"
    EMBEDDING_FAILED = "embedding_failed"
    ARCHIVING = "archiving"
    ARCHIVED = "archived"
    ARCHIVE_FAILED = "archive_failed"


@dataclass(frozen=True)
class Transition:
    """What a stage does to an item's state.

    ``ready`` are the states the stage picks work from (the last one, ``*_failed``, only
    when its backoff is due); ``running`` is set while it works (a crashed run is redone from
    it); ``done`` and ``failed`` are where it ends.
    """

    stage: str
    ready: tuple[str, ...]
    running: str
    done: str
    failed: str

    @property
    def claimable(self) -> tuple[str, ...]:
        """States from which a job may (re)start the work: ready, or running after a crash."""
        return (*self.ready, self.running)


_V, _S, _C = VideoState, SegmentState, ClipState

# fmt: off
# The transitions, a stage a row. ``ready``: from the previous stage's end, or a retry of the
# stage's own failure.
#                     stage             ready                                    running            done               failed
DOWNLOAD = Transition("download",       (_V.NEW, _V.DOWNLOAD_FAILED),            _V.DOWNLOADING,    _V.DOWNLOADED,     _V.DOWNLOAD_FAILED)
PREPROCESS = Transition("preprocess",   (_V.DOWNLOADED, _V.PREPROCESS_FAILED),   _V.PREPROCESSING,  _V.PREPROCESSED,   _V.PREPROCESS_FAILED)
# A video longer than HEATERS_SEGMENT_SECONDS: its preprocess hands it over to its segments
# (PREPROCESS_IN_SEGMENTS, the preprocess job's finish: ``segmenting``), each encoded by its
# own job (ENCODE_SEGMENT) while the video waits (VIDEO_IN_SEGMENTS: a segment that will not
# be retried fails it, ``preprocess_failed``); JOIN then ends where PREPROCESS does.
PREPROCESS_IN_SEGMENTS = Transition("preprocess", (_V.DOWNLOADED, _V.PREPROCESS_FAILED), _V.PREPROCESSING, _V.SEGMENTING, _V.PREPROCESS_FAILED)
VIDEO_IN_SEGMENTS = Transition("preprocess_segment", (_V.SEGMENTING,),  _V.SEGMENTING,     _V.SEGMENTING,     _V.PREPROCESS_FAILED)
ENCODE_SEGMENT = Transition("preprocess_segment", (_S.PENDING, _S.ENCODE_FAILED), _S.ENCODING,   _S.ENCODED,        _S.ENCODE_FAILED)
JOIN = Transition("join",               (_V.SEGMENTING, _V.JOIN_FAILED),         _V.JOINING,        _V.PREPROCESSED,   _V.JOIN_FAILED)
DETECT = Transition("detect",           (_V.PREPROCESSED, _V.DETECT_FAILED),     _V.DETECTING,      _V.DETECTED,       _V.DETECT_FAILED)
EXPORT = Transition("export",           (_C.REVIEW_APPROVED, _C.EXPORT_FAILED),  _C.EXPORTING,      _C.EXPORTED,       _C.EXPORT_FAILED)
KEYFRAME = Transition("keyframe",       (_C.EXPORTED, _C.KEYFRAME_FAILED),       _C.KEYFRAMING,     _C.KEYFRAMED,      _C.KEYFRAME_FAILED)
EMBED = Transition("embed",             (_C.KEYFRAMED, _C.EMBEDDING_FAILED),     _C.EMBEDDING,      _C.EMBEDDED,       _C.EMBEDDING_FAILED)
ARCHIVE = Transition("archive",         (_C.REVIEW_ARCHIVED, _C.ARCHIVE_FAILED), _C.ARCHIVING,      _C.ARCHIVED,       _C.ARCHIVE_FAILED)
# The sprite sheet of a clip in review changes no state: the clip stays ``pending_review``
# while the stage runs, and after it (its failures are counted in ``attempts`` and kept in
# ``last_error``; ``heaters.db.lifecycle`` then counts attempts on only after a failure).
SPRITE = Transition("sprite",           (_C.PENDING_REVIEW,),                    _C.PENDING_REVIEW, _C.PENDING_REVIEW, _C.PENDING_REVIEW)
# fmt: on


def states_of(*transitions: Transition) -> tuple[str, ...]:
    """Every state ``transitions`` pick work from, run in, end in or fail in, in that order,
    each once."""
    out: dict[str, None] = {}
    for t in transitions:
        out.update(dict.fromkeys((*t.ready, t.running, t.done, t.failed)))
    return tuple(out)


APPROVED_STATES = states_of(EXPORT, KEYFRAME, EMBED)
"""A clip approved in review, wherever it is after it: ``review_approved`` through export,
keyframes and embedding (their running and failed states too)."""

ARCHIVED_STATES = states_of(ARCHIVE)
"""A clip archived in review, wherever the archive stage has it."""

ARCHIVABLE_STATES = (
    ClipState.PENDING_REVIEW,
    ClipState.REVIEW_SKIPPED,
    *(s for s in APPROVED_STATES if s not in (EXPORT.running, KEYFRAME.running, EMBED.running)),
)
"""Clip states an operator may archive a video's clips from: any decision, or none yet, but
not while a stage works on the clip's files."""

#: Video states from which no stage of the main job moves on by itself.
VIDEO_DONE_STATES = frozenset({VideoState.DETECTED})


def is_failed(state: str) -> bool:
    """True for the ``*_failed`` states."""
    return state.endswith("_failed")
