"""Master export's seek (heaters.media.export.seek_to_keyframe) on an H.264 MP4 with B-frames
whose keyframes sit just after hard cuts: the keyframe's DTS is before the target and its PTS
after it, so a seek to its PTS − 1 lands on it again (found by tests/cluster/test_cluster.py: every
clip starting on such a cut failed "cannot seek the master to the keyframe before PTS …")."""

from __future__ import annotations

from pathlib import Path

import av

from heaters.media.export import seek_to_keyframe
from tests.conftest import SAMPLE, ffmpeg


def test_seek_lands_on_a_keyframe_at_or_before_every_frame(tmp_path: Path) -> None:
    video = tmp_path / "cuts.mp4"
    starts = (10.6, 27.6, 44.6)
    inputs = [a for s in starts for a in ("-ss", str(s), "-t", "1.2", "-i", str(SAMPLE))]
    graph = "".join(f"[{k}:v]scale=320:180,setsar=1,fps=24[v{k}];" for k in range(3))
    ffmpeg(*inputs, "-filter_complex", graph + "[v0][v1][v2]concat=n=3:v=1:a=0[out]",
           "-map", "[out]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "24", str(video))  # fmt: skip
    with av.open(str(video)) as c:
        packets = [(p.pts, p.dts, p.is_keyframe) for p in c.demux(c.streams.video[0]) if p.size]
    assert any(k and dts < pts - 512 for pts, dts, k in packets[1:]), "a delayed keyframe"
    # every frame's PTS, and half a frame before it (where export aims: between two frames)
    first_pts = min(pts for pts, _, _ in packets)
    for target in sorted({t for pts, _, _ in packets for t in (pts, pts - 256) if t >= first_pts}):
        with av.open(str(video)) as c:
            stream = c.streams.video[0]
            seek_to_keyframe(c, stream, target)
            first = next(p for p in c.demux(stream) if p.size)
        assert first.is_keyframe and first.pts <= target, (target, first.pts)
