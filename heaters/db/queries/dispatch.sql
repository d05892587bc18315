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

-- name: find_clips_missing_sprite
-- Clips in pending_review (originals, and the clips a merge/split made) whose video has a
-- proxy and that have no 'sprite' artifact yet, nor a waiting or running job of this stage.
-- A failed attempt leaves clips.last_error set (artifacts.sql: fail_clip_artifact): such a
-- clip is due again only once next_attempt_at has passed; that is NULL (never due) once the
-- attempts are used up or the failure was permanent. :states is not used (the kind is in the
-- query's name: stages.clips_missing_artifact("sprite")).
SELECT c.id FROM clips c JOIN source_videos v ON v.id = c.source_video_id
WHERE c.state = 'pending_review'
  AND v.proxy_path IS NOT NULL
  AND (c.last_error IS NULL OR c.next_attempt_at <= now())
  AND NOT EXISTS (
      SELECT 1 FROM clip_artifacts a WHERE a.clip_id = c.id AND a.kind = 'sprite')
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.queueing_lock = :stage || ':' || c.id AND j.status IN ('todo', 'doing'))
ORDER BY c.id
LIMIT :limit;
