"""Train and check the learned second look for transitions (issue 19 item 5):
``heaters/media/learned.py``'s model.

Every frame of the **training** draws gets :func:`heaters.media.learned.window_features` and a
label: 1 inside a labelled gradual transition ``[start, end)``, 0 elsewhere; the 3 frames
beside a transition and the frames next to a labelled cut are left out (neither clearly). A
scikit-learn ``HistGradientBoostingClassifier`` (depth 4, fixed seed, no early stopping) is
fitted on them.

The probability threshold is chosen by cross-validation **over the training draws only**: each
draw (one ``--train`` folder) is predicted by a model fitted on the others, the rules' result
(``result_from_features(..., learned=False)``) gets the learned cuts at each threshold, and the
threshold that adds the most transitions with a boundary less twice the cuts added where no
boundary is labelled wins (ties: the higher threshold). The model fitted on all training draws
is then stored with that threshold (``--write``), checked to give scikit-learn's probabilities
from the JSON, and scored on the ``--test`` sets, which nothing above has seen: the rules alone
against the rules with the model, per look.

    python bench/devset/learn_spans.py --train /tmp/dev:dev /tmp/d2031 /tmp/d2032 \\
        --test /tmp/all:heldout /tmp/h3007 [--write heaters/media/transition_model.json]

``DIR`` is a ``make.py --out`` folder; ``DIR:split`` takes one split of it. Needs
scikit-learn (``pip install scikit-learn``; a bench dependency only: the package evaluates the
stored trees with numpy). Prints one JSON line per result, a summary on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "devset"))
from learn import Video, features_of, load_devset  # noqa: E402
from metrics import score_video, summarize  # noqa: E402

from heaters.media import learned, scenes  # noqa: E402
from heaters.media.hard_cuts import flash_edges  # noqa: E402

PARAMS = scenes.DetectorParams()
THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
DOUBTS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
DOUBT_RATIOS = (6.0, 8.0, 10.0, 12.0, 15.0, 20.0)
FALSE_WEIGHT = 2.0
"""A cut added where no boundary is labelled costs this many transitions found."""


def describe(arg: str) -> dict[str, Any]:
    """A training set by its manifest's seeds and the split taken (not its scratch path)."""
    folder, _, split = arg.partition(":")
    man = json.loads((Path(folder) / "manifest.json").read_text())
    return {"seeds": man.get("seeds"), "split": split or "all", "videos": len(load(arg))}


def load(arg: str) -> list[Video]:
    folder, _, split = arg.partition(":")
    return [v for v in load_devset(Path(folder)) if not split or v.split == split]


def labels(v: Video, n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """(y, ignore) for the frames of ``v``."""
    y = np.zeros(n, np.int64)
    ignore = np.zeros(n, bool)
    for t in v.label["transitions"]:
        y[t["start_frame"] : t["end_frame"]] = 1
        ignore[max(0, t["start_frame"] - 3) : t["start_frame"]] = True
        ignore[t["end_frame"] : t["end_frame"] + 3] = True
    for k in v.label["cuts"]:
        ignore[max(0, k - 2) : k + 2] = True
    return y, ignore


class Item:
    """A video with its features, window features, labels and the rules' result."""

    def __init__(self, v: Video, group: str) -> None:
        self.video = v
        self.group = group
        self.f = features_of(v).astype(np.float64)
        self.x = learned.window_features(self.f)
        self.y, self.ignore = labels(v, len(self.f))
        self.fps = Fraction(str(v.label.get("fps", 24))).limit_denominator(1001)
        self.rules = scenes.result_from_features(self.f, self.fps, PARAMS, learned=False)
        n = len(self.f)
        self.taken = np.zeros(n, bool)
        self.taken[list(self.rules.cuts)] = True
        for t in self.rules.transitions:
            self.taken[t.start_frame : t.end_frame] = True
        # spans the rules took for motion inside a shot block learned cuts too (as in
        # result_from_features); they are the rules' weak suggestions there
        for s in self.rules.suggestions:
            if s.reason == "weak" and s.confidence == 0.3:
                self.taken[s.frame] = True
        fl = flash_edges(self.f, PARAMS)
        self.flashes = fl.edges | fl.strong


def fit(items: list[Item]) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]

    x = np.concatenate([i.x[~i.ignore] for i in items])
    y = np.concatenate([i.y[~i.ignore] for i in items])
    clf = HistGradientBoostingClassifier(
        max_iter=200, max_depth=4, learning_rate=0.1, l2_regularization=1.0,
        early_stopping=False, random_state=0,
    )  # fmt: skip
    clf.fit(x, y)
    return clf


def export(clf: Any, threshold: float, meta: dict[str, Any]) -> learned.TreeModel:
    """The fitted classifier as a :class:`heaters.media.learned.TreeModel`."""
    feature, thr, miss, left, right, value, roots = [], [], [], [], [], [], []
    for (tree,) in clf._predictors:
        nodes = tree.nodes
        base = len(feature)
        roots.append(base)
        for nd in nodes:
            leaf = bool(nd["is_leaf"])
            feature.append(-1 if leaf else int(nd["feature_idx"]))
            thr.append(float(nd["num_threshold"]))
            miss.append(bool(nd["missing_go_to_left"]))
            left.append(base + int(nd["left"]) if not leaf else -1)
            right.append(base + int(nd["right"]) if not leaf else -1)
            value.append(float(nd["value"]) if leaf else 0.0)
    return learned.TreeModel(
        features=learned.WINDOW_FEATURES,
        feature=np.asarray(feature, np.int64),
        threshold=np.asarray(thr),
        missing_left=np.asarray(miss, bool),
        left=np.asarray(left, np.int64),
        right=np.asarray(right, np.int64),
        value=np.asarray(value),
        roots=np.asarray(roots, np.int64),
        baseline=float(np.ravel(clf._baseline_prediction)[0]),
        threshold_proba=threshold,
        meta=meta,
    )


def with_cuts(item: Item, extra: list[int], r: Any = None) -> dict[str, Any]:
    r = r or item.rules
    return {
        "cuts": sorted({*r.cuts, *extra}),
        "transitions": [
            {"start_frame": t.start_frame, "end_frame": t.end_frame, "kind": t.kind}
            for t in r.transitions
        ],
        "suggestions": [{"frame": s.frame} for s in r.suggestions],
    }


def added_false(item: Item, extra: list[tuple[int, int]]) -> int:
    """How many of the spans ``extra`` (``[start, end)``) overlap no labelled boundary."""
    lab = item.video.label
    wins = [(k - 1, k + 1) for k in lab["cuts"]]
    wins += [(t["start_frame"] - 1, t["end_frame"] + 1) for t in lab["transitions"]]
    return sum(not any(s <= b and e - 1 >= a for a, b in wins) for s, e in extra)


def sweep(items: list[Item], probs: list[npt.NDArray[np.float64]]) -> list[dict[str, Any]]:
    """Per threshold: transitions with a boundary gained and cuts added where none is."""
    base = sum(score_video(with_cuts(i, []), i.video.label)["transitions_with_boundary"]
               for i in items)  # fmt: skip
    out = []
    for th in THRESHOLDS:
        gained = -base
        false = 0
        for i, p in zip(items, probs, strict=True):
            spans = learned.learned_spans(i.f, i.taken, i.flashes, p,
                                          threshold=th)  # fmt: skip
            extra = [(x.start_frame, x.end_frame) for x in spans]
            r = replace(i.rules, transitions=(*i.rules.transitions, *spans))
            gained += score_video(with_cuts(i, [], r), i.video.label)["transitions_with_boundary"]
            false += added_false(i, extra)
            if th >= 0.8 and added_false(i, extra):
                print(
                    f"  cv th {th} {i.group} {i.video.name} ({i.video.look}) false at "
                    f"{[k for k in extra if added_false(i, [k])]}",
                    file=sys.stderr,
                )
        out.append({"threshold": th, "gained": gained, "false": false,
                    "score": gained - FALSE_WEIGHT * false})  # fmt: skip
    return out


def doubt_sweep(items: list[Item], probs: list[npt.NDArray[np.float64]]) -> list[dict[str, Any]]:
    """Per doubt level: the rules' dissolves and wipes :func:`learned.doubted_spans` takes
    away that overlap a labelled boundary (lost) and that do not (false spans removed)."""
    out = []
    for ratio in DOUBT_RATIOS:
        for doubt in DOUBTS:
            lost = removed = 0
            for i, p in zip(items, probs, strict=True):
                lab = i.video.label
                wins = [(k - 1, k + 1) for k in lab["cuts"]]
                wins += [(t["start_frame"] - 1, t["end_frame"] + 1) for t in lab["transitions"]]
                spans = list(i.rules.transitions)
                for t in learned.doubted_spans(i.f, spans, p, doubt=doubt, ratio=ratio):
                    hit = any(t.start_frame <= b and t.end_frame - 1 >= a for a, b in wins)
                    lost += hit
                    removed += not hit
            out.append({"doubt": doubt, "ratio": ratio, "true_spans_doubted": lost,
                        "false_spans_doubted": removed})  # fmt: skip
    return out


def report(name: str, items: list[Item], model: learned.TreeModel) -> None:
    for label, use in (("rules", False), ("rules+learned", True)):
        looks: dict[str, list[dict[str, Any]]] = {}
        allc = []
        for i in items:
            # the detector's own result with the model (what users get), against the rules'
            r = scenes.result_from_features(i.f, i.fps, PARAMS, learned=model) if use else None
            before = set(i.rules.transitions)
            extra = (
                [(x.start_frame, x.end_frame) for x in r.transitions if x not in before]
                if r
                else []
            )
            c = score_video(with_cuts(i, [], r), i.video.label)
            c["added_false"] = added_false(i, extra)
            c["added"] = len(extra)
            looks.setdefault(i.video.look, []).append(c)
            allc.append(c)
        for look, cs in [*sorted(looks.items()), ("pooled", allc)]:
            s = summarize([{k: v for k, v in c.items() if k not in ("added", "added_false")}
                           for c in cs])  # fmt: skip
            line = {"set": name, "method": label, "look": look,
                    "cut_f1": s["cut_f1"], "cut_fp": s["cut_fp"],
                    "transitions": s["transitions"],
                    "transitions_with_boundary": s["transitions_with_boundary"],
                    "added": sum(c["added"] for c in cs),
                    "added_false": sum(c["added_false"] for c in cs),
                    "false_spans": s["false_spans"],
                    "false_spans_per_10min": s["false_spans_per_10min"],
                    "span_recall": s["span_recall"]}  # fmt: skip
            print(json.dumps(line))
            if look == "pooled":
                print(f"{name:28s} {label:14s} cut F1 {s['cut_f1']:.3f} (fp {s['cut_fp']}) "
                      f"transitions with a boundary {s['transitions_with_boundary']:.3f} of "
                      f"{s['transitions']}; added {line['added']}, {line['added_false']} where "
                      f"no boundary is; false spans {s['false_spans']} "
                      f"({s['false_spans_per_10min']}/10 min), spans found {s['span_recall']}",
                      file=sys.stderr)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", nargs="+", required=True, help="DIR[:split] of the training draws")
    ap.add_argument("--test", nargs="*", default=[], help="DIR[:split] to score, never trained on")
    ap.add_argument("--write", type=Path, help="store the model (JSON) here")
    args = ap.parse_args()

    train = [Item(v, a) for a in args.train for v in load(a)]
    groups = sorted({i.group for i in train})
    probs: dict[int, npt.NDArray[np.float64]] = {}
    for g in groups:
        clf = fit([i for i in train if i.group != g])
        for n, i in enumerate(train):
            if i.group == g:
                probs[n] = clf.predict_proba(i.x)[:, 1]
    cv = sweep(train, [probs[n] for n in range(len(train))])
    for row in cv:
        print(json.dumps({"cross_validation": row}))
    best = max(cv, key=lambda r: (r["score"], r["threshold"]))
    doubts = doubt_sweep(train, [probs[n] for n in range(len(train))])
    for row in doubts:
        print(json.dumps({"cross_validation_doubt": row}))
    print(f"doubted spans by cross-validation: {doubts}", file=sys.stderr)
    print(f"cross-validation over {len(groups)} training draws: {cv}; chosen {best}",
          file=sys.stderr)  # fmt: skip

    clf = fit(train)
    meta = {
        "trained_on": [describe(a) for a in args.train],
        "videos": len(train),
        "frames": int(sum(len(i.f) for i in train)),
        "transitions": int(sum(len(i.video.label["transitions"]) for i in train)),
        "threshold_from": "cross-validation by draw, see bench/devset/learn_spans.py",
        "cross_validation": cv,
    }
    model = export(clf, float(best["threshold"]), meta)
    for i in train[:3]:
        diff = np.abs(model.predict_proba(i.x) - clf.predict_proba(i.x)[:, 1]).max()
        if diff > 1e-9:
            raise SystemExit(f"exported trees differ from scikit-learn's by {diff}")
    if args.write:
        args.write.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n")
        print(f"wrote {args.write}", file=sys.stderr)
    report("train (in-sample)", train, model)
    for a in args.test:
        report(a, [Item(v, a) for v in load(a)], model)


if __name__ == "__main__":
    main()
