"""Storage reconciled with the rows (``heaters db reconcile-storage``, issue 20).

Two lists:

- **orphans**: objects under Heaters' prefixes (``videos/``, ``clips/``, ``uploads/``) that no
  row names: what a worker wrote before dying ahead of its commit (twice in a row: a redo
  deletes only what the claim it replaced wrote), a write killed half way (``.part``), an
  upload whose submit died before its row. Objects that carry the tag of an item's current
  claim (a stage at work, its commit not made yet) and objects younger than the grace
  period are never deleted.
- **missing**: keys a row names with no object behind them (a storage restored from an
  older backup, a hand-deleted file): the item cannot be read; nothing is changed, an
  operator decides.

Deleting is DB first, storage second everywhere else; here the rows are read again just
before the delete, so a key a commit named meanwhile is kept.

The workers also run it periodically (:func:`periodic_storage_check`, every
``HEATERS_STORAGE_CHECK_EVERY`` seconds, one worker each time): a report, deleting only when
``HEATERS_STORAGE_CHECK_DELETE`` says so; its counts are stored (``storage_checks``) and shown
on ``/metrics``.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from heaters.config import Settings
from heaters.db import Database
from heaters.storage.base import Storage
from heaters.storage.inventory import MANAGED_PREFIXES, StoredObject, list_objects

log = logging.getLogger(__name__)

_TAG = re.compile(r"-([0-9a-f]{12})\.[^/]*$")


@dataclass(frozen=True, slots=True)
class MissingObject:
    """A key a row names with no object behind it."""

    kind: str  # "video" | "segment" | "clip"
    item_id: int
    column: str  # the column (or "clip_artifacts.<kind>") that names it
    key: str


@dataclass
class StorageReport:
    """What :func:`reconcile_storage` found and did."""

    objects: int = 0
    """Objects listed under the managed prefixes."""
    orphans: list[StoredObject] = field(default_factory=list)
    """Objects no row names (all of them, deleted or not)."""
    deleted: list[str] = field(default_factory=list)
    """The orphans' keys deleted (``delete`` and older than the grace period)."""
    kept_in_flight: list[str] = field(default_factory=list)
    """Orphans carrying the tag of an item's current claim (a stage at work): never deleted."""
    missing: list[MissingObject] = field(default_factory=list)

    def _orphan(self, o: StoredObject) -> dict[str, Any]:
        return {
            "key": o.key,
            "size": o.size,
            "modified": o.modified.isoformat(),
            "deleted": o.key in self.deleted,
            "in_flight": o.key in self.kept_in_flight,
        }

    def as_json(self) -> dict[str, Any]:
        """The report as one JSON object (sizes in bytes, times ISO 8601 UTC)."""
        return {
            "objects": self.objects,
            "orphans": [self._orphan(o) for o in self.orphans],
            "orphan_bytes": sum(o.size for o in self.orphans),
            "deleted": len(self.deleted),
            "missing": [
                {"kind": m.kind, "id": m.item_id, "column": m.column, "key": m.key}
                for m in self.missing
            ],
        }


async def _named(db: Database) -> tuple[list[MissingObject], set[str]]:
    async with db.acquire() as conn:
        rows = [r async for r in db.q.named_storage_keys(conn)]
        tags = {r["tag"] async for r in db.q.current_claim_tags(conn)}
    named = [MissingObject(r["kind"], r["id"], r["what"], r["key"]) for r in rows]
    return named, tags


async def reconcile_storage(
    db: Database,
    storage: Storage,
    *,
    delete: bool = False,
    older_than: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> StorageReport:
    """List the objects no row names and the rows whose objects are missing; with ``delete``,
    delete the orphans last modified more than ``older_than`` ago that carry no current
    claim's tag (see the module doc).

    Raises
    ------
    StorageError
        The storage cannot be listed or the delete failed (nothing is half-reported: the
        listing comes first).
    """
    report = StorageReport()
    named, tags = await _named(db)
    stored: dict[str, StoredObject] = {}
    for prefix in MANAGED_PREFIXES:
        stored.update((o.key, o) for o in await list_objects(storage, prefix))
    report.objects = len(stored)
    named_keys = {n.key for n in named}
    for n in named:
        if n.key in stored:
            continue
        # a key outside the managed prefixes (not listed) may still be there
        if n.key.startswith(MANAGED_PREFIXES) or not await storage.exists(n.key):
            report.missing.append(n)
    report.orphans = [o for key, o in sorted(stored.items()) if key not in named_keys]
    cutoff = (now or datetime.now(UTC)) - older_than
    for o in report.orphans:
        m = _TAG.search(o.key)
        if m and m[1] in tags:
            report.kept_in_flight.append(o.key)
    if delete:
        candidates = [
            o.key for o in report.orphans
            if o.modified < cutoff and o.key not in report.kept_in_flight
        ]  # fmt: skip
        if candidates:
            named_now, tags_now = await _named(db)  # a commit may have named one meanwhile
            still = {n.key for n in named_now}
            doomed = [
                k for k in candidates
                if k not in still and not ((m := _TAG.search(k)) and m[1] in tags_now)
            ]  # fmt: skip
            await storage.delete_many(doomed)
            report.deleted = doomed
    return report


async def periodic_storage_check(
    db: Database, storage: Storage, settings: Settings
) -> StorageReport | None:
    """The workers' periodic check: when ``settings.storage_check_every`` is not 0 and no
    check was recorded for that many seconds, run :func:`reconcile_storage` (deleting only
    with ``storage_check_delete``, past ``storage_check_older_than_seconds``), record its
    counts in ``storage_checks`` and log one line. Returns the report, or None when off or
    not due. Raises what the listing or the database raises (the next run tries again)."""
    every = settings.storage_check_every
    if every <= 0:
        return None
    async with db.acquire() as conn:
        if not await db.q.storage_check_due(conn, every=float(every)):
            return None
    t0 = time.monotonic()
    report = await reconcile_storage(
        db, storage, delete=settings.storage_check_delete,
        older_than=timedelta(seconds=settings.storage_check_older_than_seconds),
    )  # fmt: skip
    seconds = time.monotonic() - t0
    orphan_bytes = sum(o.size for o in report.orphans)
    async with db.acquire() as conn:
        await db.q.record_storage_check(
            conn, objects=report.objects, orphans=len(report.orphans), orphan_bytes=orphan_bytes,
            deleted=len(report.deleted), missing=len(report.missing), seconds=seconds,
        )  # fmt: skip
    found = bool(report.orphans or report.missing)
    log.log(
        logging.WARNING if found else logging.INFO,
        "storage check: %d objects, %d orphans (%d bytes, %d deleted), %d missing in %.1f s%s",
        report.objects, len(report.orphans), orphan_bytes, len(report.deleted),
        len(report.missing), seconds,
        ": 'heaters db reconcile-storage' lists them" if found else "",
    )  # fmt: skip
    return report


__all__ = ["MissingObject", "StorageReport", "periodic_storage_check", "reconcile_storage"]
