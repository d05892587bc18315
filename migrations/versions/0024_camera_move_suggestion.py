"""A boundary suggestion may have the reason ``camera_move`` (issue 19, ``heaters-fast/5``): a
candidate cut that is a jump of the camera (the frames match once shifted), kept for review
as every vetoed candidate is.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

#: ``heaters.media.boundaries.SUGGESTION_REASONS`` at this revision.
REASONS = ("brightness_only", "camera_move", "flash", "local", "too_close", "weak")
_BEFORE = ("brightness_only", "flash", "local", "too_close", "weak")


def _check(reasons: tuple[str, ...]) -> None:
    values = ", ".join(f"'{v}'" for v in reasons)
    name = "boundary_suggestions_reason_check"
    op.execute(f"ALTER TABLE boundary_suggestions DROP CONSTRAINT IF EXISTS {name}")
    op.execute(
        f"ALTER TABLE boundary_suggestions ADD CONSTRAINT {name} CHECK (reason IN ({values}))"
    )


def upgrade() -> None:
    _check(REASONS)


def downgrade() -> None:
    op.execute("DELETE FROM boundary_suggestions WHERE reason = 'camera_move'")
    _check(_BEFORE)
