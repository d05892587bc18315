"""Labels from review and detector profiles (issue 22).

- ``source_videos.collection``: the named collection a video belongs to (``heaters ingest
  --collection NAME``, the API's ``collection`` field); ``'default'`` unless given. A
  collection has its own detector profile.
- ``review_events.labelled_at``: when the labels stage read the settled event (set also when
  the event says nothing about boundaries: a skip), so the stage's finder takes each settled,
  not-undone event once.
- ``boundary_labels``: what a settled review event says about shot boundaries, frames
  ``[start_frame, end_frame)`` of ``source_video_id`` (0-based, decode order):
  ``cut`` (one frame, ``end = start + 1``: ``start_frame`` starts a new shot), ``not_cut``
  (no cut starts at any frame of the span: a merge across a cut, a moved cut's old frame, the
  inside of an approved clip), ``gradual`` (the span is a gradual transition: an approved
  transition clip). ``event_id`` the review event, ``reviewer`` who made it, ``settled_at``
  its ``settles_at``. Unique per (event, label, start frame). An undone event never settles,
  so it leaves no label.
- ``detector_profiles``: a versioned set of detector parameters fitted to a collection's
  labels (``heaters detect calibrate``): ``params`` (the ``DetectorParams`` fields that
  differ from the defaults), ``training_video_ids``, ``figures`` (cross-validated precision,
  recall, F1 before and after, per fold), ``active`` (at most one per collection: the
  profile the detect stage uses for the collection's new videos).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: ``heaters.media.calibrate.LABELS``.
LABELS = ("cut", "not_cut", "gradual")


def upgrade() -> None:
    labels = ", ".join(f"'{v}'" for v in LABELS)
    op.execute(
        f"""
        ALTER TABLE source_videos ADD COLUMN collection text NOT NULL DEFAULT 'default';
        CREATE INDEX source_videos_collection_idx ON source_videos (collection);

        ALTER TABLE review_events ADD COLUMN labelled_at timestamptz;
        CREATE INDEX review_events_unlabelled_idx ON review_events (settles_at)
            WHERE labelled_at IS NULL AND undone_at IS NULL;

        CREATE TABLE boundary_labels (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source_video_id  bigint NOT NULL REFERENCES source_videos (id) ON DELETE CASCADE,
            start_frame      integer NOT NULL CHECK (start_frame >= 0),
            end_frame        integer NOT NULL CHECK (end_frame > start_frame),
            label            text NOT NULL CHECK (label IN ({labels})),
            event_id         bigint NOT NULL REFERENCES review_events (id) ON DELETE CASCADE,
            reviewer         text,
            settled_at       timestamptz NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT now(),
            UNIQUE (event_id, label, start_frame)
        );
        CREATE INDEX boundary_labels_video_idx ON boundary_labels (source_video_id, event_id);

        CREATE TABLE detector_profiles (
            id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            collection          text NOT NULL,
            version             integer NOT NULL CHECK (version > 0),
            detector            text NOT NULL,
            params              jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            training_video_ids  bigint[] NOT NULL DEFAULT '{{}}',
            figures             jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            active              boolean NOT NULL DEFAULT false,
            created_at          timestamptz NOT NULL DEFAULT now(),
            UNIQUE (collection, version)
        );
        CREATE UNIQUE INDEX detector_profiles_one_active_idx ON detector_profiles (collection)
            WHERE active;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE IF EXISTS detector_profiles;
        DROP TABLE IF EXISTS boundary_labels;
        DROP INDEX IF EXISTS review_events_unlabelled_idx;
        ALTER TABLE review_events DROP COLUMN IF EXISTS labelled_at;
        DROP INDEX IF EXISTS source_videos_collection_idx;
        ALTER TABLE source_videos DROP COLUMN IF EXISTS collection;
        """
    )
