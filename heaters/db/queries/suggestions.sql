-- Boundary suggestions (issue 19 item 3): candidate cuts a detector rule rejected, kept for
-- reviewers (heaters.media.boundaries.Suggestion). Written by the detect stage with the
-- clips, read by the API and the review page.

-- name: delete_video_suggestions!
-- Before detection writes a video's suggestions: forget the previous run's (a redo).
DELETE FROM boundary_suggestions WHERE source_video_id = :video_id;

-- name: insert_suggestions*!
-- One candidate boundary; none on a boundary of a live clip of the video (those are cuts).
INSERT INTO boundary_suggestions (source_video_id, frame, seconds, confidence, reason, detector)
SELECT CAST(:video_id AS bigint), CAST(:frame AS integer), CAST(:seconds AS double precision),
       CAST(:confidence AS real), CAST(:reason AS text), CAST(:detector AS text)
WHERE NOT EXISTS (
    SELECT 1 FROM clips c
    WHERE c.source_video_id = :video_id AND c.superseded_by IS NULL
      AND (c.start_frame = CAST(:frame AS integer) OR c.end_frame = CAST(:frame AS integer))
)
ON CONFLICT (source_video_id, frame) DO UPDATE
SET seconds = EXCLUDED.seconds, confidence = EXCLUDED.confidence, reason = EXCLUDED.reason,
    detector = EXCLUDED.detector, created_at = now();

-- name: video_suggestions
-- Every suggestion of the videos :ids, by video and frame.
SELECT source_video_id, frame, seconds, confidence, reason, detector
FROM boundary_suggestions WHERE source_video_id = ANY(:ids)
ORDER BY source_video_id, frame;

-- name: clip_suggestions
-- The suggestions strictly inside each clip of :ids (start_frame < frame < end_frame), by
-- clip and frame: a split there is a reviewer's accepting it.
SELECT c.id AS clip_id, s.frame, s.seconds, s.confidence, s.reason
FROM clips c
JOIN boundary_suggestions s
  ON s.source_video_id = c.source_video_id
 AND s.frame > c.start_frame AND s.frame < c.end_frame
WHERE c.id = ANY(:ids)
ORDER BY c.id, s.frame;
