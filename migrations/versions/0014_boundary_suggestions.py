"""Boundary suggestions (issue 19, item 3 "no silent veto"): candidate cuts a rule rejected.

- ``boundary_suggestions``: one row per candidate boundary the detector did not make a cut
  (``heaters.media.boundaries.Suggestion``), so a reviewer can accept it (a split at
  ``frame``). ``frame`` is the first frame of the would-be new shot (0-based, decode
  order); ``seconds`` its PTS from the frame index, as the clips' boundaries are;
  ``confidence`` 0–1 (below 0.5); ``reason`` the rule that rejected it (``REASONS``);
  ``detector`` the detector's name and version. The detect stage replaces a video's rows in
  the same transaction as its clips; a suggestion on a clip boundary is not stored. Rows are not
  touched by review: a split at a suggestion's frame leaves it on a boundary (shown in no
  clip), and its undo shows it again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


#: ``heaters.media.boundaries.SUGGESTION_REASONS``, and ``local`` (a change confined to part of
#: the picture: a title, a lower third), which the detector adds (a test checks that every
#: reason the detector names is accepted).
REASONS = ("brightness_only", "flash", "local", "too_close", "weak")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE boundary_suggestions (
            source_video_id  bigint NOT NULL REFERENCES source_videos (id) ON DELETE CASCADE,
            frame            integer NOT NULL CHECK (frame > 0),
            seconds          double precision NOT NULL,
            confidence       real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
            reason           text NOT NULL
                             CHECK (reason IN ({_in(REASONS)})),
            detector         text NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source_video_id, frame)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS boundary_suggestions")
