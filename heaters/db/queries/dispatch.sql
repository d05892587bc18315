-- name: find_videos
-- Videos in one of :states that a stage should work on now: a *_failed one only once its
-- backoff is due, and never one that already has a waiting or running job of this stage.
SELECT v.id FROM source_videos v
WHERE v.state = ANY(:states)
  AND (v.state NOT LIKE '%\_failed' OR v.next_attempt_at <= now())
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.queueing_lock = :stage || ':' || v.id AND j.status IN ('todo', 'doing'))
ORDER BY v.id
LIMIT :limit;

-- name: find_clips
SELECT c.id FROM clips c
WHERE c.state = ANY(:states)
  AND (c.state NOT LIKE '%\_failed' OR c.next_attempt_at <= now())
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.queueing_lock = :stage || ':' || c.id AND j.status IN ('todo', 'doing'))
ORDER BY c.id
LIMIT :limit;

-- name: active_jobs
SELECT queueing_lock, status FROM procrastinate_jobs
WHERE status IN ('todo', 'doing') AND queueing_lock IS NOT NULL;
