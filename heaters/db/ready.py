"""The finders of the stages whose items must meet a condition beyond their state, made from
the same definition their claims check (docs/architecture.md, "Items, states and one
lifecycle").

A stage looks for work in its transition's ready states (``Transition.ready``). Some stages
also need something of related rows: that condition is written once, as SQL on the item row
``t``, in :data:`heaters.db.lifecycle.CLAIM_GUARDS` (the sprite: its video has a proxy and
it has no sprite yet; a segment: its video is still ``segmenting``; the join: all the
video's segments are encoded). The claim checks it, so
a job whose item stopped meeting it before the job ran claims nothing (a no-op), and
:func:`find_sql` makes the stage's finder from it: ready state, due, the guard, the
finder's own condition (:data:`FINDERS`; none at present), no waiting or running job of
the stage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import asyncpg

from heaters.db.lifecycle import CLAIM_GUARDS, TABLES
from heaters.domain.states import ItemKind

#: Due now: not in a failed state, or its backoff has passed.
DUE_UNLESS_FAILED: Final = r"(t.state NOT LIKE '%\_failed' OR t.next_attempt_at <= now())"
#: Due now for a stage that changes no state (the sprite): no failure recorded, or its
#: backoff has passed (NULL, never due, once the attempts are used up or it was permanent).
DUE_UNLESS_LAST_FAILED: Final = "(t.last_error IS NULL OR t.next_attempt_at <= now())"


@dataclass(frozen=True)
class Finding:
    """How a stage's finder looks for its items of ``kind``, besides its claim's guard."""

    kind: ItemKind
    due: str = DUE_UNLESS_FAILED
    """SQL on ``t``: whether it is offered now (the claim does not look)."""
    when: str | None = None
    """SQL on ``t``: a condition of the finder's own (None: the guard alone)."""
    order_by: str = "t.id"


FINDERS: Final[Mapping[str, Finding]] = {
    "sprite": Finding("clip", due=DUE_UNLESS_LAST_FAILED),
    "preprocess_segment": Finding("segment", order_by="t.source_video_id, t.index"),
    "join": Finding("video"),
}
"""The stages whose finders are made here, by stage name."""


@cache
def find_sql(stage: str) -> str:
    """The finder of ``stage`` (one of :data:`FINDERS`): the ids of its items in ``$1`` (its
    ready states, text[]) that are due and meet its claim's guard and its own condition, with
    no waiting or running job under the queueing lock ``{$2}:{id}``, at most ``$3``. Raises
    KeyError for another stage."""
    f = FINDERS[stage]
    conditions = [c for c in (CLAIM_GUARDS.get((f.kind, stage)), f.when) if c]
    return (
        f"SELECT t.id FROM {TABLES[f.kind]} t\n"
        f"WHERE t.state = ANY($1::text[])\n  AND {f.due}\n"
        + "".join(f"  AND {c}\n" for c in conditions)
        + "  AND NOT EXISTS (\n"
        "      SELECT 1 FROM procrastinate_jobs j\n"
        "      WHERE j.queueing_lock = $2 || ':' || t.id AND j.status IN ('todo', 'doing'))\n"
        f"ORDER BY {f.order_by}\nLIMIT $3"
    )


def finder(stage: str) -> Callable[..., AsyncIterator[asyncpg.Record]]:
    """The finder of ``stage`` (one of :data:`FINDERS`), called as the dispatcher calls a
    named query: ``finder(stage)(conn, states=…, stage=…, limit=…)`` yields the rows
    (``id``)."""
    sql = find_sql(stage)

    async def find(
        conn: Any, *, states: list[str], stage: str, limit: int
    ) -> AsyncIterator[asyncpg.Record]:
        for row in await conn.fetch(sql, states, stage, limit):
            yield row

    return find
