"""One lifecycle for every item: claim / finish / fail SQL generated per table.

See docs/architecture.md, "Items, states and one lifecycle".

Every item a stage works on (a video, a clip, a video segment) has the same five columns:
``state``, ``attempts``, ``next_attempt_at``, ``last_error``, ``updated_at``. A stage moves it
along its :class:`~heaters.domain.states.Transition` with three statements, written here once
and generated for each table of the closed set :data:`TABLES`:

- **claim**: ``ready | running → running``. The attempt budget is per stage: a retry (from
  ``failed``) or a redo after a crash (from ``running``) counts on; arriving from the previous
  stage starts again at attempt 1. A stage that changes no state (``running == done``: the
  sprite, an artifact of a clip in review) counts on only after a recorded failure
  (``last_error`` set). A redo after a crash also counts a crash (``crashes``, the crash
  budget of :func:`heaters.pipeline.runner.run_stage`; a retry after a recorded failure keeps
  the count, any other claim and a finish reset it). ``next_attempt_at`` is cleared. Every
  claim sets a new random
  ``claim_token`` (the *fence*), returned with the row and the token it replaced
  (``previous_token``). Nothing to claim → ``None``.
- **finish**: ``running → done``, and a success resets ``attempts`` to 0 and clears
  ``next_attempt_at`` and ``last_error``. The stage's own columns (a download's
  ``original_path``, an export's ``clip_path``…) are set by the same ``UPDATE``; their names
  are checked against :data:`FINISH_COLUMNS` (the column names are never taken from input).
- **fail**: ``running → failed`` with a one-line reason; when the failure is transient and
  attempts remain, the item is due again at ``now() + base × 2^(attempts − 1)`` seconds,
  else ``next_attempt_at`` is NULL (given up, until an operator's retry).
- **put back**: ``running →`` the row as the claim found it (state, attempts, crash count,
  due time, token), for work stopped for a reason not the item's (the worker stops, or gave
  its jobs up in a database outage): the next claim, in any process, counts what this one did.

A finish or a fail changes the row only while it carries the token of the caller's claim:
a worker whose claim was taken over since (its event loop stalled past the stalled-after
time, or a partition cut it off and its job was retried elsewhere) changes nothing. Its
finish raises :class:`ClaimLost` (so the stage's rows in the same transaction roll back
with it) and its fail returns None; :func:`heaters.pipeline.runner.run_stage` logs one line
and discards the result.

The SQL uses positional parameters (asyncpg) and runs on the caller's connection, so a
finish commits in the same transaction as the stage's rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final
from uuid import UUID

import asyncpg

from heaters.domain.states import VIDEO_IN_SEGMENTS, ItemKind, SegmentState, Transition

#: The tables whose rows have the lifecycle columns, by item kind (a closed set: the SQL
#: below is generated for these names only).
TABLES: Final[Mapping[ItemKind, str]] = {
    "video": "source_videos",
    "clip": "clips",
    "segment": "video_segments",
}

_PREPROCESS_COLUMNS = frozenset(
    {
        "master_path", "master_kind", "master_reason", "proxy_path", "fps_num", "fps_den",
        "time_base_num", "time_base_den", "frame_count", "duration_seconds", "width",
        "height", "is_vfr", "has_audio",
    }
)  # fmt: skip

#: The columns a stage's finish may set besides the lifecycle ones, by (kind, stage name).
#: A stage not listed sets none.
FINISH_COLUMNS: Final[Mapping[tuple[ItemKind, str], frozenset[str]]] = {
    ("video", "download"): frozenset({"original_path", "sha256", "title"}),
    ("video", "preprocess"): _PREPROCESS_COLUMNS,
    ("video", "join"): _PREPROCESS_COLUMNS,
    ("clip", "export"): frozenset({"clip_path", "is_virtual"}),
    ("clip", "archive"): frozenset({"clip_path", "is_virtual"}),
    ("segment", "preprocess_segment"): frozenset({"proxy_key", "small_key", "result"}),
}

#: Extra conditions of a stage's claim, by (kind, stage name), on the claimed row ``t``: the
#: claim returns nothing (the job is a no-op) unless they hold.
CLAIM_GUARDS: Final[Mapping[tuple[ItemKind, str], str]] = {
    # The sprite: a clip whose video has a proxy and that has no sprite yet.
    ("clip", "sprite"): (
        "NOT EXISTS (SELECT 1 FROM clip_artifacts a WHERE a.clip_id = t.id AND a.kind = 'sprite')"
        " AND EXISTS (SELECT 1 FROM source_videos v"
        " WHERE v.id = t.source_video_id AND v.proxy_path IS NOT NULL)"
    ),
    # A segment of a video still being segmented (one failed meanwhile has nothing to encode).
    ("segment", "preprocess_segment"): (
        "EXISTS (SELECT 1 FROM source_videos v"
        f" WHERE v.id = t.source_video_id AND v.state = '{VIDEO_IN_SEGMENTS.running}')"
    ),
    # The join: a video whose segments are all encoded (a stale job claims nothing).
    ("video", "join"): (
        "EXISTS (SELECT 1 FROM video_segments s WHERE s.source_video_id = t.id)"
        " AND NOT EXISTS (SELECT 1 FROM video_segments s"
        f" WHERE s.source_video_id = t.id AND s.state <> '{SegmentState.ENCODED}')"
    ),
}

#: Extra values a claim returns besides the item's columns, by kind (from related rows).
CLAIM_RETURNS: Final[Mapping[ItemKind, str]] = {
    # A segment's job reads its video's original.
    "segment": (
        "(SELECT v.original_path FROM source_videos v WHERE v.id = t.source_video_id)"
        " AS original_path"
    ),
}

#: Run in the fail's transaction when the item is given up (``next_attempt_at`` NULL), by
#: kind; ``$1`` is the item id, ``$2`` the reason. A segment given up fails its video.
GIVE_UP: Final[Mapping[ItemKind, str]] = {
    "segment": (
        f"UPDATE source_videos v SET state = '{VIDEO_IN_SEGMENTS.failed}',"
        " next_attempt_at = NULL, updated_at = now(),"
        " last_error = left('segment ' || s.index || ': ' || $2, 500)"
        " FROM video_segments s"
        " WHERE s.id = $1 AND v.id = s.source_video_id"
        f" AND v.state = '{VIDEO_IN_SEGMENTS.running}'"
    ),
}


class ClaimLost(Exception):
    """A finish found the item no longer held by the caller's claim: nothing was changed.

    ``taken_over``: another claim took the item since (its token is not the caller's, or
    the item is gone); else the item still carries the caller's token but left the running
    state (a reviewer decided, an operator acted), so no other worker writes its objects.
    """

    def __init__(self, kind: ItemKind, item_id: int, *, taken_over: bool = True) -> None:
        why = "to another worker (stale token)" if taken_over else "(it left its running state)"
        super().__init__(f"{kind} {item_id}: claim lost {why}")
        self.kind = kind
        self.item_id = item_id
        self.taken_over = taken_over


def _table(kind: ItemKind) -> str:
    try:
        return TABLES[kind]
    except KeyError:
        raise ValueError(f"no lifecycle table for item kind {kind!r}") from None


@cache
def claim_sql(kind: ItemKind, stage: str) -> str:
    """The claim of ``stage`` on a ``kind`` item.

    Parameters: ``$1`` id, ``$2`` running, ``$3`` failed, ``$4`` claimable (text[]), ``$5``
    whether the stage changes the state (a redo from ``running`` then counts on), ``$6`` the
    token of a claim this one resumes (or NULL): a redo of an item still held under that
    token (its stage lost the database) keeps its attempt count. Returns the
    claimed row (``*``, with its new ``claim_token``, ``previous_token``: the token it
    replaced, whose objects a redo deletes once it commits, ``previous_state``,
    ``previous_attempts``, ``previous_crashes``, ``previous_next_attempt_at``: the row as the
    claim found it, which :func:`put_back` restores, and :data:`CLAIM_RETURNS` for its kind)
    or nothing.
    """
    guard = CLAIM_GUARDS.get((kind, stage))
    extra = CLAIM_RETURNS.get(kind)
    return (
        f"UPDATE {_table(kind)} AS t\n"
        "SET state = $2,\n"
        "    attempts = CASE WHEN t.state = $2 AND t.claim_token = $6 THEN t.attempts\n"
        "                    WHEN t.state IN ($2, $3) AND ($5 OR t.last_error IS NOT NULL)\n"
        "                    THEN t.attempts + 1 ELSE 1 END,\n"
        # the crash budget (migration 0017): a redo of a running item under another token
        # counts a crash; a retry after a recorded failure keeps the count; else it starts over
        "    crashes = CASE WHEN t.state = $2 AND t.claim_token = $6 THEN t.crashes\n"
        "                   WHEN t.state = $2 AND $5 THEN t.crashes + 1\n"
        "                   WHEN t.state = $3 AND t.attempts > 0 THEN t.crashes ELSE 0 END,\n"
        "    next_attempt_at = NULL, claim_token = gen_random_uuid(), updated_at = now()\n"
        # the row locked first, so ``o`` holds the token this claim replaces
        f"FROM (SELECT id, claim_token, state, attempts, crashes, next_attempt_at"
        f" FROM {_table(kind)} WHERE id = $1 FOR UPDATE) AS o\n"
        "WHERE t.id = $1 AND o.id = t.id AND t.state = ANY($4::text[])"
        + (f"\n  AND {guard}" if guard else "")
        + "\nRETURNING t.*, o.claim_token AS previous_token, o.state AS previous_state,"
        " o.attempts AS previous_attempts, o.crashes AS previous_crashes,"
        " o.next_attempt_at AS previous_next_attempt_at" + (f", {extra}" if extra else "")
    )


@cache
def finish_sql(kind: ItemKind, stage: str, columns: tuple[str, ...] = ()) -> str:
    """The finish of ``stage`` on a ``kind`` item, also setting ``columns`` (in this order).

    Parameters: ``$1`` id, ``$2`` running, ``$3`` done, ``$4`` the claim's token, then one per
    column. Returns the id, or nothing when the item is not in ``running`` under that token.
    Raises ValueError for a column not in
    :data:`FINISH_COLUMNS` for this stage.
    """
    allowed = FINISH_COLUMNS.get((kind, stage), frozenset())
    unknown = sorted(set(columns) - allowed)
    if unknown:
        raise ValueError(f"{kind} stage {stage!r} cannot set {', '.join(unknown)}")
    sets = "".join(f", {col} = ${i}" for i, col in enumerate(columns, start=5))
    return (
        f"UPDATE {_table(kind)} AS t\n"
        "SET state = $3, attempts = 0, next_attempt_at = NULL, last_error = NULL,\n"
        f"    crashes = 0, updated_at = now(){sets}\n"
        "WHERE t.id = $1 AND t.state = $2 AND t.claim_token = $4\n"
        "RETURNING t.id"
    )


@cache
def fail_sql(kind: ItemKind) -> str:
    """The fail of a stage on a ``kind`` item.

    Parameters: ``$1`` id, ``$2`` running, ``$3`` failed, ``$4`` reason, ``$5`` transient,
    ``$6`` max attempts, ``$7`` backoff base (seconds), ``$8`` the claim's token. Returns ``id,
    state, attempts, next_attempt_at`` or nothing when the item is not in ``running`` under
    that token.
    """
    return (
        f"UPDATE {_table(kind)} AS t\n"
        "SET state = $3, last_error = $4, updated_at = now(),\n"
        "    next_attempt_at = CASE WHEN $5 AND t.attempts < $6\n"
        "        THEN now() + make_interval(secs => $7 * power(2, greatest(t.attempts - 1, 0)))\n"
        "    END\n"
        "WHERE t.id = $1 AND t.state = $2 AND t.claim_token = $8\n"
        "RETURNING t.id, t.state, t.attempts, t.next_attempt_at"
    )


@cache
def put_back_sql(kind: ItemKind) -> str:
    """Undo a claim that did no work of the item's own (:func:`put_back`).

    Parameters: ``$1`` id, ``$2`` running, ``$3`` the claim's token, then the row as the claim
    found it: ``$4`` state, ``$5`` attempts, ``$6`` crashes, ``$7`` next_attempt_at, ``$8``
    claim_token. Returns the id, or nothing when the item is no longer held by that claim.
    """
    return (
        f"UPDATE {_table(kind)} AS t\n"
        "SET state = $4, attempts = $5, crashes = $6, next_attempt_at = $7, claim_token = $8,\n"
        "    updated_at = now()\n"
        "WHERE t.id = $1 AND t.state = $2 AND t.claim_token = $3\n"
        "RETURNING t.id"
    )


async def claim(
    conn: Any, kind: ItemKind, transition: Transition, item_id: int, *, resume: UUID | None = None
) -> asyncpg.Record | None:
    """Claim item ``item_id`` of ``kind`` for ``transition`` (see the module doc); ``resume``
    is the token of this process's own earlier claim, when its stage lost the database (the
    redo then keeps the attempt count).

    Returns the claimed row (every column, ``attempts`` already counted, ``claim_token`` the
    fence its finish or fail must show) or None when the stage has nothing to do (the item
    is in another state, or a guard does not hold).
    """
    row: asyncpg.Record | None = await conn.fetchrow(
        claim_sql(kind, transition.stage),
        item_id,
        str(transition.running),
        str(transition.failed),
        [str(s) for s in transition.claimable],
        transition.running != transition.done,
        resume,
    )
    return row


async def finish(
    conn: Any,
    kind: ItemKind,
    transition: Transition,
    item_id: int,
    *,
    token: UUID,
    **columns: Any,
) -> None:
    """``running → done`` for item ``item_id``, resetting its attempts, in ``conn``'s
    transaction, if ``token`` (the ``claim_token`` its claim returned) is still the item's;
    ``columns`` are the stage's own values (:data:`FINISH_COLUMNS`).

    Raises :class:`ClaimLost` when the item is no longer held by that claim (nothing
    changed; the caller's transaction should roll back with it), ValueError for a column
    the stage may not set.
    """
    names = tuple(columns)
    row = await conn.fetchrow(
        finish_sql(kind, transition.stage, names),
        item_id,
        str(transition.running),
        str(transition.done),
        token,
        *(columns[n] for n in names),
    )
    if row is None:
        current = await conn.fetchval(
            f"SELECT claim_token FROM {_table(kind)} WHERE id = $1", item_id
        )
        raise ClaimLost(kind, item_id, taken_over=current != token)


async def fail(
    conn: Any,
    kind: ItemKind,
    transition: Transition,
    item_id: int,
    *,
    token: UUID,
    error: str,
    transient: bool,
    max_attempts: int,
    backoff_seconds: float,
) -> asyncpg.Record | None:
    """``running → failed`` for item ``item_id`` with the one-line ``error``; due again after
    ``backoff_seconds × 2^(attempts − 1)`` when ``transient`` and ``attempts < max_attempts``,
    else given up (``next_attempt_at`` NULL, and :data:`GIVE_UP` runs for its kind); only
    while ``token`` (the ``claim_token`` its claim returned) is still the item's.

    Returns ``id, state, attempts, next_attempt_at``, or None when the item was not in the
    running state under that token (nothing changed: the claim was lost).
    """
    row: asyncpg.Record | None = await conn.fetchrow(
        fail_sql(kind),
        item_id,
        str(transition.running),
        str(transition.failed),
        error,
        transient,
        max_attempts,
        float(backoff_seconds),
        token,
    )
    if row is not None and row["next_attempt_at"] is None and kind in GIVE_UP:
        await conn.execute(GIVE_UP[kind], item_id, error)
    return row


async def put_back(
    conn: Any, kind: ItemKind, transition: Transition, item_id: int, claimed: asyncpg.Record
) -> bool:
    """Undo the claim that returned ``claimed`` (the row :func:`claim` returned): the item
    gets back the state, attempts, crash count, due time and token it had before that claim,
    as if the claim had never been made, so the stage's next claim (in any process) counts
    exactly what this one did. For work that stopped for a reason not the item's: the worker
    was stopped (SIGINT/SIGTERM), or it gave its jobs up in a database outage. Only while the
    item is still held by that claim; returns whether it was."""
    row = await conn.fetchrow(
        put_back_sql(kind),
        item_id,
        str(transition.running),
        claimed["claim_token"],
        claimed["previous_state"],
        claimed["previous_attempts"],
        claimed["previous_crashes"],
        claimed["previous_next_attempt_at"],
        claimed["previous_token"],
    )
    return row is not None
