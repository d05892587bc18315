"""``heaters similar`` and ``heaters search``: find clips by embedding."""

from __future__ import annotations

from typing import Any

import click

from heaters.cli._common import err_console, out_console, print_json, run, setup_logging
from heaters.cli.options import json_option

_k_option = click.option(
    "-k", type=click.IntRange(min=1), default=10, show_default=True, help="How many clips."
)


@click.command("similar")
@click.argument("clip_id", type=int)
@_k_option
@json_option
def similar_command(clip_id: int, k: int, json_output: bool) -> None:
    """List the clips most similar to the embedded clip CLIP_ID.

    Nearest neighbours by cosine distance of the clip embeddings (pgvector HNSW index).
    """
    setup_logging()
    from heaters.pipeline.search import SearchError

    try:
        rows = run(_similar(clip_id, k))
    except SearchError as exc:
        err_console().print(f"[red]{exc}[/]")
        raise SystemExit(1) from None
    _show(rows, json_output)


async def _similar(clip_id: int, k: int) -> list[dict[str, Any]]:
    import asyncio

    from heaters.config import get_settings
    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.pipeline.search import similar_clips

    await asyncio.to_thread(ensure_schema)
    async with Database.connect() as db:
        s = get_settings()
        return await similar_clips(
            db, clip_id, k=k, model_name=s.embedding_model, ef_search=s.similar_ef_search
        )


@click.command("search")
@click.argument("text")
@_k_option
@json_option
def search_command(text: str, k: int, json_output: bool) -> None:
    """Find clips showing TEXT (needs a model that embeds text, e.g. a CLIP checkpoint)."""
    setup_logging()
    from heaters.config import get_settings
    from heaters.embeddings import load_embedder

    s = get_settings()
    embedder = load_embedder(s.embedding_model, s.embedding_checkpoint)
    if not embedder.embeds_text:
        err_console().print(
            f"[red]the embedding model {embedder.name} embeds images only; configure a CLIP "
            "checkpoint (HEATERS_EMBEDDING_MODEL=open-clip, HEATERS_EMBEDDING_CHECKPOINT=…) "
            "to search by text[/]"
        )
        raise SystemExit(2)
    vector = embedder.embed_text([text])[0]
    rows = run(_search(vector, embedder.name, f"{s.embedding_keyframes}-mean", k))
    _show(rows, json_output)


async def _search(vector: Any, model: str, strategy: str, k: int) -> list[dict[str, Any]]:
    from heaters.db import Database
    from heaters.pipeline.search import nearest_to_vector

    async with Database.connect() as db:
        return await nearest_to_vector(db, vector, model_name=model, strategy=strategy, k=k)


def _show(rows: list[dict[str, Any]], json_output: bool) -> None:
    from rich.table import Table

    if json_output:
        for r in rows:
            print_json(r)
        return
    table = Table("clip", "distance", "video", "frames", "seconds", "state", box=None)
    for r in rows:
        table.add_row(
            str(r["clip_id"]), f"{r['distance']:.4f}", str(r["source_video_id"]),
            f"{r['start_frame']}–{r['end_frame']}",
            f"{r['start_seconds']:.2f}–{r['end_seconds']:.2f}", r["state"],
        )  # fmt: skip
    out_console().print(table if rows else "no similar clips yet")
