"""API uploads live in the storage (issue 15, several machines): ``source_videos.source_key``.

An API upload is stored at once under ``uploads/{uuid}_{name}`` in the storage backend (S3
or the local storage root), not spooled on the web host's disk: a worker on any machine
fetches it in the download stage, stores it as the video's original and deletes the upload
object after that commit. ``source_key`` records the upload's key (the name it was sent
with is its last part); ``source_path`` stays a path on the workers' disks (``heaters
ingest FILE``) and ``source_url`` a URL. Every video has one of the three.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The source check of 0001 was left unnamed: find it by its text.
_DROP_SOURCE_CHECK = """
DO $$
DECLARE
    name text;
BEGIN
    FOR name IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'source_videos'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%source_path IS NOT NULL%'
    LOOP
        EXECUTE format('ALTER TABLE source_videos DROP CONSTRAINT %I', name);
    END LOOP;
END
$$;
"""


def upgrade() -> None:
    op.execute("ALTER TABLE source_videos ADD COLUMN source_key text")
    op.execute(_DROP_SOURCE_CHECK)
    op.execute(
        "ALTER TABLE source_videos ADD CONSTRAINT source_videos_source_check"
        " CHECK (source_url IS NOT NULL OR source_path IS NOT NULL OR source_key IS NOT NULL)"
    )


def downgrade() -> None:
    """Fails while a video is known by its upload key alone (its source would be lost)."""
    op.execute(_DROP_SOURCE_CHECK)
    op.execute("ALTER TABLE source_videos DROP COLUMN source_key")
    op.execute(
        "ALTER TABLE source_videos ADD CONSTRAINT source_videos_check"
        " CHECK (source_url IS NOT NULL OR source_path IS NOT NULL)"
    )
