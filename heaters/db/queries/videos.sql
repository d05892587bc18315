-- name: insert_video<!
-- Record a submitted source (a URL, a path on the workers' disks, or the storage key of an
-- API upload); a repeat (same URL or same sha256) returns nothing.
INSERT INTO source_videos (source_url, source_path, source_key, sha256, title)
VALUES (:source_url, :source_path, :source_key, :sha256, :title)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: find_duplicate^
SELECT id, state FROM source_videos
WHERE (CAST(:source_url AS text) IS NOT NULL AND source_url = :source_url)
   OR (CAST(:sha256 AS text) IS NOT NULL AND sha256 = :sha256)
ORDER BY id
LIMIT 1;

-- name: get_video^
SELECT * FROM source_videos WHERE id = :id;

-- name: get_videos
SELECT * FROM source_videos WHERE id = ANY(:ids) ORDER BY id;

-- name: video_states
SELECT id, state, last_error, next_attempt_at FROM source_videos WHERE id = ANY(:ids) ORDER BY id;

-- name: upsert_frame_index!
INSERT INTO frame_indexes (source_video_id, pts_seconds, byte_offsets)
VALUES (:id, :pts_seconds, :byte_offsets)
ON CONFLICT (source_video_id) DO UPDATE
SET pts_seconds = EXCLUDED.pts_seconds, byte_offsets = EXCLUDED.byte_offsets;

-- name: get_frame_index^
SELECT pts_seconds, byte_offsets FROM frame_indexes WHERE source_video_id = :id;

-- name: upsert_scene_scores!
-- A detector's per-frame features (frame_count × feature_count, flattened row-major), one row
-- per (video, detector): features of another detector are never overwritten nor reused.
INSERT INTO scene_scores (source_video_id, detector, params, feature_count, scores)
VALUES (:id, :detector, :params, :feature_count, :scores)
ON CONFLICT (source_video_id, detector) DO UPDATE
SET params = EXCLUDED.params, feature_count = EXCLUDED.feature_count,
    scores = EXCLUDED.scores, created_at = now();

-- name: retry_video^
-- An operator's retry: a failed video becomes due now, with a fresh attempt budget.
UPDATE source_videos
SET attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE id = :id AND state LIKE '%\_failed'
RETURNING id, state;

-- name: video_counts
SELECT state, count(*) AS n FROM source_videos GROUP BY state ORDER BY state;

-- name: list_videos
-- An API upload (a storage key) shows as 'upload: <the name it was sent with>'.
SELECT id, coalesce(source_url, source_path, 'upload: ' || title, source_key) AS source, title,
       state, last_error,
       frame_count, duration_seconds, attempts, next_attempt_at, updated_at,
       (SELECT count(*) FROM clips c WHERE c.source_video_id = v.id) AS clip_count
FROM source_videos v
ORDER BY id DESC
LIMIT :limit;

-- name: stored_scene_scores^
-- The features :detector stored for a video (None when that detector stored none).
SELECT feature_count, scores FROM scene_scores
WHERE source_video_id = :id AND detector = :detector;
