"""Similar-clip and text search over clip embeddings (pgvector HNSW, cosine distance)."""

from __future__ import annotations

from typing import Any

import numpy as np

from heaters.db import Database, fetch_all
from heaters.errors import HeatersError


class SearchError(HeatersError):
    """A search that cannot run: a clip without an embedding, a model without text."""


async def similar_clips(
    db: Database,
    clip_id: int,
    *,
    k: int = 10,
    model_name: str = "efficientnet-lite0",
    ef_search: int = 100,
) -> list[dict[str, Any]]:
    """The ``k`` clips nearest to ``clip_id`` by cosine distance (0 = same direction, 2 =
    opposite), nearest first, as dicts with ``clip_id``, ``distance``, ``source_video_id``,
    ``start_frame``, ``end_frame``, ``start_seconds``, ``end_seconds``, ``state``.

    ``ef_search`` is the HNSW candidate list size (pgvector ``hnsw.ef_search``): more is
    slower and closer to exact search.

    Raises SearchError if the clip has no embedding of ``model_name`` yet.
    """
    async with db.transaction() as conn:
        await conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
        own = await db.q.clip_embedding(conn, clip_id=clip_id, model_name=model_name)
        if own is None:
            raise SearchError(f"clip {clip_id} has no {model_name} embedding (not embedded yet)")
        rows = await fetch_all(
            db.q.nearest_clips(
                conn,
                vec=own["embedding"],
                model_name=model_name,
                strategy=own["strategy"],
                k=k + 1,
            )
        )
    return [dict(r) for r in rows if r["clip_id"] != clip_id][:k]


async def nearest_to_vector(
    db: Database,
    vector: np.ndarray,
    *,
    model_name: str,
    strategy: str,
    k: int = 10,
    ef_search: int = 100,
) -> list[dict[str, Any]]:
    """The ``k`` clips nearest to ``vector`` (float32 (d,), L2-normalised)."""
    async with db.transaction() as conn:
        await conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
        rows = await fetch_all(
            db.q.nearest_clips(conn, vec=vector, model_name=model_name, strategy=strategy, k=k)
        )
    return [dict(r) for r in rows]
