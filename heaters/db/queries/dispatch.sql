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
-- Clips in one of :states that a stage should work on now: a *_failed one only once its
-- backoff is due, never one with a waiting or running job of this stage, and never one a
-- review event still settling touched (v_settling_events: an approve/archive is undoable
-- until it settles, so export and archive never race the reviewer).
SELECT c.id FROM clips c
WHERE c.state = ANY(:states)
  AND (c.state NOT LIKE '%\_failed' OR c.next_attempt_at <= now())
  AND NOT EXISTS (
      SELECT 1 FROM v_settling_events e WHERE e.clip_ids @> ARRAY[c.id])
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.queueing_lock = :stage || ':' || c.id AND j.status IN ('todo', 'doing'))
ORDER BY c.id
LIMIT :limit;

-- name: retry_failed_clips
-- An operator's bulk retry: every failed clip (v_failures) becomes due now, with a fresh
-- attempt budget.
UPDATE clips
SET attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE id IN (SELECT f.id FROM v_failures f WHERE f.kind = 'clip')
RETURNING id, state;

-- name: failed_clips
-- Failed clips with their reasons (v_failures), newest first, with their video.
SELECT f.id, c.source_video_id, f.state, f.last_error, f.attempts, f.next_attempt_at,
       f.updated_at
FROM v_failures f JOIN clips c ON c.id = f.id
WHERE f.kind = 'clip'
ORDER BY f.updated_at DESC
LIMIT :limit;

-- name: find_unlabelled_events
-- Review events the labels stage should read (issue 22): settled (settles_at passed), never
-- undone (an undo is possible only before it settles, so an undone event never gets here),
-- not read yet (labelled_at), not an undo itself, an edit only once applied (edits logged
-- before migration 0007 waited for their commit job), with no waiting or running job.
SELECT e.id FROM review_events e
WHERE e.labelled_at IS NULL AND e.undone_at IS NULL AND e.action <> 'undo'
  AND e.settles_at <= now()
  AND (e.committed_at IS NOT NULL OR e.action NOT IN ('merge', 'split', 'move_boundary'))
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.queueing_lock = :stage || ':' || e.id AND j.status IN ('todo', 'doing'))
ORDER BY e.id
LIMIT :limit;

-- name: find_collections_to_calibrate
-- Collections with at least :every boundary labels written since their latest detector
-- profile (any, when none), as the id of their first video (the calibrate stage's item: one
-- job per collection at a time); none when :every is 0 (HEATERS_CALIBRATE_EVERY off).
SELECT min(v.id) AS id FROM source_videos v
WHERE CAST(:every AS integer) > 0
GROUP BY v.collection
HAVING (SELECT count(*) FROM boundary_labels l
        JOIN source_videos lv ON lv.id = l.source_video_id
        WHERE lv.collection = v.collection
          AND l.created_at > coalesce((SELECT max(p.created_at) FROM detector_profiles p
                                       WHERE p.collection = v.collection), '-infinity'))
       >= CAST(:every AS integer)
   AND NOT EXISTS (
       SELECT 1 FROM procrastinate_jobs j
       WHERE j.queueing_lock = :stage || ':' || min(v.id) AND j.status IN ('todo', 'doing'))
ORDER BY 1
LIMIT :limit;
