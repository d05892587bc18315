"""Wipes seen as an edge crossing the picture (``heaters.media.wipes``): the per-frame
difference profiles (``diff_col_*``, ``diff_row_*``) peak in a group that moves one way at a
steady pace; a track that changed the part of the picture it swept is a wipe.

Real video: the sample's first shot (0–5 s, a meadow with the camera still) framed twice
(the top-left and the bottom-right 60 % of the frame, scaled to 640×360) and joined with
ffmpeg's ``xfade`` over 1.5 s from 2 s (frames 48–84 at 24 fps). Made-up features: profiles
with a moving peak, a peak that stays, an object that crosses a still picture."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from heaters.media import scenes, wipes
from heaters.media.boundaries import Transition
from heaters.media.scores import COL, EDGE_BINS, FEATURES, decode_features

from .conftest import SAMPLE, run_ffmpeg_cli

COLS, ROWS = EDGE_BINS


def _two_framings(out: Path, transition: str) -> Path:
    """The sample's first 5 s framed twice, joined by ``transition`` (frames 48–84)."""
    graph = (
        "[0:v]split[a][b];"
        "[a]crop=iw*0.6:ih*0.6:0:0,scale=640:360,setsar=1,fps=24[A];"
        "[b]crop=iw*0.6:ih*0.6:iw*0.4:ih*0.4,scale=640:360,setsar=1,fps=24[B];"
        f"[A][B]xfade=transition={transition}:duration=1.5:offset=2,format=yuv420p"
    )
    run_ffmpeg_cli("-t", "5", "-i", str(SAMPLE), "-filter_complex", graph, "-an",
                   "-c:v", "libx264", "-crf", "20", str(out))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def slide(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    path = _two_framings(tmp_path_factory.mktemp("wipes") / "slideup.mp4", "slideup")
    return decode_features(path).features


def test_a_slide_between_two_framings_is_one_wipe(slide: np.ndarray) -> None:
    """Both pictures move together, so every motion test calls the slide a camera move and
    the fallback cuts it at its largest step; its seam is an edge crossing the picture."""
    tracks = wipes.accepted_tracks(slide.astype(np.float64))
    assert [(t.axis, t.start, t.end) for t in tracks] == [("row", 49, 85)]
    result = scenes.result_from_features(slide, Fraction(24))
    assert result.cuts == ()
    assert [(t.start_frame, t.end_frame, t.kind) for t in result.transitions] == [
        (49, 85, "wipe")
    ]


def test_without_the_edge_the_slide_is_a_fallback_span(
    slide: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the relaxed tests see it: the span they found, as the learned model agrees; a
    cut at its largest step without the model."""
    monkeypatch.setattr(scenes, "accepted_tracks", lambda f: [])
    result = scenes.result_from_features(slide, Fraction(24))
    assert result.cuts == ()
    [span] = result.transitions
    assert span.confidence == 0.5 and span.start_frame <= 49 and span.end_frame >= 84
    assert (84 - 49) / (span.end_frame - span.start_frame) >= 0.5  # IoU with the slide
    alone = scenes.result_from_features(slide, Fraction(24), learned=False)
    assert alone.transitions == ()
    assert len(alone.cuts) == 1 and 49 <= alone.cuts[0] <= 84
    assert alone.cut_confidence == (0.5,)


def _profiles(n: int = 120) -> np.ndarray:
    """Made-up features: a still picture (thumbnail 100, a little noise in every group)."""
    rng = np.random.default_rng(7)
    f = np.zeros((n, len(FEATURES)))
    first = COL["diff_col_0"]
    f[1:, first : first + COLS + ROWS] = rng.uniform(0.5, 1.5, (n - 1, COLS + ROWS))
    f[:, COL["thumb_0"] : COL["thumb_0"] + 32] = 100.0
    return f


def _edge(f: np.ndarray, start: int, groups: list[int], level: float = 30.0) -> None:
    for k, g in enumerate(groups):
        f[start + k, COL[f"diff_col_{g}"]] = level


def test_a_moving_peak_is_a_track_and_a_peak_that_stays_is_none() -> None:
    f = _profiles()
    path = [min(15, k // 2) for k in range(32)]  # left to right, half a group a frame
    _edge(f, 40, path)
    _edge(f, 80, [7] * 30)  # a flickering lamp: always the same group
    tracks = wipes.edge_tracks(f)
    assert [(t.axis, t.start, t.end, t.first, t.last) for t in tracks] == [
        ("col", 40, 72, 0, 15)
    ]
    assert tracks[0].strength > 10


def test_a_seam_that_leaves_at_one_border_and_comes_back_at_the_other() -> None:
    """A slide's edge goes out at the left and comes in at the right, on the same way."""
    f = _profiles()
    _edge(f, 40, [5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8])
    tracks = wipes.edge_tracks(f)
    assert [(t.start, t.end, t.first, t.last) for t in tracks] == [(40, 54, 15, 0)]


def test_only_a_track_that_changed_the_picture_it_swept_is_a_wipe() -> None:
    """Someone walking across a still shot moves an edge as steadily as a wipe does; the
    picture they leave behind is the one that was there."""
    f = _profiles()
    _edge(f, 40, [min(15, k // 2) for k in range(32)])
    (walk,) = wipes.edge_tracks(f)
    assert wipes.swept_change(f, walk) == 0.0
    assert wipes.accepted_tracks(f) == []
    # the same edge with a new picture after it (every cell 30 levels brighter)
    f[72:, COL["thumb_0"] : COL["thumb_0"] + 32] = 130.0
    (wipe,) = wipes.accepted_tracks(f)
    assert wipes.edge_wipes([wipe], np.zeros(len(f), bool)) == [
        Transition(40, 72, "wipe", 0.5)
    ]
    taken = np.zeros(len(f), bool)
    taken[71] = True  # a cut already there
    assert wipes.edge_wipes([wipe], taken) == []


def test_a_wipe_found_as_its_faster_half_takes_the_edge_extent() -> None:
    track = wipes.EdgeTrack(40, 90, "col", 0, 15, 8.0)
    half = Transition(41, 66, "dissolve", 0.8)
    other = Transition(100, 110, "dissolve", 0.9)
    fade = Transition(40, 60, "fade_out", 1.0)
    assert wipes.wipe_extents([half, other, fade], [track]) == [
        Transition(40, 90, "wipe", 0.8),
        other,
        fade,
    ]
    # nearly as long as the edge: kept as found
    assert wipes.wipe_extents([Transition(41, 85, "wipe", 0.8)], [track]) == [
        Transition(41, 85, "wipe", 0.8)
    ]


def test_an_edge_lost_half_way_reaches_across_the_picture_at_its_own_pace() -> None:
    # an edge seen from group 15 to group 8 over frames 244..271 (a dark second half hid the
    # rest): at its pace it crosses the other 8 groups in ~31 frames more
    track = wipes.EdgeTrack(244, 272, "col", 15, 8, 5.0)
    assert wipes.reach(track) == (244, 303)
    # one seen only from group 6 on: it began before
    assert wipes.reach(wipes.EdgeTrack(100, 110, "col", 6, 15, 5.0)) == (94, 110)
    # a whole track reaches no farther
    assert wipes.reach(wipes.EdgeTrack(40, 90, "col", 0, 15, 8.0)) == (40, 90)


def test_the_whole_way_extent_goes_to_a_span_found_as_the_half_but_over_no_cut() -> None:
    track = wipes.EdgeTrack(244, 272, "col", 15, 8, 5.0)
    half = Transition(241, 271, "wipe", 0.7)
    assert wipes.wipe_extents([half], [track], whole_way=True) == [
        Transition(244, 303, "wipe", 0.7)
    ]
    # without whole_way the track is as long as the span: kept as found
    assert wipes.wipe_extents([half], [track]) == [half]
    # a cut, or another transition, inside the reach: kept as found
    assert wipes.wipe_extents([half], [track], whole_way=True, cuts=[290]) == [half]
    fade = Transition(295, 310, "fade_out", 1.0)
    assert wipes.wipe_extents([half, fade], [track], whole_way=True) == [half, fade]


def test_a_span_much_longer_than_the_edge_it_holds_is_cut_to_the_edge() -> None:
    track = wipes.EdgeTrack(52, 71, "col", 15, 0, 16.0)
    long = Transition(39, 97, "wipe", 0.54)
    fade = Transition(30, 100, "fade_in", 1.0)
    assert wipes.wipe_trims([long, fade], [track]) == [Transition(52, 71, "wipe", 0.54), fade]
    # about as long as the edge: kept as found
    near = Transition(50, 74, "dissolve", 0.9)
    assert wipes.wipe_trims([near], [track]) == [near]


def test_a_noisy_tail_breaks_a_run_that_trimming_keeps_as_its_track() -> None:
    """An edge seen from group 15 to 8 over 26 frames, then a tail where it wanders back two
    groups (a dark half of the picture hid it): the whole run moves no one way; its longest
    tail or head that does is the track, for extents only."""
    f = _profiles()
    head = [15 - k * 7 // 25 for k in range(26)]
    _edge(f, 40, [*head, 7, 5, 3, 5])
    assert wipes.edge_tracks(f, wipes.PARTIAL_SWEEP) == []
    (track,) = wipes.edge_tracks(f, wipes.PARTIAL_SWEEP, trim=True)
    assert (track.start, track.first) == (40, 15) and track.end - track.start >= 26


def test_the_whole_way_stops_at_the_video_end() -> None:
    # the edge leaves the picture after the last frame: the extent ends with the video
    track = wipes.EdgeTrack(90, 100, "col", 0, 7, 5.0)
    half = Transition(90, 96, "wipe", 0.7)
    [x] = wipes.wipe_extents([half], [track], whole_way=True, frame_count=101)
    assert (x.start_frame, x.end_frame) == (90, 101)


def test_the_profiles_own_levels_in_blocks_equal_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A film's profiles are leveled in blocks (memory); each frame's level reads frames up
    to 24 away, across a block's edge as well: the same numbers as one pass."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 30, (1000, COLS))
    whole = wipes._peaks(p)
    monkeypatch.setattr(wipes, "_PEAK_BLOCK", 37)
    blocks = wipes._peaks(p)
    for a, b in zip(whole, blocks, strict=True):
        assert np.array_equal(a, b)
