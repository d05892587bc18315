"""Collections and detector profiles (issue 22): calibrate, list, activate, rerun.

A video belongs to one **collection** (``source_videos.collection``, ``'default'`` unless
``heaters ingest --collection NAME`` or the API's ``collection`` field says otherwise). A
collection may have an active **detector profile** (``detector_profiles``): detector
parameters fitted to its reviewers' labels (``boundary_labels``, written by the
label_reviews stage, :mod:`heaters.pipeline.labels`). The detect stage applies the active
profile to the collection's new videos (:func:`params_for_video`).

- :func:`calibrate_collection` fits the decision layer's thresholds on the stored features
  and labels of the collection's labelled videos (:func:`heaters.media.calibrate.calibrate`,
  cross-validated by video) from the active profile (or the defaults), stores the result as
  the next version, and activates it only when its held-out F1 beats the active one's
  (measured on the same held-out videos); otherwise it is kept, inactive, and reported.
- :func:`activate` rolls back or forward to any stored version.
- :func:`calibrate_stage` runs calibration by itself, as the ``calibrate`` stage, once
  ``HEATERS_CALIBRATE_EVERY`` labels settled in a collection since its last profile.
- :func:`rerun_collection` re-applies the active profile to the collection's detected
  videos from their stored features: the clips a reviewer decided, an edit made, a
  settling decision touched, or someone holds keep their boundaries; the others are
  replaced, for every video in one transaction.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from heaters.db import Database, fetch_all
from heaters.errors import HeatersError

if TYPE_CHECKING:
    from heaters.db.pool import Connection
    from heaters.media.calibrate import Calibration, LabelledVideo
    from heaters.media.scenes import DetectorParams
    from heaters.pipeline.runtime import Runtime
    from heaters.storage import Storage

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ProfileError(HeatersError):
    """A calibration, activation or rerun that cannot be done (says why)."""


def check_collection(name: str) -> str:
    """``name`` when it is a valid collection name (1–100 characters: letters, digits,
    ``.``, ``_``, ``-``, starting with a letter or digit). Raises ProfileError otherwise."""
    if not _NAME.match(name):
        raise ProfileError(
            f"invalid collection name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


async def put_in_collection(db: Database, video_id: int, collection: str) -> None:
    """Put video ``video_id`` in ``collection`` (checked with :func:`check_collection`)."""
    async with db.acquire() as conn:
        await db.q.set_video_collection(conn, id=video_id, collection=check_collection(collection))


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    """A stored detector profile: ``version`` of ``collection``'s profiles, for ``detector``
    (``heaters-fast/3``…), its ``params`` (every ``DetectorParams`` field), the videos it was
    fitted on, its ``figures`` (:meth:`heaters.media.calibrate.Calibration.figures`, plus
    ``activated`` and ``reason``), whether it is ``active``."""

    id: int
    collection: str
    version: int
    detector: str
    params: dict[str, Any]
    training_video_ids: tuple[int, ...]
    figures: dict[str, Any]
    active: bool
    created_at: Any

    @classmethod
    def of(cls, row: Any) -> Profile:
        """From a ``detector_profiles`` row."""
        return cls(
            row["id"], row["collection"], row["version"], row["detector"],
            dict(row["params"] or {}), tuple(row["training_video_ids"] or ()),
            dict(row["figures"] or {}), row["active"], row["created_at"],
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``created_at`` as ISO 8601)."""
        out = dataclasses.asdict(self)
        out["training_video_ids"] = list(self.training_video_ids)
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        return out

    @property
    def f1(self) -> float | None:
        """The held-out F1 after calibration (None when not recorded)."""
        after = self.figures.get("after") or {}
        return after.get("f1")


async def list_profiles(db: Database) -> list[Profile]:
    """Every profile, by collection, newest version first."""
    async with db.acquire() as conn:
        return [Profile.of(r) for r in await fetch_all(db.q.list_profiles(conn))]


async def active_profile(db: Database, conn: Connection, collection: str) -> Profile | None:
    """``collection``'s active profile, or None."""
    row = await db.q.active_profile(conn, collection=collection)
    return Profile.of(row) if row is not None else None


def profile_params(profile: Profile | None) -> DetectorParams | None:
    """The detector parameters of ``profile``; None when there is none or it was fitted for
    another detector than the current one (its thresholds would not mean the same)."""
    from heaters.media import scenes
    from heaters.media.calibrate import params_from_dict

    if profile is None:
        return None
    if profile.detector != scenes.DETECTOR_NAME:
        log.warning(
            "profile %s v%s was fitted for %s, not %s: using the detector's defaults",
            profile.collection, profile.version, profile.detector, scenes.DETECTOR_NAME,
        )  # fmt: skip
        return None
    return params_from_dict(profile.params)


async def params_for_video(db: Database, conn: Connection, video_id: int) -> DetectorParams | None:
    """The parameters of the active profile of video ``video_id``'s collection (None: the
    detector's defaults)."""
    collection = await db.q.video_collection(conn, id=video_id)
    if collection is None:
        return None
    return profile_params(await active_profile(db, conn, collection))


async def activate(db: Database, collection: str, version: int) -> Profile:
    """Make ``version`` the active profile of ``collection`` (the others inactive), in one
    transaction. Raises ProfileError when there is no such version."""
    async with db.transaction() as conn:
        await db.q.lock_collection_profiles(conn, collection=collection)
        await db.q.deactivate_profiles(conn, collection=collection)
        row = await db.q.activate_profile(conn, collection=collection, version=version)
        if row is None:
            raise ProfileError(f"collection {collection!r} has no profile version {version}")
        got = await active_profile(db, conn, collection)
    assert got is not None
    log.info("collection %s: profile version %s is active", collection, version)
    return got


# --------------------------------------------------------------------------- calibrate


def _features(row: Any, frames: int | None = None) -> np.ndarray | None:
    """A row's stored features (``feature_count``, ``scores``) as float32 (N, F), or None."""
    if row["scores"] is None or not row["feature_count"]:
        return None
    f = np.asarray(row["scores"], dtype=np.float32)
    if f.size % row["feature_count"]:
        return None
    f = f.reshape(-1, row["feature_count"])
    if frames is not None and f.shape[0] != frames:
        return None
    return f


def _fps(row: Any) -> Fraction:
    return Fraction(row["fps_num"], row["fps_den"]) if row["fps_num"] else Fraction(25)


async def labelled_videos(db: Database, collection: str) -> list[LabelledVideo]:
    """The collection's videos that hold labels and stored features, with their folded labels
    (:func:`heaters.media.calibrate.fold_labels`); keyed by video id. Videos without stored
    features (detected before features were kept) are left out, with a warning."""
    from heaters.media import scenes
    from heaters.media.calibrate import LabelledVideo, fold_labels

    async with db.acquire() as conn:
        rows = await fetch_all(
            db.q.labelled_videos(conn, collection=collection, detector=scenes.DETECTOR_NAME)
        )
        labels = await fetch_all(db.q.video_labels(conn, ids=[r["id"] for r in rows]))
    by_video: dict[int, list[tuple[int, int, str]]] = {}
    for r in labels:
        by_video.setdefault(r["source_video_id"], []).append(
            (r["start_frame"], r["end_frame"], r["label"])
        )
    out = []
    for r in rows:
        f = _features(r)
        if f is None:
            log.warning("video %s has labels but no stored features: left out", r["id"])
            continue
        cuts, not_cut, gradual = fold_labels(by_video.get(r["id"], []), f.shape[0])
        out.append(LabelledVideo(r["id"], f, _fps(r), cuts, not_cut, gradual))
    return out


@dataclass(frozen=True)
class CalibrationReport:
    """What :func:`calibrate_collection` did: the stored ``profile`` (its figures hold the
    before / after counts), whether it was ``activated`` and why (``reason``), and the
    profile that was active before (``previous``, None: the defaults)."""

    profile: Profile
    activated: bool
    reason: str
    previous: Profile | None
    calibration: Calibration = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the profile, ``activated``, ``reason``, ``previous`` version."""
        return {
            "collection": self.profile.collection,
            "version": self.profile.version,
            "activated": self.activated,
            "reason": self.reason,
            "previous_version": self.previous.version if self.previous else None,
            "videos": list(self.profile.training_video_ids),
            "params_changed": self.profile.figures.get("changed", {}),
            "before": self.profile.figures.get("before"),
            "after": self.profile.figures.get("after"),
            "defaults": self.profile.figures.get("defaults"),
            "cross_validated": self.profile.figures.get("cross_validated"),
            "units": self.profile.figures.get("units"),
        }


async def calibrate_collection(
    db: Database, collection: str, *, folds: int = 5, tol: int = 1
) -> CalibrationReport:
    """Fit, store and maybe activate a new profile of ``collection`` (module docstring).

    The search starts from the active profile's parameters (the defaults when none), and
    "before" is that profile on the same held-out videos, so a new version is activated only
    when it beats the one in use there. Activation also needs a cross-validated result
    (two or more labelled units). Raises ProfileError when the collection has no labelled
    video with stored features.
    """
    from heaters.media import calibrate, scenes

    videos = await labelled_videos(db, collection)
    if not videos or not any(v.labelled for v in videos):
        raise ProfileError(
            f"collection {collection!r} has no reviewed video with settled boundary labels "
            "and stored features: review some clips (split, merge, move cuts, approve) and "
            "let the decisions settle first"
        )
    async with db.acquire() as conn:
        previous = await active_profile(db, conn, collection)
    base = profile_params(previous)
    cal = await _in_thread(calibrate.calibrate, videos, base, folds=folds, tol=tol)
    if not cal.cross_validated:
        activate_it, reason = False, "not cross-validated (one labelled piece only): kept"
    elif cal.improves:
        activate_it = True
        reason = f"held-out F1 {cal.after.f1:.4f} beats {cal.before.f1:.4f} of " + (
            f"version {previous.version}" if previous else "the defaults"
        )
    else:
        activate_it = False
        reason = (
            f"held-out F1 {cal.after.f1:.4f} does not beat {cal.before.f1:.4f} of "
            + (f"version {previous.version}" if previous else "the defaults")
            + ": kept, not activated"
        )
    figures = cal.figures() | {"activated": activate_it, "reason": reason}
    async with db.transaction() as conn:
        await db.q.lock_collection_profiles(conn, collection=collection)
        row = await db.q.insert_profile(
            conn, collection=collection, detector=scenes.DETECTOR_NAME,
            params=dataclasses.asdict(cal.params),
            training_video_ids=[int(v) for v in cal.videos], figures=figures,
        )  # fmt: skip
        if activate_it:
            await db.q.deactivate_profiles(conn, collection=collection)
            await db.q.activate_profile(conn, collection=collection, version=row["version"])
        stored = await db.q.active_profile(conn, collection=collection)
        rows = await fetch_all(db.q.list_profiles(conn))
    profile = next(Profile.of(r) for r in rows if r["id"] == row["id"])
    assert not activate_it or (stored is not None and stored["id"] == row["id"])
    log.info("collection %s: profile version %s: %s", collection, profile.version, reason)
    return CalibrationReport(profile, activate_it, reason, previous, cal)


async def calibrate_stage(rt: Runtime, video_id: int) -> str:
    """The ``calibrate`` stage (``HEATERS_CALIBRATE_EVERY``): :func:`calibrate_collection` on
    the collection of video ``video_id`` (its first video: the finder's item). ``"done"``,
    or ``"noop"`` when there is nothing to calibrate on (said in the log)."""
    async with rt.db.acquire() as conn:
        collection = await rt.db.q.video_collection(conn, id=video_id)
    if collection is None:
        return "noop"
    try:
        await calibrate_collection(rt.db, collection)
    except ProfileError as exc:
        log.info("collection %s: no calibration: %s", collection, exc)
        return "noop"
    return "done"


async def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, *args, **kwargs)


# --------------------------------------------------------------------------- rerun


@dataclass(frozen=True)
class RerunVideo:
    """One video of a rerun: clips ``kept`` (a reviewer's), ``replaced`` (deleted),
    ``made`` (new), or ``skipped`` with the reason."""

    video_id: int
    kept: int = 0
    replaced: int = 0
    made: int = 0
    skipped: str | None = None


async def rerun_collection(
    db: Database, collection: str, *, storage: Storage | None = None
) -> tuple[Profile | None, list[RerunVideo]]:
    """Re-apply ``collection``'s active profile (the defaults when none) to its detected
    videos from their stored features, in one transaction (module docstring). A gap between
    kept clips gets the new result's clips cut to the gap (a clip cut at a kept clip's edge
    carries no boundary confidence there). The artifacts (sprites) of replaced clips are
    deleted from ``storage`` after the commit. Raises ProfileError when a new clip would
    collide with an existing row (nothing is changed then)."""
    from heaters.db.clips import insert_clips
    from heaters.domain.cuts import last_frame_end, spans_from_boundaries
    from heaters.media import scenes

    out: list[RerunVideo] = []
    stale_keys: list[str] = []
    async with db.transaction() as conn:
        profile = await active_profile(db, conn, collection)
        params = profile_params(profile) or scenes.DetectorParams()
        rows = await fetch_all(
            db.q.collection_videos(conn, collection=collection, detector=scenes.DETECTOR_NAME)
        )
        for row in rows:
            vid = row["id"]
            pts = list(row["pts_seconds"] or ())
            feats = _features(row, len(pts)) if pts else None
            if feats is None:
                out.append(RerunVideo(vid, skipped="no stored features: run detect again"))
                continue
            fps = _fps(row)
            result = scenes.result_from_features(feats, fps, params)
            spans = spans_from_boundaries(
                result.cuts, result.cut_confidence, result.transitions, pts,
                last_frame_end(pts, 1.0 / float(fps)),
            )  # fmt: skip
            clips = await fetch_all(db.q.lock_rerun_clips(conn, video_id=vid))
            kept = [(c["start_frame"], c["end_frame"]) for c in clips if c["kept"]]
            gone = [c["id"] for c in clips if not c["kept"]]
            if gone:
                stale_keys += [
                    r["storage_key"]
                    for r in await fetch_all(db.q.delete_clips_returning_keys(conn, ids=gone))
                ]
            pieces = fill_gaps(spans, kept, len(pts), pts)
            made = await insert_clips(db.q, conn, vid, pieces)
            for piece in pieces:
                if piece.identifier(vid) not in made:  # the rerun of the collection rolls back
                    raise ProfileError(
                        f"video {vid}: a clip of frames {piece.start_frame}-"
                        f"{piece.end_frame - 1} exists already; nothing was changed"
                    )
            out.append(RerunVideo(vid, kept=len(kept), replaced=len(gone), made=len(made)))
    if storage is not None and stale_keys:
        try:
            await storage.delete_many(stale_keys)
        except Exception as exc:  # the rows are gone; a stray object is only space
            log.warning("rerun: could not delete %d replaced sprites: %s", len(stale_keys), exc)
    log.info(
        "collection %s: rerun with %s: %d videos",
        collection, f"profile version {profile.version}" if profile else "the defaults", len(out),
    )  # fmt: skip
    return profile, out


def fill_gaps(
    spans: Sequence[Any], kept: Sequence[tuple[int, int]], frames: int, pts: Sequence[float]
) -> list[Any]:
    """The pieces of ``spans`` (``ClipSpan``, covering ``[0, frames)``) outside the ``kept``
    frame ranges ``[start, end)``: each span cut to the gaps between kept ranges, so that
    kept and pieces cover every frame once. A piece that does not start where its span does
    has no boundary confidence (its start is a kept clip's edge)."""
    covered = np.zeros(frames, bool)
    for a, b in kept:
        covered[max(0, a) : min(frames, b)] = True
    out = []
    for s in spans:
        k = s.start_frame
        while k < s.end_frame:
            if covered[k]:
                k += 1
                continue
            e = k
            while e < s.end_frame and not covered[e]:
                e += 1
            out.append(
                dataclasses.replace(
                    s,
                    start_frame=k,
                    end_frame=e,
                    start_seconds=float(pts[k]),
                    end_seconds=float(pts[e]) if e < len(pts) else s.end_seconds,
                    confidence=s.confidence if k == s.start_frame else None,
                )
            )
            k = e
    return out
