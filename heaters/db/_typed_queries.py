# ruff: noqa: E501
"""The named queries of ``queries/*.sql`` as a typed Protocol (generated: do not edit).

Regenerate with ``python -m heaters.db.gen_queries`` after changing a ``.sql`` file
(``tests/db/test_typed_queries.py`` fails while this file is stale).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

import asyncpg


class Queries(Protocol):
    """``Database.q``: one method per named query; the connection first, then the query's
    parameters by name."""

    async def activate_profile(self, conn: Any, *, collection: Any, version: Any) -> Any:
        """Make version :version of :collection active (after deactivate_profiles, in one
        transaction); nothing when there is no such version."""
        ...

    async def active_profile(self, conn: Any, *, collection: Any) -> asyncpg.Record | None:
        """The active detector profile of :collection (None: the detector's defaults)."""
        ...

    async def add_user(self, conn: Any, *, name: Any, password_hash: Any) -> Any: ...

    def archivable_clip_ids(
        self, conn: Any, *, video_id: Any, states: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """The live clips of a video in :states (heaters.domain.states.ARCHIVABLE_STATES), by id."""
        ...

    async def browse_next(
        self, conn: Any, *, states: Any, max_confidence: Any, video_id: Any, start_frame: Any
    ) -> asyncpg.Record | None:
        """The live clip after (:video_id, :start_frame) in video order (video, start frame) whose state
        is one of :states and, with :max_confidence, whose starting cut's confidence is below it:
        the review page's queues of decided clips (skipped, archived, approved) and of weak cuts.
        NULL past the last one."""
        ...

    async def carry_annotations(self, conn: Any, *, clip_id: Any, old_ids: Any) -> str:
        """A clip a merge, split or cut move made (:clip_id) takes the tags of the clips it comes
        from (:old_ids) and, when it has no note, their notes (distinct ones, one per line)."""
        ...

    async def claim_holder(self, conn: Any, *, id: Any) -> asyncpg.Record | None:
        """Who holds a clip now (claimed_by NULL when nobody does, or the lease expired)."""
        ...

    def clip_artifacts(
        self, conn: Any, *, clip_id: Any, kind: Any
    ) -> AsyncIterator[asyncpg.Record]: ...

    def clip_counts(self, conn: Any) -> AsyncIterator[asyncpg.Record]: ...

    async def clip_embedding(
        self, conn: Any, *, clip_id: Any, model_name: Any
    ) -> asyncpg.Record | None: ...

    async def clip_pts(
        self, conn: Any, *, start_frame: Any, end_frame: Any, video_id: Any
    ) -> asyncpg.Record | None:
        """PTS (seconds) of the frames [start_frame, end_frame] (the end one too, where it exists)."""
        ...

    def clip_storage_keys(self, conn: Any, *, clip_id: Any) -> AsyncIterator[asyncpg.Record]:
        """Every storage object of a clip: its exported file and its artifacts."""
        ...

    def clip_suggestions(self, conn: Any, *, ids: Any) -> AsyncIterator[asyncpg.Record]:
        """The suggestions strictly inside each clip of :ids (start_frame < frame < end_frame), by
        clip and frame: a split there is a reviewer's accepting it."""
        ...

    def clip_tag_ids(self, conn: Any, *, ids: Any) -> AsyncIterator[asyncpg.Record]:
        """The tag ids of each clip of :ids (clips without tags are left out)."""
        ...

    async def clip_tag_names(self, conn: Any, *, clip_id: Any) -> Any:
        """The names of a clip's tags, sorted."""
        ...

    async def clip_view(self, conn: Any, *, id: Any) -> asyncpg.Record | None: ...

    async def clip_with_video(self, conn: Any, *, id: Any) -> asyncpg.Record | None: ...

    def collection_videos(
        self, conn: Any, *, detector: Any, collection: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """The videos of :collection that detection has run on, with their stored features of
        :detector (NULL when none), frame index and frame rate (heaters detect rerun)."""
        ...

    async def count_videos(self, conn: Any, *, state: Any) -> Any: ...

    async def create_dataset(
        self, conn: Any, *, name: Any, format: Any, target: Any, selection: Any, settings: Any
    ) -> asyncpg.Record | None: ...

    async def create_token(self, conn: Any, *, name: Any, token_hash: Any) -> Any: ...

    def current_claim_tags(self, conn: Any) -> AsyncIterator[asyncpg.Record]:
        """The key tags (12 hex digits, heaters.storage.keys.claim_tag) of every item's latest claim:
        objects carrying one may belong to a stage at work now, before its commit names them."""
        ...

    def cut_clips(self, conn: Any, *, video_id: Any, states: Any) -> AsyncIterator[asyncpg.Record]:
        """The live clips of a video in frame order; :states NULL for every state."""
        ...

    async def cut_video(self, conn: Any, *, video_id: Any) -> asyncpg.Record | None:
        """A video with its frame index (pts_seconds[k + 1] = PTS seconds of frame k)."""
        ...

    def dataset_candidates(
        self, conn: Any, *, states: Any, video_ids: Any, tags: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Ids of the live clips with a stored file in :states, of :video_ids (NULL: every video),
        carrying any of the tags named :tags (NULL: any clip)."""
        ...

    def dataset_clip_rows(
        self, conn: Any, *, model_name: Any, ids: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Everything a dataset sample holds about each clip of :ids: the clip, its video, its
        keyframes (storage keys by strategy/tag) and its newest embedding of :model_name."""
        ...

    def dataset_jobs(self, conn: Any, *, name: Any, limit: Any) -> AsyncIterator[asyncpg.Record]:
        """The latest export jobs of a dataset (waiting, running, done, failed), newest first."""
        ...

    def dataset_versions(self, conn: Any, *, dataset_id: Any) -> AsyncIterator[asyncpg.Record]:
        """Every version of a dataset, newest first (without the clip lists)."""
        ...

    async def dataset_waiting(self, conn: Any, *, states: Any, video_ids: Any) -> Any:
        """Clips that match the selection but have no file yet (approved, not exported: :states, the
        export stage's, heaters.domain.states.EXPORT)."""
        ...

    async def deactivate_profiles(self, conn: Any, *, collection: Any) -> str:
        """Before activating one: no profile of :collection is active (one active at most)."""
        ...

    async def deciding_event_for(self, conn: Any, *, id: Any) -> Any:
        """The latest event, not undone, that decided the clip (in its "before") or made it ("new")."""
        ...

    async def delete_clip_artifacts(self, conn: Any, *, clip_id: Any) -> str: ...

    async def delete_clip_embeddings(self, conn: Any, *, clip_id: Any) -> str: ...

    def delete_clips_returning_keys(self, conn: Any, *, ids: Any) -> AsyncIterator[asyncpg.Record]:
        """Delete the clips :ids (a rerun's replaced ones); returns their artifacts' storage keys,
        deleted from the storage after the commit.
        (A data-modifying CTE always runs; the SELECT sees the rows as they were before it.)"""
        ...

    async def delete_failed_job(self, conn: Any, *, id: Any) -> Any: ...

    async def delete_tag(self, conn: Any, *, name: Any) -> asyncpg.Record | None: ...

    async def delete_unreviewed_clips(self, conn: Any, *, video_id: Any) -> str:
        """Before detection writes a video's clips: drop clips of an earlier run nobody has reviewed."""
        ...

    async def delete_version(self, conn: Any, *, id: Any) -> str: ...

    async def delete_video_suggestions(self, conn: Any, *, video_id: Any) -> str:
        """Before detection writes a video's suggestions: forget the previous run's (a redo)."""
        ...

    def drop_segments_from(
        self, conn: Any, *, video_id: Any, count: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Segments of an earlier plan beyond this one's count; returns their storage keys (deleted
        after the commit)."""
        ...

    async def end_sessions(self, conn: Any, *, name: Any) -> Any:
        """End every session of the user :name (the epoch moves on); returns the new epoch, no row
        when there is no such user."""
        ...

    def event_history(self, conn: Any, *, limit: Any, offset: Any) -> AsyncIterator[asyncpg.Record]:
        """Review events, newest first; pending: still settling (undoable)."""
        ...

    async def existing_tag_names(self, conn: Any, *, names: Any) -> Any:
        """Which of the names :names are tags (a dataset's --tag must name one)."""
        ...

    async def fail_version(self, conn: Any, *, error: Any, id: Any) -> str: ...

    def failed_clips(self, conn: Any, *, limit: Any) -> AsyncIterator[asyncpg.Record]:
        """Failed clips with their reasons (v_failures), newest first, with their video."""
        ...

    def failed_jobs(self, conn: Any, *, limit: Any) -> AsyncIterator[asyncpg.Record]: ...

    def failures(self, conn: Any, *, limit: Any) -> AsyncIterator[asyncpg.Record]: ...

    def find_clips(
        self, conn: Any, *, states: Any, stage: Any, limit: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Clips in one of :states that a stage should work on now: a *_failed one only once its
        backoff is due, never one with a waiting or running job of this stage, and never one a
        review event still settling touched (v_settling_events: an approve/archive is undoable
        until it settles, so export and archive never race the reviewer)."""
        ...

    def find_collections_to_calibrate(
        self, conn: Any, *, every: Any, stage: Any, limit: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Collections with at least :every boundary labels written since their latest detector
        profile (any, when none), as the id of their first video (the calibrate stage's item: one
        job per collection at a time); none when :every is 0 (HEATERS_CALIBRATE_EVERY off)."""
        ...

    async def find_duplicate(
        self, conn: Any, *, source_url: Any, sha256: Any
    ) -> asyncpg.Record | None: ...

    def find_unlabelled_events(
        self, conn: Any, *, stage: Any, limit: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Review events the labels stage should read (issue 22): settled (settles_at passed), never
        undone (an undo is possible only before it settles, so an undone event never gets here),
        not read yet (labelled_at), not an undo itself, an edit only once applied (edits logged
        before migration 0007 waited for their commit job), with no waiting or running job."""
        ...

    def find_videos(
        self, conn: Any, *, states: Any, stage: Any, limit: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Videos in one of :states that a stage should work on now: a *_failed one only once its
        backoff is due, and never one that already has a waiting or running job of this stage."""
        ...

    async def finish_version(
        self, conn: Any, *, manifest: Any, id: Any
    ) -> asyncpg.Record | None: ...

    def forget_segments(self, conn: Any, *, video_id: Any) -> AsyncIterator[asyncpg.Record]:
        """Inside the join's commit: the segment rows go; returns their keys (deleted after it)."""
        ...

    async def get_clip_row(self, conn: Any, *, id: Any) -> asyncpg.Record | None: ...

    async def get_dataset(self, conn: Any, *, name: Any) -> asyncpg.Record | None: ...

    async def get_frame_index(self, conn: Any, *, id: Any) -> asyncpg.Record | None: ...

    async def get_tag(self, conn: Any, *, name: Any) -> asyncpg.Record | None: ...

    async def get_user(self, conn: Any, *, name: Any) -> asyncpg.Record | None: ...

    async def get_version(
        self, conn: Any, *, dataset_id: Any, version: Any
    ) -> asyncpg.Record | None: ...

    async def get_video(self, conn: Any, *, id: Any) -> asyncpg.Record | None: ...

    def get_videos(self, conn: Any, *, ids: Any) -> AsyncIterator[asyncpg.Record]: ...

    async def give_back_login_attempts(self, conn: Any, *, keys: Any, window_starts: Any) -> str:
        """A sign-in succeeded: its own attempt no longer counts against its keys, in the window it
        was counted in (earlier failures still count: a success does not reset a key)."""
        ...

    def insert_clips(
        self,
        conn: Any,
        *,
        video_id: Any,
        clip_identifiers: Any,
        start_frames: Any,
        end_frames: Any,
        start_seconds: Any,
        end_seconds: Any,
        transition_kinds: Any,
        confidences: Any,
    ) -> AsyncIterator[asyncpg.Record]:
        """A video's virtual clips, one per element of the arrays (all of one length, in order;
        heaters.db.clips.insert_clips fills them). Clips are keyed by clip_identifier
        ({video}_{start}_{end}): one whose key exists already is not inserted (a re-run of detect
        inserts nothing). A transition's frames are a clip of their own (is_transition, with its
        kind). Returns the clip_identifier of each clip inserted."""
        ...

    async def insert_edit_clip(
        self,
        conn: Any,
        *,
        video_id: Any,
        clip_identifier: Any,
        start_frame: Any,
        end_frame: Any,
        start_seconds: Any,
        end_seconds: Any,
        state: Any,
        reviewed_by: Any,
        grouped_with: Any,
        is_transition: Any,
        transition_kind: Any,
        boundary_confidence: Any,
    ) -> Any:
        """A clip made by a merge, split or boundary move, in :state. If the same span existed before
        and was superseded (a split merged back), that clip comes back instead of a duplicate."""
        ...

    async def insert_event(
        self,
        conn: Any,
        *,
        clip_ids: Any,
        action: Any,
        reviewer: Any,
        payload: Any,
        settle_seconds: Any,
        applied: Any,
    ) -> Any:
        """One review event; it settles :settle_seconds from now (0 for an undo: settled at once).
        :applied marks an edit as applied (committed_at) when it is logged."""
        ...

    async def insert_labels(self, conn: Any, parameters: Sequence[Mapping[str, Any]], /) -> None:
        """An event's labels; a redo of the stage writes nothing twice.
        Each mapping has the keys: video_id, start_frame, end_frame, label, event_id, reviewer, settled_at."""
        ...

    async def insert_profile(
        self,
        conn: Any,
        *,
        collection: Any,
        detector: Any,
        params: Any,
        training_video_ids: Any,
        figures: Any,
    ) -> Any:
        """A new version of :collection's profile (versions count from 1 per collection)."""
        ...

    async def insert_suggestions(
        self, conn: Any, parameters: Sequence[Mapping[str, Any]], /
    ) -> None:
        """One candidate boundary; none on a boundary of a live clip of the video (those are cuts).
        Each mapping has the keys: video_id, frame, seconds, confidence, reason, detector."""
        ...

    async def insert_tag(self, conn: Any, *, name: Any, key: Any) -> asyncpg.Record | None:
        """A new tag; NULL when the name exists already."""
        ...

    async def insert_version(
        self,
        conn: Any,
        *,
        dataset_id: Any,
        version: Any,
        clip_ids: Any,
        added: Any,
        removed: Any,
        plan: Any,
        job_id: Any,
    ) -> asyncpg.Record | None: ...

    async def insert_video(
        self,
        conn: Any,
        *,
        source_url: Any,
        source_path: Any,
        source_key: Any,
        sha256: Any,
        title: Any,
    ) -> Any:
        """Record a submitted source (a URL, a path on the workers' disks, or the storage key of an
        API upload); a repeat (same URL or same sha256) returns nothing."""
        ...

    async def item_lifecycle(self, conn: Any, *, kind: Any, id: Any) -> asyncpg.Record | None:
        """A video, clip or segment's lifecycle columns (its state and our own failure reason)."""
        ...

    def item_runs(
        self, conn: Any, *, kind: Any, item_id: Any, limit: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Every stage run recorded on one item (each attempt of each stage, its outcome and error),
        newest first."""
        ...

    def item_states(self, conn: Any) -> AsyncIterator[asyncpg.Record]: ...

    async def job_detail(self, conn: Any, *, id: Any) -> asyncpg.Record | None: ...

    def job_events(self, conn: Any, *, id: Any) -> AsyncIterator[asyncpg.Record]:
        """A job's history: every status change procrastinate recorded, in the order recorded. By id,
        not `at`: `at` is now(), the start of the transaction that wrote the event, so events of
        one job written by different transactions can sort out of order by it (a CI run showed a
        download job's 'started' before its 'deferred'); the ids are drawn as the rows are written."""
        ...

    def label_event_clips(self, conn: Any, *, ids: Any) -> AsyncIterator[asyncpg.Record]:
        """The clips an event names (old and new rows: edits keep the rows they supersede), with the
        live transition clips right before and after each (their shared frame is a transition's
        edge, not a cut) and their video's frame count."""
        ...

    def labelled_videos(
        self, conn: Any, *, detector: Any, collection: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """The videos of :collection that hold labels, with what calibration needs (their stored
        features of :detector, frame rate), oldest first."""
        ...

    async def last_settling_event_of(self, conn: Any, *, reviewer: Any) -> Any:
        """The reviewer's latest own event that is still settling (what "undo" takes back)."""
        ...

    async def last_storage_check(self, conn: Any) -> asyncpg.Record | None:
        """The last periodic check: when, and its counts; nothing before the first."""
        ...

    async def later_event_on(self, conn: Any, *, id: Any, clip_ids: Any) -> asyncpg.Record | None:
        """The first event after :id, not undone, that touched any of :clip_ids (undo that first)."""
        ...

    async def latest_complete_version(
        self, conn: Any, *, dataset_id: Any
    ) -> asyncpg.Record | None: ...

    def list_datasets(self, conn: Any) -> AsyncIterator[asyncpg.Record]: ...

    def list_profiles(self, conn: Any) -> AsyncIterator[asyncpg.Record]:
        """Every profile, by collection, newest version first."""
        ...

    def list_tags(self, conn: Any) -> AsyncIterator[asyncpg.Record]:
        """Every tag with its key (1–9 or NULL) and how many live clips carry it, by key then name."""
        ...

    def list_videos(self, conn: Any, *, limit: Any) -> AsyncIterator[asyncpg.Record]:
        """An API upload (a storage key) shows as 'upload: <the name it was sent with>'."""
        ...

    async def lock_clip(self, conn: Any, *, reviewer: Any, id: Any) -> asyncpg.Record | None:
        """A clip, locked, with held_by: the other reviewer holding it (NULL: free or :reviewer's)."""
        ...

    def lock_clips(self, conn: Any, *, reviewer: Any, ids: Any) -> AsyncIterator[asyncpg.Record]:
        """Clips of :ids, locked in id order (two batches on overlapping clips never deadlock), with
        held_by: the other reviewer holding each (NULL: free or :reviewer's)."""
        ...

    async def lock_collection_profiles(self, conn: Any, *, collection: Any) -> str:
        """Serialises profile changes of one collection (calibrate, activate) in a transaction."""
        ...

    async def lock_event(self, conn: Any, *, id: Any) -> asyncpg.Record | None:
        """An event, locked, with settling: true while v_settling_events holds it."""
        ...

    async def lock_next_clip(
        self, conn: Any, *, reviewer: Any, video_id: Any, end_frame: Any
    ) -> asyncpg.Record | None: ...

    async def lock_previous_clip(
        self, conn: Any, *, reviewer: Any, video_id: Any, start_frame: Any
    ) -> asyncpg.Record | None: ...

    def lock_rerun_clips(self, conn: Any, *, video_id: Any) -> AsyncIterator[asyncpg.Record]:
        """A video's live clips (not merged or split away), locked (review actions lock the clips
        they change, so a rerun and a reviewer never cross), with ``kept``: a rerun keeps the
        clips a reviewer decided, a review event touched (an edit made it, a decision of it is
        settling) or someone holds now; it replaces the others."""
        ...

    async def lock_settled_event(self, conn: Any, *, id: Any) -> asyncpg.Record | None:
        """A settled, not undone, not yet labelled review event, locked (None: nothing to do)."""
        ...

    async def mark_event_labelled(self, conn: Any, *, id: Any) -> str: ...

    async def mark_event_undone(self, conn: Any, *, id: Any) -> str: ...

    def named_storage_keys(self, conn: Any) -> AsyncIterator[asyncpg.Record]:
        """Every storage key a row names: the item kind and id, the column, the key. The lifecycle
        tables' object columns, an upload waiting for its download (once downloaded, the upload
        is deleted: its source_key names nothing), and clip artifacts (sprites, keyframes)."""
        ...

    def nearest_clips(
        self, conn: Any, *, vec: Any, model_name: Any, strategy: Any, k: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Nearest clips by cosine distance to :vec, through the HNSW index (vector_cosine_ops)."""
        ...

    async def open_version(self, conn: Any, *, dataset_id: Any) -> asyncpg.Record | None:
        """The version being written (or left by a crash, or failed), if any."""
        ...

    async def own_claimed_clip(
        self, conn: Any, *, reviewer: Any, include_transitions: Any, video_id: Any
    ) -> asyncpg.Record | None:
        """The clip :reviewer holds (a reviewer holds one at a time: claim drops the others), if it is
        pending review and matches the queue's filters; it comes first in the queue."""
        ...

    def page_video_ids(
        self, conn: Any, *, state: Any, limit: Any, offset: Any
    ) -> AsyncIterator[asyncpg.Record]: ...

    async def pause_queue(self, conn: Any, *, queue: Any, paused_by: Any) -> str: ...

    def paused_queues(self, conn: Any) -> AsyncIterator[asyncpg.Record]: ...

    async def plan_segments(self, conn: Any, parameters: Sequence[Mapping[str, Any]], /) -> None:
        """One row per planned segment. A re-plan (an operator's retry of a failed video) keeps a
        segment already encoded when its plan is unchanged; every other one starts again pending
        with a fresh attempt budget.
        Each mapping has the keys: video_id, index, first_frame, frame_count, start_pts, end_pts, tb_num, tb_den, origin_pts."""
        ...

    async def prune_login_attempts(self, conn: Any, *, window_seconds: Any) -> str:
        """Forget the windows that have ended (rows another attempt holds are left for the next one)."""
        ...

    def queues(self, conn: Any) -> AsyncIterator[asyncpg.Record]: ...

    async def record_file(self, conn: Any, *, file: Any, id: Any) -> asyncpg.Record | None:
        """A file of the version is stored under its final name: keep its name, sha256 and size."""
        ...

    async def record_stage_run(
        self,
        conn: Any,
        *,
        stage: Any,
        item_kind: Any,
        item_id: Any,
        attempt: Any,
        outcome: Any,
        error: Any,
        worker: Any,
        started_at: Any,
        duration_ms: Any,
    ) -> str: ...

    async def record_storage_check(
        self,
        conn: Any,
        *,
        objects: Any,
        orphans: Any,
        orphan_bytes: Any,
        deleted: Any,
        missing: Any,
        seconds: Any,
    ) -> asyncpg.Record | None:
        """One periodic check's counts (checks older than 30 days are dropped)."""
        ...

    async def record_worker(
        self, conn: Any, *, worker_id: Any, host: Any, pid: Any, concurrency: Any, queues: Any
    ) -> str:
        """A worker process's facts beside procrastinate's row of it (workers/app.py, at registration)."""
        ...

    async def release_claim(self, conn: Any, *, reviewer: Any, id: Any) -> Any:
        """Drop :reviewer's claim on a clip, and their reservation of the next (the page closed)."""
        ...

    async def remove_user(self, conn: Any, *, name: Any) -> Any:
        """Delete the user :name (its sessions end with it); returns its id, no row when none."""
        ...

    async def reserve_next(self, conn: Any, *, reviewer: Any, after_id: Any, seconds: Any) -> Any:
        """Reserve for :reviewer the clip their page shows when they decide clip :after_id: the next
        pending shot after it in video order (later videos too) that nobody else holds or has
        reserved; their previous reservation and expired ones go.
        Returns the clip id, or NULL when none is left. The insert waits for the delete (it reads
        its count), so the reviewer's old row never blocks the new one."""
        ...

    async def restore_clip(
        self,
        conn: Any,
        *,
        state: Any,
        reviewed_at: Any,
        reviewed_by: Any,
        grouped_with: Any,
        id: Any,
    ) -> str:
        """Undo: a clip back to the snapshot an event logged (live again: superseded_by NULL)."""
        ...

    async def resume_queue(self, conn: Any, *, queue: Any) -> Any: ...

    async def retry_clip(self, conn: Any, *, id: Any) -> asyncpg.Record | None:
        """An operator's retry: a failed clip becomes due now, with a fresh attempt budget (a clip
        whose sprite failed is made due again too)."""
        ...

    def retry_failed_clips(self, conn: Any) -> AsyncIterator[asyncpg.Record]:
        """An operator's bulk retry: every failed clip (v_failures) becomes due now, with a fresh
        attempt budget."""
        ...

    async def retry_video(self, conn: Any, *, id: Any) -> asyncpg.Record | None:
        """An operator's retry: a failed video becomes due now, with a fresh attempt budget."""
        ...

    def review_progress(self, conn: Any) -> AsyncIterator[asyncpg.Record]: ...

    def review_queue(
        self,
        conn: Any,
        *,
        queue_order: Any,
        include_transitions: Any,
        reviewer: Any,
        video_id: Any,
        limit: Any,
    ) -> AsyncIterator[asyncpg.Record]:
        """The next clips for :reviewer: pending_review, not held or reserved by another reviewer
        (clip_reserved_by_other(), migration 0023: another page's next clip), transition clips
        only when :include_transitions, one video when :video_id is set, in :queue_order: 'video'
        (video, start frame) or 'confidence' (the cut a clip starts on, least confident first,
        unknown last). One branch per case, each straight from its index (clips_review_queue_idx,
        clips_review_confidence_idx: no sort, stops after :limit rows); the branches not asked for
        are cut off by their one-time filter. With transitions (rare) the rows are sorted. The
        outer ORDER BY repeats the active branch's order over its :limit rows (no reliance on the
        order UNION ALL happens to keep)."""
        ...

    async def revoke_token(self, conn: Any, *, name: Any) -> Any: ...

    def run_seconds_per_minute(self, conn: Any, *, minutes: Any) -> AsyncIterator[asyncpg.Record]:
        """p50 / p95 of the stage runs' run time (seconds) per minute over the last :minutes."""
        ...

    def runs_per_minute(self, conn: Any, *, minutes: Any) -> AsyncIterator[asyncpg.Record]:
        """Stage runs that did work (no no-ops) finished per minute and stage over the last :minutes,
        with their run time percentiles in seconds."""
        ...

    def search_jobs(
        self, conn: Any, *, status: Any, tasks: Any, queue: Any, item_id: Any, limit: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Jobs, newest first, by status (NULL: any), task names (NULL: any), queue (NULL: any) and
        the item in their arguments (NULL: any); with when each was deferred, last started and
        finished (procrastinate_events)."""
        ...

    def segments_of(self, conn: Any, *, video_id: Any) -> AsyncIterator[asyncpg.Record]:
        """A video's segments in order."""
        ...

    async def session_user(self, conn: Any, *, user_id: Any, epoch: Any) -> asyncpg.Record | None:
        """The signed-in reviewer of a session cookie (web/auth.py), which names a user id and the
        session epoch it was issued under (users.session_epoch, migration 0016): the user's name
        while the row exists with that epoch, else no row (signed out, new password, revoked or
        removed)."""
        ...

    async def set_clip_decision(
        self, conn: Any, *, state: Any, reviewer: Any, grouped_with: Any, id: Any
    ) -> str: ...

    async def set_clip_note(self, conn: Any, *, note: Any, id: Any) -> str: ...

    async def set_clip_tags(self, conn: Any, *, clip_id: Any, tag_ids: Any) -> str:
        """A clip's tags become exactly :tag_ids (tags deleted meanwhile are skipped)."""
        ...

    async def set_tag_key(self, conn: Any, *, key: Any, name: Any) -> asyncpg.Record | None: ...

    async def set_version_job(self, conn: Any, *, job_id: Any, id: Any) -> str: ...

    async def set_video_collection(self, conn: Any, *, collection: Any, id: Any) -> Any:
        """Put a video in a collection (at ingest)."""
        ...

    async def settling_event_for(self, conn: Any, *, id: Any) -> asyncpg.Record | None:
        """The latest event still settling that touched the clip (its pending decision), or NULL.
        A change of its tags or note (migration 0021) is no decision."""
        ...

    async def sprite_source(self, conn: Any, *, kind: Any, clip_id: Any) -> asyncpg.Record | None:
        """What the sprite stage needs for one clip: the clip, its video's proxy key, the video's
        frame index up to the clip's end (pts[k + 1] = PTS seconds of frame k: absolute indexing)
        and whether the clip already has a sprite. (The slice is spaced so aiosql does not read
        ":c" as a parameter.)"""
        ...

    def stage_run_totals(self, conn: Any) -> AsyncIterator[asyncpg.Record]:
        """Counters for /metrics: runs and seconds per stage and outcome since the beginning."""
        ...

    def stage_throughput(self, conn: Any, *, hours: Any) -> AsyncIterator[asyncpg.Record]: ...

    async def storage_check_due(self, conn: Any, *, every: Any) -> Any:
        """Whether the periodic storage check is due: no check recorded in the last :every seconds."""
        ...

    async def stored_scene_scores(
        self, conn: Any, *, id: Any, detector: Any
    ) -> asyncpg.Record | None:
        """The features :detector stored for a video (None when that detector stored none)."""
        ...

    async def supersede_clip(self, conn: Any, *, state: Any, new_ids: Any, id: Any) -> str: ...

    async def tag_by_key(self, conn: Any, *, key: Any) -> asyncpg.Record | None: ...

    def tag_keys(self, conn: Any) -> AsyncIterator[asyncpg.Record]:
        """Every tag's name and key, keyed ones first (the review page's tag row; no counts)."""
        ...

    async def take_claim(
        self, conn: Any, *, reviewer: Any, claim_seconds: Any, id: Any, spare_reserved: Any
    ) -> asyncpg.Record | None:
        """Take or renew :reviewer's lease on a clip nobody else holds (a live clip, not superseded),
        in one statement with what a take implies: the reviewer's other claims are dropped (one
        clip at a time) and so is another reviewer's reservation of this clip (a claim wins over
        a reservation). With :spare_reserved a clip another reviewer has reserved is not taken
        (the page's guess of its next clip must not take another page's)."""
        ...

    def take_login_attempts(
        self, conn: Any, *, keys: Any, window_seconds: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """Count one sign-in attempt against each of :keys in one statement, before the password is
        checked. A key's window starts at its first attempt and lasts :window_seconds; the first
        attempt after it starts a new window. Rows are written in key order (no deadlock between
        two attempts on the same keys). Returns, per key, the attempts in its window with this one,
        when the window started, and the whole seconds until it ends (the Retry-After)."""
        ...

    def timeline_clips(self, conn: Any, *, video_id: Any) -> AsyncIterator[asyncpg.Record]:
        """The live clips of a video in frame order: state, transition, the confidence of the cut the
        clip starts on, who holds it (a live lease), its sprite sheet, and its latest event still
        settling (v_settling_events) with when it settles."""
        ...

    async def timeline_next_candidate(
        self, conn: Any, *, video_id: Any, start_frame: Any, reviewer: Any
    ) -> asyncpg.Record | None:
        """The clip a reviewer most likely reviews after (:video_id, :start_frame): the next pending
        shot of the same video that no other reviewer holds or has reserved. The page prefetches
        it and shows it the moment a decision is made; the server then claims it (or the queue's
        head)."""
        ...

    def timeline_settling_events(
        self, conn: Any, *, reviewer: Any, limit: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """A reviewer's own events still inside their settle window, newest first (the page's
        countdowns; undo takes them back, newest first)."""
        ...

    async def timeline_video(self, conn: Any, *, video_id: Any) -> asyncpg.Record | None: ...

    async def update_dataset(
        self, conn: Any, *, selection: Any, settings: Any, id: Any
    ) -> asyncpg.Record | None: ...

    async def upsert_artifact(
        self,
        conn: Any,
        *,
        clip_id: Any,
        kind: Any,
        strategy: Any,
        tag: Any,
        storage_key: Any,
        metadata: Any,
    ) -> str: ...

    async def upsert_clip_artifact(
        self,
        conn: Any,
        *,
        kind: Any,
        strategy: Any,
        tag: Any,
        storage_key: Any,
        metadata: Any,
        clip_id: Any,
    ) -> asyncpg.Record | None:
        """Record an artifact stored under :storage_key (a redo replaces it: same key, one row).
        Returns nothing when the clip no longer exists (deleted meanwhile: the caller deletes the
        object). The stage's success (attempts and last_error cleared) is heaters.db.lifecycle's
        finish, in the same transaction."""
        ...

    async def upsert_embedding(
        self, conn: Any, *, clip_id: Any, model_name: Any, strategy: Any, embedding: Any
    ) -> str: ...

    async def upsert_frame_index(
        self, conn: Any, *, id: Any, pts_seconds: Any, byte_offsets: Any
    ) -> str: ...

    async def upsert_scene_scores(
        self, conn: Any, *, id: Any, detector: Any, params: Any, feature_count: Any, scores: Any
    ) -> str:
        """A detector's per-frame features (frame_count × feature_count, flattened row-major), one row
        per (video, detector): features of another detector are never overwritten nor reused."""
        ...

    async def use_token(self, conn: Any, *, token_hash: Any) -> Any: ...

    def video_clip_list(self, conn: Any, *, video_id: Any) -> AsyncIterator[asyncpg.Record]: ...

    def video_clips(self, conn: Any, *, ids: Any) -> AsyncIterator[asyncpg.Record]: ...

    async def video_collection(self, conn: Any, *, id: Any) -> Any: ...

    def video_counts(self, conn: Any) -> AsyncIterator[asyncpg.Record]: ...

    def video_labels(self, conn: Any, *, ids: Any) -> AsyncIterator[asyncpg.Record]:
        """Every label of the videos :ids, oldest event first (a later event wins where they
        disagree: heaters.media.calibrate.fold_labels)."""
        ...

    async def video_state(self, conn: Any, *, id: Any) -> Any: ...

    def video_states(self, conn: Any, *, ids: Any) -> AsyncIterator[asyncpg.Record]: ...

    def video_suggestions(self, conn: Any, *, ids: Any) -> AsyncIterator[asyncpg.Record]:
        """Every suggestion of the videos :ids, by video and frame."""
        ...

    def wait_seconds_per_minute(
        self, conn: Any, *, minutes: Any, tasks: Any
    ) -> AsyncIterator[asyncpg.Record]:
        """p50 / p95 of the stage jobs' (:tasks) wait per minute over the last :minutes: from the job
        being due (deferred, retried, or its scheduled time) to a worker starting it, in seconds."""
        ...

    async def withdraw_waiting_jobs(self, conn: Any, *, queue: Any, tasks: Any) -> Any:
        """The stage jobs (:tasks) waiting in :queue, deleted: their items stay in their ready
        states, and the dispatcher defers them again once the queue is resumed."""
        ...

    def worker_list(self, conn: Any) -> AsyncIterator[asyncpg.Record]:
        """procrastinate's workers (one row per running ``heaters worker`` process, deleted when it
        stops cleanly or is pruned as stalled) with their host, pid, concurrency and queues (NULL
        for a worker that did not record them), the age of their last heartbeat in seconds, and
        the jobs each is running."""
        ...
