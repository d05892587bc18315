-- name: own_claimed_clip^
-- Step 1 of next-clip: the reviewer's own live claim (partial index on claimed_by), renewed.
UPDATE clips SET claimed_at = now()
WHERE id = (
    SELECT c.id FROM clips c
    WHERE c.claimed_by = :reviewer AND c.state = 'pending_review'
      AND NOT EXISTS (
          SELECT 1 FROM review_events e
          WHERE e.clip_ids @> ARRAY[c.id] AND e.execute_after IS NOT NULL
            AND e.committed_at IS NULL AND e.undone_at IS NULL)
    ORDER BY c.source_video_id, c.start_frame
    LIMIT 1)
RETURNING id;

-- name: claim_next_clip^
-- Step 2 of next-clip: the oldest unclaimed (or expired) pending_review clip in
-- (video, start_frame) order, straight from the review-queue index, claimed with SKIP LOCKED
-- so two reviewers asking at once never get the same clip. Clips with a pending merge/split
-- are left out until it is committed or undone.
WITH candidate AS (
    SELECT c.id FROM clips c
    WHERE c.state = 'pending_review'
      AND (c.claimed_by IS NULL OR c.claimed_at < now() - make_interval(secs => :claim_seconds))
      AND NOT EXISTS (
          SELECT 1 FROM review_events e
          WHERE e.clip_ids @> ARRAY[c.id] AND e.execute_after IS NOT NULL
            AND e.committed_at IS NULL AND e.undone_at IS NULL)
    ORDER BY c.source_video_id, c.start_frame
    LIMIT 1
    FOR UPDATE OF c SKIP LOCKED
)
UPDATE clips SET claimed_by = :reviewer, claimed_at = now()
FROM candidate WHERE clips.id = candidate.id
RETURNING clips.id;

-- name: release_claims!
-- Drop a reviewer's claims, except on :keep (clips under a pending edit stay claimed, so
-- no other reviewer's claim can race the edit's own pending-edit check).
UPDATE clips SET claimed_by = NULL, claimed_at = NULL
WHERE claimed_by = :reviewer AND NOT (id = ANY(:keep));

-- name: clip_view^
SELECT c.*, v.title AS video_title, v.proxy_path, v.fps_num, v.fps_den,
       v.frame_count AS video_frame_count, v.source_url, v.source_path,
       (SELECT p.id FROM clips p WHERE p.source_video_id = c.source_video_id
          AND p.end_frame = c.start_frame AND p.superseded_by IS NULL
          ORDER BY p.id DESC LIMIT 1) AS prev_clip_id,
       (SELECT n.id FROM clips n WHERE n.source_video_id = c.source_video_id
          AND n.start_frame = c.end_frame AND n.superseded_by IS NULL
          ORDER BY n.id DESC LIMIT 1) AS next_clip_id,
       (SELECT a.storage_key FROM clip_artifacts a WHERE a.clip_id = c.id AND a.kind = 'sprite'
          ORDER BY a.id DESC LIMIT 1) AS sprite_key,
       (SELECT a.metadata FROM clip_artifacts a WHERE a.clip_id = c.id AND a.kind = 'sprite'
          ORDER BY a.id DESC LIMIT 1) AS sprite_meta
FROM clips c JOIN source_videos v ON v.id = c.source_video_id
WHERE c.id = :id;

-- name: clip_pts^
-- PTS (seconds) of the frames [start_frame, end_frame] (the end one too, where it exists).
SELECT pts_seconds[(:start_frame + 1):(:end_frame + 1)] AS pts
FROM frame_indexes WHERE source_video_id = :video_id;

-- name: lock_clip^
SELECT * FROM clips WHERE id = :id FOR UPDATE;

-- name: lock_previous_clip^
SELECT * FROM clips
WHERE source_video_id = :video_id AND end_frame = :start_frame AND superseded_by IS NULL
ORDER BY id DESC LIMIT 1
FOR UPDATE;

-- name: set_clip_decision!
UPDATE clips
SET state = :state, reviewed_at = now(), reviewed_by = :reviewer,
    grouped_with_clip_id = :grouped_with, claimed_by = NULL, claimed_at = NULL,
    updated_at = now()
WHERE id = :id;

-- name: restore_clip!
UPDATE clips
SET state = :state, reviewed_at = :reviewed_at, reviewed_by = :reviewed_by,
    grouped_with_clip_id = :grouped_with, updated_at = now()
WHERE id = :id;

-- name: pending_edit_for^
SELECT * FROM review_events
WHERE clip_ids && :clip_ids AND execute_after IS NOT NULL
  AND committed_at IS NULL AND undone_at IS NULL
LIMIT 1;

-- name: insert_event<!
INSERT INTO review_events (clip_ids, action, reviewer, payload, execute_after)
VALUES (:clip_ids, :action, :reviewer, :payload,
        CASE WHEN CAST(:delay AS float8) IS NULL THEN NULL
             ELSE now() + make_interval(secs => CAST(:delay AS float8)) END)
RETURNING id;

-- name: set_event_job!
UPDATE review_events SET job_id = :job_id WHERE id = :id;

-- name: lock_event^
SELECT * FROM review_events WHERE id = :id FOR UPDATE;

-- name: last_undoable_event^
SELECT * FROM review_events
WHERE reviewer = :reviewer AND undone_at IS NULL AND action <> 'undo'
  AND (execute_after IS NULL OR committed_at IS NULL)
ORDER BY id DESC LIMIT 1
FOR UPDATE;

-- name: mark_event_undone!
UPDATE review_events SET undone_at = now() WHERE id = :id;

-- name: mark_event_committed!
UPDATE review_events SET committed_at = now() WHERE id = :id;

-- name: insert_edit_clip<!
-- A clip made by a merge or split. If the same span existed before and was superseded (a
-- split merged back), that clip comes back to pending_review instead of a duplicate.
INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame,
                   start_seconds, end_seconds)
VALUES (:video_id, :clip_identifier, :start_frame, :end_frame, :start_seconds, :end_seconds)
ON CONFLICT (clip_identifier) DO UPDATE
SET state = 'pending_review', superseded_by = NULL, reviewed_at = NULL, reviewed_by = NULL,
    grouped_with_clip_id = NULL, updated_at = now()
WHERE clips.state IN ('merged', 'split')
RETURNING id;

-- name: supersede_clip!
UPDATE clips SET state = :state, superseded_by = :new_ids, claimed_by = NULL,
       claimed_at = NULL, updated_at = now()
WHERE id = :id;

-- name: find_due_edits
-- Merges/splits whose undo window has passed but which are not committed and have no
-- waiting or running job (the scheduled one was lost): the commit_edits stage commits them.
SELECT e.id FROM review_events e
WHERE e.execute_after IS NOT NULL AND e.execute_after < now()
  AND e.committed_at IS NULL AND e.undone_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.queueing_lock = :stage || ':' || e.id AND j.status IN ('todo', 'doing'))
ORDER BY e.id
LIMIT :limit;

-- name: video_clip_list
SELECT c.id, c.start_frame, c.end_frame, c.start_seconds, c.end_seconds, c.state,
       c.grouped_with_clip_id, c.reviewed_by, c.reviewed_at, c.superseded_by, c.claimed_by
FROM clips c WHERE c.source_video_id = :video_id
ORDER BY c.start_frame, c.id;

-- name: event_history
SELECT e.*, (e.execute_after IS NOT NULL AND e.committed_at IS NULL AND e.undone_at IS NULL)
       AS pending
FROM review_events e
ORDER BY e.id DESC
LIMIT :limit OFFSET :offset;

-- name: add_user<!
INSERT INTO users (name, password_hash) VALUES (:name, :password_hash)
ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash
RETURNING id;

-- name: get_user^
SELECT * FROM users WHERE name = :name;
