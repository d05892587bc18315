"""Tags, notes and batch actions on a real Postgres (issue 21): tag toggles and notes are
review events that undo restores; a batch is one event that one undo takes back; a video's
archive goes through the review service (issue 24); the cut lists carry tags and notes."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from heaters import review
from heaters.deliver.cut_source import load_cut_list
from heaters.deliver.cutlists import CSV_ANNOTATIONS, CSV_HEADER, to_csv, to_edl, to_otio
from heaters.review import InvalidEdit, ReviewConflict, TagNotFound
from tests.review.test_review import LONG, _make_video, _states


async def _tags(db: Any, clip_id: int) -> list[str]:
    return await review.clip_tags(db, clip_id)


async def test_tags_toggle_notes_and_undo(db: Any) -> None:
    _, ids = await _make_video(db, [40, 80])
    night = await review.add_tag(db, "night", key=1)
    assert (night.name, night.key) == ("night", 1)
    await review.add_tag(db, "rain")
    with pytest.raises(ReviewConflict, match="exists already"):
        await review.add_tag(db, "night")
    with pytest.raises(ReviewConflict, match="key 1 is tag night's"):
        await review.add_tag(db, "day", key=1)
    with pytest.raises(InvalidEdit, match="bad tag name"):
        await review.add_tag(db, "Night Time")
    listed = [(t.name, t.key) for t in await review.list_tags(db)]
    assert listed == [("night", 1), ("rain", None)]

    # Key 1 toggles night on, then the name puts rain on; the clip keeps its state.
    on = await review.tag_clip(db, ids[0], "ann", key=1, settle_seconds=LONG)
    assert on.action == "tag" and on.message == f"tag night put on clip {ids[0]}"
    await review.tag_clip(db, ids[0], "ann", name="rain", settle_seconds=LONG)
    assert await _tags(db, ids[0]) == ["night", "rain"]
    with pytest.raises(ReviewConflict, match="tagged night already"):
        await review.tag_clip(db, ids[0], "ann", name="night", on=True)
    assert (await review.get_clip(db, ids[0])).pending is None, "a tag is no decision"
    note = await review.set_note(db, ids[0], "  rain on the lens ", "ann", settle_seconds=LONG)
    view = await review.get_clip(db, ids[0])
    assert (view.note, view.tags, view.state) == ("rain on the lens", ("night", "rain"),
                                                 "pending_review")  # fmt: skip
    with pytest.raises(ReviewConflict, match="is that already"):
        await review.set_note(db, ids[0], "rain on the lens", "ann")
    with pytest.raises(InvalidEdit, match="at most"):
        await review.set_note(db, ids[0], "x" * (review.NOTE_MAX + 1), "ann")

    # Approve, then undo three times: the approval, the note, the rain tag.
    await review.decide(db, ids[0], "approve", "ann", settle_seconds=LONG)
    assert (await review.undo(db, "ann")).action == "undo"
    assert await _states(db, [ids[0]]) == ["pending_review"]
    undone = await review.undo(db, "ann")
    assert undone.event_id == note.event_id and (await review.get_clip(db, ids[0])).note is None
    await review.undo(db, "ann")
    assert await _tags(db, ids[0]) == ["night"]

    # A tag toggled off and undone comes back; another reviewer's claim refuses a tag.
    await review.tag_clip(db, ids[0], "ann", key=1, settle_seconds=LONG)
    assert await _tags(db, ids[0]) == []
    await review.undo(db, "ann")
    assert await _tags(db, ids[0]) == ["night"]
    assert (await review.claim(db, ids[1], "bob")).own
    with pytest.raises(ReviewConflict, match="held by bob"):
        await review.tag_clip(db, ids[1], "ann", key=1)
    with pytest.raises(TagNotFound):
        await review.tag_clip(db, ids[1], "bob", key=7)

    # Removing a tag takes it off every clip.
    assert (await review.remove_tag(db, "night")).key == 1
    assert await _tags(db, ids[0]) == []
    with pytest.raises(TagNotFound):
        await review.remove_tag(db, "night")


async def test_batch_approve_of_ten_clips_is_one_undo(db: Any) -> None:
    _, ids = await _make_video(db, [20 * i for i in range(1, 12)])  # 12 clips
    await review.decide(db, ids[0], "skip", "ann", settle_seconds=LONG)
    assert (await review.claim(db, ids[11], "bob")).own
    batch = await review.decide_many(db, ids, "approve", "ann", settle_seconds=LONG)
    assert batch.clip_ids == tuple(ids[:11]), "the skipped clip changed, bob's clip left out"
    assert "1 left out" in batch.message and f"clip {ids[11]} is held by bob" in batch.message
    assert await _states(db, ids) == ["review_approved"] * 11 + ["pending_review"]
    undone = await review.undo(db, "ann")
    assert undone.event_id == batch.event_id and undone.clip_ids == tuple(ids[:11])
    assert await _states(db, ids) == ["review_skipped"] + ["pending_review"] * 11

    # A batch tag toggles on for all, then off for all (each one undo); reopen of a clip
    # decided by a batch undoes the whole batch.
    await review.add_tag(db, "keep", key=2)
    await review.decide_many(db, ids[1:4], "tag", "ann", key=2, settle_seconds=LONG)
    assert [await _tags(db, i) for i in ids[1:4]] == [["keep"]] * 3
    off = await review.decide_many(db, ids[1:4], "tag", "ann", tag="keep", settle_seconds=LONG)
    assert off.message.startswith("tag keep taken off")
    assert [await _tags(db, i) for i in ids[1:4]] == [[]] * 3
    await review.undo(db, "ann")
    assert [await _tags(db, i) for i in ids[1:4]] == [["keep"]] * 3
    archived = await review.decide_many(db, ids[4:7], "archive", "ann", settle_seconds=LONG)
    await review.reopen(db, ids[5], "ann")
    assert await _states(db, ids[4:7]) == ["pending_review"] * 3, archived.clip_ids
    with pytest.raises(ReviewConflict, match="is held by bob"):
        await review.decide_many(db, [ids[11]], "skip", "ann")
    with pytest.raises(InvalidEdit, match="unknown batch action"):
        await review.decide_many(db, ids, "group", "ann")


async def test_archiving_a_video_is_one_undoable_review_event(db: Any) -> None:
    vid, ids = await _make_video(db, [40, 80, 120])
    await review.decide(db, ids[0], "approve", "ann", settle_seconds=0)
    assert (await review.claim(db, ids[1], "bob")).own
    done = await review.archive_video(db, vid, "ops", settle_seconds=LONG)
    assert done is not None and done.clip_ids == tuple(ids), "an operator takes held clips too"
    assert await _states(db, ids) == ["review_archived"] * 4
    async with db.acquire() as conn:
        ev = await conn.fetchrow("SELECT action, reviewer FROM review_events WHERE id=$1",
                                 done.event_id)  # fmt: skip
    assert (ev["action"], ev["reviewer"]) == ("archive", "ops")
    await review.undo(db, "ops", event_id=done.event_id)
    assert await _states(db, ids) == ["review_approved"] + ["pending_review"] * 3
    await review.archive_video(db, vid, "ops", settle_seconds=LONG)
    assert await review.archive_video(db, vid, "ops") is None, "nothing left to archive"


async def test_cut_lists_carry_tags_and_notes(db: Any) -> None:
    vid, ids = await _make_video(db, [48, 96], n=144)
    await review.add_tag(db, "night", key=1)
    await review.add_tag(db, "wide")
    await review.decide_many(db, ids[:2], "tag", "ann", tag="night", settle_seconds=LONG)
    await review.tag_clip(db, ids[1], "ann", name="wide", settle_seconds=LONG)
    await review.set_note(db, ids[1], "rain,\non the lens", "ann", settle_seconds=LONG)
    cl = await load_cut_list(db, vid)

    rows = list(csv.reader(io.StringIO(to_csv(cl))))
    assert rows[1] == [*CSV_HEADER, *CSV_ANNOTATIONS]
    assert [r[-2:] for r in rows[2:]] == [["night", ""], ["night;wide", "rain,\non the lens"],
                                          ["", ""]]  # fmt: skip

    otio = json.loads(to_otio(cl))
    track = otio["tracks"]["children"][0]["children"]
    clips = [c for c in track if c["OTIO_SCHEMA"].startswith("Clip")]
    meta = [c["metadata"]["heaters"] for c in clips]
    assert [(m["tags"], m["note"]) for m in meta] == [
        (["night"], None), (["night", "wide"], "rain,\non the lens"), ([], None)
    ]  # fmt: skip

    edl = to_edl(cl)
    assert "* TAGS: night, wide" in edl and "* NOTE: rain, on the lens" in edl
    events = [e.splitlines() for e in edl.split("\n00")[1:]]  # each event with its comments
    assert [[x for x in e if x.startswith("* TAGS")] for e in events] == [
        ["* TAGS: night"], ["* TAGS: night, wide"], []
    ]  # fmt: skip


async def test_edits_carry_tags_and_notes_to_the_clips_they_make(db: Any) -> None:
    _, ids = await _make_video(db, [40, 80])
    await review.add_tag(db, "night", key=1)
    await review.add_tag(db, "wide")
    await review.tag_clip(db, ids[0], "ann", name="night", settle_seconds=LONG)
    await review.set_note(db, ids[0], "rain", "ann", settle_seconds=LONG)
    await review.tag_clip(db, ids[1], "ann", name="wide", settle_seconds=LONG)
    parts = (await review.split(db, ids[0], 20, "ann", settle_seconds=LONG)).live_clip_ids
    views = [await review.get_clip(db, i) for i in parts]
    assert [(v.tags, v.note) for v in views] == [(("night",), "rain")] * 2
    merged = await review.merge(db, ids[1], "ann", settle_seconds=LONG)
    (one,) = merged.live_clip_ids
    view = await review.get_clip(db, one)
    assert (view.tags, view.note) == (("night", "wide"), "rain"), "the union, one note once"
    await review.undo(db, "ann")
    assert (await review.get_clip(db, ids[1])).tags == ("wide",)
