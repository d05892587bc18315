"""A fence for every claim (issue 15): ``claim_token`` on every lifecycle table.

Each claim of an item (``source_videos``, ``clips``, ``video_segments``) sets a new random
``claim_token``; the stage's finish and fail change the row only while it still carries the
token its claim returned. A worker whose claim was taken over meanwhile (its event loop
stalled past the stalled-after time, or it was cut off by a partition and its job was
retried elsewhere) therefore cannot finish or fail the item the new owner works on: its
statement matches no row and the stage's transaction rolls back. ``attempts`` cannot serve
as the token: a stage that changes no state (the sprite) claims again without counting on.
``stage_runs.outcome`` gains ``lost`` (a run whose result was discarded that way).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("source_videos", "clips", "video_segments")


def _outcomes(*names: str) -> None:
    listed = ", ".join(f"'{n}'" for n in names)
    op.execute("ALTER TABLE stage_runs DROP CONSTRAINT stage_runs_outcome_check")
    op.execute(
        "ALTER TABLE stage_runs ADD CONSTRAINT stage_runs_outcome_check"
        f" CHECK (outcome IN ({listed}))"
    )


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ADD COLUMN claim_token uuid")
    _outcomes("done", "failed", "noop", "lost")


def downgrade() -> None:
    op.execute("DELETE FROM stage_runs WHERE outcome = 'lost'")
    _outcomes("done", "failed", "noop")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN claim_token")
