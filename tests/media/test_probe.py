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


# --- pictures are not videos ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "reason"),
    [
        ("still.png", ["-frames:v", "1"], "not a video: a still image (PNG)"),
        ("photo.jpg", ["-frames:v", "1"], "not a video: a still image (MJPEG)"),
        ("still.webp", ["-frames:v", "1", "-c:v", "libwebp"], None),
        ("one.mkv", ["-frames:v", "1", "-c:v", "png"], "not a video: a still image (PNG in a matroska file)"),
        ("one.gif", ["-frames:v", "1"], "not a video: a still image (GIF)"),
        ("seq.mjpeg", ["-frames:v", "4", "-f", "image2pipe", "-c:v", "mjpeg"], "not a video: an image sequence (4 MJPEG images)"),
    ],
)
def test_pictures_are_refused_as_not_a_video(
    media: MediaFiles, tmp_path: Path, name: str, args: list[str], reason: str | None
) -> None:
    from .conftest import run_ffmpeg_cli

    out = tmp_path / name
    try:
        run_ffmpeg_cli("-i", str(media.small), *args, str(out))
    except Exception:
        pytest.skip(f"this ffmpeg cannot write {name}")
    with pytest.raises(ProbeError) as err:
        probe(out)
    if reason is None:  # webp: whatever codec label ffmpeg gives, it is a still image
        assert str(err.value).startswith("not a video: a still image (")
    else:
        assert str(err.value) == reason


def test_moving_pictures_in_picture_codecs_are_videos(media: MediaFiles, tmp_path: Path) -> None:
    """An animated GIF and a many-frame PNG stream in Matroska are videos."""
    from .conftest import run_ffmpeg_cli

    gif, mkv = tmp_path / "anim.gif", tmp_path / "png.mkv"
    run_ffmpeg_cli("-i", str(media.small), "-frames:v", "12", "-vf", "scale=80:45", str(gif))
    run_ffmpeg_cli("-i", str(media.small), "-frames:v", "12", "-c:v", "png", "-an", str(mkv))
    assert probe(gif).frame_count == 12
    assert probe(mkv, count_frames=True).frame_count == 12


def test_corruption_reason_names_the_first_lost_frame() -> None:
    from heaters.media.probe import corruption_reason

    src = [10 + k / 24 for k in range(48)]
    decoded = src[:20] + src[26:]  # frames 20..25 lost
    assert corruption_reason(src, decoded) == (
        "file is corrupt at frame 20 (0.83 s): 6 of 48 frames could not be decoded"
    )
    assert corruption_reason(src, src[:40]) == (
        "file is corrupt at frame 40 (1.67 s): 8 of 48 frames could not be decoded"
    )
