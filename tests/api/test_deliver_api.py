"""The delivery API and the dataset page for real (issue 14): uvicorn, a bearer token, a
procrastinate worker running the export job, a signed-in browser session (httpx)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest

from heaters.deliver.cutlists import CSV_ANNOTATIONS, CSV_HEADER
from tests.api.conftest import Api
from tests.api.test_dashboard import _login

pytest.importorskip("torch")


async def _run_jobs() -> None:
    """Run a procrastinate worker in this process until the queue is empty."""
    from workers.app import app, run_worker
    from workers.runtime import close_runtime

    async with app.open_async():
        await run_worker(
            queues=["default"], wait=False, install_signal_handlers=False, concurrency=1
        )
    await close_runtime()


@pytest.mark.slow  # a worker runs the cut-list and dataset jobs (~12 s)
async def test_cuts_and_dataset_jobs(db: Any, api: Api, small_video: Path) -> None:
    from tests.deliver.test_deliver_datasets import prepared_clips

    vid, ids = await prepared_clips(db, small_video, approve=2)
    with api.client() as c, api.client(token=None) as anon:
        assert anon.get(f"/api/videos/{vid}/cuts").status_code == 401
        r = c.get(f"/api/videos/{vid}/cuts", params={"format": "edl"})
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        timeline = otio.adapters.read_from_string(r.text, "cmx_3600", rate=24)
        assert len([i for i in timeline.tracks[0] if isinstance(i, otio.schema.Clip)]) == len(ids)
        r = c.get(f"/api/videos/{vid}/cuts", params={"format": "csv", "state": "approved"})
        assert r.headers["content-type"] == "text/csv; charset=utf-8", "one charset"
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[1] == [*CSV_HEADER, *CSV_ANNOTATIONS] and len(rows) == 2 + 2
        r = c.get(f"/api/videos/{vid}/cuts", params={"format": "json"})
        assert [x["id"] for x in r.json()["clips"]] == ids
        assert c.get("/api/videos/999999/cuts").status_code == 404
        assert c.get(f"/api/videos/{vid}/cuts", params={"format": "xls"}).status_code == 400

        assert c.post("/api/datasets", json={"name": "../x"}).status_code == 400
        r = c.post("/api/datasets", json={"name": "x", "target": "/etc"})
        assert r.status_code == 400
        assert c.get("/api/datasets/nope").status_code == 404

        r = c.post("/api/datasets", json={"name": "apiset", "shard_size": 1, "format": "parquet"})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status_url"] == "/api/datasets/apiset"
        assert c.post("/api/datasets", json={"name": "apiset"}).status_code == 409

        await _run_jobs()
        r = c.get("/api/datasets/apiset")
        assert r.status_code == 200, r.text
        d = r.json()
        home = Path(api.env["HEATERS_HOME"])
        assert d["target"] == f"file://{(home / 'datasets' / 'apiset').resolve()}"
        assert d["format"] == "parquet" and d["settings"]["shard_size"] == 1
        (v1,) = d["versions"]
        assert (v1["version"], v1["state"], v1["clips"], v1["files_done"]) == (1, "complete", 2, 2)
        assert v1["job_id"] == job["job_id"] and d["jobs"][0]["status"] == "succeeded"
        r = c.get("/api/datasets/apiset/versions/1/manifest")
        on_disk = (home / "datasets" / "apiset" / v1["manifest"]).read_text()
        assert r.status_code == 200 and r.text == on_disk
        assert json.loads(on_disk)["counts"]["clips"] == 2
        assert [x["name"] for x in c.get("/api/datasets").json()] == ["apiset"]
        assert c.get("/api/datasets/apiset/versions/2/manifest").status_code == 404

    # The dataset page: versions, counts, the manifest link, the "new version" button.
    web: Any = _login(api)
    page = web.get("/datasets")
    assert page.status_code == 200
    assert "apiset" in page.text and "/datasets/apiset/versions/1/dataset.json" in page.text
    assert web.get("/datasets/apiset/versions/1/dataset.json").text == on_disk

    # Approve one more clip (exported, keyframed, embedded), then "New version" on the page.
    from heaters.pipeline.runtime import open_runtime
    from tests.deliver.test_deliver_datasets import approve_and_process

    async with open_runtime() as rt:
        await approve_and_process(db, rt, ids[2])
    csrf = web.cookies["heaters_csrf"]
    r = web.post("/datasets/apiset/versions", data={"_csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/datasets"
    assert "queued" in web.get("/datasets").text
    await _run_jobs()
    with api.client() as c:
        versions = c.get("/api/datasets/apiset").json()["versions"]
    assert [(v["version"], v["state"], v["clips"], v["added"]) for v in versions] == [
        (2, "complete", 3, 1),
        (1, "complete", 2, 2),
    ]
    assert "dataset.json" in web.get("/datasets").text

    # A dataset of the clips with a tag (issue 21); an unknown tag is a 404.
    from heaters import review

    with api.client() as c:
        assert c.post("/api/datasets", json={"name": "tagged", "tags": ["nope"]}).status_code == 404
        assert c.post("/api/tags", json={"name": "night"}).status_code == 201
        await review.tag_clip(db, ids[1], "ann", name="night")
        r = c.post("/api/datasets", json={"name": "tagged", "tags": ["night"]})
        assert r.status_code == 202, r.text
    await _run_jobs()
    with api.client() as c:
        d = c.get("/api/datasets/tagged").json()
    assert d["selection"]["tags"] == ["night"]
    assert [(v["state"], v["clips"]) for v in d["versions"]] == [("complete", 1)]
