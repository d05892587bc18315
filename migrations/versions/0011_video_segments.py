"""Segmented preprocess (issue 13, part 4): one long video encoded by several workers.

- ``video_segments``: one row per keyframe-aligned segment of a video being preprocessed in
  pieces (``heaters/pipeline/segments.py``). ``first_frame``/``frame_count`` are frames of a
  sequential decode (0-based); ``start_pts``/``end_pts`` are PTS in the source's video time
  base (``start_pts <= pts < end_pts``, ``end_pts`` NULL for the last); ``time_base_*`` and
  ``origin_pts`` (the PTS that is 0 s in the frame index) are the plan's, the same on every
  row of a video, so the join shifts the pieces without reading the source. Its lifecycle is the
  one every item has (``state``, ``attempts``, ``next_attempt_at``, ``last_error``,
  ``updated_at``): ``pending`` → ``encoding`` → ``encoded`` | ``encode_failed``.
  ``proxy_key``/``small_key`` name the encoded pieces in storage (deleted after the join);
  ``result`` holds what the encode learnt (frames encoded, seconds).
- New video states: ``segmenting`` (segments planned, being encoded by any worker),
  ``joining`` (the join stage runs), ``join_failed``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

VIDEO_STATES = (
    "new", "downloading", "downloaded", "download_failed",
    "preprocessing", "preprocessed", "preprocess_failed",
    "segmenting", "joining", "join_failed",
    "detecting", "detected", "detect_failed",
)  # fmt: skip
NEW_STATES = ("segmenting", "joining", "join_failed")


def _in(states: tuple[str, ...]) -> str:
    return ", ".join(f"'{s}'" for s in states)


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE source_videos DROP CONSTRAINT IF EXISTS source_videos_state_check;
        ALTER TABLE source_videos ADD CONSTRAINT source_videos_state_check
            CHECK (state IN ({_in(VIDEO_STATES)}));

        CREATE TABLE video_segments (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source_video_id  bigint NOT NULL REFERENCES source_videos (id) ON DELETE CASCADE,
            index            integer NOT NULL CHECK (index >= 0),
            first_frame      integer NOT NULL CHECK (first_frame >= 0),
            frame_count      integer NOT NULL CHECK (frame_count > 0),
            start_pts        bigint NOT NULL,
            end_pts          bigint,
            time_base_num    integer NOT NULL CHECK (time_base_num > 0),
            time_base_den    integer NOT NULL CHECK (time_base_den > 0),
            origin_pts       bigint NOT NULL,
            state            text NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'encoding', 'encoded', 'encode_failed')),
            attempts         integer NOT NULL DEFAULT 0,
            next_attempt_at  timestamptz,
            last_error       text,
            proxy_key        text,
            small_key        text,
            result           jsonb,
            created_at       timestamptz NOT NULL DEFAULT now(),
            updated_at       timestamptz NOT NULL DEFAULT now(),
            UNIQUE (source_video_id, index),
            CHECK (end_pts IS NULL OR end_pts > start_pts),
            CHECK (state <> 'encoded' OR (proxy_key IS NOT NULL AND small_key IS NOT NULL))
        );
        CREATE INDEX video_segments_state_idx ON video_segments (state);
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        DROP TABLE IF EXISTS video_segments;
        UPDATE source_videos SET state = 'downloaded', attempts = 0, next_attempt_at = NULL
        WHERE state IN ({_in(NEW_STATES)});
        ALTER TABLE source_videos DROP CONSTRAINT IF EXISTS source_videos_state_check;
        ALTER TABLE source_videos ADD CONSTRAINT source_videos_state_check
            CHECK (state IN ({_in(tuple(s for s in VIDEO_STATES if s not in NEW_STATES))}));
        """
    )
