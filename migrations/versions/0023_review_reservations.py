"""The review page's next clip, reserved (issue 21, latency tails): one row per reviewer, the
clip their page shows the moment they decide the one they hold. Other reviewers' queues and
guesses skip it (``clip_reserved_by_other``), so the page's guess is never taken meanwhile;
a claim (opening the clip) still takes it, and drops the reservation.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE review_reservations (
            reviewer   text PRIMARY KEY,
            clip_id    bigint NOT NULL UNIQUE REFERENCES clips (id) ON DELETE CASCADE,
            expires_at timestamptz NOT NULL
        );
        CREATE FUNCTION clip_reserved_by_other(clip_id bigint, reviewer text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT EXISTS (
                SELECT 1 FROM review_reservations r
                WHERE r.clip_id = $1 AND r.reviewer IS DISTINCT FROM $2
                  AND r.expires_at > now())
        $$;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION IF EXISTS clip_reserved_by_other(bigint, text);
        DROP TABLE IF EXISTS review_reservations;
        """
    )
