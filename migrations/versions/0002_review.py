"""Review: users, clip claims, indexes for the review queue and the edit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name          text NOT NULL UNIQUE,
            password_hash text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now()
        );

        -- A reviewer's claim on a clip: the next-clip query skips clips claimed by others
        -- (until the claim expires), so two reviewers never get the same clip.
        ALTER TABLE clips ADD COLUMN claimed_by text, ADD COLUMN claimed_at timestamptz;

        CREATE INDEX clips_review_queue_idx ON clips (source_video_id, start_frame)
            WHERE state = 'pending_review';
        CREATE INDEX review_events_clip_ids_idx ON review_events USING gin (clip_ids);
        CREATE INDEX review_events_created_idx ON review_events (created_at DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX IF EXISTS review_events_created_idx;
        DROP INDEX IF EXISTS review_events_clip_ids_idx;
        DROP INDEX IF EXISTS clips_review_queue_idx;
        ALTER TABLE clips DROP COLUMN IF EXISTS claimed_by, DROP COLUMN IF EXISTS claimed_at;
        DROP TABLE IF EXISTS users;
        """
    )
