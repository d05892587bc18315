"""The one lifecycle: claim / finish / fail SQL is generated once per table, nowhere else."""

from __future__ import annotations

import re

import pytest

from heaters.db import lifecycle
from heaters.db.pool import QUERIES_DIR
from heaters.domain import states


def test_no_sql_file_writes_the_lifecycle_again() -> None:
    """No named query counts an attempt or computes a backoff: that is lifecycle.py's."""
    pattern = re.compile(r"attempts\s*\+\s*1|next_attempt_at\s*=\s*CASE|power\(2", re.I)
    offenders = [
        f"{path.name}: {m.group(0)}"
        for path in sorted(QUERIES_DIR.glob("*.sql"))
        for m in pattern.finditer(path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize("kind", sorted(lifecycle.TABLES))
def test_one_template_per_table(kind: states.ItemKind) -> None:
    table = lifecycle.TABLES[kind]
    claim = lifecycle.claim_sql(kind, "any")
    finish = lifecycle.finish_sql(kind, "any")
    fail = lifecycle.fail_sql(kind)
    for sql in (claim, finish, fail):
        assert sql.startswith(f"UPDATE {table} AS t\n")
    assert "attempts = 0, next_attempt_at = NULL, last_error = NULL" in finish
    assert "power(2, greatest(t.attempts - 1, 0))" in fail
    assert "THEN t.attempts + 1 ELSE 1 END" in claim
    # the fence: every claim takes a new token, a finish or a fail needs the current one
    assert "claim_token = gen_random_uuid()" in claim
    assert "AND t.claim_token = $4\n" in finish
    assert "AND t.claim_token = $8\n" in fail


def test_a_finish_sets_only_its_stages_columns() -> None:
    sql = lifecycle.finish_sql("clip", "export", ("clip_path", "is_virtual"))
    assert sql.endswith(
        "clip_path = $5, is_virtual = $6\n"
        "WHERE t.id = $1 AND t.state = $2 AND t.claim_token = $4\nRETURNING t.id"
    )
    with pytest.raises(ValueError, match="cannot set state"):
        lifecycle.finish_sql("clip", "export", ("state",))
    with pytest.raises(ValueError, match="cannot set clip_path"):
        lifecycle.finish_sql("clip", states.KEYFRAME.stage, ("clip_path",))
    with pytest.raises(ValueError, match="no lifecycle table"):
        lifecycle.claim_sql("edit", "label_reviews")  # type: ignore[arg-type]


def test_a_guarded_stage_finds_what_its_claim_accepts() -> None:
    """Each claim guard is written once: the stage's finder (db/ready.py) is made from it."""
    from heaters.db import ready
    from heaters.pipeline.stages import stage_named

    for (kind, stage), guard in lifecycle.CLAIM_GUARDS.items():
        assert ready.FINDERS[stage].kind == kind == stage_named(stage).finds.kind
        assert f"  AND {guard}\n" in ready.find_sql(stage)
        assert f"\n  AND {guard}" in lifecycle.claim_sql(kind, stage)
