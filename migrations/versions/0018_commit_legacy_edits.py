"""Close the edits logged before issue 12 (issue 24: one path per job).

Merges and splits logged before migration 0007 waited for a commit job (the
``commit_edits`` stage) instead of applying when logged; that stage and its scheduler are
gone. This migration does once what the stage did for each such edit still waiting (not
committed, not undone, logged without the ``after`` snapshot that every edit since carries):

- its clips still ``pending_review``: the new clips are made on its spans (seconds from the
  frame index; a span that existed before and was superseded comes back, as
  ``insert_edit_clip`` does), the old clips are superseded (``merged`` into one clip,
  ``split`` into several), and the event is marked committed;
- otherwise (a clip decided or edited meanwhile, no frame index, a span a live clip already
  covers) the edit is dropped as the stage dropped it: the event is marked undone and its
  clips stay as they are. Nothing else changes; each edit is its own savepoint.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import logging
from typing import Any

from alembic import op
from sqlalchemy import text

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

WAITING = """
SELECT id, clip_ids, payload FROM review_events
WHERE action IN ('merge', 'split') AND committed_at IS NULL AND undone_at IS NULL
  AND NOT (payload ? 'after')
ORDER BY id FOR UPDATE
"""

INSERT_CLIP = """
INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame,
                   start_seconds, end_seconds, state, is_transition, transition_kind,
                   boundary_confidence)
VALUES (:video_id, :identifier, :start_frame, :end_frame, :start_seconds, :end_seconds,
        'pending_review', :is_transition, :transition_kind, :boundary_confidence)
ON CONFLICT (clip_identifier) DO UPDATE
SET state = 'pending_review', superseded_by = NULL, reviewed_at = NULL, reviewed_by = NULL,
    grouped_with_clip_id = NULL, is_transition = EXCLUDED.is_transition,
    transition_kind = EXCLUDED.transition_kind,
    boundary_confidence = EXCLUDED.boundary_confidence, claimed_by = NULL, claimed_at = NULL,
    claim_expires_at = NULL, updated_at = now()
WHERE clips.state IN ('merged', 'split')
RETURNING id
"""


class _Drop(Exception):
    """This edit cannot be committed: drop it (the event is marked undone)."""


def _commit(bind: Any, ev: Any) -> list[int]:
    ids = sorted(ev["clip_ids"])
    clips = bind.execute(
        text("SELECT * FROM clips WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"), {"ids": ids}
    ).mappings().all()
    if len(clips) != len(ids) or any(c["state"] != "pending_review" for c in clips):
        raise _Drop("its clips are no longer pending review")
    video_id = clips[0]["source_video_id"]
    spans = [(int(a), int(b)) for a, b in ev["payload"]["spans"]]
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    pts = bind.execute(
        text(
            "SELECT pts_seconds[(:lo + 1):(:hi + 1)] FROM frame_indexes "
            "WHERE source_video_id = :video_id"
        ),
        {"lo": lo, "hi": hi, "video_id": video_id},
    ).scalar() or []
    if len(pts) < hi - lo:
        raise _Drop(f"video {video_id} has no frame index for frames {lo}-{hi - 1}")
    end_seconds = max(c["end_seconds"] for c in clips)
    by_start = {c["start_frame"]: c for c in clips}
    new_ids: list[int] = []
    for a, b in spans:
        origin = by_start.get(a) or clips[0]
        new_id = bind.execute(text(INSERT_CLIP), {
            "video_id": video_id, "identifier": f"{video_id}_{a}_{b}",
            "start_frame": a, "end_frame": b, "start_seconds": float(pts[a - lo]),
            "end_seconds": float(pts[b - lo]) if b - lo < len(pts) else end_seconds,
            "is_transition": origin["is_transition"],
            "transition_kind": origin["transition_kind"],
            "boundary_confidence": origin["boundary_confidence"] if origin is by_start.get(a)
            else None,
        }).scalar()  # fmt: skip
        if new_id is None:
            raise _Drop(f"a live clip already covers frames {a}-{b - 1}")
        new_ids.append(int(new_id))
    state = "merged" if len(new_ids) == 1 else "split"
    bind.execute(
        text(
            "UPDATE clips SET state = :state, superseded_by = :new_ids, claimed_by = NULL, "
            "claimed_at = NULL, claim_expires_at = NULL, updated_at = now() WHERE id = ANY(:ids)"
        ),
        {"state": state, "new_ids": new_ids, "ids": ids},
    )
    bind.execute(
        text("UPDATE review_events SET committed_at = now() WHERE id = :id"), {"id": ev["id"]}
    )
    return new_ids


def upgrade() -> None:
    bind = op.get_bind()
    for ev in bind.execute(text(WAITING)).mappings().all():
        savepoint = bind.begin_nested()
        try:
            new_ids = _commit(bind, ev)
        except _Drop as why:
            savepoint.rollback()
            bind.execute(
                text("UPDATE review_events SET undone_at = now() WHERE id = :id"),
                {"id": ev["id"]},
            )
            log.warning("edit %s (logged before issue 12) dropped: %s", ev["id"], why)
        else:
            savepoint.commit()
            log.info("edit %s (logged before issue 12) committed: clips %s", ev["id"], new_ids)
    op.execute("DROP INDEX IF EXISTS review_events_due_idx")


def downgrade() -> None:
    # The edits stay committed (or dropped); only the lost-job finder's index comes back.
    op.execute(
        """
        CREATE INDEX IF NOT EXISTS review_events_due_idx ON review_events (settles_at)
            WHERE committed_at IS NULL AND undone_at IS NULL AND action IN ('merge', 'split');
        """
    )
