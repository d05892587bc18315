"""Shot boundaries: transition clips, boundary confidence, per-detector stored features.

- ``clips.is_transition`` / ``clips.transition_kind``: the frames of a gradual transition
  (dissolve, fade, wipe) are their own virtual clip, marked by a column; the review queue does
  not offer them by default.
- ``clips.boundary_confidence``: 0–1 confidence of the boundary the clip stands on: for a
  transition clip, the transition's; for a shot, the cut that starts it (NULL when the shot
  starts at frame 0, right after a transition clip, or was made by a reviewer).
- ``scene_scores`` is keyed by (video, detector) and keeps ``feature_count`` values per frame
  (flattened row-major in ``scores``): a change of detector never reuses another's features.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE clips
            ADD COLUMN is_transition boolean NOT NULL DEFAULT false,
            ADD COLUMN transition_kind text
                CHECK (transition_kind IN ('dissolve', 'fade_out', 'fade_in', 'wipe', 'unknown')),
            ADD COLUMN boundary_confidence real
                CHECK (boundary_confidence BETWEEN 0 AND 1),
            ADD CONSTRAINT clips_transition_marked_check
                CHECK (is_transition = (transition_kind IS NOT NULL));

        ALTER TABLE scene_scores
            DROP CONSTRAINT scene_scores_pkey,
            ADD COLUMN feature_count integer NOT NULL DEFAULT 1 CHECK (feature_count >= 1),
            ADD PRIMARY KEY (source_video_id, detector);

        DROP INDEX IF EXISTS clips_review_queue_idx;
        CREATE INDEX clips_review_queue_idx ON clips (source_video_id, start_frame)
            WHERE state = 'pending_review' AND NOT is_transition;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX IF EXISTS clips_review_queue_idx;
        CREATE INDEX clips_review_queue_idx ON clips (source_video_id, start_frame)
            WHERE state = 'pending_review';
        DELETE FROM scene_scores a USING scene_scores b
            WHERE a.source_video_id = b.source_video_id AND a.created_at < b.created_at;
        ALTER TABLE scene_scores DROP CONSTRAINT scene_scores_pkey,
            DROP COLUMN feature_count, ADD PRIMARY KEY (source_video_id);
        ALTER TABLE clips DROP CONSTRAINT IF EXISTS clips_transition_marked_check,
            DROP COLUMN boundary_confidence, DROP COLUMN transition_kind,
            DROP COLUMN is_transition;
        """
    )
