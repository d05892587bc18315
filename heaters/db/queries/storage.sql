-- Storage reconciliation (heaters/pipeline/reconcile.py, heaters db reconcile-storage).

-- name: named_storage_keys
-- Every storage key a row names: the item kind and id, the column, the key. The lifecycle
-- tables' object columns, an upload waiting for its download (once downloaded, the upload
-- is deleted: its source_key names nothing), and clip artifacts (sprites, keyframes).
SELECT 'video' AS kind, v.id, c.what, c.key
FROM source_videos v
CROSS JOIN LATERAL (VALUES ('original_path', v.original_path), ('master_path', v.master_path),
                           ('proxy_path', v.proxy_path),
                           ('source_key', CASE WHEN v.original_path IS NULL THEN v.source_key END))
    AS c(what, key)
WHERE c.key IS NOT NULL
UNION ALL
SELECT 'segment', s.id, c.what, c.key
FROM video_segments s
CROSS JOIN LATERAL (VALUES ('proxy_key', s.proxy_key), ('small_key', s.small_key)) AS c(what, key)
WHERE c.key IS NOT NULL
UNION ALL
SELECT 'clip', id, 'clip_path', clip_path FROM clips WHERE clip_path IS NOT NULL
UNION ALL
SELECT 'clip', clip_id, 'clip_artifacts.' || kind, storage_key FROM clip_artifacts;

-- name: current_claim_tags
-- The key tags (12 hex digits, heaters.storage.keys.claim_tag) of every item's latest claim:
-- objects carrying one may belong to a stage at work now, before its commit names them.
SELECT DISTINCT left(replace(CAST(claim_token AS text), '-', ''), 12) AS tag
FROM (SELECT claim_token FROM source_videos UNION ALL SELECT claim_token FROM clips
      UNION ALL SELECT claim_token FROM video_segments) AS t
WHERE claim_token IS NOT NULL;

-- name: storage_check_due$
-- Whether the periodic storage check is due: no check recorded in the last :every seconds.
SELECT NOT EXISTS (
    SELECT 1 FROM storage_checks WHERE checked_at > now() - make_interval(secs => :every)
);

-- name: record_storage_check^
-- One periodic check's counts (checks older than 30 days are dropped).
WITH old AS (DELETE FROM storage_checks WHERE checked_at < now() - interval '30 days')
INSERT INTO storage_checks (objects, orphans, orphan_bytes, deleted, missing, seconds)
VALUES (:objects, :orphans, :orphan_bytes, :deleted, :missing, :seconds)
RETURNING id, checked_at;

-- name: last_storage_check^
-- The last periodic check: when, and its counts; nothing before the first.
SELECT checked_at, objects, orphans, orphan_bytes, deleted, missing, seconds
FROM storage_checks ORDER BY checked_at DESC LIMIT 1;
