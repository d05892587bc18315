"""``S3Storage``: objects in an S3 bucket (or any S3-compatible server), through aiobotocore.

Chosen by a storage URL ``s3://bucket/prefix`` (``HEATERS_STORAGE_URL``). Credentials come
from botocore's usual chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile, an
instance role); the endpoint and region from ``HEATERS_S3_ENDPOINT_URL`` / ``HEATERS_S3_REGION``
(or ``AWS_DEFAULT_REGION``).

Writes are atomic by S3's own rules: a ``PutObject`` or a completed multipart upload makes the
whole object appear at once, and a failed multipart upload is aborted, so a key never holds a
half-written object. Retries with backoff are botocore's ("standard" mode); whatever still
fails becomes a ``StorageError`` whose text says what went wrong in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from heaters.errors import StorageError
from heaters.storage.keys import OBJECT_KINDS, object_kind

if TYPE_CHECKING:
    from types_aiobotocore_s3.client import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

MIB = 1024 * 1024
DEFAULT_MULTIPART_THRESHOLD = 64 * MIB
"""Files of at least this many bytes go up as a multipart upload."""
DEFAULT_PART_SIZE = 16 * MIB
"""Bytes per multipart part (S3 needs at least 5 MiB for every part but the last)."""
MIN_PART_SIZE = 5 * MIB
MAX_PARTS = 10_000
"""S3's limit of parts per multipart upload (the part size grows for huge files)."""
MAX_COPY_SIZE = 5 * 1024 * MIB
"""S3's limit for one ``CopyObject`` request, and for one ``UploadPartCopy`` part."""
DEFAULT_COPY_PART_SIZE = 256 * MIB
"""Bytes per part of a copy in parts (copied by the server: nothing held in memory)."""
DELETE_BATCH = 1000
"""S3's limit of keys per ``DeleteObjects`` request."""
READ_CHUNK = 1 * MIB
"""Bytes read from a response body at a time by ``get_file``."""

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_DENIED = {
    "403",
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AccountProblem",
}
_TRANSIENT_CODES = {
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "InternalError",
    "ServiceUnavailable",
    "OperationAborted",
}


class S3Storage:
    """Objects stored under ``prefix`` in an S3 bucket.

    One aiobotocore client per instance, created on first use and reused (its connection pool
    too); ``aclose`` closes it. The client belongs to the event loop that created it: used from
    another loop, a new client is made.

    Parameters
    ----------
    bucket:
        Bucket name (it must exist; Heaters never creates buckets).
    prefix:
        Key prefix inside the bucket, without leading or trailing ``/`` (they are stripped);
        the object of key ``k`` is ``{prefix}/{k}``.
    endpoint_url:
        URL of an S3-compatible server (MinIO, moto, R2, …); None: AWS itself.
    region:
        Region name; None: botocore's default (``AWS_DEFAULT_REGION``, the profile's, or
        ``us-east-1``).
    multipart_threshold:
        Files of at least this many bytes go up as a multipart upload (default 64 MiB).
    part_size:
        Bytes per part of a multipart upload (default 16 MiB, at least 5 MiB; grown so a file
        needs at most 10,000 parts). One part at a time is held in memory.
    max_attempts:
        Attempts per request, first try included, for botocore's "standard" retry mode
        (exponential backoff with jitter on throttling, 5xx and connection errors).
    connect_timeout, read_timeout:
        Seconds to wait for a connection, and for data on an open connection.
    storage_classes:
        S3 storage class per kind of object (:func:`heaters.storage.keys.object_kind`), e.g.
        ``{"original": "STANDARD_IA"}``, sent as ``StorageClass`` with each upload of that
        kind; kinds not named get the bucket's default.

    Raises
    ------
    ValueError
        If ``bucket`` is empty, ``part_size`` is under 5 MiB, or ``storage_classes`` names
        an unknown kind.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        max_attempts: int = 5,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        storage_classes: Mapping[str, str] | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 storage needs a bucket name")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least 5 MiB, not {part_size} bytes")
        unknown = sorted(set(storage_classes or {}) - set(OBJECT_KINDS))
        if unknown:
            raise ValueError(
                f"storage classes for unknown object kinds {unknown} "
                f"(kinds: {', '.join(OBJECT_KINDS)})"
            )
        self.storage_classes = dict(storage_classes or {})
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        self.region = region or None
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.max_copy_size = MAX_COPY_SIZE
        """Objects larger than this are copied in parts (S3's limit; lowered by tests)."""
        self.copy_part_size = DEFAULT_COPY_PART_SIZE
        """Bytes per ``UploadPartCopy`` part (grown so an object needs at most 10,000)."""
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._config = AioConfig(
            # botocore's "max_attempts" counts retries only; "total_max_attempts" counts tries.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._read_timeout = read_timeout
        self._client: S3Client | None = None
        self._stack: AsyncExitStack | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"S3Storage({self.url!r}, endpoint_url={self.endpoint_url!r})"

    # --- the client -------------------------------------------------------------------------

    async def client(self) -> S3Client:
        """The shared aiobotocore S3 client, created on first use in the running event loop.

        Returns
        -------
        S3Client
            The open client (keep no reference past ``aclose``).
        """
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is loop:
            return self._client
        if self._lock is None or self._loop is not loop:
            # A client of another (finished) loop cannot be closed from here: drop it.
            self._client, self._stack, self._loop = None, None, loop
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._client is None:
                stack = AsyncExitStack()
                session = get_session()
                self._client = await stack.enter_async_context(
                    session.create_client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region,
                        config=self._config,
                    )
                )
                self._stack = stack
            return self._client

    async def aclose(self) -> None:
        """Close the client and its connections (a later call opens a new one)."""
        stack, self._client, self._stack = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    # --- keys and errors --------------------------------------------------------------------

    def _key(self, key: str) -> str:
        parts = key.split("/")
        if not key or key.startswith("/") or ".." in parts or "" in parts:
            raise StorageError(f"invalid storage key: {key!r}", transient=False)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _endpoint(self) -> str:
        if self._client is not None:
            return str(self._client.meta.endpoint_url)
        return self.endpoint_url or "S3"

    def _error(self, exc: BaseException, key: str | None = None) -> StorageError:
        """The one-line ``StorageError`` for a botocore or aiohttp failure."""
        where = f"{self.url}/{key}" if key else self.url
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            message = str(err.get("Message", "") or "").strip()
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in _NOT_FOUND or (status == 404 and code != "NoSuchBucket"):
                return StorageError(f"object not found in storage: {key or where}", transient=False)
            if code == "NoSuchBucket":
                return StorageError(f"no such bucket: s3://{self.bucket}", transient=False)
            if code in _DENIED or status == 403:
                detail = "" if code in {"AccessDenied", "403"} else f" ({code})"
                return StorageError(f"access denied to {where}{detail}", transient=False)
            transient = status >= 500 or status in (408, 429) or code in _TRANSIENT_CODES
            text = f"{code}: {message}" if message and message != code else code or "error"
            return StorageError(
                f"storage error on {where}: HTTP {status} {text}", transient=transient
            )
        endpoint = self._endpoint()
        if isinstance(exc, ConnectTimeoutError):
            return StorageError(
                f"storage unavailable: no connection to {endpoint} in time ({self.url})"
            )
        if isinstance(exc, ReadTimeoutError | TimeoutError):
            return StorageError(
                f"storage unavailable: no answer from {endpoint} within"
                f" {self._read_timeout:g} s ({self.url})"
            )
        if isinstance(exc, ConnectionClosedError | aiohttp.ClientPayloadError):
            return StorageError(
                f"storage unavailable: the connection to {endpoint} was lost ({self.url})"
            )
        if isinstance(exc, EndpointConnectionError | aiohttp.ClientConnectionError):
            return StorageError(f"storage unavailable: cannot connect to {endpoint} ({self.url})")
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return StorageError(
                f"no S3 credentials for {self.url}: set AWS_ACCESS_KEY_ID and"
                " AWS_SECRET_ACCESS_KEY",
                transient=False,
            )
        return StorageError(f"storage error on {where}: {type(exc).__name__}: {exc}")

    @contextlib.contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except (TimeoutError, BotoCoreError, ClientError, aiohttp.ClientError) as exc:
            raise self._error(exc, key) from exc

    # --- the Storage protocol ---------------------------------------------------------------

    def local_path(self, key: str) -> Path | None:
        """None: S3 objects have no path on this machine (use ``get_file``)."""
        return None

    async def exists(self, key: str) -> bool:
        """True when an object is stored under ``key`` (one ``HeadObject`` request).

        A HEAD answer has no error body, so a missing bucket also reads as False here (the
        other methods name it).

        Raises
        ------
        StorageError
            If the bucket is unreachable or denies access (a 404 is simply False).
        """
        full = self._key(key)
        client = await self.client()
        try:
            await client.head_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _NOT_FOUND:
                return False
            raise self._error(exc, key) from exc
        except (TimeoutError, BotoCoreError, aiohttp.ClientError) as exc:
            raise self._error(exc, key) from exc
        return True

    async def put_file(self, local: Path, key: str, *, move: bool = False) -> None:
        """Upload the file ``local`` as ``key``, streaming it from disk.

        Files under ``multipart_threshold`` bytes go up in one ``PutObject`` request; larger
        ones as a multipart upload, one ``part_size`` part in memory at a time, aborted on any
        failure. Either way the object appears whole or not at all.

        Parameters
        ----------
        local:
            The file to upload.
        key:
            Its storage key (``videos/12/proxy.mp4``).
        move:
            Delete ``local`` once the object is stored.

        Raises
        ------
        StorageError
            If ``local`` cannot be read (permanent), or the upload fails (transient for
            outages and 5xx, permanent for access or bucket errors).
        """
        full = self._key(key)
        extra = self._class_args(key)
        try:
            size = (await asyncio.to_thread(local.stat)).st_size
        except OSError as exc:
            raise StorageError(
                f"cannot read {local} to store it as {key}: {exc.strerror}", transient=False
            ) from exc
        client = await self.client()
        with self._errors(key):
            if size < self.multipart_threshold:
                fh = await asyncio.to_thread(local.open, "rb")
                try:
                    await client.put_object(
                        Bucket=self.bucket, Key=full, Body=fh, ContentLength=size, **extra
                    )
                finally:
                    await asyncio.to_thread(fh.close)
            else:
                await self._put_multipart(client, local, full, size, extra)
        if move:
            await asyncio.to_thread(local.unlink, missing_ok=True)

    def _class_args(self, key: str) -> dict[str, Any]:
        """``{"StorageClass": …}`` for ``key``'s kind when one is configured, else ``{}``."""
        storage_class = self.storage_classes.get(object_kind(key))
        return {"StorageClass": storage_class} if storage_class else {}

    async def _put_multipart(
        self, client: S3Client, local: Path, full: str, size: int, extra: dict[str, Any]
    ) -> None:
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS))
        async with self._multipart(client, full, ChecksumAlgorithm="CRC32", **extra) as (
            upload_id,
            parts,
        ):
            fh: BinaryIO = await asyncio.to_thread(local.open, "rb")
            try:
                number = 1
                while chunk := await asyncio.to_thread(fh.read, part_size):
                    uploaded = await client.upload_part(
                        Bucket=self.bucket,
                        Key=full,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                        ChecksumAlgorithm="CRC32",
                    )
                    part: CompletedPartTypeDef = {"ETag": uploaded["ETag"], "PartNumber": number}
                    if "ChecksumCRC32" in uploaded:
                        part["ChecksumCRC32"] = uploaded["ChecksumCRC32"]
                    parts.append(part)
                    number += 1
            finally:
                await asyncio.to_thread(fh.close)

    @contextlib.asynccontextmanager
    async def _multipart(
        self, client: S3Client, full: str, **create: Any
    ) -> AsyncIterator[tuple[str, list[CompletedPartTypeDef]]]:
        """A multipart upload of ``full``: yields ``(upload id, parts)``; the body appends
        each part it sends to ``parts``. Completed on a normal exit; aborted on any error,
        cancellation included (the parts would otherwise be billed forever)."""
        created = await client.create_multipart_upload(Bucket=self.bucket, Key=full, **create)
        upload_id = created["UploadId"]
        parts: list[CompletedPartTypeDef] = []
        try:
            yield upload_id, parts
            await client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
                )
            raise

    async def get_file(self, key: str, local: Path) -> None:
        """Download ``key`` to the file ``local``, streaming the body to a temp file first.

        ``local`` appears complete (rename) or not at all; an older ``local`` is replaced.

        Raises
        ------
        StorageError
            "object not found in storage: KEY" (permanent) if there is no such object;
            transient for outages and connections lost mid-body.
        """
        full = self._key(key)
        client = await self.client()
        part = local.with_name(f".{local.name}.{uuid.uuid4().hex}.part")
        try:
            with self._errors(key):
                response = await client.get_object(Bucket=self.bucket, Key=full)
                body = response["Body"]
                fh = await asyncio.to_thread(part.open, "wb")
                try:
                    async with body:
                        while chunk := await body.read(READ_CHUNK):
                            await asyncio.to_thread(fh.write, chunk)
                finally:
                    await asyncio.to_thread(fh.close)
            await asyncio.to_thread(os.replace, part, local)
        except OSError as exc:
            raise StorageError(f"cannot write {local}: {exc.strerror}") from exc
        finally:
            part.unlink(missing_ok=True)

    async def copy(self, src_key: str, dest_key: str) -> None:
        """Copy ``src_key`` to ``dest_key`` on the server (no bytes through this machine).

        One ``CopyObject`` request up to ``max_copy_size`` (S3's limit: 5 GiB); a larger
        object is copied as a multipart upload of ``copy_part_size`` ``UploadPartCopy``
        ranges (aborted on any failure). Either way ``dest_key`` appears whole or not at all,
        with its kind's storage class.

        Raises
        ------
        StorageError
            "object not found in storage: SRC_KEY" (permanent) if there is no such object;
            transient for outages and 5xx.
        """
        src, dest = self._key(src_key), self._key(dest_key)
        extra = self._class_args(dest_key)
        client = await self.client()
        with self._errors(src_key):
            head = await client.head_object(Bucket=self.bucket, Key=src)
        size = int(head["ContentLength"])
        with self._errors(dest_key):
            if size <= self.max_copy_size:
                await client.copy_object(
                    Bucket=self.bucket, Key=dest, CopySource={"Bucket": self.bucket, "Key": src},
                    **extra,
                )  # fmt: skip
            else:
                await self._copy_multipart(client, src, dest, size, extra)

    async def _copy_multipart(
        self, client: S3Client, src: str, dest: str, size: int, extra: dict[str, Any]
    ) -> None:
        part_size = min(max(self.copy_part_size, math.ceil(size / MAX_PARTS)), MAX_COPY_SIZE)
        async with self._multipart(client, dest, **extra) as (upload_id, parts):
            for number, start in enumerate(range(0, size, part_size), start=1):
                end = min(start + part_size, size) - 1
                copied = await client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=dest,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self.bucket, "Key": src},
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"ETag": copied["CopyPartResult"]["ETag"], "PartNumber": number})

    async def presigned_url(self, key: str, *, expires_seconds: int = 3600) -> str:
        """A URL that lets anyone GET ``key`` (Range requests too) until it expires.

        For serving media from S3 without proxying the bytes: answer with a redirect to it.
        No request is made; a missing object shows as a 404 when the URL is fetched.

        Parameters
        ----------
        key:
            The storage key.
        expires_seconds:
            Lifetime of the URL in seconds (at most 7 days with SigV4).

        Raises
        ------
        StorageError
            If the key is invalid or no credentials are configured (permanent).
        """
        full = self._key(key)
        client = await self.client()
        with self._errors(key):
            return await client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": full},
                ExpiresIn=expires_seconds,
            )

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Delete objects, at most 1,000 keys per ``DeleteObjects`` request.

        A missing object is not an error (S3 reports it deleted).

        Raises
        ------
        StorageError
            If a request fails, or S3 refuses some keys: the text names the first refused
            key and how many were refused.
        """
        fulls = [self._key(k) for k in keys]
        if not fulls:
            return
        client = await self.client()
        for start in range(0, len(fulls), DELETE_BATCH):
            batch = fulls[start : start + DELETE_BATCH]
            with self._errors():
                answer = await client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            errors = answer.get("Errors", [])
            if errors:
                raise self._delete_error(errors)

    def _delete_error(self, errors: Sequence[Any]) -> StorageError:
        first = errors[0]
        full = str(first.get("Key", "?"))
        key = full.removeprefix(f"{self.prefix}/") if self.prefix else full
        code = str(first.get("Code", "error"))
        message = str(first.get("Message", "") or "")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        if code in _DENIED:
            return StorageError(
                f"access denied to {self.url}/{key} while deleting it{more}", transient=False
            )
        text = f"{code}: {message}" if message and message != code else code
        return StorageError(f"cannot delete {self.url}/{key}{more}: {text}")
