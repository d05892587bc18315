"""``heaters tag add|list|remove``: the project's tags (issue 21). A tag on a key 1–9 is
toggled on the review page's clip by that key; clips carry tags into cut lists and datasets
(``heaters export dataset --tag NAME`` keeps the clips with the tag)."""

from __future__ import annotations

from typing import Any

import click

from heaters.cli._common import err_console, out_console, print_json, run, setup_logging
from heaters.cli.options import json_option


@click.group("tag")
def tag_group() -> None:
    """The project's tags: keys 1-9 toggle them on the review page."""


def _fail(exc: Exception) -> None:
    err_console().print(f"[red]{exc}[/]", highlight=False)
    raise SystemExit(1) from None


async def _with_db(fn: str, *args: Any, **kwargs: Any) -> Any:
    import asyncio

    from heaters import review
    from heaters.db import Database
    from heaters.db.migrate import ensure_schema

    await asyncio.to_thread(ensure_schema)
    async with Database.connect() as db:
        return await getattr(review, fn)(db, *args, **kwargs)


@tag_group.command("add")
@click.argument("name")
@click.option(
    "--key", type=click.IntRange(1, 9), default=None, help="The key (1-9) that toggles it."
)
@json_option
def tag_add_command(name: str, key: int | None, json_output: bool) -> None:
    """Make tag NAME (lower-case letters, digits, '-', '_'), on --key N (1-9) if given.

    An existing tag with --key moves to that key.
    """
    setup_logging()
    from heaters.review import ReviewError

    name = name.strip().lower()
    try:
        existing = {t.name for t in run(_with_db("list_tags", counts=False))}
        if name in existing and key is not None:
            tag = run(_with_db("set_tag_key", name, key))
        else:
            tag = run(_with_db("add_tag", name, key=key))
    except ReviewError as exc:
        _fail(exc)
    if json_output:
        print_json({"name": tag.name, "key": tag.key})
    else:
        on = f" on key {tag.key}" if tag.key else ""
        out_console().print(f"tag {tag.name}{on}", highlight=False)


@tag_group.command("list")
@json_option
def tag_list_command(json_output: bool) -> None:
    """Every tag, its key and how many clips carry it."""
    setup_logging()
    tags = run(_with_db("list_tags"))
    if json_output:
        print_json([{"name": t.name, "key": t.key, "clips": t.clips} for t in tags])
        return
    if not tags:
        out_console().print("no tags yet: heaters tag add NAME --key 1", highlight=False)
    for t in tags:
        key = str(t.key) if t.key else "-"
        out_console().print(f"{key}  {t.name}  ({t.clips} clips)", highlight=False)


@tag_group.command("remove")
@click.argument("name")
def tag_remove_command(name: str) -> None:
    """Delete tag NAME and take it off every clip (not undoable)."""
    setup_logging()
    from heaters.review import ReviewError

    try:
        tag = run(_with_db("remove_tag", name.strip().lower()))
    except ReviewError as exc:
        _fail(exc)
    out_console().print(f"tag {tag.name} removed", highlight=False)
