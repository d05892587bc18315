-- name: insert_clips*!
-- Virtual clips are keyed by clip_identifier ({video}_{start}_{end}): a re-run inserts nothing.
-- A transition's frames are a clip of their own (is_transition, with its kind).
INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame,
                   start_seconds, end_seconds, is_transition, transition_kind,
                   boundary_confidence)
VALUES (:video_id, :clip_identifier, :start_frame, :end_frame, :start_seconds, :end_seconds,
        CAST(:transition_kind AS text) IS NOT NULL, :transition_kind,
        CAST(:confidence AS real))
ON CONFLICT (clip_identifier) DO NOTHING;

-- name: delete_unreviewed_clips!
-- Before detection writes a video's clips: drop clips of an earlier run nobody has reviewed.
DELETE FROM clips
WHERE source_video_id = :video_id AND state = 'pending_review' AND is_virtual
  AND reviewed_at IS NULL;

-- name: video_clips
SELECT id, source_video_id, start_frame, end_frame, start_seconds, end_seconds, state,
       is_transition, transition_kind, boundary_confidence
FROM clips WHERE source_video_id = ANY(:ids)
ORDER BY source_video_id, start_frame;

-- name: clip_counts
SELECT state, count(*) AS n FROM clips GROUP BY state ORDER BY state;
