-- name: insert_clips
-- A video's virtual clips, one per element of the arrays (all of one length, in order;
-- heaters.db.clips.insert_clips fills them). Clips are keyed by clip_identifier
-- ({video}_{start}_{end}): one whose key exists already is not inserted (a re-run of detect
-- inserts nothing). A transition's frames are a clip of their own (is_transition, with its
-- kind). Returns the clip_identifier of each clip inserted.
INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame,
                   start_seconds, end_seconds, is_transition, transition_kind,
                   boundary_confidence)
SELECT CAST(:video_id AS bigint), c.clip_identifier, c.start_frame, c.end_frame,
       c.start_seconds, c.end_seconds, c.transition_kind IS NOT NULL, c.transition_kind,
       c.confidence
FROM unnest(CAST(:clip_identifiers AS text[]), CAST(:start_frames AS integer[]),
            CAST(:end_frames AS integer[]), CAST(:start_seconds AS double precision[]),
            CAST(:end_seconds AS double precision[]), CAST(:transition_kinds AS text[]),
            CAST(:confidences AS real[]))
     WITH ORDINALITY AS c(clip_identifier, start_frame, end_frame, start_seconds, end_seconds,
                          transition_kind, confidence, n)
ORDER BY c.n
ON CONFLICT (clip_identifier) DO NOTHING
RETURNING clip_identifier;

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
