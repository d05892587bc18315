-- Labels from review, collections and detector profiles (issue 22; migration 0015).

-- name: lock_settled_event^
-- A settled, not undone, not yet labelled review event, locked (None: nothing to do).
SELECT e.id, e.action, e.reviewer, e.clip_ids, e.payload, e.settles_at
FROM review_events e
WHERE e.id = :id AND e.labelled_at IS NULL AND e.undone_at IS NULL
  AND e.settles_at <= now()
FOR UPDATE;

-- name: label_event_clips
-- The clips an event names (old and new rows: edits keep the rows they supersede), with the
-- live transition clips right before and after each (their shared frame is a transition's
-- edge, not a cut) and their video's frame count.
SELECT c.id, c.source_video_id, c.start_frame, c.end_frame, c.is_transition,
       coalesce(v.frame_count, (SELECT cardinality(f.pts_seconds) FROM frame_indexes f
                                WHERE f.source_video_id = v.id)) AS frame_count,
       EXISTS (SELECT 1 FROM clips t
               WHERE t.source_video_id = c.source_video_id AND t.end_frame = c.start_frame
                 AND t.is_transition AND t.state NOT IN ('merged', 'split')) AS transition_before,
       EXISTS (SELECT 1 FROM clips t
               WHERE t.source_video_id = c.source_video_id AND t.start_frame = c.end_frame
                 AND t.is_transition AND t.state NOT IN ('merged', 'split')) AS transition_after
FROM clips c JOIN source_videos v ON v.id = c.source_video_id
WHERE c.id = ANY(:ids);

-- name: insert_labels*!
-- An event's labels; a redo of the stage writes nothing twice.
INSERT INTO boundary_labels (source_video_id, start_frame, end_frame, label, event_id,
                             reviewer, settled_at)
VALUES (:video_id, :start_frame, :end_frame, :label, :event_id, :reviewer, :settled_at)
ON CONFLICT (event_id, label, start_frame) DO NOTHING;

-- name: mark_event_labelled!
UPDATE review_events SET labelled_at = now() WHERE id = :id;

-- name: video_labels
-- Every label of the videos :ids, oldest event first (a later event wins where they
-- disagree: heaters.media.calibrate.fold_labels).
SELECT source_video_id, start_frame, end_frame, label, event_id, reviewer, settled_at
FROM boundary_labels
WHERE source_video_id = ANY(:ids)
ORDER BY source_video_id, event_id, id;

-- name: set_video_collection<!
-- Put a video in a collection (at ingest).
UPDATE source_videos SET collection = :collection, updated_at = now()
WHERE id = :id
RETURNING id, collection;

-- name: labelled_videos
-- The videos of :collection that hold labels, with what calibration needs (their stored
-- features of :detector, frame rate), oldest first.
SELECT v.id, v.fps_num, v.fps_den, s.feature_count, s.scores,
       (SELECT count(*) FROM boundary_labels l WHERE l.source_video_id = v.id) AS labels
FROM source_videos v
LEFT JOIN scene_scores s ON s.source_video_id = v.id AND s.detector = :detector
WHERE v.collection = :collection
  AND EXISTS (SELECT 1 FROM boundary_labels l WHERE l.source_video_id = v.id)
ORDER BY v.id;

-- name: collection_videos
-- The videos of :collection that detection has run on, with their stored features of
-- :detector (NULL when none), frame index and frame rate (heaters detect rerun).
SELECT v.id, v.fps_num, v.fps_den, v.state, s.feature_count, s.scores, f.pts_seconds
FROM source_videos v
LEFT JOIN scene_scores s ON s.source_video_id = v.id AND s.detector = :detector
LEFT JOIN frame_indexes f ON f.source_video_id = v.id
WHERE v.collection = :collection AND v.state = 'detected'
ORDER BY v.id;

-- name: video_collection$
SELECT collection FROM source_videos WHERE id = :id;

-- name: active_profile^
-- The active detector profile of :collection (None: the detector's defaults).
SELECT * FROM detector_profiles WHERE collection = :collection AND active;

-- name: insert_profile<!
-- A new version of :collection's profile (versions count from 1 per collection).
INSERT INTO detector_profiles (collection, version, detector, params, training_video_ids,
                               figures, active)
SELECT :collection,
       coalesce((SELECT max(version) FROM detector_profiles WHERE collection = :collection), 0) + 1,
       :detector, :params, :training_video_ids, :figures, false
RETURNING id, version, created_at;

-- name: lock_collection_profiles!
-- Serialises profile changes of one collection (calibrate, activate) in a transaction.
SELECT pg_advisory_xact_lock(hashtext('detector_profiles:' || :collection));

-- name: deactivate_profiles!
-- Before activating one: no profile of :collection is active (one active at most).
UPDATE detector_profiles SET active = false WHERE collection = :collection AND active;

-- name: activate_profile<!
-- Make version :version of :collection active (after deactivate_profiles, in one
-- transaction); nothing when there is no such version.
UPDATE detector_profiles SET active = true
WHERE collection = :collection AND version = :version
RETURNING id, version;

-- name: list_profiles
-- Every profile, by collection, newest version first.
SELECT id, collection, version, detector, params, training_video_ids, figures, active,
       created_at
FROM detector_profiles
ORDER BY collection, version DESC;

-- name: lock_rerun_clips
-- A video's live clips (not merged or split away), locked (review actions lock the clips
-- they change, so a rerun and a reviewer never cross), with ``kept``: a rerun keeps the
-- clips a reviewer decided, a review event touched (an edit made it, a decision of it is
-- settling) or someone holds now; it replaces the others.
SELECT c.id, c.start_frame, c.end_frame,
       (c.state <> 'pending_review' OR NOT c.is_virtual OR c.reviewed_at IS NOT NULL
        OR coalesce(c.claim_expires_at > now(), false)
        OR EXISTS (SELECT 1 FROM review_events e WHERE e.clip_ids @> ARRAY[c.id])) AS kept
FROM clips c
WHERE c.source_video_id = :video_id AND c.state NOT IN ('merged', 'split')
ORDER BY c.start_frame
FOR UPDATE OF c;

-- name: delete_clips_returning_keys
-- Delete the clips :ids (a rerun's replaced ones); returns their artifacts' storage keys,
-- deleted from the storage after the commit.
-- (A data-modifying CTE always runs; the SELECT sees the rows as they were before it.)
WITH deleted AS (DELETE FROM clips WHERE id = ANY(:ids))
SELECT a.storage_key FROM clip_artifacts a WHERE a.clip_id = ANY(:ids);
