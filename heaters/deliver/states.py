"""What a ``--state`` filter of ``heaters export`` means, in clip states; the error type."""

from __future__ import annotations

from heaters.errors import HeatersError

_APPROVED = (
    "review_approved", "exporting", "exported", "export_failed", "keyframing", "keyframed",
    "keyframe_failed", "embedding", "embedded", "embedding_failed",
)  # fmt: skip

#: Cut lists: ``all`` (None: every live clip), or the states of a review outcome.
CUT_STATE_FILTERS: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "approved": _APPROVED,
    "pending": ("pending_review",),
    "skipped": ("review_skipped",),
    "archived": ("review_archived", "archiving", "archived", "archive_failed"),
}

#: Datasets: approved clips whose file is stored and whose stages are not running
#: (``approved``), or only those with their embedding (``embedded``).
DATASET_STATE_FILTERS: dict[str, tuple[str, ...]] = {
    "approved": ("exported", "keyframed", "keyframe_failed", "embedded", "embedding_failed"),
    "embedded": ("embedded",),
}


def review_outcome(state: str) -> str:
    """The review outcome a clip state stands for: approved, pending, skipped, archived,
    superseded."""
    if state in _APPROVED:
        return "approved"
    if state == "pending_review":
        return "pending"
    if state == "review_skipped":
        return "skipped"
    if state in ("merged", "split"):
        return "superseded"
    return "archived"


class DeliverError(HeatersError):
    """A cut list or dataset cannot be made; the text says why, in one line."""


__all__ = [
    "CUT_STATE_FILTERS",
    "DATASET_STATE_FILTERS",
    "DeliverError",
    "review_outcome",
]
