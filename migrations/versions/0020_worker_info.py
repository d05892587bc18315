"""Worker facts (issue 23, dashboard): the host, pid, concurrency and queues of each
``heaters worker`` process, keyed by procrastinate's worker id (procrastinate's own
``procrastinate_workers`` row holds only the id and the heartbeat). Written when the worker
registers; deleted with procrastinate's row (a clean stop, or pruned as stalled). Also an
index on the jobs' start events, which the dashboard's wait-time chart reads by time.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE worker_info (
            worker_id   bigint PRIMARY KEY
                        REFERENCES procrastinate_workers (id) ON DELETE CASCADE,
            host        text NOT NULL,
            pid         integer NOT NULL,
            concurrency integer NOT NULL,
            queues      text[],
            started_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX heaters_events_started_at ON procrastinate_events (at)
            WHERE type = 'started';
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS heaters_events_started_at")
    op.execute("DROP TABLE IF EXISTS worker_info")
