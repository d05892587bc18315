-- Review (heaters.review.service). "Settling" is v_settling_events, "held by another reviewer"
-- is clip_held_by_other() (migration 0007): the one definition of each.

-- name: review_queue
-- The next clips for :reviewer: pending_review, not held or reserved by another reviewer
-- (clip_reserved_by_other(), migration 0023: another page's next clip), transition clips
-- only when :include_transitions, one video when :video_id is set, in :queue_order: 'video'
-- (video, start frame) or 'confidence' (the cut a clip starts on, least confident first,
-- unknown last). One branch per case, each straight from its index (clips_review_queue_idx,
-- clips_review_confidence_idx: no sort, stops after :limit rows); the branches not asked for
-- are cut off by their one-time filter. With transitions (rare) the rows are sorted. The
-- outer ORDER BY repeats the active branch's order over its :limit rows (no reliance on the
-- order UNION ALL happens to keep).
SELECT * FROM (
(SELECT c.id, c.source_video_id, c.start_frame, c.end_frame, c.start_seconds, c.end_seconds,
        c.is_transition, c.transition_kind, c.boundary_confidence, 0 AS branch_rank
 FROM clips c
 WHERE :queue_order = 'video' AND NOT CAST(:include_transitions AS boolean)
   AND c.state = 'pending_review' AND NOT c.is_transition
   AND NOT clip_held_by_other(c, :reviewer) AND NOT clip_reserved_by_other(c.id, :reviewer)
   AND (CAST(:video_id AS bigint) IS NULL OR c.source_video_id = :video_id)
 ORDER BY c.source_video_id, c.start_frame
 LIMIT :limit)
UNION ALL
(SELECT c.id, c.source_video_id, c.start_frame, c.end_frame, c.start_seconds, c.end_seconds,
        c.is_transition, c.transition_kind, c.boundary_confidence, 1
 FROM clips c
 WHERE :queue_order = 'confidence' AND NOT CAST(:include_transitions AS boolean)
   AND c.state = 'pending_review' AND NOT c.is_transition
   AND NOT clip_held_by_other(c, :reviewer) AND NOT clip_reserved_by_other(c.id, :reviewer)
   AND (CAST(:video_id AS bigint) IS NULL OR c.source_video_id = :video_id)
 ORDER BY c.boundary_confidence NULLS LAST, c.source_video_id, c.start_frame
 LIMIT :limit)
UNION ALL
(SELECT c.id, c.source_video_id, c.start_frame, c.end_frame, c.start_seconds, c.end_seconds,
        c.is_transition, c.transition_kind, c.boundary_confidence, 2
 FROM clips c
 WHERE CAST(:include_transitions AS boolean)
   AND c.state = 'pending_review'
   AND NOT clip_held_by_other(c, :reviewer) AND NOT clip_reserved_by_other(c.id, :reviewer)
   AND (CAST(:video_id AS bigint) IS NULL OR c.source_video_id = :video_id)
 ORDER BY CASE WHEN :queue_order = 'confidence' THEN c.boundary_confidence END NULLS LAST,
          c.source_video_id, c.start_frame
 LIMIT :limit)
) q
ORDER BY CASE WHEN :queue_order = 'confidence' THEN q.boundary_confidence END NULLS LAST,
         q.source_video_id, q.start_frame;

-- name: own_claimed_clip^
-- The clip :reviewer holds (a reviewer holds one at a time: claim drops the others), if it is
-- pending review and matches the queue's filters; it comes first in the queue.
SELECT c.id, c.source_video_id, c.start_frame, c.end_frame, c.start_seconds, c.end_seconds,
       c.is_transition, c.transition_kind, c.boundary_confidence
FROM clips c
WHERE c.claimed_by = :reviewer AND clip_held_by_other(c, NULL)
  AND c.state = 'pending_review'
  AND (CAST(:include_transitions AS boolean) OR NOT c.is_transition)
  AND (CAST(:video_id AS bigint) IS NULL OR c.source_video_id = :video_id)
ORDER BY c.id DESC LIMIT 1;

-- name: take_claim^
-- Take or renew :reviewer's lease on a clip nobody else holds (a live clip, not superseded),
-- in one statement with what a take implies: the reviewer's other claims are dropped (one
-- clip at a time) and so is another reviewer's reservation of this clip (a claim wins over
-- a reservation). With :spare_reserved a clip another reviewer has reserved is not taken
-- (the page's guess of its next clip must not take another page's).
WITH taken AS (
  UPDATE clips c
  SET claimed_by = :reviewer, claimed_at = now(),
      claim_expires_at = now() + make_interval(secs => :claim_seconds)
  WHERE c.id = :id AND c.superseded_by IS NULL AND NOT clip_held_by_other(c, :reviewer)
    AND NOT (CAST(:spare_reserved AS boolean) AND clip_reserved_by_other(c.id, :reviewer))
  RETURNING c.id, c.claimed_by, c.claim_expires_at
), released AS (
  UPDATE clips o SET claimed_by = NULL, claimed_at = NULL, claim_expires_at = NULL
  FROM taken WHERE o.claimed_by = :reviewer AND o.id <> taken.id
), dropped AS (
  DELETE FROM review_reservations r USING taken
  WHERE r.clip_id = taken.id AND r.reviewer <> :reviewer
)
SELECT id, claimed_by, claim_expires_at FROM taken;

-- name: claim_holder^
-- Who holds a clip now (claimed_by NULL when nobody does, or the lease expired).
SELECT c.id, c.superseded_by, c.state,
       CASE WHEN clip_held_by_other(c, NULL) THEN c.claimed_by END AS claimed_by,
       CASE WHEN clip_held_by_other(c, NULL) THEN c.claim_expires_at END AS claim_expires_at
FROM clips c WHERE c.id = :id;

-- name: release_claim$
-- Drop :reviewer's claim on a clip, and their reservation of the next (the page closed).
WITH dropped AS (DELETE FROM review_reservations WHERE reviewer = :reviewer)
UPDATE clips SET claimed_by = NULL, claimed_at = NULL, claim_expires_at = NULL
WHERE id = :id AND claimed_by = :reviewer
RETURNING id;

-- name: reserve_next$
-- Reserve for :reviewer the clip their page shows when they decide clip :after_id: the next
-- pending shot after it in video order (later videos too) that nobody else holds or has
-- reserved; their previous reservation and expired ones go.
-- Returns the clip id, or NULL when none is left. The insert waits for the delete (it reads
-- its count), so the reviewer's old row never blocks the new one.
WITH gone AS (
  DELETE FROM review_reservations WHERE reviewer = :reviewer OR expires_at <= now()
  RETURNING 1
), pick AS (
  SELECT c.id FROM clips a
  JOIN clips c ON (c.source_video_id, c.start_frame) > (a.source_video_id, a.start_frame)
  WHERE a.id = :after_id
    AND c.state = 'pending_review' AND NOT c.is_transition AND c.id <> :after_id
    AND NOT clip_held_by_other(c, :reviewer) AND NOT clip_reserved_by_other(c.id, :reviewer)
  ORDER BY c.source_video_id, c.start_frame
  LIMIT 1
)
INSERT INTO review_reservations (reviewer, clip_id, expires_at)
SELECT :reviewer, pick.id, now() + make_interval(secs => :seconds)
FROM pick WHERE (SELECT count(*) FROM gone) >= 0
ON CONFLICT DO NOTHING
RETURNING clip_id;

-- name: clip_view^
SELECT c.*, v.title AS video_title, v.proxy_path, v.fps_num, v.fps_den,
       v.frame_count AS video_frame_count, v.source_url, v.source_path,
       CASE WHEN clip_held_by_other(c, NULL) THEN c.claimed_by END AS holder,
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
-- A clip, locked, with held_by: the other reviewer holding it (NULL: free or :reviewer's).
SELECT c.*, CASE WHEN clip_held_by_other(c, :reviewer) THEN c.claimed_by END AS held_by
FROM clips c WHERE c.id = :id FOR UPDATE;

-- name: lock_previous_clip^
SELECT c.*, CASE WHEN clip_held_by_other(c, :reviewer) THEN c.claimed_by END AS held_by
FROM clips c
WHERE c.source_video_id = :video_id AND c.end_frame = :start_frame AND c.superseded_by IS NULL
ORDER BY c.id DESC LIMIT 1
FOR UPDATE;

-- name: lock_next_clip^
SELECT c.*, CASE WHEN clip_held_by_other(c, :reviewer) THEN c.claimed_by END AS held_by
FROM clips c
WHERE c.source_video_id = :video_id AND c.start_frame = :end_frame AND c.superseded_by IS NULL
ORDER BY c.id DESC LIMIT 1
FOR UPDATE;

-- name: set_clip_decision!
UPDATE clips
SET state = :state, reviewed_at = now(), reviewed_by = :reviewer,
    grouped_with_clip_id = :grouped_with, claimed_by = NULL, claimed_at = NULL,
    claim_expires_at = NULL, updated_at = now()
WHERE id = :id;

-- name: restore_clip!
-- Undo: a clip back to the snapshot an event logged (live again: superseded_by NULL).
UPDATE clips
SET state = :state, reviewed_at = :reviewed_at, reviewed_by = :reviewed_by,
    grouped_with_clip_id = :grouped_with, superseded_by = NULL, updated_at = now()
WHERE id = :id;

-- name: settling_event_for^
-- The latest event still settling that touched the clip (its pending decision), or NULL.
-- A change of its tags or note (migration 0021) is no decision.
SELECT id, action, reviewer, settles_at, clip_ids FROM v_settling_events
WHERE clip_ids @> ARRAY[CAST(:id AS bigint)] AND action NOT IN ('tag', 'note')
ORDER BY id DESC LIMIT 1;

-- name: deciding_event_for$
-- The latest event, not undone, that decided the clip (in its "before") or made it ("new").
SELECT id FROM review_events
WHERE clip_ids @> ARRAY[CAST(:id AS bigint)] AND undone_at IS NULL
  AND action NOT IN ('undo', 'tag', 'note')
  AND (payload -> 'before' @> jsonb_build_array(jsonb_build_object('id', CAST(:id AS bigint)))
       OR payload -> 'new' @> to_jsonb(CAST(:id AS bigint)))
ORDER BY id DESC LIMIT 1;

-- name: insert_event<!
-- One review event; it settles :settle_seconds from now (0 for an undo: settled at once).
-- :applied marks an edit as applied (committed_at) when it is logged.
INSERT INTO review_events (clip_ids, action, reviewer, payload, settles_at, committed_at)
VALUES (:clip_ids, :action, :reviewer, :payload,
        now() + make_interval(secs => CAST(:settle_seconds AS float8)),
        CASE WHEN CAST(:applied AS boolean) THEN now() END)
RETURNING id, settles_at;

-- name: lock_event^
-- An event, locked, with settling: true while v_settling_events holds it.
SELECT e.*, EXISTS (SELECT 1 FROM v_settling_events s WHERE s.id = e.id) AS settling
FROM review_events e WHERE e.id = :id FOR UPDATE;

-- name: last_settling_event_of$
-- The reviewer's latest own event that is still settling (what "undo" takes back).
SELECT id FROM v_settling_events
WHERE reviewer = :reviewer AND action <> 'undo'
ORDER BY id DESC LIMIT 1;

-- name: later_event_on^
-- The first event after :id, not undone, that touched any of :clip_ids (undo that first).
SELECT id, action, reviewer, clip_ids FROM review_events
WHERE id > :id AND undone_at IS NULL AND action <> 'undo' AND clip_ids && :clip_ids
ORDER BY id LIMIT 1;

-- name: mark_event_undone!
UPDATE review_events SET undone_at = now() WHERE id = :id;

-- name: insert_edit_clip<!
-- A clip made by a merge, split or boundary move, in :state. If the same span existed before
-- and was superseded (a split merged back), that clip comes back instead of a duplicate.
INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame,
                   start_seconds, end_seconds, state, reviewed_at, reviewed_by,
                   grouped_with_clip_id, is_transition, transition_kind, boundary_confidence)
VALUES (:video_id, :clip_identifier, :start_frame, :end_frame, :start_seconds, :end_seconds,
        :state, CASE WHEN CAST(:reviewed_by AS text) IS NOT NULL THEN now() END, :reviewed_by,
        :grouped_with, :is_transition, :transition_kind, :boundary_confidence)
ON CONFLICT (clip_identifier) DO UPDATE
SET state = EXCLUDED.state, superseded_by = NULL, reviewed_at = EXCLUDED.reviewed_at,
    reviewed_by = EXCLUDED.reviewed_by, grouped_with_clip_id = EXCLUDED.grouped_with_clip_id,
    is_transition = EXCLUDED.is_transition, transition_kind = EXCLUDED.transition_kind,
    boundary_confidence = EXCLUDED.boundary_confidence, claimed_by = NULL, claimed_at = NULL,
    claim_expires_at = NULL, updated_at = now()
WHERE clips.state IN ('merged', 'split')
RETURNING id;

-- name: supersede_clip!
UPDATE clips SET state = :state, superseded_by = :new_ids, claimed_by = NULL,
       claimed_at = NULL, claim_expires_at = NULL, updated_at = now()
WHERE id = :id;

-- name: video_clip_list
SELECT c.id, c.start_frame, c.end_frame, c.start_seconds, c.end_seconds, c.state,
       c.grouped_with_clip_id, c.reviewed_by, c.reviewed_at, c.superseded_by,
       CASE WHEN clip_held_by_other(c, NULL) THEN c.claimed_by END AS claimed_by,
       c.is_transition, c.transition_kind, c.boundary_confidence,
       (SELECT s.settles_at FROM v_settling_events s WHERE s.clip_ids @> ARRAY[c.id]
          ORDER BY s.id DESC LIMIT 1) AS settles_at
FROM clips c WHERE c.source_video_id = :video_id
ORDER BY c.start_frame, c.id;

-- name: event_history
-- Review events, newest first; pending: still settling (undoable).
SELECT e.*, EXISTS (SELECT 1 FROM v_settling_events s WHERE s.id = e.id) AS pending
FROM review_events e
ORDER BY e.id DESC
LIMIT :limit OFFSET :offset;

-- name: add_user<!
INSERT INTO users (name, password_hash) VALUES (:name, :password_hash)
ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash,
    session_epoch = users.session_epoch + 1  -- a new password ends the user's sessions
RETURNING id;

-- name: get_user^
SELECT * FROM users WHERE name = :name;

-- name: browse_next^
-- The live clip after (:video_id, :start_frame) in video order (video, start frame) whose state
-- is one of :states and, with :max_confidence, whose starting cut's confidence is below it:
-- the review page's queues of decided clips (skipped, archived, approved) and of weak cuts.
-- NULL past the last one.
SELECT c.id FROM clips c
WHERE c.superseded_by IS NULL AND c.state = ANY(:states)
  AND (CAST(:max_confidence AS double precision) IS NULL
       OR c.boundary_confidence < :max_confidence)
  AND (c.source_video_id, c.start_frame) > (:video_id, :start_frame)
ORDER BY c.source_video_id, c.start_frame
LIMIT 1;
