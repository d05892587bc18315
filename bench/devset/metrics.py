"""Scores of predicted shot boundaries against labels: one copy, used by ``bench/detect.py``
(the bench) and ``tests/media/test_devset.py`` (the floors).

Labels: ``{"cuts": [k, ...], "transitions": [{"start_frame", "end_frame", "kind"}], "events":
[...]}`` (events: in-shot effects that are no boundary). Predictions: cuts, spans (same shape as
transitions) and, optionally, suggestions (``{"frame", ...}``: candidates a rule rejected).

* ``prf``: cut precision/recall/F1, ±1 frame, each labelled cut matched at most once;
* ``span_scores``: gradual spans matched one to one at IoU ≥ 0.5, best first;
* ``score_video``: everything the dev set reports for one video, as counts that add up over
  videos (``summarize`` turns pooled counts into rates):

  - ``cut_*``: hard cuts by ``prf``; predicted cuts inside a labelled transition's
    ``[start - 1, end + 1]`` are left out here (they count in ``boundary_*``);
  - ``boundary_*``: every labelled boundary (a cut, window ±1; a transition, window
    ``[start - 1, end + 1]``) hit by any predicted cut or span in its window, one to one;
  - ``span_*``: ``span_scores``;
  - ``transitions_with_boundary``: labelled transitions with any predicted cut or span in
    their window (not one to one);
  - ``false_cuts_on_events``: predicted cuts inside an event (±1 frame) that hit no labelled
    boundary window; ``false_spans``: predicted spans overlapping no labelled boundary window
    (``false_spans_per_10min`` after pooling);
  - ``cuts_only_suggested``: labelled cuts missed by every predicted cut and span but with a
    suggestion within ±1 frame.
"""

from __future__ import annotations

from typing import Any


def prf(pred: list[int], truth: list[int], tol: int = 1) -> dict[str, Any]:
    """Precision, recall and F1 with each labelled cut matched at most once within ±tol;
    ``unmatched``: the predicted cuts left over."""
    free = sorted(truth)
    tp = 0
    unmatched = []
    for p in sorted(pred):
        near = [t for t in free if abs(t - p) <= tol]
        if near:
            free.remove(min(near, key=lambda t: abs(t - p)))
            tp += 1
        else:
            unmatched.append(p)
    precision = tp / len(pred) if pred else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": len(pred) - tp,
        "fn": len(truth) - tp,
        "unmatched": unmatched,
    }


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Frames in both spans / frames in either ([start, end) spans)."""
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else 0.0


def span_scores(pred: list[dict[str, Any]], truth: list[dict[str, Any]]) -> dict[str, Any]:
    """One-to-one matching at IoU >= 0.5, best IoU first; recall, precision, kind accuracy."""
    pairs = sorted(
        (
            (iou((p["start_frame"], p["end_frame"]), (t["start_frame"], t["end_frame"])), i, j)
            for i, p in enumerate(pred)
            for j, t in enumerate(truth)
        ),
        reverse=True,
    )
    used_p: set[int] = set()
    used_t: set[int] = set()
    right_kind = 0
    for score, i, j in pairs:
        if score < 0.5 or i in used_p or j in used_t:
            continue
        used_p.add(i)
        used_t.add(j)
        right_kind += pred[i]["kind"] == truth[j]["kind"]
    tp = len(used_t)
    return {
        "span_tp": tp,
        "span_fp": len(pred) - tp,
        "span_fn": len(truth) - tp,
        "span_recall": round(tp / len(truth), 4) if truth else 1.0,
        "span_precision": round(tp / len(pred), 4) if pred else 1.0,
        "kind_right": right_kind,
    }


def false_cut_kinds(unmatched: list[int], label: dict[str, Any]) -> dict[str, int]:
    """What each unmatched predicted cut fell on: a labelled fade (``fade``), dissolve or wipe
    span (±1 frame), an event (its kind's first word, ±1 frame), else ``other``."""
    out: dict[str, int] = {}
    for c in unmatched:
        where = "other"
        for t in label["transitions"]:
            if t["start_frame"] - 1 <= c <= t["end_frame"] + 1:
                where = "fade" if t["kind"].startswith("fade") else t["kind"]
        for e in label["events"]:
            if e["start_frame"] - 1 <= c <= e["end_frame"] + 1:
                where = e["kind"].split("_")[0]
        out[where] = out.get(where, 0) + 1
    return out


def pool(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Cut and span scores pooled over labelled per-video lines (``bench/detect.py``'s
    default mode)."""
    lab = [x for x in lines if "f1" in x]
    if not lab:
        return {}
    tp, fp, fn = (sum(x[k] for x in lab) for k in ("tp", "fp", "fn"))
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    out: dict[str, Any] = {
        "videos": len(lab),
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }
    stp, sfp, sfn = (sum(x.get(k, 0) for x in lab) for k in ("span_tp", "span_fp", "span_fn"))
    out["span_recall"] = round(stp / (stp + sfn), 4) if stp + sfn else 1.0
    out["span_precision"] = round(stp / (stp + sfp), 4) if stp + sfp else 1.0
    out["kind_accuracy"] = round(sum(x.get("kind_right", 0) for x in lab) / stp, 4) if stp else None
    false: dict[str, int] = {}
    for x in lab:
        for k, v in x.get("false_cuts", {}).items():
            false[k] = false.get(k, 0) + v
    out["false_cuts"] = false
    return out


# --------------------------------------------------------------------------- dev set


def _windows(label: dict[str, Any]) -> list[tuple[int, int]]:
    """Every labelled boundary as an inclusive frame window: cut ±1, transition [s-1, e+1]."""
    wins = [(c - 1, c + 1) for c in label["cuts"]]
    wins += [(t["start_frame"] - 1, t["end_frame"] + 1) for t in label["transitions"]]
    return sorted(wins)


def _hits(span: tuple[int, int], win: tuple[int, int]) -> bool:
    """Inclusive ``span`` (a cut is (k, k)) overlaps inclusive ``win``."""
    return span[0] <= win[1] and win[0] <= span[1]


def score_video(pred: dict[str, Any], label: dict[str, Any]) -> dict[str, Any]:
    """Counts for one video (see the module docstring); ``pred``: ``{"cuts", "transitions",
    "suggestions"?}``."""
    cuts = sorted(int(c) for c in pred["cuts"])
    spans = list(pred.get("transitions", []))
    trans = label["transitions"]
    in_trans = [
        c for c in cuts if any(t["start_frame"] - 1 <= c <= t["end_frame"] + 1 for t in trans)
    ]
    cut_pred = [c for c in cuts if c not in in_trans]
    cut = prf(cut_pred, label["cuts"])
    # boundaries: predicted items (cuts as (k, k), spans as [s, e-1]) to windows, one to one
    items = [(c, c) for c in cuts] + [(s["start_frame"], s["end_frame"] - 1) for s in spans]
    wins = _windows(label)
    used: set[int] = set()
    b_tp = 0
    for w in wins:
        for i, it in enumerate(items):
            if i not in used and _hits(it, w):
                used.add(i)
                b_tp += 1
                break
    twb = sum(
        any(_hits(it, (t["start_frame"] - 1, t["end_frame"] + 1)) for it in items) for t in trans
    )
    on_events = 0
    for c in cuts:
        if any(_hits((c, c), w) for w in wins):
            continue
        if any(e["start_frame"] - 1 <= c <= e["end_frame"] + 1 for e in label["events"]):
            on_events += 1
    false_spans = sum(
        not any(_hits((s["start_frame"], s["end_frame"] - 1), w) for w in wins) for s in spans
    )
    sugg = sorted(int(s["frame"]) for s in pred.get("suggestions", []))
    only_sugg = 0
    for c in label["cuts"]:
        if any(_hits(it, (c - 1, c + 1)) for it in items):
            continue
        if any(abs(s - c) <= 1 for s in sugg):
            only_sugg += 1
    sp = span_scores(spans, trans)
    return {
        "videos": 1,
        "frames": int(label["frame_count"]),
        "seconds": int(label["frame_count"]) / float(label.get("fps", 24)),
        "cut_tp": cut["tp"],
        "cut_fp": cut["fp"],
        "cut_fn": cut["fn"],
        "boundary_tp": b_tp,
        "boundary_fp": len(items) - len(used),
        "boundary_fn": len(wins) - b_tp,
        "span_tp": sp["span_tp"],
        "span_fp": sp["span_fp"],
        "span_fn": sp["span_fn"],
        "kind_right": sp["kind_right"],
        "transitions": len(trans),
        "transitions_with_boundary": twb,
        "false_cuts_on_events": on_events,
        "events": len(label["events"]),
        "false_spans": false_spans,
        "labelled_cuts": len(label["cuts"]),
        "cuts_only_suggested": only_sugg,
        "suggestions": len(sugg),
        "false_cut_kinds": false_cut_kinds(cut["unmatched"], label),
    }


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def summarize(counts: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool ``score_video`` counts over videos and turn them into rates."""
    tot: dict[str, Any] = {}
    kinds: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            if k == "false_cut_kinds":
                for kk, vv in v.items():
                    kinds[kk] = kinds.get(kk, 0) + vv
            else:
                tot[k] = tot.get(k, 0) + v
    if not tot:
        return {}
    cp, cr, cf = _prf(tot["cut_tp"], tot["cut_fp"], tot["cut_fn"])
    bp, br, bf = _prf(tot["boundary_tp"], tot["boundary_fp"], tot["boundary_fn"])
    sp, sr, _ = _prf(tot["span_tp"], tot["span_fp"], tot["span_fn"])
    return {
        "videos": tot["videos"],
        "frames": tot["frames"],
        "cut_precision": round(cp, 4),
        "cut_recall": round(cr, 4),
        "cut_f1": round(cf, 4),
        "cut_tp": tot["cut_tp"],
        "cut_fp": tot["cut_fp"],
        "cut_fn": tot["cut_fn"],
        "boundary_precision": round(bp, 4),
        "boundary_rate": round(br, 4),
        "boundary_f1": round(bf, 4),
        "span_recall": round(sr, 4),
        "span_precision": round(sp, 4),
        "kind_accuracy": round(tot["kind_right"] / tot["span_tp"], 4) if tot["span_tp"] else None,
        "transitions": tot["transitions"],
        "transitions_with_boundary": round(tot["transitions_with_boundary"] / tot["transitions"], 4)
        if tot["transitions"]
        else None,
        "false_cuts_on_events": tot["false_cuts_on_events"],
        "events": tot["events"],
        "false_spans": tot["false_spans"],
        "false_spans_per_10min": round(tot["false_spans"] / (tot["seconds"] / 600), 2),
        "labelled_cuts": tot["labelled_cuts"],
        "cuts_only_suggested": tot["cuts_only_suggested"],
        "suggestions": tot["suggestions"],
        "false_cut_kinds": kinds,
    }
