"""What a ``--state`` filter of ``heaters export`` means, in clip states; the error type."""

from __future__ import annotations

from heaters.domain.states import APPROVED_STATES, ARCHIVED_STATES, ClipState
from heaters.errors import HeatersError

_APPROVED = APPROVED_STATES

#: Cut lists: ``all`` (None: every live clip), or the states of a review outcome.
CUT_STATE_FILTERS: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "approved": _APPROVED,
    "pending": (ClipState.PENDING_REVIEW,),
    "skipped": (ClipState.REVIEW_SKIPPED,),
    "archived": ARCHIVED_STATES,
}

#: Datasets: approved clips whose file is stored and whose stages are not running
#: (``approved``), or only those with their embedding (``embedded``).
DATASET_STATE_FILTERS: dict[str, tuple[str, ...]] = {
    "approved": (
        ClipState.EXPORTED,
        ClipState.KEYFRAMED,
        ClipState.KEYFRAME_FAILED,
        ClipState.EMBEDDED,
        ClipState.EMBEDDING_FAILED,
    ),
    "embedded": (ClipState.EMBEDDED,),
}


def review_outcome(state: str) -> str:
    """The review outcome a clip state stands for: approved, pending, skipped, archived,
    superseded."""
    if state in _APPROVED:
        return "approved"
    if state == ClipState.PENDING_REVIEW:
        return "pending"
    if state == ClipState.REVIEW_SKIPPED:
        return "skipped"
    if state in (ClipState.MERGED, ClipState.SPLIT):
        return "superseded"
    return ClipState.ARCHIVED


class DeliverError(HeatersError):
    """A cut list or dataset cannot be made; the text says why, in one line."""


class DeliverConflict(DeliverError):
    """A dataset request whose settings contradict each other or the dataset's (media
    ``files`` for a WebDataset): 409 over the API."""


__all__ = [
    "CUT_STATE_FILTERS",
    "DATASET_STATE_FILTERS",
    "DeliverConflict",
    "DeliverError",
    "review_outcome",
]
