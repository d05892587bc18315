-- The dashboard's workers, job search, job detail and charts (web/routes_ops.py).

-- name: record_worker!
-- A worker process's facts beside procrastinate's row of it (workers/app.py, at registration).
INSERT INTO worker_info (worker_id, host, pid, concurrency, queues)
VALUES (:worker_id, :host, :pid, :concurrency, :queues)
ON CONFLICT (worker_id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
    concurrency = EXCLUDED.concurrency, queues = EXCLUDED.queues;

-- name: worker_list
-- procrastinate's workers (one row per running ``heaters worker`` process, deleted when it
-- stops cleanly or is pruned as stalled) with their host, pid, concurrency and queues (NULL
-- for a worker that did not record them), the age of their last heartbeat in seconds, and
-- the jobs each is running.
SELECT w.id, w.last_heartbeat,
       extract(epoch FROM now() - w.last_heartbeat)::float AS silent_seconds,
       i.host, i.pid, i.concurrency, i.queues, i.started_at,
       (SELECT count(*) FROM procrastinate_jobs j
        WHERE j.worker_id = w.id AND j.status = 'doing') AS running
FROM procrastinate_workers w LEFT JOIN worker_info i ON i.worker_id = w.id
ORDER BY w.id;

-- name: search_jobs
-- Jobs, newest first, by status (NULL: any), task names (NULL: any), queue (NULL: any) and
-- the item in their arguments (NULL: any); with when each was deferred, last started and
-- finished (procrastinate_events).
SELECT j.id, j.queue_name, j.task_name, j.status::text AS status, j.attempts, j.args,
       j.worker_id, j.scheduled_at, ev.deferred_at, ev.started_at, ev.finished_at
FROM procrastinate_jobs j
LEFT JOIN LATERAL (
    SELECT min(e.at) FILTER (WHERE e.type = 'deferred') AS deferred_at,
           max(e.at) FILTER (WHERE e.type = 'started') AS started_at,
           max(e.at) FILTER (WHERE e.type IN ('succeeded', 'failed', 'cancelled', 'aborted'))
               AS finished_at
    FROM procrastinate_events e WHERE e.job_id = j.id) ev ON true
WHERE (cast(:status AS text) IS NULL OR j.status::text = :status)
  AND (cast(:tasks AS text[]) IS NULL OR j.task_name = ANY(:tasks))
  AND (cast(:queue AS text) IS NULL OR j.queue_name = :queue)
  AND (cast(:item_id AS bigint) IS NULL OR j.args ->> 'item_id' = cast(:item_id AS bigint)::text)
ORDER BY j.id DESC
LIMIT :limit;

-- name: job_detail^
SELECT j.id, j.queue_name, j.task_name, j.status::text AS status, j.attempts, j.args,
       j.lock, j.queueing_lock, j.scheduled_at, j.worker_id, j.abort_requested
FROM procrastinate_jobs j WHERE j.id = :id;

-- name: job_events
-- A job's history: every status change procrastinate recorded, in the order recorded. By id,
-- not `at`: `at` is now(), the start of the transaction that wrote the event, so events of
-- one job written by different transactions can sort out of order by it (a CI run showed a
-- download job's 'started' before its 'deferred'); the ids are drawn as the rows are written.
SELECT type::text AS type, at FROM procrastinate_events WHERE job_id = :id ORDER BY id;

-- name: item_runs
-- Every stage run recorded on one item (each attempt of each stage, its outcome and error),
-- newest first.
SELECT stage, attempt, outcome, error, worker, started_at, finished_at, duration_ms
FROM stage_runs WHERE item_kind = :kind AND item_id = :item_id
ORDER BY finished_at DESC, id DESC
LIMIT :limit;

-- name: item_lifecycle^
-- A video, clip or segment's lifecycle columns (its state and our own failure reason).
SELECT 'video' AS kind, id, state::text AS state, attempts, crashes, next_attempt_at,
       last_error, updated_at FROM source_videos WHERE :kind = 'video' AND id = :id
UNION ALL
SELECT 'clip', id, state::text, attempts, crashes, next_attempt_at, last_error, updated_at
FROM clips WHERE :kind = 'clip' AND id = :id
UNION ALL
SELECT 'segment', id, state::text, attempts, crashes, next_attempt_at, last_error, updated_at
FROM video_segments WHERE :kind = 'segment' AND id = :id;

-- name: runs_per_minute
-- Stage runs that did work (no no-ops) finished per minute and stage over the last :minutes,
-- with their run time percentiles in seconds.
SELECT date_trunc('minute', finished_at) AS minute, stage, count(*) AS finished,
       count(*) FILTER (WHERE outcome = 'failed') AS failed
FROM stage_runs
WHERE finished_at > now() - make_interval(mins => :minutes) AND outcome <> 'noop'
GROUP BY 1, 2 ORDER BY 1, 2;

-- name: run_seconds_per_minute
-- p50 / p95 of the stage runs' run time (seconds) per minute over the last :minutes.
SELECT date_trunc('minute', finished_at) AS minute,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) / 1000.0 AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) / 1000.0 AS p95
FROM stage_runs
WHERE finished_at > now() - make_interval(mins => :minutes) AND outcome <> 'noop'
GROUP BY 1 ORDER BY 1;

-- name: wait_seconds_per_minute
-- p50 / p95 of the stage jobs' (:tasks) wait per minute over the last :minutes: from the job
-- being due (deferred, retried, or its scheduled time) to a worker starting it, in seconds.
SELECT date_trunc('minute', w.at) AS minute,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY w.wait) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY w.wait) AS p95
FROM (
    SELECT s.at, greatest(0, extract(epoch FROM s.at - (
               SELECT max(e.at) FROM procrastinate_events e
               WHERE e.job_id = s.job_id AND e.at <= s.at
                 AND e.type IN ('deferred', 'deferred_for_retry', 'retried', 'scheduled')
           )))::float AS wait
    FROM procrastinate_events s JOIN procrastinate_jobs j ON j.id = s.job_id
    WHERE s.type = 'started' AND s.at > now() - make_interval(mins => :minutes)
      AND j.task_name = ANY(:tasks)
) w
WHERE w.wait IS NOT NULL
GROUP BY 1 ORDER BY 1;
