"""What ``heaters detect`` and ``heaters split`` write about a video's shots, no database:
a scene list (PySceneDetect CSV, EDL, OTIO…), N images per shot, an HTML report, and the
progress lines on stderr.

The shots are the detector's result turned into clips the way the pipeline does it
(:func:`heaters.domain.cuts.spans_from_boundaries`); times come from the file's packets
(:func:`heaters.media.split.packet_index`), as the frame index's do, so a scene list written
here equals the one ``heaters export cuts`` writes for the same video once ingested.
Heavy libraries (PyAV, OpenCV, OpenTimelineIO, Jinja2) are imported when used.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from heaters.cli.options import grouped

if TYPE_CHECKING:
    from heaters.deliver.cutlists import CutList
    from heaters.domain.cuts import ClipSpan
    from heaters.media.boundaries import SceneResult
    from heaters.media.split import PacketIndex

F = TypeVar("F", bound=Callable[..., Any])

#: PySceneDetect's file names: ``$VIDEO_NAME-Scene-$SCENE_NUMBER`` (split-video) and
#: ``…-$IMAGE_NUMBER`` (save-images).
SCENE_NAME = "{stem}-Scene-{scene}"


@dataclass(frozen=True)
class OutputChoice:
    """What ``--scene-list`` (paths), ``--save-images`` (images per shot, or None),
    ``--image-format`` (``jpg`` or ``webp``), ``--html`` (a path, or None) and
    ``--transitions`` (transitions as shots of their own) ask a command to write."""

    scene_list: tuple[Path, ...]
    save_images: int | None
    image_format: str
    html: Path | None
    transitions: bool

    @property
    def any(self) -> bool:
        """Whether any file is asked for (``--transitions`` alone writes none)."""
        return bool(self.scene_list or self.save_images or self.html is not None)


output_options = grouped(
    "outputs",
    OutputChoice,
    [
        click.option(
            "--scene-list",
            type=click.Path(path_type=Path, dir_okay=False),
            multiple=True,
            help="Write the shots to this file (repeat for several), its format by extension: "
            ".csv (PySceneDetect's "
            "scene list: `scenedetect load-scenes` reads it), .edl (CMX 3600), .otio "
            "(OpenTimelineIO), .vtt (WebVTT chapters), .ffmeta (ffmpeg chapters) or .json; "
            "the same files `heaters export cuts` writes.",
        ),
        click.option(
            "--save-images",
            type=click.IntRange(min=1),
            metavar="N",
            help="Write N images per shot into the output folder, picked as `scenedetect "
            "save-images -n N` does and named like it: VIDEO-Scene-001-01.jpg.",
        ),
        click.option(
            "--image-format",
            type=click.Choice(["jpg", "webp"]),
            default="jpg",
            show_default=True,
            help="Format of --save-images (quality 95).",
        ),
        click.option(
            "--html",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Write a page of the shots: number, frames, times, length, kind and the "
            "confidence of the boundary each starts on, with the --save-images pictures "
            "beside it (linked), or one small picture per shot embedded in the page. "
            "Opens offline.",
        ),
        click.option(
            "--transitions",
            is_flag=True,
            help="List (and write) the frames of each gradual transition as a shot of its own; "
            "by default they belong to no shot (an EDL/OTIO shows them as dissolves anyway).",
        ),
    ],
)
"""The options ``heaters detect`` and ``heaters split`` share; the command takes them as
``outputs``, an :class:`OutputChoice`."""


def output_dir_option(help: str) -> Callable[[F], F]:
    """``-o/--output``: the folder a command writes its files into (default ``.``), as the
    ``output`` parameter (a :class:`~pathlib.Path`)."""
    return click.option(
        "--output", "-o", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
        show_default=True, help=help,
    )  # fmt: skip


@dataclass(frozen=True)
class Shots:
    """A video's shots, numbered as PySceneDetect numbers scenes.

    ``listed``: the shots (and with ``--transitions`` the transition clips) in frame order;
    shot ``i`` of the list is scene number ``i + 1``. ``cut_list``: every clip, for the
    scene-list formats. ``index``: the file's frames from its packets.
    """

    video: Path
    result: SceneResult
    index: PacketIndex
    listed: tuple[ClipSpan, ...]
    cut_list: CutList
    transitions: bool
    images: dict[int, list[Path]] = field(default_factory=dict)

    def name(self, number: int) -> str:
        """``VIDEO-Scene-NNN`` of scene ``number`` (from 1; at least 3 digits, as
        PySceneDetect pads)."""
        width = max(3, math.floor(math.log10(max(len(self.listed), 1))) + 1)
        return SCENE_NAME.format(stem=self.video.stem, scene=f"{number:0{width}d}")


def build_shots(video: Path, result: SceneResult, *, transitions: bool = False) -> Shots:
    """The shots of ``result`` (a detection of ``video``) with their times.

    Raises
    ------
    DetectError
        If the file's packets do not match the frames the detector decoded (a damaged file:
        times and cuts would not line up; ``heaters ingest`` makes a frame-exact master).
    """
    from heaters.deliver.cutlists import cut_list_from_spans
    from heaters.domain.cuts import spans_from_boundaries
    from heaters.errors import DetectError
    from heaters.media.split import packet_index

    index = packet_index(video)
    if index.frame_count != result.frame_count:
        raise DetectError(
            f"{video.name}: {index.frame_count} video packets but {result.frame_count} frames "
            "decode; its shots cannot be cut frame-exactly (`heaters ingest` makes a "
            "frame-exact master of such files)"
        )
    spans = spans_from_boundaries(
        result.cuts, result.cut_confidence, result.transitions, index.pts_seconds,
        index.end_seconds,
    )  # fmt: skip
    listed = tuple(s for s in spans if transitions or not s.is_transition)
    cut_list = cut_list_from_spans(
        spans,
        media_url=video.resolve().as_uri(),
        title=video.name,
        fps=result.fps,
        pts_seconds=index.pts_seconds,
        duration_seconds=index.end_seconds,
    )
    return Shots(video, result, index, listed, cut_list, transitions)


def write_scene_list(shots: Shots, path: Path) -> str:
    """Write the scene list to ``path`` (format by extension); returns the format.

    Raises
    ------
    DeliverError
        For an extension no format writes.
    """
    from heaters.deliver.cutlists import format_of_path, render

    fmt = format_of_path(path)
    text = render(shots.cut_list, fmt, transitions=shots.transitions)
    _write_text(path, text)
    return fmt


def save_images(
    shots: Shots, out_dir: Path, count: int, image_format: str, progress: Progress
) -> dict[int, list[Path]]:
    """Write ``count`` images per listed shot into ``out_dir`` (one decode of the video);
    returns ``{scene number: [paths]}`` and keeps it in ``shots.images``.

    Raises
    ------
    KeyframeError
        If the video cannot be decoded or an image written.
    """
    from heaters.media.keyframes import extract_keyframes
    from heaters.media.split import image_frames

    out_dir.mkdir(parents=True, exist_ok=True)
    picks: list[tuple[str, str, int]] = []
    width = math.floor(math.log10(count)) + 2
    for number, span in enumerate(shots.listed, 1):
        frames = image_frames(span.start_frame, span.end_frame, count)
        picks += [(shots.name(number), f"{j:0{width}d}", f) for j, f in enumerate(frames, 1)]
    progress.note(f"saving {len(picks)} images ({count} per shot) to {out_dir}")
    written = extract_keyframes(shots.video, picks, out_dir, image_format=image_format, quality=95)
    images: dict[int, list[Path]] = {n: [] for n in range(1, len(shots.listed) + 1)}
    names = {shots.name(n): n for n in images}
    for k in written:
        # extract_keyframes names a file STRATEGY_TAG; PySceneDetect's name is STRATEGY-TAG.
        path = k.path.with_name(f"{k.strategy}-{k.tag}.{image_format}")
        os.replace(k.path, path)
        images[names[k.strategy]].append(path)
    shots.images.update(images)
    return images


def write_html(shots: Shots, path: Path, image_format: str = "jpg") -> None:
    """Write the HTML report of the shots to ``path``.

    The table has PySceneDetect's ``save-html`` columns (the scene-list CSV's, one
    definition) plus the kind (shot or the transition's kind) and the confidence of the
    boundary the shot starts on. Pictures: the ``--save-images`` files, linked relative to
    the page; else the middle frame of each shot, 320 px wide, embedded as a data URI. No
    script, no fetch: it opens offline.
    """
    import base64
    import csv
    import io
    import tempfile

    from jinja2 import Environment

    from heaters.deliver.cutlists import to_csv
    from heaters.media.keyframes import load_image

    rows = list(csv.reader(io.StringIO(
        to_csv(shots.cut_list, include_cut_list=False, transitions=shots.transitions)
    )))  # fmt: skip
    header, body = rows[0], rows[1:]
    pictures: list[list[str]] = []
    if shots.images:
        base = path.resolve().parent
        pictures = [
            [Path(os.path.relpath(p.resolve(), base)).as_posix() for p in shots.images[n]]
            for n in range(1, len(shots.listed) + 1)
        ]
    else:
        import cv2

        with tempfile.TemporaryDirectory() as tmp:
            quiet = Shots(shots.video, shots.result, shots.index, shots.listed, shots.cut_list,
                          shots.transitions)  # fmt: skip
            found = save_images(quiet, Path(tmp), 1, "jpg", Progress(False, "html"))
            for n in range(1, len(shots.listed) + 1):
                image = cv2.cvtColor(load_image(found[n][0]), cv2.COLOR_RGB2BGR)
                h, w = image.shape[:2]
                small = cv2.resize(image, (320, max(2, round(h * 320 / w))),
                                   interpolation=cv2.INTER_AREA)  # fmt: skip
                ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
                data = base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""
                pictures.append([f"data:image/jpeg;base64,{data}"])
    scenes = [
        {
            "cells": row,
            "kind": span.transition_kind or "shot",
            "confidence": "–" if span.confidence is None else f"{span.confidence:.2f}",
            "pictures": pics,
        }
        for row, span, pics in zip(body, shots.listed, pictures, strict=True)
    ]
    result = shots.result
    page = (
        Environment(autoescape=True)
        .from_string(_HTML)
        .render(
            title=shots.video.name,
            header=header,
            scenes=scenes,
            detector=result.detector,
            frames=result.frame_count,
            fps=f"{float(result.fps):.3f}",
            cuts=" ".join(row[2] for row in body[1:]),
        )
    )
    _write_text(path, page)


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}: {{ scenes|length }} shots</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; vertical-align: top; }
th { background: #eef3e6; }
td.kind { text-align: left; }
td.pictures { text-align: left; white-space: nowrap; }
td.pictures img { max-width: 160px; height: auto; margin-right: 4px; }
tr.transition { background: #f7f7fb; }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ scenes|length }} shots, {{ frames }} frames at {{ fps }} fps, detector {{ detector }}.
Frames count from 1, end frames are inclusive (as PySceneDetect writes them); the
confidence is the detector's, 0&ndash;1, of the boundary the shot starts on.</p>
<p>Timecode list: {{ cuts }}</p>
<table>
<thead><tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}<th>Kind</th><th>Confidence</th>
<th>Images</th></tr></thead>
<tbody>
{% for s in scenes %}<tr class="{{ 'shot' if s.kind == 'shot' else 'transition' }}">
{% for c in s.cells %}<td>{{ c }}</td>{% endfor %}<td class="kind">{{ s.kind }}</td>
<td>{{ s.confidence }}</td><td class="pictures">{% for p in s.pictures %}<img src="{{ p }}"
alt="shot {{ loop.index }}" loading="lazy">{% endfor %}</td></tr>
{% endfor %}</tbody></table>
</body></html>
"""


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary name (no half file), making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


class Progress:
    """Progress on stderr: a rich bar on a terminal, plain ``heaters CMD: …`` lines
    otherwise, nothing when ``show`` is False."""

    def __init__(self, show: bool | None, command: str) -> None:
        self.tty = sys.stderr.isatty()
        self.show = True if show is None else show
        self.command = command

    def warn(self, text: str) -> None:
        """One line on stderr, shown with ``--no-progress`` too."""
        click.echo(f"heaters {self.command}: {text}", err=True)

    def note(self, text: str) -> None:
        """One line on stderr (when progress is shown)."""
        if self.show:
            click.echo(f"heaters {self.command}: {text}", err=True)

    @contextmanager
    def steps(self, label: str, total: int) -> Iterator[Callable[[str], None]]:
        """Yield ``advance(what)``, called once per step done."""
        if not self.show:
            yield lambda what: None
            return
        if not self.tty:
            done = 0

            def line(what: str) -> None:
                nonlocal done
                done += 1
                self.note(f"{label} {done}/{total} {what}")

            yield line
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(
            TextColumn(f"[bold]{label}[/bold] {{task.description}}"), BarColumn(),
            MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True),
            transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("", total=total)
            yield lambda what: bar.update(task, advance=1, description=what)


def shot_dicts(shots: Shots, files: Sequence[Path | None] = ()) -> list[dict[str, Any]]:
    """The ``--json`` list of listed shots: ``scene`` (from 1), ``start_frame``,
    ``end_frame`` (exclusive), ``frames``, ``start_seconds``, ``end_seconds`` (media time
    from the first frame), ``kind`` (``shot`` or the transition's), ``confidence`` (None at
    frame 0 and after a transition), ``file`` when one was written, ``images``."""
    cl = shots.cut_list
    out = []
    for n, span in enumerate(shots.listed, 1):
        d: dict[str, Any] = {
            "scene": n,
            "start_frame": span.start_frame,
            "end_frame": span.end_frame,
            "frames": span.end_frame - span.start_frame,
            "start_seconds": round(cl.seconds(span.start_frame), 6),
            "end_seconds": round(cl.seconds(span.end_frame), 6),
            "kind": span.transition_kind or "shot",
            "confidence": None if span.confidence is None else round(span.confidence, 4),
        }
        if files:
            path = files[n - 1]
            d["file"] = None if path is None else str(path)
        if shots.images:
            d["images"] = [str(p) for p in shots.images.get(n, [])]
        out.append(d)
    return out


def write_outputs(
    shots: Shots, outputs: OutputChoice, *, out_dir: Path, progress: Progress
) -> dict[str, Any]:
    """Write what ``outputs`` asks for (the images into ``out_dir``); returns
    ``{"scene_lists": [paths], "images": count or None, "html": path or None}`` for
    ``--json``.

    Raises
    ------
    HeatersError
        ``DeliverError`` (scene-list format), ``KeyframeError`` (images): one line each.
    """
    out: dict[str, Any] = {"scene_lists": [], "images": None, "html": None}
    for path in outputs.scene_list:
        fmt = write_scene_list(shots, path)
        progress.note(f"wrote {len(shots.listed)} shots to {path} ({fmt})")
        out["scene_lists"].append(str(path))
    if outputs.save_images:
        images = save_images(shots, out_dir, outputs.save_images, outputs.image_format, progress)
        out["images"] = sum(len(v) for v in images.values())
    if (html := outputs.html) is not None:
        write_html(shots, html, outputs.image_format)
        progress.note(f"wrote the report of {len(shots.listed)} shots to {html}")
        out["html"] = str(html)
    return out
