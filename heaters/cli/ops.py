"""``heaters worker``, ``heaters status``, ``heaters retry``, ``heaters db upgrade``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import click

from heaters.cli._common import err_console, out_console, print_json, run, setup_logging
from heaters.cli.options import json_option, verbose_option


@click.command("worker")
@click.option("--queues", "-q", help="Comma-separated queues (default, io, cpu, ml); default: all.")
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    help="Jobs run at once (default: HEATERS_WORKER_CONCURRENCY).",
)
@verbose_option
def worker_command(queues: str | None, concurrency: int | None, verbose: int) -> None:
    """Run a long-running worker: the pipeline's jobs and the dispatcher. Stop with Ctrl-C.

    When the database cannot be reached it says why in one line per retry and waits (at
    start-up for at most HEATERS_WORKER_DB_WAIT_SECONDS when set, then exits 1).
    """
    from workers.resilient import DatabaseUnavailable

    setup_logging(verbose, default=20)
    try:
        run(_worker(queues.split(",") if queues else None, concurrency))
    except DatabaseUnavailable as exc:
        click.echo(f"heaters worker: {exc}", err=True)
        raise SystemExit(1) from None


async def _worker(queues: list[str] | None, concurrency: int | None) -> None:
    import asyncio
    import time

    from heaters.config import get_settings
    from heaters.db.connection import database_url
    from heaters.db.migrate import ensure_schema
    from workers.app import app, defer_dispatch, run_worker
    from workers.resilient import unavailable, wait_for_database
    from workers.runtime import close_runtime, get_runtime

    url = database_url()
    limit = get_settings().worker_db_wait_seconds
    deadline = None if limit is None else time.monotonic() + limit
    try:
        while True:  # the database may go again between the probe and the next step
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            await wait_for_database(url, give_up_after=left)
            try:
                await asyncio.to_thread(ensure_schema)
                await get_runtime()  # cleans dead workers' temp folders before the first job
                async with app.open_async():
                    await defer_dispatch()
                    await run_worker(queues=queues, concurrency=concurrency)
                return
            except Exception as exc:
                if unavailable(exc) is None:
                    raise
                await close_runtime()
    finally:
        await close_runtime()


@click.command("status")
@json_option
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True,
    help="How many recent videos to list.",
)  # fmt: skip
def status_command(json_output: bool, limit: int) -> None:
    """Show videos and clips by state, the most recent videos, the failing clips with their
    reasons (retry them with `heaters retry --clip ID`), and the stages that are off here
    (a model not installed) with how to turn them on."""
    from rich.markup import escape
    from rich.table import Table

    setup_logging()
    data = run(_status(limit))
    if json_output:
        print_json(data)
        return
    for kind in ("videos", "clips"):
        table = Table(kind, "count", box=None)
        for state, n in data[kind].items():
            table.add_row(state, str(n))
        out_console().print(table if data[kind] else f"no {kind}")
    if data["recent"]:
        table = Table("id", "state", "clips", "source", "error", box=None)
        for v in data["recent"]:
            table.add_row(
                str(v["id"]),
                v["state"],
                str(v["clip_count"]),
                escape(v["source"]),
                escape(v["last_error"] or ""),
            )
        out_console().print(table)
    if data["failed_clips"]:
        table = Table("clip", "video", "state", "attempts", "next attempt", "reason", box=None,
                      title="failing clips")  # fmt: skip
        for c in data["failed_clips"]:
            table.add_row(
                str(c["id"]), str(c["source_video_id"]), c["state"], str(c["attempts"]),
                str(c["next_attempt_at"] or "waits for an operator"), escape(c["last_error"] or ""),
            )  # fmt: skip
        out_console().print(table)
    for stage, reason in data["stages_off"].items():
        out_console().print(f"stage {stage} is off: {reason}", markup=False, soft_wrap=True)


async def _status(limit: int) -> dict[str, Any]:
    import asyncio

    from heaters.db import Database, fetch_all
    from heaters.db.migrate import ensure_schema
    from heaters.pipeline.dispatcher import stages_off
    from heaters.review.failures import failed_clips

    await asyncio.to_thread(ensure_schema)
    async with Database.connect() as db:
        async with db.acquire() as conn:
            videos = await fetch_all(db.q.video_counts(conn))
            clips = await fetch_all(db.q.clip_counts(conn))
            recent = await fetch_all(db.q.list_videos(conn, limit=limit))
        failing = await failed_clips(db, limit=max(limit, 1) * 5)
    return {
        "videos": {r["state"]: r["n"] for r in videos},
        "clips": {r["state"]: r["n"] for r in clips},
        "recent": [dict(r) for r in recent],
        "failed_clips": failing,
        "stages_off": stages_off(),
    }


@click.command("retry")
@click.argument("item_id", type=int, required=False)
@click.option("--clip", is_flag=True, help="ITEM_ID is a clip id (default: a video id).")
@click.option(
    "--failed-clips", is_flag=True, help="Retry every failed clip (no ITEM_ID): a bulk retry."
)
@json_option
def retry_command(item_id: int | None, clip: bool, failed_clips: bool, json_output: bool) -> None:
    """Retry the failed video (or clip) ITEM_ID now, with a fresh attempt budget; or, with
    --failed-clips, every failed clip (`heaters status` lists them with their reasons).

    A worker picks them up; exit code 1 when ITEM_ID is not in a failed state.
    """
    setup_logging()
    if failed_clips:
        if item_id is not None:
            raise click.UsageError("--failed-clips takes no ITEM_ID")
        ids = run(_retry_failed_clips())
        if json_output:
            print_json({"retried": ids})
        else:
            out_console().print(
                f"{len(ids)} failed clip(s) will be retried by a worker"
                + (f": {', '.join(map(str, ids))}" if ids else "")
            )
        return
    if item_id is None:
        raise click.UsageError(
            "give ITEM_ID (a video id, or a clip id with --clip), or --failed-clips"
        )
    kind: Literal["video", "clip"] = "clip" if clip else "video"
    state = run(_retry(item_id, kind))
    if json_output:
        print_json({"id": item_id, "retried": state is not None, "state": state})
    if state is None:
        err_console().print(
            f"[red]{kind} {item_id} is not in a failed state (or does not exist)[/]"
        )
        raise SystemExit(1)
    if not json_output:
        out_console().print(f"{kind} {item_id} ({state}) will be retried by a worker")


async def _retry(item_id: int, kind: Literal["video", "clip"]) -> str | None:
    import asyncio

    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.review import retry_item
    from workers.app import app, defer_dispatch

    await asyncio.to_thread(ensure_schema)
    async with Database.connect() as db:
        state = await retry_item(db, kind, item_id)
    if state is not None:
        async with app.open_async():
            await defer_dispatch()
    return state


async def _retry_failed_clips() -> list[int]:
    import asyncio

    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.review.failures import retry_failed_clips
    from workers.app import app, defer_dispatch

    await asyncio.to_thread(ensure_schema)
    async with Database.connect() as db:
        ids = await retry_failed_clips(db)
    if ids:
        async with app.open_async():
            await defer_dispatch()
    return ids


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade_command(revision: str) -> None:
    """Apply the database migrations up to REVISION (default: head).

    Also done automatically on first use.
    """
    setup_logging()
    from heaters.db.migrate import current_revision, upgrade

    upgrade(revision=revision)
    out_console().print(f"database at revision {current_revision()}")


@db_group.command("url")
def db_url_command() -> None:
    """Print the database URL in use (starts the embedded Postgres if needed)."""
    from heaters.db.connection import database_url

    out_console().print(database_url(), highlight=False)


class _Duration(click.ParamType[timedelta]):
    """A length of time: ``90s``, ``30m``, ``1h``, ``2d`` or a number of seconds."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        text = str(value).strip().lower()
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:])
        number = text[:-1] if unit else text
        try:
            seconds = float(number) * (unit or 1)
        except ValueError:
            self.fail(f"{value!r} is not a duration (e.g. 90s, 30m, 1h, 2d)", param, ctx)
        if seconds < 0:
            self.fail(f"{value!r} is negative", param, ctx)
        return timedelta(seconds=seconds)


@db_group.command("reconcile-storage")
@click.option(
    "--delete", is_flag=True,
    help="Delete the orphans last modified longer ago than --older-than (never the objects "
    "of a stage at work now).",
)  # fmt: skip
@click.option(
    "--older-than", type=_Duration(), default="1h", show_default=True,
    help="Grace period of --delete: a younger orphan may be a write whose commit is coming.",
)  # fmt: skip
@json_option
def db_reconcile_storage_command(delete: bool, older_than: timedelta, json_output: bool) -> None:
    """Compare the storage with the rows: list the objects no row names (orphans: what a
    worker wrote before dying ahead of its commit, a killed write's .part file, an upload
    whose submit died) and the rows whose objects are missing.

    Only Heaters' prefixes (videos/, clips/, uploads/) are looked at. Orphans are deleted
    only with --delete; missing objects are reported, never "fixed" (retry or delete the
    item). Exit status 1 when rows name missing objects, or orphans remain (not deleted).
    """
    from rich.markup import escape

    setup_logging()
    report = run(_reconcile_storage(delete, older_than))
    data = report.as_json()
    if json_output:
        print_json(data)
    else:
        kept = len(report.orphans) - len(report.deleted)
        out_console().print(
            f"{report.objects} objects; {len(report.orphans)} orphans "
            f"({data['orphan_bytes']:,} bytes), {len(report.deleted)} deleted, {kept} kept; "
            f"{len(report.missing)} missing",
            highlight=False,
        )
        lines = [
            f"{_orphan_label(report, o.key)}: {escape(o.key)} ({o.size:,} bytes, "
            f"{o.modified:%Y-%m-%d %H:%M} UTC)"
            for o in report.orphans
        ]
        lines += [
            f"missing: {escape(m.key)} ({m.kind} {m.item_id}, {m.column})" for m in report.missing
        ]
        for line in lines:
            out_console().print(line, highlight=False, soft_wrap=True)
    if report.missing or len(report.orphans) > len(report.deleted):
        raise SystemExit(1)


def _orphan_label(report: Any, key: str) -> str:
    if key in report.deleted:
        return "deleted"
    return "kept: a stage at work" if key in report.kept_in_flight else "orphan"


async def _reconcile_storage(delete: bool, older_than: timedelta) -> Any:
    import asyncio

    from heaters.config import get_settings
    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.pipeline.reconcile import reconcile_storage
    from heaters.storage import storage_from_url

    s = get_settings()
    await asyncio.to_thread(ensure_schema)
    storage = storage_from_url(s.storage_url or f"file://{s.storage_root}")
    try:
        async with Database.connect(max_size=2) as db:
            return await reconcile_storage(db, storage, delete=delete, older_than=older_than)
    finally:
        aclose = getattr(storage, "aclose", None)
        if aclose is not None:
            await aclose()
