"""The delivery API (issue 14): cut lists of a video, dataset exports as jobs.

- ``GET /api/videos/{id}/cuts?format=csv|edl|otio|chapters|ffmetadata|json&state=…``: the
  cut list as a file (``heaters export cuts``).
- ``POST /api/datasets``: defer an export of a dataset's next version (202 with the job id);
  ``GET /api/datasets``: every dataset; ``GET /api/datasets/{name}``: one dataset, its
  versions and its latest export jobs; ``GET /api/datasets/{name}/versions/{n}/manifest``:
  a complete version's ``dataset.json``.

Same bearer token as the rest of ``/api`` (:func:`web.api._common.require_token`). Over the API a
dataset's folder is under ``HEATERS_HOME/datasets`` (a bare name, the default being the
dataset's name) or an ``s3://`` URL: a client never picks a path on the server's disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.params import Parameter

from heaters.deliver import DeliverError
from web.api._common import MAX_ID, require_token
from web.state import web_state

CutFormatParam = Literal["csv", "edl", "otio", "chapters", "ffmetadata", "json"]
CutStateParam = Literal["all", "approved", "pending", "skipped", "archived"]
DatasetFormat = Literal["webdataset", "parquet"]
DatasetState = Literal["approved", "embedded"]
DatasetMedia = Literal["bytes", "files"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
#: A folder name under HEATERS_HOME/datasets, or an s3:// URL.
TARGET_PATTERN = (
    r"^(s3://[A-Za-z0-9][A-Za-z0-9.-]{1,62}(/[A-Za-z0-9._-]+)*|[A-Za-z0-9][A-Za-z0-9._-]{0,99})$"
)
_CUT_MEDIA = ("text/csv", "text/plain", "application/json", "text/vtt")


@dataclass
class CutsOperation(Operation):
    """OpenAPI: the cut list comes as CSV, plain text (EDL, ffmetadata), JSON (OTIO, ours) or
    WebVTT, by ``format``."""

    def __post_init__(self) -> None:
        responses = dict(self.responses or {})
        responses["200"] = OpenAPIResponse(
            description="The cut list file",
            content={m: OpenAPIMediaType(schema=Schema()) for m in _CUT_MEDIA},
        )
        self.responses = responses


@get(
    "/videos/{video_id:int}/cuts",
    summary="The video's cut list (CSV, EDL, OTIO, chapters, ffmetadata or JSON)",
    raises=[NotFoundException, NotAuthorizedException],
    operation_class=CutsOperation,
)
async def video_cuts(
    request: Request[Any, Any, Any],
    video_id: int = Parameter(ge=1, le=MAX_ID),
    fmt: CutFormatParam = Parameter(query="format", default="csv", description="The format."),
    state_filter: CutStateParam = Parameter(
        query="state", default="all", description="Which shots."
    ),
    transitions: bool = Parameter(default=False, description="csv: transition rows too."),
    skip_cuts: bool = Parameter(default=False, description="csv: no 'Timecode List:' row."),
) -> Response[str]:
    """The cut list as a download (``Content-Disposition: attachment``); 404 for an unknown
    video or one with no clips yet. Times come from the frame index (PTS)."""
    from heaters.deliver.cut_source import load_cut_list
    from heaters.deliver.cutlists import FORMATS, render

    try:
        cl = await load_cut_list(web_state(request).db, video_id, state_filter)
        text = render(cl, fmt, include_cut_list=not skip_cuts, transitions=transitions)
    except DeliverError as exc:
        raise NotFoundException(str(exc)) from None
    media_type, ext = FORMATS[fmt]
    return Response(
        text,
        # Litestar appends "; charset=utf-8" to a text/ type itself: give it the bare type.
        media_type=media_type.partition(";")[0],
        headers={"Content-Disposition": f'attachment; filename="video_{video_id}_cuts.{ext}"'},
    )


class DatasetIn(msgspec.Struct):
    """An export of a dataset's next version. Only ``name`` is needed for a dataset that
    exists (its format, target, selection and shard size are kept; given ones change the
    selection and shard size). ``target``: a folder name under ``HEATERS_HOME/datasets``
    (default: the dataset's name) or ``s3://bucket/prefix``. ``media`` (Parquet, fixed by
    the first export): ``bytes`` (default) keeps each clip in its row's ``mp4`` column,
    ``files`` writes the clips as mp4 files beside each Parquet file. ``tags``: only the
    clips carrying any of these tags (``GET /api/tags``; kept by later exports until given
    again)."""

    name: Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
    format: DatasetFormat | None = None
    target: Annotated[str, msgspec.Meta(pattern=TARGET_PATTERN, max_length=1024)] | None = None
    state: DatasetState | None = None
    video_ids: Annotated[list[int], msgspec.Meta(max_length=10_000)] | None = None
    shard_size: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    media: DatasetMedia | None = None
    tags: Annotated[list[str], msgspec.Meta(max_length=100)] | None = None


@dataclass
class DatasetJobOut:
    """The export job deferred: its id, and where its progress shows."""

    name: str
    job_id: int
    status_url: str


@dataclass
class DatasetVersionOut:
    """One version: ``state`` writing / complete / failed; clip counts; files stored of
    those planned; ``manifest``: the path of its ``dataset.json`` under the target (once
    complete)."""

    version: int
    state: str
    clips: int
    added: int
    removed: int
    files_done: int
    files_planned: int
    error: str | None
    job_id: int | None
    created_at: str
    finished_at: str | None
    manifest: str | None


@dataclass
class DatasetJobState:
    """An export job of the dataset (procrastinate's status: todo, doing, succeeded, failed…)."""

    id: int
    status: str
    attempts: int


@dataclass
class DatasetOut:
    """A dataset: its format, target, selection, settings, versions (newest first), jobs."""

    name: str
    format: str
    target: str
    selection: dict[str, Any]
    settings: dict[str, Any]
    created_at: str
    versions: list[DatasetVersionOut] = field(default_factory=list)
    jobs: list[DatasetJobState] = field(default_factory=list)


def api_target(target: str | None, name: str, home: Path) -> str:
    """Where an API-made dataset lives: ``s3://…`` as given, else a folder under
    ``HOME/datasets`` (the name itself when None).

    Raises
    ------
    DeliverError
        For a path with separators or dots that would leave that folder.
    """
    if target and target.startswith("s3://"):
        return target
    folder = target or name
    if "/" in folder or "\\" in folder or folder in (".", "..") or folder.startswith("."):
        raise DeliverError(
            "over the API a dataset lives in HEATERS_HOME/datasets/<folder> (a plain name) or "
            "at an s3:// URL"
        )
    return str(home / "datasets" / folder)


async def start_dataset_export(state: Any, body: DatasetIn) -> DatasetJobOut:
    """Check the request and defer the export job (the API and the dataset page).

    Raises
    ------
    DeliverError
        Bad name, shard size, a new dataset's target, a format/target/media other than the
        existing dataset's, media ``files`` for a WebDataset.
    procrastinate.exceptions.AlreadyEnqueued
        An export of this dataset is waiting already.
    NotFoundException
        A tag in ``tags`` that does not exist.
    """
    from heaters.deliver.datasets import check_media, dataset_media, target_url, validate_name
    from workers.deliver import defer_dataset_export

    validate_name(body.name)
    if body.shard_size is not None and not 1 <= body.shard_size <= 1_000_000:
        raise DeliverError("shard_size is 1 to 1000000")
    async with state.db.acquire() as conn:
        ds = await state.db.q.get_dataset(conn, name=body.name)
        known = set(await state.db.q.existing_tag_names(conn, names=list(body.tags or ())))
    if unknown := sorted(set(body.tags or ()) - known):
        raise NotFoundException(f"no tag {unknown[0]!r}")
    target = None
    if ds is None or body.target is not None:
        target = target_url(api_target(body.target, body.name, state.settings.home))
    if ds is not None:
        if body.format is not None and body.format != ds["format"]:
            raise DeliverError(f"dataset {body.name} is {ds['format']}, not {body.format}")
        if target is not None and target != ds["target"]:
            raise DeliverError(f"dataset {body.name} lives at {ds['target']}, not {target}")
        if body.media is not None and body.media != dataset_media(ds):
            raise DeliverError(
                f"dataset {body.name} keeps its clips as {dataset_media(ds)}, not {body.media}"
            )
    check_media(body.format or (ds["format"] if ds is not None else "webdataset"), body.media)
    video_ids = None
    if body.video_ids:
        # Ids past bigint match no video anyway; none left selects nothing (id 0 is no video).
        video_ids = [v for v in body.video_ids if -(2**63) <= v < 2**63] or [0]
    job_id = await defer_dataset_export(
        body.name, format=body.format, target=target, state=body.state,
        video_ids=video_ids, shard_size=body.shard_size, media=body.media,
        tags=sorted(set(body.tags)) if body.tags else None,
    )  # fmt: skip
    return DatasetJobOut(body.name, job_id, f"/api/datasets/{body.name}")


@post(
    "/datasets",
    status_code=202,
    summary="Export the next version of a dataset (a job)",
    raises=[ClientException, NotAuthorizedException, NotFoundException],
    responses={
        409: ResponseSpec(
            None,
            description="An export of the dataset is waiting, or the settings contradict "
            "each other (media files for a WebDataset)",
        )
    },
)
async def create_dataset_version(request: Request[Any, Any, Any], data: DatasetIn) -> DatasetJobOut:
    """Defer the export job (202); 400 for a bad request, 409 when one is waiting already or
    the settings contradict each other. Follow it at ``status_url``."""
    from procrastinate.exceptions import AlreadyEnqueued

    from heaters.deliver.states import DeliverConflict

    try:
        return await start_dataset_export(web_state(request), data)
    except DeliverConflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except DeliverError as exc:
        raise ClientException(str(exc)) from None
    except AlreadyEnqueued:
        raise HTTPException(
            status_code=409, detail=f"an export of dataset {data.name} is waiting already"
        ) from None


async def dataset_out(db: Any, name: str) -> DatasetOut:
    """The dataset ``name`` with its versions and latest jobs.

    Raises
    ------
    DeliverError
        For an unknown dataset.
    """
    from heaters.db import fetch_all
    from heaters.deliver.datasets import dataset_status

    d = await dataset_status(db, name)
    async with db.acquire() as conn:
        jobs = await fetch_all(db.q.dataset_jobs(conn, name=name, limit=5))
    return DatasetOut(
        name=d["name"], format=d["format"], target=d["target"], selection=d["selection"],
        settings=d["settings"], created_at=d["created_at"],
        versions=[DatasetVersionOut(**v) for v in d["versions"]],
        jobs=[DatasetJobState(j["id"], str(j["status"]), j["attempts"]) for j in jobs],
    )  # fmt: skip


@get("/datasets", summary="Every dataset", raises=[NotAuthorizedException])
async def list_datasets(request: Request[Any, Any, Any]) -> list[DatasetOut]:
    """Every dataset with its versions, by name."""
    from heaters.db import fetch_all

    db = web_state(request).db
    async with db.acquire() as conn:
        names = [r["name"] for r in await fetch_all(db.q.list_datasets(conn))]
    return [await dataset_out(db, n) for n in names]


@get(
    "/datasets/{name:str}",
    summary="A dataset, its versions and its export jobs",
    raises=[NotFoundException, NotAuthorizedException],
)
async def get_dataset(request: Request[Any, Any, Any], name: str) -> DatasetOut:
    """404 for an unknown dataset."""
    try:
        return await dataset_out(web_state(request).db, name)
    except DeliverError as exc:
        raise NotFoundException(str(exc)) from None


async def manifest_response(db: Any, name: str, version: int) -> Response[str]:
    """A complete version's ``dataset.json`` as stored (the very bytes of the file).

    Raises
    ------
    NotFoundException
        Unknown dataset, or no complete version ``version``.
    """
    from heaters.deliver.datasets import manifest_text

    async with db.acquire() as conn:
        ds = await db.q.get_dataset(conn, name=name)
        v = (
            None
            if ds is None
            else await db.q.get_version(conn, dataset_id=ds["id"], version=version)
        )
    if v is None or v["manifest"] is None:
        raise NotFoundException(f"no complete version {version} of dataset {name}")
    return Response(
        manifest_text(v["manifest"]),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}_v{version:06d}_dataset.json"'
        },
    )


@get(
    "/datasets/{name:str}/versions/{version:int}/manifest",
    summary="A complete version's dataset.json",
    raises=[NotFoundException, NotAuthorizedException],
    media_type="application/json",
)
async def get_manifest(
    request: Request[Any, Any, Any], name: str, version: int = Parameter(ge=1, le=MAX_ID)
) -> Response[str]:
    """The manifest, identical to the version's ``dataset.json`` file; 404 otherwise."""
    return await manifest_response(web_state(request).db, name, version)


deliver_api_router = Router(
    path="/api",
    route_handlers=[video_cuts, create_dataset_version, list_datasets, get_dataset, get_manifest],
    guards=[require_token],
    tags=["deliver"],
    security=[{"BearerToken": []}],
)

__all__ = ["DatasetIn", "deliver_api_router", "manifest_response", "start_dataset_export"]
