-- Tags and notes (heaters.review.annotations, migration 0021): the project's tags, the tags of
-- clips, a clip's note. Changes to a clip's tags or note are review events (undoable).

-- name: list_tags
-- Every tag with its key (1–9 or NULL) and how many live clips carry it, by key then name.
SELECT t.id, t.name, t.key, t.created_at,
       (SELECT count(*) FROM clip_tags ct JOIN clips c ON c.id = ct.clip_id
         WHERE ct.tag_id = t.id AND c.superseded_by IS NULL) AS clips
FROM tags t
ORDER BY t.key NULLS LAST, t.name;

-- name: get_tag^
SELECT id, name, key FROM tags WHERE name = :name;

-- name: tag_by_key^
SELECT id, name, key FROM tags WHERE key = :key;

-- name: insert_tag^
-- A new tag; NULL when the name exists already.
INSERT INTO tags (name, key) VALUES (:name, :key)
ON CONFLICT (name) DO NOTHING
RETURNING id, name, key;

-- name: set_tag_key^
UPDATE tags SET key = :key WHERE name = :name RETURNING id, name, key;

-- name: delete_tag^
DELETE FROM tags WHERE name = :name RETURNING id, name, key;

-- name: clip_tag_ids
-- The tag ids of each clip of :ids (clips without tags are left out).
SELECT clip_id, array_agg(tag_id ORDER BY tag_id) AS tag_ids
FROM clip_tags WHERE clip_id = ANY(:ids)
GROUP BY clip_id;

-- name: clip_tag_names$
-- The names of a clip's tags, sorted.
SELECT COALESCE(array_agg(t.name ORDER BY t.name), '{}')
FROM clip_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.clip_id = :clip_id;

-- name: set_clip_tags!
-- A clip's tags become exactly :tag_ids (tags deleted meanwhile are skipped).
WITH gone AS (
    DELETE FROM clip_tags WHERE clip_id = :clip_id AND NOT (tag_id = ANY(:tag_ids))
)
INSERT INTO clip_tags (clip_id, tag_id)
SELECT :clip_id, t.id FROM tags t WHERE t.id = ANY(:tag_ids)
ON CONFLICT DO NOTHING;

-- name: set_clip_note!
UPDATE clips SET note = :note, updated_at = now() WHERE id = :id;

-- name: lock_clips
-- Clips of :ids, locked in id order (two batches on overlapping clips never deadlock), with
-- held_by: the other reviewer holding each (NULL: free or :reviewer's).
SELECT c.*, CASE WHEN clip_held_by_other(c, :reviewer) THEN c.claimed_by END AS held_by
FROM clips c WHERE c.id = ANY(:ids)
ORDER BY c.id
FOR UPDATE;

-- name: archivable_clip_ids
-- The live clips of a video in :states (heaters.domain.states.ARCHIVABLE_STATES), by id.
SELECT id FROM clips
WHERE source_video_id = :video_id AND superseded_by IS NULL AND state = ANY(:states)
ORDER BY id;

-- name: tag_keys
-- Every tag's name and key, keyed ones first (the review page's tag row; no counts).
SELECT name, key FROM tags ORDER BY key NULLS LAST, name;

-- name: existing_tag_names$
-- Which of the names :names are tags (a dataset's --tag must name one).
SELECT COALESCE(array_agg(name ORDER BY name), '{}') FROM tags WHERE name = ANY(:names);

-- name: carry_annotations!
-- A clip a merge, split or cut move made (:clip_id) takes the tags of the clips it comes
-- from (:old_ids) and, when it has no note, their notes (distinct ones, one per line).
WITH tagged AS (
    INSERT INTO clip_tags (clip_id, tag_id)
    SELECT DISTINCT CAST(:clip_id AS bigint), tag_id FROM clip_tags WHERE clip_id = ANY(:old_ids)
    ON CONFLICT DO NOTHING
)
UPDATE clips SET note = COALESCE(note, (
    SELECT string_agg(DISTINCT o.note, E'\n' ORDER BY o.note) FROM clips o
    WHERE o.id = ANY(:old_ids) AND o.note IS NOT NULL))
WHERE id = :clip_id;
