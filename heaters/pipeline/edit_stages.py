"""The edit stage: commit a merge/split logged before migration 0007 whose window passed."""

from __future__ import annotations

from heaters.pipeline.runner import Outcome
from heaters.pipeline.runtime import Runtime


async def commit_edit(rt: Runtime, event_id: int) -> Outcome:
    """Commit a merge/split whose undo window has passed (scheduled, or found overdue)."""
    from heaters import review

    return "done" if await review.commit_edit(rt.db, event_id) == "committed" else "noop"
