"""``heaters ingest``: submit sources, optionally run the pipeline here until they are done."""

from __future__ import annotations

import sys
from typing import Any

import click

from heaters.cli._common import (
    err_console,
    json_option,
    out_console,
    print_json,
    run,
    setup_logging,
    verbose_option,
)

# Stage progress of a video: its state → (steps done, label).
_STEPS = {
    "new": (0, "queued"),
    "downloading": (0, "downloading"),
    "download_failed": (0, "download failed"),
    "downloaded": (1, "downloaded"),
    "preprocessing": (1, "preprocessing"),
    "preprocess_failed": (1, "preprocess failed"),
    "preprocessed": (2, "preprocessed"),
    "detecting": (2, "detecting scenes"),
    "detect_failed": (2, "detect failed"),
    "detected": (3, "detected"),
}


@click.command("ingest")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "--wait",
    is_flag=True,
    help="Run the workers in this process until every submitted video is detected or failed.",
)
@json_option
@verbose_option
def ingest_command(sources: tuple[str, ...], wait: bool, json_output: bool, verbose: int) -> None:
    """Submit videos to the pipeline (download → preprocess → detect scenes).

    Each SOURCE is an http(s) URL (downloaded with yt-dlp) or a local file path. It is
    recorded as a new video and the command returns at once; a source already ingested (same
    URL, or a file with the same sha256) is not ingested again: the existing video is
    reported. With --wait the pipeline runs here, with progress per video, and the clips are
    printed. --json prints one object per video per line.

    Exit code 1 when a source is rejected or a video failed.
    """
    setup_logging(verbose)
    code = run(_ingest(list(sources), wait=wait, json_output=json_output))
    raise SystemExit(code)


async def _ingest(sources: list[str], *, wait: bool, json_output: bool) -> int:
    import asyncio

    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.pipeline.report import video_reports
    from heaters.pipeline.submit import SubmitError, submit
    from workers.app import app, defer_dispatch

    await asyncio.to_thread(ensure_schema)
    rejected: list[dict[str, Any]] = []
    ids: list[int] = []
    existing: set[int] = set()
    async with Database.connect() as db:
        for source in sources:
            try:
                sub = await submit(db, source)
            except SubmitError as exc:
                rejected.append({"id": None, "source": source, "state": "rejected",
                                 "error": str(exc), "clips": []})  # fmt: skip
                if not json_output:
                    err_console().print(f"[red]✗[/] {source}: {exc}")
                continue
            ids.append(sub.video_id)
            if sub.existing:
                existing.add(sub.video_id)
                if not json_output:
                    err_console().print(
                        f"[yellow]•[/] {source}: already ingested as video {sub.video_id} "
                        f"({sub.state}); not ingesting it again"
                    )
            elif not json_output:
                err_console().print(f"[green]+[/] {source}: video {sub.video_id}")
        async with app.open_async():
            await defer_dispatch()
            if wait and ids:
                await _run_until_done(db, ids, show=sys.stderr.isatty() and not json_output)
        reports = await video_reports(db, ids)
    for r in rejected:
        if json_output:
            print_json(r)
    for vid in dict.fromkeys(ids):
        report = reports[vid] | {"existing": vid in existing}
        if json_output:
            print_json(report)
        else:
            _print_video(report)
    failed = rejected or [r for r in reports.values() if r["state"].endswith("_failed")]
    return 1 if failed else 0


async def _run_until_done(db: Any, ids: list[int], *, show: bool) -> None:
    import asyncio
    import contextlib

    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from heaters.db import fetch_all
    from heaters.domain.states import VIDEO_DONE_STATES, is_failed
    from workers.app import run_worker
    from workers.runtime import close_runtime

    worker = asyncio.create_task(run_worker(install_signal_handlers=False))
    progress = Progress(
        SpinnerColumn(), TextColumn("video {task.fields[vid]}"), BarColumn(),
        TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err_console(), disable=not show, transient=False,
    )  # fmt: skip
    tasks = {vid: progress.add_task("queued", total=3, vid=vid) for vid in dict.fromkeys(ids)}
    try:
        with progress:
            while True:
                async with db.acquire() as conn:
                    rows = await fetch_all(db.q.video_states(conn, ids=list(tasks)))
                finished = 0
                for row in rows:
                    done, label = _STEPS.get(row["state"], (0, row["state"]))
                    progress.update(tasks[row["id"]], completed=done, description=label)
                    retry_pending = is_failed(row["state"]) and row["next_attempt_at"] is not None
                    if row["state"] in VIDEO_DONE_STATES or (
                        is_failed(row["state"]) and not retry_pending
                    ):
                        finished += 1
                if finished == len(tasks):
                    break
                if worker.done():
                    worker.result()  # re-raises a worker crash
                    break
                await asyncio.sleep(0.25)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        await close_runtime()


def _print_video(report: dict[str, Any]) -> None:
    from rich.table import Table

    state = report["state"]
    colour = "red" if state.endswith("_failed") else "green" if state == "detected" else "cyan"
    head = f"video {report['id']}: [{colour}]{state}[/]  {report['source']}"
    if report["error"]:
        head += f"\n  reason: {report['error']}"
    out_console().print(head)
    if report["frame_count"]:
        out_console().print(
            f"  {report['width']}x{report['height']}, {report['fps']:.3f} fps, "
            f"{report['frame_count']} frames, {report['duration_seconds']:.2f} s"
        )
    if report["clips"]:
        table = Table(
            "clip", "frames [start, end)", "seconds", "state", "boundary (confidence)", box=None
        )
        for c in report["clips"]:
            kind = c["transition_kind"] or ("cut" if c["confidence"] is not None else "")
            conf = f" ({c['confidence']:.2f})" if c["confidence"] is not None else ""
            table.add_row(
                str(c["id"]),
                f"{c['start_frame']}–{c['end_frame']}",
                f"{c['start_seconds']:.3f}–{c['end_seconds']:.3f}",
                c["state"],
                kind + conf,
            )
        out_console().print(table)
