"""``heaters detect``: the scene detector alone, no database (owned by the scenes work)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

# numpy's OpenBLAS starts a spinning thread per core when numpy is imported; detection never
# calls BLAS, and on the 2-core bench machine those threads took ~6 % of the CPU time away
# from the decoding threads. Only a default: a user's own setting wins. Set before numpy's
# first import (below), which in the `heaters` process is this one.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from heaters.media.scenes import DetectorParams, SceneResult

_DEFAULTS = DetectorParams()


@click.command("detect")
@click.argument("video", type=click.Path(path_type=Path, dir_okay=False), metavar="VIDEO")
@click.option(
    "--threshold",
    "-t",
    type=click.FloatRange(min=0.01),
    default=_DEFAULTS.threshold,
    show_default=True,
    help="Adaptive threshold: a frame is a cut when its change score is at least this many "
    "times the mean score of its neighbours. Lower finds more cuts.",
)
@click.option(
    "--min-scene-len",
    "-m",
    type=click.IntRange(min=1),
    default=_DEFAULTS.min_scene_len,
    show_default=True,
    help="Minimum shot length in frames: no cut closer than this to the previous cut "
    "(or to frame 0).",
)
@click.option(
    "--min-content",
    type=click.FloatRange(min=0.0),
    default=_DEFAULTS.min_content,
    show_default=True,
    help="Absolute floor of the change score (mean abs. HSV difference, 0-255) for a cut.",
)
@click.option(
    "--window",
    type=click.IntRange(min=1),
    default=_DEFAULTS.window,
    show_default=True,
    help="Frames on each side averaged for the adaptive threshold.",
)
@click.option(
    "--json",
    "json_output",
    is_flag=True,
    help='Print one JSON object: {"video", "frame_count", "fps", "fps_rational", "cuts"}.',
)
@click.option("--csv", is_flag=True, help="Print CSV rows: cut_frame,seconds.")
@click.option("--scores", is_flag=True, help='With --json, also include "scores" (one per frame).')
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar on stderr (default: only when stderr is a terminal).",
)
def detect_command(
    video: Path,
    threshold: float,
    min_scene_len: int,
    min_content: float,
    window: int,
    json_output: bool,
    csv: bool,
    scores: bool,
    progress: bool | None,
) -> None:
    """Detect the hard cuts (shot boundaries) of VIDEO and print them. No database is used.

    VIDEO is any file FFmpeg reads; its first video stream is used. A cut K means frame K
    (counted from 0 in decode order) is the first frame of a new shot. Seconds in the table
    and CSV are frame / average fps, for display only.

    Exit codes: 0 on success, 2 when the file cannot be read as video.
    """
    from heaters.errors import DetectError
    from heaters.media import scenes

    if json_output and csv:
        raise click.UsageError("--json and --csv are exclusive")
    params = DetectorParams(
        threshold=threshold, min_scene_len=min_scene_len, min_content=min_content, window=window
    )
    show_progress = sys.stderr.isatty() if progress is None else progress
    try:
        if show_progress:
            result = _detect_with_progress(video, params)
        else:
            result = scenes.detect(video, params)
    except DetectError as exc:
        click.echo(f"heaters detect: error: {exc}", err=True)
        raise SystemExit(2) from None

    fps = float(result.fps)
    if json_output:
        out: dict[str, object] = {
            "video": str(video),
            "frame_count": result.frame_count,
            "fps": fps,
            "fps_rational": f"{result.fps.numerator}/{result.fps.denominator}",
            "cuts": list(result.cuts),
        }
        if scores:
            out["scores"] = [round(s, 4) for s in result.scores]
        click.echo(json.dumps(out))
        return

    def seconds(frame: int) -> str:
        return f"{frame / fps:.3f}" if fps > 0 else ""

    if csv:
        click.echo("cut_frame,seconds")
        for cut in result.cuts:
            click.echo(f"{cut},{seconds(cut)}")
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{video.name}: {len(result.cuts)} cuts, {len(result.cuts) + 1} shots, "
        f"{result.frame_count} frames at {fps:.3f} fps"
    )
    table.add_column("#", justify="right")
    table.add_column("cut frame", justify="right")
    table.add_column("seconds (frame/fps)", justify="right")
    table.add_column("shot length (frames)", justify="right")
    bounds = [*result.cuts, result.frame_count]
    for i, cut in enumerate(result.cuts, 1):
        table.add_row(str(i), str(cut), seconds(cut), str(bounds[i] - cut))
    Console().print(table)


def _detect_with_progress(video: Path, params: DetectorParams) -> SceneResult:
    """Run :func:`heaters.media.scenes.detect` with a rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from heaters.media import scenes

    total = _frame_estimate(video)
    with Progress(
        TextColumn("[bold]detecting[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(video.name, total=total)
        return scenes.detect(video, params, on_progress=lambda n: bar.update(task, completed=n))


def _frame_estimate(video: Path) -> int | None:
    """Frames in the first video stream as the container states them, or None if unknown."""
    try:
        import av

        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            if stream.frames:
                return int(stream.frames)
            if stream.duration and stream.average_rate and stream.time_base:
                return int(stream.duration * stream.time_base * stream.average_rate)
    except Exception:  # the detector itself reports unreadable files
        return None
    return None
