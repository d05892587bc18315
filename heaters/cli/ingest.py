"""``heaters ingest``: submit sources, optionally run the pipeline here until they are done."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click

from heaters.cli._common import err_console, out_console, print_json, run, setup_logging
from heaters.cli.options import json_option, verbose_option
from heaters.domain.states import VideoState

if TYPE_CHECKING:
    from heaters.pipeline.progress import Progress as StageProgress

_V = VideoState
# Stage progress of a video: its state → (steps done, label); the steps in order, each with
# the labels of the states a video is in at that step.
_STEPS: dict[str, tuple[int, str]] = {
    state: (step, label)
    for step, labels in enumerate((
        {_V.NEW: "queued", _V.DOWNLOADING: "downloading", _V.DOWNLOAD_FAILED: "download failed"},
        {
            _V.DOWNLOADED: "downloaded", _V.PREPROCESSING: "preprocessing",
            _V.PREPROCESS_FAILED: "preprocess failed", _V.SEGMENTING: "encoding segments",
            _V.JOINING: "joining segments", _V.JOIN_FAILED: "join failed",
        },
        {
            _V.PREPROCESSED: "preprocessed", _V.DETECTING: "detecting scenes",
            _V.DETECT_FAILED: "detect failed",
        },
        {_V.DETECTED: "detected"},
    ))
    for state, label in labels.items()
}  # fmt: skip


@click.command("ingest")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "--wait",
    is_flag=True,
    help="Run the workers in this process until every submitted video is detected or failed.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Only probe the sources (files: probe; URLs: address check and what yt-dlp finds, "
    "no download); record nothing.",
)
@click.option(
    "--collection",
    default="default",
    show_default=True,
    metavar="NAME",
    help="Put the new videos in this collection: its active detector profile (heaters detect "
    "calibrate) is used to detect them. A video ingested before keeps its collection.",
)
@json_option
@verbose_option
def ingest_command(
    sources: tuple[str, ...],
    wait: bool,
    check: bool,
    collection: str,
    json_output: bool,
    verbose: int,
) -> None:
    """Submit videos to the pipeline (download → preprocess → detect scenes).

    Each SOURCE is an http(s) URL (downloaded with yt-dlp) or a local file path (read by
    the worker that downloads it: with workers on other hosts, the file must be readable
    there too, e.g. on a shared folder; or upload it through the API). It is recorded as a
    new video and the command returns at once; a source already ingested (same URL, or a
    file with the same sha256, also earlier in the same command) is not ingested again: the
    existing video is reported. With --wait the pipeline runs here, with progress per video,
    and the clips are printed. --json prints one object per SOURCE given, one per line, in
    the order given (``"existing": true`` when that source's video was there before it).

    --check probes instead and records nothing: a file is probed (size, rate, frames; still
    images and unreadable files are refused with the reason the pipeline would give), a URL
    gets the address check and yt-dlp's view of it without downloading any media.

    Exit code 1 when a source is rejected, fails its check, or a video failed.
    """
    setup_logging(verbose)
    if check:
        raise SystemExit(_check(list(sources), json_output=json_output))
    from heaters.pipeline.profiles import ProfileError, check_collection

    try:
        check_collection(collection)
    except ProfileError as exc:
        raise click.BadParameter(str(exc), param_hint="--collection") from exc
    code = run(_ingest(list(sources), wait=wait, json_output=json_output, collection=collection))
    raise SystemExit(code)


def check_source(source: str) -> dict[str, Any]:
    """Probe one source without recording it: ``{"source", "kind", "ok", "error", …facts}``.

    A local file is probed (:func:`heaters.media.probe.probe`); a URL gets the submit-time
    check, then yt-dlp's extraction without download under the download stage's address
    checks (:func:`heaters.media.download.inspect_url`).
    """
    import asyncio

    from heaters.errors import HeatersError
    from heaters.pipeline.submit import SubmitError, is_url

    out: dict[str, Any] = {"source": source, "kind": "url" if is_url(source) else "file"}
    try:
        if is_url(source):
            from heaters.config import get_settings
            from heaters.media.addresses import download_policy
            from heaters.media.download import inspect_url
            from heaters.pipeline.url_check import check_url

            # Form and scheme here; addresses when yt-dlp connects (the download's rule).
            asyncio.run(check_url(source, allow_private=True))
            allow = get_settings().api_allow_private_urls
            out |= inspect_url(source, policy=download_policy(source, allow_private=allow))
        else:
            from pathlib import Path

            from heaters.media.probe import probe

            if "://" in source:
                raise SubmitError(
                    f"unsupported source {source!r}: give an http(s) URL or a file path"
                )
            path = Path(source).expanduser()
            if not path.exists():
                raise SubmitError(f"file not found: {source}")
            if not path.is_file():
                raise SubmitError(f"not a regular file: {source}")
            info = probe(path)
            out |= {
                "width": info.width, "height": info.height, "fps": float(info.fps),
                "frame_count": info.frame_count, "duration_seconds": info.duration_seconds,
                "is_vfr": info.is_vfr, "video_codec": info.video_codec,
                "has_audio": info.has_audio, "format_name": info.format_name,
            }  # fmt: skip
    except HeatersError as exc:
        return out | {"ok": False, "error": str(exc)}
    return out | {"ok": True, "error": None}


def _check(sources: list[str], *, json_output: bool) -> int:
    failed = False
    for source in sources:
        result = check_source(source)
        failed = failed or not result["ok"]
        if json_output:
            print_json(result)
        elif result["ok"]:
            facts = (
                f"{result['width']}x{result['height']}, {result['fps']:.3f} fps, "
                f"{result['frame_count']} frames, {result['duration_seconds']:.2f} s"
                if result["kind"] == "file"
                else f"{result['extractor']}: {result['title']!r}"
            )
            out_console().print(f"[green]✓[/] {source}: {facts}", soft_wrap=True)
        else:
            err_console().print(f"[red]✗[/] {source}: {result['error']}", soft_wrap=True)
    return 1 if failed else 0


async def _ingest(
    sources: list[str], *, wait: bool, json_output: bool, collection: str = "default"
) -> int:
    import asyncio

    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.pipeline.profiles import put_in_collection
    from heaters.pipeline.report import video_reports
    from heaters.pipeline.submit import SubmitError, submit
    from workers.app import app, defer_dispatch

    await asyncio.to_thread(ensure_schema)
    # One entry per source given, in order: (source, video id or None, existing, rejection).
    given: list[tuple[str, int | None, bool, str | None]] = []
    ids: list[int] = []
    async with Database.connect() as db:
        for source in sources:
            try:
                sub = await submit(db, source)
            except SubmitError as exc:
                given.append((source, None, False, str(exc)))
                if not json_output:
                    err_console().print(f"[red]✗[/] {source}: {exc}", soft_wrap=True)
                continue
            if not sub.existing:
                await put_in_collection(db, sub.video_id, collection)
            ids.append(sub.video_id)
            given.append((source, sub.video_id, sub.existing, None))
            if sub.existing:
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
                tty = sys.stderr.isatty()
                await _run_until_done(db, ids, show=tty and not json_output,
                                      plain=not tty and not json_output)  # fmt: skip
        reports = await video_reports(db, ids)
    shown: set[int] = set()
    for source, vid, existing, rejection in given:
        if vid is None:
            line: dict[str, Any] = {"id": None, "source": source, "state": "rejected",
                                    "error": rejection, "clips": [], "existing": False}  # fmt: skip
            if json_output:
                print_json(line)
            continue
        if json_output:
            print_json(reports[vid] | {"source": source, "existing": existing})
        elif vid not in shown:
            _print_video(reports[vid] | {"source": source, "existing": existing})
        shown.add(vid)
    if ids and not json_output:
        _print_next_steps(waited=wait)
    failed = any(vid is None for _, vid, _, _ in given) or [
        r for r in reports.values() if r["state"].endswith("_failed")
    ]
    return 1 if failed else 0


async def _run_until_done(db: Any, ids: list[int], *, show: bool, plain: bool = False) -> None:
    """Run the workers here until every video in ``ids`` is done or failed for good.

    ``show``: a progress bar per video on stderr (a terminal): its stage, and for preprocess
    and detection frames done / total, fps and ETA. ``plain``: plain lines on stderr instead
    (not a terminal): each state a video reaches, a stage's frames every
    :data:`PLAIN_EVERY` seconds while it runs, and each such stage's frames, time and fps
    once it is done (:class:`PlainProgress`)."""
    import asyncio
    import contextlib

    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from heaters.db import fetch_all
    from heaters.domain.states import VIDEO_DONE_STATES, is_failed
    from heaters.pipeline import progress as stage_progress
    from workers.app import run_worker
    from workers.runtime import close_runtime

    videos = list(dict.fromkeys(ids))
    for vid in videos:
        stage_progress.watch("video", vid)
    worker = asyncio.create_task(run_worker(install_signal_handlers=False))
    bars = Progress(
        SpinnerColumn(), TextColumn("video {task.fields[vid]}"), BarColumn(),
        TextColumn("{task.description}"), TextColumn("{task.fields[frames]}"),
        TimeElapsedColumn(), console=err_console(), disable=not show, transient=False,
    )  # fmt: skip
    lines = (
        PlainProgress(lambda text: err_console().print(text, highlight=False)) if plain else None
    )
    tasks = {vid: bars.add_task("queued", total=3, vid=vid, frames="") for vid in videos}
    segmented: dict[int, StageProgress] = {}
    try:
        with bars:
            while True:
                async with db.acquire() as conn:
                    rows = await fetch_all(db.q.video_states(conn, ids=videos))
                finished = 0
                for row in rows:
                    done, label = _STEPS.get(row["state"], (0, row["state"]))
                    runs = stage_progress.of("video", row["id"])
                    if row["state"] in (VideoState.SEGMENTING, VideoState.JOINING):
                        runs["segments"] = await _segments_progress(db, row["id"], segmented)
                    elif row["id"] in segmented:  # joined: every segment was encoded
                        runs["segments"] = seg = segmented[row["id"]]
                        if seg.total and seg.done < seg.total:
                            seg.update(seg.total)
                    running = runs.get(_FRAMES_STAGE.get(row["state"], ""))
                    bars.update(tasks[row["id"]], completed=done, description=label,
                                frames=frames_text(running) if running else "")  # fmt: skip
                    if lines is not None:
                        lines.update(row["id"], row["state"], runs)
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
        for vid in videos:
            stage_progress.unwatch("video", vid)


async def _segments_progress(
    db: Any, vid: int, segmented: dict[int, StageProgress]
) -> StageProgress:
    """A segmented video's preprocess (its segments are jobs of their own, maybe on other
    workers): the frames of its encoded segments of all its frames, from the database."""
    from heaters.db import fetch_all
    from heaters.domain.states import SegmentState
    from heaters.pipeline.progress import Progress

    async with db.acquire() as conn:
        rows = await fetch_all(db.q.segments_of(conn, video_id=vid))
    p = segmented.setdefault(vid, Progress("segments", "video", vid))
    p.set_total(sum(r["frame_count"] or 0 for r in rows) or None)
    done = sum(r["frame_count"] or 0 for r in rows if r["state"] == SegmentState.ENCODED)
    if done != p.done:
        p.update(done)
    return p


PLAIN_EVERY = 5.0
"""Seconds between two plain progress lines of one running stage (output not a terminal)."""

#: The state in which a stage counts frames → that stage; the stage → the step (of
#: ``_STEPS``) a video has reached once the stage is done.
_FRAMES_STAGE: dict[str, str] = {
    VideoState.PREPROCESSING: "preprocess",
    VideoState.SEGMENTING: "segments",
    VideoState.DETECTING: "detect",
}
_DONE_AT_STEP = {"preprocess": 2, "segments": 2, "detect": 3}


def _plain_line(text: str) -> None:
    err_console().print(text, highlight=False, markup=False, soft_wrap=True)


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s} s" if s < 60 else f"{s // 60}:{s % 60:02d}"


def frames_text(p: StageProgress) -> str:
    """``"412/1416 frames, 85.2 fps, ETA 12 s"``: frames done of the total (the total and
    the percentage once known), the rate and the time left once a frame is done."""
    text = f"{p.done}/{p.total} frames" if p.total else f"{p.done} frames"
    if p.total:
        text += f" ({100 * p.done // max(1, p.total)}%)"
    if p.fps is not None:
        text += f", {p.fps:.1f} fps"
    if p.eta is not None and p.total and p.done < p.total:
        text += f", ETA {_duration(p.eta)}"
    return text


class PlainProgress:
    """Progress as plain lines, for output that is not a terminal (a log, CI).

    One line when a video reaches a new state (``video 3: preprocessing``); while a stage
    that counts frames runs, one every ``every`` seconds (``video 3: preprocess 412/1416
    frames (29%), 85.2 fps, ETA 12 s``); once such a stage is done, one with its frames,
    time and rate (``video 3: preprocess done: 1416 frames in 3.2 s, 442.5 fps``).
    """

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        every: float = PLAIN_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write = write
        self.every = every
        self.clock = clock
        self._state: dict[int, str] = {}
        self._last_line: dict[int, float] = {}
        self._done: set[tuple[int, str]] = set()

    def update(self, vid: int, state: str, runs: Mapping[str, StageProgress]) -> None:
        """The video's state and its stage runs (:func:`heaters.pipeline.progress.of`)."""
        step = _STEPS.get(state, (0, state))[0]
        for stage, p in runs.items():
            if step >= _DONE_AT_STEP.get(stage, 99) and (vid, stage) not in self._done:
                self._done.add((vid, stage))
                rate = f", {p.fps:.1f} fps" if p.fps is not None else ""
                self.write(f"video {vid}: {stage} done: {p.done} frames in "
                           f"{p.seconds:.1f} s{rate}")  # fmt: skip
        now = self.clock()
        if self._state.get(vid) != state:
            self._state[vid] = state
            self._last_line[vid] = now
            self.write(f"video {vid}: {_STEPS.get(state, (0, state))[1]}")
            return
        running = runs.get(_FRAMES_STAGE.get(state, ""))
        if running is not None and now - self._last_line[vid] >= self.every:
            self._last_line[vid] = now
            self.write(f"video {vid}: {running.stage} {frames_text(running)}")


def _print_next_steps(*, waited: bool) -> None:
    """After the clip table, on stderr: how to review the clips and keep the pipeline going
    (this command's own workers stop when it returns)."""
    from heaters.config import get_settings

    s = get_settings()
    worker = "runs the queued jobs: " + (
        "the rest of these videos, then the clips you approve"
        if not waited
        else "each approved clip's export, keyframes and embedding"
    )
    steps = [
        ("heaters user add NAME", "a reviewer account (asks for its password)"),
        ("heaters web", f"the review UI on http://{s.web_host}:{s.web_port}/ (sign in as NAME)"),
        ("heaters worker", worker),
        ("heaters status", "where every video and clip stands"),
    ]
    lines = "\n".join(f"  {cmd:<22} {what}" for cmd, what in steps)
    err_console().print(f"next steps:\n{lines}", highlight=False, soft_wrap=True)


def _print_video(report: dict[str, Any]) -> None:
    from rich.table import Table

    state = report["state"]
    done = state == VideoState.DETECTED
    colour = "red" if state.endswith("_failed") else "green" if done else "cyan"
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
