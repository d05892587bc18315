"""Unit tests of the pure domain functions."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from heaters.domain.cuts import last_frame_end, spans_from_cuts
from heaters.domain.states import DETECT, DOWNLOAD, PREPROCESS, is_failed


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


def test_transitions() -> None:
    assert DOWNLOAD.claimable == ("new", "download_failed", "downloading")
    assert PREPROCESS.done == "preprocessed" and DETECT.failed == "detect_failed"
    assert is_failed("detect_failed") and not is_failed("detected")
