"""The dataset page (issue 14): datasets, their versions and counts, each version's manifest,
a button that exports a new version (a job, as ``POST /api/datasets`` defers), and a form for
a new dataset. Plain forms (no JavaScript needed): each POST redirects back with a message."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from heaters.deliver import DeliverError
from web.api import MAX_ID
from web.api.deliver import DatasetIn, dataset_out, manifest_response, start_dataset_export
from web.state import flash_later, pop_flashes, web_state


@get("/datasets", name="datasets")
async def datasets_page(request: Request[Any, Any, Any]) -> Template:
    """Every dataset with its versions (newest first) and latest export jobs."""
    from heaters.db import fetch_all

    db = web_state(request).db
    async with db.acquire() as conn:
        names = [r["name"] for r in await fetch_all(db.q.list_datasets(conn))]
    datasets = [await dataset_out(db, n) for n in names]
    return Template(
        template_name="datasets.html",
        context={"datasets": datasets, "flashes": pop_flashes(request)},
    )


async def _start(request: Request[Any, Any, Any], body: DatasetIn) -> Redirect:
    from procrastinate.exceptions import AlreadyEnqueued

    try:
        job = await start_dataset_export(web_state(request), body)
    except DeliverError as exc:
        flash_later(request, str(exc), "error")
    except AlreadyEnqueued:
        flash_later(request, f"an export of dataset {body.name} is waiting already", "error")
    else:
        flash_later(request, f"export of dataset {body.name} queued (job {job.job_id})")
    return Redirect("/datasets", status_code=303)


@post("/datasets/{name:str}/versions", name="dataset-new-version", status_code=303)
async def new_version(request: Request[Any, Any, Any], name: str) -> Redirect:
    """Queue an export of the dataset's next version (its kept selection and settings)."""
    return await _start(request, DatasetIn(name=name))


@post("/datasets", name="dataset-create", status_code=303)
async def create_dataset(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """Queue the first export of a new dataset (name, format, Parquet media, state, folder or
    s3:// URL)."""
    fmt = data.get("format") or "webdataset"
    state = data.get("state") or "approved"
    media = data.get("media") if fmt == "parquet" else None
    body = DatasetIn(
        name=(data.get("name") or "").strip(),
        format=fmt if fmt in ("webdataset", "parquet") else None,  # type: ignore[arg-type]
        target=(data.get("target") or "").strip() or None,
        state=state if state in ("approved", "embedded") else None,  # type: ignore[arg-type]
        media=media if media in ("bytes", "files") else None,  # type: ignore[arg-type]
    )
    return await _start(request, body)


@get("/datasets/{name:str}/versions/{version:int}/dataset.json", name="dataset-manifest")
async def manifest_download(
    request: Request[Any, Any, Any], name: str, version: int = Parameter(ge=1, le=MAX_ID)
) -> Response[str]:
    """A complete version's manifest, byte for byte its ``dataset.json``."""
    return await manifest_response(web_state(request).db, name, version)


dataset_routes = [datasets_page, new_version, create_dataset, manifest_download]

__all__ = ["dataset_routes"]
