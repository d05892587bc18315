-- Delivery (heaters.deliver): cut lists of a video, versioned datasets of clips.
-- "Live" clips are those not superseded (merged or split away).

-- name: cut_video^
-- A video with its frame index (pts_seconds[k + 1] = PTS seconds of frame k).
SELECT v.id, v.source_url, v.source_path, v.title, v.fps_num, v.fps_den, v.frame_count,
       v.duration_seconds, v.width, v.height, v.is_vfr, v.state, v.proxy_path,
       f.pts_seconds
FROM source_videos v
LEFT JOIN frame_indexes f ON f.source_video_id = v.id
WHERE v.id = :video_id;

-- name: cut_clips
-- The live clips of a video in frame order; :states NULL for every state.
SELECT id, start_frame, end_frame, start_seconds, end_seconds, state, is_transition,
       transition_kind, boundary_confidence, reviewed_by, reviewed_at, grouped_with_clip_id,
       note, ARRAY(SELECT t.name FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id
                   WHERE ct.clip_id = clips.id ORDER BY t.name) AS tags
FROM clips
WHERE source_video_id = :video_id
  AND superseded_by IS NULL AND state NOT IN ('merged', 'split')
  AND (CAST(:states AS text[]) IS NULL OR state = ANY(:states) OR is_transition)
ORDER BY start_frame, end_frame;

-- name: dataset_candidates
-- Ids of the live clips with a stored file in :states, of :video_ids (NULL: every video),
-- carrying any of the tags named :tags (NULL: any clip).
SELECT id FROM clips
WHERE clip_path IS NOT NULL AND NOT is_transition
  AND superseded_by IS NULL AND state = ANY(:states)
  AND (CAST(:video_ids AS bigint[]) IS NULL OR source_video_id = ANY(:video_ids))
  AND (CAST(:tags AS text[]) IS NULL OR EXISTS (
       SELECT 1 FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id
       WHERE ct.clip_id = clips.id AND t.name = ANY(:tags)))
ORDER BY id;

-- name: dataset_waiting$
-- Clips that match the selection but have no file yet (approved, not exported: :states, the
-- export stage's, heaters.domain.states.EXPORT).
SELECT count(*) FROM clips
WHERE clip_path IS NULL AND NOT is_transition AND superseded_by IS NULL
  AND state = ANY(:states)
  AND (CAST(:video_ids AS bigint[]) IS NULL OR source_video_id = ANY(:video_ids));

-- name: dataset_clip_rows
-- Everything a dataset sample holds about each clip of :ids: the clip, its video, its
-- keyframes (storage keys by strategy/tag) and its newest embedding of :model_name.
SELECT c.id, c.source_video_id, c.start_frame, c.end_frame, c.start_seconds, c.end_seconds,
       c.state, c.clip_path, c.reviewed_by, c.reviewed_at, c.grouped_with_clip_id,
       c.boundary_confidence, c.is_transition, c.transition_kind, c.note,
       ARRAY(SELECT t.name FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id
             WHERE ct.clip_id = c.id ORDER BY t.name) AS tags,
       v.source_url, v.source_path, v.title, v.fps_num, v.fps_den, v.width, v.height,
       s.detector,
       COALESCE((SELECT jsonb_agg(jsonb_build_object(
                     'strategy', a.strategy, 'tag', a.tag, 'key', a.storage_key,
                     'frame', a.metadata -> 'frame')
                     ORDER BY a.strategy, a.tag)
                 FROM clip_artifacts a WHERE a.clip_id = c.id AND a.kind = 'keyframe'),
                '[]'::jsonb) AS keyframes,
       e.model_name AS embedding_model, e.strategy AS embedding_strategy, e.embedding
FROM clips c
JOIN source_videos v ON v.id = c.source_video_id
LEFT JOIN LATERAL (
    SELECT detector FROM scene_scores ss WHERE ss.source_video_id = c.source_video_id
    ORDER BY created_at DESC LIMIT 1) s ON true
LEFT JOIN LATERAL (
    SELECT model_name, strategy, embedding FROM clip_embeddings ce
    WHERE ce.clip_id = c.id AND ce.model_name = :model_name
    ORDER BY created_at DESC LIMIT 1) e ON true
WHERE c.id = ANY(:ids)
ORDER BY c.id;

-- name: get_dataset^
SELECT * FROM datasets WHERE name = :name;

-- name: create_dataset^
INSERT INTO datasets (name, format, target, selection, settings)
VALUES (:name, :format, :target, :selection, :settings)
ON CONFLICT (name) DO NOTHING
RETURNING *;

-- name: update_dataset^
UPDATE datasets SET selection = :selection, settings = :settings, updated_at = now()
WHERE id = :id
RETURNING *;

-- name: list_datasets
SELECT d.*, lv.version AS latest_version, lv.clip_count AS latest_clips,
       lv.finished_at AS latest_at, ov.version AS open_version, ov.state AS open_state
FROM datasets d
LEFT JOIN LATERAL (
    SELECT version, cardinality(clip_ids) AS clip_count, finished_at FROM dataset_versions
    WHERE dataset_id = d.id AND state = 'complete' ORDER BY version DESC LIMIT 1) lv ON true
LEFT JOIN LATERAL (
    SELECT version, state FROM dataset_versions
    WHERE dataset_id = d.id AND state <> 'complete' LIMIT 1) ov ON true
ORDER BY d.name;

-- name: dataset_versions
-- Every version of a dataset, newest first (without the clip lists).
SELECT id, version, state, cardinality(clip_ids) AS clips, cardinality(added) AS added,
       cardinality(removed) AS removed, jsonb_array_length(files) AS files_done,
       jsonb_array_length(plan -> 'shards') AS files_planned, error, job_id, created_at,
       finished_at, manifest IS NOT NULL AS has_manifest
FROM dataset_versions WHERE dataset_id = :dataset_id
ORDER BY version DESC;

-- name: latest_complete_version^
SELECT * FROM dataset_versions
WHERE dataset_id = :dataset_id AND state = 'complete'
ORDER BY version DESC LIMIT 1;

-- name: open_version^
-- The version being written (or left by a crash, or failed), if any.
SELECT * FROM dataset_versions WHERE dataset_id = :dataset_id AND state <> 'complete';

-- name: get_version^
SELECT * FROM dataset_versions WHERE dataset_id = :dataset_id AND version = :version;

-- name: insert_version^
INSERT INTO dataset_versions (dataset_id, version, clip_ids, added, removed, plan, job_id)
VALUES (:dataset_id, :version, :clip_ids, :added, :removed, :plan, :job_id)
RETURNING *;

-- name: delete_version!
DELETE FROM dataset_versions WHERE id = :id AND state <> 'complete';

-- name: record_file^
-- A file of the version is stored under its final name: keep its name, sha256 and size.
UPDATE dataset_versions SET files = files || jsonb_build_array(CAST(:file AS jsonb))
WHERE id = :id AND state = 'writing'
RETURNING jsonb_array_length(files) AS files_done;

-- name: finish_version^
UPDATE dataset_versions SET state = 'complete', manifest = :manifest, finished_at = now(),
       error = NULL
WHERE id = :id AND state = 'writing'
RETURNING id;

-- name: fail_version!
UPDATE dataset_versions SET state = 'failed', error = :error, finished_at = now()
WHERE id = :id AND state = 'writing';

-- name: set_version_job!
UPDATE dataset_versions SET job_id = :job_id WHERE id = :id;

-- name: dataset_jobs
-- The latest export jobs of a dataset (waiting, running, done, failed), newest first.
SELECT id, status, attempts, scheduled_at
FROM procrastinate_jobs
WHERE task_name = 'heaters.export_dataset' AND args ->> 'name' = :name
ORDER BY id DESC LIMIT :limit;
