-- Clip artifacts (sprite sheets; keyframes later): rows of clip_artifacts. A failed attempt
-- is kept on clips.last_error / attempts / next_attempt_at by heaters.db.lifecycle (an
-- artifact has no *_failed state: the clip stays in its review state).

-- name: sprite_source^
-- What the sprite stage needs for one clip: the clip, its video's proxy key, the video's
-- frame index up to the clip's end (pts[k + 1] = PTS seconds of frame k: absolute indexing)
-- and whether the clip already has a sprite. (The slice is spaced so aiosql does not read
-- ":c" as a parameter.)
SELECT c.id, c.state, c.start_frame, c.end_frame, c.attempts,
       v.id AS video_id, v.proxy_path,
       f.pts_seconds[1 : c.end_frame] AS pts_seconds,
       EXISTS (SELECT 1 FROM clip_artifacts a WHERE a.clip_id = c.id AND a.kind = :kind)
           AS has_artifact
FROM clips c
JOIN source_videos v ON v.id = c.source_video_id
LEFT JOIN frame_indexes f ON f.source_video_id = c.source_video_id
WHERE c.id = :clip_id;

-- name: upsert_clip_artifact^
-- Record an artifact stored under :storage_key (a redo replaces it: same key, one row).
-- Returns nothing when the clip no longer exists (deleted meanwhile: the caller deletes the
-- object). The stage's success (attempts and last_error cleared) is heaters.db.lifecycle's
-- finish, in the same transaction.
INSERT INTO clip_artifacts (clip_id, kind, strategy, tag, storage_key, metadata)
SELECT c.id, CAST(:kind AS text), CAST(:strategy AS text), CAST(:tag AS text),
       CAST(:storage_key AS text), CAST(:metadata AS jsonb)
FROM clips c WHERE c.id = :clip_id
ON CONFLICT (clip_id, kind, strategy, tag) DO UPDATE
SET storage_key = EXCLUDED.storage_key, metadata = EXCLUDED.metadata, created_at = now()
RETURNING id;
