"""The periodic storage check's results (issue 20, item 4): one row per check a worker ran
(HEATERS_STORAGE_CHECK_EVERY), its counts of objects, orphans (objects no row names), their
bytes, orphans deleted and rows whose objects are missing; ``/metrics`` shows the last one.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE storage_checks (
            id           bigserial PRIMARY KEY,
            checked_at   timestamptz NOT NULL DEFAULT now(),
            objects      integer NOT NULL,
            orphans      integer NOT NULL,
            orphan_bytes bigint NOT NULL,
            deleted      integer NOT NULL,
            missing      integer NOT NULL,
            seconds      double precision NOT NULL
        );
        CREATE INDEX storage_checks_checked_at ON storage_checks (checked_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS storage_checks")
