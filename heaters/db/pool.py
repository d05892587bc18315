"""The asyncpg pool and the named queries of ``queries/*.sql`` (aiosql).

Opening a connection and waiting for a pooled one are bounded
(``HEATERS_DB_CONNECT_TIMEOUT_SECONDS``, and three times that for a pooled connection, so
a busy pool is not mistaken for an outage): while the server cannot be reached, a stage or a
request fails in seconds with an error :func:`heaters.db.errors.unavailable` names, instead
of waiting on the operating system's connect timeout.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, cast

import aiosql
import asyncpg

from heaters.config import get_settings
from heaters.db.connection import database_url

if TYPE_CHECKING:
    from heaters.db._typed_queries import Queries

QUERIES_DIR = Path(__file__).parent / "queries"

#: A pooled connection (what ``Database.acquire``/``transaction`` give).
Connection: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"


@lru_cache(maxsize=1)
def queries() -> Queries:
    """All named queries, loaded once: ``queries().get_video(conn, id=…)``, typed by the
    generated Protocol :class:`heaters.db._typed_queries.Queries`."""
    return cast("Queries", aiosql.from_path(QUERIES_DIR, "asyncpg", mandatory_parameters=False))


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    # pgvector's ``vector`` type ⇄ float32 numpy arrays (the extension exists once migrated).
    if await conn.fetchval("SELECT to_regtype('vector') IS NOT NULL"):
        from pgvector import Vector

        await conn.set_type_codec(
            "vector",
            schema="public",
            encoder=lambda v: (v if isinstance(v, Vector) else Vector(v)).to_binary(),
            decoder=lambda b: Vector.from_binary(b).to_numpy(),
            format="binary",
        )


class Database:
    """An asyncpg pool on Heaters' database, with the named queries at hand.

    Use as ``async with Database.connect() as db:``; ``db.q`` are the queries, ``db.pool`` the
    pool, ``db.transaction()`` a connection inside a transaction.
    """

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float | None = None) -> None:
        self.pool = pool
        self.q: Queries = queries()
        #: Longest wait for a pooled connection (seconds; None: no limit).
        self.acquire_timeout = acquire_timeout

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str | None = None,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float | None = None,
    ) -> AsyncIterator[Database]:
        """Open a pool on ``url`` (default: ``DATABASE_URL`` or the embedded server); a
        connection must open within ``connect_timeout`` seconds (default:
        ``HEATERS_DB_CONNECT_TIMEOUT_SECONDS``), a pooled one be had within three times
        that."""
        if connect_timeout is None:
            connect_timeout = get_settings().db_connect_timeout_seconds
        pool = await asyncpg.create_pool(
            url or database_url(),
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            timeout=connect_timeout,
        )
        try:
            yield cls(pool, acquire_timeout=3 * connect_timeout)
        finally:
            await pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A pooled connection inside a transaction (committed on exit, rolled back on error)."""
        async with self.pool.acquire(timeout=self.acquire_timeout) as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        """A pooled connection (autocommit)."""
        async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
            yield conn


async def fetch_all(rows: AsyncIterator[asyncpg.Record]) -> list[asyncpg.Record]:
    """Collect the rows of a multi-row named query (aiosql yields them one by one)."""
    return [row async for row in rows]
