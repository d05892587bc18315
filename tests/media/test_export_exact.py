"""Frame-exact export from the master: the original by default, FFV1 for old or odd videos.

Each source is preprocessed for real (its proxy's frame index gives the times), then clips
are exported from the master and compared with the source's own frames from a sequential
PyAV decode: the clip holds exactly ``end_frame - start_frame`` frames and frame *i* of the
clip is source frame ``start_frame + i`` (PSNR ≥ 40 dB, and closer to it than to either
neighbour, so an off-by-one cannot pass).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest

from heaters.media.export import EncodeOptions, encode_clip_exact
from heaters.media.preprocess import PreprocessResult, preprocess

W, H = 192, 108
FPS = 24
SECONDS = 3  # 72 frames


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
         "-y", *args],
        check=True,
    )  # fmt: skip


def _testsrc(audio: bool = False) -> list[str]:
    """Moving test pattern (every frame differs: a counter and sweeping shapes)."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}:duration={SECONDS}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}"]
    return args


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def _make(kind: str, d: Path) -> Path:
    """One source file of the given kind."""
    if kind == "closed_gop":
        out = d / "closed.mp4"
        _ffmpeg(*_testsrc(), *X264, "-g", "24", "-bf", "0", "-x264-params", "open-gop=0",
                str(out))  # fmt: skip
    elif kind == "open_gop":
        out = d / "open.mkv"
        _ffmpeg(*_testsrc(), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-bf", "3", "-x264-params", "open-gop=1:keyint=20:min-keyint=20:scenecut=0",
                str(out))  # fmt: skip
    elif kind == "bframes":
        out = d / "bframes.mp4"
        _ffmpeg(*_testsrc(), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-bf", "3", "-b_strategy", "0", "-g", "30", str(out))  # fmt: skip
    elif kind == "vfr":
        out = d / "vfr.mp4"
        # 36 frames at 1/24 s, then 36 at 1/12 s, B-frames on.
        _ffmpeg(*_testsrc(), "-vf",
                "setpts='if(lt(N,36),N/24,36/24+(N-36)/12)/TB'",
                "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "veryfast",
                "-pix_fmt", "yuv420p", "-bf", "2", "-g", "25", "-video_track_timescale", "1200",
                str(out))  # fmt: skip
    elif kind == "mpeg4_avi":
        out = d / "mpeg4.avi"
        _ffmpeg(*_testsrc(), "-c:v", "mpeg4", "-q:v", "2", "-g", "18", "-f", "avi", str(out))
    elif kind == "audio":
        out = d / "audio.mp4"
        _ffmpeg(*_testsrc(audio=True), *X264, "-g", "24", "-c:a", "aac", "-b:a", "96k",
                "-shortest", str(out))  # fmt: skip
    else:  # pragma: no cover
        raise AssertionError(kind)
    return out


def _decode_gray(path: Path) -> list[np.ndarray]:
    """Every frame's luma (H, W) float64, in decode order (a sequential decode)."""
    with av.open(str(path)) as c:
        return [
            np.asarray(f.to_ndarray(format="gray"), dtype=np.float64)
            for f in c.decode(c.streams.video[0])
        ]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


@dataclass
class Source:
    path: Path
    result: PreprocessResult
    frames: list[np.ndarray]


async def _source(kind: str, d: Path) -> Source:
    src = _make(kind, d)
    r = await preprocess(src, d / "master.mkv", d / "proxy.mp4", small_frames=d / "s.rgb")
    return Source(src, r, _decode_gray(src))


async def _export(
    master: Path, s: Source, start: int, end: int, out: Path, *, audio: bool = True
) -> Path:
    pts = s.result.frame_index.pts_seconds
    end_seconds = pts[end] if end < len(pts) else s.result.duration_seconds
    encode_clip_exact(
        master, out, start_seconds=pts[start], frame_count=end - start,
        duration_seconds=end_seconds - pts[start],
        prev_seconds=pts[start - 1] if start > 0 else None,
        next_seconds=pts[start + 1] if start + 1 < len(pts) else None,
        encode=EncodeOptions(preset="ultrafast", audio=audio),
    )  # fmt: skip
    return out


def _assert_exact(clip: Path, s: Source, start: int, end: int) -> None:
    got = _decode_gray(clip)
    assert len(got) == end - start, f"clip [{start}, {end}) decoded to {len(got)} frames"
    for i, frame in enumerate(got):
        k = start + i
        own = _psnr(frame, s.frames[k])
        assert own >= 40.0, f"clip frame {i} vs source frame {k}: {own:.1f} dB"
        for j in (k - 1, k + 1):
            if 0 <= j < len(s.frames):
                assert own > _psnr(frame, s.frames[j]), f"clip frame {i} looks like frame {j}"


# Clips: from frame 0, mid-GOP, ending at the last frame, a single frame.
CLIPS = [(0, 10), (29, 47), (61, 72), (44, 45)]


@pytest.mark.parametrize("kind", ["closed_gop", "open_gop", "bframes", "vfr", "mpeg4_avi"])
async def test_export_from_original_is_frame_exact(kind: str, tmp_path: Path) -> None:
    s = await _source(kind, tmp_path)
    assert s.result.master_kind == "original", s.result.master_reason
    assert not (tmp_path / "master.mkv").exists(), "the original is the master: no FFV1"
    assert s.result.frame_count == len(s.frames) == FPS * SECONDS
    if kind == "vfr":
        assert s.result.is_vfr
    for start, end in CLIPS:
        clip = await _export(s.path, s, start, end, tmp_path / f"clip_{start}.mp4")
        _assert_exact(clip, s, start, end)
        with av.open(str(clip)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
        head = clip.read_bytes()
        assert 0 < head.find(b"moov") < head.find(b"mdat"), "faststart"


def _audio_seconds(path: Path) -> float:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return 0.0
        a = c.streams.audio[0]
        samples = sum(f.samples for f in c.decode(a))
        return samples / a.codec_context.sample_rate


async def test_export_keeps_the_audio_span(tmp_path: Path) -> None:
    s = await _source("audio", tmp_path)
    assert s.result.master_kind == "original" and s.result.has_audio
    pts = s.result.frame_index.pts_seconds
    one_audio_frame = 1024 / 48000  # an AAC frame, seconds
    for start, end in [(13, 37), (0, 24), (50, 72)]:
        clip = await _export(s.path, s, start, end, tmp_path / f"a{start}.mp4")
        _assert_exact(clip, s, start, end)
        span = (pts[end] if end < len(pts) else s.result.duration_seconds) - pts[start]
        assert abs(_audio_seconds(clip) - span) <= one_audio_frame, (start, end)
    mute = await _export(s.path, s, 13, 37, tmp_path / "mute.mp4", audio=False)
    _assert_exact(mute, s, 13, 37)
    assert _audio_seconds(mute) == 0.0


async def test_broken_timestamps_fall_back_to_ffv1(tmp_path: Path) -> None:
    """Frame 10 given frame 9's PTS (the muxer bumps it by one tick): the original cannot be
    cut by time, so the master is FFV1 and says why; exports from it are still exact."""
    good = _make("closed_gop", tmp_path)
    broken = tmp_path / "broken.ts"
    _ffmpeg("-i", str(good), "-c", "copy",
            "-bsf:v", r"setts=pts=if(eq(N\,10)\,PTS-DURATION\,PTS)", str(broken))  # fmt: skip
    master = tmp_path / "master.mkv"
    r = await preprocess(broken, master, tmp_path / "proxy.mp4")
    assert r.master_kind == "ffv1"
    assert r.master_reason is not None
    assert r.master_reason.startswith("broken timestamps: frames 9 and 10 of the original")
    with av.open(str(master)) as c:
        assert c.streams.video[0].codec_context.name == "ffv1"
    s = Source(broken, r, _decode_gray(broken))
    for start, end in [(5, 20), (30, 41)]:
        _assert_exact(await _export(master, s, start, end, tmp_path / f"b{start}.mp4"), s,
                      start, end)  # fmt: skip


async def test_ffv1_master_asked_for_and_still_exports(tmp_path: Path) -> None:
    """HEATERS_MASTER=ffv1 (and every video preprocessed before issue 13) has an FFV1 master:
    master-mode exports read it the same way."""
    src = _make("bframes", tmp_path)
    master = tmp_path / "master.mkv"
    r = await preprocess(src, master, tmp_path / "proxy.mp4", master_mode="ffv1")
    assert r.master_kind == "ffv1" and master.is_file()
    s = Source(src, r, _decode_gray(src))
    for start, end in CLIPS:
        _assert_exact(await _export(master, s, start, end, tmp_path / f"f{start}.mp4"), s,
                      start, end)  # fmt: skip
