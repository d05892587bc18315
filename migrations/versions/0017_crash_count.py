"""A crash budget (issue 20, item 3): ``crashes`` on every lifecycle table.

- ``crashes``: how many times a worker died (or was cut off) holding the item in its current
  stage: a claim that finds the item still running under another claim's token (a redo
  after a crash) adds 1; a resumed claim (this process lost the database) and a retry after
  a recorded failure keep it; arriving from the previous stage, an operator's retry
  (``attempts`` back to 0) and a success set it to 0. ``run_stage`` fails an item whose
  count reaches ``HEATERS_MAX_CRASHES`` (3) for good: "the worker died 3 times on this item",
  so an input that kills its worker is not retried for ever.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TABLES = ("source_videos", "clips", "video_segments")


def upgrade() -> None:
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} ADD COLUMN crashes integer NOT NULL DEFAULT 0")


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS crashes")
