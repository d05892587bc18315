"""The typed query facade is generated from the SQL files and kept in step with them."""

from __future__ import annotations

import inspect

from heaters.db import gen_queries, queries
from heaters.db._typed_queries import Queries


def test_checked_in_facade_equals_a_fresh_generation() -> None:
    """``heaters/db/_typed_queries.py`` is what ``python -m heaters.db.gen_queries`` writes."""
    assert gen_queries.TARGET.read_text() == gen_queries.generate(), (
        "stale: run python -m heaters.db.gen_queries"
    )


def test_every_named_query_has_a_method_with_its_parameters() -> None:
    """One Protocol method per query, with the query's ``:name`` parameters keyword-only."""
    q = queries()
    names = {n for n in q.available_queries if not n.endswith("_cursor")}
    methods = {
        n for n, _ in inspect.getmembers(Queries, inspect.isfunction) if not n.startswith("__")
    }
    assert names == methods
    for name in sorted(names):
        declared = inspect.signature(getattr(Queries, name)).parameters
        wanted = inspect.signature(getattr(q, name)).parameters
        kw = [p for p, v in declared.items() if v.kind is inspect.Parameter.KEYWORD_ONLY]
        if kw:
            assert kw == list(wanted), name


def test_every_finder_query_takes_what_the_dispatcher_passes() -> None:
    """The dispatcher calls ``finder.query(db.q)(conn, states=…, stage=…, limit=…)``: every
    finder names its stage and limit, and looks in the stage's ready states when it has any."""
    from heaters.pipeline.stages import STAGES

    q = queries()
    for stage in STAGES:
        params = set(inspect.signature(stage.finds.query(q)).parameters)
        assert {"stage", "limit"} <= params, stage.name
        assert ("states" in params) == bool(stage.states), stage.name
