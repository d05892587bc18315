-- The review page's read-only views of a whole video (the timeline, the filmstrip) and of a
-- reviewer's decisions still in their settle window. Nothing here writes.

-- name: timeline_video^
SELECT v.id, v.title, v.frame_count, v.fps_num, v.fps_den, v.proxy_path, v.state
FROM source_videos v WHERE v.id = :video_id;

-- name: timeline_clips
-- The live clips of a video in frame order: state, transition, the confidence of the cut the
-- clip starts on, who holds it (a live lease), its sprite sheet, and its latest event still
-- settling (v_settling_events) with when it settles.
SELECT c.id, c.start_frame, c.end_frame, c.state, c.is_transition, c.transition_kind,
       c.boundary_confidence, c.reviewed_by, c.grouped_with_clip_id,
       CASE WHEN clip_held_by_other(c, NULL) THEN c.claimed_by END AS held_by,
       s.storage_key AS sprite_key, s.metadata AS sprite_meta,
       e.id AS event_id, e.action AS event_action, e.settles_at
FROM clips c
LEFT JOIN LATERAL (
    SELECT a.storage_key, a.metadata FROM clip_artifacts a
    WHERE a.clip_id = c.id AND a.kind = 'sprite' ORDER BY a.id DESC LIMIT 1
) s ON true
LEFT JOIN LATERAL (
    SELECT ev.id, ev.action, ev.settles_at FROM v_settling_events ev
    WHERE ev.clip_ids @> ARRAY[c.id] AND ev.action NOT IN ('undo', 'tag', 'note')
    ORDER BY ev.id DESC LIMIT 1
) e ON true
WHERE c.source_video_id = :video_id AND c.superseded_by IS NULL
ORDER BY c.start_frame, c.id;

-- name: timeline_next_candidate^
-- The clip a reviewer most likely reviews after (:video_id, :start_frame): the next pending
-- shot of the same video that no other reviewer holds or has reserved. The page prefetches
-- it and shows it the moment a decision is made; the server then claims it (or the queue's
-- head).
SELECT c.id FROM clips c
WHERE c.source_video_id = :video_id AND c.start_frame > :start_frame
  AND c.state = 'pending_review' AND NOT c.is_transition
  AND NOT clip_held_by_other(c, :reviewer) AND NOT clip_reserved_by_other(c.id, :reviewer)
ORDER BY c.start_frame LIMIT 1;

-- name: timeline_settling_events
-- A reviewer's own events still inside their settle window, newest first (the page's
-- countdowns; undo takes them back, newest first).
SELECT e.id, e.action, e.clip_ids, e.settles_at,
       greatest(0, extract(epoch FROM e.settles_at - now())) AS seconds_left
FROM v_settling_events e
WHERE e.reviewer = :reviewer AND e.action <> 'undo'
ORDER BY e.id DESC
LIMIT :limit;
