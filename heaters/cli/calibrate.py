"""``heaters detect``: the detector on one file, and the detector profiles of collections.

``heaters detect VIDEO [OPTIONS]`` is the stand-alone detector (``heaters.cli.detect``,
unchanged: any first argument that is not one of the subcommands below goes to it).
The subcommands fit the detector to what reviewers decided (issue 22; see
``heaters.pipeline.profiles`` and ``docs/detection.md``, "Calibration from review"):

- ``heaters detect calibrate --collection NAME [--json]``
- ``heaters detect profiles [--collection NAME] [--json]``
- ``heaters detect activate NAME VERSION [--json]``
- ``heaters detect rerun --collection NAME [--json]``
"""

from __future__ import annotations

from typing import Any

import click

from heaters.cli._common import err_console, out_console, print_json, run, setup_logging
from heaters.cli.options import json_option, verbose_option

_FALLBACK = "heaters.cli.detect:detect_command"


def _detect_command() -> click.Command:
    import importlib

    module, _, attr = _FALLBACK.partition(":")
    command = getattr(importlib.import_module(module), attr)
    assert isinstance(command, click.Command)
    return command


class DetectGroup(click.Group):
    """A group whose first argument, when it is not one of its subcommands (nor ``--help``),
    goes with every other argument to the stand-alone ``detect`` command: ``heaters detect
    VIDEO …`` works as before, ``heaters detect calibrate …`` is a subcommand. Its help shows
    both."""

    _KEY = "heaters.detect.file_args"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        help_names = set(ctx.help_option_names)
        if args and args[0] not in self.commands and args[0] not in help_names:
            ctx.meta[self._KEY] = list(args)
            return []
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        if self._KEY in ctx.meta:
            command = _detect_command()
            with command.make_context(ctx.info_name, ctx.meta[self._KEY], parent=ctx.parent) as sub:
                return command.invoke(sub)
        return super().invoke(ctx)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "VIDEO [OPTIONS] | COMMAND [ARGS]...")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        command = _detect_command()
        sub = command.make_context(ctx.info_name, [], parent=ctx.parent, resilient_parsing=True)
        options = [p for p in command.get_params(sub) if isinstance(p, click.Option)]
        rows = [r for p in options if (r := p.get_help_record(sub)) is not None]
        with formatter.section("Options of heaters detect VIDEO"):
            formatter.write_dl(rows)
        self.format_commands(ctx, formatter)


@click.group("detect", cls=DetectGroup, no_args_is_help=True)
def detect_group() -> None:
    """Detect shots in VIDEO (a file: no database, nothing stored), or manage the detector
    profiles that fit the pipeline's detector to a collection's footage.

    heaters detect VIDEO [OPTIONS] runs the fast detector (or TransNetV2) on one file and
    prints the cuts; its options are listed below.

    The commands learn from review: every settled split, merge, moved cut and approved clip
    is a boundary label; calibrate re-fits the detector's thresholds to a collection's
    labels (cross-validated by video) and stores a versioned profile, activated only when it
    beats the active one; new videos of the collection are detected with the active
    profile; rerun re-detects what nobody has reviewed yet.
    """


collection_option = click.option(
    "--collection",
    "-c",
    default="default",
    show_default=True,
    metavar="NAME",
    help="The collection (heaters ingest --collection).",
)


@detect_group.command("calibrate")
@collection_option
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Cross-validation folds (by video; fewer when there are fewer labelled videos).",
)
@click.option(
    "--tolerance",
    type=click.IntRange(min=0, max=5),
    default=1,
    show_default=True,
    help="Frames a predicted cut may be off a labelled one and still count as found.",
)
@json_option
@verbose_option
def calibrate_command(
    collection: str, folds: int, tolerance: int, json_output: bool, verbose: int
) -> None:
    """Fit the detector's thresholds to the reviewed videos of a collection.

    Uses the stored per-frame features (no decoding) and the boundary labels of the
    collection's settled review decisions. Prints precision / recall / F1 on held-out
    videos before (the active profile, or the defaults) and after (the thresholds fitted
    without them), stores the result as the collection's next profile version and activates
    it only when its held-out F1 is higher; otherwise it is kept and reported (activate it
    with heaters detect activate). --json: one object. Exit code 1 when nothing can be
    calibrated (no reviewed video), 0 otherwise.
    """
    from heaters.pipeline.profiles import ProfileError, calibrate_collection

    setup_logging(verbose)

    async def go() -> dict[str, Any]:
        async with _database() as db:
            got = await calibrate_collection(db, collection, folds=folds, tol=tolerance)
            return got.as_dict()

    try:
        report = run(go())
    except ProfileError as exc:
        _fail(str(exc), json_output)
    if json_output:
        print_json(report)
        return
    from rich.table import Table

    table = Table("held-out", "precision", "recall", "F1", "found", "false", "missed", box=None)
    for name, key in (("defaults", "defaults"), ("before", "before"), ("after", "after")):
        c = report[key]
        table.add_row(
            name, f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}",
            str(c["tp"]), str(c["fp"]), str(c["fn"]),
        )  # fmt: skip
    out = out_console()
    out.print(
        f"collection {collection}: profile version {report['version']} from "
        f"{len(report['videos'])} videos ({report['units']}"
        f"{', cross-validated' if report['cross_validated'] else ', not cross-validated'})"
    )
    out.print(table)
    changed = ", ".join(f"{k}={v}" for k, v in report["params_changed"].items()) or "none"
    out.print(f"thresholds changed from the defaults: {changed}")
    colour = "green" if report["activated"] else "yellow"
    out.print(f"[{colour}]{'activated' if report['activated'] else 'not activated'}[/]: "
              f"{report['reason']}")  # fmt: skip


@detect_group.command("profiles")
@click.option("--collection", "-c", default=None, metavar="NAME", help="Only this collection.")
@json_option
def profiles_command(collection: str | None, json_output: bool) -> None:
    """List the detector profiles: collection, version, active, held-out F1 before / after,
    training videos, changed thresholds. --json: one object per profile."""
    from heaters.pipeline.profiles import list_profiles

    async def go() -> list[Any]:
        async with _database() as db:
            return await list_profiles(db)

    profiles = [p for p in run(go()) if collection is None or p.collection == collection]
    if json_output:
        for p in profiles:
            print_json(p.as_dict())
        return
    if not profiles:
        err_console().print("no detector profile yet: heaters detect calibrate --collection NAME")
        return
    from rich.table import Table

    table = Table(
        "collection", "version", "active", "F1 before", "F1 after", "videos", "changed",
        "created", box=None,
    )  # fmt: skip
    for p in profiles:
        f = p.figures
        table.add_row(
            p.collection, str(p.version), "yes" if p.active else "",
            _f1(f.get("before")), _f1(f.get("after")), str(len(p.training_video_ids)),
            ", ".join(f"{k}={v}" for k, v in (f.get("changed") or {}).items()) or "-",
            p.created_at.strftime("%Y-%m-%d %H:%M") if p.created_at else "",
        )  # fmt: skip
    out_console().print(table)


@detect_group.command("activate")
@click.argument("collection", metavar="NAME")
@click.argument("version", type=click.IntRange(min=1))
@json_option
def activate_command(collection: str, version: int, json_output: bool) -> None:
    """Make VERSION of collection NAME's profiles the active one (roll back or forward): the
    collection's new videos are detected with it. Exit code 1 when there is no such
    version."""
    from heaters.pipeline.profiles import ProfileError, activate

    async def go() -> Any:
        async with _database() as db:
            return await activate(db, collection, version)

    try:
        profile = run(go())
    except ProfileError as exc:
        _fail(str(exc), json_output)
    if json_output:
        print_json(profile.as_dict())
    else:
        out_console().print(f"collection {collection}: profile version {version} is active")


@detect_group.command("rerun")
@collection_option
@json_option
@verbose_option
def rerun_command(collection: str, json_output: bool, verbose: int) -> None:
    """Re-detect a collection's detected videos with its active profile (the defaults when
    none), from their stored features: the clips a reviewer decided, an edit made, a
    settling decision touched or someone holds keep their boundaries; the others are
    replaced, every video in one transaction. --json: one object per video."""
    from heaters.pipeline.profiles import ProfileError, rerun_collection

    setup_logging(verbose)

    async def go() -> Any:
        from heaters.config import get_settings
        from heaters.storage import storage_from_url

        s = get_settings()
        storage = storage_from_url(s.storage_url or f"file://{s.storage_root}")
        async with _database() as db:
            return await rerun_collection(db, collection, storage=storage)

    try:
        profile, videos = run(go())
    except ProfileError as exc:
        _fail(str(exc), json_output)
    version = profile.version if profile else None
    if json_output:
        for v in videos:
            print_json(
                {"collection": collection, "profile_version": version, "video_id": v.video_id,
                 "kept": v.kept, "replaced": v.replaced, "made": v.made, "skipped": v.skipped}
            )  # fmt: skip
        return
    out = out_console()
    out.print(
        f"collection {collection}: "
        + (f"profile version {version}" if version else "the detector's defaults")
        + f", {len(videos)} videos"
    )
    for v in videos:
        out.print(
            f"  video {v.video_id}: skipped ({v.skipped})"
            if v.skipped
            else f"  video {v.video_id}: {v.kept} reviewed clips kept, {v.replaced} replaced "
            f"by {v.made}"
        )


def _f1(counts: Any) -> str:
    return f"{counts['f1']:.3f}" if counts else "-"


def _fail(message: str, json_output: bool) -> Any:
    if json_output:
        print_json({"error": message})
    else:
        err_console().print(f"[red]✗[/] {message}", soft_wrap=True)
    raise SystemExit(1)


def _database() -> Any:
    """An open database, migrated first (as every command that uses one)."""
    import contextlib

    from heaters.db import Database
    from heaters.db.migrate import ensure_schema

    @contextlib.asynccontextmanager
    async def opened() -> Any:
        import asyncio

        await asyncio.to_thread(ensure_schema)
        async with Database.connect(max_size=2) as db:
            yield db

    return opened()
