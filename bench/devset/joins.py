"""Transitions with a boundary by what they join: the two shots' sources, replayed from the
generator's plan (``make.recipes`` with the manifest's seeds and looks; nothing rendered).

Where the fast detector still leaves a transition without a boundary, is it between two
different shots, two framings of one piece of footage, or two crops of one synthetic texture
(``lavfi`` ``life``, ``cellauto``: the same texture at 8×4)? The figures in
``docs/detection.md``, *Session 15*, come from here.

    python bench/devset/joins.py DIR[:split] [DIR2 ...] [--misses] [--json]

``DIR`` is a ``make.py --out`` folder; ``DIR:split`` takes one split of it. The detector's
features are cached as ``learn.py`` caches them (``bench/out/learn``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fetch  # noqa: E402
import make  # noqa: E402
from learn import features_of, load_devset  # noqa: E402

from heaters.media import scenes  # noqa: E402

Key = tuple[str, str, int]  # (split, video name, transition start frame)


def joins(folder: Path) -> dict[Key, tuple[str, str]]:
    """(split, name, start frame) -> (outgoing source, incoming source) for every labelled
    transition of the manifest in ``folder``. A fade in at the video's start joins its first
    shot to itself.

    A manifest written since ``make.py`` records the joins (``joins`` per video) is read as
    it is. An older one is replayed from the generator's plan, which only holds while the
    generator draws as it did then: a video whose replayed sources are not the manifest's
    (``make.py`` changed since) has its transitions left out, with a warning on stderr."""
    manifest = json.loads((folder / "manifest.json").read_text())
    if all("joins" in v for v in manifest["videos"]):
        return {
            (v["split"], v["name"], int(s)): (a, b)
            for v in manifest["videos"]
            for s, a, b in v["joins"]
        }
    for split, seed in manifest["seeds"].items():
        make.SEEDS[split] = seed
    looks = {v["look"] for v in manifest["videos"]}
    make.LOOKS_WANTED.clear()
    if looks != set(make.LOOKS):
        make.LOOKS_WANTED.update(looks)
    available = {name for name in fetch.SOURCES if fetch.path(name).exists()}
    recipes = {r.name: r for r in make.recipes(manifest.get("subset", "all"), available)}
    out: dict[Key, tuple[str, str]] = {}
    stale = 0
    for v in manifest["videos"]:
        r = recipes.get(v["name"])
        if r is None or make.recipe_sources(r) != sorted(v["sources"]):
            stale += 1
            continue
        _, starts = make._graph(r, ["null"] * len(r.segments), True)
        for t in v["transitions"]:
            j = make._join_at(starts, t["start_frame"], t["end_frame"])
            out[(v["split"], v["name"], t["start_frame"])] = (
                r.segments[max(j - 1, 0)].src,
                r.segments[j].src,
            )
    if stale:
        print(
            f"{folder.name}: {stale} of {len(manifest['videos'])} videos no longer replay as "
            "they were made (make.py changed since); their transitions are left out",
            file=sys.stderr,
        )
    return out


def join_class(kind: str, a: str, b: str) -> str:
    """``fade`` for fades; else ``texture`` (two crops of one synthetic texture), ``same
    footage`` (two framings of one source) or ``different footage``."""
    if kind in ("fade_in", "fade_out"):
        return "fade"
    if a.startswith("lavfi:") and b.startswith("lavfi:"):
        return "texture"
    return "same footage" if a == b else "different footage"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", help="DIR[:split] of make.py folders")
    ap.add_argument("--misses", action="store_true", help="list the transitions left out")
    ap.add_argument("--json", action="store_true", help="one JSON line per class")
    args = ap.parse_args()
    hit: Counter[tuple[str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    for arg in args.sets:
        folder_s, _, split = arg.partition(":")
        folder = Path(folder_s)
        pairs = joins(folder)
        for v in load_devset(folder):
            if split and v.split != split:
                continue
            fps = Fraction(str(v.label.get("fps", 24))).limit_denominator(1001)
            r = scenes.result_from_features(features_of(v), fps)
            for t in v.label["transitions"]:
                s, e = t["start_frame"], t["end_frame"]
                found = any(s - 1 <= c <= e + 1 for c in r.cuts) or any(
                    q.start_frame <= e + 1 and q.end_frame - 1 >= s - 1 for q in r.transitions
                )
                pair = pairs.get((v.split, v.name.split("/")[-1], s))
                if pair is None:
                    continue
                a, b = pair
                kind = t["kind"] if t["kind"] in ("dissolve", "wipe") else "fade"
                key = (join_class(t["kind"], a, b), kind)
                total[key] += 1
                hit[key] += found
                if args.misses and not found:
                    print(f"  no boundary: {folder.name} {v.name} [{s}, {e}) {t['kind']} {a} -> {b}")
    for key in sorted(total):
        row: dict[str, Any] = {"joins": key[0], "kind": key[1], "with_boundary": hit[key],
                               "transitions": total[key]}  # fmt: skip
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{key[0]:18s} {key[1]:9s} {hit[key]:4d} of {total[key]:4d}")


if __name__ == "__main__":
    main()
