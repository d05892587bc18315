"""The sprite stage: the pure sprite maker on a real all-I-frame proxy (tile choice, frame
exactness, errors), and the stage on a real database and video (one artifact per clip in
review, idempotent re-runs, found by the dispatcher, failures kept on the clip)."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from heaters.errors import MediaError, StorageError
from heaters.media.preprocess import build_frame_index
from heaters.media.sprite import (
    SpriteError,
    choose_frames,
    grid_shape,
    make_sprite,
    tile_size,
)
from heaters.pipeline import artifact_stages, preprocess_stages, video_stages
from heaters.pipeline.dispatcher import dispatch
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.stages import Stage
from heaters.pipeline.submit import submit
from tests.conftest import ffmpeg, wait_until

# --- pure: tile choice and layout ----------------------------------------------------------


def test_choose_frames_spreads_tiles_evenly() -> None:
    assert choose_frames(0, 100, 25) == tuple(range(0, 100, 4))
    assert choose_frames(10, 13, 25) == (10, 11, 12), "fewer frames than tiles: every frame"
    assert choose_frames(7, 8, 25) == (7,)
    assert choose_frames(0, 10, 1) == (0,)
    for start, end, n in [(0, 192, 25), (5, 31, 25), (100, 1000, 16), (3, 29, 25), (0, 26, 25)]:
        frames = choose_frames(start, end, n)
        assert len(frames) == min(n, end - start)
        assert frames[0] == start and frames[-1] < end
        assert all(b > a for a, b in itertools.pairwise(frames))
        gaps = {b - a for a, b in itertools.pairwise(frames)}
        assert max(gaps) - min(gaps) <= 1, "tiles evenly spaced"
    with pytest.raises(ValueError):
        choose_frames(5, 5, 25)
    with pytest.raises(ValueError):
        choose_frames(0, 5, 0)


def test_grid_and_tile_size() -> None:
    assert [grid_shape(n) for n in (1, 2, 3, 4, 5, 10, 25, 26)] == [
        (1, 1), (2, 1), (2, 2), (2, 2), (3, 2), (4, 3), (5, 5), (6, 5),
    ]  # fmt: skip
    assert tile_size(320, 180, 160) == 90
    assert tile_size(1920, 1080, 160) == 90
    assert tile_size(640, 480, 160) == 120
    assert tile_size(720, 576, 160) % 2 == 0


# --- media: a real all-I-frame proxy ---------------------------------------------------------


@pytest.fixture(scope="module")
def proxy(small_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An all-I-frame H.264 proxy of the 8 s test video, as preprocess makes it."""
    out = tmp_path_factory.mktemp("sprite") / "proxy.mp4"
    ffmpeg("-i", str(small_video), "-an", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "18", "-g", "1", "-bf", "0", "-pix_fmt", "yuv420p",
           "-movflags", "+faststart", str(out))  # fmt: skip
    return out


def _all_tiles(video: Path, width: int, height: int) -> list[np.ndarray]:
    """Every frame of ``video``, decoded in order and downscaled as the sprite does."""
    with av.open(str(video)) as c:
        return [
            f.reformat(width=width, height=height, format="bgr24", interpolation="AREA")
            .to_ndarray()
            .astype(np.float32)
            for f in c.decode(video=0)
        ]


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def _cut_tiles(sheet: np.ndarray, n: int, cols: int, tw: int, th: int) -> list[np.ndarray]:
    return [
        sheet[
            (i // cols) * th : (i // cols + 1) * th, (i % cols) * tw : (i % cols + 1) * tw
        ].astype(np.float32)
        for i in range(n)
    ]


def _sheet(tiles: list[np.ndarray], cols: int, rows: int) -> np.ndarray:
    th, tw = tiles[0].shape[:2]
    sheet = np.zeros((rows * th, cols * tw, 3), dtype=np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet[r * th : (r + 1) * th, c * tw : (c + 1) * tw] = t
    return sheet


def test_sprite_tiles_are_the_exact_frames(proxy: Path, tmp_path: Path) -> None:
    """Each tile is its frame, decoded after a seek, not a neighbour: the tile for frame k
    matches frame k decoded in a plain sequential decode (downscaled alike) better than any
    frame near it, and the whole sheet is the sheet built from the sequential decode."""
    index = build_frame_index(proxy)
    direct = _all_tiles(proxy, 160, 90)
    assert len(direct) == len(index.pts_seconds) == 192
    for start, end, pts in [(0, 192, index.pts_seconds), (37, 61, None), (150, 153, None)]:
        out = tmp_path / f"s{start}.jpg"
        r = make_sprite(proxy, start, end, out, pts_seconds=pts, quality=100)
        assert r.path == out and out.exists()
        assert not list(tmp_path.glob(".*.part")), "no temp file left"
        assert r.frames == choose_frames(start, end, 25)
        assert (r.cols, r.rows) == grid_shape(len(r.frames))
        assert (r.tile_width, r.tile_height) == (160, 90)
        sheet = _read(out)
        assert sheet.shape == (r.rows * 90, r.cols * 160, 3)
        tiles = _cut_tiles(sheet, len(r.frames), r.cols, 160, 90)
        for k, tile in zip(r.frames, tiles, strict=True):
            err = float(np.abs(tile - direct[k]).mean())
            assert err < 3.0, f"frame {k}: mean error {err:.2f} (JPEG only)"
            near = [j for j in range(k - 3, k + 4) if j != k and 0 <= j < len(direct)]
            for j in near:
                if float(np.abs(direct[j] - direct[k]).mean()) > 1.0:
                    assert err < float(np.abs(tile - direct[j]).mean()), (k, j)
        # Cells after the last tile are black.
        for i in range(len(r.frames), r.cols * r.rows):
            cell = sheet[(i // r.cols) * 90 : (i // r.cols + 1) * 90,
                         (i % r.cols) * 160 : (i % r.cols + 1) * 160]  # fmt: skip
            assert cell.max() < 16

    # At the default quality, the sheet is exactly the one built from the sequential decode.
    r = make_sprite(proxy, 20, 180, tmp_path / "q80.jpg")
    expected = _sheet([direct[k].astype(np.uint8) for k in r.frames], r.cols, r.rows)
    ok, jpeg = cv2.imencode(".jpg", expected, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None
    want = decoded.astype(np.int16)
    got = _read(tmp_path / "q80.jpg").astype(np.int16)
    assert np.abs(got - want).max() <= 1


def test_sprite_reasons(proxy: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.jpg"
    with pytest.raises(SpriteError, match=r"ends at frame 200 but proxy.mp4 has 192 frames"):
        make_sprite(proxy, 180, 200, out)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError, match=r"cannot read the proxy garbage.mp4"):
        make_sprite(garbage, 0, 10, out)
    with pytest.raises(MediaError, match=r"cannot read the proxy missing.mp4"):
        make_sprite(tmp_path / "missing.mp4", 0, 10, out)
    # A frame index that does not match the file: never a neighbour instead of the frame.
    shifted = [t + 0.5 / 24 for t in build_frame_index(proxy).pts_seconds]
    with pytest.raises(SpriteError, match="cannot be decoded exactly"):
        make_sprite(proxy, 10, 20, out, pts_seconds=shifted)
    assert not out.exists()


# --- the stage, on a real database -----------------------------------------------------------


class Recorder:
    """A dispatcher deferrer that records what it would defer."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, stage: Stage, item_id: int) -> bool:
        self.calls.append((stage.name, item_id))
        return True

    def of(self, stage: str) -> list[int]:
        return [i for s, i in self.calls if s == stage]


class Unreachable:
    """A storage whose reads fail as an outage does (a transient StorageError)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def local_path(self, key: str) -> None:
        return None

    async def get_file(self, key: str, local: Path) -> None:
        raise StorageError("storage is unreachable")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _detected_video(rt: Any, db: Any, video: Path) -> int:
    vid = (await submit(db, str(video))).video_id
    for fn in (
        video_stages.download_video,
        preprocess_stages.preprocess_video,
        video_stages.detect_video,
    ):
        assert await fn(rt, vid) == "done"
    return vid


async def _sprite_deferrals(db: Any) -> list[int]:
    rec = Recorder()
    await dispatch(db, rec)
    return rec.of("sprite")


async def _artifacts(db: Any) -> list[tuple[Any, ...]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, clip_id, kind, strategy, tag, storage_key, metadata, created_at "
            "FROM clip_artifacts ORDER BY clip_id"
        )
    return [tuple(r) for r in rows]


def _untagged(key: str) -> str:
    """``key`` without the claim's tag (``sprite-1a2b3c4d5e6f.jpg`` → ``sprite-<claim>.jpg``)."""
    return re.sub(r"-[0-9a-f]{12}(?=\.)", "-<claim>", key)


def _files(home: Path) -> dict[str, int]:
    return {
        str(p.relative_to(home)): p.stat().st_mtime_ns
        for p in home.rglob("*")
        if p.is_file() and "pgdata" not in p.parts
    }


async def test_sprite_stage_for_every_clip_in_review(
    db: Any, heaters_env: dict[str, str], small_video: Path
) -> None:
    home = Path(heaters_env["HEATERS_HOME"])
    storage = home / "storage"
    async with open_runtime() as rt:
        vid = await _detected_video(rt, db, small_video)
        async with db.acquire() as conn:
            clips = await conn.fetch(
                "SELECT id, start_frame, end_frame FROM clips WHERE source_video_id = $1 "
                "ORDER BY start_frame",
                vid,
            )
        ids = [c["id"] for c in clips]
        assert len(ids) >= 2

        # The dispatcher finds every clip in review without a sprite.
        assert await _sprite_deferrals(db) == ids

        timings = []
        for cid in ids:
            t = time.perf_counter()
            assert await artifact_stages.make_clip_sprite(rt, cid) == "done"
            timings.append(time.perf_counter() - t)
        print(f"sprite per clip: {[round(s, 3) for s in timings]} s")

        arts = await _artifacts(db)
        assert [a[1] for a in arts] == ids, "one artifact per clip"
        for clip, art in zip(clips, arts, strict=True):
            _, cid, kind, strategy, tag, key, meta, _ = art
            assert (kind, strategy, tag) == ("sprite", "grid", "")
            assert re.fullmatch(rf"clips/{cid}/sprite-[0-9a-f]{{12}}\.jpg", key), key
            assert set(meta) == {"cols", "rows", "tile_width", "tile_height", "frames"}
            image = _read(storage / key)
            assert image.shape == (
                meta["rows"] * meta["tile_height"],
                meta["cols"] * meta["tile_width"],
                3,
            )
            frames = meta["frames"]
            assert frames == list(choose_frames(clip["start_frame"], clip["end_frame"], 25))
            assert all(clip["start_frame"] <= f < clip["end_frame"] for f in frames)
            assert len(frames) <= meta["cols"] * meta["rows"]

        # Nothing left to find; a re-run adds nothing and rewrites nothing.
        assert await _sprite_deferrals(db) == []
        files = _files(home)
        for cid in ids:
            assert await artifact_stages.make_clip_sprite(rt, cid) == "noop"
        assert await _artifacts(db) == arts
        assert _files(home) == files
        async with db.acquire() as conn:
            states = await conn.fetch("SELECT DISTINCT state, last_error FROM clips")
        assert [tuple(s) for s in states] == [("pending_review", None)], "state unchanged"

        # A redo after a crash between storage write and commit: same row, its own claim's
        # key, and the crashed claim's object gone (no stray).
        async with db.acquire() as conn:
            await conn.execute("DELETE FROM clip_artifacts WHERE clip_id = $1", ids[0])
        assert await artifact_stages.make_clip_sprite(rt, ids[0]) == "done"
        redone = await _artifacts(db)
        assert len(redone) == len(ids)
        assert {_untagged(f) for f in _files(home)} == {_untagged(f) for f in files}
        assert len(_files(home)) == len(files)
        assert {f"storage/{a[5]}" for a in redone} <= set(_files(home))

        # A split: the old clip leaves review, the two new clips get sprites, found alike.
        old = clips[-1]
        mid = (old["start_frame"] + old["end_frame"]) // 2
        async with db.acquire() as conn:
            await conn.execute("UPDATE clips SET state = 'split' WHERE id = $1", old["id"])
            new_ids = [
                await conn.fetchval(
                    "INSERT INTO clips (source_video_id, clip_identifier, start_frame, end_frame,"
                    " start_seconds, end_seconds) VALUES ($1, $2, $3, $4, $3::int / 24.0, $4::int / 24.0)"
                    " RETURNING id",
                    vid, f"{vid}_{a}_{b}", a, b,
                )
                for a, b in [(old["start_frame"], mid), (mid, old["end_frame"])]
            ]  # fmt: skip
        assert await _sprite_deferrals(db) == new_ids
        assert await artifact_stages.make_clip_sprite(rt, old["id"]) == "noop", (
            "no longer in review"
        )
        for cid in new_ids:
            assert await artifact_stages.make_clip_sprite(rt, cid) == "done"
        assert await _sprite_deferrals(db) == []
        assert len(await _artifacts(db)) == len(ids) + 2


async def test_sprite_failures_are_kept_on_the_clip(
    db: Any, heaters_env: dict[str, str], small_video: Path
) -> None:
    home = Path(heaters_env["HEATERS_HOME"])
    async with open_runtime() as rt:
        vid = await _detected_video(rt, db, small_video)
        async with db.acquire() as conn:
            ids = [r["id"] for r in await conn.fetch("SELECT id FROM clips ORDER BY id")]
            proxy_key = await conn.fetchval(
                "SELECT proxy_path FROM source_videos WHERE id = $1", vid
            )
        proxy = home / "storage" / proxy_key

        async def clip() -> Any:
            async with db.acquire() as conn:
                return await conn.fetchrow(
                    "SELECT state, last_error, attempts, next_attempt_at FROM clips WHERE id = $1",
                    ids[0],
                )

        # Storage outage (transient): retried after the backoff, up to max_attempts.
        real_storage = rt.storage
        rt.storage = Unreachable(real_storage)
        assert await artifact_stages.make_clip_sprite(rt, ids[0]) == "failed"
        c = await clip()
        assert c["state"] == "pending_review" and c["attempts"] == 1
        assert c["last_error"] == "sprite: storage is unreachable"
        assert c["next_attempt_at"] is not None
        assert ids[0] not in await _sprite_deferrals(db), "waits for its backoff (0.5 s)"

        async def due() -> bool:
            return ids[0] in await _sprite_deferrals(db)

        await wait_until(due, f"clip {ids[0]} due again after its backoff")
        for _ in range(rt.settings.max_attempts - 1):
            assert await artifact_stages.make_clip_sprite(rt, ids[0]) == "failed"
        c = await clip()
        assert c["attempts"] == rt.settings.max_attempts and c["next_attempt_at"] is None
        assert ids[0] not in await _sprite_deferrals(db), "attempts used up: never due again"
        rt.storage = real_storage

        # An operator clears the error; with storage back, the sprite is made and the
        # failure forgotten.
        async with db.acquire() as conn:
            await conn.execute("UPDATE clips SET last_error = NULL WHERE id = $1", ids[0])
        assert ids[0] in await _sprite_deferrals(db)
        assert await artifact_stages.make_clip_sprite(rt, ids[0]) == "done"
        c = await clip()
        assert (c["last_error"], c["attempts"], c["next_attempt_at"]) == (None, 0, None)

        # A corrupt or missing proxy is a permanent failure: not retried by itself.
        proxy.write_bytes(b"\x00" * 1000)
        assert await artifact_stages.make_clip_sprite(rt, ids[1]) == "failed"
        proxy.unlink()
        assert await artifact_stages.make_clip_sprite(rt, ids[2]) == "failed"
        async with db.acquire() as conn:
            rows = await conn.fetch(
                "SELECT last_error, attempts, next_attempt_at FROM clips WHERE id = ANY($1) "
                "ORDER BY id",
                ids[1:3],
            )
        assert rows[0]["last_error"].startswith(f"sprite: cannot read the proxy {proxy.name}")
        assert rows[1]["last_error"] == f"sprite: object not found in storage: {proxy_key}"
        assert all(r["attempts"] == 1 and r["next_attempt_at"] is None for r in rows)
        found = await _sprite_deferrals(db)
        assert ids[1] not in found and ids[2] not in found
