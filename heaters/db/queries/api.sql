-- name: create_token$
INSERT INTO api_tokens (name, token_hash) VALUES (:name, :token_hash)
ON CONFLICT (name) DO NOTHING
RETURNING id;

-- name: use_token$
UPDATE api_tokens SET last_used_at = now()
WHERE token_hash = :token_hash AND revoked_at IS NULL
RETURNING name;

-- name: revoke_token$
UPDATE api_tokens SET revoked_at = now() WHERE name = :name AND revoked_at IS NULL
RETURNING id;

-- name: count_videos$
SELECT count(*) FROM source_videos WHERE CAST(:state AS text) IS NULL OR state = :state;

-- name: page_video_ids
SELECT id FROM source_videos WHERE CAST(:state AS text) IS NULL OR state = :state
ORDER BY id DESC LIMIT :limit OFFSET :offset;

-- name: get_clip_row^
SELECT * FROM clips WHERE id = :id;

-- name: video_state$
SELECT state FROM source_videos WHERE id = :id;

-- name: delete_failed_job$
DELETE FROM procrastinate_jobs WHERE id = :id AND status = 'failed' RETURNING id;
