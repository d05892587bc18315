"""Review at editor speed (issue 12): every decision settles, hard claims with a lease.

- ``review_events.execute_after`` becomes ``settles_at`` and is set for every event: a
  decision or edit can be undone until then, and the export/archive finders leave its clips
  alone until then. Events logged before this revision settle at their creation (merges and
  splits still waiting for their commit keep their time).
- ``v_settling_events``: the one definition of "not settled yet": not undone and
  ``settles_at`` in the future (undo events settle at once).
- ``clips.claim_expires_at``: a reviewer's lease on a clip ends then (``claimed_at`` is when
  it was taken or renewed); ``clip_held_by_other(clip, reviewer)`` is the one definition of
  "another reviewer holds this clip".
- An index for the "low-confidence cuts first" queue order, and one for a reviewer's latest
  events (undo).
- ``v_review_progress`` counts boundary moves.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PROGRESS = """
CREATE VIEW v_review_progress AS
SELECT reviewer,
       count(*) FILTER (WHERE action = 'approve') AS approved,
       count(*) FILTER (WHERE action = 'skip')    AS skipped,
       count(*) FILTER (WHERE action = 'archive') AS archived,
       count(*) FILTER (WHERE action = 'group')   AS grouped,
       count(*) FILTER (WHERE action = 'merge')   AS merged,
       count(*) FILTER (WHERE action = 'split')   AS split,
       {moved}
       count(*) FILTER (WHERE action = 'undo')    AS undos,
       max(created_at) AS last_action_at
FROM review_events
WHERE undone_at IS NULL
GROUP BY reviewer;
"""


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE review_events RENAME COLUMN execute_after TO settles_at;
        UPDATE review_events SET settles_at = created_at WHERE settles_at IS NULL;
        ALTER TABLE review_events ALTER COLUMN settles_at SET NOT NULL,
            ALTER COLUMN settles_at SET DEFAULT now();
        DROP INDEX IF EXISTS review_events_due_idx;
        -- Merges/splits logged before 0007 waited for a commit job: the lost-job finder.
        CREATE INDEX review_events_due_idx ON review_events (settles_at)
            WHERE committed_at IS NULL AND undone_at IS NULL AND action IN ('merge', 'split');
        CREATE INDEX review_events_reviewer_idx ON review_events (reviewer, id DESC)
            WHERE undone_at IS NULL;
        CREATE INDEX review_events_settling_idx ON review_events (settles_at)
            WHERE undone_at IS NULL;

        CREATE VIEW v_settling_events AS
        SELECT * FROM review_events WHERE undone_at IS NULL AND settles_at > now();

        ALTER TABLE clips ADD COLUMN claim_expires_at timestamptz;
        UPDATE clips SET claim_expires_at = claimed_at + interval '600 seconds'
            WHERE claimed_by IS NOT NULL;

        CREATE FUNCTION clip_held_by_other(c clips, reviewer text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT c.claimed_by IS NOT NULL AND c.claimed_by IS DISTINCT FROM reviewer
                   AND c.claim_expires_at > now()
        $$;

        CREATE INDEX clips_review_confidence_idx
            ON clips (boundary_confidence NULLS LAST, source_video_id, start_frame)
            WHERE state = 'pending_review' AND NOT is_transition;

        DROP VIEW IF EXISTS v_review_progress;
        """
        + PROGRESS.format(moved="count(*) FILTER (WHERE action = 'move_boundary') AS moved,")
    )


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW IF EXISTS v_review_progress;
        DROP INDEX IF EXISTS clips_review_confidence_idx;
        DROP FUNCTION IF EXISTS clip_held_by_other(clips, text);
        ALTER TABLE clips DROP COLUMN IF EXISTS claim_expires_at;
        DROP VIEW IF EXISTS v_settling_events;
        DROP INDEX IF EXISTS review_events_settling_idx;
        DROP INDEX IF EXISTS review_events_reviewer_idx;
        DROP INDEX IF EXISTS review_events_due_idx;
        ALTER TABLE review_events ALTER COLUMN settles_at DROP NOT NULL,
            ALTER COLUMN settles_at DROP DEFAULT;
        UPDATE review_events SET settles_at = NULL
            WHERE action NOT IN ('merge', 'split', 'move_boundary');
        ALTER TABLE review_events RENAME COLUMN settles_at TO execute_after;
        CREATE INDEX review_events_due_idx ON review_events (execute_after)
            WHERE committed_at IS NULL AND undone_at IS NULL AND execute_after IS NOT NULL;
        """
        + PROGRESS.format(moved="")
    )
