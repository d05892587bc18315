"""Datasets (issue 14): named, versioned exports of clips for training.

- ``datasets``: one row per dataset name: its format (``webdataset`` / ``parquet``), where
  its files live (``target``: ``file:///…`` or ``s3://bucket/prefix``), the clip selection
  (review state, video ids) and its settings (shard size) used for the next version.
- ``dataset_versions``: one row per version: the clip ids of the version and what changed
  from the previous complete version (``added`` / ``removed``), the plan of the files this
  version writes (``plan``: shards with their clip ids, fixed when the version starts, so a
  crashed export resumes with the same shards), the files written so far (``files``: name,
  sha256, bytes, clip ids, as each one is stored under its final name), the manifest once
  complete. ``state``: ``writing`` (started, or crashed: the next run resumes it),
  ``complete``, ``failed`` (the next run starts it again from a fresh plan). At most one
  version per dataset is not complete.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE datasets (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name        text NOT NULL UNIQUE
                        CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
            format      text NOT NULL CHECK (format IN ('webdataset', 'parquet')),
            target      text NOT NULL,
            selection   jsonb NOT NULL DEFAULT '{}'::jsonb,
            settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE dataset_versions (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            dataset_id  bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
            version     integer NOT NULL CHECK (version >= 1),
            state       text NOT NULL DEFAULT 'writing'
                        CHECK (state IN ('writing', 'complete', 'failed')),
            clip_ids    bigint[] NOT NULL,
            added       bigint[] NOT NULL,
            removed     bigint[] NOT NULL,
            plan        jsonb NOT NULL,
            files       jsonb NOT NULL DEFAULT '[]'::jsonb,
            manifest    jsonb,
            error       text,
            job_id      bigint,
            created_at  timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            UNIQUE (dataset_id, version)
        );
        CREATE UNIQUE INDEX dataset_versions_open_idx ON dataset_versions (dataset_id)
            WHERE state <> 'complete';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS dataset_versions, datasets")
