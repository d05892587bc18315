"""probe(): real files in, facts or a one-line ProbeError out."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from heaters.errors import ProbeError
from heaters.media.probe import ProbeResult, probe, vfr_from_deltas

from .conftest import SAMPLE, SMALL_FRAMES, MediaFiles


def test_sample() -> None:
    r = probe(SAMPLE)
    assert isinstance(r, ProbeResult)
    assert (r.width, r.height) == (1280, 720)
    assert r.fps == Fraction(24)
    assert r.frame_count == 1416
    assert r.duration_seconds == pytest.approx(59.0, abs=0.05)
    assert not r.is_vfr
    assert r.video_codec == "h264"
    assert r.has_audio
    assert "mp4" in r.format_name


def test_small_cut(media: MediaFiles) -> None:
    r = probe(media.small)
    assert (r.width, r.height) == (320, 180)
    assert r.fps == Fraction(24)
    assert r.frame_count == SMALL_FRAMES
    assert r.duration_seconds == pytest.approx(4.0, abs=0.05)
    assert not r.is_vfr
    assert r.has_audio
    assert r.time_base > 0
    assert probe(media.small, count_frames=True).frame_count == SMALL_FRAMES
    assert probe(media.small_faststart) == r


def test_mkv_frames_are_counted(media: MediaFiles) -> None:
    r = probe(media.small_mkv)
    assert r.format_name.startswith("matroska")
    assert r.frame_count == SMALL_FRAMES  # MKV declares no count: demuxed packets
    assert not r.is_vfr  # 1/1000 time base: 41/42 ms deltas are rounding, not VFR


def test_vfr(media: MediaFiles) -> None:
    r = probe(media.vfr)
    assert r.is_vfr
    assert r.frame_count == SMALL_FRAMES
    assert not r.has_audio


def test_vfr_rule() -> None:
    assert not vfr_from_deltas([512] * 100)
    assert not vfr_from_deltas([41, 42, 42] * 30)  # rounding jitter of one tick
    assert vfr_from_deltas([512] * 50 + [1024] * 50)
    assert not vfr_from_deltas([512])


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty", "file is empty (0 bytes)"),
        ("audio_only", "no video stream (audio only)"),
        (
            "text",
            "not a video file: ffmpeg cannot read it (Invalid data found when processing input)",
        ),
        ("truncated", "file is truncated or corrupt: the MP4 index (moov atom) is missing"),
    ],
)
def test_bad_inputs(media: MediaFiles, name: str, reason: str) -> None:
    with pytest.raises(ProbeError) as err:
        probe(getattr(media, name))
    assert str(err.value) == reason


def test_truncated_faststart(media: MediaFiles) -> None:
    with pytest.raises(ProbeError) as err:
        probe(media.truncated_faststart)
    msg = str(err.value)
    assert msg.startswith(f"file is truncated: the container declares {SMALL_FRAMES} frames ")
    assert "could be read" in msg
    assert "\n" not in msg


def test_missing(media: MediaFiles) -> None:
    with pytest.raises(ProbeError) as err:
        probe(media.missing)
    assert str(err.value) == f"file not found: {media.missing}"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match=r"^not a file: "):
        probe(tmp_path)
