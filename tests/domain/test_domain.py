"""Unit tests of the pure domain functions."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from heaters.domain.cuts import last_frame_end, spans_from_boundaries, spans_from_cuts
from heaters.domain.states import DETECT, DOWNLOAD, PREPROCESS, is_failed
from heaters.media.boundaries import Transition


def test_spans_cover_every_frame_once() -> None:
    pts = [i / 24 for i in range(100)]
    spans = spans_from_cuts([30, 10, 10, 0, 100, 150, 60], pts, last_frame_end(pts, 1 / 24))
    assert [(s.start_frame, s.end_frame) for s in spans] == [(0, 10), (10, 30), (30, 60), (60, 100)]
    assert spans[0].start_seconds == 0.0
    assert spans[1].start_seconds == pts[10]
    assert spans[0].end_seconds == spans[1].start_seconds
    assert abs(spans[-1].end_seconds - 100 / 24) < 1e-9
    assert spans[2].identifier(7) == "7_30_60"


def test_no_frames_no_spans() -> None:
    assert spans_from_cuts([1, 2], [], 0.0) == []


def test_vfr_seconds_come_from_pts_not_fps() -> None:
    pts = [0.0, 0.04, 0.2, 0.21, 0.5]
    spans = spans_from_cuts([2], pts, last_frame_end(pts, 0.04))
    assert spans[1].start_seconds == 0.2
    assert abs(spans[1].end_seconds - 0.79) < 1e-9


@given(
    n=st.integers(min_value=1, max_value=500),
    cuts=st.lists(st.integers(min_value=-5, max_value=600), max_size=40),
)
def test_spans_partition_property(n: int, cuts: list[int]) -> None:
    pts = [i * 0.04 for i in range(n)]
    spans = spans_from_cuts(cuts, pts, n * 0.04)
    assert spans[0].start_frame == 0 and spans[-1].end_frame == n
    for a, b in itertools.pairwise(spans):
        assert a.end_frame == b.start_frame
        assert a.end_seconds == b.start_seconds
    assert all(s.end_frame > s.start_frame for s in spans)


def test_transition_frames_become_their_own_clip() -> None:
    pts = [i / 24 for i in range(100)]
    dissolve = Transition(40, 52, "dissolve", 0.8)
    fade_in = Transition(0, 6, "fade_in", 0.7)
    spans = spans_from_boundaries(
        [20, 45, 70], [0.9, 0.99, 0.4], [dissolve, fade_in], pts, last_frame_end(pts, 1 / 24)
    )
    # the cut at 45 lies inside the dissolve: dropped; the shots around the dissolve are clean
    assert [(s.start_frame, s.end_frame, s.transition_kind, s.confidence) for s in spans] == [
        (0, 6, "fade_in", 0.7),
        (6, 20, None, None),
        (20, 40, None, 0.9),
        (40, 52, "dissolve", 0.8),
        (52, 70, None, None),
        (70, 100, None, 0.4),
    ]
    assert spans[3].is_transition and not spans[2].is_transition


def test_overlapping_and_out_of_range_transitions() -> None:
    pts = [i / 24 for i in range(50)]
    spans = spans_from_boundaries(
        [], [], [Transition(10, 20, "wipe", 0.5), Transition(15, 25, "dissolve", 0.9),
                 Transition(45, 60, "fade_out", 0.6)], pts, 50 / 24,
    )  # fmt: skip
    assert [(s.start_frame, s.end_frame, s.transition_kind) for s in spans] == [
        (0, 10, None), (10, 20, "wipe"), (20, 45, None), (45, 50, "fade_out"),
    ]  # fmt: skip


@given(
    n=st.integers(min_value=1, max_value=300),
    cuts=st.lists(st.integers(min_value=-5, max_value=320), max_size=20),
    spans=st.lists(
        st.tuples(st.integers(min_value=-5, max_value=320), st.integers(min_value=1, max_value=40)),
        max_size=8,
    ),
)
def test_boundaries_partition_property(
    n: int, cuts: list[int], spans: list[tuple[int, int]]
) -> None:
    pts = [i * 0.04 for i in range(n)]
    transitions = [Transition(max(0, s), max(0, s) + d, "dissolve", 0.5) for s, d in spans]
    out = spans_from_boundaries(cuts, [0.5] * len(cuts), transitions, pts, n * 0.04)
    assert out[0].start_frame == 0 and out[-1].end_frame == n
    for a, b in itertools.pairwise(out):
        assert a.end_frame == b.start_frame
    assert all(s.end_frame > s.start_frame for s in out)
    clipped = {(max(0, s), min(n, max(0, s) + d)) for s, d in spans}
    assert all((s.start_frame, s.end_frame) in clipped for s in out if s.is_transition)


def test_transitions() -> None:
    assert DOWNLOAD.claimable == ("new", "download_failed", "downloading")
    assert PREPROCESS.done == "preprocessed" and DETECT.failed == "detect_failed"
    assert is_failed("detect_failed") and not is_failed("detected")
