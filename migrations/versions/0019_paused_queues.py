"""Paused queues (issue 23, dashboard): the dispatcher defers no stage job to a queue listed
here; pausing also withdraws the stage jobs waiting in it (the items stay in their ready
states, so resuming loses nothing: the dispatcher finds them again).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE paused_queues (
            queue      text PRIMARY KEY,
            paused_by  text,
            paused_at  timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS paused_queues")
