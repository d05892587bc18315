"""Lean ingest (issue 13): which master each video has.

- ``source_videos.master_kind``: ``original`` (the downloaded file is the master: exports
  seek it frame-exactly; ``master_path`` is the original's key) or ``ffv1`` (a lossless
  FFV1/MKV copy made at preprocess). Every video preprocessed before this revision has an
  FFV1 master, so rows with a ``master_path`` become ``ffv1``; rows not preprocessed yet stay
  NULL until preprocess records theirs.
- ``source_videos.master_reason``: why the master is FFV1 (``asked for
  (HEATERS_MASTER=ffv1)``, or the check the original failed, e.g. ``broken timestamps:
  frames 9 and 10 of the original are 0.011 ms apart``); NULL for an original master.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE source_videos
            ADD COLUMN master_kind text
                CONSTRAINT source_videos_master_kind_check
                CHECK (master_kind IN ('original', 'ffv1')),
            ADD COLUMN master_reason text;
        UPDATE source_videos
        SET master_kind = 'ffv1', master_reason = 'made before issue 13 (FFV1 for every video)'
        WHERE master_path IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE source_videos
            DROP COLUMN master_reason,
            DROP COLUMN master_kind;
        """
    )
