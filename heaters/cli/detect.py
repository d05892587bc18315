"""``heaters detect``: a shot-boundary detector alone, no database (owned by the scenes work)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

# numpy's OpenBLAS starts a spinning thread per core when numpy is imported; detection never
# calls BLAS, and on the 2-core bench machine those threads took ~6 % of the CPU time away
# from the decoding threads. Only a default: a user's own setting wins. Set before numpy's
# first import (below), which in the `heaters` process is this one.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from heaters.cli.options import grouped
from heaters.cli.shots import (
    OutputChoice,
    Progress,
    build_shots,
    output_dir_option,
    output_options,
    write_outputs,
)
from heaters.media import detectors
from heaters.media.scenes import DetectorParams, SceneResult

_DEFAULTS = DetectorParams()


@dataclass(frozen=True)
class DetectionChoice:
    """The detector and its settings as the options of :data:`detection_options` chose them:
    :class:`DetectorParams`' ``threshold``, ``min_scene_len`` (frames), ``min_content`` (0-255)
    and ``window`` (frames); ``detector`` (a name of ``detectors.DETECTORS``);
    ``second_opinion`` (TransNetV2 checks the fast detector); ``progress`` on stderr (None:
    when stderr is a terminal)."""

    threshold: float
    min_scene_len: int
    min_content: float
    window: int
    detector: str
    second_opinion: bool
    progress: bool | None

    @property
    def params(self) -> DetectorParams:
        """The fast detector's parameters."""
        return DetectorParams(
            threshold=self.threshold, min_scene_len=self.min_scene_len,
            min_content=self.min_content, window=self.window,
        )  # fmt: skip


def _param_option(field: str, *short: str, type: click.ParamType[Any, Any], help: str) -> Any:
    """``--FIELD`` (dashes for underscores) for a :class:`DetectorParams` field, its default
    (shown in ``--help``) the field's."""
    return click.option(
        f"--{field.replace('_', '-')}", *short, field, type=type,
        default=getattr(_DEFAULTS, field), show_default=True, help=help,
    )  # fmt: skip


detection_options = grouped(
    "detection",
    DetectionChoice,
    [
        _param_option(
            "threshold", "-t", type=click.FloatRange(min=0.01),
            help="Adaptive threshold: a frame is a cut when its change score is at least this "
            "many times the mean score of its neighbours. Lower finds more cuts.",
        ),
        _param_option(
            "min_scene_len", "-m", type=click.IntRange(min=1),
            help="Minimum shot length in frames: no cut closer than this to the previous cut "
            "(or to frame 0).",
        ),
        _param_option(
            "min_content", type=click.FloatRange(min=0.0),
            help="Absolute floor of the change score (mean abs. HSV difference, 0-255) for a "
            "cut.",
        ),
        _param_option(
            "window", type=click.IntRange(min=1),
            help="Frames on each side averaged for the adaptive threshold.",
        ),
        click.option(
            "--detector",
            type=click.Choice(sorted(detectors.DETECTORS)),
            default="fast",
            show_default=True,
            help="fast: the default feature detector (no model); transnetv2: the TransNetV2 "
            "network (needs the `neural` extra; ignores the threshold options above).",
        ),
        click.option(
            "--second-opinion",
            is_flag=True,
            help="fast detector only: check its uncertain cuts, suggestions and spans with "
            "TransNetV2 on windows around them (needs the `neural` extra; about 4x the CPU "
            "time). Suggestions the network confirms become cuts; nothing is dropped. Off by "
            "default: on the development set it found no boundary the fast detector missed "
            "(docs/detection.md).",
        ),
        click.option(
            "--progress/--no-progress",
            default=None,
            help="Progress on stderr: a bar on a terminal; when stderr is not one, a plain line "
            "per file or step written (detection itself shows no lines there). Default: on.",
        ),
    ],
)
"""The detector's options (``--threshold`` … ``--second-opinion``, ``--progress``), shared
by ``heaters detect`` and ``heaters split``; the command takes them as ``detection``, a
:class:`DetectionChoice`."""


@click.command("detect")
@click.argument("video", type=click.Path(path_type=Path, dir_okay=False), metavar="VIDEO")
@detection_options
@click.option(
    "--json",
    "json_output",
    is_flag=True,
    help='Print one JSON object: {"video", "detector", "frame_count", "fps", "fps_rational", '
    '"cuts", "cut_confidence", "transitions": [{"start_frame", "end_frame", "kind", '
    '"confidence"}], "suggestions": [{"frame", "confidence", "reason"}]}; suggestions are '
    "candidate cuts a rule rejected (reason brightness_only, camera_move, flash, local, "
    "too_close or weak; none from transnetv2).",
)
@click.option(
    "--csv",
    is_flag=True,
    help="Print CSV rows: type,start_frame,end_frame,kind,confidence,seconds (type cut, "
    "transition or suggestion; a cut's and a suggestion's end_frame is its start_frame; a "
    "suggestion's kind is the reason a rule rejected it).",
)
@click.option(
    "--features",
    "--scores",
    "features",
    is_flag=True,
    help='With --json, also include "feature_names" and "features" (one row per frame).',
)
@output_options
@output_dir_option("Folder of the --save-images pictures (made if missing).")
def detect_command(
    video: Path,
    detection: DetectionChoice,
    json_output: bool,
    csv: bool,
    features: bool,
    outputs: OutputChoice,
    output: Path,
) -> None:
    """Detect the shot boundaries of VIDEO: hard cuts and gradual transitions (dissolves,
    fades, wipes). No database is used.

    VIDEO is any file FFmpeg reads; its first video stream is used. A cut K means frame K
    (counted from 0 in decode order) is the first frame of a new shot; a transition
    [START, END) covers the frames that belong to neither shot. Every boundary has a
    confidence from 0 to 1. A suggestion is a candidate cut a rule rejected (below 0.5,
    with its reason), shown for review and never a cut. Seconds are frame / average fps,
    for display only.

    Like PySceneDetect's list-scenes, save-images and save-html, without a database:
    --scene-list writes the shots (PySceneDetect's CSV columns, or an EDL/OTIO), --save-images
    N pictures per shot into --output, --html a page of them (`heaters split` also cuts the
    shots into files).

    Exit codes: 0 on success, 2 when the file cannot be read as video or the chosen detector
    is not installed, or an output cannot be written.
    """
    if json_output and csv:
        raise click.UsageError("--json and --csv are exclusive")
    result = detect_video(video, detection, command="detect")
    written: dict[str, object] | None = None
    if outputs.any:
        written = exit_on_error(
            "detect",
            lambda: write_outputs(
                build_shots(video, result, transitions=outputs.transitions), outputs,
                out_dir=output, progress=Progress(detection.progress, "detect"),
            ),
        )  # fmt: skip

    fps = float(result.fps)
    if json_output:
        out: dict[str, object] = {
            "video": str(video),
            "detector": result.detector,
            "frame_count": result.frame_count,
            "fps": fps,
            "fps_rational": f"{result.fps.numerator}/{result.fps.denominator}",
            "cuts": list(result.cuts),
            "cut_confidence": [round(c, 4) for c in result.cut_confidence],
            "transitions": [t.as_dict() for t in result.transitions],
            "suggestions": [sg.as_dict() for sg in result.suggestions],
        }
        if features:
            names = _feature_names(result.detector, result.features.shape[1])
            out["feature_names"] = names
            out["features"] = [[round(float(x), 4) for x in row] for row in result.features]
        if written is not None:
            out["outputs"] = written
        click.echo(json.dumps(out))
        return

    def seconds(frame: int) -> str:
        return f"{frame / fps:.3f}" if fps > 0 else ""

    rows = _boundaries(result)
    if csv:
        click.echo("type,start_frame,end_frame,kind,confidence,seconds")
        for kind, start, end, name, conf in _with_suggestions(rows, result):
            click.echo(f"{kind},{start},{end},{name},{conf:.4f},{seconds(start)}")
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{video.name}: {len(result.cuts)} cuts, {len(result.transitions)} transitions, "
        f"{result.frame_count} frames at {fps:.3f} fps ({result.detector})"
    )
    table.add_column("#", justify="right")
    table.add_column("type")
    table.add_column("frames", justify="right")
    table.add_column("kind")
    table.add_column("confidence", justify="right")
    table.add_column("seconds (frame/fps)", justify="right")
    table.add_column("next shot (frames)", justify="right")
    starts = [start for _, start, _, _, _ in rows] + [result.frame_count]
    for i, (kind, start, end, name, conf) in enumerate(rows, 1):
        frames = str(start) if kind == "cut" else f"{start}-{end - 1}"
        after = end if kind == "transition" else start
        table.add_row(str(i), kind, frames, name or "-", f"{conf:.2f}", seconds(start),
                      str(max(0, starts[i] - after)))  # fmt: skip
    Console().print(table)


T = TypeVar("T")


def exit_on_error(command: str, work: Callable[[], T]) -> T:
    """``work()``; a :class:`~heaters.errors.HeatersError` (or an ``OSError`` writing a file)
    becomes one ``heaters COMMAND: error: …`` line on stderr and exit status 2."""
    from heaters.errors import HeatersError

    try:
        return work()
    except (HeatersError, OSError) as exc:
        click.echo(f"heaters {command}: error: {exc}", err=True)
        raise SystemExit(2) from None


def detect_video(video: Path, detection: DetectionChoice, *, command: str) -> SceneResult:
    """Run the detector ``detection`` (the options of :data:`detection_options`) asks for on
    ``video``.

    A file that cannot be read, or a detector that is not installed, is one line on stderr
    and exit status 2; bad option combinations are click usage errors.
    """
    if detection.second_opinion and detection.detector != "fast":
        raise click.UsageError("--second-opinion checks the fast detector's result")
    progress = detection.progress
    show_progress = sys.stderr.isatty() if progress is None else progress

    def run() -> SceneResult:
        result = _run(video, detection.params, detection.detector, show_progress)
        return _second_opinion(video, result) if detection.second_opinion else result

    return exit_on_error(command, run)


def _boundaries(result: SceneResult) -> list[tuple[str, int, int, str, float]]:
    """(type, start, end, kind, confidence) of every cut and transition, by start frame."""
    rows = [("cut", k, k, "", c) for k, c in zip(result.cuts, result.cut_confidence, strict=True)]
    rows += [
        ("transition", t.start_frame, t.end_frame, t.kind, t.confidence) for t in result.transitions
    ]
    return sorted(rows, key=lambda r: (r[1], r[0]))


def _with_suggestions(
    rows: list[tuple[str, int, int, str, float]], result: SceneResult
) -> list[tuple[str, int, int, str, float]]:
    """``rows`` and a ``("suggestion", frame, frame, reason, confidence)`` row per
    suggestion, by start frame."""
    more: list[tuple[str, int, int, str, float]] = [
        ("suggestion", sg.frame, sg.frame, sg.reason, sg.confidence) for sg in result.suggestions
    ]
    return sorted(rows + more, key=lambda r: (r[1], r[0]))


def _feature_names(detector: str, width: int) -> list[str]:
    from heaters.media import scores

    if width == len(scores.FEATURES) and detector.startswith("heaters-fast"):
        return list(scores.FEATURES)
    try:
        from heaters.media import transnet

        names = list(getattr(transnet, "FEATURE_COLUMNS", ()))
        if len(names) == width:
            return names
    except ImportError:
        pass
    return [f"f{i}" for i in range(width)]


def _second_opinion(video: Path, result: SceneResult) -> SceneResult:
    """TransNetV2's check of ``result``'s uncertain boundaries (exit 2 without torch); one
    line on stderr says what it did."""
    from heaters.media import transnet, verify

    try:
        checked, report = verify.second_opinion(video, result)
    except transnet.NeuralUnavailable as exc:
        click.echo(f"heaters detect: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo(
        f"heaters detect: second opinion: {len(report.windows)} windows, {report.runs} network "
        f"runs, {len(report.suggestions_promoted)} suggestions promoted to cuts "
        f"({report.seconds:.1f} s)",
        err=True,
    )
    return checked


def _run(video: Path, params: DetectorParams, detector: str, show_progress: bool) -> SceneResult:
    """Run the chosen detector (:mod:`heaters.media.detectors`), with a rich progress bar
    on stderr when asked."""
    def call(on_progress: Callable[[int], None] | None) -> SceneResult:
        chosen = detectors.get_detector(detector)
        ok, why = chosen.available()
        if not ok:
            click.echo(f"heaters detect: {why}", err=True)
            raise SystemExit(2)
        own = params if chosen.key == "fast" else None  # the thresholds are the fast detector's
        return detectors.detect_video(chosen, video, own, on_progress=on_progress)

    if not show_progress:
        return call(None)

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

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
        return call(lambda n: bar.update(task, completed=n))


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
