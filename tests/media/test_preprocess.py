"""preprocess(), build_frame_index(), run_ffmpeg(): real ffmpeg, real files."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import pickle
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from heaters.errors import DownloadError, PreprocessError
from heaters.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from heaters.media.preprocess import (
    FrameIndex,
    PreprocessResult,
    build_frame_index,
    ffmpeg_preprocess_args,
    preprocess,
)
from heaters.media.probe import probe
from heaters.media.segments import (
    encode_audio,
    encode_segment,
    finish_segmented,
    plan_segments,
    segment_paths,
)

from .conftest import SAMPLE, SMALL_FRAMES, MediaFiles, run_ffmpeg_cli


def _streams(path: Path) -> dict[str, str]:
    with av.open(str(path)) as c:
        return {s.type: s.codec_context.name for s in c.streams}


def _packets(path: Path) -> list[tuple[int, bool]]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(int(p.pts), bool(p.is_keyframe)) for p in c.demux(s) if p.size]


def _source_pts_seconds(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.time_base is not None
        tb = s.time_base
        return sorted(float(p.pts * tb) for p in c.demux(s) if p.size and p.pts is not None)


def _names(directory: Path) -> list[str]:
    """Sorted names of the entries of ``directory``."""
    return sorted(p.name for p in directory.iterdir())


def _ffmpeg_children(marker: str) -> list[int]:
    """PIDs of live processes whose command line mentions ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if marker.encode() in cmd and state != "Z" and entry.name != str(os.getpid()):
            pids.append(int(entry.name))
    return pids


async def test_preprocess_outputs(media: MediaFiles, tmp_path: Path) -> None:
    master, proxy, small = tmp_path / "m.mkv", tmp_path / "p.mp4", tmp_path / "s.rgb"
    progress: list[int] = []
    r = await preprocess(
        media.small, master, proxy, small_frames=small, on_progress=progress.append,
        master_mode="ffv1",
    )  # fmt: skip
    assert isinstance(r, PreprocessResult)
    assert (r.master_kind, r.master_reason) == ("ffv1", "asked for (HEATERS_MASTER=ffv1)")
    assert r.frame_count == SMALL_FRAMES
    assert r.fps == Fraction(24)
    assert (r.width, r.height) == (320, 180)
    assert r.has_audio and not r.is_vfr
    assert r.duration_seconds == pytest.approx(4.0, abs=0.05)

    assert _streams(master) == {"video": "ffv1", "audio": "flac"}
    with av.open(str(master)) as c:
        assert c.format.name.startswith("matroska")
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"  # source format kept
    assert _streams(proxy) == {"video": "h264", "audio": "aac"}
    with av.open(str(proxy)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
    packets = _packets(proxy)
    assert len(packets) == SMALL_FRAMES
    assert all(key for _, key in packets), "every proxy frame must be an I-frame"
    head = proxy.read_bytes()
    assert 0 < head.find(b"moov") < head.find(b"mdat"), "proxy must be faststart"

    idx = r.frame_index
    assert isinstance(idx, FrameIndex)
    assert len(idx.pts_seconds) == len(idx.byte_offsets) == r.frame_count
    assert all(b > a for a, b in itertools.pairwise(idx.pts_seconds))
    assert all(b > a for a, b in itertools.pairwise(idx.byte_offsets))
    assert idx.pts_seconds[0] == pytest.approx(0.0, abs=1e-6)
    assert idx.pts_seconds[1] == pytest.approx(1 / 24, abs=1e-6)
    assert build_frame_index(proxy) == idx

    assert small.stat().st_size == r.frame_count * 64 * 36 * 3
    assert progress and progress[-1] >= SMALL_FRAMES - 1
    assert _names(tmp_path) == ["m.mkv", "p.mp4", "s.rgb"]


async def test_original_is_the_master_by_default(media: MediaFiles, tmp_path: Path) -> None:
    """No FFV1 by default: the source is the master; only the proxy and small frames are
    written, and the proxy is at most ``proxy_height`` lines."""
    master, proxy, small = tmp_path / "m.mkv", tmp_path / "p.mp4", tmp_path / "s.rgb"
    r = await preprocess(media.small, master, proxy, small_frames=small, proxy_height=90)
    assert (r.master_kind, r.master_reason) == ("original", None)
    assert _names(tmp_path) == ["p.mp4", "s.rgb"]
    assert r.frame_count == SMALL_FRAMES and (r.width, r.height) == (320, 180)
    with av.open(str(proxy)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.width, ctx.height) == (160, 90)
    assert all(key for _, key in _packets(proxy))
    assert small.stat().st_size == SMALL_FRAMES * 64 * 36 * 3  # analysis frames unchanged
    assert r.frame_index.pts_seconds == pytest.approx(_source_pts_seconds(media.small), abs=1e-4)


async def test_unseekable_original_gets_an_ffv1_master(media: MediaFiles, tmp_path: Path) -> None:
    """A raw H.264 stream has no timestamps: the master is FFV1, and the row says why."""
    raw = tmp_path / "raw.h264"
    await run_ffmpeg(["-i", str(media.small), "-an", "-c", "copy", "-f", "h264", str(raw)])
    out = tmp_path / "out"
    r = await preprocess(raw, out / "m.mkv", out / "p.mp4")
    assert r.master_kind == "ffv1"
    assert (
        r.master_reason
        == f"{SMALL_FRAMES} of {SMALL_FRAMES} video packets of the original have no PTS"
    )
    assert _streams(out / "m.mkv") == {"video": "ffv1"}
    assert _names(out) == ["m.mkv", "p.mp4"]


async def test_byte_offsets_point_at_frames(media: MediaFiles, tmp_path: Path) -> None:
    proxy = tmp_path / "p.mp4"
    r = await preprocess(media.small_faststart, tmp_path / "m.mkv", proxy)
    with av.open(str(proxy)) as c:
        sizes = [p.size for p in c.demux(c.streams.video[0]) if p.size]
    data = proxy.read_bytes()
    for off, size in zip(r.frame_index.byte_offsets, sizes, strict=True):
        # An H.264 sample in MP4 starts with a 4-byte NAL length that fits in the sample.
        nal_len = int.from_bytes(data[off : off + 4], "big")
        assert 0 < nal_len <= size - 4


async def test_vfr_keeps_timestamps(media: MediaFiles, tmp_path: Path) -> None:
    r = await preprocess(media.vfr, tmp_path / "m.mkv", tmp_path / "p.mp4")
    assert r.is_vfr
    assert not r.has_audio
    src = _source_pts_seconds(media.vfr)
    assert r.frame_count == len(src) == SMALL_FRAMES
    assert r.frame_index.pts_seconds == pytest.approx(src, abs=1e-4)
    deltas = [b - a for a, b in itertools.pairwise(r.frame_index.pts_seconds)]
    assert deltas[10] == pytest.approx(1 / 24, abs=1e-4)
    assert deltas[60] == pytest.approx(1 / 12, abs=1e-4)


async def test_odd_size_and_no_audio(media: MediaFiles, tmp_path: Path) -> None:
    proxy, master = tmp_path / "p.mp4", tmp_path / "m.mkv"
    r = await preprocess(
        media.odd_size, master, proxy, small_frames=tmp_path / "s.rgb", master_mode="ffv1"
    )
    assert (r.width, r.height) == (321, 181)
    assert not r.has_audio
    with av.open(str(proxy)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.width, ctx.height) == (320, 180)
        assert not c.streams.audio
    with av.open(str(master)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.width, ctx.height) == (321, 181)
        assert ctx.pix_fmt == "yuv444p"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("audio_only", "no video stream (audio only)"),
        ("empty", "file is empty (0 bytes)"),
        ("truncated", "file is truncated or corrupt: the MP4 index (moov atom) is missing"),
    ],
)
async def test_bad_sources(media: MediaFiles, tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(PreprocessError) as err:
        await preprocess(getattr(media, name), tmp_path / "m.mkv", tmp_path / "p.mp4")
    assert str(err.value) == reason
    assert _names(tmp_path) == []


async def test_truncated_source(media: MediaFiles, tmp_path: Path) -> None:
    with pytest.raises(PreprocessError) as err:
        await preprocess(
            media.truncated_faststart,
            tmp_path / "m.mkv",
            tmp_path / "p.mp4",
            small_frames=tmp_path / "s.rgb",
        )
    assert str(err.value).startswith("file is truncated: the container declares 96 frames")
    assert _names(tmp_path) == []


async def test_cancel_kills_ffmpeg_and_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "cancelme"
    task = asyncio.create_task(
        preprocess(SAMPLE, out / "m.mkv", out / "p.mp4", small_frames=out / "s.rgb")
    )
    for _ in range(100):  # wait until ffmpeg runs
        await asyncio.sleep(0.05)
        if _ffmpeg_children(str(out)):
            break
    assert _ffmpeg_children(str(out)), "ffmpeg never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _ffmpeg_children(str(out)) == []
    assert _names(out) == []


async def test_run_ffmpeg_error_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PreprocessError) as err:
        await run_ffmpeg(["-i", str(tmp_path / "nope.mp4"), str(tmp_path / "x.mkv")])
    msg = str(err.value)
    assert msg.startswith("ffmpeg failed (exit ")
    assert "No such file or directory" in msg
    assert "\n" not in msg
    with pytest.raises(DownloadError):
        await run_ffmpeg(["-i", str(tmp_path / "nope.mp4"), "x.mkv"], error=DownloadError)


async def test_run_ffmpeg_progress(tmp_path: Path, media: MediaFiles) -> None:
    seen: list[int] = []
    out = tmp_path / "copy.mkv"
    await run_ffmpeg(["-i", str(media.small), "-c", "copy", str(out)], on_progress=seen.append)
    assert out.stat().st_size > 0
    assert seen and seen[-1] == SMALL_FRAMES
    assert seen == sorted(seen)


def test_args_shape(tmp_path: Path) -> None:
    args = ffmpeg_preprocess_args(
        tmp_path / "in.mp4",
        tmp_path / "m.mkv",
        tmp_path / "p.mp4",
        small_frames=tmp_path / "s.rgb",
        small_size=(64, 36),
    )
    text = " ".join(args)
    assert args.count("-i") == 1  # one decode
    for flag in (
        "-c:v ffv1 -level 3 -g 1 -slices 4 -slicecrc 1",
        "-c:a flac",
        "-c:v libx264",
        "-g 1 -bf 0",
        "keyint=1",
        "-movflags +faststart",
        "-c:a aac -b:a 128k",
        "scale=64:36:flags=area,format=rgb24 -fps_mode passthrough -f rawvideo",
    ):
        assert flag in text
    assert args.count("passthrough") == 3
    no_small = ffmpeg_preprocess_args(
        tmp_path / "in.mp4", tmp_path / "m.mkv", tmp_path / "p.mp4",
        small_frames=None, small_size=(64, 36),
    )  # fmt: skip
    assert "rawvideo" not in no_small
    assert Path(ffmpeg_exe()).is_file()


def test_build_frame_index_errors(tmp_path: Path, media: MediaFiles) -> None:
    with pytest.raises(PreprocessError, match=r"^cannot read the proxy"):
        build_frame_index(tmp_path / "missing.mp4")
    with pytest.raises(PreprocessError, match=r"^cannot read the proxy"):
        build_frame_index(media.text)
    with pytest.raises(PreprocessError, match="no video stream"):
        build_frame_index(media.audio_only)


async def test_process_pool_executor(media: MediaFiles, tmp_path: Path) -> None:
    """Probe and index run in a spawn process pool (results and errors cross the pickle)."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        r = await preprocess(media.small, tmp_path / "m.mkv", tmp_path / "p.mp4", executor=pool)
        assert r.frame_count == SMALL_FRAMES
        assert pickle.loads(pickle.dumps(r)) == r
        with pytest.raises(PreprocessError, match=r"^no video stream \(audio only\)$"):
            await preprocess(
                media.audio_only, tmp_path / "a.mkv", tmp_path / "a.mp4", executor=pool
            )


def _keyframed(src: Path, out: Path, *, seconds: float, gop: int = 24) -> Path:
    """``src`` re-encoded (320x180) with a keyframe every ``gop`` frames, audio kept."""
    run_ffmpeg_cli(
        "-stream_loop", "-1", "-i", str(src), "-t", str(seconds), "-vf", "scale=320:180",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop), "-bf", "2",
        "-c:a", "aac", "-b:a", "64k", str(out),
    )  # fmt: skip
    return out


async def _segmented(
    src: Path, out: Path, work: Path, segments: int, *, small: bool = True
) -> PreprocessResult:
    """What the segment jobs do for ``src`` (``heaters/pipeline/preprocess_stages.py``), in this
    process: plan, encode each segment (those already in ``work`` are kept), the audio, then
    join into ``out/p.mp4`` (and ``out/s.rgb``); the segment files are removed after."""
    plan = plan_segments(src, segments)
    assert plan is not None
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    for seg in plan.segments:
        await asyncio.to_thread(encode_segment, src, plan, seg.index, work)
    audio = work / "audio.m4a" if plan.has_audio else None
    if audio is not None:
        await encode_audio(src, audio)
    small_frames = out / "s.rgb" if small else None
    result = await finish_segmented(
        src, plan, work, out / "m.mkv", out / "p.mp4", small_frames, audio, probe(src)
    )
    for seg in plan.segments:
        for path in segment_paths(work, seg.index):
            path.unlink(missing_ok=True)
    if audio is not None:
        audio.unlink(missing_ok=True)
    return result


async def test_segmented_preprocess_matches_one_pass(media: MediaFiles, tmp_path: Path) -> None:
    """Three keyframe-aligned segments, encoded apart and joined without re-encoding, give
    the proxy, frame index and small frames of the one-pass preprocess."""
    src = _keyframed(media.small, tmp_path / "src.mp4", seconds=4)
    one, seg = tmp_path / "one", tmp_path / "seg"
    a = await preprocess(src, one / "m.mkv", one / "p.mp4", small_frames=one / "s.rgb")
    work = tmp_path / "work"
    b = await _segmented(src, seg, work, 3)
    plan = plan_segments(src, 3)
    assert plan is not None and len(plan.segments) == 3
    assert [s.first_frame for s in plan.segments] == [0, 24, 72] or all(
        s.first_frame % 24 == 0 for s in plan.segments
    )
    assert b.frame_count == a.frame_count == SMALL_FRAMES
    assert b.frame_index.pts_seconds == pytest.approx(a.frame_index.pts_seconds, abs=1e-6)
    assert (b.master_kind, b.has_audio) == ("original", True)
    assert all(key for _, key in _packets(seg / "p.mp4"))
    assert _streams(seg / "p.mp4") == {"video": "h264", "audio": "aac"}
    x = np.frombuffer((one / "s.rgb").read_bytes(), np.uint8).astype(int)
    y = np.frombuffer((seg / "s.rgb").read_bytes(), np.uint8).astype(int)
    assert x.shape == y.shape
    per_frame = np.abs(x - y).reshape(SMALL_FRAMES, -1).mean(axis=1)
    assert per_frame.max() < 2.0, "the same pictures (scaled by another swscale call)"
    assert _names(work) == [], "segment files removed once joined"


async def test_segment_killed_midway_resumes(media: MediaFiles, tmp_path: Path) -> None:
    """A segment job SIGKILLed mid-way leaves no segment file; the next run encodes only
    what is missing (a finished segment is not encoded again) and the result is whole."""
    src = _keyframed(media.small, tmp_path / "src.mp4", seconds=30, gop=48)
    work = tmp_path / "work"
    work.mkdir()
    plan = plan_segments(src, 2)
    assert plan is not None and len(plan.segments) == 2
    assert encode_segment(src, plan, 0, work) == plan.segments[0].frame_count
    done = [p.stat().st_mtime_ns for p in segment_paths(work, 0)]
    code = (
        "import sys; from pathlib import Path; "
        "from heaters.media.segments import encode_segment, plan_segments; "
        "src, work = Path(sys.argv[1]), Path(sys.argv[2]); "
        "encode_segment(src, plan_segments(src, 2), 1, work)"
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, str(src), str(work))
    small_part = work / f".{segment_paths(work, 1)[1].name}.part"
    try:
        for _ in range(2000):
            if small_part.exists() and small_part.stat().st_size > 0:
                break
            assert proc.returncode is None, "the segment job ended before it could be killed"
            await asyncio.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not any(p.exists() for p in segment_paths(work, 1)), "no half segment"
    assert encode_segment(src, plan, 0, work) == plan.segments[0].frame_count
    assert [p.stat().st_mtime_ns for p in segment_paths(work, 0)] == done, "not redone"
    out = tmp_path / "out"
    r = await _segmented(src, out, work, 2)
    one = await preprocess(src, tmp_path / "one" / "m.mkv", tmp_path / "one" / "p.mp4")
    assert r.frame_count == one.frame_count == sum(s.frame_count for s in plan.segments) > 700
    assert r.frame_index.pts_seconds == pytest.approx(one.frame_index.pts_seconds, abs=1e-6)
    assert (out / "s.rgb").stat().st_size == r.frame_count * 64 * 36 * 3
    assert _names(work) == []


async def test_stream_copied_cut_mid_gop(media: MediaFiles, tmp_path: Path) -> None:
    """``ffmpeg -ss 1 -t 2 -c copy``, what editors and downloaders write: the MP4 keeps the
    GOP's first packets (from the keyframe at 0 s) for decoding and an edit list hides them.
    They are no frames: the probe counts the 2 s shown, preprocess makes 48 frames, and the
    segment planner leaves such a file to one pass."""
    cut = tmp_path / "cut.mp4"
    run_ffmpeg_cli("-ss", "1", "-t", "2", "-i", str(media.small), "-c", "copy", str(cut))
    with av.open(str(cut)) as c:
        hidden = sum(p.is_discard for p in c.demux(c.streams.video[0]) if p.size)
    assert hidden > 0, "the cut must start mid-GOP for this test"
    info = probe(cut)
    assert info.frame_count == 48
    r = await preprocess(cut, tmp_path / "m.mkv", tmp_path / "p.mp4")
    assert r.frame_count == 48 == len(r.frame_index.pts_seconds)
    assert r.duration_seconds == pytest.approx(2.0, abs=0.05)
    assert plan_segments(cut, 2) is None


def _top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order (``ftyp``, ``moov``, ``mdat``…)."""
    boxes, data = [], path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif size == 0:
            size = len(data) - pos
        boxes.append(kind.decode("latin-1"))
        pos += size
    return boxes


def _interleave_lag(path: Path) -> float:
    """Reading the MP4's packets in file order (by byte offset), the largest gap in seconds
    between a packet's time and the time of the latest packet of the other stream read
    before it: about one chunk's length when audio and video interleave, the whole length
    when one stream sits after the other."""
    with av.open(str(path)) as c:
        assert {s.type for s in c.streams} == {"video", "audio"}
        packets = [
            (int(p.pos), p.stream.type, float(p.dts * p.time_base))
            for p in c.demux()
            if p.size and p.dts is not None and p.pos is not None and p.time_base is not None
        ]
    latest: dict[str, float] = {}
    lag = 0.0
    for _, kind, t in sorted(packets):
        other = "audio" if kind == "video" else "video"
        if other in latest:
            lag = max(lag, abs(t - latest[other]))
        latest[kind] = t
    return lag


async def test_proxies_interleave_and_start_with_their_index(
    media: MediaFiles, tmp_path: Path
) -> None:
    """A browser streams the proxy by range requests: the joined proxy, as the one-pass one,
    has its ``moov`` before its ``mdat`` and audio and video chunks within a second of each
    other through the file (the join used to leave the audio more than 10 s behind: the
    muxer's interleaving buffer, so the source must be longer than that)."""
    src = _keyframed(media.small, tmp_path / "src.mp4", seconds=14)
    one, seg = tmp_path / "one", tmp_path / "seg"
    await preprocess(src, one / "m.mkv", one / "p.mp4")
    await _segmented(src, seg, tmp_path / "work", 3, small=False)
    for proxy in (one / "p.mp4", seg / "p.mp4"):
        boxes = _top_level_boxes(proxy)
        assert boxes.index("moov") < boxes.index("mdat"), (proxy, boxes)
        assert _interleave_lag(proxy) <= 1.0, proxy


def _shown(path: Path) -> tuple[int, int, int]:
    """(width, height, rotation) of the first frame as a player shows it."""
    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
    rot = round(f.rotation or 0) % 360
    return (f.height, f.width, rot) if rot in (90, 270) else (f.width, f.height, rot)


async def test_a_phone_video_stays_upright(media: MediaFiles, tmp_path: Path) -> None:
    """A video whose display matrix turns it a quarter (a phone held upright) is 180×320 as
    shown: the probe says so, the one-pass proxy is turned upright by ffmpeg, and the
    segmented proxy and a frame-exact export keep the matrix, so players show them upright
    too (they came out sideways)."""
    from heaters.media.export import EncodeOptions, encode_clip_exact

    src = _keyframed(media.small, tmp_path / "src.mp4", seconds=4)
    phone = tmp_path / "phone.mp4"
    run_ffmpeg_cli("-display_rotation:v:0", "90", "-i", str(src), "-c", "copy", str(phone))
    info = probe(phone)
    assert (info.width, info.height, info.rotation) == (180, 320, 90)
    one = tmp_path / "one"
    r = await preprocess(phone, one / "m.mkv", one / "p.mp4")
    assert _shown(one / "p.mp4") == (180, 320, 0), "ffmpeg turned the pixels"
    await _segmented(phone, tmp_path / "seg", tmp_path / "work", 3, small=False)
    assert _shown(tmp_path / "seg" / "p.mp4") == (180, 320, 90), "the matrix kept"
    pts = r.frame_index.pts_seconds
    encode_clip_exact(
        phone, tmp_path / "clip.mp4", start_seconds=pts[10], frame_count=24,
        duration_seconds=pts[34] - pts[10], prev_seconds=pts[9], next_seconds=pts[35],
        encode=EncodeOptions(preset="ultrafast"),
    )  # fmt: skip
    assert _shown(tmp_path / "clip.mp4") == (180, 320, 90)


async def test_an_animated_gif_exports_its_first_clip(tmp_path: Path) -> None:
    """A GIF is its own master (every frame a keyframe, seekable), and its first clip
    exports: the GIF demuxer refuses a seek before the stream's start (EPERM) where MP4
    clamps it, and the first clip's seek aims half a frame before frame 0."""
    from heaters.media.export import EncodeOptions, encode_clip_exact

    gif = tmp_path / "anim.gif"
    run_ffmpeg_cli("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=3", str(gif))
    r = await preprocess(gif, tmp_path / "m.mkv", tmp_path / "p.mp4")
    assert (r.frame_count, r.master_kind) == (30, "original")
    pts = r.frame_index.pts_seconds
    clip = tmp_path / "first.mp4"
    encode_clip_exact(
        gif, clip, start_seconds=pts[0], frame_count=10, duration_seconds=pts[10] - pts[0],
        next_seconds=pts[10], encode=EncodeOptions(preset="ultrafast"),
    )  # fmt: skip
    with av.open(str(clip)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 10
