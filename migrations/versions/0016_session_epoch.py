"""Sessions that end (issue 20, item 5): a per-user session epoch.

- ``users.session_epoch``: the generation of the user's sign-in sessions. A session cookie
  carries the user's id and the epoch it was issued under; every authenticated request checks
  both against this row (``web/auth.py``), so a cookie stops working as soon as the epoch
  moves on or the row is gone. Signing out, a new password (``heaters user add`` for an
  existing name) and ``heaters user revoke`` add 1 (ending every session of that user);
  ``heaters user remove`` deletes the row.

Cookies issued before this migration carry no epoch: their reviewers sign in once more.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0")


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN IF EXISTS session_epoch")
