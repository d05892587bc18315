"""``/metrics``' storage gauges: the last periodic storage check's counts (issue 20, item 4).

The workers' check (``HEATERS_STORAGE_CHECK_EVERY``, ``heaters.pipeline.reconcile``) stores
its counts in ``storage_checks``; the scrape reads the last row. Before the first check
(or with the check off) no storage gauge is rendered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from heaters.db import Database


class StorageCheckCollector(Collector):
    """Gauges of one ``storage_checks`` row (or none)."""

    def __init__(self, row: Any) -> None:
        self.row = row

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.row is None:
            return
        r = self.row
        for name, doc, value in (
            ("heaters_storage_objects", "Objects under the managed prefixes at the last "
             "storage check.", r["objects"]),
            ("heaters_storage_orphans", "Objects no row names at the last storage check.",
             r["orphans"]),
            ("heaters_storage_orphan_bytes", "Bytes of those orphans.", r["orphan_bytes"]),
            ("heaters_storage_orphans_deleted", "Orphans the last storage check deleted.",
             r["deleted"]),
            ("heaters_storage_missing", "Rows' objects missing from the storage at the last "
             "storage check.", r["missing"]),
            ("heaters_storage_check_timestamp_seconds", "When the last storage check ran "
             "(Unix time).", r["checked_at"].timestamp()),
            ("heaters_storage_check_duration_seconds", "How long the last storage check "
             "took.", r["seconds"]),
        ):  # fmt: skip
            yield GaugeMetricFamily(name, doc, value=float(value))


async def storage_check_collector(db: Database) -> StorageCheckCollector:
    """A collector over the last storage check (read now)."""
    async with db.acquire() as conn:
        row = await db.q.last_storage_check(conn)
    return StorageCheckCollector(row)
