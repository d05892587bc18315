-- name: insert_video<!
-- Record a submitted source; a repeat (same URL or same sha256) returns nothing.
INSERT INTO source_videos (source_url, source_path, sha256, title)
VALUES (:source_url, :source_path, :sha256, :title)
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

-- name: claim_video^
-- Move a video into a stage's running state, if it is in one of the claimable states.
-- Returns nothing when the stage has nothing to do (already done, or in another state).
-- The attempt budget is per stage: a retry (from :failed) or a redo after a crash (from
-- :running) counts on; arriving from the previous stage starts again at attempt 1.
UPDATE source_videos
SET state = :running,
    attempts = CASE WHEN state IN (:running, :failed) THEN attempts + 1 ELSE 1 END,
    next_attempt_at = NULL, updated_at = now()
WHERE id = :id AND state = ANY(:claimable)
RETURNING *;

-- name: fail_video^
UPDATE source_videos
SET state = :failed, last_error = :error, updated_at = now(),
    next_attempt_at = CASE WHEN :transient AND attempts < :max_attempts
                           THEN now() + make_interval(secs => :backoff * power(2, greatest(attempts - 1, 0)))
                      END
WHERE id = :id AND state = :running
RETURNING id, state, attempts, next_attempt_at;

-- name: finish_download^
UPDATE source_videos
SET state = 'downloaded', original_path = :original_path, sha256 = :sha256,
    title = coalesce(title, :title), last_error = NULL, updated_at = now()
WHERE id = :id AND state = 'downloading'
RETURNING id;

-- name: finish_preprocess^
UPDATE source_videos
-- master_kind: 'original' (the downloaded file is the master) or 'ffv1' (a lossless copy,
-- master_reason says why).
SET state = 'preprocessed', master_path = :master_path, master_kind = :master_kind,
    master_reason = :master_reason, proxy_path = :proxy_path,
    fps_num = :fps_num, fps_den = :fps_den, time_base_num = :tb_num, time_base_den = :tb_den,
    frame_count = :frame_count, duration_seconds = :duration_seconds,
    width = :width, height = :height, is_vfr = :is_vfr, has_audio = :has_audio,
    last_error = NULL, updated_at = now()
WHERE id = :id AND state = 'preprocessing'
RETURNING id;

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

-- name: finish_detect^
UPDATE source_videos
SET state = 'detected', last_error = NULL, updated_at = now()
WHERE id = :id AND state = 'detecting'
RETURNING id;

-- name: retry_video^
-- An operator's retry: a failed video becomes due now, with a fresh attempt budget.
UPDATE source_videos
SET attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE id = :id AND state LIKE '%\_failed'
RETURNING id, state;

-- name: video_counts
SELECT state, count(*) AS n FROM source_videos GROUP BY state ORDER BY state;

-- name: list_videos
SELECT id, coalesce(source_url, source_path) AS source, title, state, last_error,
       frame_count, duration_seconds, attempts, next_attempt_at, updated_at,
       (SELECT count(*) FROM clips c WHERE c.source_video_id = v.id) AS clip_count
FROM source_videos v
ORDER BY id DESC
LIMIT :limit;

-- name: stored_scene_scores^
-- The features :detector stored for a video (None when that detector stored none).
SELECT feature_count, scores FROM scene_scores
WHERE source_video_id = :id AND detector = :detector;
