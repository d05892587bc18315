"""Operations: per-job stage runs, dashboard views, API tokens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- One row per stage job run: what a dashboard and /metrics read.
        CREATE TABLE stage_runs (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            stage       text NOT NULL,
            item_kind   text NOT NULL,
            item_id     bigint NOT NULL,
            attempt     integer,
            outcome     text NOT NULL CHECK (outcome IN ('done', 'failed', 'noop')),
            error       text,
            worker      text NOT NULL,
            started_at  timestamptz NOT NULL,
            finished_at timestamptz NOT NULL DEFAULT now(),
            duration_ms integer NOT NULL
        );
        CREATE INDEX stage_runs_finished_idx ON stage_runs (finished_at DESC);
        CREATE INDEX stage_runs_item_idx ON stage_runs (item_kind, item_id);

        CREATE TABLE api_tokens (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name        text NOT NULL UNIQUE,
            token_hash  text NOT NULL UNIQUE,
            created_at  timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at  timestamptz
        );

        -- Items per stage and state.
        CREATE VIEW v_item_states AS
        SELECT 'video'::text AS kind, state, count(*)::bigint AS items,
               min(updated_at) AS oldest_change
        FROM source_videos GROUP BY state
        UNION ALL
        SELECT 'clip', state, count(*), min(updated_at) FROM clips GROUP BY state;

        -- Throughput per stage per hour, with outcomes and timings.
        CREATE VIEW v_stage_throughput AS
        SELECT stage, date_trunc('hour', finished_at) AS hour,
               count(*) FILTER (WHERE outcome = 'done')   AS done,
               count(*) FILTER (WHERE outcome = 'failed') AS failed,
               count(*) FILTER (WHERE outcome = 'noop')   AS noop,
               round(avg(duration_ms) FILTER (WHERE outcome = 'done'))::bigint AS avg_ms,
               percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms)
                   FILTER (WHERE outcome = 'done') AS p95_ms
        FROM stage_runs GROUP BY stage, date_trunc('hour', finished_at);

        -- Failed items with their reasons, newest first.
        CREATE VIEW v_failures AS
        SELECT 'video'::text AS kind, id, state, last_error, attempts, next_attempt_at,
               updated_at
        FROM source_videos WHERE state LIKE '%\\_failed'
        UNION ALL
        SELECT 'clip', id, state, last_error, attempts, next_attempt_at, updated_at
        FROM clips WHERE state LIKE '%\\_failed'
           OR (state = 'pending_review' AND last_error IS NOT NULL);

        -- Queue depth and the oldest waiting job per queue.
        CREATE VIEW v_queues AS
        SELECT j.queue_name AS queue,
               count(*) FILTER (WHERE j.status = 'todo'
                                AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS waiting,
               count(*) FILTER (WHERE j.status = 'todo' AND j.scheduled_at > now()) AS scheduled,
               count(*) FILTER (WHERE j.status = 'doing') AS running,
               count(*) FILTER (WHERE j.status = 'failed') AS failed,
               min(d.at) FILTER (WHERE j.status = 'todo'
                                 AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()))
                   AS oldest_waiting_since
        FROM procrastinate_jobs j
        LEFT JOIN LATERAL (
            SELECT min(e.at) AS at FROM procrastinate_events e
            WHERE e.job_id = j.id AND e.type = 'deferred') d ON true
        GROUP BY j.queue_name;

        -- Review progress per reviewer (undone actions not counted).
        CREATE VIEW v_review_progress AS
        SELECT reviewer,
               count(*) FILTER (WHERE action = 'approve') AS approved,
               count(*) FILTER (WHERE action = 'skip')    AS skipped,
               count(*) FILTER (WHERE action = 'archive') AS archived,
               count(*) FILTER (WHERE action = 'group')   AS grouped,
               count(*) FILTER (WHERE action = 'merge')   AS merged,
               count(*) FILTER (WHERE action = 'split')   AS split,
               count(*) FILTER (WHERE action = 'undo')    AS undos,
               max(created_at) AS last_action_at
        FROM review_events
        WHERE undone_at IS NULL
        GROUP BY reviewer;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW IF EXISTS v_review_progress, v_queues, v_failures, v_stage_throughput,
            v_item_states;
        DROP TABLE IF EXISTS api_tokens, stage_runs;
        """
    )
