"""Does calibrating on reviewed videos of a look help on new videos of that look? (issue 22)

On the detection development set (``bench/devset``: eleven looks, a dev and a held-out split
made from different footage), for each look: the labelled montages of one split are the
"reviewed" videos, the other split's montages of the look are the new videos. The montages
of a look and split are cut into equal parts, ``--pieces`` in all (default 10: 5 per montage
for most looks, 10 of the one montage of flat, shake_pan, flashes and screen), to have more
reviewed "videos" than the set holds (a piece is 45–110 frames, 1–3 boundaries); a piece's
labels are the montage's within its frames (every cut, every transition, and "no cut"
everywhere else: what a reviewer who split, merged, moved and approved everything leaves).

For n = 0, 1, 2, 5, 10 reviewed pieces (n ≤ the pieces there are; ``--repeats`` random draws
for n below all), :func:`heaters.media.calibrate.calibrate` runs on those pieces as
``heaters detect calibrate`` does (from the defaults, cross-validated by piece, ``--folds``,
pieces split in 3 when fewer than 3) and its rule applies: the fitted thresholds are used
("gated") only when their held-out F1 beats the defaults', else the defaults stay. Both the
gated and the fitted thresholds are then scored (:func:`heaters.media.calibrate.score`,
boundary P/R/F1, ±1 frame) on the new videos of the look, and on the new videos of every
other look: under their own defaults (what a per-collection profile leaves them) and under
this look's fitted thresholds (what one global profile would do to them). Both directions
(dev → held-out, held-out → dev) are pooled. n = 0 is the defaults.

``--start NAME=VALUE,...`` starts from other thresholds than the defaults (n = 0 is then
those, and calibration and its gate start from them): a stand-in for footage the defaults
handle badly, to see how many reviewed videos bring the F1 back.

Prints one JSON line per (look, n, direction, draw) and one summary line per (look, n)
(``"summary": true``: counts pooled over directions and draws), then a Markdown table on
stderr. Features are read from ``bench/devset/learn.py``'s cache (decoded once otherwise).

    python bench/calibrate.py [--devset bench/devset/out] [--looks dark grain] [--pieces 10]
    python bench/calibrate.py --start threshold=6,min_content=30
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench" / "devset"))
import learn  # noqa: E402  (bench/devset/learn.py: the dev set's loader and features cache)

from heaters.media import calibrate  # noqa: E402
from heaters.media.calibrate import Counts, Evaluator, LabelledVideo, Unit  # noqa: E402
from heaters.media.scenes import DetectorParams  # noqa: E402

SIZES = (0, 1, 2, 5, 10)


def labelled(v: learn.Video) -> LabelledVideo:
    """A dev-set montage with every boundary labelled: its cuts, its transitions, and no cut
    anywhere else (events such as flashes and pans included)."""
    f = learn.features_of(v)
    lab = v.label
    not_cut = np.ones(len(f), bool)
    for c in lab["cuts"]:
        not_cut[max(0, c - 1) : c + 2] = False
    gradual = tuple((t["start_frame"], t["end_frame"]) for t in lab["transitions"])
    for s, e in gradual:
        not_cut[max(0, s - 1) : e + 2] = False
    fps = Fraction(str(lab["fps"])).limit_denominator(1001)
    return LabelledVideo(v.name, f, fps, tuple(lab["cuts"]), not_cut, gradual)


def whole(ev: Evaluator) -> list[Unit]:
    return [Unit(i, 0, v.frame_count) for i, v in enumerate(ev.videos)]


def rates(c: Counts) -> dict[str, Any]:
    return c.as_dict()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devset", type=Path, default=ROOT / "bench" / "devset" / "out")
    ap.add_argument("--looks", nargs="*", default=None, help="only these looks")
    ap.add_argument("--pieces", type=int, default=10, help="pieces per look and split")
    ap.add_argument("--repeats", type=int, default=3, help="random draws for n below all")
    ap.add_argument("--folds", type=int, default=3, help="cross-validation folds")
    ap.add_argument("--seed", type=int, default=22)
    ap.add_argument("--start", default="", help="NAME=VALUE,... to start from (default: none)")
    args = ap.parse_args()

    videos = learn.load_devset(args.devset)
    looks = sorted({v.look for v in videos})
    chosen = args.looks or looks
    by: dict[tuple[str, str], list[LabelledVideo]] = {}
    for v in videos:
        by.setdefault((v.look, v.split), []).append(labelled(v))
    splits = ("dev", "heldout")
    # one evaluator per split's new videos of every look: results are cached across fits
    tests = {s: {look: Evaluator(by[(look, s)]) for look in looks} for s in splits}
    shipped = DetectorParams()
    defaults = calibrate.params_from_dict(
        {k: float(v) if "." in v else int(v) for k, v in
         (kv.split("=", 1) for kv in args.start.split(",") if kv)}
    )  # fmt: skip
    rng = random.Random(args.seed)
    summary: dict[tuple[str, int], dict[str, Counts]] = {}
    t0 = time.monotonic()
    for look in chosen:
        for src, dst in (("dev", "heldout"), ("heldout", "dev")):
            train = Evaluator(by[(look, src)])
            units = calibrate.split_units(whole(train), args.pieces)
            for n in SIZES:
                if n > len(units):
                    continue
                draws = 1 if n in (0, len(units)) else args.repeats
                for draw in range(draws):
                    picked = sorted(rng.sample(range(len(units)), n))
                    chosen_units = [units[i] for i in picked]
                    started = time.monotonic()
                    params, gated, cv = defaults, defaults, None
                    if n:
                        cal = calibrate.calibrate(
                            train.videos, defaults, folds=args.folds, units=chosen_units,
                            evaluator=train,
                        )  # fmt: skip
                        params = cal.params
                        gated = params if cal.improves else defaults
                        cv = {"before": rates(cal.before), "after": rates(cal.after)}
                    fit_s = time.monotonic() - started
                    target = tests[dst][look]
                    same = target.counts(gated, whole(target))
                    fitted = target.counts(params, whole(target))
                    base = target.counts(defaults, whole(target))
                    others_default = Counts()
                    others_profile = Counts()
                    for other in looks:
                        if other == look:
                            continue
                        ev = tests[dst][other]
                        others_default += ev.counts(shipped, whole(ev))
                        others_profile += ev.counts(params, whole(ev))
                    line = {
                        "look": look, "n": n, "from": src, "to": dst, "draw": draw,
                        "start": calibrate.changed_fields(defaults, shipped),
                        "pieces": [f"{train.videos[u.video].key}[{u.lo}:{u.hi}]"
                                   for u in chosen_units],
                        "changed": calibrate.changed_fields(params, defaults),
                        "activated": gated is not defaults, "cv": cv,
                        "look_new": rates(same), "look_new_fitted": rates(fitted),
                        "look_new_defaults": rates(base),
                        "others_defaults": rates(others_default),
                        "others_with_profile": rates(others_profile),
                        "fit_seconds": round(fit_s, 2),
                    }  # fmt: skip
                    print(json.dumps(line), flush=True)
                    acc = summary.setdefault((look, n), {})
                    for k, c in (("look_new", same), ("look_new_fitted", fitted),
                                 ("look_new_defaults", base),
                                 ("others_defaults", others_default),
                                 ("others_with_profile", others_profile)):  # fmt: skip
                        acc[k] = acc.get(k, Counts()) + c
    table = ["| look | " + " | ".join(f"n={n}" for n in SIZES) + " | other looks, defaults | "
             "other looks, this look's n=10 profile |",
             "| --- |" + " --- |" * (len(SIZES) + 2)]  # fmt: skip
    for look in chosen:
        cells = []
        for n in SIZES:
            acc = summary.get((look, n))
            if acc is None:
                cells.append("–")
                continue
            print(json.dumps({"summary": True, "look": look, "n": n,
                              **{k: rates(c) for k, c in acc.items()}}))  # fmt: skip
            cells.append(f"{acc['look_new'].f1:.3f} ({acc['look_new_fitted'].f1:.3f})")
        last = max((n for n in SIZES if (look, n) in summary), default=0)
        acc = summary[(look, last)]
        table.append(
            f"| {look} | " + " | ".join(cells)
            + f" | {acc['others_defaults'].f1:.3f} | {acc['others_with_profile'].f1:.3f}"
            + (f" (n={last})" if last != 10 else "") + " |"
        )  # fmt: skip
    print("\n".join(table), file=sys.stderr)
    print(f"{time.monotonic() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
