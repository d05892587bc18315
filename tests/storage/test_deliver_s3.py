"""A dataset exported to S3 (moto's real S3 server) by ``heaters export dataset``, read back
with aiobotocore and loaded with ``webdataset`` (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_heaters
from tests.storage.conftest import BUCKET, MotoS3

pytest.importorskip("torch")


async def test_dataset_to_s3(
    db: Any,
    heaters_env: dict[str, str],
    small_video: Path,
    tmp_path: Path,
    moto_s3: MotoS3,
    aws_env: dict[str, str],
    s3_storage: Any,
    s3_prefix: str,
) -> None:
    from tests.deliver.test_deliver_datasets import (
        check_manifest,
        check_samples,
        db_facts,
        load_webdataset,
        prepared_clips,
    )

    _, ids = await prepared_clips(db, small_video, approve=3)
    ids = ids[:3]
    env = {**heaters_env, **aws_env, "HEATERS_S3_ENDPOINT_URL": moto_s3.url}
    target = f"s3://{BUCKET}/{s3_prefix}"
    p = run_heaters(env, "export", "dataset", "s3set", "-o", target, "--shard-size", "2", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["version"], r["clips"], r["target"]) == (1, len(ids), target)

    client = await s3_storage.client()
    listed = await client.list_objects_v2(Bucket=BUCKET, Prefix=f"{s3_prefix}/")
    keys = sorted(o["Key"].removeprefix(f"{s3_prefix}/") for o in listed.get("Contents", []))
    shards = [f"v000001/{i:06d}.tar" for i in range((len(ids) + 1) // 2)]
    stats = [s.replace(".tar", "_stats.json") for s in shards]
    assert keys == sorted(["dataset.json", "v000001/dataset.json", *shards, *stats]), "no temp"
    uploads = await client.list_multipart_uploads(Bucket=BUCKET, Prefix=f"{s3_prefix}/")
    assert not uploads.get("Uploads")

    local = tmp_path / "copy"
    for key in keys:
        dest = local / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        await s3_storage.get_file(key, dest)
    manifest = check_manifest(local, 1)
    assert [f["path"] for f in manifest["files"]] == shards
    check_samples(load_webdataset(local, manifest), await db_facts(db, ids), "s3set")
    sample = json.loads(load_webdataset(local, manifest)[0]["json"])
    assert "clip_url" not in sample, "self-contained: no URL into the project's storage"
