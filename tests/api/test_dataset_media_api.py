"""``media`` over the dataset API (issue 23): a Parquet dataset's clips as bytes in the rows
or as files beside them; refused (409: the settings contradict each other) for a WebDataset,
whose samples hold their clips."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import Api


async def test_dataset_media_over_the_api(db: Any, api: Api) -> None:
    with api.client() as c:
        r = c.post("/api/datasets", json={"name": "wds", "media": "files"})
        assert r.status_code == 409 and "media files is for Parquet" in r.text, r.text
        assert c.post("/api/datasets", json={"name": "x", "media": "disk"}).status_code == 400
        r = c.post("/api/datasets", json={"name": "pq", "format": "parquet", "media": "files"})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
    async with db.acquire() as conn:
        args = await conn.fetchval("SELECT args::text FROM procrastinate_jobs WHERE id=$1", job_id)
    job = json.loads(args)
    assert (job["name"], job["format"], job["media"]) == ("pq", "parquet", "files")
