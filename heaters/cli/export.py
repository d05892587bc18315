"""``heaters export``: cut lists for editors (``cuts``), versioned datasets for training
(``dataset``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from heaters.cli._common import err_console, print_json, run, setup_logging
from heaters.cli.options import json_option, verbose_option

_CUT_FORMATS = ("csv", "edl", "otio", "chapters", "ffmetadata", "json")
_CUT_STATES = ("all", "approved", "pending", "skipped", "archived")


@click.group("export")
def export_group() -> None:
    """Deliver the work: cut lists of a video, datasets of reviewed clips."""


@export_group.command("cuts")
@click.argument("video_id", type=int)
@click.option(
    "--format", "fmt", type=click.Choice(_CUT_FORMATS), default="csv", show_default=True,
    help="csv: PySceneDetect's scene list; edl: CMX 3600; otio: OpenTimelineIO; chapters: "
    "WebVTT; ffmetadata: ffmpeg chapters; json: frames, PTS seconds, state, confidence.",
)  # fmt: skip
@click.option(
    "--state", type=click.Choice(_CUT_STATES), default="all", show_default=True,
    help="Which shots: every live one, or those of one review outcome.",
)  # fmt: skip
@click.option("--transitions", is_flag=True, help="csv: list transition clips as rows too.")
@click.option(
    "--skip-cuts", is_flag=True, help="csv: no first 'Timecode List:' row (RFC 4180 CSV)."
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write to FILE (atomically) instead of stdout.",
)  # fmt: skip
@json_option
def cuts_command(
    video_id: int,
    fmt: str,
    state: str,
    transitions: bool,
    skip_cuts: bool,
    output: Path | None,
    json_output: bool,
) -> None:
    """Write the cut list of VIDEO_ID (superseded clips never appear).

    Times come from the frame index (PTS), so variable-frame-rate videos get true times.
    With -o and --json, one JSON line says what was written.
    """
    setup_logging()
    import contextlib

    from heaters.deliver import DeliverError

    console = err_console()
    spinner = (
        console.status(f"cut list of video {video_id}…")
        if console.is_terminal and not json_output
        else contextlib.nullcontext()
    )
    try:
        with spinner:
            text, shots, n_transitions = run(
                _cuts(video_id, fmt, state, not skip_cuts, transitions)
            )
    except DeliverError as exc:
        err_console().print(f"[red]{exc}[/]")
        raise SystemExit(1) from None
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    part = output.with_name(f".{output.name}.part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, output)
    info = {
        "video_id": video_id, "format": fmt, "state": state, "path": str(output),
        "bytes": output.stat().st_size, "shots": shots, "transitions": n_transitions,
    }  # fmt: skip
    if json_output:
        print_json(info)
    else:
        err_console().print(
            f"wrote {fmt} cut list of video {video_id} to {output} "
            f"({shots} shots, {n_transitions} transitions)"
        )


async def _cuts(
    video_id: int, fmt: str, state: str, cut_list: bool, transitions: bool
) -> tuple[str, int, int]:
    import asyncio

    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.deliver.cut_source import load_cut_list
    from heaters.deliver.cutlists import render

    await asyncio.to_thread(ensure_schema)
    async with Database.connect(max_size=2) as db:
        cl = await load_cut_list(db, video_id, state)
    text = render(cl, fmt, include_cut_list=cut_list, transitions=transitions)
    return text, len(cl.shots), len(cl.transitions)


@export_group.command("dataset")
@click.argument("name")
@click.option(
    "--state", type=click.Choice(("approved", "embedded")), default=None,
    help="approved: every approved clip with its file exported (default on the first export); "
    "embedded: only clips with their embedding.",
)  # fmt: skip
@click.option(
    "--video", "video_ids", type=int, multiple=True,
    help="Only clips of this video (repeat for more; default: every video).",
)  # fmt: skip
@click.option(
    "--tag", "tags", multiple=True,
    help="Only clips with this tag (repeat: clips with any of them; kept by later exports "
    "until given again). Tags: heaters tag list.",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(("webdataset", "parquet")), default=None,
    help="webdataset: tar shards (mp4, json, txt, jpg, npy per clip); parquet: one row per "
    "clip with its mp4 bytes. Default webdataset; fixed by the first export.",
)  # fmt: skip
@click.option(
    "--media", type=click.Choice(("bytes", "files")), default=None,
    help="Parquet only: bytes (default) keeps each clip in the row's mp4 column; files writes "
    "the clips as mp4 files beside each Parquet file (column mp4_path, relative to the "
    "dataset folder). Fixed by the first export.",
)  # fmt: skip
@click.option(
    "-o", "--output", "target", default=None,
    help="DIR or s3://bucket/prefix; needed on the first export, then fixed.",
)  # fmt: skip
@click.option(
    "--shard-size", type=click.IntRange(min=1), default=None,
    help="Samples per tar shard / rows per Parquet file (default 256; 10000 for Parquet with "
    "--media files; kept).",
)  # fmt: skip
@json_option
@verbose_option
def dataset_command(
    name: str,
    state: str | None,
    video_ids: tuple[int, ...],
    tags: tuple[str, ...],
    fmt: str | None,
    media: str | None,
    target: str | None,
    shard_size: int | None,
    json_output: bool,
    verbose: int,
) -> None:
    """Export the next version of dataset NAME (or resume one a crash interrupted).

    Version N+1 holds the clips the selection matches now; it writes only the clips added
    since version N (and those of files it had to drop), lists what was added and removed in
    its dataset.json, and never rewrites an earlier version's files. The dataset holds the
    clips themselves (no path into HEATERS_HOME): a copy of its folder loads anywhere, e.g.
    datasets.load_dataset("parquet", data_files="DIR/v000001/*.parquet"). Each shard has
    its statistics beside it (…_stats.json: clips, bytes, frames, durations).
    """
    setup_logging(verbose)
    from heaters.deliver import DeliverError
    from heaters.errors import StorageError

    show = err_console().is_terminal and not json_output
    try:
        result = run(
            _dataset(
                name,
                state,
                list(video_ids),
                fmt,
                target,
                shard_size,
                show,
                media=media,
                tags=[t.strip().lower() for t in tags],
            )
        )
    except (DeliverError, StorageError) as exc:
        err_console().print(f"[red]{exc}[/]")
        raise SystemExit(1) from None
    if json_output:
        print_json(result.summary())
        return
    if result.status == "unchanged":
        err_console().print(
            f"dataset {name}: nothing changed since version {result.version} "
            f"({result.clips} clips); no new version"
        )
    else:
        err_console().print(
            f"dataset {name} version {result.version} {result.status}: {result.clips} clips "
            f"(+{len(result.added)} −{len(result.removed)}), {len(result.files_written)} files "
            f"written, manifest {result.target}/{result.manifest}"
        )
    if result.waiting:
        err_console().print(f"{result.waiting} approved clips are not exported yet (not included)")


async def _dataset(
    name: str,
    state: str | None,
    video_ids: list[int],
    fmt: str | None,
    target: str | None,
    shard_size: int | None,
    show_progress: bool,
    *,
    media: str | None = None,
    tags: list[str] | None = None,
) -> Any:
    import asyncio
    import contextlib

    from heaters.config import get_settings
    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.deliver.datasets import Progress, export_dataset
    from heaters.storage import storage_from_url

    await asyncio.to_thread(ensure_schema)
    s = get_settings()
    source = storage_from_url(s.storage_url or f"file://{s.storage_root}")
    stack = contextlib.ExitStack()
    callback = None
    if show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        bar = stack.enter_context(
            Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files {task.fields[files]}"),
                TimeRemainingColumn(),
                console=err_console(),
                transient=True,
            )
        )
        task = bar.add_task(f"dataset {name}", total=None, files="0/0")

        def callback(p: Progress) -> None:
            if p.phase == "write":
                bar.update(
                    task, completed=p.done, total=p.total or None,
                    files=f"{p.files_done}/{p.files_total}",
                )  # fmt: skip

    try:
        async with Database.connect(max_size=3) as db:
            return await export_dataset(
                db, source, name, format=fmt, target=target, state=state,
                video_ids=video_ids or None, shard_size=shard_size, media=media,
                tags=tags or None, progress=callback,
            )  # fmt: skip
    finally:
        stack.close()
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


__all__ = ["cuts_command", "dataset_command", "export_group"]
