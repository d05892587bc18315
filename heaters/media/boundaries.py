"""What a shot-boundary detector returns: hard cuts and gradual transitions, with confidences.

Pure data (no I/O, no database). Every detector (:mod:`heaters.media.scenes`, the fast
default; :mod:`heaters.media.transnet`, the neural one) returns a :class:`SceneResult`, so the
CLI, the benchmark and the pipeline treat them alike.

Frame numbering: frames are counted from 0 in decode order (the frame index). A cut ``k``
means frame ``k`` is the first frame of a new shot (never 0). A transition covers frames
``[start_frame, end_frame)``: ``start_frame`` is the first frame that is no longer clean
outgoing shot, ``end_frame`` the first clean frame of the incoming shot. Cuts never fall
strictly inside a transition.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

__all__ = [
    "SUGGESTION_REASONS",
    "TRANSITION_KINDS",
    "SceneResult",
    "Suggestion",
    "SuggestionReason",
    "Transition",
    "TransitionKind",
]

TransitionKind = Literal["dissolve", "fade_out", "fade_in", "wipe", "unknown"]
TRANSITION_KINDS: tuple[TransitionKind, ...] = get_args(TransitionKind)
"""``fade_out``: a shot fading to a flat (black, white, any uniform) frame; ``fade_in``: from a
flat frame into a shot; ``dissolve``: two shots superimposed; ``wipe``: a moving edge
replaces one shot by the other; ``unknown``: gradual, but none of these."""


@dataclass(frozen=True)
class _Finding:
    """A boundary a detector reports (its fields include a ``confidence``, 0-1)."""

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, in their order, ``confidence`` rounded to 4 places (JSON-ready):
        a transition's ``{"start_frame", "end_frame", "kind", "confidence"}``, a suggestion's
        ``{"frame", "confidence", "reason"}``."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["confidence"] = round(float(out["confidence"]), 4)
        return out


@dataclass(frozen=True)
class Transition(_Finding):
    """A gradual transition: frames ``[start_frame, end_frame)`` belong to neither shot.

    Attributes
    ----------
    start_frame : int
        First transition frame (0-based, decode order).
    end_frame : int
        First frame after the transition (exclusive); ``end_frame > start_frame``.
    kind : TransitionKind
        What the transition looks like (see :data:`TRANSITION_KINDS`).
    confidence : float
        0–1: how sure the detector is that this span is a transition.
    """

    start_frame: int
    end_frame: int
    kind: TransitionKind
    confidence: float

    def __post_init__(self) -> None:
        if self.end_frame <= self.start_frame or self.start_frame < 0:
            raise ValueError(f"bad transition span [{self.start_frame}, {self.end_frame})")
        if self.kind not in TRANSITION_KINDS:
            raise ValueError(f"unknown transition kind {self.kind!r}")


SuggestionReason = Literal["brightness_only", "camera_move", "flash", "local", "too_close", "weak"]
SUGGESTION_REASONS: tuple[SuggestionReason, ...] = get_args(SuggestionReason)
"""Why a candidate boundary was not made a cut: ``brightness_only`` (the picture after it
correlates with the one before it at another brightness or contrast), ``camera_move`` (a
jump of the camera: the frames match once shifted), ``flash`` (a 1–3 frame
change after which the picture returns), ``too_close`` (within ``min_scene_len`` frames of the
previous cut), ``local`` (a change confined to part of the picture: a title, subtitle or
lower third), ``weak`` (a change that passes some tests of a cut but not all)."""


@dataclass(frozen=True)
class Suggestion(_Finding):
    """A candidate boundary a rule rejected: kept, with its reason, for a reviewer to accept.

    Attributes
    ----------
    frame : int
        The frame that would start the new shot (0-based, decode order; never 0).
    confidence : float
        0–1, how likely it is a real cut (always below the weakest accepted cut's floor, 0.5).
    reason : SuggestionReason
        The rule that rejected it (see :data:`SUGGESTION_REASONS`).
    """

    frame: int
    confidence: float
    reason: SuggestionReason

    def __post_init__(self) -> None:
        if self.frame <= 0:
            raise ValueError(f"bad suggestion frame {self.frame}")
        if self.reason not in SUGGESTION_REASONS:
            raise ValueError(f"unknown suggestion reason {self.reason!r}")


@dataclass(frozen=True)
class SceneResult:
    """What shot-boundary detection found in one video.

    Attributes
    ----------
    detector : str
        Name and version of the detector that made the result (and ``features``), e.g.
        ``"heaters-fast/6"`` or ``"transnetv2/1.0.5"``. Stored beside the features so that a
        change of detector never reuses old features.
    frame_count : int
        Frames decoded.
    fps : Fraction
        The stream's average frame rate; display only (seconds come from PTS elsewhere).
    cuts : tuple of int
        Sorted hard-cut frames (first frame of the new shot); never 0, never inside a
        transition.
    cut_confidence : tuple of float
        One 0–1 confidence per cut, same order as ``cuts``.
    transitions : tuple of Transition
        Gradual transitions, sorted, not overlapping each other.
    suggestions : tuple of Suggestion
        Candidate boundaries a rule rejected (sorted by frame; none inside a transition or
        on a cut): shown to reviewers, never clips of their own.
    features : float32 array (N, F)
        Per-frame features (N == frame_count) from which the detector re-derives ``cuts`` and
        ``transitions`` without decoding (its ``boundaries_from_features``); may be (N, 0)
        for a detector that keeps none.
    """

    detector: str
    frame_count: int
    fps: Fraction
    cuts: tuple[int, ...]
    cut_confidence: tuple[float, ...]
    transitions: tuple[Transition, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    features: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), np.float32), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if len(self.cuts) != len(self.cut_confidence):
            raise ValueError("one confidence per cut")
