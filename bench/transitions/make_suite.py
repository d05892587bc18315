"""Build the labelled transition suite from the real shots of the sample.

The sample (``samples/big_buck_bunny_action_59s.mp4``) is cut apart at its hand-labelled hard
cuts (``bench/ground_truth/big_buck_bunny_action_59s.json``) into lossless shot files, and the
shots are joined again with FFmpeg filters into a handful of videos, one per kind of case:

``dissolves``  cross-dissolves (``xfade=transition=fade``, linear) and dithered dissolves
               (``xfade=transition=dissolve``) of 6–40 frames, one hard cut;
``fades``      fade in from black at the start, dips to black and to white (``fade`` out,
               0–12 flat frames, ``fade`` in), a hard cut, a fade out to black at the end;
``wipes``      ``xfade`` wipeleft / wiperight / wipeup / wipedown of 8–30 frames, a cut;
``flashes``    1–3 frame flashes inside shots: white frames (``drawbox`` fill) and brightened
               frames (``eq`` brightness/contrast), cuts between shots;
``ramps``      luma ramps inside shots (``eq`` brightness or gamma ramped over 1–2 s: lights
               coming on, exposure), cuts between shots;
``pans``       fast pans: a moving ``crop`` over a still frame and over a real shot (20–40 px
               per frame at 640 wide), cuts between;
``cuts``       plain hard cuts, shots of 9–40 frames.

Durations, shots and kinds are drawn from ``--seed`` (default 11), so the same command makes
the same files. Ground truth is not computed from the filters' formulas but read back: every
composite is decoded losslessly (planar RGB all the way) and each frame is compared exactly
with the frame its shot would show there (the shots with only their in-shot effects, in one
plain concatenation). A transition is then, by definition, a maximal run of frames that are
neither the clean outgoing nor the clean incoming shot (``[start_frame, end_frame)``); a cut
is a join with no such frame. For ``xfade`` with offset ``o`` frames and duration ``d``
frames, that run is ``[o + 1, o + d)`` (frame ``o`` is still pure outgoing, frame ``o + d``
pure incoming): ``d - 1`` frames; a wipe's first frame ``o`` already shows the edge on
some (``[o, o + d)``); the generator asserts each span is one of these. A dip is split into its
``fade_out`` (up to and including the flat frames) and its ``fade_in`` (from the first
non-flat frame).

Writes ``OUT/<name>.mp4`` (H.264, yuv420p, CRF 18, keyframe every 48 frames) and
``OUT/suite.json``; with ``--labels`` also the committed labels file beside this script
(``bench/transitions/suite.json``).

Usage::

    python bench/transitions/make_suite.py [--out bench/out/transitions] [--size 640x360]
        [--seed 11] [--labels]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "big_buck_bunny_action_59s.mp4"
SAMPLE_LABELS = ROOT / "bench" / "ground_truth" / "big_buck_bunny_action_59s.json"
LABELS = Path(__file__).resolve().parent / "suite.json"
FPS = 24
NAMES = ("dissolves", "fades", "wipes", "flashes", "ramps", "pans", "cuts")


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
    base = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    return subprocess.run([*base, *args], check=True, **kw)


def sample_shots() -> list[tuple[int, int]]:
    """The sample's shots as [start, end) frame ranges, from the hand-labelled cuts."""
    gt = json.loads(SAMPLE_LABELS.read_text())
    bounds = [0, *gt["cuts"], int(gt["frame_count"])]
    return list(itertools.pairwise(bounds))


def split_shots(out: Path, size: tuple[int, int]) -> list[Path]:
    """The sample's shots as lossless yuv444p FFV1 files at ``size`` (cached in ``out``)."""
    shots = sample_shots()
    w, h = size
    folder = out / f"shots_{w}x{h}"
    files = [folder / f"shot_{i:02d}.mkv" for i in range(len(shots))]
    if all(f.exists() for f in files):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    cuts = ",".join(str(a) for a, _ in shots[1:])
    _run(
        ["-i", str(SAMPLE), "-map", "0:v:0", "-vf", f"scale={w}:{h}:flags=area,format=yuv444p",
         "-c:v", "ffv1", "-g", "1", "-f", "segment", "-segment_frames", cuts, "-reset_timestamps", "1",
         str(folder / "shot_%02d.mkv")]
    )  # fmt: skip
    return files


# --------------------------------------------------------------------------- recipes


@dataclass
class Segment:
    """``length`` frames of shot ``shot`` from its frame ``first``, with an in-shot effect."""

    shot: int
    first: int
    length: int
    effect: str = ""  # an FFmpeg filter chain (yuv444p, shot-local n / t), or ""
    event: dict[str, Any] | None = None  # {"kind", "start", "end"} local frames of the effect
    pan: bool = False


@dataclass
class Join:
    """How a segment is joined to the next one."""

    kind: str  # "cut", "xfade", "dip"
    transition: str = ""  # xfade transition name
    frames: int = 0  # xfade duration in frames
    out_frames: int = 0  # dip: fade-out frames, flat frames, fade-in frames, colour
    hold: int = 0
    in_frames: int = 0
    color: str = "black"


@dataclass
class Recipe:
    name: str
    segments: list[Segment] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    head_fade: int = 0  # fade in from black over the first frames of the video
    tail_fade: int = 0  # fade out to black over the last frames of the video


def _pick(rng: random.Random, shots: list[tuple[int, int]], need: int, avoid: set[int]) -> int:
    ok = [i for i, (a, b) in enumerate(shots) if b - a >= need and i not in avoid]
    return rng.choice(ok)


def _segment(
    rng: random.Random, shots: list[tuple[int, int]], length: int, avoid: set[int]
) -> Segment:
    i = _pick(rng, shots, length, avoid)
    a, b = shots[i]
    first = rng.randint(0, b - a - length)
    return Segment(i, first, length)


def recipes(seed: int) -> list[Recipe]:
    """The suite's videos, drawn from ``seed``."""
    rng = random.Random(seed)
    shots = sample_shots()
    out: list[Recipe] = []

    def chain(name: str, joins: list[Join], lengths: list[int]) -> Recipe:
        r = Recipe(name)
        prev: set[int] = set()
        for n in lengths:
            seg = _segment(rng, shots, n, prev)
            prev = {seg.shot}
            r.segments.append(seg)
        r.joins = joins
        return r

    # dissolves: one duration from each band of 6-40 frames, shuffled; one hard cut
    bands = [(6, 9), (10, 14), (15, 20), (21, 28), (29, 34), (35, 40)]
    durs = [rng.randint(a, b) for a, b in bands]
    rng.shuffle(durs)
    joins = [Join("xfade", rng.choice(["fade", "fade", "dissolve"]), d) for d in durs]
    joins.insert(rng.randint(1, len(joins) - 1), Join("cut"))
    lengths = []
    for i in range(len(joins) + 1):
        d_in = joins[i - 1].frames if i > 0 else 0
        d_out = joins[i].frames if i < len(joins) else 0
        lengths.append(d_in + d_out + rng.randint(14, 24))
    out.append(chain("dissolves", joins, lengths))

    # fades: fade in at the start, dips to black and white, a cut, fade out at the end
    joins = [
        Join("dip", out_frames=rng.randint(8, 24), hold=rng.randint(0, 12),
             in_frames=rng.randint(8, 24), color="black"),
        Join("dip", out_frames=rng.randint(8, 24), hold=rng.randint(0, 6),
             in_frames=rng.randint(8, 24), color="white"),
        Join("cut"),
        Join("dip", out_frames=rng.randint(12, 36), hold=rng.randint(0, 4),
             in_frames=rng.randint(6, 12), color="black"),
        Join("dip", out_frames=rng.randint(6, 12), hold=rng.randint(2, 8),
             in_frames=rng.randint(12, 36), color="white"),
    ]  # fmt: skip
    rec = chain("fades", joins, [rng.randint(50, 64) for _ in range(len(joins) + 1)])
    rec.head_fade, rec.tail_fade = rng.randint(8, 20), rng.randint(10, 24)
    out.append(rec)

    # wipes
    kinds = ["wipeleft", "wiperight", "wipeup", "wipedown"]
    rng.shuffle(kinds)
    joins = [Join("xfade", k, rng.randint(8, 30)) for k in kinds]
    joins.insert(2, Join("cut"))
    lengths = []
    for i in range(len(joins) + 1):
        d_in = joins[i - 1].frames if i > 0 else 0
        d_out = joins[i].frames if i < len(joins) else 0
        lengths.append(d_in + d_out + rng.randint(14, 24))
    out.append(chain("wipes", joins, lengths))

    # flashes: 1-3 frames, white or brightened, inside shots
    rec = chain("flashes", [Join("cut") for _ in range(5)], [rng.randint(36, 60) for _ in range(6)])
    for i, seg in enumerate(rec.segments):
        n = 1 + i % 3
        at = rng.randint(10, seg.length - 10 - n)
        if i % 2 == 0:
            seg.effect = f"drawbox=c=white:t=fill:enable='between(n,{at},{at + n - 1})'"
            kind = "flash_white"
        else:
            b, c = rng.uniform(0.25, 0.45), rng.uniform(1.1, 1.5)
            seg.effect = (
                f"eq=brightness={b:.3f}:contrast={c:.3f}:enable='between(n,{at},{at + n - 1})'"
            )
            kind = "flash_bright"
        seg.event = {"kind": kind, "start": at, "end": at + n}
    out.append(rec)

    # ramps: brightness or gamma ramped over 1-2 s inside a shot
    rec = chain("ramps", [Join("cut") for _ in range(3)], [rng.randint(60, 90) for _ in range(4)])
    for i, seg in enumerate(rec.segments):
        n = rng.randint(24, 48)
        at = rng.randint(4, seg.length - n - 4)
        t0, t1 = at / FPS, (at + n) / FPS
        ramp = f"clip((t-{t0:.6f})/{t1 - t0:.6f},0,1)"
        if i % 2 == 0:
            lo, hi = rng.uniform(-0.35, -0.2), rng.uniform(0.1, 0.25)
            seg.effect = f"eq=eval=frame:brightness='{lo:.3f}+({hi - lo:.3f})*{ramp}'"
        else:
            g0, g1 = rng.uniform(0.4, 0.6), rng.uniform(1.4, 1.8)
            seg.effect = f"eq=eval=frame:gamma='{g0:.3f}+({g1 - g0:.3f})*{ramp}'"
        seg.event = {"kind": "ramp", "start": at, "end": at + n}
    out.append(rec)

    # pans: a moving crop over a still and over a real shot, 20-40 px per frame at 640 wide
    rec = chain("pans", [Join("cut") for _ in range(3)], [rng.randint(40, 60) for _ in range(4)])
    for i, seg in enumerate(rec.segments):
        speed = rng.uniform(20, 40) / 640  # frame widths per frame
        sign = rng.choice([-1, 1])
        seg.pan = True
        x = f"(iw-ow)*(0.5+{sign}*0.5*sin(n*{speed * 2:.5f}))"
        y = f"(ih-oh)*(0.5+0.5*sin(n*{speed:.5f}))"
        still = "loop=loop=-1:size=1:start=0," if i % 2 == 0 else ""
        seg.effect = f"{still}scale=2*iw:2*ih,crop=iw/2:ih/2:x='{x}':y='{y}'"
        seg.event = {"kind": "pan_still" if still else "pan", "start": 0, "end": seg.length}
    out.append(rec)

    # hard cuts only, shots of 9-40 frames
    lengths = [rng.randint(9, 40) for _ in range(12)]
    out.append(chain("cuts", [Join("cut") for _ in range(11)], lengths))
    return out


# --------------------------------------------------------------------------- rendering


def _segment_chain(seg: Segment, shots: list[tuple[int, int]], size: tuple[int, int]) -> str:
    """Filter chain from a shot file input to the segment's frames (gbrp, 24 fps)."""
    w, h = size
    a = seg.first
    parts = [f"trim=start_frame={a}:end_frame={a + seg.length}", "setpts=PTS-STARTPTS"]
    if seg.pan and seg.effect.startswith("loop"):
        parts = [f"trim=start_frame={a}:end_frame={a + 1}", "setpts=PTS-STARTPTS"]
        parts.append(seg.effect.replace("loop=loop=-1", f"loop=loop={seg.length - 1}"))
    elif seg.effect:
        parts.append(seg.effect)
    parts += [f"scale={w}:{h}:flags=area", "format=yuv444p"]
    return ",".join(parts)


def _fade_chain(r: Recipe, i: int) -> str:
    """Fades that belong to joins (not to the shot): on segment ``i``'s head and tail."""
    seg = r.segments[i]
    parts = []
    if i == 0 and r.head_fade:
        parts.append(f"fade=t=in:s=0:n={r.head_fade}:c=black")
    if i > 0 and r.joins[i - 1].kind == "dip":
        j = r.joins[i - 1]
        parts.append(f"fade=t=in:s=0:n={j.in_frames}:c={j.color}")
    if i < len(r.joins) and r.joins[i].kind == "dip":
        j = r.joins[i]
        n = j.out_frames
        parts.append(f"fade=t=out:s={seg.length - n - j.hold}:n={n}:c={j.color}")
    if i == len(r.segments) - 1 and r.tail_fade:
        parts.append(f"fade=t=out:s={seg.length - r.tail_fade}:n={r.tail_fade}:c=black")
    return ",".join(parts)


def _graph(r: Recipe, size: tuple[int, int], composite: bool) -> tuple[str, list[int]]:
    """The filter graph of the composite (or of the plain concatenation of its segments) and
    each segment's first frame in the output."""
    shots = sample_shots()
    lines = []
    for i, seg in enumerate(r.segments):
        chain = _segment_chain(seg, shots, size)
        if composite and (fades := _fade_chain(r, i)):
            chain += "," + fades
        lines.append(f"[{i}:v]{chain},format=gbrp,settb=1/{FPS},setsar=1[s{i}]")
    starts = [0]
    acc = "s0"
    length = r.segments[0].length
    for i, seg in enumerate(r.segments[1:], 1):
        join = r.joins[i - 1]
        if composite and join.kind == "xfade":
            d = join.frames
            off = length - d
            lines.append(
                f"[{acc}][s{i}]xfade=transition={join.transition}:duration={d / FPS:.9f}"
                f":offset={off / FPS:.9f},settb=1/{FPS}[a{i}]"
            )
            starts.append(off)
            length = off + seg.length
        else:
            lines.append(f"[{acc}][s{i}]concat=n=2:v=1:a=0,settb=1/{FPS}[a{i}]")
            starts.append(length)
            length += seg.length
        acc = f"a{i}"
    lines.append(f"[{acc}]null[out]")
    return ";".join(lines), starts


def _hashes(r: Recipe, files: list[Path], size: tuple[int, int], composite: bool,
            mp4: Path | None) -> tuple[list[bytes], list[int], list[bool]]:  # fmt: skip
    """Render; return per-frame digests, segment starts and per-frame flatness."""
    graph, starts = _graph(r, size, composite)
    inputs: list[str] = []
    for seg in r.segments:
        inputs += ["-i", str(files[seg.shot])]
    outputs = ["-map", "[raw]", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    if mp4 is not None:
        graph = graph.replace("[out]", "[o]") + ";[o]split[raw][enc]"
        outputs += [
            "-map", "[enc]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
            "-g", "48", "-pix_fmt", "yuv420p", "-threads", "2", "-r", str(FPS),
            "-movflags", "+faststart", "-an", str(mp4),
        ]  # fmt: skip
    else:
        graph = graph.replace("[out]", "[raw]")
    exe = ffmpeg_exe()
    cmd = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *inputs,
           "-filter_complex", graph, *outputs]  # fmt: skip
    w, h = size
    nbytes = w * h * 3
    digests: list[bytes] = []
    flat: list[bool] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as p:
        assert p.stdout is not None
        while True:
            buf = p.stdout.read(nbytes)
            if len(buf) < nbytes:
                break
            digests.append(hashlib.blake2b(buf, digest_size=16).digest())
            flat.append(buf == buf[:3] * (w * h))
    if p.returncode != 0:
        raise RuntimeError(f"ffmpeg failed for {r.name}")
    return digests, starts, flat


def label(r: Recipe, files: list[Path], size: tuple[int, int], mp4: Path) -> dict[str, Any]:
    """Render ``r`` to ``mp4`` and read its ground truth back (see the module docstring)."""
    pure, pure_starts, _ = _hashes(r, files, size, composite=False, mp4=None)
    comp, starts, flat = _hashes(r, files, size, composite=True, mp4=mp4)
    n = len(comp)
    expected = starts[-1] + r.segments[-1].length
    if n != expected:
        raise RuntimeError(f"{r.name}: {n} frames, expected {expected}")

    def clean(k: int, i: int) -> bool:
        j = k - starts[i]
        return 0 <= j < r.segments[i].length and comp[k] == pure[pure_starts[i] + j]

    owner = []  # per frame: the segment it is a clean frame of, or -1
    for k in range(n):
        hits = [i for i in range(len(r.segments)) if clean(k, i)]
        owner.append(hits[0] if hits else -1)
    cuts: list[int] = []
    transitions: list[dict[str, Any]] = []
    k = 0
    while k < n:
        if owner[k] >= 0:
            if k > 0 and owner[k - 1] >= 0 and owner[k - 1] != owner[k]:
                cuts.append(k)
            k += 1
            continue
        s = k
        while k < n and owner[k] < 0:
            k += 1
        e = k
        transitions.extend(_classify(r, starts, s, e, flat, n))
    for t in transitions:
        if t["kind"] in ("dissolve", "wipe"):
            xf = [i for i in range(1, len(starts)) if r.joins[i - 1].kind == "xfade"]
            j = min(xf, key=lambda i: abs(starts[i] + 1 - t["start_frame"]))
            d = r.joins[j - 1].frames
            o, a, b = starts[j], t["start_frame"], t["end_frame"]
            if not (o <= a <= o + 1 and o + d - 1 <= b <= o + d):
                raise RuntimeError(
                    f"{r.name}: xfade span {t} is not [o(+1), o+d(-1)) with o={starts[j]} d={d}"
                )
    events = []
    for i, seg in enumerate(r.segments):
        if seg.event:
            ev = seg.event
            events.append(
                {"kind": ev["kind"], "start_frame": starts[i] + ev["start"],
                 "end_frame": starts[i] + ev["end"]}
            )  # fmt: skip
    return {
        "name": r.name,
        "video": f"{r.name}.mp4",
        "frame_count": n,
        "cuts": cuts,
        "transitions": transitions,
        "events": events,
        "recipe": {
            "segments": [
                {"sample_shot": s.shot, "first": s.first, "frames": s.length,
                 "effect": s.effect, "starts_at": starts[i]}
                for i, s in enumerate(r.segments)
            ],
            "joins": [
                {k: v for k, v in j.__dict__.items() if v not in ("", 0)
                 and (k != "color" or j.kind == "dip")} for j in r.joins
            ],
            "head_fade": r.head_fade,
            "tail_fade": r.tail_fade,
        },
    }  # fmt: skip


def _classify(
    r: Recipe, starts: list[int], s: int, e: int, flat: list[bool], n: int
) -> list[dict[str, Any]]:
    """Kind(s) of the unclean run [s, e): which join it belongs to decides."""
    if s == 0:
        return [{"start_frame": s, "end_frame": e, "kind": "fade_in"}]
    if e == n:
        return [{"start_frame": s, "end_frame": e, "kind": "fade_out"}]
    # the join whose incoming segment starts inside (or right after) the run
    j = next(i for i in range(1, len(starts)) if s <= starts[i] + 1 and starts[i] <= e)
    join = r.joins[j - 1]
    if join.kind == "xfade":
        kind = "wipe" if join.transition.startswith("wipe") else "dissolve"
        return [{"start_frame": s, "end_frame": e, "kind": kind}]
    if join.kind != "dip":
        raise RuntimeError(f"{r.name}: unclean frames [{s}, {e}) at a plain cut")
    flats = [k for k in range(s, e) if flat[k]]
    split = flats[-1] + 1 if flats else starts[j]
    return [
        {"start_frame": s, "end_frame": split, "kind": "fade_out"},
        {"start_frame": split, "end_frame": e, "kind": "fade_in"},
    ]


def build(
    out: Path, size: tuple[int, int], seed: int, names: tuple[str, ...] = NAMES
) -> dict[str, Any]:
    """Render the suite into ``out``; returns the labels (also written to out/suite.json)."""
    out.mkdir(parents=True, exist_ok=True)
    files = split_shots(out, size)
    videos = [
        label(r, files, size, out / f"{r.name}.mp4") for r in recipes(seed) if r.name in names
    ]
    labels = {
        "seed": seed,
        "fps": f"{FPS}/1",
        "source": "samples/big_buck_bunny_action_59s.mp4 (shots from bench/ground_truth)",
        "convention": "frames from 0 in decode order; cut k = first frame of the new shot; a "
        "transition [start_frame, end_frame) = the frames that are neither clean outgoing nor "
        "clean incoming shot, read back exactly; events = in-shot effects (no cut, no "
        "transition)",
        "videos": videos,
    }
    (out / "suite.json").write_text(json.dumps(labels, indent=1) + "\n")
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "transitions")
    ap.add_argument("--size", default="640x360", help="WxH of the videos (even)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--labels", action="store_true", help=f"also write {LABELS.relative_to(ROOT)}")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    labels = build(args.out, (w, h), args.seed)
    if args.labels:
        LABELS.write_text(json.dumps(labels, indent=1) + "\n")
    for v in labels["videos"]:
        print(json.dumps({"video": v["video"], "frames": v["frame_count"], "cuts": len(v["cuts"]),
                          "transitions": len(v["transitions"]), "events": len(v["events"])}))  # fmt: skip


if __name__ == "__main__":
    main()
