"""Tags and notes (issue 21, part 3): the project's tags (``tags``: a name and an optional
key 1–9 that toggles it on the review page), the tags of each clip (``clip_tags``) and a
free-text note per clip (``clips.note``). Changes to both are review events (``tag``,
``note``, and a batch's ``tag``), undoable like the decisions.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE tags (
            id          bigserial PRIMARY KEY,
            name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
            key         smallint UNIQUE CHECK (key BETWEEN 1 AND 9),
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE clip_tags (
            clip_id  bigint NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
            tag_id   bigint NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
            PRIMARY KEY (clip_id, tag_id)
        );
        CREATE INDEX clip_tags_tag_idx ON clip_tags (tag_id, clip_id);
        ALTER TABLE clips ADD COLUMN note text;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE clips DROP COLUMN IF EXISTS note;
        DROP TABLE IF EXISTS clip_tags;
        DROP TABLE IF EXISTS tags;
        """
    )
