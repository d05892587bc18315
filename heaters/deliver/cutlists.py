"""Cut lists: a video's clips for editors and players (pure formatting from rows).

From the database: :func:`heaters.deliver.cut_source.load_cut_list`; without one
(``heaters detect --scene-list``): :func:`cut_list_from_spans`, from a detector's spans and a
file's packet times.

Formats (:data:`FORMATS`):

- ``csv``: PySceneDetect's scene list (``scenedetect list-scenes``): the same columns, the
  same 1-based start frame / inclusive end frame, ``HH:MM:SS.nnn`` timecodes, and its first
  ``Timecode List:`` row (``include_cut_list=False`` drops it, like ``--skip-cuts``), then two
  columns of ours after PySceneDetect's (:data:`CSV_ANNOTATIONS`: the clip's tags, ``;``
  between them, and its note). Shots only, unless ``transitions=True``.
- ``edl``: CMX 3600 through OpenTimelineIO's ``cmx_3600`` adapter, SMPTE timecodes at the
  video's edit rate (drop-frame ``;`` at 29.97 and 59.94, with an ``FCM`` line); a
  transition between two listed shots is a dissolve event; a clip's tags and note are
  comments under its event (``* TAGS: a, b``, ``* NOTE: …``).
- ``otio``: an OpenTimelineIO timeline (``otio_json``): one video track, one clip per shot
  with the review facts (tags and note too) in ``metadata["heaters"]``, gradual transitions
  between two listed shots as ``Transition`` objects, gaps where clips are not listed.
- ``chapters`` (WebVTT) and ``ffmetadata`` (ffmpeg's chapter file): one chapter per shot.
- ``json``: ours: frames, PTS seconds, timecodes, state, confidence, the transitions.

Times agree with the frame index, never with index ÷ nominal fps: the media time of frame
``k`` is ``pts[k] − pts[0]`` (seconds), and the end of the last frame is the video's
duration. Timeline positions (EDL, OTIO) are media times at the edit rate, rounded to the
nearest frame: for a constant-rate video they are the frame indices themselves; for a
variable-rate one they put every cut at its true time. In OTIO (and so in the EDL) a
transition's frames ``[s, e)`` are split at ``m = s + (e − s) // 2``: the shot before ends at
``m``, the one after starts there, and the ``Transition`` has ``in_offset = m − s`` and
``out_offset = e − m``, so it covers exactly ``[s, e)`` of the timeline and the timeline
lines up with the source frame for frame.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from heaters.deliver.states import DeliverError, review_outcome
from heaters.domain.cuts import ClipSpan
from heaters.domain.states import ClipState

if TYPE_CHECKING:
    import opentimelineio as otio

CutFormat = Literal["csv", "edl", "otio", "chapters", "ffmetadata", "json"]
#: Format → (media type, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "edl": ("text/plain; charset=utf-8", "edl"),
    "otio": ("application/json", "otio"),
    "chapters": ("text/vtt; charset=utf-8", "vtt"),
    "ffmetadata": ("text/plain; charset=utf-8", "ffmeta"),
    "json": ("application/json", "json"),
}

#: PySceneDetect's scene-list header (``scenedetect.output.write_scene_list``, 0.7).
CSV_HEADER = (
    "Scene Number", "Start Frame", "Start Timecode", "Start Time (seconds)", "End Frame",
    "End Timecode", "End Time (seconds)", "Length (frames)", "Length (timecode)",
    "Length (seconds)",
)  # fmt: skip
#: Our columns after PySceneDetect's: the clip's tags (``;`` between them) and its note.
CSV_ANNOTATIONS = ("Tags", "Note")

#: The SMPTE rates an EDL can carry (OpenTimelineIO's valid timecode rates).
SMPTE_RATES: tuple[Fraction, ...] = (
    Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
    Fraction(48000, 1001), Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60),
)  # fmt: skip
DROP_FRAME_RATES = (Fraction(30000, 1001), Fraction(60000, 1001))


@dataclass(frozen=True)
class CutVideo:
    """The video a cut list is of.

    ``fps`` is the nominal rate (``fps_num/fps_den``); ``pts_seconds[k]`` the PTS of frame
    ``k`` in seconds (the frame index, one value per frame); ``duration_seconds`` where the
    last frame ends (PTS). ``media_url`` is what OTIO/EDL clips reference (the source URL,
    or a ``file://`` URI of its path).
    """

    id: int
    title: str | None
    media_url: str
    fps: Fraction
    pts_seconds: Sequence[float]
    duration_seconds: float
    width: int | None = None
    height: int | None = None

    @property
    def frame_count(self) -> int:
        """Frames in the frame index."""
        return len(self.pts_seconds)


@dataclass(frozen=True)
class CutClip:
    """A live clip: frames ``[start_frame, end_frame)`` (end exclusive), its state, and for a
    gradual transition its kind; ``confidence`` 0–1 of the boundary it starts on; ``tags``
    (names, sorted) and ``note`` from review."""

    id: int
    start_frame: int
    end_frame: int
    state: str
    transition_kind: str | None = None
    confidence: float | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    group: int | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None

    @property
    def is_transition(self) -> bool:
        """True for the frames of a gradual transition (dissolve, fade, wipe)."""
        return self.transition_kind is not None


@dataclass(frozen=True)
class CutList:
    """A video and the clips listed, in frame order.

    ``clips``: the shots that passed the state filter and the video's transition clips (a
    transition is listed when the filter is ``all``, or when it touches a listed shot).
    ``state_filter``: the filter's name (``all``, ``approved``…).
    """

    video: CutVideo
    clips: tuple[CutClip, ...]
    state_filter: str = "all"

    def __post_init__(self) -> None:
        n = self.video.frame_count
        if n == 0:
            raise DeliverError(f"video {self.video.id} has no frame index (not preprocessed)")
        for c in self.clips:
            if not 0 <= c.start_frame < c.end_frame <= n:
                raise DeliverError(
                    f"clip {c.id} [{c.start_frame}, {c.end_frame}) is outside the {n} frames "
                    f"of video {self.video.id}"
                )

    @property
    def shots(self) -> list[CutClip]:
        """The listed shots (not transitions), frame order."""
        return [c for c in self.clips if not c.is_transition]

    @property
    def transitions(self) -> list[CutClip]:
        """The listed transitions: all of them under ``all``, else those touching a shot."""
        shots = self.shots
        if self.state_filter == "all":
            return [c for c in self.clips if c.is_transition]
        ends = {s.end_frame for s in shots}
        starts = {s.start_frame for s in shots}
        return [
            c
            for c in self.clips
            if c.is_transition and (c.start_frame in ends or c.end_frame in starts)
        ]

    # --- time --------------------------------------------------------------------------

    def pts(self, frame: int) -> float:
        """PTS seconds of ``frame`` (0 ≤ frame ≤ frame count; the count: where the last
        frame ends)."""
        pts = self.video.pts_seconds
        return float(pts[frame]) if frame < len(pts) else float(self.video.duration_seconds)

    def seconds(self, frame: int) -> float:
        """Media time of ``frame`` in seconds: its PTS minus the PTS of frame 0."""
        return self.pts(frame) - float(self.video.pts_seconds[0])

    @property
    def rate(self) -> Fraction:
        """The edit rate of the EDL/OTIO timeline (:func:`edit_rate` of the video's fps)."""
        return edit_rate(self.video.fps)

    def timeline_frame(self, frame: int) -> int:
        """Position of ``frame`` on the timeline: its media time at the edit rate, rounded."""
        return round(self.seconds(frame) * self.rate)


def edit_rate(fps: Fraction) -> Fraction:
    """The SMPTE rate a timeline of a video at ``fps`` uses.

    ``fps`` itself when it is a SMPTE rate (within 0.1 %); else the smallest SMPTE rate that is
    a whole multiple of it (15 → 30, 12.5 → 25, 12 → 24, 10 → 30); else the nearest one.

    Raises
    ------
    DeliverError
        If ``fps`` is not positive.
    """
    if fps <= 0:
        raise DeliverError(f"the video has no frame rate ({fps})")
    for r in SMPTE_RATES:
        if abs(fps - r) / r < Fraction(1, 1000):
            return r
    for r in SMPTE_RATES:
        multiple = r / fps
        if multiple > 1 and abs(multiple - round(multiple)) < Fraction(1, 1000):
            return r
    return min(SMPTE_RATES, key=lambda r: abs(r - fps))


def is_drop_frame(rate: Fraction) -> bool:
    """True at 29.97 and 59.94 (SMPTE drop-frame timecode)."""
    return rate in DROP_FRAME_RATES


def _hms(seconds: float) -> str:
    """``HH:MM:SS.nnn`` the way PySceneDetect's ``FrameTimecode.get_timecode`` writes it."""
    secs = max(0.0, seconds)
    hrs = int(secs / 3600)
    secs -= hrs * 3600
    mins = int(secs / 60)
    secs = round(max(0.0, secs - mins * 60), 3)
    if int(secs) >= 60:
        secs = 0.0
        mins += 1
        if mins >= 60:
            mins, hrs = 0, hrs + 1
    return f"{hrs:02d}:{mins:02d}:{secs:06.3f}"


# --- CSV ---------------------------------------------------------------------------------


def to_csv(cl: CutList, *, include_cut_list: bool = True, transitions: bool = False) -> str:
    """PySceneDetect's scene-list CSV of the listed shots (and transitions when asked).

    Row 1 (unless ``include_cut_list`` is False): ``Timecode List:`` and the start timecode
    of every row after the first; then :data:`CSV_HEADER` and :data:`CSV_ANNOTATIONS`; then
    one row per clip: number, start frame (1-based), start timecode, start seconds, end frame
    (1-based, inclusive), end timecode, end seconds, length in frames, timecode and seconds,
    tags (``;`` between them), note. Seconds are media times from the frame index (3
    decimals).
    """
    rows = cl.shots if not transitions else [*cl.shots, *cl.transitions]
    rows.sort(key=lambda c: (c.start_frame, c.end_frame))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=",", lineterminator="\n")
    if include_cut_list:
        writer.writerow(["Timecode List:", *[_hms(cl.seconds(c.start_frame)) for c in rows[1:]]])
    writer.writerow([*CSV_HEADER, *CSV_ANNOTATIONS])
    for i, c in enumerate(rows):
        start, end = cl.seconds(c.start_frame), cl.seconds(c.end_frame)
        writer.writerow(
            [
                f"{i + 1:d}", f"{c.start_frame + 1:d}", _hms(start), f"{start:.3f}",
                f"{c.end_frame:d}", _hms(end), f"{end:.3f}", f"{c.end_frame - c.start_frame:d}",
                _hms(end - start), f"{end - start:.3f}", ";".join(c.tags), c.note or "",
            ]
        )  # fmt: skip
    return out.getvalue()


# --- OpenTimelineIO and EDL -------------------------------------------------------------


def _clip_metadata(cl: CutList, c: CutClip) -> dict[str, Any]:
    return {
        "clip_id": c.id,
        "video_id": cl.video.id,
        "start_frame": c.start_frame,
        "end_frame": c.end_frame,
        "start_seconds": cl.seconds(c.start_frame),
        "end_seconds": cl.seconds(c.end_frame),
        "state": c.state,
        "review": review_outcome(c.state),
        "confidence": c.confidence,
        "reviewed_by": c.reviewed_by,
        "reviewed_at": c.reviewed_at.isoformat() if c.reviewed_at else None,
        "group": c.group,
        "is_transition": c.is_transition,
        "transition_kind": c.transition_kind,
        "tags": list(c.tags),
        "note": c.note,
    }


def edl_comments(c: CutClip) -> list[str]:
    """A clip's tags and note as EDL comment lines (without the ``* ``; one line each: a
    note's line breaks become spaces)."""
    out = [f"TAGS: {', '.join(c.tags)}"] if c.tags else []
    if c.note:
        out.append("NOTE: " + " ".join(c.note.split()))
    return out


def reel_name(video_id: int) -> str:
    """The 8-character CMX reel of a video: ``H`` and its id (``H0000012``)."""
    return f"H{video_id:07d}"[-8:]


def to_timeline(cl: CutList) -> otio.schema.Timeline:
    """The cut list as an OpenTimelineIO timeline (one video track).

    Each listed shot is a ``Clip`` referencing the video (``ExternalReference`` to
    ``media_url``) with ``metadata["heaters"]`` (clip id, frames, seconds, state, review,
    confidence, reviewer, group). A transition between two listed, adjacent shots is a
    ``Transition`` (``SMPTE_Dissolve``, named by its kind, split at its middle frame as the
    module says); any other listed transition (at the very start or end, or next to another
    transition) is a ``Clip`` of its own frames marked ``is_transition``. Frames not listed
    are ``Gap``s, so record times equal source times.
    """
    import opentimelineio as otio

    rate = float(cl.rate)

    def rt(frames: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, rate)

    video = cl.video
    total = cl.timeline_frame(video.frame_count)
    items = sorted([*cl.shots, *cl.transitions], key=lambda c: (c.start_frame, c.end_frame))
    by_start = {c.start_frame: c for c in items if not c.is_transition}
    by_end = {c.end_frame: c for c in items if not c.is_transition}
    # Transitions that become OTIO transitions, and where their shots' edges move.
    dissolves: dict[int, CutClip] = {}
    edge: dict[tuple[int, str], int] = {}
    for t in (c for c in items if c.is_transition):
        before, after = by_end.get(t.start_frame), by_start.get(t.end_frame)
        if before is not None and after is not None:
            s, e = cl.timeline_frame(t.start_frame), cl.timeline_frame(t.end_frame)
            if e > s:
                dissolves[t.id] = t
                mid = s + (e - s) // 2
                edge[(before.id, "end")] = mid
                edge[(after.id, "start")] = mid

    timeline = otio.schema.Timeline(name=video.title or f"video {video.id}")
    timeline.global_start_time = rt(0)
    timeline.metadata["heaters"] = {
        "video_id": video.id,
        "fps": str(video.fps),
        "edit_rate": str(cl.rate),
        "drop_frame": is_drop_frame(cl.rate),
        "frame_count": video.frame_count,
        "state_filter": cl.state_filter,
    }
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    available = otio.opentime.TimeRange(rt(0), rt(total))
    cursor = 0
    for c in items:
        if c.id in dissolves:
            s, e = cl.timeline_frame(c.start_frame), cl.timeline_frame(c.end_frame)
            mid = s + (e - s) // 2
            transition = otio.schema.Transition(
                name=c.transition_kind or "dissolve",
                transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=rt(mid - s),
                out_offset=rt(e - mid),
            )
            transition.metadata["heaters"] = _clip_metadata(cl, c)
            track.append(transition)
            continue
        start = edge.get((c.id, "start"), cl.timeline_frame(c.start_frame))
        end = edge.get((c.id, "end"), cl.timeline_frame(c.end_frame))
        if end <= start:
            continue  # a clip shorter than a timeline frame (VFR at a coarse edit rate)
        if start > cursor:
            gap = otio.opentime.TimeRange(rt(0), rt(start - cursor))
            track.append(otio.schema.Gap(source_range=gap))
        elif start < cursor:
            start = cursor  # rounding to the edit rate made two clips touch: keep them apart
            if end <= start:
                continue
        ref = otio.schema.ExternalReference(target_url=video.media_url, available_range=available)
        clip = otio.schema.Clip(
            name=f"clip_{c.id}",
            media_reference=ref,
            source_range=otio.opentime.TimeRange(rt(start), rt(end - start)),
        )
        clip.metadata["heaters"] = _clip_metadata(cl, c)
        clip.metadata["cmx_3600"] = {"reel": reel_name(video.id)}
        if edl_comments(c):  # written under the event by the cmx_3600 adapter
            clip.metadata["cmx_3600"]["comments"] = edl_comments(c)
        track.append(clip)
        cursor = end
    return timeline


def to_otio(cl: CutList) -> str:
    """The timeline of :func:`to_timeline` as OpenTimelineIO JSON (``.otio``)."""
    import opentimelineio as otio

    text: str = otio.adapters.write_to_string(to_timeline(cl), "otio_json")
    return text


def to_edl(cl: CutList) -> str:
    """A CMX 3600 EDL (OpenTimelineIO's ``cmx_3600`` adapter) of the timeline.

    ``TITLE:`` the video's title, ``FCM: DROP FRAME`` at 29.97/59.94 (``;`` timecodes) else
    ``FCM: NON-DROP FRAME``; one ``C`` event per shot, a ``D`` (dissolve) event for each
    transition between two listed shots (wipes too: the adapter writes no wipe codes).
    Source and record timecodes are equal (gaps are left out, as CMX does).

    Raises
    ------
    DeliverError
        If no shot is listed (an EDL needs an event).
    """
    import opentimelineio as otio

    timeline = to_timeline(cl)
    if not any(isinstance(i, otio.schema.Clip) for i in timeline.tracks[0]):
        raise DeliverError(f"no clips of video {cl.video.id} to list ({cl.state_filter})")
    text: str = otio.adapters.write_to_string(
        copy.deepcopy(timeline), "cmx_3600", rate=float(cl.rate), style="avid"
    )
    fcm = "FCM: DROP FRAME" if is_drop_frame(cl.rate) else "FCM: NON-DROP FRAME"
    head, sep, rest = text.partition("\n")
    if head.startswith("TITLE:"):
        return f"{head}\n{fcm}{sep}{rest}"
    return f"{fcm}\n{text}"


# --- chapters ---------------------------------------------------------------------------


def _vtt_time(seconds: float) -> str:
    ms = round(max(0.0, seconds) * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def chapter_title(number: int, c: CutClip) -> str:
    """A chapter's title: ``Shot N`` (N counts the listed shots from 1)."""
    return f"Shot {number}"


def to_webvtt(cl: CutList) -> str:
    """WebVTT chapters (``<track kind="chapters">``): one cue per listed shot, numbered from
    1, its media times ``HH:MM:SS.mmm --> HH:MM:SS.mmm``, titled ``Shot N``."""
    lines = ["WEBVTT", ""]
    for i, c in enumerate(cl.shots, 1):
        start, end = cl.seconds(c.start_frame), cl.seconds(c.end_frame)
        lines += [str(i), f"{_vtt_time(start)} --> {_vtt_time(end)}", chapter_title(i, c), ""]
    return "\n".join(lines)


def _ffmeta_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "=;#\\\n":
            out.append("\\")
        out.append(ch)
    return "".join(out)


def to_ffmetadata(cl: CutList) -> str:
    """ffmpeg's metadata file (``ffmpeg -i video -i chapters.ffmeta -map_metadata 1
    -map_chapters 1 …``): the title, then one ``[CHAPTER]`` per listed shot with
    ``TIMEBASE=1/1000`` and its start/end media times in milliseconds."""
    lines = [";FFMETADATA1"]
    if cl.video.title:
        lines.append(f"title={_ffmeta_escape(cl.video.title)}")
    for i, c in enumerate(cl.shots, 1):
        start, end = cl.seconds(c.start_frame), cl.seconds(c.end_frame)
        lines += [
            "",
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(start * 1000)}",
            f"END={round(end * 1000)}",
            f"title={_ffmeta_escape(chapter_title(i, c))}",
        ]
    return "\n".join(lines) + "\n"


# --- JSON -------------------------------------------------------------------------------


def _timecode(cl: CutList, frame: int) -> str:
    import opentimelineio as otio

    rate = float(cl.rate)
    tc: str = otio.opentime.to_timecode(
        otio.opentime.RationalTime(cl.timeline_frame(frame), rate), rate, is_drop_frame(cl.rate)
    )
    return tc


def to_dict(cl: CutList) -> dict[str, Any]:
    """Our own cut list as a JSON-able dict.

    ``{"video": {id, title, media_url, fps, edit_rate, drop_frame, frame_count,
    duration_seconds, width, height}, "state_filter", "clips": [...], "transitions":
    [...]}``; each clip: ``id, start_frame, end_frame`` (end exclusive), ``frames``,
    ``start_seconds, end_seconds`` (media time), ``start_pts, end_pts`` (PTS seconds of the
    frame index), ``start_timecode, end_timecode`` (SMPTE at the edit rate), ``state,
    review, confidence, reviewed_by, reviewed_at, group, tags, note``; each transition also
    ``kind``.
    """

    def item(c: CutClip) -> dict[str, Any]:
        d = {
            "id": c.id,
            "start_frame": c.start_frame,
            "end_frame": c.end_frame,
            "frames": c.end_frame - c.start_frame,
            "start_seconds": round(cl.seconds(c.start_frame), 6),
            "end_seconds": round(cl.seconds(c.end_frame), 6),
            "start_pts": cl.pts(c.start_frame),
            "end_pts": cl.pts(c.end_frame),
            "start_timecode": _timecode(cl, c.start_frame),
            "end_timecode": _timecode(cl, c.end_frame),
            "state": c.state,
            "review": review_outcome(c.state),
            "confidence": None if c.confidence is None else round(c.confidence, 4),
            "reviewed_by": c.reviewed_by,
            "reviewed_at": c.reviewed_at.isoformat() if c.reviewed_at else None,
            "group": c.group,
            "tags": list(c.tags),
            "note": c.note,
        }
        if c.is_transition:
            d["kind"] = c.transition_kind
        return d

    v = cl.video
    return {
        "video": {
            "id": v.id,
            "title": v.title,
            "media_url": v.media_url,
            "fps": float(v.fps),
            "fps_rational": f"{v.fps.numerator}/{v.fps.denominator}",
            "edit_rate": f"{cl.rate.numerator}/{cl.rate.denominator}",
            "drop_frame": is_drop_frame(cl.rate),
            "frame_count": v.frame_count,
            "duration_seconds": cl.seconds(v.frame_count),
            "width": v.width,
            "height": v.height,
        },
        "state_filter": cl.state_filter,
        "clips": [item(c) for c in cl.shots],
        "transitions": [item(c) for c in cl.transitions],
    }


def render(
    cl: CutList, fmt: str, *, include_cut_list: bool = True, transitions: bool = False
) -> str:
    """The cut list in ``fmt`` (a key of :data:`FORMATS`) as text.

    ``include_cut_list`` and ``transitions`` apply to ``csv`` only.

    Raises
    ------
    DeliverError
        For an unknown format, or an EDL with no clip.
    """
    if fmt == "csv":
        return to_csv(cl, include_cut_list=include_cut_list, transitions=transitions)
    if fmt == "edl":
        return to_edl(cl)
    if fmt == "otio":
        return to_otio(cl)
    if fmt == "chapters":
        return to_webvtt(cl)
    if fmt == "ffmetadata":
        return to_ffmetadata(cl)
    if fmt == "json":
        return json.dumps(to_dict(cl), indent=2) + "\n"
    raise DeliverError(f"unknown cut list format {fmt!r} (one of {', '.join(FORMATS)})")


def format_of_path(path: Path | str) -> str:
    """The cut-list format a file name asks for, by its extension (``scenes.csv`` → ``csv``,
    ``.edl``, ``.otio``, ``.vtt`` → ``chapters``, ``.ffmeta`` → ``ffmetadata``, ``.json``).

    Raises
    ------
    DeliverError
        For an extension no format writes.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    for fmt, (_, ext) in FORMATS.items():
        if suffix == ext:
            return fmt
    names = ", ".join(f".{ext}" for _, ext in FORMATS.values())
    raise DeliverError(f"cannot tell the cut-list format of {Path(path).name!r} (one of {names})")


def cut_list_from_spans(
    spans: Sequence[ClipSpan],
    *,
    media_url: str,
    title: str | None,
    fps: Fraction,
    pts_seconds: Sequence[float],
    duration_seconds: float,
    width: int | None = None,
    height: int | None = None,
    state: str = ClipState.PENDING_REVIEW,
) -> CutList:
    """A cut list of a video that is in no database: a detector's shots and transitions.

    ``spans`` are the clips of :func:`heaters.domain.cuts.spans_from_boundaries` (frame
    order, every frame once). The video's id is 0 (its CMX reel ``H0000000``); clip ids count
    the spans from 1; every clip has ``state`` (not reviewed: ``pending_review``) and the
    confidence of the boundary it starts on. ``pts_seconds`` holds one PTS per frame in
    seconds, ``duration_seconds`` where the last frame ends; the rest is as :class:`CutVideo`.

    Raises
    ------
    DeliverError
        If there are no frames, or a span lies outside them.
    """
    video = CutVideo(0, title, media_url, fps, pts_seconds, duration_seconds, width, height)
    clips = tuple(
        CutClip(i, s.start_frame, s.end_frame, state, s.transition_kind, s.confidence)
        for i, s in enumerate(spans, 1)
    )
    return CutList(video, clips)


__all__ = [
    "CSV_ANNOTATIONS",
    "CSV_HEADER",
    "FORMATS",
    "CutClip",
    "CutFormat",
    "CutList",
    "CutVideo",
    "cut_list_from_spans",
    "edit_rate",
    "format_of_path",
    "is_drop_frame",
    "render",
    "to_csv",
    "to_dict",
    "to_edl",
    "to_ffmetadata",
    "to_otio",
    "to_timeline",
    "to_webvtt",
]
