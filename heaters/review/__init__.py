"""Review (docs/architecture.md, "Review"): decisions that settle, edits, undo, leases, the
review queue, users.

Where things live: ``_base`` (action names, ``ActionResult``, the transaction, locks and
checks every action shares), ``views`` (clips as the pages show them, history),
``leases`` (claims and the queue), ``decisions`` (approve / skip / archive / group and
``act``), ``edits`` (merge, split, move a cut), ``undo`` (undo, reopen), ``annotations``
(tags, notes), ``batch`` (many clips in one event, a video's archive), ``users``,
``failures``.

The service API (pages and the JSON API call these; one code path)
-----------------------------------------------------------------
Every action applies at once, in one transaction, and is logged in ``review_events`` with
``settles_at = now() + settle window`` (``HEATERS_REVIEW_SETTLE_SECONDS``, default 60;
``settle_seconds=`` overrides it per call). Until then it can be undone; the export and archive
finders only take clips with no unsettled, not-undone event, so the worker never races the
reviewer. ``ActionResult``: ``event_id``, ``action``, ``clip_ids`` (every clip the event
touched, old and new), ``live_clip_ids`` (the clips to show next: the decided clips, or the
clips an edit made / an undo restored, in frame order), ``message``, ``settles_at``.

- ``act(db, clip_id, action, reviewer, *, frame=None, edge=None, with_clip_id=None,
  settle_seconds=None, change=False) -> ActionResult``: one entry point for every action name
  ``approve | skip | archive | group | merge | split | move_boundary`` (InvalidEdit 422 for an
  unknown action or a missing ``frame``/``edge``). The functions it calls:
- ``decide(db, clip_id, action, reviewer, *, settle_seconds=None, change=False)``
  approve/skip/archive/group; ``change=True`` replaces a decided clip's decision (settled
  too, past review too) by another of approve/skip/archive: a new event, undoable;
  ``change_refusal(clip_id, state, action)`` says why it cannot (None: it can).
- ``merge(db, clip_id, reviewer, *, with_clip_id=None, settle_seconds=None)``: the clip and its
  previous clip become one clip at once (new row). The previous clip may be pending or
  approved-and-still-settling; the merged clip takes the previous clip's state (approve 5,
  then merge 6 into it → one approved clip; undo → 5 approved again, 6 pending; undo → 5
  pending).
- ``split(db, clip_id, frame, reviewer, *, settle_seconds=None)``: two new clips at once.
- ``move_boundary(db, clip_id, edge, frame, reviewer, *, settle_seconds=None)``: ``edge``
  ``"start"`` moves the cut between the clip and its previous clip so that the clip starts at
  ``frame``; ``"end"`` moves the cut to its next clip so that the clip ends at ``frame``
  (exclusive, as ``end_frame`` everywhere: an "out at the current frame f" key sends f + 1).
  Both clips are replaced by two new ``pending_review`` clips (sprites remade by the
  dispatcher).
- ``undo(db, reviewer, *, event_id=None)``: undo ``event_id``, or the
  reviewer's latest own not-yet-settled event (repeatable: undo, undo, undo). 409 once
  settled, or when a later event touches the same clips (undo that first).
- ``reopen(db, clip_id, reviewer)``: undo the unsettled event that decided ``clip_id``; 409
  with the reason once it settled.
- ``claim(db, clip_id, reviewer, *, claim_seconds=None) -> Claim`` takes/renews the lease
  (``HEATERS_CLAIM_SECONDS``) when free, expired or own, and drops the reviewer's other claims;
  otherwise ``Claim.own`` is False and ``Claim.holder`` names who holds it. ``release(db,
  clip_id, reviewer) -> bool`` (page close, ``navigator.sendBeacon``). Any action on a clip
  another reviewer holds → ``ReviewConflict`` naming the holder.
- ``next_clip(db, reviewer, *, video_id=None, include_transitions=False, order="video",
  claim_seconds=None) -> ClipView | None`` claims the next clip; ``review_queue(db, reviewer,
  *, video_id=None, include_transitions=False, order="video", limit=20) -> list[QueueItem]``
  lists the next clips without claiming. ``order``: ``"video"`` (video, start frame) or
  ``"confidence"`` (low-confidence cuts first, nulls last). Both skip transition clips unless
  asked, and clips other reviewers hold or have reserved.
- ``reserve_next(db, reviewer, after_id, *, seconds=None) -> int | None`` reserves the clip
  the reviewer's page shows when they decide clip ``after_id`` (the next pending shot in
  video order that nobody else holds or has reserved; one per reviewer); other queues skip
  it, a claim takes it. ``claim(..., spare_reserved=True)`` (the page's guess) does not
  take another reviewer's.
- ``get_clip(db, clip_id) -> ClipView`` (frames, seconds, PTS, transition facts, holder,
  ``pending``: the latest unsettled decision as ``PendingDecision(event_id, action, reviewer,
  settles_at)`` or None; ``suggestions``: the detector's rejected candidate cuts strictly
  inside it, ``SuggestionView``). ``clip_suggestions(db, clip_ids)`` the same for many
  clips. ``video_clips``, ``history`` as before.
- Tags and notes (``annotations``, issue 21): ``list_tags(db) -> list[Tag]``,
  ``add_tag(db, name, *, key=None)``, ``set_tag_key``, ``remove_tag(db, name)`` (the
  project's tags; ``key`` 1–9 toggles one on the review page); ``tag_clip(db, clip_id,
  reviewer, *, name=None, key=None, on=None)`` (on / off / toggle) and ``set_note(db,
  clip_id, note, reviewer)``: ``tag`` / ``note`` events, undoable like decisions, no
  decision themselves (the clip keeps its state). ``ClipView.tags`` / ``.note``.
- ``decide_many(db, clip_ids, action, reviewer, *, tag=None, key=None, on=None,
  take_held=False) -> ActionResult`` (``batch``): approve / skip / archive / tag many clips
  in ONE event (one undo restores all); clips it cannot apply to are left out and named in
  the message. ``archive_video(db, video_id, reviewer)``: every archivable clip of a video
  in one ``archive`` event (the operator's "archive this video"; None when there is none).
- ``retry_item(db, kind, item_id) -> str | None``, ``retry_failed_clips(db) -> list[int]``
  (heaters.review.failures): an operator's retry of one failed video or clip, or of every
  failed clip.

Errors: ``ClipNotFound`` (404), ``ReviewConflict`` (409, says why), ``InvalidEdit`` (422).
"""

from heaters.review._base import (
    ACTIONS,
    DECIDED_BY,
    Action,
    ActionResult,
    Decision,
    Edge,
    QueueOrder,
    change_refusal,
)
from heaters.review.annotations import (
    NOTE_MAX,
    Tag,
    TagNotFound,
    add_tag,
    check_tag_name,
    clip_tags,
    list_tags,
    remove_tag,
    set_note,
    set_tag_key,
)
from heaters.review.batch import BATCH_ACTIONS, BATCH_MAX, archive_video, decide_many, tag_clip
from heaters.review.decisions import act, decide
from heaters.review.edits import merge, move_boundary, split
from heaters.review.errors import ClipNotFound, InvalidEdit, ReviewConflict, ReviewError
from heaters.review.failures import failed_clips, retry_failed_clips, retry_item
from heaters.review.leases import (
    Claim,
    QueueItem,
    claim,
    next_clip,
    release,
    reserve_next,
    review_queue,
)
from heaters.review.undo import reopen, undo
from heaters.review.views import (
    ClipView,
    PendingDecision,
    SuggestionView,
    clip_suggestions,
    get_clip,
    history,
    video_clips,
)

__all__ = [
    "ACTIONS",
    "BATCH_ACTIONS",
    "BATCH_MAX",
    "DECIDED_BY",
    "NOTE_MAX",
    "Action",
    "ActionResult",
    "Claim",
    "ClipNotFound",
    "ClipView",
    "Decision",
    "Edge",
    "InvalidEdit",
    "PendingDecision",
    "QueueItem",
    "QueueOrder",
    "ReviewConflict",
    "ReviewError",
    "SuggestionView",
    "Tag",
    "TagNotFound",
    "act",
    "add_tag",
    "archive_video",
    "change_refusal",
    "check_tag_name",
    "claim",
    "clip_suggestions",
    "clip_tags",
    "decide",
    "decide_many",
    "failed_clips",
    "get_clip",
    "history",
    "list_tags",
    "merge",
    "move_boundary",
    "next_clip",
    "release",
    "remove_tag",
    "reopen",
    "reserve_next",
    "retry_failed_clips",
    "retry_item",
    "review_queue",
    "set_note",
    "set_tag_key",
    "split",
    "tag_clip",
    "undo",
    "video_clips",
]
