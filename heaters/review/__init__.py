"""Review: the actions reviewers take on clips, the undo log, the next-clip queue, users."""

from heaters.review.errors import ClipNotFound, InvalidEdit, ReviewConflict, ReviewError
from heaters.review.service import (
    ActionResult,
    ClipView,
    Decision,
    commit_edit,
    decide,
    get_clip,
    history,
    next_clip,
    schedule_merge,
    schedule_split,
    undo,
    video_clips,
)

__all__ = [
    "ActionResult",
    "ClipNotFound",
    "ClipView",
    "Decision",
    "InvalidEdit",
    "ReviewConflict",
    "ReviewError",
    "commit_edit",
    "decide",
    "get_clip",
    "history",
    "next_clip",
    "schedule_merge",
    "schedule_split",
    "undo",
    "video_clips",
]
