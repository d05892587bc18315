"""Initial schema: pgvector, procrastinate's schema, and Heaters' tables (docs/architecture.md).

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

VIDEO_STATES = (
    "new", "downloading", "downloaded", "download_failed",
    "preprocessing", "preprocessed", "preprocess_failed",
    "detecting", "detected", "detect_failed",
)  # fmt: skip
CLIP_STATES = (
    "pending_review", "review_approved", "review_skipped", "review_archived",
    "merged", "split", "exporting", "exported", "export_failed",
    "keyframing", "keyframed", "keyframe_failed", "embedding", "embedded", "embedding_failed",
    "archiving", "archived",
)  # fmt: skip


def _in(states: tuple[str, ...]) -> str:
    return ", ".join(f"'{s}'" for s in states)


SCHEMA = f"""
CREATE TABLE source_videos (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_url       text UNIQUE,
    source_path      text,
    sha256           text,
    title            text,
    original_path    text,
    master_path      text,
    proxy_path       text,
    fps_num          integer,
    fps_den          integer,
    time_base_num    integer,
    time_base_den    integer,
    frame_count      integer,
    duration_seconds double precision,
    width            integer,
    height           integer,
    is_vfr           boolean,
    has_audio        boolean,
    state            text NOT NULL DEFAULT 'new' CHECK (state IN ({_in(VIDEO_STATES)})),
    last_error       text,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (source_url IS NOT NULL OR source_path IS NOT NULL)
);
CREATE UNIQUE INDEX source_videos_sha256_key ON source_videos (sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX source_videos_state_idx ON source_videos (state);

-- Per frame of the proxy: PTS in seconds and byte offset of its packet.
CREATE TABLE frame_indexes (
    source_video_id bigint PRIMARY KEY REFERENCES source_videos (id) ON DELETE CASCADE,
    pts_seconds     double precision[] NOT NULL,
    byte_offsets    bigint[] NOT NULL,
    CHECK (cardinality(pts_seconds) = cardinality(byte_offsets))
);

-- Per-frame change scores of the detector, kept so thresholds can be tuned without decoding.
CREATE TABLE scene_scores (
    source_video_id bigint PRIMARY KEY REFERENCES source_videos (id) ON DELETE CASCADE,
    detector        text NOT NULL,
    params          jsonb NOT NULL,
    scores          real[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE clips (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_video_id      bigint NOT NULL REFERENCES source_videos (id) ON DELETE CASCADE,
    clip_identifier      text NOT NULL UNIQUE,
    start_frame          integer NOT NULL,
    end_frame            integer NOT NULL,
    start_seconds        double precision NOT NULL,
    end_seconds          double precision NOT NULL,
    is_virtual           boolean NOT NULL DEFAULT true,
    clip_path            text,
    state                text NOT NULL DEFAULT 'pending_review'
                         CHECK (state IN ({_in(CLIP_STATES)})),
    grouped_with_clip_id bigint REFERENCES clips (id),
    superseded_by        bigint[],
    last_error           text,
    attempts             integer NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz,
    reviewed_at          timestamptz,
    reviewed_by          text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (is_virtual OR clip_path IS NOT NULL),
    CHECK (end_frame > start_frame),
    CHECK (start_frame >= 0)
);
CREATE INDEX clips_video_start_idx ON clips (source_video_id, start_frame);
CREATE INDEX clips_state_idx ON clips (state);

CREATE TABLE clip_artifacts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clip_id     bigint NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    strategy    text NOT NULL DEFAULT '',
    tag         text NOT NULL DEFAULT '',
    storage_key text NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clip_id, kind, strategy, tag)
);

CREATE TABLE clip_embeddings (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clip_id    bigint NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    model_name text NOT NULL,
    strategy   text NOT NULL,
    embedding  vector(1280) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clip_id, model_name, strategy)
);
CREATE INDEX clip_embeddings_hnsw_idx ON clip_embeddings
    USING hnsw (embedding vector_cosine_ops);

CREATE TABLE review_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clip_ids      bigint[] NOT NULL,
    action        text NOT NULL,
    reviewer      text,
    payload       jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    execute_after timestamptz,
    job_id        bigint,
    committed_at  timestamptz,
    undone_at     timestamptz
);
CREATE INDEX review_events_due_idx ON review_events (execute_after)
    WHERE committed_at IS NULL AND undone_at IS NULL AND execute_after IS NOT NULL;
"""


def upgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
    # procrastinate's own schema: its apply_schema fails when the schema exists, so check.
    exists = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    if exists is None:
        from procrastinate.schema import SchemaManager

        bind.connection.dbapi_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]
    bind.connection.dbapi_connection.execute(SCHEMA)  # type: ignore[union-attr]


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS review_events, clip_embeddings, clip_artifacts, clips, "
        "scene_scores, frame_indexes, source_videos CASCADE"
    )
