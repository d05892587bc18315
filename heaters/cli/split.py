"""``heaters split``: detect a video's shots and write each as its own file, no database."""

from __future__ import annotations

import itertools
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from heaters.cli.detect import DetectionChoice, detect_video, detection_options, exit_on_error
from heaters.cli.shots import (
    OutputChoice,
    Progress,
    Shots,
    build_shots,
    output_dir_option,
    output_options,
    shot_dicts,
    write_outputs,
)

if TYPE_CHECKING:
    from heaters.media.split import PacketIndex


@click.command("split")
@click.argument("video", type=click.Path(path_type=Path, dir_okay=False), metavar="VIDEO")
@output_dir_option(
    "Folder of the shot files (and of the --save-images pictures); made if missing. Files are "
    "named VIDEO-Scene-001.mp4… as `scenedetect split-video` names them; existing files of "
    "the same name are replaced."
)
@click.option(
    "--copy",
    is_flag=True,
    help="Stream copy instead of re-encoding: fast and lossless, but a file can only start "
    "on a keyframe, so each shot starts at the keyframe at or before its first frame and ends "
    "where the next file starts (two cuts within one GOP make one file); the files cover the "
    "whole video. Needs closed GOPs (most H.264/H.265 encodes).",
)
@click.option(
    "--crf",
    type=click.IntRange(0, 51),
    default=22,
    show_default=True,
    help="H.264 quality of the re-encoded files (lower is better; scenedetect's default).",
)
@click.option(
    "--preset",
    default="veryfast",
    show_default=True,
    help="x264 preset of the re-encoded files (ultrafast … veryslow).",
)
@detection_options
@output_options
@click.option(
    "--json",
    "json_output",
    is_flag=True,
    help='Print one JSON object: {"video", "detector", "frame_count", "fps", "mode" '
    '("exact" or "copy"), "output_dir", "files": [{"scene", "start_frame", "end_frame", '
    '"frames", "start_seconds", "end_seconds", "kind", "confidence", "file", "images"?}], '
    '"outputs": {"scene_lists", "images", "html"}, "seconds"}; with --copy each file also '
    'has "shots": the scene numbers of the detected shots it starts.',
)
def split_command(
    video: Path,
    output: Path,
    copy: bool,
    crf: int,
    preset: str,
    detection: DetectionChoice,
    outputs: OutputChoice,
    json_output: bool,
) -> None:
    """Detect the shots of VIDEO and write each shot as its own file into --output, like
    `scenedetect split-video`. No database is used.

    By default every file is re-encoded from VIDEO frame-exactly (H.264 CRF --crf, AAC audio
    cut to the same span): a file holds exactly the frames of its shot, [first, next shot's
    first), and a shot starts on its cut frame whatever the keyframes. --copy trades that for
    speed (keyframes; see below). Transition frames (dissolves, fades) belong to no shot
    unless --transitions makes them files of their own. The other outputs of `heaters detect`
    (--scene-list, --save-images, --html) can be written in the same run; they list the
    shots as detected (with --copy too).

    Progress goes to stderr; stdout has one summary line per output, or the --json object.
    Exit codes: 0 on success, 2 when VIDEO cannot be read or split, or a file cannot be
    written.
    """
    started = time.monotonic()
    result = detect_video(video, detection, command="split")
    steps = Progress(detection.progress, "split")
    shots = exit_on_error(
        "split", lambda: build_shots(video, result, transitions=outputs.transitions)
    )
    output.mkdir(parents=True, exist_ok=True)
    if copy:
        files = exit_on_error(
            "split", lambda: _seekable(shots, output, steps, lambda v, i: _split_copy(
                shots, v, i, output, steps))
        )  # fmt: skip
    else:
        paths = exit_on_error(
            "split", lambda: _seekable(shots, output, steps, lambda v, i: _split_exact(
                shots, v, i, output, steps, crf, preset))
        )  # fmt: skip
    written = exit_on_error(
        "split",
        lambda: write_outputs(shots, outputs, out_dir=output, progress=steps),
    )  # fmt: skip
    if not copy:
        files = shot_dicts(shots, paths)  # after the images: each shot lists its own
    mode = "copy" if copy else "exact"
    if json_output:
        click.echo(
            json.dumps(
                {
                    "video": str(video),
                    "detector": result.detector,
                    "frame_count": result.frame_count,
                    "fps": float(result.fps),
                    "mode": mode,
                    "output_dir": str(output),
                    "files": files,
                    "outputs": written,
                    "seconds": round(time.monotonic() - started, 3),
                }
            )
        )
        return
    how = "stream copy from keyframes" if copy else f"re-encoded frame-exactly, CRF {crf}"
    click.echo(f"{len(files)} files in {output} ({how}) from {len(shots.listed)} shots")
    for path in written["scene_lists"]:
        click.echo(f"scene list: {path}")
    if written["html"]:
        click.echo(f"report: {written['html']}")
    if written["images"]:
        click.echo(f"{written['images']} images in {output}")


T = TypeVar("T")


def _seekable(
    shots: Shots, out_dir: Path, steps: Progress, split: Callable[[Path, PacketIndex], T]
) -> T:
    """``split(video, its packet index)`` on the video itself; when the video cannot be cut
    where it lies (a container that seeks badly, as MPEG-TS: the export's frame count check
    fails), on a stream copy of it in a temporary MP4 file beside the output, with the same
    frames (one line on stderr says so)."""
    from heaters.errors import DetectError
    from heaters.media.export import ExportError
    from heaters.media.split import remux_to_mp4

    try:
        return split(shots.video, shots.index)
    except ExportError as exc:
        steps.warn(
            f"{shots.video.name} cannot be cut where it lies ({exc}); copying its streams to a "
            "temporary MP4 file and cutting that"
        )
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".heaters-split-") as tmp:
        copy = Path(tmp) / f"{shots.video.stem}.mp4"
        index = remux_to_mp4(shots.video, copy)
        if index.frame_count != shots.index.frame_count:
            raise DetectError(
                f"{shots.video.name}: its MP4 copy has {index.frame_count} frames, not "
                f"{shots.index.frame_count}; it cannot be split"
            )
        return split(copy, index)


def _split_exact(
    shots: Shots,
    video: Path,
    index: PacketIndex,
    out_dir: Path,
    steps: Progress,
    crf: int,
    preset: str,
) -> list[Path | None]:
    """Each listed shot re-encoded from ``video`` (:func:`encode_clip_exact`) at the times of
    ``index``; the files, in shot order."""
    from heaters.media.export import EncodeOptions, encode_clip_exact

    pts, end = index.pts_seconds, index.end_seconds
    n = len(pts)
    paths: list[Path | None] = []
    with steps.steps("splitting", len(shots.listed)) as advance:
        for number, span in enumerate(shots.listed, 1):
            path = out_dir / f"{shots.name(number)}.mp4"
            first, stop = span.start_frame, span.end_frame
            start_s = pts[first]
            encode_clip_exact(
                video,
                path,
                start_seconds=start_s,
                frame_count=stop - first,
                duration_seconds=(pts[stop] if stop < n else end) - start_s,
                prev_seconds=pts[first - 1] if first > 0 else None,
                next_seconds=pts[first + 1] if first + 1 < n else None,
                encode=EncodeOptions(crf=crf, preset=preset),
            )
            paths.append(path)
            advance(path.name)
    return paths


def _split_copy(
    shots: Shots, video: Path, index: PacketIndex, out_dir: Path, steps: Progress
) -> list[dict[str, object]]:
    """``video`` cut at the keyframes (of ``index``) at or before its shots' starts (stream
    copy); the ``--json`` ``files`` list (each with the scene numbers it starts). Says on
    stderr which shots moved."""
    from heaters.media.split import copy_span, snap_to_keyframes

    starts = [s.start_frame for s in shots.listed]
    snapped = snap_to_keyframes(starts, index.keyframes)
    moved = [(n, s) for n, s in enumerate(starts, 1) if s not in snapped]
    if moved:
        steps.warn(
            f"--copy: {len(moved)} of {len(starts)} shots do not start on a keyframe; their "
            "files start at the keyframe before: "
            + ", ".join(f"shot {n} at frame {_before(s, snapped)} instead of {s}" for n, s in moved)
        )
    bounds = [*snapped, index.frame_count]
    cl = shots.cut_list
    files: list[dict[str, object]] = []
    with steps.steps("copying", len(snapped)) as advance:
        for number, (first, stop) in enumerate(itertools.pairwise(bounds), 1):
            path = out_dir / f"{shots.name(number)}.mp4"
            copy_span(video, path, index, first, stop)
            files.append(
                {
                    "scene": number,
                    "start_frame": first,
                    "end_frame": stop,
                    "frames": stop - first,
                    "start_seconds": round(cl.seconds(first), 6),
                    "end_seconds": round(cl.seconds(stop), 6),
                    "shots": [n for n, s in enumerate(starts, 1) if _before(s, snapped) == first],
                    "file": str(path),
                }
            )
            advance(path.name)
    return files


def _before(frame: int, snapped: list[int]) -> int:
    """The file start (a snapped keyframe) at or before ``frame``."""
    return max(s for s in snapped if s <= frame)
