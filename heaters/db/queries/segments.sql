-- Segmented preprocess (heaters/pipeline/preprocess_stages.py, migration 0011): a long video's
-- keyframe-aligned segments, each encoded by its own job, then joined. A segment's claim,
-- finish and fail are heaters.db.lifecycle's (its guard: the video is still segmenting; a
-- segment given up fails its video); the finders of the segment and join stages are
-- heaters.db.ready's.

-- name: plan_segments*!
-- One row per planned segment. A re-plan (an operator's retry of a failed video) keeps a
-- segment already encoded when its plan is unchanged; every other one starts again pending
-- with a fresh attempt budget.
INSERT INTO video_segments (source_video_id, index, first_frame, frame_count, start_pts,
                            end_pts, time_base_num, time_base_den, origin_pts)
VALUES (:video_id, :index, :first_frame, :frame_count, :start_pts, :end_pts, :tb_num,
        :tb_den, :origin_pts)
ON CONFLICT (source_video_id, index) DO UPDATE
SET state = CASE WHEN video_segments.state = 'encoded'
                  AND (video_segments.first_frame, video_segments.frame_count,
                       video_segments.start_pts, video_segments.time_base_num,
                       video_segments.time_base_den, video_segments.origin_pts)
                    = (EXCLUDED.first_frame, EXCLUDED.frame_count, EXCLUDED.start_pts,
                       EXCLUDED.time_base_num, EXCLUDED.time_base_den, EXCLUDED.origin_pts)
                  AND video_segments.end_pts IS NOT DISTINCT FROM EXCLUDED.end_pts
                 THEN 'encoded' ELSE 'pending' END,
    first_frame = EXCLUDED.first_frame, frame_count = EXCLUDED.frame_count,
    start_pts = EXCLUDED.start_pts, end_pts = EXCLUDED.end_pts,
    time_base_num = EXCLUDED.time_base_num, time_base_den = EXCLUDED.time_base_den,
    origin_pts = EXCLUDED.origin_pts,
    attempts = 0, next_attempt_at = NULL, last_error = NULL, updated_at = now();

-- name: drop_segments_from
-- Segments of an earlier plan beyond this one's count; returns their storage keys (deleted
-- after the commit).
DELETE FROM video_segments
WHERE source_video_id = :video_id AND index >= :count
RETURNING proxy_key, small_key;

-- name: segments_of
-- A video's segments in order.
SELECT * FROM video_segments WHERE source_video_id = :video_id ORDER BY index;

-- name: forget_segments
-- Inside the join's commit: the segment rows go; returns their keys (deleted after it).
DELETE FROM video_segments WHERE source_video_id = :video_id
RETURNING proxy_key, small_key;
