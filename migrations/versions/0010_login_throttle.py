"""Sign-in throttling (issue 15, item 4): one row per throttled key and fixed window.

- ``login_attempts.key``: ``account:<sha256 of the name as typed>`` or ``address:<client
  address>`` (an IPv6 client by its /64), so every web process on the database counts the
  same attempts.
- ``window_start``: when the key's window began (its first attempt after the previous
  window ended); the window's length is ``HEATERS_LOGIN_WINDOW_SECONDS``.
- ``failures``: sign-in attempts in the window not ended by a success. An attempt is counted
  *before* the password is checked (one UPSERT) and given back when it succeeds, so parallel
  guesses cannot slip past the limit while their password hashes are being checked.

Rows of windows that have ended are deleted by the next attempt (``prune_login_attempts``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE login_attempts (
            key          text PRIMARY KEY,
            window_start timestamptz NOT NULL,
            failures     integer NOT NULL CHECK (failures >= 0)
        );
        CREATE INDEX login_attempts_window_start_idx ON login_attempts (window_start);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS login_attempts;")
