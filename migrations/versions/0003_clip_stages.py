"""Clip stages after review: an ``archive_failed`` state, indexes for the clip finders.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CLIP_STATES = (
    "pending_review", "review_approved", "review_skipped", "review_archived",
    "merged", "split", "exporting", "exported", "export_failed",
    "keyframing", "keyframed", "keyframe_failed", "embedding", "embedded", "embedding_failed",
    "archiving", "archived", "archive_failed",
)  # fmt: skip


def upgrade() -> None:
    states = ", ".join(f"'{s}'" for s in CLIP_STATES)
    op.execute(
        f"""
        ALTER TABLE clips DROP CONSTRAINT IF EXISTS clips_state_check;
        ALTER TABLE clips ADD CONSTRAINT clips_state_check CHECK (state IN ({states}));
        CREATE INDEX clip_artifacts_kind_idx ON clip_artifacts (clip_id, kind);
        """
    )


def downgrade() -> None:
    states = ", ".join(f"'{s}'" for s in CLIP_STATES if s != "archive_failed")
    op.execute(
        f"""
        DROP INDEX IF EXISTS clip_artifacts_kind_idx;
        ALTER TABLE clips DROP CONSTRAINT IF EXISTS clips_state_check;
        ALTER TABLE clips ADD CONSTRAINT clips_state_check CHECK (state IN ({states}));
        """
    )
