"""Real media files for the media tests, made once per session with the pip-shipped ffmpeg.

Every file derives from the committed sample (``samples/big_buck_bunny_action_59s.mp4``):
a 4 s 320x180 cut (96 frames at 24 fps, H.264 + AAC), its faststart twin, truncated copies,
an audio-only file, a VFR file, plus an empty file and a text file named ``.mp4``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "big_buck_bunny_action_59s.mp4"

#: Frames of the 4 s cut at 24 fps.
SMALL_FRAMES = 96


def run_ffmpeg_cli(*args: str) -> None:
    """Run the pip-shipped ffmpeg synchronously; fail loudly on error."""
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         *args],
        check=True,
    )  # fmt: skip


def _cut_half(src: Path, dest: Path) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


@dataclass(frozen=True)
class MediaFiles:
    """Paths of the session's test media."""

    small: Path  # 4 s, 320x180, 24 fps, H.264 + AAC, moov at the end
    small_faststart: Path  # same, moov at the front
    small_mkv: Path  # same streams remuxed to MKV (no declared frame count)
    odd_size: Path  # 2 s, 321x181 (odd sides), no audio
    truncated: Path  # first half of ``small``: no moov atom
    truncated_faststart: Path  # first half of ``small_faststart``: index promises 96 frames
    audio_only: Path  # AAC only (.m4a)
    vfr: Path  # 96 frames: 48 at 1/24 s, then 48 at 1/12 s
    empty: Path  # 0 bytes
    text: Path  # a text file named .mp4
    missing: Path  # does not exist


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaFiles:
    """Make every test input once per session (about 2 s of ffmpeg)."""
    d = tmp_path_factory.mktemp("media")
    small = d / "small.mp4"
    run_ffmpeg_cli(
        "-ss", "10", "-t", "4", "-i", str(SAMPLE),
        "-vf", "scale=320:180", "-c:v", "libx264", "-preset", "ultrafast",
        "-c:a", "aac", "-b:a", "64k", str(small),
    )  # fmt: skip
    small_fs = d / "small_faststart.mp4"
    run_ffmpeg_cli("-i", str(small), "-c", "copy", "-movflags", "+faststart", str(small_fs))
    small_mkv = d / "small.mkv"
    run_ffmpeg_cli("-i", str(small), "-c", "copy", str(small_mkv))
    odd = d / "odd.mp4"
    run_ffmpeg_cli(
        "-ss", "10", "-t", "2", "-i", str(SAMPLE), "-an",
        "-vf", "scale=321:181", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv444p", str(odd),
    )  # fmt: skip
    audio = d / "audio.m4a"
    run_ffmpeg_cli("-i", str(small), "-vn", "-c:a", "copy", str(audio))
    vfr = d / "vfr.mp4"
    run_ffmpeg_cli(
        "-i", str(small), "-an",
        "-vf", "setpts='if(lt(N,48),N/24,2+(N-48)/12)/TB'",
        "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", str(vfr),
    )  # fmt: skip
    empty = d / "empty.mp4"
    empty.touch()
    text = d / "notes.mp4"
    text.write_text("These are meeting notes, not a video.\n" * 20)
    return MediaFiles(
        small=small,
        small_faststart=small_fs,
        small_mkv=small_mkv,
        odd_size=odd,
        truncated=_cut_half(small, d / "truncated.mp4"),
        truncated_faststart=_cut_half(small_fs, d / "truncated_faststart.mp4"),
        audio_only=audio,
        vfr=vfr,
        empty=empty,
        text=text,
        missing=d / "does_not_exist.mp4",
    )
