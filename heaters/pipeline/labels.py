"""The labels stage: what a settled review decision says about shot boundaries (issue 22).

Once a review event settles (``settles_at`` passed; ``HEATERS_REVIEW_SETTLE_SECONDS``) it
can no longer be undone, so what it says about the video's boundaries is final. The stage's
finder (``find_unlabelled_events``, ``queries/dispatch.sql``) finds settled, not undone
events not read yet; :func:`label_event` writes their labels (``boundary_labels``,
``queries/labels.sql``) and marks them read, in one transaction, idempotently. An undone
event never settles, so it leaves no label. The review actions' own code is not involved.

What each action says (:func:`labels_of_event`; frames are 0-based, a cut at ``k``: frame
``k`` starts a new shot; spans ``[start, end)``):

- ``split`` at ``k`` (an accepted suggestion is a split at its frame): a cut at ``k``;
- ``merge`` of clips meeting at ``c``: no cut at ``c``; when the later clip was a transition
  clip, no boundary over its frames either (a transition merged away);
- ``move_boundary`` from ``c`` to ``k``: a cut at ``k``, none at ``c``;
- ``approve`` / ``group`` of a clip ``[s, e)``: its boundaries confirmed (a cut at ``s``
  unless ``s`` is 0 or a transition clip ends there, a cut at ``e`` unless it is the video's
  end or a transition clip starts there) and no cut inside it (``not_cut`` over ``[s+1,
  e)``: suggestions inside it were left alone); an approved transition clip is a
  ``gradual`` span;
- ``skip`` and ``archive`` say nothing about boundaries.

Later events win where they disagree (``heaters.media.calibrate.fold_labels``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from heaters.db import Database, fetch_all
from heaters.pipeline.runner import Outcome
from heaters.pipeline.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = ["ClipFacts", "Label", "label_event", "labels_of_event", "record_labels"]

#: Decisions that confirm a clip's boundaries.
CONFIRMING = ("approve", "group")


@dataclass(frozen=True)
class ClipFacts:
    """A clip as labelling needs it: frames ``[start_frame, end_frame)`` of ``video_id``
    (``frame_count`` frames), whether it is a transition clip, and whether a live transition
    clip ends right before it / starts right after it."""

    id: int
    video_id: int
    start_frame: int
    end_frame: int
    is_transition: bool
    frame_count: int | None
    transition_before: bool = False
    transition_after: bool = False


@dataclass(frozen=True)
class Label:
    """One boundary label: frames ``[start_frame, end_frame)`` of ``video_id`` are ``label``
    (``heaters.media.calibrate.LABELS``: ``cut``, one frame, the first of a new shot;
    ``not_cut``; ``gradual``)."""

    video_id: int
    start_frame: int
    end_frame: int
    label: str


def _point(video_id: int, frame: int, label: str) -> Label:
    return Label(video_id, frame, frame + 1, label)


def labels_of_event(
    action: str, payload: Mapping[str, Any], clips: Mapping[int, ClipFacts]
) -> list[Label]:
    """The labels a settled event states (module docstring); ``clips``: every clip the
    event names, by id. Clips missing from ``clips`` (deleted since) are passed over."""
    out: list[Label] = []
    if action in CONFIRMING:
        for after in payload.get("after", ()):
            c = clips.get(int(after["id"]))
            if c is not None:
                out += _confirmed(c)
        return out
    if action not in ("merge", "split", "move_boundary"):
        return out
    old = [clips[int(b["id"])] for b in payload.get("before", ()) if int(b["id"]) in clips]
    spans = [(int(a), int(b)) for a, b in payload.get("spans", ())]
    if not old or not spans:
        return out
    vid = old[0].video_id
    if action == "split":
        out.append(_point(vid, spans[1][0], "cut"))
    elif action == "merge" and len(old) == 2:
        left, right = sorted(old, key=lambda c: c.start_frame)
        if right.is_transition and not left.is_transition:
            out.append(Label(vid, right.start_frame, right.end_frame, "not_cut"))
        else:
            out.append(_point(vid, right.start_frame, "not_cut"))
    elif action == "move_boundary" and len(old) == 2:
        left = min(old, key=lambda c: c.start_frame)
        out += [_point(vid, spans[1][0], "cut"), _point(vid, left.end_frame, "not_cut")]
    return out


def _confirmed(c: ClipFacts) -> list[Label]:
    if c.is_transition:
        return [Label(c.video_id, c.start_frame, c.end_frame, "gradual")]
    out = []
    if c.start_frame > 0 and not c.transition_before:
        out.append(_point(c.video_id, c.start_frame, "cut"))
    if c.end_frame - c.start_frame > 1:
        out.append(Label(c.video_id, c.start_frame + 1, c.end_frame, "not_cut"))
    if (c.frame_count is None or c.end_frame < c.frame_count) and not c.transition_after:
        out.append(_point(c.video_id, c.end_frame, "cut"))
    return out


async def record_labels(db: Database, event_id: int) -> int | None:
    """Write the labels of the settled review event ``event_id`` and mark it read, in one
    transaction. Returns how many labels it states (0: a skip, say), or None when there is
    nothing to do (not settled yet, undone, or read already: a repeat writes nothing)."""
    async with db.transaction() as conn:
        ev = await db.q.lock_settled_event(conn, id=event_id)
        if ev is None:
            return None
        rows = await fetch_all(db.q.label_event_clips(conn, ids=list(ev["clip_ids"])))
        clips = {r["id"]: _facts(r) for r in rows}
        labels = _unique(labels_of_event(ev["action"], ev["payload"] or {}, clips))
        if labels:
            await db.q.insert_labels(
                conn,
                [
                    dict(
                        video_id=x.video_id,
                        start_frame=x.start_frame,
                        end_frame=x.end_frame,
                        label=x.label,
                        event_id=ev["id"],
                        reviewer=ev["reviewer"],
                        settled_at=ev["settles_at"],
                    )
                    for x in labels
                ],
            )
        await db.q.mark_event_labelled(conn, id=event_id)
    log.info(
        "review event %s (%s by %s): %d boundary labels",
        event_id, ev["action"], ev["reviewer"], len(labels),
    )  # fmt: skip
    return len(labels)


def _facts(r: Any) -> ClipFacts:
    return ClipFacts(
        r["id"], r["source_video_id"], r["start_frame"], r["end_frame"], r["is_transition"],
        r["frame_count"], r["transition_before"], r["transition_after"],
    )  # fmt: skip


def _unique(labels: Sequence[Label]) -> list[Label]:
    """One label per (label, start frame), as the table's key wants (the first wins)."""
    seen: dict[tuple[str, int], Label] = {}
    for x in labels:
        seen.setdefault((x.label, x.start_frame), x)
    return list(seen.values())


async def label_event(rt: Runtime, event_id: int) -> Outcome:
    """The ``label_reviews`` stage on one review event: :func:`record_labels`; ``"done"``, or
    ``"noop"`` when there was nothing to do."""
    return "noop" if await record_labels(rt.db, event_id) is None else "done"
