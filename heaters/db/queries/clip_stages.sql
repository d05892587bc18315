-- name: clip_with_video^
SELECT c.*, v.proxy_path, v.master_path, v.fps_num, v.fps_den, v.frame_count AS video_frame_count
FROM clips c JOIN source_videos v ON v.id = c.source_video_id
WHERE c.id = :id;

-- name: upsert_artifact!
INSERT INTO clip_artifacts (clip_id, kind, strategy, tag, storage_key, metadata)
VALUES (:clip_id, :kind, :strategy, :tag, :storage_key, :metadata)
ON CONFLICT (clip_id, kind, strategy, tag) DO UPDATE
SET storage_key = EXCLUDED.storage_key, metadata = EXCLUDED.metadata, created_at = now();

-- name: clip_artifacts
SELECT * FROM clip_artifacts WHERE clip_id = :clip_id AND kind = :kind ORDER BY strategy, tag;

-- name: upsert_embedding!
INSERT INTO clip_embeddings (clip_id, model_name, strategy, embedding)
VALUES (:clip_id, :model_name, :strategy, :embedding)
ON CONFLICT (clip_id, model_name, strategy) DO UPDATE
SET embedding = EXCLUDED.embedding, created_at = now();

-- name: clip_storage_keys
-- Every storage object of a clip: its exported file and its artifacts.
SELECT clip_path AS key FROM clips WHERE id = :clip_id AND clip_path IS NOT NULL
UNION
SELECT storage_key FROM clip_artifacts WHERE clip_id = :clip_id;

-- name: delete_clip_artifacts!
DELETE FROM clip_artifacts WHERE clip_id = :clip_id;

-- name: delete_clip_embeddings!
DELETE FROM clip_embeddings WHERE clip_id = :clip_id;

-- name: clip_embedding^
SELECT embedding, strategy FROM clip_embeddings
WHERE clip_id = :clip_id AND model_name = :model_name
ORDER BY created_at DESC LIMIT 1;

-- name: nearest_clips
-- Nearest clips by cosine distance to :vec, through the HNSW index (vector_cosine_ops).
SELECT e.clip_id, e.embedding <=> :vec AS distance, c.source_video_id, c.start_frame,
       c.end_frame, c.start_seconds, c.end_seconds, c.state, v.title AS video_title
FROM clip_embeddings e
JOIN clips c ON c.id = e.clip_id
JOIN source_videos v ON v.id = c.source_video_id
WHERE e.model_name = :model_name AND e.strategy = :strategy
ORDER BY e.embedding <=> :vec
LIMIT :k;

-- name: retry_clip^
-- An operator's retry: a failed clip becomes due now, with a fresh attempt budget (a clip
-- whose sprite failed is made due again too).
UPDATE clips
SET attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE id = :id AND (state LIKE '%\_failed' OR (state = 'pending_review' AND last_error IS NOT NULL))
RETURNING id, state;

-- name: record_stage_run!
INSERT INTO stage_runs (stage, item_kind, item_id, attempt, outcome, error, worker,
                        started_at, duration_ms)
VALUES (:stage, :item_kind, :item_id, :attempt, :outcome, :error, :worker,
        :started_at, :duration_ms);
