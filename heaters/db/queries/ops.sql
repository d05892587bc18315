-- name: item_states
SELECT kind, state, items, oldest_change FROM v_item_states ORDER BY kind DESC, state;

-- name: stage_throughput
SELECT * FROM v_stage_throughput WHERE hour > now() - make_interval(hours => :hours)
ORDER BY hour DESC, stage;

-- name: failures
SELECT * FROM v_failures ORDER BY updated_at DESC LIMIT :limit;

-- name: queues
SELECT * FROM v_queues ORDER BY queue;

-- name: review_progress
SELECT * FROM v_review_progress ORDER BY reviewer;

-- name: failed_jobs
SELECT id, queue_name, task_name, args, attempts FROM procrastinate_jobs
WHERE status = 'failed' ORDER BY id DESC LIMIT :limit;

-- name: stage_run_totals
-- Counters for /metrics: runs and seconds per stage and outcome since the beginning.
SELECT stage, outcome, count(*) AS runs, coalesce(sum(duration_ms), 0) / 1000.0 AS seconds
FROM stage_runs GROUP BY stage, outcome;

-- name: paused_queues
SELECT queue, paused_by, paused_at FROM paused_queues ORDER BY queue;

-- name: pause_queue!
INSERT INTO paused_queues (queue, paused_by) VALUES (:queue, :paused_by)
ON CONFLICT (queue) DO NOTHING;

-- name: withdraw_waiting_jobs$
-- The stage jobs (:tasks) waiting in :queue, deleted: their items stay in their ready
-- states, and the dispatcher defers them again once the queue is resumed.
WITH gone AS (
    DELETE FROM procrastinate_jobs
    WHERE queue_name = :queue AND status = 'todo' AND task_name = ANY(:tasks)
    RETURNING 1)
SELECT count(*) FROM gone;

-- name: resume_queue$
DELETE FROM paused_queues WHERE queue = :queue RETURNING queue;
